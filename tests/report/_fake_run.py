"""Write a small synthetic run directory in the format the training runner produces.

Used by the report tests (and reusable by any test that needs a finished run on disk
without training one). The data are random but seeded, so every call writes the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CLASSIFICATION_FILES = ("config.yaml", "metrics.jsonl", "summary.json", "evaluation.json",
                        "samples.safetensors")
# Written only when asked for (see write_fake_run's keyword arguments).
OPTIONAL_FILES = ("schedule.json", "grad_stats.jsonl", "cv.json", "ensemble.json", "lab.json")


def write_fake_run(folder, *, recipe: str = "mnist-mlp", run_name: str = "2024-05-01_1403",
                   epochs: int = 3, num_classes: int = 10, n_images: int = 15, n_wrong: int = 10,
                   image_shape=(1, 28, 28), task: str = "classification", skip=(),
                   summary_overrides: dict | None = None, config_extra: str = "",
                   seed: int = 0, schedule: bool = False, grad_norms: bool = False,
                   grad_layers: int = 0, curves: bool = False, threshold: bool = False,
                   regression_evaluation: bool = False, cv: bool = False, ensemble: bool = False,
                   lab: bool = False) -> Path:
    """Write config.yaml, metrics.jsonl, summary.json and (classification) evaluation.json and
    samples.safetensors into `folder`, leaving out the file names listed in `skip`.

    The keyword arguments after `seed` add the optional pieces (all off by default, so the
    default run is the plain MNIST-like one).

    Args:
        folder: where to write (created if needed).
        recipe, run_name: the names shown in the report header.
        epochs: lines in metrics.jsonl.
        num_classes: K, for the confusion matrix, per-class table and probabilities.
        n_images: test examples in samples.safetensors; n_wrong: confidently wrong ones.
        image_shape: (C, H, W) of each image.
        task: "classification" or e.g. "regression" (no evaluation or samples then).
        skip: file names not to write.
        summary_overrides: keys replacing those of summary.json.
        config_extra: YAML text appended to config.yaml.
        seed: for the random data.
        schedule: write schedule.json (linear warm-up, then cosine decay; 50 steps per epoch).
        grad_norms: add `grad_norm` and `grad_norm_max` to every metrics.jsonl record.
        grad_layers: write grad_stats.jsonl with this many parameter groups (0: none); the
            norms shrink towards the first layer, as with vanishing gradients.
        curves: add "task", ROC, precision-recall and calibration to evaluation.json (binary
            when num_classes == 2, one-vs-rest otherwise).
        threshold: add a tuned decision threshold (binary runs: num_classes == 2).
        regression_evaluation: a regression run writes evaluation.json with its metrics and
            [true, predicted] pairs.
        cv, ensemble, lab: write cv.json, ensemble.json, lab.json.

    Returns:
        The folder.

    Example:
        >>> write_fake_run(tmp_path / "run", epochs=2, skip=("samples.safetensors",))  # doctest: +SKIP
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    classes = [str(i) for i in range(num_classes)]
    regression = task != "classification"
    files: dict[str, object] = {}

    files["config.yaml"] = (f"recipe: {recipe}\ntask: {task}\nmodel:\n  name: mlp\n  hidden: [128, 64]\n"
                            f"training:\n  epochs: {epochs}\n  batch_size: 32\n  optimizer: adam\n"
                            f"  lr: 0.001\n" + config_extra)
    history = []
    for epoch in range(1, epochs + 1):
        record = {"epoch": epoch, "loss": 0.6 / epoch, "val_loss": 0.5 / epoch + 0.02,
                  "lr": 0.001 * 0.5 ** (epoch - 1), "epoch_time_s": 1.9, "samples_per_s": 25000}
        if grad_norms:
            record.update({"grad_norm": 3.0 / epoch, "grad_norm_max": 12.0 / epoch})
        if regression:
            record.update({"mae": 0.4 / epoch, "val_mae": 0.45 / epoch})
        else:
            record.update({"accuracy": 1 - 0.1 / epoch, "val_accuracy": 1 - 0.08 / epoch})
        history.append(record)
    files["metrics.jsonl"] = "".join(json.dumps(r) + "\n" for r in history)

    test = ({"loss": 0.05, "mae": 0.12, "mse": 0.03} if regression else
            {"loss": 0.08, "accuracy": 0.975, "precision": 0.974, "recall": 0.973, "f1": 0.9735})
    summary = {
        "recipe": recipe, "run_name": run_name, "task": task, "test": test,
        "timings": {"total_s": 75.3, "train_s": 70.1, "epoch_s": [1.9] * epochs, "samples_per_s": 25000.0},
        "environment": {"python": "3.11.2", "torch": "2.13.0", "tujie": "0.1.0", "device": "cpu",
                        "threads": 16},
        "model": {"name": "Sequential", "layers": [
            {"name": "flatten", "type": "Flatten", "output_shape": [32, 784], "params": 0, "trainable": True},
            {"name": "dense", "type": "Dense", "output_shape": [32, 128], "params": 100480, "trainable": True},
            {"name": "dense_1", "type": "Dense", "output_shape": [32, 64], "params": 8256, "trainable": False},
            {"name": "dense_2", "type": "Dense", "output_shape": [32, num_classes],
             "params": 65 * num_classes, "trainable": True}],
            "total_params": 108736 + 65 * num_classes, "trainable_params": 100480 + 65 * num_classes},
        "best_epoch": epochs, "stopped_early": False, "stop_reason": None, "status": "finished",
        "started": "2024-05-01T14:03:00", "finished": "2024-05-01T14:04:15",
    }
    summary.update(summary_overrides or {})
    files["summary.json"] = json.dumps(summary, indent=2)

    if regression and regression_evaluation:
        true = rng.normal(2.0, 1.0, size=300)
        predicted = true + rng.normal(0.05, 0.3, size=300)
        errors = predicted - true
        files["evaluation.json"] = json.dumps({
            "task": "regression", "mse": float((errors ** 2).mean()),
            "rmse": float(np.sqrt((errors ** 2).mean())), "mae": float(np.abs(errors).mean()),
            "r2": float(1 - (errors ** 2).sum() / ((true - true.mean()) ** 2).sum()), "num_samples": 300,
            "pairs": np.stack([true, predicted], axis=1).round(4).tolist()})

    if not regression:
        matrix = rng.integers(0, 4, size=(num_classes, num_classes))
        np.fill_diagonal(matrix, rng.integers(80, 120, size=num_classes))
        per_class = []
        for k, name in enumerate(classes):
            precision = float(matrix[k, k] / matrix[:, k].sum())
            recall = float(matrix[k, k] / matrix[k].sum())
            per_class.append({"class": name, "precision": precision, "recall": recall,
                              "f1": 2 * precision * recall / (precision + recall),
                              "support": int(matrix[k].sum())})
        evaluation = {"classes": classes, "confusion_matrix": matrix.tolist(), "per_class": per_class}
        if curves or threshold:
            evaluation.update(_classifier_curves(rng, num_classes, with_threshold=threshold))
        files["evaluation.json"] = json.dumps(evaluation)

        def examples(n, wrong):
            images = rng.random((n, *image_shape), dtype=np.float32)  # (N, C, H, W)
            labels = rng.integers(0, num_classes, size=n).astype(np.int64)
            logits = rng.normal(size=(n, num_classes)).astype(np.float32)
            target = (labels + 1) % num_classes if wrong else labels
            logits[np.arange(n), target] += 4.0
            probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # (N, K)
            return images, probs.astype(np.float32), labels

        from safetensors.numpy import save_file

        images, probs, labels = examples(n_images, wrong=False)
        tensors = {"images": images, "probs": probs, "labels": labels}
        if n_wrong:
            images, probs, labels = examples(n_wrong, wrong=True)
            tensors.update({"wrong_images": images, "wrong_probs": probs, "wrong_labels": labels})
        if "samples.safetensors" not in skip:
            save_file(tensors, str(folder / "samples.safetensors"))

    if schedule:
        files["schedule.json"] = json.dumps(_schedule(epochs, steps_per_epoch=50))
    if grad_layers:
        files["grad_stats.jsonl"] = _grad_stats(rng, grad_layers, epochs, steps_per_epoch=50)
    if cv:
        files["cv.json"] = json.dumps(_cross_validation(rng))
    if ensemble:
        files["ensemble.json"] = json.dumps(_ensemble(rng))
    if lab:
        files["lab.json"] = json.dumps(_lab(epochs=max(epochs, 4)))

    for name, text in files.items():
        if name not in skip:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def _schedule(epochs: int, steps_per_epoch: int) -> dict:
    """Linear warm-up over the first epoch, then cosine decay from 0.1 to 1e-4."""
    total = epochs * steps_per_epoch
    steps = list(range(0, total, max(1, total // 400)))
    lr = [0.1 * (s + 1) / steps_per_epoch if s < steps_per_epoch else
          1e-4 + 0.5 * (0.1 - 1e-4) * (1 + np.cos(np.pi * (s - steps_per_epoch) / max(total - steps_per_epoch, 1)))
          for s in steps]
    return {"step": steps, "lr": [float(v) for v in lr], "steps_per_epoch": steps_per_epoch}


def _grad_stats(rng, layers: int, epochs: int, steps_per_epoch: int) -> str:
    names = [f"{i // 2 * 2}.{'weight' if i % 2 == 0 else 'bias'}" for i in range(layers)]
    lines = []
    for step in range(0, epochs * steps_per_epoch, 10):
        norms = {name: {"grad_norm": float(0.5 ** (layers - i) * 2 * np.exp(-step / 200) * rng.uniform(0.8, 1.2)),
                        "weight_norm": float(5.0 + i)} for i, name in enumerate(names)}
        lines.append(json.dumps({"step": step, "epoch": step / steps_per_epoch, "layers": norms}))
    return "".join(line + "\n" for line in lines)


def _classifier_curves(rng, num_classes: int, with_threshold: bool) -> dict:
    """ROC, precision-recall, calibration (and a tuned threshold) of simulated scores, as the
    runner writes them into evaluation.json: flat lists for binary, per-class lists otherwise."""
    grid = np.linspace(0.0, 1.0, 101)  # (T,) thresholds
    n = 1000
    binary = num_classes == 2
    labels = (rng.random(n) < 0.3).astype(int) if binary else rng.integers(0, num_classes, n)
    logits = rng.normal(size=(n, num_classes))  # (N, K)
    logits[np.arange(n), labels] += 2.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # (N, K)

    def curve(scores, positive):
        flagged = scores[None, :] >= grid[:, None]  # (T, N)
        tp = (flagged & positive).sum(1)
        fp = (flagged & ~positive).sum(1)
        fn = positive.sum() - tp
        tn = (~positive).sum() - fp
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 1.0)
        recall = tp / max(positive.sum(), 1)
        return fp / max((~positive).sum(), 1), recall, precision, (tn, fp, fn, tp)

    def area(x, y):
        order = np.argsort(x)
        x, y = np.asarray(x)[order], np.asarray(y)[order]
        return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))

    columns = [1] if binary else range(num_classes)
    results = [curve(probs[:, k], labels == k) for k in columns]
    aucs = [area(fpr, tpr) for fpr, tpr, _, _ in results]
    aps = [float(-np.sum(np.diff(recall) * precision[:-1])) for _, recall, precision, _ in results]

    def flat(values):
        return [round(float(v), 5) for v in values]

    if binary:
        fpr, tpr, precision, _ = results[0]
        roc, pr = {"fpr": flat(fpr), "tpr": flat(tpr)}, {"precision": flat(precision), "recall": flat(tpr)}
        confidence, correct = probs[:, 1], labels == 1
    else:
        roc = {"fpr": [flat(r[0]) for r in results], "tpr": [flat(r[1]) for r in results]}
        pr = {"precision": [flat(r[2]) for r in results], "recall": [flat(r[1]) for r in results]}
        confidence, correct = probs.max(1), probs.argmax(1) == labels
    edges = np.linspace(0, 1, 16)
    index = np.clip((confidence * 15).astype(int), 0, 14)
    count = np.bincount(index, minlength=15)
    mean_conf = [float(confidence[index == b].mean()) if count[b] else float("nan") for b in range(15)]
    accuracy = [float(correct[index == b].mean()) if count[b] else None for b in range(15)]
    ece = sum(count[b] / n * abs(mean_conf[b] - accuracy[b]) for b in range(15) if count[b])
    out = {"task": "binary" if binary else "multiclass", "roc": roc, "auc": float(np.mean(aucs)),
           "pr_curve": pr, "average_precision": float(np.mean(aps)), "ece": float(ece),
           # empty bins: NaN in "confidence", null in "accuracy" (the contract allows both)
           "reliability": {"bin_edges": flat(edges), "count": count.tolist(), "confidence": mean_conf,
                           "accuracy": accuracy}}
    if with_threshold and binary:
        _, recall, precision, (tn, fp, fn, tp) = results[0]
        f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
        chosen = int(np.nonzero(recall >= 0.95)[0].max())  # the highest threshold keeping recall >= 0.95
        out["threshold"] = {
            "threshold": float(grid[chosen]), "precision": float(precision[chosen]),
            "recall": float(recall[chosen]), "f1": float(f1[chosen]),
            "confusion_matrix": [[int(tn[chosen]), int(fp[chosen])], [int(fn[chosen]), int(tp[chosen])]],
            "criterion": "recall", "target": 0.95, "thresholds": flat(grid), "precisions": flat(precision),
            "recalls": flat(recall), "f1s": flat(f1)}
    return out


