"""The `mlm` kind: BERT-style pretraining of a Transformer encoder, then fine-tuning where labels are scarce (chapter 13).

1. **Tokenize** the pretraining corpus (`mlm.corpus`: IMDB's 50,000 review texts, train and test,
   labels never read) with the recipe's `text:` tokenizer, trained on those texts.
2. **Pretrain** the recipe's `transformer_classifier` body as a masked language model
   (`text.mlm.MaskedLanguageModel`): every review is cut into windows of `text.max_len` tokens,
   `pretrain_windows` of them are drawn (seeded), and BERT's masking (15%: 80% `[MASK]`, 10% a
   random token, 10% unchanged, drawn anew every batch) asks the model to name what was hidden.
   The MLM loss and the masked-token accuracy are logged every few steps and on held-out windows.
3. **Transfer** to the target task (`mlm.target`: SST-2) with `fractions` of its training labels,
   each of `ways`, over `seeds`: `scratch` (the same classifier, freshly initialised),
   `fine_tune` (the pretrained body and a new head, everything trained), `linear_probe` (the body
   frozen) and `features` (the body's mean-pooled output and scikit-learn's logistic regression).
   Scratch and fine-tuning get the same budget: the same epochs, learning rate and schedule.
4. **Report** the pretraining curves, what the model fills in for a few masked sentences, the
   label-efficiency curve and the fine-tuning gain over scratch (mean ± std over seeds).

`mlm.pretrained: RUN` (an earlier run folder of this kind, or its recipe's name: the newest run)
skips steps 1–2 and reuses that run's tokenizer and pretrained body: pretrain once, fine-tune many
times. Writes tokenizer.json, pretrained.safetensors (the classifier's body and the MLM head) and
mlm.json.

Example:
    >>> from tujie import kinds
    >>> kinds.get("mlm").section
    'mlm'
"""

from __future__ import annotations

import math
import time

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..errors import ConfigError, DataError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _fmt_pm, _img, _section, _table
from ..report.run_files import RunFiles
from ..train.callbacks import Callback
from . import Kind, RunContext, register

WAYS = ("scratch", "fine_tune", "linear_probe", "features")
_WAY_NAMES = {"scratch": N_("from scratch"), "fine_tune": N_("full fine-tune"), "linear_probe": N_("linear probe (frozen body)"),
              "features": N_("pretrained features + logistic regression (scikit-learn)")}
_EXAMPLES = ["this movie was [MASK] .", "one of the [MASK] films i have ever seen .", "the acting was [MASK] and the plot was boring .",
             "i would [MASK] recommend it to anyone .", "a [MASK] waste of time ."]
_CORPORA = ("imdb", "sst2")


class MLMConfig(Strict):
    corpus: str = Field("imdb", description="the pretraining texts (imdb or sst2); their labels are never read")
    target: str = Field("sst2", description="the labelled task to fine-tune on (imdb or sst2)")
    pretrained: str | None = Field(None, description="reuse an earlier mlm run's tokenizer and pretrained body: its folder, "
                                                     "or its recipe's name (the newest run); pretraining is skipped")
    pretrain_epochs: Int = Field(2, ge=1)
    pretrain_windows: Int | None = Field(None, ge=1, description="a seeded random N of the corpus's max_len-token windows; None: all")
    validation_windows: Int = Field(1000, ge=1, description="held-out windows for the validation MLM loss and accuracy")
    rate: Float = Field(0.15, gt=0.0, lt=1.0, description="BERT: the share of tokens chosen")
    mask_share: Float = Field(0.8, ge=0.0, le=1.0, description="of the chosen: the share made [MASK]")
    random_share: Float = Field(0.1, ge=0.0, le=1.0, description="of the chosen: the share made a random token (the rest stay)")
    log_every: Int = Field(25, ge=1, description="optimizer steps per point of the pretraining curve")
    finetune_epochs: Int = Field(2, ge=1)
    finetune_lr: Float | None = Field(None, gt=0.0, description="the fine-tuning (and scratch) rate; None: optimizer.lr")
    min_steps: Int = Field(300, ge=1, description="at least this many optimizer steps per transfer run (small label sets)")
    fractions: list[Float] = Field([0.01, 0.1, 1.0], min_length=1, description="shares of the target's training labels")
    ways: list[str] = Field(["scratch", "fine_tune", "features"], min_length=1, description=", ".join(WAYS))
    seeds: Int = Field(3, ge=1)
    examples: list[str] = Field(_EXAMPLES, description="sentences with [MASK] for the report's fill-in table")


