"""Classification metrics over a whole dataset, streamed batch by batch with bounded memory.

Accuracy, precision/recall/F1 (per class and macro/micro/weighted averages), the
confusion matrix, ROC and precision-recall curves with their areas, and calibration
(expected calibration error and the reliability diagram's bins), as in the textbook's
chapter on evaluating classifiers. Everything is built on torchmetrics, and no metric
keeps the model's outputs: the curves use a fixed grid of `curve_bins` thresholds (one
2x2 count table per threshold and class), so memory does not grow with the dataset.
The price is that curve areas are exact only up to that grid: with the default 1001
thresholds, AUC and average precision agree with scikit-learn's exact values to about
1e-3 (the tests check 2e-3).
"""

from __future__ import annotations

import math

import torch

from ..errors import ConfigError, DataError
from ._common import model_outputs, resolve_model, to_python

CURVE_CHUNK_ELEMENTS = 1 << 20  # samples x classes x thresholds per curve update (~4 MB of float32)
CALIBRATION_BINS = 15  # the number of bins of Guo et al. (2017), "On Calibration of Modern Neural Networks"


class CalibrationBins:
    """Streaming reliability diagram: per confidence bin, the count, mean confidence and accuracy.

    For a multi-class model the confidence is the top class's probability and "accuracy"
    whether that class was right; for a binary model the confidence is the probability of
    the positive class and "accuracy" the fraction of positives (the usual binary
    reliability diagram, as in torchmetrics' BinaryCalibrationError). Bins are
    `[0, 1/n), [1/n, 2/n), ..., [(n-1)/n, 1]`.

    Args:
        n_bins: number of equal-width bins on [0, 1].

    Example:
        >>> bins = CalibrationBins(n_bins=2)
        >>> bins.update(torch.tensor([0.2, 0.9, 0.8]), torch.tensor([0.0, 1.0, 0.0]))
        >>> round(bins.compute()["ece"], 6)  # (|0.2 - 0| + 2 * |0.85 - 0.5|) / 3
        0.3
    """

    def __init__(self, n_bins: int = CALIBRATION_BINS):
        self.n_bins = n_bins
        self.count = torch.zeros(n_bins, dtype=torch.float64)
        self.confidence_sum = torch.zeros(n_bins, dtype=torch.float64)
        self.accuracy_sum = torch.zeros(n_bins, dtype=torch.float64)

    def update(self, confidence: torch.Tensor, correct: torch.Tensor) -> None:
        confidence = confidence.detach().reshape(-1).double().cpu()  # (N,)
        correct = correct.detach().reshape(-1).double().cpu()  # (N,)
        index = (confidence * self.n_bins).long().clamp_(0, self.n_bins - 1)  # (N,) bin of each sample
        self.count.index_add_(0, index, torch.ones_like(confidence))
        self.confidence_sum.index_add_(0, index, confidence)
        self.accuracy_sum.index_add_(0, index, correct)

    def compute(self) -> dict:
        """`{"ece", "mce", "bin_edges", "count", "confidence", "accuracy"}`; empty bins have NaN means."""
        filled = self.count > 0
        confidence = torch.where(filled, self.confidence_sum / self.count.clamp(min=1), torch.nan)
        accuracy = torch.where(filled, self.accuracy_sum / self.count.clamp(min=1), torch.nan)
        gap = (accuracy - confidence).abs()[filled]
        weight = self.count[filled] / self.count.sum().clamp(min=1)
        return {"ece": float((weight * gap).sum()), "mce": float(gap.max()) if gap.numel() else math.nan,
                "bin_edges": torch.linspace(0, 1, self.n_bins + 1, dtype=torch.float64),
                "count": self.count.long(), "confidence": confidence, "accuracy": accuracy}