def _cross_validation(rng, k: int = 5) -> dict:
    folds = [{"accuracy": float(0.96 + 0.01 * rng.standard_normal()), "loss": float(0.12 + 0.02 * rng.random())}
             for _ in range(k)]
    mean = {m: float(np.mean([f[m] for f in folds])) for m in ("accuracy", "loss")}
    std = {m: float(np.std([f[m] for f in folds], ddof=1)) for m in ("accuracy", "loss")}
    return {"k": k, "stratified": True, "folds": folds, "fold_sizes": [[800, 200]] * k, "mean": mean, "std": std}


def _ensemble(rng, members: int = 5) -> dict:
    scores = [{"name": f"member {i + 1}", "accuracy": float(0.95 + 0.01 * rng.random()),
               "loss": float(0.15 + 0.03 * rng.random())} for i in range(members)]
    return {"method": "average", "metric": "accuracy", "members": scores,
            "ensemble": {"accuracy": 0.972, "loss": 0.11}}


def _lab(epochs: int) -> dict:
    def history(train_top, val_top, stop=None):
        last = stop or epochs
        return [{"epoch": e, "loss": 1.0 / e, "accuracy": train_top - 0.3 / e, "val_loss": 1.1 / e + 0.02 * e,
                 "val_accuracy": val_top - 0.25 / e} for e in range(1, last + 1)]

    variants = [("baseline", "no regularisation", 0.99, 0.80, None),
                ("dropout", "dropout 0.5 after each hidden layer", 0.93, 0.86, None),
                ("weight decay", "L2 penalty 1e-3", 0.95, 0.84, None),
                ("early stopping", "stop when val_loss stops improving (patience 2)", 0.9, 0.83, 3)]
    out = []
    for name, description, train, test, stop in variants:
        out.append({"name": name, "description": description, "history": history(train, test, stop),
                    "train_accuracy": train, "test_accuracy": test, "gap": round(train - test, 4),
                    "best_epoch": (stop - 1) if stop else None, "stopped_epoch": stop})
    return {"train_size": 1000, "test_size": 10000, "epochs": epochs, "variants": out}
