"""Run a recipe end to end: data → model → fit → test → run directory → illustrated report.

The run directory (`runs/<recipe>-<timestamp>/`) keeps everything, each file written atomically:
`config.yaml` (resolved config), `metrics.jsonl` (one line per epoch), `history.csv`,
`last.safetensors` (full state for `--resume`), `best.safetensors` (best weights),
`tensorboard/`, `summary.json`, `evaluation.json`, `samples.safetensors`, `report.html`.

Example:
    >>> import tujie as tj
    >>> result = tj.run("digits-mlp", overrides=["epochs=1"], verbose=0)  # doctest: +SKIP
    >>> result.summary["test"]["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from . import config as cfg
from ._io import write_json, write_text
from .errors import ConfigError
from .utils import environment, seed_everything

# Keys that may differ between a run and its resumption: how long to train and where.
RESUMABLE_CHANGES = {"train.epochs", "device", "output_dir", "run_name"}


@dataclass
class RunResult:
    run_dir: Path
    summary: dict
    report: Path | None


def resolve_config(recipe: str | None, overrides=(), resume: str | Path | None = None) -> cfg.RunConfig:
    """The recipe (or the resumed run's saved config) with `--set` overrides applied and validated."""
    from .recipes import load_recipe

    if recipe is None and resume is None:
        raise ConfigError("No recipe given.", expected="tujie run RECIPE, or tujie run --resume RUN_DIR",
                          fix="Run `tujie recipes` to list them.")
    base = load_recipe(recipe) if recipe else yaml.safe_load((Path(resume) / "config.yaml").read_text())
    return cfg.validate(cfg.apply_overrides(base, overrides))


def run(recipe: str | None = None, overrides=(), *, resume: str | Path | None = None, verbose: int = 1) -> RunResult:
    """Train and test a recipe, write its run directory and report; `resume` continues an earlier run."""
    from .report import build_report
    from .train import CSVLogger, EarlyStopping, GradientStats, LearningRateLogger, MetricsLogger, ModelCheckpoint, TensorBoard

    say = print if verbose else (lambda *a, **k: None)
    started = time.perf_counter()
    config = resolve_config(recipe, overrides, resume)
    if config.kind != "train":  # cross-validation, ensembles and the overfitting lab train several models
        from . import experiments

        if resume:
            raise ConfigError(f"A {config.kind.replace('_', ' ')} run cannot be resumed.", expected="--resume with a kind: train run",
                              received=f"kind={config.kind!r}", fix="Start the run again without --resume.")
        return experiments.run_experiment(config, verbose=verbose)
    if resume:
        _check_resume(Path(resume), config)
    seed_everything(config.seed)
    data = load_data(config)
    model = build_model(config, data)
    # the folder is made only once data and model exist, so a failed start leaves no empty run behind
    run_dir = Path(resume) if resume else _new_run_dir(config)
    say(f"Run directory: {run_dir}")
    for note in data.notes:
        say(f"Data: {note}")
    if getattr(data, "tokenizer", None) is not None:  # text runs: prediction needs the very same vocabulary
        data.tokenizer.save(run_dir / "tokenizer.json")

    callbacks = [EarlyStopping(**config.train.early_stopping.model_dump())] if config.train.early_stopping else []
    monitor = config.train.monitor if data.val is not None else config.train.monitor.removeprefix("val_")
    checkpoint = ModelCheckpoint(run_dir, monitor=monitor)
    callbacks += [checkpoint, MetricsLogger(run_dir / "metrics.jsonl"), CSVLogger(run_dir / "history.csv"),
                  TensorBoard(run_dir / "tensorboard"), LearningRateLogger(run_dir / "schedule.json")]
    if config.train.grad_stats_every:
        callbacks.append(GradientStats(run_dir / "grad_stats.jsonl", every=config.train.grad_stats_every))
    learner = build_learner(config, model, callbacks, num_classes=data.num_classes)
    if config.evaluate.threshold is not None and learner.kind not in ("binary_logits", "binary_probs"):
        raise ConfigError("Threshold tuning needs a binary classifier.",
                          expected="a binary loss (bce_with_logits or bce) with one output per sample",
                          received=f"evaluate.threshold with loss {config.train.loss!r} ({learner.kind})",
                          fix="Remove evaluate.threshold, or train a binary classifier with loss: bce_with_logits.")
    if resume:
        steps = -(-len(data.train) // config.train.batch_size)
        train = data.train
        sample = train.batches(batch_size=2, shuffle=False).sample(2) if hasattr(train, "batches") else (train.x[:2], train.y[:2])
        learner.load_checkpoint(run_dir / "last.safetensors", sample, epochs=config.train.epochs, steps_per_epoch=steps)
        say(f"Resuming after epoch {learner.epoch} of {config.train.epochs}.")
    write_text(run_dir / "config.yaml", cfg.to_yaml(config))

    status, message = "finished", None
    try:
        learner.fit(data.train, epochs=config.train.epochs, batch_size=config.train.batch_size,
                    validation_data=data.val, verbose=verbose, initial_epoch=learner.epoch)
        if learner.diverged:
            status, message = "diverged", learner.stop_reason
    except KeyboardInterrupt:
        status = "interrupted"
        message = f"interrupted during epoch {learner.epoch + 1}; continue with: tujie run --resume {run_dir}"
    summary = _summarize(config, learner, checkpoint, run_dir, status, message, started)
    if status == "finished" and data.test is not None:
        summary["test"] = _test(learner, data, config, run_dir)
        shown = " - ".join(f"{k}: {v:.4f}" for k, v in summary["test"].items())
        say(f"Test: {shown}")
        if config.expected and config.expected.metric.startswith("test_"):
            reached = summary["test"].get(config.expected.metric.removeprefix("test_"))
            summary["expected"]["reached"] = reached
            say(f"Expected {config.expected.metric} {config.expected.value} ({config.expected.source}); reached {reached:.4f}")
    summary["timings"]["total_s"] = time.perf_counter() - started
    write_json(run_dir / "summary.json", summary)
    report = build_report(run_dir)
    say(f"Report: {report}")
    if message:
        say(f"{status.capitalize()}: {message}")
    return RunResult(run_dir, summary, report)


def load_data(config: cfg.RunConfig):
    """The recipe's data: a `DatasetBundle` from the registry, or a `TextBundle` for text corpora (imdb, sst2)."""
    from . import datasets
    from .text.classification import is_text_corpus, load_text_classification

    d = config.data
    if is_text_corpus(d.name):
        t = config.text
        return load_text_classification(d.name, data_dir=d.data_dir, validation_split=d.validation_split, seed=config.seed,
                                        limit=d.limit, tokenizer=t.tokenizer, vocab_size=t.vocab_size,
                                        min_freq=t.min_freq, max_len=t.max_len)
    return datasets.load(d.name, data_dir=d.data_dir, validation_split=d.validation_split, seed=config.seed,
                         normalize=d.normalize, limit=d.limit)


def build_model(config: cfg.RunConfig, data):
    """The recipe's model, with `num_classes` taken from the data unless the recipe sets it.

    Binary tasks trained with a binary loss (bce, bce_with_logits) get one output, not two.
    """
    from . import models

    model_args = {k: v for k, v in config.model.model_dump().items() if k != "name"}
    if data.num_classes is not None:
        binary_loss = config.train.loss.lower().replace("-", "_") in ("bce", "bce_with_logits", "binary_crossentropy", "hinge")
        model_args.setdefault("num_classes", 1 if binary_loss and data.num_classes == 2 else data.num_classes)
    if getattr(data, "vocab_size", None) is not None:  # text: the embedding table is as large as the vocabulary
        model_args.setdefault("vocab_size", data.vocab_size)
    model = models.create(config.model.name, **model_args)
    if config.text.vectors and getattr(data, "tokenizer", None) is not None:  # a reloaded run has them in its weights
        use_pretrained_vectors(model, config, data)
    return model


def _vectors_path(config: cfg.RunConfig) -> Path:
    """text.vectors as a path: a file, a run directory, or a recipe name meaning its newest run in output_dir."""
    from .errors import DataNotFoundError
    from .recipes import list_recipes

    value = config.text.vectors
    path = Path(value)
    if path.exists() or value not in list_recipes():
        return path
    runs = sorted((p for p in Path(config.output_dir).glob(f"{value}-*") if (p / "vectors.safetensors").exists()),
                  key=lambda p: p.stat().st_mtime)
    if not runs:
        raise DataNotFoundError(f"text.vectors names the recipe '{value}', but {config.output_dir}/ holds no finished run of it.",
                                expected=f"a folder {config.output_dir}/{value}-*/ with vectors.safetensors",
                                received=f"no such folder in {Path(config.output_dir).resolve()}",
                                fix=f"Run `tujie run {value}` first (same output_dir), or pass a vectors file or run directory.")
    return runs[-1]


def use_pretrained_vectors(model, config: cfg.RunConfig, data) -> None:
    """Replace the model's `embedding` by pretrained word vectors in the tokenizer's id order (text.vectors)."""
    from torch import nn

    from .errors import ConfigError
    from .text.vectors import WordVectors

    path = _vectors_path(config)
    vectors = WordVectors.load(path)  # a vectors folder (an embeddings run) or its vectors.safetensors
    current = getattr(model, "embedding", None)
    width = getattr(current, "embedding_dim", None) or (current.weight.shape[1] if current is not None else None)
    if not isinstance(current, nn.Module) or width != vectors.dim:
        raise ConfigError(f"Model '{config.model.name}' cannot take the pretrained vectors in {path}.",
                          expected=f"a model with an `embedding` of width {vectors.dim} (the vectors' size)",
                          received="no `embedding` attribute" if current is None else f"an embedding of width {width}",
                          fix=f"Set model.embed_dim={vectors.dim}, or train vectors of the model's width.")
    model.embedding = vectors.to_embedding(data.tokenizer, freeze=config.text.freeze_vectors, seed=config.seed)
    data.notes.append(f"Embedding: pretrained vectors from {path} ({len(vectors):,} words, dim {vectors.dim}) for "
                      f"{model.embedding.coverage:.1%} of the vocabulary, {'frozen' if config.text.freeze_vectors else 'fine-tuned'}.")


def build_learner(config: cfg.RunConfig, model, callbacks=(), num_classes: int | None = None):
    """A Learner with the recipe's loss, optimizer, scheduler, metrics, training options, device and seed."""
    from .train import Learner

    o, t = config.optimizer, config.train
    augment, mixing = build_batch_transforms(config.data.augment, num_classes)
    return Learner(model, loss=t.loss, optimizer=o.name, lr=o.lr, metrics=t.metrics,
                   scheduler=config.scheduler.model_dump() if config.scheduler.name else None, device=config.device,
                   callbacks=callbacks, seed=config.seed, augment=augment, mixing=mixing,
                   optimizer_options={"momentum": o.momentum, "nesterov": o.nesterov, "weight_decay": o.weight_decay},
                   l1=t.l1, l2=t.l2, label_smoothing=t.label_smoothing, max_norm=t.max_norm, clip_grad_norm=t.clip_grad_norm,
                   clip_grad_value=t.clip_grad_value, accumulate=t.accumulate, precision=t.precision, ema=t.ema,
                   track_grad_norm=t.track_grad_norm)


MIXING = ("mixup", "cutmix")
TEXT_AUGMENTATIONS = ("token_dropout", "token_swap")


def build_batch_transforms(spec, num_classes: int | None = None):
    """Split a recipe's `augment` list into `(augment, mixing)` for the Learner.

    Image transforms go to kornia (`build_augmentation`), token dropout/swap to
    `build_text_augmentation` (both act on the inputs alone); mixup and cutmix, which mix
    inputs *and* targets, become the Learner's `mixing`.
    """
    from .data.augment import NAMES, build_augmentation

    groups: dict[str, list] = {"image": [], "text": [], "mixing": []}
    for item in spec or ():
        name = item if isinstance(item, str) else next(iter(item)) if isinstance(item, dict) and len(item) == 1 else None
        group = "mixing" if name in MIXING else "text" if name in TEXT_AUGMENTATIONS else "image"
        if group == "image" and name not in NAMES:
            from .errors import closest

            valid = (*NAMES, *MIXING, *TEXT_AUGMENTATIONS)
            raise ConfigError(f"Unknown augmentation {name or item!r}. {closest(str(name or item), valid)}",
                              expected=f"one of {', '.join(valid)}, as a name or a {{name: {{options}}}} mapping",
                              received=repr(item), fix="Fix the `data.augment` list of the recipe.")
        groups[group].append(item)
    if groups["image"] and groups["text"]:
        raise ConfigError("Image and text augmentations were mixed in one `augment` list.",
                          received=repr(list(spec)), fix="Keep image transforms for image data and token_* for text.")
    augment = build_augmentation(groups["image"])
    if groups["text"]:
        from .data.text_augment import build_text_augmentation

        augment = build_text_augmentation(groups["text"])
    mixing = None
    if groups["mixing"]:
        from .data.mixing import build_mixing

        mixing = build_mixing(groups["mixing"], num_classes=num_classes)
    return augment, mixing


def _new_run_dir(config: cfg.RunConfig) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(config.output_dir) / (config.run_name or f"{config.recipe}-{stamp}")
    run_dir, n = base, 1
    while run_dir.exists():  # two runs in the same second get distinct folders
        run_dir, n = base.with_name(f"{base.name}-{n}"), n + 1
    run_dir.mkdir(parents=True)
    return run_dir


def _check_resume(run_dir: Path, config: cfg.RunConfig) -> Path:
    """Refuse to resume into a run whose config differs (beyond epochs/device/output), showing the difference."""
    if not (run_dir / "config.yaml").is_file() or not (run_dir / "last.safetensors").is_file():
        raise ConfigError(f"Cannot resume from {run_dir}: it has no config.yaml and last.safetensors.",
                          expected="a run directory written by `tujie run` after at least one epoch",
                          fix="Check the path, or start a new run without --resume.")
    saved = _flatten(yaml.safe_load((run_dir / "config.yaml").read_text()))
    now = _flatten(config.model_dump(mode="json"))
    diff = [f"{k}: run has {saved.get(k)!r}, now {now.get(k)!r}" for k in sorted(set(saved) | set(now))
            if k not in RESUMABLE_CHANGES and saved.get(k) != now.get(k)]
    if diff:
        raise ConfigError(f"Cannot resume {run_dir}: the config differs from the run's ({'; '.join(diff)}).",
                          expected="the same config (only train.epochs, device and output_dir may change)",
                          fix="Drop the --set overrides that differ, or start a new run.")
    return run_dir


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def _summarize(config, learner, checkpoint, run_dir, status, message, started) -> dict:
    epochs = learner.history.epochs
    model_info = learner.summary(print_fn=None) if learner.input_shape else {}
    return {
        "kind": "train", "recipe": config.recipe, "run_name": run_dir.name, "description": config.description,
        "task": "regression" if learner.kind == "regression" else "classification",
        "status": status, "message": message,
        "expected": config.expected.model_dump() if config.expected else None,
        "epochs_done": learner.epoch, "best_epoch": checkpoint.best_epoch, "monitor": checkpoint.monitor,
        "stopped_early": bool(learner.stop_reason) and not learner.diverged, "stop_reason": learner.stop_reason,
        "restored_epoch": learner.restored_epoch,
        "timings": {"train_s": sum(e["epoch_time_s"] for e in epochs), "epoch_s": [e["epoch_time_s"] for e in epochs],
                    "samples_per_s": (sum(e["samples_per_s"] for e in epochs) / len(epochs)) if epochs else None},
        "environment": {**environment(), "device": str(learner.device)},
        "model": {**model_info, "name": type(learner.model).__name__},
        "started": dt.datetime.fromtimestamp(time.time() - (time.perf_counter() - started)).isoformat(timespec="seconds"),
        "finished": dt.datetime.now().isoformat(timespec="seconds"),
    }


def _test(learner, data, config, run_dir) -> dict:
    """Evaluate on the test split; write evaluation.json (and samples.safetensors for images) for the report.

    The scalars come from `Learner.evaluate` (loss and the recipe's metrics); the curves, the
    confusion matrix and the per-class table from `tujie.evaluate`, which streams over batches.
    A text classifier's test set passes through the model once: its outputs, kept in test order
    (N x classes, small), feed the scalars, the curves and the most confidently wrong texts.
    """
    start = time.perf_counter()
    classifier = learner.kind in ("multiclass", "binary_logits", "binary_probs")
    texts = classifier and getattr(data, "tokenizer", None) is not None
    outputs = _text_outputs(learner, data.test) if texts else None  # (N, classes) or (N, 1)
    if outputs is not None and not hasattr(learner.eval_model, "eval_step"):  # a model's own eval_step decides its loss
        test = _scores_of_outputs(learner, outputs, data.test.targets)
    else:
        test = {k: v for k, v in learner.evaluate(data.test, verbose=0).items() if isinstance(v, float)}
    if classifier:
        evaluation = _classification_report(learner, data, config, test, outputs)
        if learner.kind == "multiclass" and len(data.input_shape) == 3:  # images: keep a grid of predictions to show
            _save_samples(learner, data, config, run_dir)
        if texts:  # the most confidently wrong ones
            _save_text_samples(learner, data, config, run_dir, outputs)
    elif learner.kind == "regression":
        from .evaluate import regression_metrics

        evaluation = regression_metrics(learner, data.test)
        test.setdefault("r2", evaluation["r2"])
    else:
        return test
    write_json(run_dir / "evaluation.json", {**evaluation, "eval_s": time.perf_counter() - start})
    return test


def _text_outputs(learner, dataset) -> torch.Tensor:
    """The eval model's outputs (N, classes) for a TextDataset, in its order, from batches of similar length."""
    from .models.seq2seq import evaluating
    from .text.data import pad_sequences

    model, sequences = learner.eval_model, dataset.sequences
    by_length = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))  # little padding per batch
    outputs: list = [None] * len(sequences)
    with evaluating(model), learner.device_autocast:  # eval mode, no gradients; the mode comes back after
        for start in range(0, len(by_length), 256):
            index = by_length[start:start + 256]
            tokens, lengths = pad_sequences([sequences[i] for i in index])  # (B, T), (B,)
            batch = model(tokens.to(learner.device), lengths.to(learner.device)).float().cpu()  # (B, classes)
            for i, out in zip(index, batch):
                outputs[i] = out
    return torch.stack(outputs)  # (N, classes) in dataset order


