"""Figures of a scaling-law run (validation loss against parameters and against compute, log–log) and of LoRA's comparison.

Plain numbers in, PNG bytes out; figure text goes through `figure_label`. The line fitted to the
measured sizes is drawn solid where it was measured and dashed beyond, out to GPT-3's 175 billion
parameters, whose point is labelled an extrapolation: nothing that large was trained here.

Example:
    >>> fit = {"alpha": 0.1, "alpha_low": 0.08, "alpha_high": 0.12, "intercept": 2.76}  # L = (1e12 / N)^0.1
    >>> loss_vs_parameters([("s", 1e5, 3.98), ("m", 1e6, 3.16)], fit)[:4]
    b'\\x89PNG'
    >>> loss_vs_compute({"s": [(1e12, 5.0), (2e12, 4.0)]}, [(1e12, 5.0), (2e12, 4.0)], fit)[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import math

import numpy as np

from .style import CHANCE_COLOR, INK_COLOR, TRAIN_COLOR, VAL_COLOR, figure_label, figure_style, new_figure, png_bytes


def _line(fit: dict, x) -> np.ndarray:
    return np.exp(float(fit["intercept"]) - float(fit["alpha"]) * np.log(np.asarray(x, dtype=np.float64)))


def _plain_log_ticks(ax) -> None:
    """Loss ticks as 2, 3, 6 rather than 6×10⁰: a loss axis spans less than a decade."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)


def _usable(fit) -> bool:
    return bool(fit) and all(math.isfinite(float(fit.get(k) if fit.get(k) is not None else math.nan))
                             for k in ("alpha", "intercept"))


def loss_vs_parameters(points, fit: dict | None, *, kaplan_alpha: float = 0.076, extrapolate_to: float | None = 175e9) -> bytes:
    """Validation loss against non-embedding parameters (log–log), the fitted power law, GPT-3's extrapolated point.

    Args:
        points: (name, parameters, validation loss) per size.
        fit: {"alpha", "alpha_low", "alpha_high", "intercept"} of log L = intercept − α·log N, or None.
        kaplan_alpha: the published exponent, drawn as a slope through the smallest model.
        extrapolate_to: where the dashed extension ends and the extrapolated point sits (None: no extension).
    """
    pts = sorted((float(n), float(loss), str(name)) for name, n, loss in points if n and loss and math.isfinite(loss))
    with figure_style():
        fig = new_figure(6.4, 3.8)
        ax = fig.subplots()
        if pts:
            n, loss, _names = zip(*pts)
            ax.plot(n, loss, linestyle="none", marker="o", color=TRAIN_COLOR, label=figure_label("measured (this run)"),
                    zorder=3)
            for x, y, name in pts:
                ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 5), fontsize=7, color=INK_COLOR)
            # Kaplan et al.'s slope through the smallest model: the steepness to compare, not their losses
            xs = np.geomspace(n[0], extrapolate_to or n[-1], 50)
            ax.plot(xs, loss[0] * (xs / n[0]) ** -kaplan_alpha, linestyle=":", color=CHANCE_COLOR,
                    label=figure_label("slope of Kaplan et al. 2020, α = {alpha}").format(alpha=f"{kaplan_alpha:g}"))
        if pts and _usable(fit):
            measured = np.geomspace(pts[0][0], pts[-1][0], 50)
            ax.plot(measured, _line(fit, measured), color=VAL_COLOR,
                    label=figure_label("fit: α = {alpha} (95% interval {low} to {high})").format(
                        alpha=f"{fit['alpha']:.3f}", low=f"{fit.get('alpha_low', math.nan):.3f}",
                        high=f"{fit.get('alpha_high', math.nan):.3f}"))
            if extrapolate_to and extrapolate_to > pts[-1][0]:
                beyond = np.geomspace(pts[-1][0], extrapolate_to, 50)
                ax.plot(beyond, _line(fit, beyond), color=VAL_COLOR, linestyle="--",
                        label=figure_label("the fit extended (extrapolation, not measured)"))
                y = float(_line(fit, extrapolate_to))
                ax.plot([extrapolate_to], [y], marker="*", markersize=12, markerfacecolor="white", markeredgecolor=VAL_COLOR,
                        linestyle="none")
                ax.annotate(figure_label("GPT-3, 175B parameters:\nextrapolation, not measured"), (extrapolate_to, y),
                            textcoords="offset points", xytext=(-8, 12), ha="right", fontsize=7.5, color=VAL_COLOR)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xlabel(figure_label("non-embedding parameters N (log scale)"))
        ax.set_ylabel(figure_label("validation loss, nats per character (log scale)"))
        ax.legend(fontsize=7.5, loc="lower left")
        return png_bytes(fig)