def run(context: RunContext) -> dict:
    """Pretrain (or reuse a pretrained body), then fine-tune on the target every way, fraction and seed."""
    from ..text.tokenizers import load_tokenizer
    from ..train.checkpoint import check_compatible, load_weights, save_weights
    from ..train.transfer import label_efficiency_runs, summarise_runs

    config, say = context.config, context.say
    section = _checked(config)
    started = time.perf_counter()
    if section.pretrained:
        source = _pretrained_run(config, section.pretrained)
        tokenizer = load_tokenizer(source / "tokenizer.json")
        mlm = _mlm(config, section, tokenizer)
        weights = load_weights(source / "pretrained.safetensors")
        check_compatible(source / "pretrained.safetensors", mlm, weights)  # another model's sizes: the differences, listed
        mlm.load_state_dict(weights)
        pretraining = {**_earlier_pretraining(source), "reused_from": str(source)}
        say(_("Reusing the pretrained body of {run}").format(run=source))
    else:
        tokenizer, mlm, pretraining = _pretrain(context, section)
    run_dir = context.run_dir
    tokenizer.save(run_dir / "tokenizer.json")
    save_weights(run_dir / "pretrained.safetensors", mlm)
    examples = _fill_examples(mlm, tokenizer, section.examples)
    pretrained = {k: v.detach().clone() for k, v in mlm.state_dict().items() if k.startswith(("embed.", "encoder."))}

    train, test = _target(config, section, tokenizer)
    results = label_efficiency_runs(
        train, fractions=section.fractions, seeds=section.seeds, ways=section.ways, share=_share, batch_size=config.train.batch_size,
        epochs=section.finetune_epochs, min_steps=section.min_steps, say=say,
        run_one=lambda way, subset, epochs, seed: _transfer_once(config, section, tokenizer, way, pretrained, subset, test, epochs, seed))
    summary = summarise_runs(results)
    write_json(run_dir / "mlm.json", {
        "pretraining": pretraining, "examples": examples,
        "target": {"dataset": section.target, "train": len(train), "test": len(test)},
        "ways": section.ways, "fractions": section.fractions, "seeds": section.seeds, "runs": results, "summary": summary,
        "gains": _gains(results)})
    out = {f"{row['way']}_{row['fraction'] * 100:g}pct": row["mean"] for row in summary}
    final = (pretraining.get("history") or [{}])[-1]
    if "val_masked_accuracy" in final:
        out["masked_accuracy"] = final["val_masked_accuracy"]
    return {"results": out, "timings": {"pretrain_s": pretraining.get("seconds"), "total_s": time.perf_counter() - started}}


def _checked(config) -> MLMConfig:
    section = config.mlm or MLMConfig()
    problems = [f"ways={section.ways}"] if any(w not in WAYS for w in section.ways) else []
    problems += [f"fractions={section.fractions}"] if any(not 0 < f <= 1 for f in section.fractions) else []
    problems += [f"{key}={getattr(section, key)!r}" for key in ("corpus", "target") if getattr(section, key) not in _CORPORA]
    problems += [f"mask_share + random_share = {section.mask_share + section.random_share:g}"] \
        if section.mask_share + section.random_share > 1 else []
    if config.model.name != "transformer_classifier":
        problems.append(f"model.name={config.model.name!r}")
    if problems:
        raise ConfigError("The mlm section does not describe a run tujie can make.",
                          expected=f"ways among {', '.join(WAYS)}; fractions in (0, 1]; corpus and target among "
                                   f"{', '.join(_CORPORA)}; mask_share + random_share <= 1; model.name: transformer_classifier",
                          received=", ".join(problems), fix="Correct the listed keys (imdb-sst2-mlm is a working recipe).")
    return section


