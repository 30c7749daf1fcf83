"""Figures of transfer learning: which blocks trained in which epoch, at what learning rate.

Example:
    >>> epochs = [{"epoch": e, "blocks": [{"block": "body", "trained": float(e > 1), "lr": 1e-4 * (e > 1)},
    ...                                  {"block": "head", "trained": 1.0, "lr": 1e-3}]} for e in (1, 2, 3)]
    >>> block_schedule(epochs)[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import math

from .style import INK_COLOR, figure_label, figure_style, new_figure, png_bytes


def block_schedule(epochs: list[dict]) -> bytes:
    """A grid: one row per block (the head on top), one column per epoch; a cell's colour is the block's
    learning rate that epoch (log scale), grey where it was frozen; the rate is written in the cell."""
    import matplotlib
    import numpy as np

    names = [b["block"] for b in epochs[0]["blocks"]][::-1] if epochs else []
    rates = np.full((len(names), len(epochs)), np.nan)
    for j, epoch in enumerate(epochs):
        for b in epoch["blocks"]:
            if b["block"] in names and b.get("trained") and b.get("lr"):
                rates[names.index(b["block"]), j] = math.log10(b["lr"])
    with figure_style():
        fig = new_figure(1.8 + 0.55 * max(len(epochs), 4), 0.9 + 0.36 * max(len(names), 2))
        ax = fig.subplots()
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#e5e7eb")  # frozen: light grey
        image = ax.imshow(np.ma.masked_invalid(rates), aspect="auto", cmap=cmap, interpolation="nearest")
        for i in range(len(names)):
            for j in range(len(epochs)):
                if not math.isnan(rates[i, j]) and len(epochs) <= 20:
                    ax.text(j, i, f"{10 ** rates[i, j]:.0e}".replace("e-0", "e-"), ha="center", va="center", fontsize=6,
                            color="white" if rates[i, j] < np.nanmean(rates) else INK_COLOR)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        step = max(1, len(epochs) // 15)
        ax.set_xticks(range(0, len(epochs), step), [epochs[j]["epoch"] for j in range(0, len(epochs), step)], fontsize=8)
        ax.set_xlabel(figure_label("epoch"))
        ax.grid(False)
        if not np.isnan(rates).all():
            fig.colorbar(image, ax=ax, label=figure_label("log10 learning rate"), shrink=0.9)
        ax.set_title(figure_label("Which blocks trained when (grey: frozen)"))
        return png_bytes(fig)


def label_efficiency(summary: list[dict], names: dict[str, str]) -> bytes:
    """Test accuracy against labels used (log scale), one line per way of transferring, mean ± std as error bars.

    Args:
        summary: rows {"way", "labels", "mean", "std"}.
        names: way -> its label in the legend.
    """
    from .style import BETTER_COLOR, NEUTRAL_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR

    colors = {"scratch": NEUTRAL_COLOR, "linear_probe": VAL_COLOR, "fine_tune": TRAIN_COLOR, "gradual": BETTER_COLOR,
              "features": WRONG_COLOR}
    with figure_style():
        fig = new_figure(6.4, 3.8)
        ax = fig.subplots()
        for way in dict.fromkeys(r["way"] for r in summary):
            rows = sorted((r for r in summary if r["way"] == way), key=lambda r: r["labels"])
            ax.errorbar([r["labels"] for r in rows], [r["mean"] for r in rows], yerr=[r["std"] for r in rows], marker="o",
                        capsize=3, linewidth=2, color=colors.get(way), linestyle="--" if way == "scratch" else "-",
                        label=names.get(way, way))
        ax.set_xscale("log")
        ax.set_xlabel(figure_label("target training labels used (log scale)"))
        ax.set_ylabel(figure_label("test accuracy"))
        ax.set_title(figure_label("Label efficiency: pretrained against from scratch"))
        ax.legend(loc="lower right", fontsize=8)
        return png_bytes(fig)


def mlm_pretraining(steps: list[dict], epochs: list[dict]) -> bytes | None:
    """Masked-language-model pretraining: loss and masked-token accuracy against optimizer steps.

    Args:
        steps: {"step", "loss", "masked_accuracy"} every few training steps.
        epochs: the epoch records ({"val_loss", "val_masked_accuracy"}), drawn at the end of each epoch.

    Example:
        >>> steps = [{"step": s, "loss": 9 - s / 50, "masked_accuracy": s / 1000} for s in (25, 50, 75, 100)]
        >>> mlm_pretraining(steps, [{"val_loss": 7.1, "val_masked_accuracy": 0.09}])[:4]
        b'\\x89PNG'
    """
    from .style import TRAIN_COLOR, VAL_COLOR

    if not steps:
        return None
    per_epoch = steps[-1]["step"] / max(1, len(epochs))
    with figure_style():
        fig = new_figure(8.8, 3.2)
        for ax, key, title in zip(fig.subplots(1, 2), ("loss", "masked_accuracy"),
                                  (figure_label("MLM loss"), figure_label("masked-token accuracy"))):
            ax.plot([p["step"] for p in steps], [p[key] for p in steps], color=TRAIN_COLOR, linewidth=1.6,
                    label=figure_label("train"))
            points = [(per_epoch * (i + 1), e[f"val_{key}"]) for i, e in enumerate(epochs) if f"val_{key}" in e]
            if points:
                ax.plot(*zip(*points), "o", color=VAL_COLOR, markersize=6, label=figure_label("validation"))
            ax.set_title(title)
            ax.set_xlabel(figure_label("optimizer step"))
            ax.legend(loc="best", fontsize=8)
        return png_bytes(fig)
