"""The `transfer` kind: pretrain on plenty of labels, transfer where labels are scarce (chapters 13–14).

1. **Pretrain** the recipe's model on the source task (`transfer.source`: a dataset and its classes,
   e.g. CIFAR-10's classes 0–4) for `pretrain_epochs`; its weights are saved (pretrained.safetensors).
2. **Transfer** to the target task (`transfer.target`, e.g. classes 5–9) with a fraction of its
   training labels (`fractions`: 1%, 10%, 100%), each of `ways`, over `seeds`:
   - `scratch`: the same model, freshly initialised;
   - `linear_probe`: the pretrained body frozen (its batch-norm statistics too), a new head trained;
   - `fine_tune`: the pretrained body and a new head, everything trained;
   - `gradual`: ULMFiT: the body frozen at first, one more block opened every epoch from the top,
     each block below the head at `layer_decay` times the rate above;
   - `features`: the simplest transfer: the pretrained body's features (what the head would read)
     and scikit-learn's logistic regression on them; no network training at all.
   The new head is always freshly initialised (the target's classes are not the source's).
3. **Report** the label-efficiency curve (test accuracy against labels used, one line per way,
   mean ± std over seeds), the table behind it, and the pretraining curve.

Small label sets get enough steps: a run trains `finetune_epochs` epochs, or more when that
would be fewer than `min_steps` optimizer steps. Writes transfer.json and pretrained.safetensors.

Example:
    >>> from tujie import kinds
    >>> kinds.get("transfer").section
    'transfer'
"""

from __future__ import annotations

import time

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..errors import ConfigError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _fmt_pm, _img, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register

WAYS = ("scratch", "linear_probe", "fine_tune", "gradual", "features")
_WAY_NAMES = {"scratch": N_("from scratch"), "linear_probe": N_("linear probe (frozen body)"),
              "fine_tune": N_("full fine-tune"), "gradual": N_("gradual unfreezing + discriminative rates"),
              "features": N_("pretrained features + logistic regression (scikit-learn)")}


class TaskSpec(Strict):
    dataset: str | None = Field(None, description="a registered dataset; None: the recipe's data.name")
    classes: list[int] | None = Field(None, description="the classes kept (relabelled 0..k-1); None: all")
    limit: Int | None = Field(None, gt=0, description="keep the first N training and test images (before the classes are picked)")


class TransferConfig(Strict):
    source: TaskSpec = TaskSpec()
    target: TaskSpec = TaskSpec()
    pretrain_epochs: Int = Field(10, ge=1)
    finetune_epochs: Int = Field(10, ge=1)
    min_steps: Int = Field(200, ge=1, description="at least this many optimizer steps per transfer run (small label sets)")
    fractions: list[Float] = Field([0.01, 0.1, 1.0], min_length=1, description="shares of the target's training labels")
    ways: list[str] = Field(list(WAYS), min_length=1, description="scratch, linear_probe, fine_tune, gradual, features")
    seeds: Int = Field(3, ge=1)
    layer_decay: Float = Field(0.5, gt=0.0, le=1.0, description="gradual: each block below the head at this factor")


def _task(config, spec: TaskSpec, role: str):
    """The dataset of one task, with only its classes, relabelled 0..k-1."""
    import torch

    from ..data import load
    from ..data.arrays import ArrayDataset

    name = spec.dataset or config.data.name
    limits = [n for n in (spec.limit, config.data.limit) if n]
    bundle = load(name, data_dir=config.data.data_dir, normalize=config.data.normalize, limit=min(limits) if limits else None,
                  seed=config.seed)
    classes = spec.classes if spec.classes is not None else list(range(bundle.num_classes or 0))
    known = range(bundle.num_classes or 0)
    bad = [c for c in classes if c not in known]
    if bad or len(set(classes)) != len(classes) or len(classes) < 2:
        raise ConfigError(f"transfer.{role}.classes={classes} does not fit {name} ({bundle.num_classes} classes).",
                          expected=f"two or more distinct class numbers among 0..{(bundle.num_classes or 1) - 1}",
                          received=f"transfer.{role}.classes={classes}", fix="List the classes to keep, e.g. [0, 1, 2, 3, 4].")
    table = torch.full((int(bundle.num_classes),), -1, dtype=torch.long)
    table[torch.tensor(classes)] = torch.arange(len(classes))

    def keep(split):
        labels = split.y.long()
        mask = table[labels] >= 0
        return ArrayDataset(split.x[mask], table[labels[mask]])

    names = [bundle.classes[c] for c in classes] if getattr(bundle, "classes", None) else [str(c) for c in classes]
    return name, keep(bundle.train), keep(bundle.test), names