def loss_vs_compute(curves: dict, frontier, fit: dict | None) -> bytes:
    """Each size's validation loss over training against compute C ≈ 6·N·tokens (log–log), the frontier and its fit.

    Args:
        curves: size name -> [(compute in FLOPs, validation loss), ...] along its training.
        frontier: the (compute, loss) points no smaller compute beats: the lower envelope.
        fit: the power law fitted to the frontier, or None.
    """
    with figure_style():
        fig = new_figure(6.4, 3.6)
        ax = fig.subplots()
        for name, rows in curves.items():
            rows = [(c, v) for c, v in rows if c and c > 0 and v and math.isfinite(v)]
            if rows:
                ax.plot(*zip(*rows), marker=".", linewidth=1.2, label=name)
        front = sorted((c, v) for c, v in frontier if c > 0 and math.isfinite(v))
        if front:
            ax.plot(*zip(*front), linestyle="none", marker="o", markerfacecolor="none", markeredgecolor=INK_COLOR,
                    markersize=7, label=figure_label("frontier: the lowest loss for its compute"))
        if front and _usable(fit):
            xs = np.geomspace(front[0][0], front[-1][0], 50)
            ax.plot(xs, _line(fit, xs), color=INK_COLOR, linestyle="--",
                    label=figure_label("fit to the frontier: α_C = {alpha}").format(alpha=f"{fit['alpha']:.3f}"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xlabel(figure_label("training compute C ≈ 6·N·tokens, FLOPs (log scale)"))
        ax.set_ylabel(figure_label("validation loss, nats per character (log scale)"))
        ax.legend(fontsize=7.5, loc="upper right", ncols=2)
        return png_bytes(fig)


def fine_tuning_losses(rows) -> bytes:
    """Validation loss (bars) and wall time (dots, right axis) of several fine-tuning methods.

    Args:
        rows: (label, validation loss, seconds) per method.

    Example:
        >>> fine_tuning_losses([("none", 4.1, 0.0), ("LoRA r=8", 3.7, 30.0)])[:4]
        b'\\x89PNG'
    """
    with figure_style():
        fig = new_figure(5.6, 3.0)
        ax = fig.subplots()
        labels = [r[0] for r in rows]
        losses = [r[1] if r[1] is not None else math.nan for r in rows]
        ax.bar(range(len(rows)), losses, color=TRAIN_COLOR, width=0.6)
        for i, v in enumerate(losses):
            if math.isfinite(v):
                ax.annotate(f"{v:.3f}", (i, v), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
        ax.set_xticks(range(len(rows)), labels)
        finite = [v for v in losses if math.isfinite(v)]
        if finite:
            ax.set_ylim(min(finite) * 0.9, max(finite) * 1.04)
        ax.set_ylabel(figure_label("validation loss (nats per character)"))
        ax.set_axisbelow(True)
        right = ax.twinx()
        right.plot(range(len(rows)), [r[2] for r in rows], linestyle="none", marker="D", color=VAL_COLOR)
        right.set_ylabel(figure_label("wall time of the fine-tuning (s)"), color=VAL_COLOR, fontsize=8)
        right.set_ylim(bottom=0)
        right.grid(False)
        return png_bytes(fig)


def fine_tuning_curves(curves: dict, base: float | None = None) -> bytes:
    """Validation loss against the fine-tuning step, one line per method, the base model's loss as a flat line.

    Args:
        curves: method label -> [(step, validation loss), ...].
        base: the loss without fine-tuning, or None.

    Example:
        >>> fine_tuning_curves({"LoRA r=8": [(0, 4.2), (50, 3.9)]}, 4.2)[:4]
        b'\\x89PNG'
    """
    with figure_style():
        fig = new_figure(5.6, 3.0)
        ax = fig.subplots()
        for label, rows in curves.items():
            rows = [(s, v) for s, v in rows if v is not None and math.isfinite(v)]
            if rows:
                ax.plot(*zip(*rows), marker=".", label=label)
        if base is not None and math.isfinite(base):
            ax.axhline(base, color=CHANCE_COLOR, linestyle="--", label=figure_label("no fine-tuning"))
        ax.set_xlabel(figure_label("fine-tuning step"))
        ax.set_ylabel(figure_label("validation loss (nats per character)"))
        ax.legend(fontsize=8, loc="lower left")
        return png_bytes(fig)
