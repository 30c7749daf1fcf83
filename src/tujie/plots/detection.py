"""Figures of object detection: images with true and predicted boxes, precision–recall per class, loss curves.

Plain numbers in, PNG bytes out; figure text goes through `figure_label`.

Example:
    >>> import numpy as np
    >>> boxes = {"boxes": [[2, 2, 10, 12]], "labels": [3], "scores": [0.9]}
    >>> detections_grid([np.zeros((16, 16))], [boxes], [boxes], [str(d) for d in range(10)])[:4]
    b'\\x89PNG'
    >>> pr_curves([{"recall": [0.0, 0.5, 1.0], "precision": [1.0, 1.0, 0.5]}], ["0"])[:4]
    b'\\x89PNG'
    >>> loss_curves([10, 20], {"heatmap": [2.0, 1.0], "size": [5.0, 3.0]})[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import math

import numpy as np

from .style import INK_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, class_colors, figure_label, figure_style, new_figure, png_bytes

TRUE_COLOR = "#16a34a"  # true boxes: green, dashed


def detections_grid(images: list, predictions: list[dict], truths: list[dict], classes: list[str],
                    score_threshold: float = 0.3, columns: int = 4) -> bytes:
    """Each image with its true boxes (green, dashed) and the detections scoring at least `score_threshold`
    (coloured by class, solid, labelled "class score").

    Args:
        images: (H, W) or (H, W, 3) arrays in [0, 1].
        predictions: per image dict(boxes=[[x0, y0, x1, y1]], labels=[...], scores=[...]).
        truths: per image dict(boxes=..., labels=...).
    """
    from matplotlib.patches import Rectangle

    colors = class_colors(len(classes))
    rows = max(1, math.ceil(len(images) / columns))
    with figure_style():
        fig = new_figure(2.1 * min(columns, max(1, len(images))), 2.2 * rows)
        axes = np.atleast_1d(fig.subplots(rows, min(columns, max(1, len(images))))).ravel()
        for ax in axes:
            ax.axis("off")
        for ax, image, found, truth in zip(axes, images, predictions, truths):
            image = np.asarray(image)
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            for x0, y0, x1, y1 in truth["boxes"]:
                ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=TRUE_COLOR,
                                       linestyle="--", linewidth=1.0))
            for (x0, y0, x1, y1), label, score in zip(found["boxes"], found["labels"], found["scores"]):
                if score < score_threshold:
                    continue
                color = colors[int(label) % len(colors)]
                ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=1.3))
                ax.text(x0, y0 - 1, f"{classes[int(label)]} {score:.2f}", color="white", fontsize=6,
                        va="bottom", bbox={"facecolor": color, "edgecolor": "none", "pad": 0.8})
        fig.suptitle(figure_label("true boxes dashed, detections solid with their scores"), fontsize=9, color=INK_COLOR)
        return png_bytes(fig)


def pr_curves(curves: list[dict], classes: list[str], title: str = "precision–recall at IoU 0.5, per class") -> bytes:
    """One precision–recall line per class (COCOeval's 101 recall points); classes without true boxes are skipped."""
    colors = class_colors(len(classes))
    with figure_style():
        fig = new_figure(5.6, 4.0)
        ax = fig.subplots()
        for k, curve in enumerate(curves):
            if curve.get("recall"):
                ax.plot(curve["recall"], curve["precision"], color=colors[k % len(colors)], linewidth=1.2,
                        label=classes[k] if k < len(classes) else str(k))
        ax.set_xlim(0, 1.01)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(figure_label("recall"))
        ax.set_ylabel(figure_label("precision"))
        ax.set_title(figure_label(title))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower left", fontsize=7, ncol=2)
        return png_bytes(fig)


def loss_curves(steps: list, series: dict, title: str = "training loss") -> bytes:
    """The training loss and its parts against the optimizer step, on a log scale."""
    palette = [TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, TRUE_COLOR, INK_COLOR]
    with figure_style():
        fig = new_figure(6.0, 3.2)
        ax = fig.subplots()
        for (name, values), color in zip(series.items(), palette):
            ax.plot(steps, values, color=color, linewidth=1.4, label=figure_label(name))
        if any(v > 0 for values in series.values() for v in values):
            ax.set_yscale("log")
        ax.set_xlabel(figure_label("step"))
        ax.set_ylabel(figure_label("loss"))
        ax.set_title(figure_label(title))
        ax.legend(fontsize=8)
        return png_bytes(fig)
