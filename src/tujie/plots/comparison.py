"""Figures that compare several models: cross-validation folds, ensemble members, overfitting-lab variants."""

from __future__ import annotations

import math

from .style import (BETTER_COLOR, INK_COLOR, NEUTRAL_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, _as_float, _finite,
                    class_colors, figure_label, figure_style, new_figure, plain_text, png_bytes)
from .training import _epochs, _metric_title, scalar_metrics


def cross_validation_boxes(folds: list[dict], metrics: list[str] | None = None) -> bytes:
    """A box plot per scalar metric over the folds, each fold's value drawn as a point.

    Args:
        folds: one dict of metrics per fold, e.g. [{"accuracy": 0.97, "loss": 0.1}, ...].
        metrics: the metrics to draw (default: every scalar metric, at most 6).

    Returns:
        PNG bytes.

    Example:
        >>> cross_validation_boxes([{"accuracy": 0.9}, {"accuracy": 0.92}, {"accuracy": 0.95}])[:4]
        b'\\x89PNG'
    """
    import numpy as np

    names = (metrics or scalar_metrics(folds))[:6]
    if not names or not folds:
        raise ValueError("folds with at least one scalar metric; received none")
    with figure_style():
        fig = new_figure(1.2 + 2.3 * len(names), 3.3)
        axes = fig.subplots(1, len(names), squeeze=False)[0]
        for ax, name in zip(axes, names):
            values = [_as_float(f.get(name)) for f in folds]
            finite = _finite(values)
            if not finite:
                ax.set_visible(False)
                continue
            ax.boxplot([finite], widths=0.5, showmeans=True, medianprops={"color": INK_COLOR},
                       meanprops={"marker": "^", "markerfacecolor": VAL_COLOR, "markeredgecolor": VAL_COLOR})
            jitter = np.linspace(-0.12, 0.12, len(finite)) if len(finite) > 1 else [0.0]
            ax.scatter(1 + np.asarray(jitter), finite, s=18, color=TRAIN_COLOR, zorder=3,
                       label=figure_label("one fold"))
            ax.plot([], [], marker="^", color=VAL_COLOR, linestyle="none", label=figure_label("mean"))
            ax.set_xticks([1], [_metric_title(name)])
            ax.set_ylabel(_metric_title(name))
            ax.set_title(f"{np.mean(finite):.3g} ± {np.std(finite, ddof=1) if len(finite) > 1 else 0.0:.2g}")
        axes[0].legend(loc="best", fontsize=8)
        fig.suptitle(figure_label("{folds}-fold cross-validation (mean ± std over the folds)").format(folds=len(folds)),
                     fontsize=10,
                     fontweight="bold", color=INK_COLOR)
        return png_bytes(fig)


def ensemble_bars(names: list[str], values: list[float], ensemble_value: float,
                  metric: str = "accuracy") -> bytes:
    """One bar per member and one for the ensemble (highlighted), the mean member dashed.

    The y axis is zoomed onto the values, since members usually differ by a point or two.

    Args:
        names: the members' names.
        values: each member's score.
        ensemble_value: the ensemble's score.
        metric: the score's name (the y label).

    Returns:
        PNG bytes.

    Example:
        >>> ensemble_bars(["member 1", "member 2"], [0.95, 0.96], 0.97)[:4]
        b'\\x89PNG'
    """
    scores = [_as_float(v) for v in values]
    ensemble_value = _as_float(ensemble_value)
    everything = _finite(scores + [ensemble_value])
    if not everything:
        raise ValueError("at least one finite score; received none")
    low, high = min(everything), max(everything)
    span = (high - low) or abs(high) * 0.05 or 1.0
    bottom = low - 0.8 * span
    if low >= 0 and bottom < 0:
        bottom = 0.0
    labels = [str(n) for n in names] + [figure_label("ensemble")]
    heights = [v if math.isfinite(v) else math.nan for v in scores] + [ensemble_value]
    member_mean = sum(_finite(scores)) / len(_finite(scores)) if _finite(scores) else math.nan
    with figure_style():
        fig = new_figure(max(4.0, 1.4 + 0.55 * len(labels)), 3.3)
        ax = fig.subplots()
        colors = [NEUTRAL_COLOR] * len(scores) + [TRAIN_COLOR]
        bars = ax.bar(range(len(labels)), [h - bottom if math.isfinite(h) else 0.0 for h in heights],
                      bottom=bottom, color=colors, width=0.7)
        bars[-1].set_label(figure_label("ensemble"))
        if scores:
            bars[0].set_label(figure_label("members"))
        for x, h in enumerate(heights):
            if math.isfinite(h):
                ax.text(x, h + 0.03 * span, f"{h:.4g}", ha="center", va="bottom", fontsize=7, color=INK_COLOR)
        if math.isfinite(member_mean):
            ax.axhline(member_mean, color=INK_COLOR, linestyle="--", linewidth=1.0,
                       label=figure_label("mean member {value}").format(value=f"{member_mean:.4g}"))
        ax.set_ylim(bottom, high + 0.35 * span)
        rotate = len(labels) > 6 or max(map(len, labels)) > 10
        ax.set_xticks(range(len(labels)), labels, rotation=45 if rotate else 0,
                      ha="right" if rotate else "center", fontsize=8)
        ax.set_ylabel(_metric_title(metric))
        ax.set_title(figure_label("{metric} of each member and of the ensemble").format(metric=_metric_title(metric)))
        ax.legend(loc="upper left", fontsize=8)
        return png_bytes(fig, tight=True)