def _subset(train, fraction: float, seed: int):
    """A stratified share of the training labels (at least one per class), seeded."""
    from ..data.arrays import ArrayDataset
    from ..train.transfer import label_share

    index = label_share(train.y, fraction, seed)
    return ArrayDataset(train.x[index], train.y[index])


def run(context: RunContext) -> dict:
    """Pretrain on the source task, transfer to the target task every way, fraction and seed."""
    from ..train.checkpoint import save_weights
    from ..train.transfer import label_efficiency_runs, summarise_runs

    config, say = context.config, context.say
    section = config.transfer or TransferConfig()
    unknown = [w for w in section.ways if w not in WAYS]
    if unknown or any(not 0 < f <= 1 for f in section.fractions):
        raise ConfigError("transfer.ways or transfer.fractions is not valid.",
                          expected=f"ways among {', '.join(WAYS)}; fractions in (0, 1]",
                          received=f"ways={section.ways}, fractions={section.fractions}", fix="Correct the list.")
    source_name, source_train, source_test, _names = _task(config, section.source, "source")
    target_name, target_train, target_test, target_names = _task(config, section.target, "target")
    run_dir = context.run_dir
    started = time.perf_counter()
    say(_("Pretraining on {dataset} ({n} images, {k} classes) for {epochs} epochs").format(
        dataset=source_name, n=f"{len(source_train):,}", k=int(source_train.y.max()) + 1, epochs=section.pretrain_epochs))
    context.seed()
    body = _model(config, int(source_train.y.max()) + 1)
    learner = _learner(config, body)
    history = learner.fit((source_train.x, source_train.y), epochs=section.pretrain_epochs, batch_size=config.train.batch_size,
                          validation_data=(source_test.x, source_test.y), verbose=context.verbose)
    pretrain_s = time.perf_counter() - started
    save_weights(run_dir / "pretrained.safetensors", body)
    pretrained = {k: v.detach().clone() for k, v in body.state_dict().items()}
    source_accuracy = learner.evaluate((source_test.x, source_test.y), verbose=0).get("accuracy")
    say(_("Pretrained: source test accuracy {accuracy:.4f} in {seconds:.0f} s").format(accuracy=source_accuracy, seconds=pretrain_s))

    k = int(target_train.y.max()) + 1
    results = label_efficiency_runs(
        target_train, fractions=section.fractions, seeds=section.seeds, ways=section.ways, share=_subset,
        batch_size=config.train.batch_size, epochs=section.finetune_epochs, min_steps=section.min_steps, say=say,
        run_one=lambda way, subset, epochs, seed: _transfer_once(config, section, way, pretrained, subset, target_test, k, epochs, seed))
    summary = summarise_runs(results)
    write_json(run_dir / "transfer.json", {
        "source": {"dataset": source_name, "classes": section.source.classes, "train": len(source_train),
                   "test_accuracy": source_accuracy, "seconds": pretrain_s, "history": history.epochs},
        "target": {"dataset": target_name, "classes": section.target.classes, "names": target_names, "train": len(target_train),
                   "test": len(target_test)},
        "ways": section.ways, "fractions": section.fractions, "seeds": section.seeds, "runs": results, "summary": summary})
    out = {f"{row['way']}_{_pct(row['fraction'])}": row["mean"] for row in summary}
    return {"results": out, "timings": {"pretrain_s": pretrain_s, "total_s": time.perf_counter() - started}}


def _pct(fraction: float) -> str:
    return f"{fraction * 100:g}pct"


def _model(config, num_classes: int):
    from types import SimpleNamespace

    from ._common import build_model

    return build_model(config, SimpleNamespace(num_classes=num_classes))


def _learner(config, model, callbacks=()):
    from ..train.builders import build_learner

    return build_learner(config, model, callbacks, num_classes=None)


def _transfer_once(config, section, way, pretrained, subset, test, k, epochs, seed):
    """One transfer run; (test accuracy, seconds)."""
    from ..train.transfer import GradualUnfreezing, freeze
    from ..utils import seed_everything

    started = time.perf_counter()
    seed_everything(config.seed + 1000 * (seed + 1))
    model = _model(config, k)
    callbacks = []
    if way != "scratch":
        _load_body(model, pretrained, subset.x[:2])
    if way == "features":
        return _logistic_regression(model, subset, test), time.perf_counter() - started
    if way == "linear_probe":
        freeze(model)
    elif way == "gradual":
        callbacks.append(GradualUnfreezing(every=1))
        config = config.model_copy(deep=True)
        config.optimizer.layer_decay = section.layer_decay
    learner = _learner(config, model, callbacks)
    learner.fit((subset.x, subset.y), epochs=epochs, batch_size=min(config.train.batch_size, len(subset)), verbose=0)
    accuracy = float(learner.evaluate((test.x, test.y), verbose=0)["accuracy"])
    return accuracy, time.perf_counter() - started


