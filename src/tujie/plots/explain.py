"""Attribution maps over their images: one row per image, one column per explanation method.

Example:
    >>> import numpy as np
    >>> png = attribution_grid(np.random.rand(2, 1, 8, 8), [("IG", np.random.randn(2, 8, 8))], ["a", "b"])
    >>> png[:4] == b"\\x89PNG"
    True
"""

from __future__ import annotations

import numpy as np

from .style import INK_COLOR, figure_label, figure_style, new_figure, png_bytes


def _grey(image: np.ndarray) -> np.ndarray:
    """(C, H, W) → (H, W) grey or (H, W, 3) colour in [0, 1], for imshow."""
    image = np.asarray(image, dtype=np.float32)
    if image.shape[0] == 1:
        return image[0]
    return np.clip(np.moveaxis(image[:3], 0, -1), 0, 1)


def attribution_grid(images: np.ndarray, maps: list[tuple[str, np.ndarray]], captions: list[str],
                     caption_colors: list[str] | None = None, cell: float = 1.25) -> bytes:
    """A grid: each row an image (first column) and its maps laid over it, one column per method.

    Signed maps (integrated gradients, occlusion) are drawn red for evidence for the class and blue
    against it, each map on its own symmetric scale; unsigned ones (saliency, Grad-CAM) in one
    warm colour scale from nothing to the map's maximum.

    Args:
        images: (N, C, H, W) pixels in [0, 1].
        maps: (column title, (N, H, W) attributions) per method; titles already translated.
        captions: one line per row (the prediction), drawn under the image.
        caption_colors: a colour per caption (correct / wrong), default ink.
        cell: inches per image.

    Returns:
        PNG bytes.
    """
    images = np.asarray(images, dtype=np.float32)
    rows, columns = len(images), 1 + len(maps)
    with figure_style():
        fig = new_figure(cell * columns, cell * rows + 0.35)
        axes = np.asarray(fig.subplots(rows, columns, squeeze=False))
        for r in range(rows):
            base = _grey(images[r])
            axes[r, 0].imshow(base, cmap="gray", vmin=0, vmax=1)
            axes[r, 0].set_xlabel(captions[r], fontsize=7,
                                  color=(caption_colors or [INK_COLOR] * rows)[r])
            for c, (title, values) in enumerate(maps, start=1):
                m = np.asarray(values[r], dtype=np.float32)
                ax = axes[r, c]
                ax.imshow(base, cmap="gray", vmin=0, vmax=1)
                if m.min() < 0:
                    limit = float(np.abs(m).max()) or 1.0
                    ax.imshow(m, cmap="bwr", vmin=-limit, vmax=limit, alpha=0.7)
                else:
                    ax.imshow(m, cmap="inferno", vmin=0, vmax=float(m.max()) or 1.0, alpha=0.7)
                if r == 0:
                    ax.set_title(title, fontsize=8)
            if r == 0:
                axes[r, 0].set_title(figure_label("image"), fontsize=8)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
    return png_bytes(fig)
