"""Choosing the decision threshold of a binary classifier, and the picture of the trade-off.

A classifier's scores become decisions only at a threshold, and 0.5 is rarely the right
one: in the textbook's medical-diagnosis example a missed illness (a false negative)
costs far more than a false alarm, so we take the highest threshold that still finds,
say, 95% of the ill (recall >= 0.95). `tune_threshold` sweeps every distinct score
exactly (no binning: it sorts the scores once) and picks the threshold by a criterion.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError, DataError

CRITERIA = ("f1", "recall", "precision")


@dataclass
class ThresholdResult:
    """The chosen threshold, the scores it gives, and the whole curve it was chosen from.

    A sample is predicted positive when `score >= threshold`. `confusion_matrix` is
    `[[tn, fp], [fn, tp]]` (rows: true class, as in scikit-learn). The curve tensors hold one
    entry per distinct score, thresholds in decreasing order.
    """

    threshold: float
    precision: float
    recall: float
    f1: float
    confusion_matrix: torch.Tensor  # (2, 2)
    criterion: str
    target: float | None
    thresholds: torch.Tensor  # (T,)
    precisions: torch.Tensor  # (T,)
    recalls: torch.Tensor  # (T,)
    f1s: torch.Tensor  # (T,)


def tune_threshold(y_true, scores, *, criterion: str = "f1", target: float | None = None) -> ThresholdResult:
    """The decision threshold of a binary classifier that best meets a criterion.

    Args:
        y_true: 0/1 labels, shape (N,) (tensor, array or list).
        scores: one score per sample, shape (N,) or (N, 1): probabilities or logits (any
            monotone score works; the threshold is on the same scale).
        criterion: "f1": the threshold of maximal F1; "recall": the highest threshold whose
            recall >= target (when missing a positive is costly); "precision": the lowest
            threshold whose precision >= target (when a false alarm is costly).
        target: the recall or precision to reach, in (0, 1]; required for those criteria.

    Returns:
        A `ThresholdResult`.

    Example:
        >>> y = torch.tensor([0, 0, 1, 1, 0, 1])
        >>> s = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.7, 0.9])
        >>> r = tune_threshold(y, s, criterion="recall", target=1.0)
        >>> round(r.threshold, 6), r.recall, round(r.precision, 3)
        (0.35, 1.0, 0.6)
        >>> r.confusion_matrix.tolist()
        [[1, 2], [0, 3]]
    """
    y, s = _as_binary(y_true, scores)
    if criterion not in CRITERIA:
        raise ConfigError("Invalid value received for `criterion`.", expected=f"one of {', '.join(map(repr, CRITERIA))}",
                          received=f"criterion={criterion!r}", fix='Pass criterion="f1", or "recall" with target=0.95.')
    if criterion == "f1":
        if target is not None:
            raise ConfigError('criterion="f1" takes no target.', expected="target=None",
                              received=f"target={target!r}", fix='Drop target, or pass criterion="recall" or "precision".')
    elif isinstance(target, bool) or not isinstance(target, (int, float)) or not 0.0 < float(target) <= 1.0:
        raise ConfigError(f'criterion="{criterion}" needs a target {criterion}.', expected="a number in (0, 1]",
                          received=f"target={target!r}", fix=f'Pass target=0.95, for example: tune_threshold(y, scores, criterion="{criterion}", target=0.95).')

    order = torch.argsort(s, descending=True, stable=True)
    s_sorted, y_sorted = s[order], y[order]  # (N,), (N,)
    # the last position of each run of equal scores: the threshold "score >= t" takes the whole run
    last = torch.nonzero(torch.diff(s_sorted) != 0).reshape(-1)
    last = torch.cat([last, torch.tensor([len(s_sorted) - 1])])  # (T,)
    tp = torch.cumsum(y_sorted, 0)[last].double()  # (T,) true positives at each threshold
    fp = (last + 1).double() - tp  # (T,)
    positives, negatives = float(y.sum()), float(len(y) - y.sum())
    thresholds = s_sorted[last]
    precisions = tp / (tp + fp)
    recalls = tp / positives
    f1s = torch.where(tp > 0, 2 * tp / (2 * tp + fp + (positives - tp)), torch.zeros_like(tp))

    if criterion == "f1":
        i = int(torch.argmax(f1s))  # the first (highest) threshold among equal maxima
    elif criterion == "recall":
        reached = torch.nonzero(recalls >= target - 1e-12).reshape(-1)  # recall only grows as t falls
        i = int(reached[0])
    else:
        reached = torch.nonzero(precisions >= target - 1e-12).reshape(-1)
        if reached.numel() == 0:
            raise ConfigError(f"No threshold reaches precision >= {target}.",
                              expected=f"a target at most the best precision this classifier reaches ({float(precisions.max()):.4f})",
                              received=f"target={target!r}",
                              fix="Lower the target, or improve the classifier (more data, a better model).")
        i = int(reached[-1])  # the lowest such threshold: the most recall for that precision
    tp_i, fp_i = int(tp[i]), int(fp[i])
    matrix = torch.tensor([[int(negatives) - fp_i, fp_i], [int(positives) - tp_i, tp_i]])
    return ThresholdResult(threshold=float(thresholds[i]), precision=float(precisions[i]), recall=float(recalls[i]),
                           f1=float(f1s[i]), confusion_matrix=matrix, criterion=criterion,
                           target=None if target is None else float(target), thresholds=thresholds,
                           precisions=precisions, recalls=recalls, f1s=f1s)


def _as_binary(y_true, scores):
    """Labels as a 0/1 long tensor (N,) and scores as a float64 tensor (N,), checked."""
    s = torch.as_tensor(scores.detach() if torch.is_tensor(scores) else scores).cpu()
    if s.ndim == 2 and s.shape[1] > 1:
        raise ConfigError("Threshold tuning needs a binary classifier.",
                          expected="one score per sample, shape (N,) or (N, 1)",
                          received=f"scores of shape {tuple(s.shape)} (one column per class)",
                          fix="For a multi-class model pick one class and pass its one-vs-rest probability, "
                              "e.g. probs[:, k] with y_true == k; or use tujie.evaluate.classification_metrics.")
    if s.ndim > 2:
        raise ConfigError("Threshold tuning needs one score per sample.", expected="scores of shape (N,) or (N, 1)",
                          received=f"scores of shape {tuple(s.shape)}", fix="Pass the positive class's score per sample.")
    s = s.reshape(-1).double()
    y = torch.as_tensor(y_true.detach() if torch.is_tensor(y_true) else y_true).cpu().reshape(-1)
    if len(y) != len(s):
        raise DataError("Labels and scores have different numbers of samples.", expected="one score per label",
                        received=f"{len(y)} labels, {len(s)} scores", fix="Pass aligned y_true and scores.")
    if len(y) == 0:
        raise DataError("No samples to tune a threshold on.", expected="at least one sample", received="0 samples",
                        fix="Pass the validation set's labels and scores.")
    if not bool(((y == 0) | (y == 1)).all()):
        raise ConfigError("Threshold tuning needs a binary classifier.", expected="labels 0 and 1",
                          received=f"labels {sorted(set(y.tolist()))[:10]}", fix="Encode the positive class as 1 and the rest as 0.")
    if torch.isnan(s).any():
        raise DataError("Some scores are NaN.", expected="finite scores", received=f"{int(torch.isnan(s).sum())} NaN scores",
                        fix="Check the model's outputs for NaN before tuning.")
    y = y.long()
    if int(y.sum()) == 0:
        raise DataError("The labels contain no positive sample.", expected="at least one label 1",
                        received="all labels 0", fix="Tune on a validation set that contains positives.")
    return y, s


def plot_threshold_tradeoff(result: ThresholdResult) -> bytes:
    """Precision, recall and F1 against the threshold, with the chosen threshold marked, as PNG bytes.

    Example:
        >>> r = tune_threshold([0, 1, 1, 0], [0.2, 0.9, 0.6, 0.4])
        >>> plot_threshold_tradeoff(r)[:4]
        b'\\x89PNG'
    """
    from ..plots import (INK_COLOR, NEUTRAL_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, new_figure,
                                  figure_style, png_bytes)

    t = result.thresholds.numpy()
    with figure_style():
        fig = new_figure(5.2, 3.2)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(t, result.precisions.numpy(), color=TRAIN_COLOR, label="precision", drawstyle="steps-post")
        ax.plot(t, result.recalls.numpy(), color=VAL_COLOR, label="recall", drawstyle="steps-post")
        ax.plot(t, result.f1s.numpy(), color=NEUTRAL_COLOR, label="F1", drawstyle="steps-post")
        ax.axvline(result.threshold, color=WRONG_COLOR, linestyle="--", linewidth=1,
                   label=f"threshold {result.threshold:.3g}")
        if result.target is not None:
            ax.axhline(result.target, color=INK_COLOR, linestyle=":", linewidth=0.8, label=f"target {result.criterion}")
        ax.set_xlabel("threshold (predict positive when score ≥ threshold)")
        ax.set_ylabel("score")
        ax.set_ylim(-0.02, 1.02)
        title = {"f1": "best F1", "recall": f"recall ≥ {result.target}", "precision": f"precision ≥ {result.target}"}
        ax.set_title(f"Threshold trade-off ({title[result.criterion]}): P={result.precision:.3f} "
                     f"R={result.recall:.3f} F1={result.f1:.3f}")
        ax.legend(loc="best", fontsize=8)
        return png_bytes(fig)