def _logistic_regression(model, subset, test) -> float:
    """Test accuracy of scikit-learn's logistic regression on the body's features (the head's input)."""
    from ..train.transfer import head_inputs, logistic_probe

    def features(x):
        return head_inputs(model, (x[start:start + 1024] for start in range(0, len(x), 1024))).numpy()

    return logistic_probe(features(subset.x), subset.y.numpy(), features(test.x), test.y.numpy())


def _load_body(model, pretrained: dict, sample) -> None:
    """The pretrained weights of every block but the head (the head stays newly initialised)."""
    import torch

    from ..train.transfer import blocks

    with torch.no_grad():  # lazy layers learn their sizes from one forward
        model.eval()
        model(sample)
        model.train()
    head = blocks(model)[-1][0]
    kept = {k: v for k, v in pretrained.items() if not (k == head or k.startswith(head + "."))}
    missing, unexpected = model.load_state_dict(kept, strict=False)
    if unexpected or any(not (m == head or m.startswith(head + ".")) for m in missing):
        raise ConfigError("The pretrained weights do not fit the transfer model.", expected="the same architecture",
                          received=f"missing {missing[:4]}, unexpected {unexpected[:4]}", fix="Keep model: the same for both tasks.")


# ----------------------------------------------------------------------------------- report
def _curve_section(run: RunFiles) -> str:
    from ..plots.transfer import label_efficiency

    t = run.transfer
    summary = t.get("summary") or []
    names = {w: _(_WAY_NAMES.get(w, w)) for w in t.get("ways") or []}
    png = label_efficiency(summary, names)
    fractions = list(dict.fromkeys(r["fraction"] for r in summary))
    header = [_("way"), *(_("{labels} labels ({fraction})").format(
        labels=next(r["labels"] for r in summary if r["fraction"] == f), fraction=f"{f:.0%}") for f in fractions)]
    rows = [[f"<b>{_e(names.get(w, w))}</b>", *(_e(_fmt_pm(r["mean"], r["std"], "accuracy")) for f in fractions
             for r in summary if r["way"] == w and r["fraction"] == f)] for w in names]
    target, source = t.get("target") or {}, t.get("source") or {}
    how = _("Test accuracy on the target task ({target}) against the number of its training labels used, mean ± std over "
            "{seeds} seeds. The body was pretrained on {source} ({n} images, source test accuracy {accuracy}). Where the "
            "pretrained lines sit above \"from scratch\", the features learned on the source carry over; the gap is "
            "widest when labels are fewest.").format(
        target=target.get("dataset", "?"), seeds=t.get("seeds", "?"), source=source.get("dataset", "?"),
        n=f"{source.get('train', 0):,}", accuracy=f"{100 * (source.get('test_accuracy') or 0):.2f}%")
    return _section("transfer", _("Label efficiency: pretrained against from scratch"), how,
                    _img(png, _("test accuracy against labels used")) + _table(header, rows, "numbers"))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    summary = run.transfer.get("summary") or []
    smallest = min((r["fraction"] for r in summary), default=None)
    stats = []
    for r in summary:
        if r["fraction"] == smallest and r["way"] in ("scratch", "fine_tune"):
            stats.append((f"{100 * r['mean']:.1f}%", _("{way}, {labels} labels").format(
                way=_(_WAY_NAMES.get(r["way"], r["way"])), labels=r["labels"])))
    return stats


REPORT = KindReport("transfer", files=("transfer.json",), result_file="transfer.json",
                    missing={"transfer.json": N_("the transfer runs' results")},
                    sections=(Section("transfer", N_("Label efficiency: pretrained against from scratch"), _curve_section,
                                      lambda run: run.transfer is not None, order=15),),
                    headline=_headline)
register(Kind("transfer", run, N_("pretrain on a source task, transfer to a target with 1%, 10%, 100% of its labels, five ways"),
              section="transfer", config=TransferConfig, report=REPORT, order=76,
              smoke=("fashion-mnist-transfer", ("transfer.pretrain_epochs=1", "transfer.finetune_epochs=1", "transfer.min_steps=2",
                                                "transfer.seeds=1", "transfer.fractions=[0.1]", "limit=600")),
              smoke_needs_data=True))
