"""Anomaly detection by reconstruction (book chapter 10): an autoencoder that never saw a kind of image rebuilds it badly.

Train an autoencoder on normal images only (every digit but one), score each test image by
its reconstruction error, and ask how well the score separates the held-out digit from the
normal ones: the ROC-AUC (scikit-learn) is the chance that a random anomaly scores higher
than a random normal image (0.5: no better than a coin, 1: perfect).

Example:
    >>> import torch
    >>> labels = torch.tensor([0, 1, 2, 1, 0])
    >>> normal_mask(labels, held_out=1).tolist()
    [True, False, True, False, True]
    >>> result = separation(torch.tensor([0.1, 0.2, 0.9, 0.8]), torch.tensor([False, False, True, True]))
    >>> result["roc_auc"]
    1.0
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError, DataError


def normal_mask(labels: torch.Tensor, held_out: int) -> torch.Tensor:
    """True for the images of every class but `held_out` (N,); the held-out class must be present."""
    classes = sorted(int(c) for c in torch.unique(labels))
    if held_out not in classes:
        raise ConfigError(f"The held-out class {held_out} is not among the labels.", expected=f"one of {classes}",
                          received=f"held_out={held_out}", fix=f"Set anomaly.held_out to one of {classes}.")
    return labels != held_out


def separation(scores: torch.Tensor, is_anomaly: torch.Tensor, points: int = 200) -> dict:
    """How well anomaly scores separate anomalies (True) from normal images: ROC-AUC and the ROC curve.

    Args:
        scores: one anomaly score per image (N,), higher = more anomalous.
        is_anomaly: (N,) booleans.
        points: the ROC curve is thinned to about this many points (for the report).

    Returns:
        {"roc_auc", "fpr": [...], "tpr": [...], "mean_normal", "mean_anomaly"}.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    y, s = is_anomaly.cpu().numpy().astype(bool), scores.detach().cpu().double().numpy()
    if y.all() or not y.any():
        raise DataError("ROC-AUC needs both normal and anomalous images.", expected="at least one of each",
                        received=f"{int(y.sum())} anomalies among {len(y)} images",
                        fix="Raise data.limit, or hold out a class that the test split contains.")
    fpr, tpr, _ = roc_curve(y, s)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(points, len(fpr))).round().astype(int))
    return {"roc_auc": float(roc_auc_score(y, s)), "fpr": fpr[keep].tolist(), "tpr": tpr[keep].tolist(),
            "mean_normal": float(s[~y].mean()), "mean_anomaly": float(s[y].mean())}


def extremes(scores: torch.Tensor, count: int) -> tuple[list[int], list[int]]:
    """Indices of the `count` most anomalous images (highest score first) and the `count` least (lowest first).

    Example:
        >>> extremes(torch.tensor([0.3, 0.9, 0.1, 0.5]), 2)
        ([1, 3], [2, 0])
    """
    order = torch.argsort(scores, descending=True)
    return order[:count].tolist(), order.flip(0)[:count].tolist()
