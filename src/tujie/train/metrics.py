"""Metrics: a cheap running accuracy for the training loop, torchmetrics for evaluation.

During training the loop only reports running loss and accuracy, computed the way a
hand-written loop does (argmax, compare, count): a torchmetrics update costs ~70 us,
which would be 10% of a small model's step. Validation and test use torchmetrics
collections, streaming batch by batch, with the full set of requested metrics.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, closest

SCALAR_METRICS = ("accuracy", "top5_accuracy", "precision", "recall", "f1", "mse", "mae", "rmse")
TENSOR_METRICS = ("confusion_matrix", "per_class")
ALIASES = {"acc": "accuracy", "f1_score": "f1", "macro_f1": "f1", "top5": "top5_accuracy",
           "mean_squared_error": "mse", "mean_absolute_error": "mae"}


def normalize_names(names) -> list[str]:
    """Canonical metric names; unknown names raise a ConfigError with a suggestion.

    Example:
        >>> normalize_names(["acc", "f1"])
        ['accuracy', 'f1']
    """
    out = []
    for name in names or ():
        key = ALIASES.get(str(name).lower(), str(name).lower())
        if key not in SCALAR_METRICS + TENSOR_METRICS:
            raise ConfigError(f"Unknown metric {name!r}. {closest(key, SCALAR_METRICS + TENSOR_METRICS)}",
                              expected=f"some of {', '.join(SCALAR_METRICS + TENSOR_METRICS)}",
                              received=f"metrics={list(names)!r}", fix="Pick names from the list.")
        out.append(key)
    return out


CLASSIFICATION_ONLY = ("accuracy", "top5_accuracy", "precision", "recall", "f1", "confusion_matrix", "per_class")
REGRESSION_ONLY = ("mse", "mae", "rmse")


def check_fits_task(names, kind: str) -> None:
    """Refuse metrics that mean nothing for the task the loss implies (accuracy of a regression, MSE of class ids).

    Example:
        >>> check_fits_task(["mae"], "regression")
        >>> check_fits_task(["accuracy"], "regression")
        Traceback (most recent call last):
        ...
        tujie.errors.ConfigError: Metric 'accuracy' does not fit a regression task. Expected: ...
    """
    wrong = [n for n in names if (kind == "regression" and n in CLASSIFICATION_ONLY)
             or (kind in ("multiclass", "binary_logits", "binary_probs") and n in REGRESSION_ONLY)]
    if wrong:
        task = "regression" if kind == "regression" else "classification"
        valid = REGRESSION_ONLY if kind == "regression" else CLASSIFICATION_ONLY
        raise ConfigError(f"Metric {wrong[0]!r} does not fit a {task} task.",
                          expected=f"{task} metrics: {', '.join(valid)}",
                          received=f"metrics={list(names)!r} with a {task} loss",
                          fix="Pick metrics of the task, or change the loss if the task is not what you meant "
                              "(ROC/AUC and calibration of classifiers: tujie.evaluate.classification_metrics).")


def batch_accuracy(kind: str):
    """A function `(output, target) -> this batch's accuracy as a 0-d tensor`, or None if not a classifier.

    It does what the textbook loop does (argmax, compare, count), nothing more: this runs on
    every training step. The count stays on the device; the loop reads it with the loss, once
    every `Learner.sync_every` steps, instead of waiting for it with `.item()` at every step.
    """
    if kind == "multiclass":
        def accuracy(out, y):
            if y.ndim == out.ndim:  # (N, K) soft targets of mixup/cutmix: the dominant class; (N, 1) class ids
                y = y.argmax(-1) if y.is_floating_point() and y.shape[-1] > 1 else y.squeeze(-1)
            return (out.argmax(-1) == y).mean(dtype=torch.float32)  # one op for count-and-divide
        return accuracy
    if kind in ("binary_logits", "binary_probs"):
        threshold = 0.0 if kind == "binary_logits" else 0.5
        return lambda out, y: ((out > threshold) == (y.reshape(out.shape) > 0.5)).mean(dtype=torch.float32)
    return None


class EvalMetrics:
    """Streaming evaluation metrics over batches, built from torchmetrics on the first batch.

    Args:
        names: metric names (see SCALAR_METRICS and TENSOR_METRICS).
        kind: the task implied by the loss: "multiclass", "binary_logits", "binary_probs", "regression".

    Example:
        >>> m = EvalMetrics(["accuracy", "f1"], "multiclass")
        >>> m.update(torch.tensor([[2.0, 0.0], [0.0, 3.0]]), torch.tensor([0, 0]))
        >>> m.compute()["accuracy"]
        0.5
    """

    def __init__(self, names, kind: str):
        self.names, self.kind = normalize_names(names), kind
        self.metrics: dict | None = None

    def _build(self, out: torch.Tensor) -> dict:
        plain = _PLAIN.get(self.kind, {})
        if all(n in plain for n in self.names):  # the everyday metrics: no torchmetrics import (about 1 s) on a first validation
            return {n: plain[n]() for n in self.names}
        from torchmetrics import classification as C, regression as R  # imported on first use: keeps `import tujie` fast

        local = {"sync_on_compute": False}  # under torchrun each process evaluates the whole split: nothing to gather
        common = {"validate_args": False, **local}
        metrics = {}
        if self.kind == "multiclass":
            k = out.shape[-1]
            table = {"accuracy": lambda: C.MulticlassAccuracy(k, average="micro", **common),
                     "top5_accuracy": lambda: C.MulticlassAccuracy(k, top_k=min(5, k), average="micro", **common),
                     "precision": lambda: C.MulticlassPrecision(k, average="macro", **common),
                     "recall": lambda: C.MulticlassRecall(k, average="macro", **common),
                     "f1": lambda: C.MulticlassF1Score(k, average="macro", **common),
                     "confusion_matrix": lambda: C.MulticlassConfusionMatrix(k, **common)}
            if "per_class" in self.names:
                table.update({"per_class_precision": lambda: C.MulticlassPrecision(k, average="none", **common),
                              "per_class_recall": lambda: C.MulticlassRecall(k, average="none", **common),
                              "per_class_f1": lambda: C.MulticlassF1Score(k, average="none", **common),
                              "per_class_support": lambda: C.MulticlassStatScores(k, average="none", **common)})
        elif self.kind in ("binary_logits", "binary_probs"):
            table = {"accuracy": lambda: C.BinaryAccuracy(**common), "precision": lambda: C.BinaryPrecision(**common),
                     "recall": lambda: C.BinaryRecall(**common), "f1": lambda: C.BinaryF1Score(**common),
                     "confusion_matrix": lambda: C.BinaryConfusionMatrix(**common)}
        else:
            table = {"mse": lambda: R.MeanSquaredError(**local), "mae": lambda: R.MeanAbsoluteError(**local),
                     "rmse": lambda: R.MeanSquaredError(squared=False, **local)}
        wanted = [n for n in self.names if n != "per_class"] + [n for n in table if n.startswith("per_class_")]
        for name in wanted:
            if name in table:  # a metric that does not apply to the task (accuracy on regression) is skipped
                metrics[name] = table[name]().to(out.device)
        return metrics

    def update(self, out: torch.Tensor, y: torch.Tensor) -> None:
        if self.metrics is None:
            self.metrics = self._build(out)
        if self.kind == "multiclass":
            y = y.reshape(out.shape[:-1])
        elif self.kind == "binary_logits":  # sigmoid here: torchmetrics guesses logits only if values leave [0, 1]
            out, y = torch.sigmoid(out).reshape(-1), y.reshape(-1).long()
        elif self.kind == "binary_probs":
            out, y = out.reshape(-1), y.reshape(-1).long()
        else:
            out, y = out.reshape(-1), y.reshape(-1).to(out.dtype)
        for metric in self.metrics.values():
            metric.update(out, y)

    def compute(self) -> dict:
        """Scalars as floats; confusion matrices and per-class values as CPU tensors."""
        results = {}
        for name, metric in (self.metrics or {}).items():
            value = metric.compute()
            if name == "per_class_support":  # stat scores rows: (tp, fp, tn, fn, support)
                value = value[:, 4]
            results[name] = value.item() if value.ndim == 0 else value.detach().cpu()
        return results


class _StreamingMean:
    """The mean (or root mean) of a per-sample quantity over batches, in plain torch.

    Accuracy, MAE, MSE and RMSE are what every `fit` validates with; torchmetrics gives the
    same numbers (tested) but costs an import of about a second on the first validation.
    """

    def __init__(self, per_sample, root: bool = False):
        self.per_sample, self.root = per_sample, root
        self.total, self.count = None, 0

    def update(self, out: torch.Tensor, y: torch.Tensor) -> None:
        values = self.per_sample(out, y)
        self.total = values.sum() if self.total is None else self.total + values.sum()  # stays on the device
        self.count += values.numel()

    def compute(self) -> torch.Tensor:
        mean = self.total / max(self.count, 1) if self.total is not None else torch.tensor(0.0)
        return mean.sqrt() if self.root else mean


def _hits(out, y):  # multiclass: (N, K) scores and (N,) ids, or (N, T, K) and (N, T)
    return (out.argmax(-1) == y).float()


def _binary_hits(out, y):  # binary: probabilities (the sigmoid of logits is taken in update) and 0/1 targets
    return ((out > 0.5) == (y > 0.5)).float()


_PLAIN = {
    "multiclass": {"accuracy": lambda: _StreamingMean(_hits)},
    "binary_logits": {"accuracy": lambda: _StreamingMean(_binary_hits)},
    "binary_probs": {"accuracy": lambda: _StreamingMean(_binary_hits)},
    "regression": {"mae": lambda: _StreamingMean(lambda out, y: (out - y).abs()),
                   "mse": lambda: _StreamingMean(lambda out, y: (out - y).square()),
                   "rmse": lambda: _StreamingMean(lambda out, y: (out - y).square(), root=True)},
}
