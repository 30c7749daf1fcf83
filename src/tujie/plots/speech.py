"""Figures of speech recognition: a log-mel spectrogram with its CTC alignment, training curves, per-speaker error rates.

Plain numbers in, PNG bytes out; figure text goes through `figure_label`.

Example:
    >>> import numpy as np
    >>> logmel = np.random.default_rng(0).normal(size=(40, 80))
    >>> post = np.full((20, 11), -5.0); post[:, 10] = -0.01; post[5, 3] = -0.01
    >>> ctc_alignment(logmel, post, frame_step=4)[:4]
    b'\\x89PNG'
    >>> training_curves([1, 2], [3.0, 1.0], {"val_cer": [0.9, 0.2]})[:4]
    b'\\x89PNG'
    >>> speaker_bars(["ann", "bob"], [0.1, 0.3], held_out="bob")[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import numpy as np

from .style import CHANCE_COLOR, INK_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, class_colors, figure_label, figure_style, \
    new_figure, png_bytes

FRAME_MS = 10  # the log-mel hop: 80 samples at 8 kHz


def ctc_alignment(logmel, log_posteriors, frame_step: int = 4, blank: int = 10) -> bytes:
    """Top: the log-mel image (mel channels × 10 ms frames), each output frame's argmax digit written above it.
    Bottom: each digit's posterior per output frame (the blank's grey, filled).

    Args:
        logmel: (n_mels, frames) features as the model saw them.
        log_posteriors: (frames', classes) the model's log-probabilities, one row per `frame_step` input frames.
        frame_step: input frames per output frame (the model's stride in time).
        blank: the blank's class.
    """
    logmel = np.asarray(logmel, dtype=np.float64)
    post = np.exp(np.asarray(log_posteriors, dtype=np.float64))  # (frames', classes)
    seconds = logmel.shape[1] * FRAME_MS / 1000
    centres = (np.arange(post.shape[0]) * frame_step + frame_step / 2) * FRAME_MS / 1000  # each output frame's time, s
    best = post.argmax(1)
    with figure_style():
        fig = new_figure(7.2, 4.4)
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        top.imshow(logmel, origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, logmel.shape[0]))
        top.grid(False)
        last = None
        for t, c in zip(centres, best):  # a label where a run of one non-blank class starts (what the decoder keeps)
            if c != blank and c != last:
                top.axvline(t, color="white", linewidth=0.8, alpha=0.8)
                top.text(t, logmel.shape[0] * 0.92, str(int(c)), color="white", fontsize=11, ha="center", fontweight="bold")
            last = c
        top.set_ylabel(figure_label("mel channel"))
        top.set_title(figure_label("log-mel spectrogram and the CTC path (frame-wise argmax)"))
        colors = class_colors(10)
        bottom.fill_between(centres, post[:, blank], color=CHANCE_COLOR, alpha=0.35, step="mid", label=figure_label("blank"))
        for d in range(post.shape[1]):
            if d != blank and post[:, d].max() > 0.2:
                bottom.plot(centres, post[:, d], color=colors[d % len(colors)], linewidth=1.4, label=str(d))
        bottom.set_ylim(0, 1.02)
        bottom.set_xlim(0, seconds)
        bottom.set_xlabel(figure_label("time (s)"))
        bottom.set_ylabel(figure_label("posterior"))
        bottom.legend(loc="upper right", fontsize=7, ncol=6)
        return png_bytes(fig)


def training_curves(epochs, loss, series: dict) -> bytes:
    """The CTC training loss per epoch (left axis) and validation error rates (right axis, {label: values})."""
    with figure_style():
        fig = new_figure(6.0, 3.2)
        ax = fig.subplots()
        ax.plot(list(epochs), list(loss), color=TRAIN_COLOR, linewidth=1.6, marker="o", markersize=3,
                label=figure_label("CTC loss (training)"))
        ax.set_yscale("log")
        ax.set_xlabel(figure_label("epoch"))
        ax.set_ylabel(figure_label("CTC loss (training)"))
        right = ax.twinx()
        for (label, values), color in zip(series.items(), (VAL_COLOR, WRONG_COLOR, INK_COLOR)):
            right.plot(list(epochs)[: len(values)], list(values), color=color, linewidth=1.4, marker="s", markersize=3,
                       label=figure_label(label))
        right.set_ylim(0, max([1.0, *[max(v) for v in series.values() if len(v)]]) * 1.05)
        right.set_ylabel(figure_label("error rate"))
        right.grid(False)
        lines = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper right", fontsize=8)
        return png_bytes(fig)


def speaker_bars(speakers: list[str], values: list[float], held_out: str | None = None, ylabel: str = "CER") -> bytes:
    """One bar per speaker (the unheard speaker red): an error rate in [0, 1]."""
    with figure_style():
        fig = new_figure(5.2, 3.0)
        ax = fig.subplots()
        colors = [WRONG_COLOR if s == held_out else TRAIN_COLOR for s in speakers]
        bars = ax.bar(range(len(speakers)), [100 * v for v in values], color=colors)
        for bar, v in zip(bars, values):
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{100 * v:.1f}%", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(speakers)), speakers)
        ax.set_ylabel(figure_label(ylabel) + " (%)")
        ax.set_title(figure_label("error rate per speaker (red: never heard in training)"))
        return png_bytes(fig)
