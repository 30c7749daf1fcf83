"""Figures of style transfer: content, style and result side by side; the loss curves; a row of style weights.

Images come as (H, W, 3) uint8 arrays (the run directory's PNGs, read by the report).

Example:
    >>> import numpy as np
    >>> pixels = np.zeros((8, 8, 3), np.uint8)
    >>> side_by_side([(pixels, pixels, pixels)], ["starry night"])[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import math

from .style import INK_COLOR, TRAIN_COLOR, VAL_COLOR, class_colors, figure_label, figure_style, new_figure, plain_text, png_bytes


def _show(ax, image, title: str | None = None) -> None:
    ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)


def side_by_side(rows: list[tuple], styles: list[str]) -> bytes:
    """One row per style: the content photo, the style image, the result.

    Args:
        rows: (content, style, result) arrays.
        styles: each row's style name (shown under its style image).
    """
    with figure_style():
        fig = new_figure(7.5, 2.6 * max(1, len(rows)))
        axes = fig.subplots(max(1, len(rows)), 3, squeeze=False)
        for i, (content, style, result) in enumerate(rows):
            titles = (figure_label("content"), figure_label("style"), figure_label("result")) if i == 0 else (None, None, None)
            for ax, image, title in zip(axes[i], (content, style, result), titles):
                _show(ax, image, title)
            axes[i][1].set_xlabel(plain_text(styles[i]), fontsize=8, color=INK_COLOR)
        return png_bytes(fig)


def loss_curves(curves: list[dict]) -> bytes:
    """The style loss and the content loss against the optimisation step, one line per picture (log scale).

    Args:
        curves: {"label": str, "history": [{"step", "content", "style"}, ...]}.

    Example:
        >>> history = [{"step": s, "content": 0.1 * s, "style": 10.0 / (1 + s)} for s in range(0, 50, 10)]
        >>> loss_curves([{"label": "wave", "history": history}])[:4]
        b'\\x89PNG'
    """
    colors = [TRAIN_COLOR, VAL_COLOR, *class_colors(10)[2:]]
    with figure_style():
        fig = new_figure(8.0, 3.0)
        style_ax, content_ax = fig.subplots(1, 2)
        for i, curve in enumerate(curves):
            steps = [row["step"] for row in curve["history"]]
            style = [row["style"] if row["style"] > 0 else math.nan for row in curve["history"]]
            content = [row["content"] if row["content"] > 0 else math.nan for row in curve["history"]]
            color = colors[i % len(colors)]
            style_ax.plot(steps, style, color=color, label=plain_text(curve["label"]))
            content_ax.plot(steps, content, color=color, label=plain_text(curve["label"]))
        style_ax.set_yscale("log")
        style_ax.set_title(figure_label("style loss (Gram matrices)"))
        content_ax.set_title(figure_label("content loss"))
        if any(row["content"] > 0 for curve in curves for row in curve["history"]):
            content_ax.set_yscale("log")
        for ax in (style_ax, content_ax):
            ax.set_xlabel(figure_label("step (loss evaluations)"))
        style_ax.legend(fontsize=7)
        return png_bytes(fig)


def weight_row(images: list, weights: list[float]) -> bytes:
    """The results of one (content, style) pair at several style weights, from least to most stylised.

    Example:
        >>> import numpy as np
        >>> weight_row([np.zeros((8, 8, 3), np.uint8)] * 2, [10.0, 1000.0])[:4]
        b'\\x89PNG'
    """
    with figure_style():
        fig = new_figure(2.3 * max(1, len(images)), 2.6)
        axes = fig.subplots(1, max(1, len(images)), squeeze=False)[0]
        for ax, image, weight in zip(axes, images, weights):
            _show(ax, image, figure_label("style weight {weight}").format(weight=f"{weight:g}"))
        return png_bytes(fig)