# ------------------------------------------------------------------------------- pretraining
class _StepLog(Callback):
    """Every `every` optimizer steps: the mean training MLM loss and masked accuracy since the last point."""

    def __init__(self, every: int):
        self.every, self.points, self._sums, self._n, self._step = every, [], [0.0, 0.0], 0, 0

    def on_train_batch_end(self, learner, step, logs) -> None:
        self._step += 1
        self._sums[0] += float(logs["loss"])
        self._sums[1] += float(logs["masked_accuracy"])
        self._n += 1
        if self._n == self.every:
            self.points.append({"step": self._step, "loss": self._sums[0] / self._n, "masked_accuracy": self._sums[1] / self._n})
            self._sums, self._n = [0.0, 0.0], 0


def _pretrain(context: RunContext, section: MLMConfig):
    """Train the tokenizer on the corpus, cut it into windows, pretrain the MLM: (tokenizer, mlm, what happened)."""
    import torch

    from ..text.corpus import load_imdb, load_sst2
    from ..text.data import TextDataset
    from ..text.tokenizers import build_tokenizer

    config, say = context.config, context.say
    corpus = (load_imdb if section.corpus == "imdb" else load_sst2)(data_dir=config.data.data_dir)
    texts = [text for text, _label in (*corpus.train, *corpus.test)]  # labels never read
    if config.data.limit:
        texts = texts[:: max(1, len(texts) // config.data.limit)][: config.data.limit]  # both splits, both classes
    t = config.text
    options = {"min_freq": t.min_freq, **({"vocab_size" if t.tokenizer == "bpe" else "max_size": t.vocab_size} if t.vocab_size else {})}
    started = time.perf_counter()
    tokenizer = build_tokenizer(t.tokenizer, **options).train(texts)
    windows = [ids[i:i + t.max_len] for ids in tokenizer.encode_batch(texts) for i in range(0, len(ids), t.max_len)]
    windows = [w for w in windows if len(w) >= min(8, t.max_len)]  # a review's last few tokens alone teach little
    generator = torch.Generator().manual_seed(config.seed)
    order = torch.randperm(len(windows), generator=generator).tolist()
    n_val = min(section.validation_windows, len(windows) // 10)
    if n_val < 1:
        raise DataError(f"The pretraining corpus {section.corpus} gives only {len(windows)} windows of text.",
                        expected="at least 10 windows (one held out for validation)", received=f"{len(texts)} texts",
                        fix="Raise data.limit, or pretrain on the full corpus.")
    val = [windows[i] for i in order[:n_val]]
    train = [windows[i] for i in order[n_val:]][: section.pretrain_windows]
    tokens = sum(map(len, train))
    say(_("Pretraining on {windows} windows of {corpus} ({tokens} tokens, vocabulary {vocab}) for {epochs} epochs").format(
        windows=f"{len(train):,}", corpus=section.corpus, tokens=f"{tokens:,}", vocab=f"{tokenizer.vocab_size:,}",
        epochs=section.pretrain_epochs))
    context.seed()
    mlm = _mlm(config, section, tokenizer)
    log = _StepLog(section.log_every)
    learner = _learner(config, mlm, [log, *context.callbacks])
    history = learner.fit(TextDataset(train), epochs=section.pretrain_epochs, batch_size=config.train.batch_size,
                          validation_data=TextDataset(val), verbose=context.verbose)
    seconds = time.perf_counter() - started
    final = history.epochs[-1]
    say(_("Pretrained in {seconds:.0f} s: validation MLM loss {loss:.3f}, masked-token accuracy {accuracy:.1%}").format(
        seconds=seconds, loss=final.get("val_loss", math.nan), accuracy=final.get("val_masked_accuracy", math.nan)))
    return tokenizer, mlm, {"corpus": section.corpus, "texts": len(texts), "windows": len(train), "validation_windows": n_val,
                            "tokens": tokens, "max_len": t.max_len, "vocab_size": tokenizer.vocab_size, "epochs": section.pretrain_epochs,
                            "masking": {"rate": section.rate, "mask_share": section.mask_share, "random_share": section.random_share},
                            "seconds": seconds, "history": history.epochs, "steps": log.points}


def _mlm(config, section: MLMConfig, tokenizer):
    from ..text.mlm import MaskedLanguageModel

    return MaskedLanguageModel(_classifier(config, tokenizer), rate=section.rate, mask_share=section.mask_share,
                               random_share=section.random_share)


def _classifier(config, tokenizer, num_classes: int = 2):
    """The recipe's transformer_classifier, its vocabulary one row larger than the tokenizer's: the last id is [MASK]."""
    from types import SimpleNamespace

    from ..train.builders import build_model

    return build_model(config, SimpleNamespace(num_classes=num_classes, vocab_size=tokenizer.vocab_size + 1))


def _learner(config, model, callbacks=()):
    from ..train.builders import build_learner

    return build_learner(config, model, callbacks, num_classes=None)


def _pretrained_run(config, value: str):
    from ._common import newest_run_path

    path = newest_run_path(value, config.output_dir, "mlm.pretrained", ("pretrained.safetensors",), "a run folder")
    missing = [name for name in ("tokenizer.json", "pretrained.safetensors") if not (path / name).is_file()]
    if missing:
        raise DataError(f"mlm.pretrained={value!r} is not the folder of a finished mlm run.",
                        expected="a folder with tokenizer.json and pretrained.safetensors (written by an mlm run)",
                        received=f"{path}: no {', '.join(missing)}", fix="Run `tujie run imdb-sst2-mlm` first, or name its run folder.")
    return path


def _earlier_pretraining(source) -> dict:
    """The pretraining record of an earlier run (its curves, for this run's report), or {} when it has none."""
    import json

    try:
        return json.loads((source / "mlm.json").read_text(encoding="utf-8")).get("pretraining") or {}
    except (OSError, ValueError, AttributeError):  # a run killed before mlm.json: the weights still serve
        return {}


def _fill_examples(mlm, tokenizer, sentences: list[str]) -> list[dict]:
    """For each sentence with [MASK]: its five likeliest fillings, as the pretrained model sees them."""
    import torch

    found = []
    for sentence in sentences:
        parts = sentence.split("[MASK]")
        if len(parts) < 2:
            continue
        ids = []
        for i, part in enumerate(parts):
            ids += tokenizer.encode(part) if part.strip() else []
            ids += [mlm.mask_id] if i < len(parts) - 1 else []
        guesses = mlm.fill_mask(torch.tensor([ids]), k=5)
        found.append({"text": sentence, "fills": [[[_subword(tokenizer, i), p] for i, p in slot] for slot in guesses]})
    return found


def _subword(tokenizer, i: int) -> str:
    """A token as a reader sees it: a BPE piece ending a word loses its `</w>`; one inside a word gets a trailing '-'."""
    token = tokenizer.id_to_token(i)
    if getattr(tokenizer, "kind", "") != "bpe":
        return token
    return token[: -len("</w>")] if token.endswith("</w>") else token + "-"


# ---------------------------------------------------------------------------------- transfer
def _target(config, section: MLMConfig, tokenizer):
    """The target task's training and test sets, encoded with the pretraining tokenizer."""
    import torch

    from ..text.corpus import load_imdb, load_sst2
    from ..text.data import TextDataset

    corpus = (load_imdb if section.target == "imdb" else load_sst2)(data_dir=config.data.data_dir)
    train, test = list(corpus.train), list(corpus.test)
    if config.data.limit:
        generator = torch.Generator().manual_seed(config.seed)
        train = [train[i] for i in torch.randperm(len(train), generator=generator)[: config.data.limit].tolist()]
        test = [test[i] for i in torch.randperm(len(test), generator=generator)[: config.data.limit].tolist()]

    def encode(pairs):
        ids = [s[: config.text.max_len] or [tokenizer.unk_id] for s in tokenizer.encode_batch([t for t, _y in pairs])]
        return TextDataset(ids, torch.tensor([y for _t, y in pairs]))

    return encode(train), encode(test)


def _share(train, fraction: float, seed: int):
    from ..train.transfer import label_share

    return train.subset(label_share(train.targets, fraction, seed))


def _transfer_once(config, section, tokenizer, way, pretrained, subset, test, epochs, seed):
    """One transfer run: (test accuracy, seconds)."""
    from ..train.transfer import freeze, logistic_probe
    from ..utils import seed_everything

    started = time.perf_counter()
    seed_everything(config.seed + 1000 * (seed + 1))
    model = _classifier(config, tokenizer)
    if way != "scratch":  # the body's weights; the head (the target's classes) stays newly initialised
        model.load_state_dict(pretrained, strict=False)
    if way == "features":
        accuracy = logistic_probe(text_features(model, subset), subset.targets.numpy(), text_features(model, test),
                                  test.targets.numpy())
        return accuracy, time.perf_counter() - started
    if way == "linear_probe":
        freeze(model)
    steps = epochs * math.ceil(len(subset) / config.train.batch_size)
    # BERT's fine-tuning schedule: warm up over the first 10% of the steps, then decay (cosine here)
    tuned = config.model_copy(update={
        "optimizer": config.optimizer.model_copy(update={"lr": section.finetune_lr or config.optimizer.lr}),
        "scheduler": type(config.scheduler)(name="cosine", warmup=max(1, steps // 10), interval="step")})
    learner = _learner(tuned, model)
    learner.fit(subset, epochs=epochs, batch_size=min(config.train.batch_size, len(subset)), verbose=0)
    accuracy = float(learner.evaluate(test, verbose=0)["accuracy"])
    return accuracy, time.perf_counter() - started


def text_features(model, data):
    """What the classifier's head reads (the mean-pooled encoder output) for every text, in the dataset's order: (N, d_model)."""
    from ..train.transfer import head_inputs

    batches = data.batches(batch_size=256, shuffle=False, bucket=False)  # sample order: bucketing would sort by length
    return head_inputs(model, (batch[:2] for batch in batches)).numpy()


def _gains(results: list[dict]) -> list[dict]:
    """Fine-tuning minus scratch, seed by seed, per fraction: mean ± std of the differences."""
    import statistics

    rows = []
    for fraction in dict.fromkeys(r["fraction"] for r in results):
        by_seed = {}
        for r in results:
            if r["fraction"] == fraction and r["way"] in ("scratch", "fine_tune"):
                by_seed.setdefault(r["seed"], {})[r["way"]] = r["test_accuracy"]
        diffs = [s["fine_tune"] - s["scratch"] for s in by_seed.values() if len(s) == 2]
        if diffs:
            labels = next(r["labels"] for r in results if r["fraction"] == fraction)
            rows.append({"fraction": fraction, "labels": labels, "mean": statistics.fmean(diffs),
                         "std": statistics.stdev(diffs) if len(diffs) > 1 else 0.0, "n": len(diffs)})
    return rows


# ----------------------------------------------------------------------------------- report
def _pretraining_section(run: RunFiles) -> str:
    from ..plots.transfer import mlm_pretraining

    p = run.mlm.get("pretraining") or {}
    png = mlm_pretraining(p.get("steps") or [], p.get("history") or [])
    final = (p.get("history") or [{}])[-1]
    how = _("The body was pretrained as a masked language model on {windows} windows of {corpus} ({tokens} tokens, "
            "{max_len} per window), labels never read: in every batch 15% of the tokens are chosen anew, 80% of those "
            "become [MASK], 10% a random token and 10% stay, and the model must name the original. Chance is one in "
            "{vocab}. After {epochs} epochs ({seconds}) it names {accuracy} of the hidden tokens of held-out windows "
            "(MLM loss {loss}).").format(
        windows=f"{p.get('windows', 0):,}", corpus=p.get("corpus", "?"), tokens=f"{p.get('tokens', 0):,}",
        max_len=p.get("max_len", "?"), vocab=f"{p.get('vocab_size', 0):,}", epochs=p.get("epochs", "?"),
        seconds=_("{minutes:.1f} min").format(minutes=(p.get("seconds") or 0) / 60),
        accuracy=f"{100 * final.get('val_masked_accuracy', math.nan):.1f}%", loss=f"{final.get('val_loss', math.nan):.3f}")
    if p.get("reused_from"):
        how += " " + _("This run reused the pretrained body of {run}.").format(run=p["reused_from"])
    body = _img(png, _("MLM loss and masked-token accuracy during pretraining")) if png else ""
    return _section("pretraining", _("Pretraining: a masked language model"), how, body)


def _fill_section(run: RunFiles) -> str:
    examples = run.mlm.get("examples") or []
    rows = [[f'<span class="review">{_e(e["text"])}</span>',  # the model's own language: data, not prose
             "<br>".join(", ".join(f'<span class="mono">{_e(token)}</span> <small>{p:.0%}</small>' for token, p in slot)
                         for slot in e["fills"])] for e in examples]
    how = _("What the pretrained model proposes for each [MASK], its five likeliest tokens with their probabilities. "
            "Sentiment words among them show what the body learned about reviews without a single label.")
    return _section("fill_mask", _("What the model fills in"), how, _table([_("sentence"), _("likeliest tokens")], rows, "numbers"))


def _transfer_section(run: RunFiles) -> str:
    from ..plots.transfer import label_efficiency

    m = run.mlm
    summary = m.get("summary") or []
    names = {w: _(_WAY_NAMES.get(w, w)) for w in m.get("ways") or []}
    fractions = list(dict.fromkeys(r["fraction"] for r in summary))
    header = [_("way"), *(_("{labels} labels ({fraction})").format(
        labels=f"{next(r['labels'] for r in summary if r['fraction'] == f):,}", fraction=f"{f:.0%}") for f in fractions)]
    rows = [[f"<b>{_e(names.get(w, w))}</b>", *(_e(_fmt_pm(r["mean"], r["std"], "accuracy")) for f in fractions
             for r in summary if r["way"] == w and r["fraction"] == f)] for w in names]
    gains = {g["fraction"]: g for g in m.get("gains") or []}
    if gains:
        label = _("fine-tuning gain over scratch")
        rows.append([f"<b>{_e(label)}</b>", *(_e(_points(gains[f]["mean"], gains[f]["std"])) if f in gains else "" for f in fractions)])
    target = m.get("target") or {}
    how = _("Accuracy on {target}'s test set ({test} sentences) against the number of its training labels used, mean ± std "
            "over {seeds} seeds. Scratch and fine-tuning train the same architecture with the same budget; only the "
            "starting weights differ.").format(target=target.get("dataset", "?"), test=f"{target.get('test', 0):,}",
                                               seeds=m.get("seeds", "?"))
    return _section("transfer", _("Fine-tuning after pretraining against from scratch"), how,
                    _img(label_efficiency(summary, names), _("test accuracy against labels used")) + _table(header, rows, "numbers"))


def _points(mean: float, std: float) -> str:
    """A gain in percentage points, mean ± std."""
    return _("{gain:+.1f} ± {std:.1f} pts").format(gain=100 * mean, std=100 * std)


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    m = run.mlm
    final = ((m.get("pretraining") or {}).get("history") or [{}])[-1]
    stats = [(f"{100 * final['val_masked_accuracy']:.1f}%", _("masked-token accuracy"))] if "val_masked_accuracy" in final else []
    for g in m.get("gains") or []:
        stats.append((_("{gain:+.1f} pts").format(gain=100 * g["mean"]),
                      _("fine-tuning gain, {labels} labels").format(labels=f"{g['labels']:,}")))
    return stats[:4]


REPORT = KindReport("mlm", files=("mlm.json",), result_file="mlm.json",
                    missing={"mlm.json": N_("the pretraining and fine-tuning results")},
                    sections=(Section("pretraining", N_("Pretraining: a masked language model"), _pretraining_section,
                                      lambda run: run.mlm is not None, order=14),
                              Section("fill_mask", N_("What the model fills in"), _fill_section,
                                      lambda run: bool((run.mlm or {}).get("examples")), order=15),
                              Section("transfer", N_("Fine-tuning after pretraining against from scratch"), _transfer_section,
                                      lambda run: bool((run.mlm or {}).get("summary")), order=16)),
                    headline=_headline)
register(Kind("mlm", run, N_("BERT-style masked-language-model pretraining, then fine-tuning with 1%, 10%, 100% of the labels"),
              section="mlm", config=MLMConfig, report=REPORT, order=77,
              smoke=("imdb-sst2-mlm", ("limit=300", "mlm.pretrain_epochs=1", "mlm.finetune_epochs=1", "mlm.min_steps=2",
                                       "mlm.seeds=2", "mlm.fractions=[0.1]", "mlm.validation_windows=20", "text.vocab_size=300",
                                       "model.d_model=32", "model.dim_feedforward=64", "model.num_layers=1", "train.batch_size=32")),
              smoke_needs_data=True))
