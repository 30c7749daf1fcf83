"""Runs that train several models: cross-validation, ensembles and the overfitting lab.

`tujie run RECIPE` sends a recipe with `kind: cross_validation`, `kind: ensemble` or
`kind: overfitting_lab` here. Each writes a run directory like a plain training run
(config.yaml, summary.json, report.html) plus its own result file, which the report draws:

| kind             | result file    | what the report shows                                       |
|------------------|----------------|-------------------------------------------------------------|
| cross_validation | cv.json        | per-fold table, mean ± std, box plot                        |
| ensemble         | ensemble.json  | members versus the ensemble; the ensemble's test results    |
| overfitting_lab  | lab.json       | train/validation curves per remedy, the train–test gap table |
| forecast         | forecast.json  | forecast versus truth, errors against naive baselines       |
| translation      | translation.json | BLEU (greedy, beam, by source length), samples, attention |
| embeddings       | embeddings.json | analogies, similarity, neighbours, a 2-D map of the words  |

Example:
    >>> import tujie as tj
    >>> result = tj.run("digits-cv", overrides=["epochs=2"], verbose=0)  # doctest: +SKIP
    >>> result.summary["cross_validation"]["mean"]["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import time
import types
from pathlib import Path

import torch

from . import config as cfg
from ._io import write_json, write_text
from .utils import environment, seed_everything


def run_experiment(config: cfg.RunConfig, *, verbose: int = 1):
    """Run a `kind: cross_validation | ensemble | overfitting_lab` recipe; returns a `RunResult`."""
    from .report import build_report
    from .runner import RunResult, _new_run_dir, load_data

    say = print if verbose else (lambda *a, **k: None)
    started = time.perf_counter()
    seed_everything(config.seed)
    data = None if config.kind in ("forecast", "translation", "embeddings") else load_data(config)  # these load their own data
    run_dir = _new_run_dir(config)
    say(f"Run directory: {run_dir}")
    for note in (data.notes if data is not None else ()):
        say(f"Data: {note}")
    write_text(run_dir / "config.yaml", cfg.to_yaml(config))
    body = {"cross_validation": _cross_validation, "ensemble": _ensemble, "overfitting_lab": _overfitting_lab,
            "forecast": _forecast, "translation": _translation,
            "embeddings": _embeddings}[config.kind]
    summary = {"kind": config.kind, "recipe": config.recipe, "run_name": run_dir.name, "description": config.description,
               "status": "finished", "message": None, "expected": config.expected.model_dump() if config.expected else None,
               "environment": environment(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    summary.update(body(config, data, run_dir, say))
    if config.expected is not None:
        reached = summary.get("results", {}).get(config.expected.metric)
        summary["expected"]["reached"] = reached
        if reached is not None:
            say(f"Expected {config.expected.metric} {config.expected.value} ({config.expected.source}); reached {reached:.4f}")
    summary["timings"] = {"total_s": time.perf_counter() - started}
    summary["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_json(run_dir / "summary.json", summary)
    report = build_report(run_dir)
    say(f"Report: {report}")
    return RunResult(run_dir, summary, report)


def fresh_learner(config_json: dict, num_classes: int | None):
    """A new model and Learner from a config (module-level, so worker processes can unpickle it)."""
    from .runner import build_learner, build_model

    config = cfg.RunConfig.model_validate(config_json)
    model = build_model(config, types.SimpleNamespace(num_classes=num_classes))
    return build_learner(config, model, num_classes=num_classes)


# ------------------------------------------------------------------------ cross-validation
def _cross_validation(config, data, run_dir: Path, say) -> dict:
    """k-fold CV on the training and validation splits together; the test split stays untouched."""
    from .data.arrays import ArrayDataset
    from .train.cross_validation import cross_validate

    cv = config.cross_validation or cfg.CrossValidationConfig()
    parts = [p for p in (data.train, data.val) if p is not None]
    pool = ArrayDataset(torch.cat([p.x for p in parts]), torch.cat([p.y for p in parts]))
    say(f"{cv.k}-fold {'stratified ' if cv.stratified else ''}cross-validation on {len(pool):,} samples"
        f"{f', {cv.processes} processes' if cv.processes > 1 else ''}")
    build = functools.partial(fresh_learner, config.model_dump(mode="json"), data.num_classes)
    start = time.perf_counter()
    result = cross_validate(build, pool, k=cv.k, stratified=cv.stratified, epochs=config.train.epochs,
                            batch_size=config.train.batch_size, metrics=config.train.metrics, seed=config.seed,
                            processes=cv.processes, verbose=verbose_of(say))
    seconds = time.perf_counter() - start
    say(result.table())
    write_json(run_dir / "cv.json", {"k": cv.k, "stratified": cv.stratified, "processes": cv.processes,
                                     "seconds": seconds, **result.to_dict()})
    results = {f"cv_{name}": value for name, value in result.mean.items()}
    results.update({f"cv_{name}_std": value for name, value in result.std.items()})
    return {"cross_validation": {"k": cv.k, "mean": result.mean, "std": result.std, "seconds": seconds}, "results": results}


# -------------------------------------------------------------------------------- ensemble
def _ensemble(config, data, run_dir: Path, say) -> dict:
    """Train `members` models (different seeds, or bootstrap resamples), then test each and their ensemble."""
    from .runner import _test, build_learner, build_model
    from .train import Learner, save_weights
    from .train.ensemble import Ensemble

    spec = config.ensemble or cfg.EnsembleConfig()
    members, rows = [], []
    for i in range(spec.members):
        seed = config.seed + i
        seed_everything(seed)
        member_config = config.model_copy(update={"seed": seed})
        learner = build_learner(member_config, build_model(member_config, data), num_classes=data.num_classes)
        train = data.train
        if spec.bagging:  # a bootstrap resample: as many rows as the data, drawn with replacement
            index = torch.randint(0, len(train), (len(train),), generator=torch.Generator().manual_seed(seed))
            train = train.subset(index)
        learner.fit(train, epochs=config.train.epochs, batch_size=config.train.batch_size, validation_data=data.val, verbose=0)
        scores = {k: v for k, v in learner.evaluate(data.test, verbose=0).items() if isinstance(v, float)}
        save_weights(run_dir / f"member-{i + 1}.safetensors", learner.model, {"seed": seed, **scores})
        rows.append({"name": f"member {i + 1}", "seed": seed, **scores, "history": learner.history.epochs})
        members.append(learner.model.eval())
        say(f"member {i + 1}/{spec.members}: " + " - ".join(f"{k}: {v:.4f}" for k, v in scores.items()))
    weights = None
    if spec.method == "weighted":  # weight members by their validation accuracy (or inverse loss)
        key = "val_accuracy" if "val_accuracy" in rows[0]["history"][-1] else "val_loss"
        values = [row["history"][-1].get(key, 1.0) for row in rows]
        weights = values if key == "val_accuracy" else [1.0 / max(v, 1e-12) for v in values]
    ensemble = Ensemble(members, method=spec.method, weights=weights)
    # the ensemble outputs log-probabilities: NLL on them is the cross-entropy of the averaged probabilities
    judge = Learner(ensemble, loss="nll", optimizer=None, metrics=config.train.metrics, device=config.device)
    judge.input_shape = data.input_shape
    test = _test(judge, data, config, run_dir)
    save_weights(run_dir / "ensemble.safetensors", ensemble, {"method": spec.method})
    metric = "accuracy" if "accuracy" in test else next(iter(test))
    member_rows = [{k: v for k, v in row.items() if k != "history"} for row in rows]
    write_json(run_dir / "ensemble.json", {"method": spec.method, "bagging": spec.bagging, "metric": metric,
                                           "members": member_rows, "ensemble": test, "weights": weights})
    say("ensemble: " + " - ".join(f"{k}: {v:.4f}" for k, v in test.items()))
    member_values = [row[metric] for row in member_rows]
    results = {f"test_{k}": v for k, v in test.items()}
    results.update({f"members_mean_{metric}": sum(member_values) / len(member_values), f"members_best_{metric}": max(member_values)})
    return {"test": test, "members": member_rows, "results": results}


# ---------------------------------------------------------------------- overfitting lab
def _overfitting_lab(config, data, run_dir: Path, say) -> dict:
    """Train the recipe's model on a small subset once per variant (remedy); measure train/test accuracy and the gap."""
    from .runner import build_learner, build_model
    from .train import EarlyStopping

    lab = config.lab
    if lab is None:
        from .errors import ConfigError

        raise ConfigError("An overfitting-lab recipe needs a `lab` section.", expected="lab: {train_size: 1000, variants: [...]}",
                          received="lab: null", fix="See the overfitting-lab recipe (`tujie recipes`).")
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(config.seed))
    train = data.train.subset(order[: lab.train_size])  # the same small subset for every variant
    say(f"Overfitting lab: {len(train):,} training samples, validation {len(data.val):,}, test {len(data.test):,}")
    base = config.model_dump(mode="json")
    base.update(kind="train", lab=None)
    variants = []
    for variant in lab.variants:
        vc = cfg.validate(cfg.apply_overrides(base, variant.set))
        seed_everything(vc.seed)
        callbacks = [EarlyStopping(**vc.train.early_stopping.model_dump())] if vc.train.early_stopping else []
        learner = build_learner(vc, build_model(vc, data), callbacks, num_classes=data.num_classes)
        start = time.perf_counter()
        history = learner.fit(train, epochs=vc.train.epochs, batch_size=vc.train.batch_size, validation_data=data.val, verbose=0)
        # train accuracy on the clean training images in eval mode (no dropout, no augmentation), like the test's
        on_train, on_test = learner.evaluate(train, verbose=0), learner.evaluate(data.test, verbose=0)
        train_accuracy, test_accuracy = on_train["accuracy"], on_test["accuracy"]
        stopper = callbacks[0] if callbacks else None
        variants.append({"name": variant.name, "description": variant.description, "set": variant.set,
                         "history": [{k: v for k, v in e.items() if k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")}
                                     for e in history.epochs],
                         "train_accuracy": train_accuracy, "test_accuracy": test_accuracy, "gap": train_accuracy - test_accuracy,
                         # the loss gap shows what accuracy hides: a memorising model is confidently wrong on test
                         "train_loss": on_train["loss"], "test_loss": on_test["loss"], "loss_gap": on_test["loss"] - on_train["loss"],
                         "best_epoch": getattr(stopper, "best_epoch", None), "stopped_epoch": getattr(stopper, "stopped_epoch", None),
                         "seconds": time.perf_counter() - start})
        say(f"{variant.name:>16}: accuracy train {train_accuracy:.4f} test {test_accuracy:.4f} gap {train_accuracy - test_accuracy:+.4f}"
            f" | loss train {on_train['loss']:.4f} test {on_test['loss']:.4f}")
    write_json(run_dir / "lab.json", {"train_size": len(train), "validation_size": len(data.val), "test_size": len(data.test),
                                      "epochs": config.train.epochs, "variants": variants})
    baseline = variants[0]
    narrowest = min(variants, key=lambda v: v["gap"])
    best = max(variants, key=lambda v: v["test_accuracy"])
    results = {"lab_baseline_gap": baseline["gap"], "lab_smallest_gap": narrowest["gap"],
               "lab_gap_narrowed": baseline["gap"] - narrowest["gap"], "lab_best_test_accuracy": best["test_accuracy"],
               "lab_baseline_test_accuracy": baseline["test_accuracy"]}
    results["lab_baseline_loss_gap"] = baseline["loss_gap"]
    results["lab_smallest_loss_gap"] = min(v["loss_gap"] for v in variants)
    table = [{k: v[k] for k in ("name", "train_accuracy", "test_accuracy", "gap", "loss_gap")} for v in variants]
    return {"lab": table, "results": results}


# ------------------------------------------------------------------------------- forecast
def _forecast(config, data, run_dir: Path, say) -> dict:
    """A time-series forecaster against naive baselines (tujie.timeseries.forecast.run_forecast)."""
    from .timeseries.forecast import run_forecast

    return run_forecast(config, run_dir, say, verbose=verbose_of(say))


# ---------------------------------------------------------------------------- translation
def _translation(config, data, run_dir: Path, say) -> dict:
    """Train a seq2seq model on sentence pairs (teacher forcing, its own train_step); test it with sacreBLEU."""
    from . import models
    from .runner import build_learner
    from .text import build_tokenizer
    from .text.pairs import PairDataset
    from .text.translation import Translator, bleu, encode_pairs, save_translator
    from .train import CSVLogger, LearningRateLogger, MetricsLogger, ModelCheckpoint, load_weights

    t = config.translation or cfg.TranslationConfig()
    d = config.data
    corpus = load_translation_corpus(config)
    if d.limit is not None:
        corpus.train = corpus.train[: d.limit]
        corpus.notes.append(f"limit={d.limit}: the first {len(corpus.train):,} training pairs.")
    for note in corpus.notes:
        say(f"Data: {note}")
    options = {"min_freq": t.min_freq, **({"vocab_size" if t.tokenizer == "bpe" else "max_size": t.vocab_size} if t.vocab_size else {})}
    src_tokenizer = build_tokenizer(t.tokenizer, **options).train(s for s, _ in corpus.train)  # training pairs only
    tgt_tokenizer = build_tokenizer(t.tokenizer, **options).train(g for _, g in corpus.train)
    say(f"Data: {corpus!r}; vocabularies {src_tokenizer.vocab_size:,} ({corpus.src_lang}) and "
        f"{tgt_tokenizer.vocab_size:,} ({corpus.tgt_lang}) tokens")
    train = PairDataset(*encode_pairs(corpus.train, src_tokenizer, tgt_tokenizer, t.max_len), corpus.train)
    val = PairDataset(*encode_pairs(corpus.val, src_tokenizer, tgt_tokenizer, t.max_len), corpus.val)

    model_args = {k: v for k, v in config.model.model_dump().items() if k != "name"}
    model_args.update(src_vocab_size=src_tokenizer.vocab_size, tgt_vocab_size=tgt_tokenizer.vocab_size)
    model = models.create(config.model.name, **model_args)
    checkpoint = ModelCheckpoint(run_dir, monitor="val_loss")
    callbacks = [checkpoint, MetricsLogger(run_dir / "metrics.jsonl"), CSVLogger(run_dir / "history.csv"),
                 LearningRateLogger(run_dir / "schedule.json")]
    learner = build_learner(config, model, callbacks)
    start = time.perf_counter()
    learner.fit(train, epochs=config.train.epochs, batch_size=config.train.batch_size, validation_data=val,
                verbose=verbose_of(say))
    train_s = time.perf_counter() - start
    if (run_dir / "best.safetensors").is_file():  # translate with the best validation epoch's weights
        model.load_state_dict(load_weights(run_dir / "best.safetensors"))
    model.eval()
    translator = Translator(model, src_tokenizer, tgt_tokenizer, src_lang=corpus.src_lang, tgt_lang=corpus.tgt_lang,
                            max_len=t.max_len, model_name=config.model.name, model_kwargs=model_args)
    save_translator(translator, run_dir)
    greedy = bleu(translator, corpus.test, beam=1)
    say(f"Test BLEU (greedy): {greedy['bleu']:.2f} on {greedy['count']:,} pairs ({greedy['sentences_per_s']:.0f} sentences/s)")
    beam = bleu(translator, corpus.test, beam=t.beam, length_penalty=t.length_penalty) if t.beam > 1 else greedy
    if t.beam > 1:
        say(f"Test BLEU (beam {t.beam}, length penalty {t.length_penalty}): {beam['bleu']:.2f} "
            f"({beam['sentences_per_s']:.0f} sentences/s)")
    shown = translator.translate([s for s, _ in corpus.test[:4]], beam=t.beam, length_penalty=t.length_penalty,
                                 return_attention=True)
    attention = [{"source": r.source, "translation": r.text, "source_tokens": r.source_tokens, "target_tokens": r.target_tokens,
                  "weights": None if r.attention is None else r.attention.tolist()} for r in shown]
    write_json(run_dir / "translation.json", {
        "corpus": corpus.name, "direction": corpus.direction, "notes": corpus.notes, "train_pairs": len(train),
        "test_pairs": len(corpus.test), "greedy": greedy, "beam": beam, "beam_width": t.beam,
        "length_penalty": t.length_penalty, "attention": attention, "train_s": train_s})
    test = {"bleu": beam["bleu"], "bleu_greedy": greedy["bleu"], "sentences_per_s": beam["sentences_per_s"]}
    return {"test": test, "results": {"test_bleu": beam["bleu"], "test_bleu_greedy": greedy["bleu"]},
            "epochs_done": learner.epoch, "best_epoch": checkpoint.best_epoch, "train_s": train_s}


# ----------------------------------------------------------------------------- embeddings
def _embeddings(config, data, run_dir: Path, say) -> dict:
    """Word vectors (word2vec or GloVe) on a corpus, judged by analogies, word similarity and neighbours."""
    from .text import WordTokenizer, imdb_texts
    from .text.glove import train_glove
    from .text.vectors import load_analogies
    from .text.word2vec import train_word2vec

    e = config.embeddings or cfg.EmbeddingsConfig()
    texts = imdb_texts(config.data.data_dir, split="train")
    if config.data.limit is not None:
        texts = texts[: config.data.limit]
    split = WordTokenizer().split
    sentences = [split(t) for t in texts]
    tokens = sum(map(len, sentences))
    say(f"Data: {len(sentences):,} IMDB training reviews, {tokens:,} tokens (WordTokenizer, lower-cased)")
    start = time.perf_counter()

    def progress(record):
        say(f"Epoch {record['epoch']}/{e.epochs} - {record['seconds']:.1f}s - loss: {record['loss']:.4f}"
            + (f" - {record['words_per_s']:,.0f} words/s" if record.get("words_per_s") else ""))

    if e.method == "glove":
        vectors = train_glove(sentences, dim=e.dim, window=e.window, epochs=e.epochs, min_count=e.min_count,
                              seed=config.seed, workers=e.workers, progress=progress, **({"lr": e.lr} if e.lr else {}))
    else:
        vectors = train_word2vec(sentences, mode=e.method, dim=e.dim, window=e.window, negative=e.negative,
                                 min_count=e.min_count, sample=e.sample, epochs=e.epochs, lr=e.lr, seed=config.seed,
                                 workers=e.workers, progress=progress)
    train_s = time.perf_counter() - start
    vectors.save(run_dir)  # the run directory is the vectors folder: vectors.safetensors + vocab.json

    questions = load_analogies()
    analogies = vectors.evaluate_analogies(questions)
    examples = []
    for section, a, b, c, d in questions:  # a few answered questions, one per section, for the report
        if len(examples) < 14 and all(w.lower() in vectors for w in (a, b, c, d)) and section not in {x["section"] for x in examples}:
            predicted = vectors.analogy(a.lower(), b.lower(), c.lower(), k=1)[0][0]
            examples.append({"section": section, "question": [a.lower(), b.lower(), c.lower()], "expected": d.lower(),
                             "predicted": predicted, "correct": predicted == d.lower()})
    analogies["examples"] = examples
    similarity = _wordsim353(vectors)
    probes = [w for w in e.probes if w in vectors]
    neighbours = {w: [[n, round(s, 4)] for n, s in vectors.most_similar(w, k=8)] for w in probes}
    words, groups = [], []
    for w in probes:  # each probe and its 5 nearest, a word drawn once
        for n in [w] + [n for n, _ in neighbours[w][:5]]:
            if n not in words:
                words.append(n)
                groups.append(w)
    xy = vectors.project_2d(words, method=e.projection, seed=config.seed).tolist() if len(words) >= 4 else []
    history = [{k: r.get(k) for k in ("epoch", "loss", "seconds", "words_per_s")} for r in vectors.meta["history"]]
    words_per_s = vectors.meta.get("words_per_s")
    accuracy = analogies["accuracy"]
    say(f"Analogies: {accuracy if accuracy is None else f'{accuracy:.3f}'} on {analogies['covered']:,} of "
        f"{analogies['total']:,} questions whose words are in the vocabulary")
    if similarity:
        say(f"WordSim-353 Spearman: {similarity['spearman']:.3f} on {similarity['covered']} pairs")
    for w in probes[:4]:
        say(f"  {w}: {', '.join(n for n, _ in neighbours[w][:6])}")
    write_json(run_dir / "embeddings.json", {
        "method": e.method, "corpus": e.corpus, "settings": e.model_dump(exclude={"probes", "projection"}),
        "vocab_size": len(vectors), "tokens": tokens, "train_s": train_s, "words_per_s": words_per_s, "history": history,
        "analogies": analogies, "similarity": similarity, "neighbours": neighbours,
        "projection": {"method": e.projection, "words": words, "xy": xy, "groups": groups}})
    results = {"analogy_accuracy": accuracy}
    if similarity and similarity["spearman"] is not None:
        results["wordsim353_spearman"] = similarity["spearman"]
    return {"results": results, "train_s": train_s, "vocab_size": len(vectors)}


def _wordsim353(vectors) -> dict | None:
    """Spearman on WordSim-353 with gensim's bundled copy of it, when gensim is installed."""
    try:
        from gensim.test.utils import datapath
    except ImportError:
        return None
    path = Path(datapath("wordsim353.tsv"))
    return vectors.evaluate_similarity(path) if path.is_file() else None


def load_translation_corpus(config):
    """The parallel corpus a translation recipe names, with its direction and filter (all pairs, before data.limit)."""
    from .text.parallel import ENG_PREFIXES, load_multi30k, load_tatoeba

    t = config.translation or cfg.TranslationConfig()
    if t.corpus == "tatoeba":
        return load_tatoeba(config.data.data_dir, direction=t.direction, max_words=t.max_words,
                            prefixes=ENG_PREFIXES if t.prefixes else None, seed=config.seed)
    return load_multi30k(config.data.data_dir, direction=t.direction)


def verbose_of(say) -> int:
    return 1 if say is print else 0