def _lab_metric(variants: list[dict]) -> str:
    for variant in variants:
        for record in variant.get("history") or []:
            if isinstance(record, dict) and ("val_accuracy" in record or "accuracy" in record):
                return "accuracy"
    return "loss"


def overfitting_lab_curves(variants: list[dict]) -> bytes:
    """Small multiples: one panel per variant, training vs validation accuracy, shared y axis.

    Args:
        variants: lab.json's variants, each {"name", "history": [{"epoch", "accuracy",
            "val_accuracy", ...}], "stopped_epoch"}; a dotted line marks where early stopping
            stopped a variant. Without accuracies the losses are drawn.

    Returns:
        PNG bytes.

    Example:
        >>> overfitting_lab_curves([{"name": "baseline", "history": [
        ...     {"epoch": 1, "accuracy": 0.8, "val_accuracy": 0.78},
        ...     {"epoch": 2, "accuracy": 0.95, "val_accuracy": 0.8}]}])[:4]
        b'\\x89PNG'
    """
    variants = [v for v in variants if isinstance(v, dict)]
    if not variants:
        raise ValueError("at least one variant; received none")
    metric = _lab_metric(variants)
    columns = min(len(variants), 4)
    rows = math.ceil(len(variants) / columns)
    with figure_style():
        from matplotlib.ticker import MaxNLocator

        fig = new_figure(max(2.7 * columns, 5.0), 2.5 * rows + 0.3)
        axes = fig.subplots(rows, columns, squeeze=False, sharey=True).ravel()
        for ax, variant in zip(axes, variants):
            history = [r for r in variant.get("history") or [] if isinstance(r, dict)]
            epochs = _epochs(history)
            marker = "o" if len(history) <= 30 else None
            for key, label, color in ((metric, figure_label("train"), TRAIN_COLOR),
                                      (f"val_{metric}", figure_label("validation"), VAL_COLOR)):
                ax.plot(epochs, [_as_float(r.get(key)) for r in history], color=color, label=label,
                        marker=marker, markersize=2.5, linewidth=1.6)
            stopped = variant.get("stopped_epoch")
            if isinstance(stopped, (int, float)) and not isinstance(stopped, bool):
                ax.axvline(stopped, color=INK_COLOR, linestyle=":", linewidth=1.2,
                           label=figure_label("early stop (epoch {epoch})").format(epoch=f"{stopped:g}"))
            ax.set_title(str(variant.get("name", "?")))
            ax.set_xlabel(figure_label("epoch"))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel(_metric_title(metric))
            ax.legend(loc="best", fontsize=7)
        for ax in axes[len(variants):]:
            ax.set_visible(False)
        return png_bytes(fig)


