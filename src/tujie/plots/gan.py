"""Figures of GAN training: sample strips from fixed noise, D and G losses with D(x) and D(G(z)), FID curves.

Everything here takes plain numbers: images as (N, H, W) or (N, C, H, W) arrays in [0, 1],
histories as lists of dicts per variant. Labels are drawn as given (translate them first).

Example:
    >>> import numpy as np
    >>> sample_strips([("epoch 1", np.zeros((4, 8, 8))), ("epoch 2", np.ones((4, 8, 8)))])[:4]
    b'\\x89PNG'
    >>> gan_curves({"a": [{"epoch": 1, "d_loss": 1.3, "g_loss": 0.8, "d_real": 0.6, "d_fake": 0.4}]})[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import math


from .style import (CHANCE_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, figure_label, figure_style, image_rows,
                    new_figure, png_bytes)

_VARIANT_COLORS = (TRAIN_COLOR, VAL_COLOR, "#15803d", "#9333ea")


def sample_strips(rows: list[tuple[str, object]]) -> bytes:
    """One row of images per label (e.g. the same fixed noise after each epoch), label on the left.

    Args:
        rows: (label, images (N, H, W) or (N, C, H, W) in [0, 1]) per row.
    """
    return image_rows(rows)


def gan_curves(histories: dict[str, list[dict]], collapsed: dict[str, int | None] | None = None) -> bytes:
    """Per epoch: D's loss, G's loss, and mean D(x) (solid) and D(G(z)) (dashed), one colour per variant.

    Args:
        histories: {variant label: [{"epoch", "d_loss", "g_loss", "d_real", "d_fake"}, ...]}.
        collapsed: {variant label: the epoch D won from, or None}: marked with a red line.
    """
    panels = [("d_loss", figure_label("discriminator loss")), ("g_loss", figure_label("generator loss")),
              (None, figure_label("D(x) and D(G(z))"))]
    if any("g_grad_norm" in r for history in histories.values() for r in history):
        panels.append(("g_grad_norm", figure_label("norm of G's gradient")))
    with figure_style():
        fig = new_figure(3.5 * len(panels), 3.1)
        axes = fig.subplots(1, len(panels))
        for i, (label, history) in enumerate(histories.items()):
            color = _VARIANT_COLORS[i % len(_VARIANT_COLORS)]
            epochs = [r.get("epoch", j + 1) for j, r in enumerate(history)]
            for ax, (key, _title) in zip(axes, panels):
                if key is None:
                    ax.plot(epochs, [r.get("d_real", math.nan) for r in history], color=color, marker=".", label=f"{label}: D(x)")
                    ax.plot(epochs, [r.get("d_fake", math.nan) for r in history], color=color, marker=".", linestyle="--",
                            label=f"{label}: D(G(z))")
                else:
                    ax.plot(epochs, [r.get(key, math.nan) for r in history], color=color, marker=".", label=label)
                if (collapsed or {}).get(label):
                    ax.axvline(collapsed[label], color=WRONG_COLOR, linewidth=1, alpha=0.6)
        for ax, (key, title) in zip(axes, panels):
            ax.set_title(title)
            ax.set_xlabel(figure_label("epoch"))
            if key is None:
                ax.axhline(0.5, color=CHANCE_COLOR, linewidth=1, linestyle=":")
                ax.set_ylim(-0.02, 1.02)
            elif key == "g_grad_norm":
                ax.set_yscale("log")
            ax.legend(fontsize=7)
        return png_bytes(fig)


def fid_curves(curves: dict[str, list[tuple[float, float]]], floor: float | None = None) -> bytes:
    """Classifier-FID against epoch, one line per variant, the real-versus-real floor dashed (log scale).

    Args:
        curves: {variant label: [(epoch, fid), ...]}.
        floor: the real-versus-real FID (what a perfect generator would score).
    """
    with figure_style():
        fig = new_figure(5.5, 3.2)
        ax = fig.subplots()
        values = []
        for i, (label, points) in enumerate(curves.items()):
            points = [(e, f) for e, f in points if f is not None and math.isfinite(f) and f > 0]
            if points:
                ax.plot(*zip(*points), color=_VARIANT_COLORS[i % len(_VARIANT_COLORS)], marker="o", label=label)
                values += [f for _e, f in points]
        if floor is not None and math.isfinite(floor) and floor > 0:
            ax.axhline(floor, color=CHANCE_COLOR, linestyle="--", label=figure_label("real vs real (floor)"))
            values.append(floor)
        if values and max(values) / max(min(values), 1e-9) > 20:
            ax.set_yscale("log")
        ax.set_xlabel(figure_label("epoch"))
        ax.set_ylabel(figure_label("classifier FID (lower is better)"))
        ax.legend(fontsize=8)
        return png_bytes(fig)
