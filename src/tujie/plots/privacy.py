"""Figures of differentially private training: accuracy against ε, and ε spent over training.

Plain numbers in, PNG bytes out; figure text goes through `figure_label`.

Example:
    >>> accuracy_vs_epsilon([(0.5, 0.85), (2.0, 0.93)], 0.98, [[0.5, 0.9], [2.0, 0.95]])[:4]
    b'\\x89PNG'
    >>> epsilon_over_training({"ε = 2": [(1, 0.9, 0.9), (2, 1.5, 0.92)]})[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator, NullLocator

from .style import TRAIN_COLOR, VAL_COLOR, figure_label, figure_style, new_figure, png_bytes


def accuracy_vs_epsilon(points, nonprivate: float | None = None, anchors=()) -> bytes:
    """Test accuracy (%) of each private model against the ε it spent (log x), the non-private line, the paper's crosses.

    Args:
        points: (ε spent, test accuracy) per private model (fractions).
        nonprivate: the non-private model's test accuracy, or None.
        anchors: (ε, accuracy) pairs of the published figures.
    """
    with figure_style():
        fig = new_figure(5.6, 3.2)
        ax = fig.subplots()
        pts = sorted((float(e), 100 * float(a)) for e, a in points if e is not None)
        if pts:
            ax.plot(*zip(*pts), marker="o", color=TRAIN_COLOR, label=figure_label("DP-SGD (this run)"))
        if anchors:
            ax.plot([e for e, _ in anchors], [100 * a for _, a in anchors], linestyle="none", marker="x", markersize=8,
                    color="0.3", label=figure_label("Abadi et al. 2016"))
        if nonprivate is not None:
            ax.axhline(100 * nonprivate, color=VAL_COLOR, linestyle="--", label=figure_label("without privacy"))
        ax.set_xscale("log")
        if pts:  # ticks at the ε values themselves: 0.5, 2, 8 rather than 5×10⁻¹
            ax.set_xticks([e for e, _ in pts], [f"{e:.2g}" for e, _ in pts])
            ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(figure_label("ε spent (δ = 1e-5), log scale"))
        ax.set_ylabel(figure_label("test accuracy (%)"))
        ax.legend(fontsize=8, frameon=False, loc="lower right")
        return png_bytes(fig)


def epsilon_over_training(curves: dict) -> bytes:
    """Two panels against the epoch: ε spent and test accuracy, one line per private model.

    Args:
        curves: label -> [(epoch, ε spent, test accuracy), ...].
    """
    with figure_style():
        fig = new_figure(8.0, 3.0)
        left, right = fig.subplots(1, 2)
        for label, rows in curves.items():
            if not rows:
                continue
            epochs, eps, acc = (np.asarray([np.nan if v is None else v for v in c], dtype=np.float64) for c in zip(*rows))
            left.plot(epochs, eps, marker="o", label=label)
            right.plot(epochs, 100 * acc, marker="o", label=label)
        for ax in (left, right):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        left.set_xlabel(figure_label("epoch"))
        left.set_ylabel(figure_label("ε spent"))
        right.set_xlabel(figure_label("epoch"))
        right.set_ylabel(figure_label("test accuracy (%)"))
        left.legend(fontsize=8, frameon=False, loc="center right")
        return png_bytes(fig)
