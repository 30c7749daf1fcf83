"""Figures of autoencoders, the VAE and anomaly scores: image strips, mosaics, code maps, ELBO curves, ROC.

Everything here takes plain numbers: images as (N, H, W) arrays of 0-255 (or 0-1) values,
histories as lists of dicts. Nothing here knows a model.

Example:
    >>> import numpy as np
    >>> image_rows([("originals", np.zeros((3, 8, 8))), ("reconstructions", np.ones((3, 8, 8)))])[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import math

import numpy as np

from .style import (BETTER_COLOR, CHANCE_COLOR, INK_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, class_colors, figure_label,
                    figure_style, new_figure, plain_text, png_bytes)


def _pixels(images) -> np.ndarray:
    """(N, H, W) floats in [0, 1], from 0-255 integers or 0-1 floats."""
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 4:  # (N, C, H, W): the first channel
        array = array[:, 0]
    if array.ndim != 3 or len(array) == 0:
        raise ValueError(f"images of shape (N, H, W) with N >= 1; received shape {array.shape}")
    return array / 255.0 if array.max() > 1.0 else array


def image_rows(rows: list[tuple[str, object]], captions: list[list[str]] | None = None) -> bytes:
    """One labelled strip of images per row (originals above reconstructions, samples, an interpolation ...).

    Args:
        rows: (label, images (N, H, W)) per row; labels are drawn as given (translate them first).
        captions: optional text under each image, per row (e.g. the anomaly score).

    Returns:
        PNG bytes.
    """
    strips = [(str(label), _pixels(images)) for label, images in rows]
    columns = max(len(images) for _, images in strips)
    size = 0.62 if columns > 12 else 0.8
    with figure_style():
        fig = new_figure(1.6 + size * columns, (size + (0.22 if captions else 0.05)) * len(strips) + 0.1, layout=None)
        grid = fig.add_gridspec(len(strips), columns + 2, left=0.005, right=0.995, top=0.98, bottom=0.02,
                                wspace=0.05, hspace=0.35 if captions else 0.08)
        for r, (label, images) in enumerate(strips):
            head = fig.add_subplot(grid[r, :2])
            head.axis("off")
            head.text(0.98, 0.5, plain_text(label), ha="right", va="center", fontsize=8, color=INK_COLOR, wrap=True)
            for c, image in enumerate(images):
                ax = fig.add_subplot(grid[r, c + 2])
                ax.imshow(image, cmap="binary", vmin=0.0, vmax=1.0)  # ink dark on white
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if captions and r < len(captions) and c < len(captions[r]):
                    ax.set_xlabel(plain_text(captions[r][c]), fontsize=6, labelpad=1)
        return png_bytes(fig)


def image_mosaic(images, columns: int) -> bytes:
    """Images tiled edge to edge, row by row (the VAE's latent manifold grid, a page of samples).

    Example:
        >>> image_mosaic(np.zeros((6, 8, 8)), columns=3)[:4]
        b'\\x89PNG'
    """
    pixels = _pixels(images)
    n, h, w = pixels.shape
    rows = math.ceil(n / columns)
    canvas = np.zeros((rows * h, columns * w))
    for i, image in enumerate(pixels):
        r, c = divmod(i, columns)
        canvas[r * h:(r + 1) * h, c * w:(c + 1) * w] = image
    with figure_style():
        side = min(6.0, 0.4 * columns + 1.0)
        fig = new_figure(side, side * rows / columns, layout=None)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(canvas, cmap="binary", vmin=0.0, vmax=1.0)
        ax.axis("off")
        return png_bytes(fig)


def code_scatter(points, labels, classes: list[str] | None = None, axis_names: tuple[str, str] = ("z1", "z2"),
                 title: str = "") -> bytes:
    """A 2-D map of codes, one dot per image coloured by its class (the digit).

    Example:
        >>> code_scatter(np.random.randn(30, 2), np.arange(30) % 3)[:4]
        b'\\x89PNG'
    """
    points, labels = np.asarray(points, dtype=np.float64), np.asarray(labels).astype(int)
    classes = classes or [str(i) for i in range(int(labels.max()) + 1)]
    colors = class_colors(len(classes))
    with figure_style():
        fig = new_figure(5.2, 4.2)
        ax = fig.subplots()
        for k, name in enumerate(classes):
            chosen = labels == k
            if chosen.any():
                ax.scatter(points[chosen, 0], points[chosen, 1], s=4, alpha=0.6, color=colors[k], label=plain_text(name),
                           linewidths=0)
        ax.set_xlabel(axis_names[0])
        ax.set_ylabel(axis_names[1])
        if title:
            ax.set_title(plain_text(title))
        ax.legend(markerscale=3, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        return png_bytes(fig)


def _series(history: list[dict], key: str) -> tuple[list[float], list[float]]:
    pairs = [(float(r["epoch"]), float(r[key])) for r in history
             if isinstance(r, dict) and isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def elbo_curves(history: list[dict]) -> bytes:
    """Three panels per epoch: the ELBO, its reconstruction term and its KL term, training and test (nats per image).

    Example:
        >>> elbo_curves([{"epoch": 1, "elbo": -150, "recon": 140, "kl": 10, "test_elbo": -145},
        ...              {"epoch": 2, "elbo": -120, "recon": 105, "kl": 15, "test_elbo": -118}])[:4]
        b'\\x89PNG'
    """
    panels = ((("elbo", "test_elbo"), figure_label("ELBO (nats, higher is better)")),
              (("recon", "test_recon"), figure_label("reconstruction −log p(x|z) (nats)")),
              (("kl", "test_kl"), figure_label("KL(q(z|x) ‖ p(z)) (nats)")))
    with figure_style():
        fig = new_figure(10.5, 3.0)
        axes = fig.subplots(1, 3)
        for ax, ((train_key, test_key), title) in zip(axes, panels):
            for key, color, name in ((train_key, TRAIN_COLOR, figure_label("training")), (test_key, VAL_COLOR, figure_label("test"))):
                xs, ys = _series(history, key)
                if xs:
                    ax.plot(xs, ys, marker="o" if len(xs) < 20 else None, markersize=3, color=color, label=name)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(figure_label("epoch"))
            ax.legend(fontsize=7)
        return png_bytes(fig)


def loss_curves(histories: dict[str, list[dict]], ylabel: str) -> bytes:
    """Reconstruction loss per epoch of several models, training (solid) and test (dashed).

    Example:
        >>> loss_curves({"dense": [{"epoch": 1, "loss": 90.0, "test_loss": 85.0}]}, "BCE")[:4]
        b'\\x89PNG'
    """
    colors = [TRAIN_COLOR, BETTER_COLOR, VAL_COLOR, WRONG_COLOR]
    with figure_style():
        fig = new_figure(5.5, 3.2)
        ax = fig.subplots()
        for i, (name, history) in enumerate(histories.items()):
            for key, style, suffix in (("loss", "-", figure_label("training")), ("test_loss", "--", figure_label("test"))):
                xs, ys = _series(history, key)
                if xs:
                    ax.plot(xs, ys, style, marker="o" if len(xs) < 20 else None, markersize=3,
                            color=colors[i % len(colors)], label=f"{plain_text(name)} · {suffix}")
        ax.set_xlabel(figure_label("epoch"))
        ax.set_ylabel(plain_text(ylabel))
        ax.legend(fontsize=7)
        return png_bytes(fig)


def anomaly_scores(fpr, tpr, roc_auc: float, normal, anomalous, names: tuple[str, str]) -> bytes:
    """The ROC curve of the anomaly score beside the two score histograms (normal and anomalous images).

    Example:
        >>> anomaly_scores([0, 0.5, 1], [0, 0.9, 1], 0.8, np.random.rand(50), np.random.rand(20) + 0.5, ("normal", "7"))[:4]
        b'\\x89PNG'
    """
    with figure_style():
        fig = new_figure(9.0, 3.3)
        roc, hist = fig.subplots(1, 2)
        roc.plot(fpr, tpr, color=TRAIN_COLOR, label=f"ROC-AUC {roc_auc:.3f}")
        roc.plot([0, 1], [0, 1], "--", color=CHANCE_COLOR, label=figure_label("chance"))
        roc.set_xlabel(figure_label("false positive rate (normal images flagged)"))
        roc.set_ylabel(figure_label("true positive rate (anomalies caught)"))
        roc.legend(fontsize=7, loc="lower right")
        normal, anomalous = np.asarray(normal, dtype=np.float64), np.asarray(anomalous, dtype=np.float64)
        both = np.concatenate([normal, anomalous])
        bins = np.linspace(both.min(), np.quantile(both, 0.995) + 1e-12, 50)
        hist.hist(normal, bins=bins, color=BETTER_COLOR, alpha=0.6, density=True, label=plain_text(names[0]))
        hist.hist(anomalous, bins=bins, color=WRONG_COLOR, alpha=0.6, density=True, label=plain_text(names[1]))
        hist.set_xlabel(figure_label("reconstruction error (mean squared, per image)"))
        hist.set_ylabel(figure_label("density"))
        hist.legend(fontsize=7)
        return png_bytes(fig)