def _scores_of_outputs(learner, outputs: torch.Tensor, targets: torch.Tensor) -> dict:
    """What `Learner.evaluate` reports (loss and the learner's metrics), from outputs already computed."""
    from .train.metrics import EvalMetrics

    measured = EvalMetrics(learner.metric_names, learner.kind)
    measured.update(outputs, targets)
    scores = {"loss": float(learner.loss_fn(outputs, targets))} if learner.loss_fn is not None else {}
    return {k: v for k, v in {**scores, **measured.compute()}.items() if isinstance(v, float)}


def _classification_report(learner, data, config, test: dict, outputs: torch.Tensor | None = None) -> dict:
    """Confusion matrix, per-class table, ROC/PR curves, calibration and (binary) the tuned threshold.

    `outputs`: the test set's outputs when the caller has them (one pass of the model), else
    the metrics run the model themselves.
    """
    from .evaluate import classification_metrics, classification_metrics_from_outputs

    binary = learner.kind != "multiclass"
    bins = 1001 if binary else 201  # 201: ten classes' curves stay small
    if outputs is None:
        m = classification_metrics(learner, data.test, curve_bins=bins)
    else:
        m = classification_metrics_from_outputs(outputs, data.test.targets, task="binary" if binary else "multiclass",
                                                probabilities=learner.kind == "binary_probs", curve_bins=bins)
    classes = data.classes or [str(i) for i in range(m["num_classes"])]
    out = {k: m[k] for k in ("task", "num_samples", "num_classes", "accuracy", "auc", "average_precision", "ece", "reliability")}
    out["roc"] = {k: m["roc"][k] for k in ("fpr", "tpr")}
    out["pr_curve"] = {k: m["pr_curve"][k] for k in ("precision", "recall")}
    out.update(classes=classes, confusion_matrix=m["confusion_matrix"],
               per_class=[{"class": c, "precision": m["precision"]["per_class"][i], "recall": m["recall"]["per_class"][i],
                           "f1": m["f1"]["per_class"][i], "support": m["support"][i]} for i, c in enumerate(classes)])
    if binary and config.evaluate.threshold is not None:
        out["threshold"] = _tuned_threshold(learner, data, config)
    test.update({k: m[k] for k in ("auc", "average_precision", "ece") if isinstance(m.get(k), float)})
    return out