def classification_metrics(model_or_learner, data, *, batch_size: int = 1024, task: str | None = None,
                           num_classes: int | None = None, curve_bins: int = 1001) -> dict:
    """Every standard classification metric of a model on a dataset, streamed batch by batch.

    Args:
        model_or_learner: a `tujie.Learner` (its device and loss decide the task) or an
            `nn.Module` returning logits, in which case `task` is required.
        data: an `(x, y)` tuple, an `ArrayDataset` with targets, or a DataLoader of `(x, y)` batches.
        batch_size: samples per forward pass (tuples and ArrayDatasets; a DataLoader keeps its own).
        task: "binary" (one logit per sample, output (N,) or (N, 1)) or "multiclass"
            (one logit per class, output (N, C)); overrides a Learner's own.
        num_classes: checked against the model's output width (multiclass).
        curve_bins: thresholds of the ROC and precision-recall curves (a fixed grid on [0, 1]).

    Returns:
        A dict: "task", "num_samples", "num_classes", "accuracy", "top5_accuracy" (multiclass with
        more than 5 classes), "precision" / "recall" / "f1" (each a dict with "per_class",
        "macro", "micro", "weighted", and "positive" for binary), "support", "confusion_matrix"
        (rows: true class, columns: predicted class), "roc" ({"fpr", "tpr", "thresholds"};
        per class rows for multiclass, one-vs-rest), "auc" (one-vs-rest macro for multiclass),
        "pr_curve" ({"precision", "recall", "thresholds"}), "average_precision" (macro for
        multiclass), "ece" and "reliability" (the 15-bin reliability diagram, see `CalibrationBins`).
        Scalars are floats, arrays CPU tensors.

    Example:
        >>> model = torch.nn.Linear(4, 3)
        >>> x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
        >>> m = classification_metrics(model, (x, y), task="multiclass")
        >>> sorted(m["f1"]), m["confusion_matrix"].shape
        (['macro', 'micro', 'per_class', 'weighted'], torch.Size([3, 3]))
    """
    model, device, task, outputs_probs = resolve_model(model_or_learner, task, function="classification_metrics")
    if task is None:
        raise ConfigError("classification_metrics needs the task of a plain nn.Module.",
                          expected='task="binary" (one logit per sample) or task="multiclass" (one logit per class)',
                          received="task=None", fix='Pass task="multiclass", or pass a tujie.Learner.')
    if task == "regression":
        raise ConfigError("Classification metrics (accuracy, ROC/AUC, precision-recall, calibration) "
                          "were asked of a regression model.", expected="a binary or multi-class classifier",
                          received="a model whose task is regression",
                          fix="Call tujie.evaluate.regression_metrics(model, data) for MSE, MAE and R².")
    return _streamed_metrics(model_outputs(model, device, data, batch_size), task, outputs_probs, num_classes, curve_bins)


def classification_metrics_from_outputs(outputs: torch.Tensor, y: torch.Tensor, *, task: str, probabilities: bool = False,
                                        num_classes: int | None = None, curve_bins: int = 1001,
                                        batch_size: int = 4096) -> dict:
    """`classification_metrics` of outputs already computed, as scikit-learn's metrics take (y_true, y_score).

    For a run that needs the outputs anyway (to show the most confidently wrong samples, say):
    one pass of the model then feeds every metric.

    Args:
        outputs: (N, C) logits for "multiclass"; (N,) or (N, 1) logits for "binary", or
            probabilities with probabilities=True.
        y: (N,) integer labels (0/1 for binary).
        task, num_classes, curve_bins: as `classification_metrics`.
        batch_size: samples per update of the streamed metrics (bounds their scratch memory).

    Example:
        >>> logits, y = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0]]), torch.tensor([0, 1, 1])
        >>> round(classification_metrics_from_outputs(logits, y, task="multiclass")["accuracy"], 4)
        0.6667
    """
    if task not in ("binary", "multiclass"):
        raise ConfigError("Invalid value received for `task`.", expected='"binary" or "multiclass"', received=f"task={task!r}",
                          fix='Pass task="multiclass" for one logit per class, task="binary" for one score per sample.')
    if len(outputs) != len(y):
        raise DataError("The outputs and the targets differ in length.", expected="one output per target",
                        received=f"{len(outputs)} outputs and {len(y)} targets", fix="Pass the outputs of the same samples as y.")
    chunks = ((outputs[i:i + batch_size], y[i:i + batch_size].to(outputs.device)) for i in range(0, len(y), batch_size))
    return _streamed_metrics(chunks, task, probabilities, num_classes, curve_bins)


def _streamed_metrics(batches, task: str, outputs_probs: bool, num_classes: int | None, curve_bins: int) -> dict:
    """The metrics of an iterable of (output, y) batches, updated one batch at a time."""
    if isinstance(curve_bins, bool) or not isinstance(curve_bins, int) or curve_bins < 2:
        raise ConfigError("Invalid value received for `curve_bins`.", expected="an integer >= 2",
                          received=f"curve_bins={curve_bins!r}", fix="Pass curve_bins=1001, for example.")
    state, calibration, seen = None, CalibrationBins(), 0
    for output, y in batches:
        probs, labels = _probabilities(output, y, task, outputs_probs, num_classes)  # (N,) or (N, C); (N,)
        if state is None:
            k = 2 if task == "binary" else probs.shape[-1]
            state = _build(task, k, curve_bins, probs.device)
        _update(state, task, probs, labels, calibration)
        seen += len(labels)
    if state is None or seen == 0:
        raise DataError("The evaluation data are empty.", expected="at least one sample",
                        received="0 samples", fix="Pass the test set, e.g. (x_test, y_test).")
    results = _compute(state, task)
    reliability = calibration.compute()
    results.update({"task": task, "num_samples": seen, "ece": reliability.pop("ece"), "reliability": reliability})
    return results


