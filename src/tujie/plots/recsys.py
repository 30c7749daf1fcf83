"""Figures of recommendation: models side by side (HR@10, NDCG@10), the two against epochs, RMSE curves.

Plain numbers in, PNG bytes out; figure text goes through `figure_label`, model names are data.

Example:
    >>> model_bars(["GMF", "NeuMF"], [0.6, 0.65], [0.3, 0.35])[:4]
    b'\\x89PNG'
    >>> ranking_curves({"GMF": ([1, 2], [0.4, 0.5], [0.2, 0.25])})[:4]
    b'\\x89PNG'
    >>> rmse_curves({"MF": ([1, 2], [1.0, 0.9], [1.1, 0.95])})[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import numpy as np

from .style import TRAIN_COLOR, VAL_COLOR, class_colors, figure_label, figure_style, new_figure, png_bytes


def model_bars(names: list[str], hit_ratio: list[float], ndcg: list[float], reference: dict | None = None) -> bytes:
    """HR@10 and NDCG@10 of each model as paired bars, each bar labelled with its value.

    Args:
        names: the models (and baselines), in the order shown.
        hit_ratio, ndcg: their scores, one per name.
        reference: optional {label: (hr, ndcg)} drawn as dashed lines (a published figure).
    """
    with figure_style():
        fig = new_figure(6.4, 3.2)
        ax = fig.subplots()
        x = np.arange(len(names))
        for offset, values, color, label in ((-0.2, hit_ratio, TRAIN_COLOR, "HR@10"), (0.2, ndcg, VAL_COLOR, "NDCG@10")):
            bars = ax.bar(x + offset, values, width=0.38, color=color, label=label)
            for bar, value in zip(bars, values):
                ax.annotate(f"{value:.3f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                            fontsize=7, xytext=(0, 2), textcoords="offset points")
        for label, (hr, nd) in (reference or {}).items():
            ax.axhline(hr, color=TRAIN_COLOR, linestyle="--", linewidth=0.8)
            ax.axhline(nd, color=VAL_COLOR, linestyle="--", linewidth=0.8)
            ax.annotate(label, (len(names) - 0.5, hr), ha="right", va="bottom", fontsize=7)
        ax.set_xticks(x, names)
        ax.set_ylim(0, max([*hit_ratio, *ndcg, 0.1]) * 1.18)
        ax.set_ylabel(figure_label("score on the held-out items"))
        ax.legend(loc="upper left", fontsize=8)
        return png_bytes(fig)


def ranking_curves(curves: dict) -> bytes:
    """HR@10 (left) and NDCG@10 (right) after each epoch, one line per model.

    Args:
        curves: {model name: (epochs, hr_at_10 values, ndcg_at_10 values)}.
    """
    with figure_style():
        fig = new_figure(6.8, 3.0)
        left, right = fig.subplots(1, 2)
        colors = class_colors(max(len(curves), 1))
        for color, (name, (epochs, hr, ndcg)) in zip(colors, curves.items()):
            left.plot(epochs, hr, color=color, marker=".", label=name)
            right.plot(epochs, ndcg, color=color, marker=".", label=name)
        for ax, title in ((left, "HR@10"), (right, "NDCG@10")):
            ax.set_title(title)
            ax.set_xlabel(figure_label("epoch"))
        left.legend(fontsize=8)
        return png_bytes(fig)


def rmse_curves(curves: dict) -> bytes:
    """Training RMSE (thin) and held-out RMSE (bold) after each epoch, one colour per model.

    Args:
        curves: {model name: (epochs, training RMSE values, held-out RMSE values)}.
    """
    with figure_style():
        fig = new_figure(6.4, 3.0)
        ax = fig.subplots()
        colors = class_colors(max(len(curves), 1))
        for color, (name, (epochs, train, held_out)) in zip(colors, curves.items()):
            ax.plot(epochs, train, color=color, linewidth=0.8, linestyle="--", label=f"{name}: " + figure_label("training"))
            ax.plot(epochs, held_out, color=color, linewidth=2.0, marker=".", label=f"{name}: " + figure_label("test"))
        ax.set_xlabel(figure_label("epoch"))
        ax.set_ylabel("RMSE")
        ax.legend(fontsize=8)
        return png_bytes(fig)