def _tuned_threshold(learner, data, config) -> dict:
    """Choose the threshold on the validation split, then report it on the test split (never tuned on test)."""
    from .evaluate import tune_threshold
    from .evaluate.threshold import _as_binary

    rule = config.evaluate.threshold
    source = data.val if data.val is not None else data.train
    chosen = tune_threshold(source.y, learner.predict_proba(source.x).reshape(-1), criterion=rule.criterion, target=rule.target)
    y_test, scores = _as_binary(data.test.y, learner.predict_proba(data.test.x).reshape(-1))
    on_test = tune_threshold(y_test, scores, criterion="f1")  # for its curves over every threshold
    predicted = scores >= chosen.threshold
    tp, fp = int((predicted & (y_test == 1)).sum()), int((predicted & (y_test == 0)).sum())
    fn, tn = int((~predicted & (y_test == 1)).sum()), int((~predicted & (y_test == 0)).sum())
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"threshold": chosen.threshold, "criterion": rule.criterion, "target": rule.target, "chosen_on": "validation",
            "validation": {"precision": chosen.precision, "recall": chosen.recall, "f1": chosen.f1},
            "precision": precision, "recall": recall, "f1": 2 * precision * recall / max(precision + recall, 1e-12),
            "confusion_matrix": [[tn, fp], [fn, tp]], "thresholds": on_test.thresholds.tolist(),
            "precisions": on_test.precisions.tolist(), "recalls": on_test.recalls.tolist(), "f1s": on_test.f1s.tolist()}