def gap_bars(names: list[str], gaps: list[float], unit: str = "points") -> bytes:
    """The overfitting gap (train minus test accuracy) of each variant; the first is the baseline.

    A variant narrower than the baseline is green, a wider one red; the baseline's gap is
    the dashed line.

    Args:
        names: the variants' names, baseline first.
        gaps: each variant's gap, already in `unit`.
        unit: the gaps' unit for the y label.

    Returns:
        PNG bytes.

    Example:
        >>> gap_bars(["baseline", "dropout"], [12.0, 4.5])[:4]
        b'\\x89PNG'
    """
    from matplotlib.patches import Patch

    values = [_as_float(g) for g in gaps]
    if not values:
        raise ValueError("at least one variant; received none")
    baseline = values[0]
    colors = [INK_COLOR] + [BETTER_COLOR if math.isfinite(v) and math.isfinite(baseline) and v < baseline
                            else WRONG_COLOR for v in values[1:]]
    with figure_style():
        fig = new_figure(max(4.2, 1.4 + 0.8 * len(values)), 3.1)
        ax = fig.subplots()
        ax.bar(range(len(values)), [v if math.isfinite(v) else 0.0 for v in values], color=colors, width=0.65)
        for x, v in enumerate(values):
            if math.isfinite(v):
                ax.text(x, v, f"{v:.1f}", ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
        if math.isfinite(baseline):
            ax.axhline(baseline, color=INK_COLOR, linestyle="--", linewidth=0.9)
        ax.axhline(0.0, color="#c4c8d0", linewidth=0.8)
        labels = [str(n) for n in names][:len(values)]
        rotate = len(labels) > 5 or max(map(len, labels), default=0) > 12
        ax.set_xticks(range(len(labels)), labels, rotation=30 if rotate else 0,
                      ha="right" if rotate else "center", fontsize=8)
        unit = {"points": figure_label("points"), "units": figure_label("units")}.get(unit, unit)
        ax.set_ylabel(figure_label("train − test accuracy ({unit})").format(unit=unit))
        ax.set_title(figure_label("overfitting gap per variant (lower is better)"))
        ax.legend(handles=[Patch(color=INK_COLOR, label=figure_label("baseline (dashed)")),
                           Patch(color=BETTER_COLOR, label=figure_label("narrower than baseline")),
                           Patch(color=WRONG_COLOR, label=figure_label("as wide or wider"))],
                  loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)  # beside the bars, never over them
        return png_bytes(fig, tight=True)


def runs_curves(histories: dict[str, list[dict]], metrics: tuple[str, ...] = ("loss", "accuracy")) -> bytes | None:
    """Several runs' learning curves overlaid: one panel per metric, one colour per run,
    training solid and validation dashed.

    Args:
        histories: run name -> its per-epoch records (metrics.jsonl), e.g. {"a": [{"epoch": 1, "loss": 0.5}]}.
        metrics: the panels, each drawn when some run logged it (or its `val_` twin).

    Returns:
        PNG bytes, or None when no run logged any of the metrics.

    Example:
        >>> runs_curves({"a": [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}],
        ...              "b": [{"epoch": 1, "loss": 0.6}, {"epoch": 2, "loss": 0.3}]})[:4]
        b'\\x89PNG'
    """
    def logged(key):
        return any(_finite([_as_float(r.get(key)) for r in h]) for h in histories.values())

    panels = [m for m in metrics if logged(m) or logged(f"val_{m}")]
    if not panels:
        return None
    with figure_style():
        from matplotlib.ticker import MaxNLocator

        fig = new_figure(1.0 + 3.8 * len(panels), 3.2)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        colors = class_colors(max(len(histories), 1))
        for ax, name in zip(axes, panels):
            for color, (run, history) in zip(colors, histories.items()):
                epochs = _epochs(history)
                marker = "o" if len(history) <= 40 else None  # a one-epoch run is a point, not an empty panel
                for key, style, part in ((name, "-", figure_label("train")), (f"val_{name}", "--", figure_label("validation"))):
                    values = [_as_float(r.get(key)) for r in history]
                    if _finite(values):
                        ax.plot(epochs, values, style, color=color, marker=marker, markersize=3,
                                label=f"{plain_text(run)} · {part}")
            ax.set_title(_metric_title(name))
            ax.set_xlabel(figure_label("epoch"))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no 1.2, 1.4 ticks
        axes[-1].legend(loc="best", fontsize=7)
        return png_bytes(fig)
