"""Figures of node classification: test accuracy per seed beside the published figure, training curves, the 2-D embedding map.

Plain numbers in, PNG bytes out; figure text goes through `figure_label`.

Example:
    >>> seed_accuracies([0.81, 0.82, 0.80], published=0.815)[:4]
    b'\\x89PNG'
    >>> curves_over_seeds([[(1, 1.9, 0.3), (2, 1.7, 0.5)], [(1, 1.9, 0.2), (2, 1.6, 0.6)]], "validation loss", "loss")[:4]
    b'\\x89PNG'
    >>> embedding_map([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]], [0, 1, 1], ["a", "b"])[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import numpy as np

from .style import CHANCE_COLOR, TRAIN_COLOR, VAL_COLOR, class_colors, figure_label, figure_style, new_figure, plain_text, png_bytes


def seed_accuracies(accuracies, published: float | None = None, title: str = "test accuracy per seed") -> bytes:
    """One dot per seed, the mean as a line with its ± std band, and the published figure dashed.

    Args:
        accuracies: the test accuracy of each seed (fractions).
        published: the paper's figure (a fraction), or None.
    """
    values = np.asarray(accuracies, dtype=np.float64) * 100
    with figure_style():
        fig = new_figure(6.4, 3.0)
        ax = fig.subplots()
        seeds = np.arange(len(values))
        mean, std = float(values.mean()), float(values.std())
        ax.axhspan(mean - std, mean + std, color=TRAIN_COLOR, alpha=0.12, linewidth=0)
        ax.axhline(mean, color=TRAIN_COLOR, linewidth=1.5, label=figure_label("mean over seeds (± std shaded)"))
        ax.plot(seeds, values, linestyle="none", marker="o", color=TRAIN_COLOR, label=figure_label("one seed"))
        if published is not None:
            ax.axhline(100 * published, color=VAL_COLOR, linestyle="--", linewidth=1.5, label=figure_label("published"))
        ax.set_xticks(seeds)
        ax.set_xlabel(figure_label("seed"))
        ax.set_ylabel(figure_label("test accuracy (%)"))
        ax.set_title(figure_label(title))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
        return png_bytes(fig)


def curves_over_seeds(runs, title: str, ylabel: str) -> bytes:
    """Two series per seed against the epoch (faint per seed, bold for the first): e.g. (epoch, train, validation).

    Args:
        runs: one list per seed of (epoch, training value, validation value) rows.
    """
    with figure_style():
        fig = new_figure(5.2, 3.0)
        ax = fig.subplots()
        for i, rows in enumerate(runs):
            if not rows:
                continue
            epochs, train, val = (np.asarray(c, dtype=np.float64) for c in zip(*rows))
            first = i == 0
            ax.plot(epochs, train, color=TRAIN_COLOR, linewidth=1.4 if first else 0.6, alpha=1.0 if first else 0.3,
                    label=figure_label("training nodes") if first else None)
            ax.plot(epochs, val, color=VAL_COLOR, linewidth=1.4 if first else 0.6, alpha=1.0 if first else 0.3,
                    label=figure_label("validation nodes") if first else None)
        ax.set_xlabel(figure_label("epoch"))
        ax.set_ylabel(figure_label(ylabel))
        ax.set_title(figure_label(title))
        ax.legend(loc="best", fontsize=8)
        return png_bytes(fig)


def embedding_map(points, labels, class_names, title: str = "hidden-layer embeddings (t-SNE), coloured by class") -> bytes:
    """Every node as a dot at its 2-D position, coloured by its true class.

    Args:
        points: (num_nodes, 2) positions; labels: (num_nodes,) class ids; class_names: drawn as written in the legend.
    """
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    labels = np.asarray(labels)
    colors = class_colors(max(len(class_names), 1))
    with figure_style():
        fig = new_figure(6.4, 5.0)
        ax = fig.subplots()
        for c, name in enumerate(class_names):
            chosen = labels == c
            ax.scatter(xy[chosen, 0], xy[chosen, 1], s=4, color=colors[c], label=plain_text(name), linewidths=0)
        if not len(class_names):
            ax.scatter(xy[:, 0], xy[:, 1], s=4, color=CHANCE_COLOR, linewidths=0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(figure_label(title))
        if len(class_names):
            ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=3, frameon=False)
        return png_bytes(fig)