def _save_text_samples(learner, data, config, run_dir, outputs: torch.Tensor) -> None:
    """text_samples.json: the test texts the model got wrong with the most confidence, and a few right ones.

    `outputs` (N, classes): the model's outputs on the test texts, in test order.
    """
    if learner.kind == "multiclass":
        probs = outputs.softmax(-1)  # (N, K)
    else:
        p = outputs.reshape(-1).sigmoid() if learner.kind == "binary_logits" else outputs.reshape(-1)
        probs = torch.stack([1 - p, p], dim=1)  # (N, 2)
    confidence, predicted = probs.max(-1)
    y = data.test.targets.reshape(-1).long()
    wrong = (predicted != y).nonzero().squeeze(-1)
    worst = wrong[confidence[wrong].argsort(descending=True)[: config.report.wrong]].tolist()
    right = (predicted == y).nonzero().squeeze(-1)[: 3].tolist()

    def row(i):
        text = re.sub(r"<br\s*/?>", " ", data.test.texts[i])  # IMDB's HTML line breaks, shown as spaces
        return {"text": text[:2000], "label": data.classes[int(y[i])], "predicted": data.classes[int(predicted[i])],
                "confidence": float(confidence[i]), "tokens": len(data.test.sequences[i])}

    samples = {"wrong": [row(i) for i in worst], "right": [row(i) for i in right]}
    model = learner.eval_model
    if hasattr(model, "token_attention"):  # attention models: which words the last layer attended to
        shown = right[:2] + worst[:2]
        samples["attention"] = [{**_token_weights(model, data.tokenizer, data.test.sequences[i], learner.device),
                                 **{k: row(i)[k] for k in ("label", "predicted", "confidence")}} for i in shown]
    write_json(run_dir / "text_samples.json", samples)


