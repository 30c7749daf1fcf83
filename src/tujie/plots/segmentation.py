"""Figures of semantic segmentation: masks over images, IoU per class, training curves.

Everything here takes plain numbers: images (N, H, W) in [0, 1], class maps (N, H, W) of
integers (0: background, c + 1: class c), histories as lists of dicts. Titles and axis labels
are English messages, drawn in the report's language by `figure_label`. Nothing here knows a model.

Example:
    >>> import numpy as np
    >>> masks = np.zeros((2, 16, 16), dtype=np.int64); masks[:, 4:9, 4:9] = 3
    >>> mask_overlays(np.zeros((2, 16, 16)), masks, masks, [str(d) for d in range(10)])[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import numpy as np

from ..i18n import N_
from .style import INK_COLOR, TRAIN_COLOR, VAL_COLOR, _as_float, class_colors, figure_label, figure_style, new_figure, plain_text, png_bytes

_IMAGE = N_("canvas")
_TRUTH = N_("true mask")
_PREDICTED = N_("predicted mask")
_LOSS = N_("training loss (cross-entropy per pixel)")
_MIOU = N_("validation mIoU")
_EPOCH = N_("epoch")
_IOU = N_("IoU")
_DICE = N_("Dice")
_PER_CLASS = N_("IoU and Dice per class (test set)")


def _colour_mask(image: np.ndarray, mask: np.ndarray, colours: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    """An (H, W, 3) picture: the grey image, each labelled pixel tinted with its class's colour."""
    rgb = np.repeat((1.0 - image)[..., None], 3, axis=2)  # ink dark on white, as the other digit figures
    labelled = mask > 0
    rgb[labelled] = (1 - alpha) * rgb[labelled] + alpha * colours[mask[labelled] - 1]
    return rgb


def mask_overlays(images, truth, predicted, class_names: list[str], captions: list[str] | None = None) -> bytes:
    """Three rows of test canvases: the canvas, the true mask over it, the predicted mask over it; a colour key.

    Args:
        images: (N, H, W) in [0, 1]. truth, predicted: (N, H, W) class maps (0: background).
        class_names: the names of classes 1.. (the background has none).
        captions: text under each predicted mask (e.g. its IoU), or None.

    Returns:
        PNG bytes.
    """
    images, truth, predicted = np.asarray(images, dtype=np.float64), np.asarray(truth), np.asarray(predicted)
    colours = np.array([c[:3] for c in class_colors(len(class_names))])  # (classes, 3)
    n = len(images)
    with figure_style():
        fig = new_figure(1.2 + 1.45 * n, 5.0, layout=None)
        grid = fig.add_gridspec(4, n + 1, left=0.01, right=0.995, top=0.97, bottom=0.02, wspace=0.06, hspace=0.18,
                                height_ratios=[1, 1, 1, 0.28], width_ratios=[0.8] + [1] * n)
        for r, (label, maps) in enumerate(((_IMAGE, None), (_TRUTH, truth), (_PREDICTED, predicted))):
            head = fig.add_subplot(grid[r, 0])
            head.axis("off")
            head.text(0.95, 0.5, plain_text(figure_label(label)), ha="right", va="center", fontsize=8, color=INK_COLOR, wrap=True)
            for c in range(n):
                ax = fig.add_subplot(grid[r, c + 1])
                picture = 1.0 - images[c] if maps is None else _colour_mask(images[c], maps[c], colours)
                ax.imshow(picture, cmap="gray" if maps is None else None, vmin=0.0, vmax=1.0)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if maps is predicted and captions and c < len(captions):
                    ax.set_xlabel(plain_text(captions[c]), fontsize=7, labelpad=1)
        from matplotlib.patches import Patch

        key = fig.add_subplot(grid[3, 1:])
        key.axis("off")
        key.legend(handles=[Patch(color=colours[i], label=plain_text(name)) for i, name in enumerate(class_names)],
                   loc="center", ncols=len(class_names), fontsize=8, handlelength=1.0, columnspacing=1.0)
        return png_bytes(fig)


def class_scores(class_names: list[str], iou: list, dice: list) -> bytes:
    """Bars of IoU and Dice per class (a missing value, None, leaves a gap).

    Example:
        >>> class_scores(["background", "0"], [0.99, 0.8], [0.995, None])[:4]
        b'\\x89PNG'
    """
    iou = [_as_float(v) for v in iou]
    dice = [_as_float(v) for v in dice]
    x = np.arange(len(class_names))
    with figure_style():
        fig = new_figure(max(4.5, 0.5 * len(class_names) + 1.5), 3.0)
        ax = fig.add_subplot()
        ax.bar(x - 0.2, iou, width=0.4, color=TRAIN_COLOR, label=figure_label(_IOU))
        ax.bar(x + 0.2, dice, width=0.4, color=VAL_COLOR, label=figure_label(_DICE))
        for i, v in enumerate(iou):
            if np.isfinite(v):
                ax.text(i - 0.2, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=6, rotation=90, color=INK_COLOR)
        ax.set_xticks(x, [plain_text(n) for n in class_names], fontsize=8)
        ax.set_ylim(0, 1.12)
        ax.set_title(figure_label(_PER_CLASS))
        ax.legend(loc="upper right", fontsize=8, ncols=2)
        return png_bytes(fig)


def training_curves(history: list[dict]) -> bytes:
    """The training loss and the validation mIoU per epoch, side by side.

    Example:
        >>> training_curves([{"epoch": 1, "loss": 0.5, "val_miou": 0.4}, {"epoch": 2, "loss": 0.3, "val_miou": 0.6}])[:4]
        b'\\x89PNG'
    """
    epochs = [r.get("epoch") for r in history]
    with figure_style():
        fig = new_figure(7.5, 2.8)
        left, right = fig.subplots(1, 2)
        left.plot(epochs, [_as_float(r.get("loss")) for r in history], marker="o", markersize=3, color=TRAIN_COLOR)
        left.set_title(figure_label(_LOSS))
        left.set_xlabel(figure_label(_EPOCH))
        left.set_yscale("log")
        right.plot(epochs, [_as_float(r.get("val_miou")) for r in history], marker="o", markersize=3, color=VAL_COLOR)
        right.set_title(figure_label(_MIOU))
        right.set_xlabel(figure_label(_EPOCH))
        right.set_ylim(0, 1)
        return png_bytes(fig)