def _probabilities(output, y, task, outputs_probs, num_classes):
    """The model's probabilities and integer labels of one batch, checked against the task."""
    if task == "binary":
        if output.ndim > 2 or (output.ndim == 2 and output.shape[-1] != 1):
            raise DataError("A binary classifier must return one score per sample.",
                            expected="output of shape (N,) or (N, 1)", received=f"output of shape {tuple(output.shape)}",
                            fix='Pass task="multiclass" for a model with one logit per class.')
        probs = output.reshape(-1).float()  # (N,)
        probs = probs if outputs_probs else probs.sigmoid()
        labels = y.reshape(-1)
        if labels.is_floating_point():
            labels = labels.round()
        labels = labels.long()  # (N,)
        k = 2
    else:
        if output.ndim != 2:
            raise DataError("A multi-class classifier must return one logit per class.",
                            expected="output of shape (N, C)", received=f"output of shape {tuple(output.shape)}",
                            fix='Pass task="binary" for a model with a single logit.')
        k = output.shape[-1]
        if num_classes is not None and num_classes != k:
            raise DataError("The model's output width differs from `num_classes`.", expected=f"{num_classes} logits per sample",
                            received=f"output of shape {tuple(output.shape)}", fix="Pass the num_classes the model was built with.")
        probs = output.float().softmax(-1)  # (N, C)
        labels = y.reshape(len(output)).long()  # (N,)
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= k):
        raise DataError("A target is not a class id of this classifier.", expected=f"integer labels in 0..{k - 1}",
                        received=f"labels from {int(labels.min())} to {int(labels.max())}",
                        fix="Encode the targets as 0..C-1 (0/1 for binary).")
    return probs, labels


def _build(task: str, k: int, bins: int, device) -> dict:
    from torchmetrics import MetricCollection
    from torchmetrics import classification as C  # lazy: keeps `import tujie.evaluate` cheap

    common = {"validate_args": False, "sync_on_compute": False}  # under torchrun only rank 0 tests: nothing to gather
    hard = {"accuracy": C.MulticlassAccuracy(k, average="micro", **common),
            "confusion_matrix": C.MulticlassConfusionMatrix(k, **common)}
    for name, cls in (("precision", C.MulticlassPrecision), ("recall", C.MulticlassRecall), ("f1", C.MulticlassF1Score)):
        for average in ("none", "macro", "micro", "weighted"):
            hard[f"{name}_{average}"] = cls(k, average=average, **common)
    scored = {}
    if task == "multiclass":
        if k > 5:
            scored["top5_accuracy"] = C.MulticlassAccuracy(k, top_k=5, average="micro", **common)
        scored.update(roc=C.MulticlassROC(k, thresholds=bins, **common),
                      auc=C.MulticlassAUROC(k, average="macro", thresholds=bins, **common),
                      pr_curve=C.MulticlassPrecisionRecallCurve(k, thresholds=bins, **common),
                      average_precision=C.MulticlassAveragePrecision(k, average="macro", thresholds=bins, **common))
    else:
        scored.update(roc=C.BinaryROC(thresholds=bins, **common), auc=C.BinaryAUROC(thresholds=bins, **common),
                      pr_curve=C.BinaryPrecisionRecallCurve(thresholds=bins, **common),
                      average_precision=C.BinaryAveragePrecision(thresholds=bins, **common))
    # compute groups: metrics with the same state (the 12 stat-score metrics, the 4 curve metrics) share one update
    return {"hard": MetricCollection(hard).to(device), "scored": MetricCollection(scored).to(device), "bins": bins}


def _update(state: dict, task: str, probs, labels, calibration: CalibrationBins) -> None:
    if task == "binary":
        predicted = (probs > 0.5).long()  # (N,) the 0.5 threshold of torchmetrics and of a plain `predict`
        calibration.update(probs, labels)
    else:
        confidence, predicted = probs.max(-1)  # (N,), (N,)
        calibration.update(confidence, predicted == labels)
    state["hard"].update(predicted, labels)
    # the binned curve update builds a (samples, classes, thresholds) tensor: ~150 MB for 1024 x 10 x 1001.
    # Feeding it in slices keeps the working set a few MB whatever the batch size (the counts are the same).
    step = max(1, CURVE_CHUNK_ELEMENTS // (probs[0].numel() * state["bins"]))
    for start in range(0, len(labels), step):
        state["scored"].update(probs[start:start + step], labels[start:start + step])


def _compute(state: dict, task: str) -> dict:
    hard = {k: v.detach().cpu() for k, v in state["hard"].compute().items()}
    scored = state["scored"].compute()
    matrix = hard["confusion_matrix"].long()  # (C, C) rows: true class
    results = {"num_classes": matrix.shape[0], "accuracy": hard["accuracy"].item(), "confusion_matrix": matrix,
               "support": matrix.sum(1)}
    for name in ("precision", "recall", "f1"):
        results[name] = {"per_class": hard[f"{name}_none"], "macro": hard[f"{name}_macro"].item(),
                         "micro": hard[f"{name}_micro"].item(), "weighted": hard[f"{name}_weighted"].item()}
        if task == "binary":
            results[name]["positive"] = hard[f"{name}_none"][1].item()
    if "top5_accuracy" in scored:
        results["top5_accuracy"] = scored["top5_accuracy"].item()
    fpr, tpr, thresholds = scored["roc"]
    results["roc"] = {"fpr": fpr, "tpr": tpr, "thresholds": thresholds}
    precision, recall, thresholds = scored["pr_curve"]
    results["pr_curve"] = {"precision": precision, "recall": recall, "thresholds": thresholds}
    results["auc"] = scored["auc"]
    results["average_precision"] = scored["average_precision"]
    return to_python(results)