def _token_weights(model, tokenizer, ids, device) -> dict:
    """{"tokens", "weights"}: one text's tokens (subword pieces inside a word end in "-") and the attention each received."""
    ids = torch.as_tensor(list(ids), dtype=torch.long)
    weights = model.token_attention(ids[None].to(device))[0].float().cpu()  # (seq,)
    tokens = []
    for piece in tokenizer.tokens(ids):
        if piece.endswith("</w>"):  # BPE marks the last piece of each word
            piece = piece[: -len("</w>")]
        elif getattr(tokenizer, "kind", None) == "bpe":
            piece += "-"
        tokens.append(piece)
    return {"tokens": tokens, "weights": [round(float(w), 6) for w in weights]}


def _save_samples(learner, data, config, run_dir) -> None:
    """The first test images with their probabilities, and the most confidently wrong ones."""
    from safetensors.torch import save

    from ._io import write_bytes

    x, y = data.test.x, data.test.y
    probs = learner.predict_proba(x)  # (N, K), the test set only: 10,000 x 10 floats for MNIST
    confidence, predicted = probs.max(-1)
    wrong = (predicted != y).nonzero().squeeze(-1)
    worst = wrong[confidence[wrong].argsort(descending=True)[: config.report.wrong]]
    first = torch.arange(min(config.report.samples, len(x)))
    tensors = {"images": data.denormalize(x[first]).float().contiguous(), "probs": probs[first].contiguous(),
               "labels": y[first].contiguous(), "wrong_images": data.denormalize(x[worst]).float().contiguous(),
               "wrong_probs": probs[worst].contiguous(), "wrong_labels": y[worst].contiguous()}
    write_bytes(run_dir / "samples.safetensors", save(tensors))
