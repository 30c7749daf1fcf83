"""Figures of a language model's training: the loss curves, and where one generated line looks.

Example:
    >>> history = [{"step": s, "seconds": s / 4, "train_loss": 5 - s / 100, "val_loss": 5.2 - s / 120} for s in (0, 100, 200)]
    >>> loss_curves(history)[:4]
    b'\\x89PNG'
    >>> attention_maps(["床", "前", "月"], [[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]])[:4]
    b'\\x89PNG'
    >>> validation_against_time({"gpt": history, "lstm": history})[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import math

from .style import TRAIN_COLOR, VAL_COLOR, _as_float, figure_label, figure_style, new_figure, plain_text, png_bytes


def loss_curves(history: list[dict]) -> bytes:
    """Training and validation loss (nats per token) against the step, bits per token on a second axis."""
    steps = [_as_float(p.get("step")) for p in history]
    with figure_style():
        fig = new_figure(6.4, 3.2)
        ax = fig.subplots()
        for key, color, label in (("train_loss", TRAIN_COLOR, "training"), ("val_loss", VAL_COLOR, "validation")):
            values = [_as_float(p.get(key)) for p in history]
            pairs = [(s, v) for s, v in zip(steps, values) if math.isfinite(v)]
            if pairs:
                ax.plot(*zip(*pairs), marker="o", markersize=3, color=color, label=figure_label(label))
        ax.set_xlabel(figure_label("step"))
        ax.set_ylabel(figure_label("loss (nats per token)"))
        low, high = ax.get_ylim()
        bits = ax.twinx()  # the same curve read in bits: nats / ln 2
        bits.set_ylim(low / math.log(2), high / math.log(2))
        bits.set_ylabel(figure_label("bits per token"))
        bits.grid(False)
        ax.legend(loc="upper right")
        ax.set_title(figure_label("Next-token loss during training"))
        return png_bytes(fig)


def attention_maps(tokens: list[str], layers: list[list[list[float]]], titles: list[str] | None = None) -> bytes:
    """One heatmap per layer (the heads' mean): row i is where token i looked when predicting token i + 1.

    Args:
        tokens: the line's tokens (characters), drawn on both axes; a newline is drawn as ⏎.
        layers: per layer a (T, T) matrix of attention probabilities, rows summing to 1.
        titles: a title per panel (default "layer 1", "layer 2" ...).
    """
    import numpy as np

    shown = [plain_text("⏎" if t == "\n" else t) for t in tokens]
    count = max(1, len(layers))
    columns = min(count, 3)
    rows = math.ceil(count / columns)
    size = min(4.2, max(2.4, 0.16 * len(tokens) + 1.2))
    with figure_style():
        fig = new_figure(size * columns + 0.6, size * rows + 0.4)
        axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
        for i, ax in enumerate(axes):
            if i >= len(layers):
                ax.set_visible(False)
                continue
            image = ax.imshow(np.asarray(layers[i], dtype=float), cmap="Blues", vmin=0.0, vmax=1.0)
            ax.set_xticks(range(len(shown)), shown, fontsize=7)
            ax.set_yticks(range(len(shown)), shown, fontsize=7)
            ax.grid(False)
            ax.set_title(titles[i] if titles else figure_label("layer {n}").format(n=i + 1))
        ax.set_xlabel(figure_label("looked at"))
        fig.colorbar(image, ax=list(axes[:len(layers)]), shrink=0.8, label=figure_label("attention"))
        return png_bytes(fig)


def validation_against_time(runs: dict[str, list[dict]]) -> bytes:
    """Validation loss against wall-clock minutes, one line per run (models given the same time budget).

    Runs whose labels start with the same word ("gpt seed 0", "gpt seed 1") share a colour.
    """
    from .style import class_colors

    models = list(dict.fromkeys(label.split()[0] for label in runs))
    colors = dict(zip(models, [TRAIN_COLOR, VAL_COLOR] if len(models) <= 2 else class_colors(len(models))))
    with figure_style():
        fig = new_figure(6.4, 3.2)
        ax = fig.subplots()
        for label, history in runs.items():
            pairs = [(_as_float(p.get("seconds")) / 60, _as_float(p.get("val_loss"))) for p in history]
            pairs = [(t, v) for t, v in pairs if math.isfinite(t) and math.isfinite(v)]
            if pairs:
                ax.plot(*zip(*pairs), marker="o", markersize=2, linewidth=1.2, color=colors[label.split()[0]],
                        label=plain_text(label))
        ax.set_xlabel(figure_label("minutes"))
        ax.set_ylabel(figure_label("validation loss (nats per token)"))
        ax.legend(loc="upper right", fontsize=7)
        ax.set_title(figure_label("The same time for each model"))
        return png_bytes(fig)
