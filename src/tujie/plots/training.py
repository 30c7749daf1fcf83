"""Figures of training: curves per metric, the learning rate, gradient norms per layer."""

from __future__ import annotations

import math

from .style import (NEUTRAL_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, _as_float, _finite, _positive_or_nan,
                    figure_label, figure_style, new_figure, png_bytes)

# Keys of metrics.jsonl that are bookkeeping, not something the model is judged by.
# The gradient norms have a section of their own (`gradient_norms`).
_BOOKKEEPING = {"epoch", "step", "steps", "lr", "learning_rate", "epoch_time_s", "time_s",
                "samples_per_s", "batches", "elapsed_s", "grad_norm", "grad_norm_max"}


def curve_panels(history: list[dict]) -> list[str]:
    """Names of the metrics to plot as curves, loss first, in order of first appearance.

    A metric `m` gets one panel holding its training values (`m`) and, where the run
    logged them, its validation values (`val_m`). Bookkeeping keys (epoch, lr, timings)
    are left out.

    Args:
        history: the records of metrics.jsonl, one dict per epoch.

    Returns:
        The base metric names, e.g. ["loss", "accuracy"].

    Example:
        >>> curve_panels([{"epoch": 1, "accuracy": 0.9, "loss": 0.3, "val_loss": 0.2, "lr": 1e-3}])
        ['loss', 'accuracy']
    """
    names: list[str] = []
    for record in history:
        for key, value in record.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            base = key[4:] if key.startswith("val_") else key
            if base not in _BOOKKEEPING and base not in names:
                names.append(base)
    return sorted(names, key=lambda name: (name != "loss", names.index(name)))


def _metric_title(name: str) -> str:
    """A metric's name as a panel title or axis label: the common ones in the report's language."""
    text = str(name).replace("_", " ")
    common = {"loss": figure_label("loss"), "accuracy": figure_label("accuracy"),
              "top5 accuracy": figure_label("top5 accuracy"), "precision": figure_label("precision"),
              "recall": figure_label("recall"), "token accuracy": figure_label("token accuracy"),
              "mae": figure_label("mae"), "rmse": figure_label("rmse"), "mse": figure_label("mse")}
    return common.get(text, text)


def _epochs(history: list[dict]) -> list[float]:
    return [_as_float(r.get("epoch", i + 1)) for i, r in enumerate(history)]


def training_curves(history: list[dict], best_epoch: int | None = None,
                    show_lr: bool = True) -> bytes | None:
    """Train vs validation curves, one panel per metric (loss first), x = epoch.

    Args:
        history: the records of metrics.jsonl, one dict per epoch.
        best_epoch: epoch to mark with a dotted vertical line and a star, or None.
        show_lr: add a learning-rate panel when the per-epoch `lr` changes (the report
            passes False: it draws the schedule in a section of its own).

    Returns:
        PNG bytes, or None when the history holds no metric to plot.

    Example:
        >>> png = training_curves([{"epoch": 1, "loss": 0.5, "val_loss": 0.4},
        ...                        {"epoch": 2, "loss": 0.3, "val_loss": 0.35}], best_epoch=2)
        >>> png[:4]
        b'\\x89PNG'
    """
    panels = curve_panels(history)[:9]
    learning_rates = [_as_float(r.get("lr", r.get("learning_rate"))) for r in history]
    finite_lr = {lr for lr in learning_rates if math.isfinite(lr)}
    show_lr = show_lr and len(finite_lr) > 1  # a constant learning rate is a line with nothing to read
    count = len(panels) + show_lr
    if count == 0:
        return None
    columns = min(count, 3)
    rows = math.ceil(count / columns)
    epochs = _epochs(history)
    marker = "o" if len(history) <= 40 else None
    with figure_style():
        from matplotlib.ticker import MaxNLocator

        fig = new_figure(3.6 * columns if columns > 1 else 6.0, 2.9 * rows)
        axes = fig.subplots(rows, columns, squeeze=False).ravel()
        for ax, name in zip(axes, panels):
            for key, label, color in ((name, figure_label("train"), TRAIN_COLOR),
                                      (f"val_{name}", figure_label("validation"), VAL_COLOR)):
                values = [_as_float(r.get(key)) for r in history]
                if any(math.isfinite(v) for v in values):
                    ax.plot(epochs, values, color=color, label=label, marker=marker,
                            markersize=3.5, linewidth=1.8)
            if best_epoch is not None:
                ax.axvline(best_epoch, color="#6b7280", linestyle=":", linewidth=1.3,
                           label=figure_label("best epoch ({epoch})").format(epoch=best_epoch))
                _star_best(ax, history, epochs, name, best_epoch)
            ax.set_title(_metric_title(name))
            ax.set_xlabel(figure_label("epoch"))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if show_lr:
            ax = axes[len(panels)]
            ax.plot(epochs, learning_rates, color=NEUTRAL_COLOR, marker=marker, markersize=3,
                    linewidth=1.8, label=figure_label("learning rate"))
            ax.set_title(figure_label("learning rate"))
            ax.set_xlabel(figure_label("epoch"))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if min(finite_lr) > 0 and max(finite_lr) / min(finite_lr) > 20:
                ax.set_yscale("log")  # a decaying schedule spans decades: linear hides the tail
            else:
                ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        for ax in axes[count:]:
            ax.set_visible(False)
        if panels:
            axes[0].legend(loc="best", fontsize=8)
        return png_bytes(fig)


def _star_best(ax, history, epochs, name, best_epoch) -> None:
    """Put a star on the validation curve (or the training one) at the best epoch."""
    for key, color in ((f"val_{name}", VAL_COLOR), (name, TRAIN_COLOR)):
        for epoch, record in zip(epochs, history):
            value = _as_float(record.get(key))
            if epoch == best_epoch and math.isfinite(value):
                ax.plot([epoch], [value], marker="*", markersize=11, color=color,
                        markeredgecolor="white", zorder=5)
                return


def spans_decades(values, decades: float = 1.0) -> bool:
    """Whether positive `values` span more than `decades` powers of ten (then plot them log-y).

    Example:
        >>> spans_decades([0.1, 0.05]), spans_decades([0.1, 0.001]), spans_decades([0.0, 1.0])
        (False, True, False)
    """
    finite = _finite([_as_float(v) for v in values])
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 10 ** decades


def learning_rate_curve(x, learning_rates, x_label: str = "epoch") -> bytes:
    """The learning rate against training progress, log-y when it spans more than a decade.

    Args:
        x: the positions, in epochs (step / steps_per_epoch) or steps.
        learning_rates: the learning rate at each position.
        x_label: the x axis's name.

    Returns:
        PNG bytes.

    Raises:
        ValueError: no finite learning rate to draw.

    Example:
        >>> learning_rate_curve([0, 0.5, 1.0, 1.5], [0.1, 0.1, 0.01, 0.001])[:4]
        b'\\x89PNG'
    """
    xs, rates = [_as_float(v) for v in x], [_as_float(v) for v in learning_rates]
    count = min(len(xs), len(rates))
    xs, rates = xs[:count], rates[:count]
    finite = _finite(rates)
    if not finite:
        raise ValueError("at least one finite learning rate; received none")
    log = spans_decades(finite)
    # the report passes "epoch" or "optimizer step": drawn in the report's language
    x_label = {"epoch": figure_label("epoch"), "optimizer step": figure_label("optimizer step")}.get(x_label, x_label)
    with figure_style():
        fig = new_figure(6.4, 2.9)
        ax = fig.subplots()
        marker = "o" if count <= 40 else None
        ax.plot(xs, _positive_or_nan(rates) if log else rates, color=TRAIN_COLOR, linewidth=1.8,
                marker=marker, markersize=3.5, label=figure_label("learning rate"))
        peak = rates.index(max(finite))
        if 0 < peak < count - 1 and max(finite) > rates[0]:  # a warm-up: say where it ends
            ax.plot([xs[peak]], [rates[peak]], marker="*", markersize=11, color=VAL_COLOR,
                    markeredgecolor="white", linestyle="none", zorder=5,
                    label=figure_label("peak {rate} ({axis} {position})").format(
                        rate=f"{rates[peak]:.3g}", axis=x_label, position=f"{xs[peak]:.3g}"))
        if log:
            ax.set_yscale("log")
        else:
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        ax.set_title(figure_label("learning-rate schedule (log scale)") if log
                     else figure_label("learning-rate schedule"))
        ax.set_xlabel(x_label)
        ax.set_ylabel(figure_label("learning rate"))
        ax.legend(loc="best", fontsize=8)
        return png_bytes(fig)


def _layer_series(layer_stats: list[dict]) -> dict[str, tuple[list[float], list[float]]]:
    """grad_stats.jsonl records -> {layer name: (steps, gradient norms)} in order of appearance."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for index, record in enumerate(layer_stats):
        layers = record.get("layers") if isinstance(record, dict) else None
        if not isinstance(layers, dict):
            continue
        step = _as_float(record.get("step", index))
        for name, stats in layers.items():
            if isinstance(stats, dict):
                steps, norms = series.setdefault(str(name), ([], []))
                steps.append(step)
                norms.append(_as_float(stats.get("grad_norm")))
    return {name: s for name, s in series.items() if _finite(s[1])}


def labelled_layers(names: list[str], limit: int = 12) -> list[str]:
    """At most `limit` layer names, spread evenly from the first layer to the last.

    Example:
        >>> labelled_layers([f"{i}.weight" for i in range(30)], limit=3)
        ['0.weight', '14.weight', '29.weight']
    """
    if len(names) <= limit:
        return list(names)
    picks = sorted({round(i * (len(names) - 1) / (limit - 1)) for i in range(limit)})
    return [names[i] for i in picks]


def gradient_norms(history: list[dict], layer_stats: list[dict] | None = None,
                   clip: float | None = None) -> bytes | None:
    """Gradient norms (log-y): the global norm per epoch and, when recorded, each layer's per step.

    Args:
        history: the records of metrics.jsonl; `grad_norm` (the epoch's mean global L2 norm,
            before clipping) and `grad_norm_max` (its largest step) are drawn against epoch.
        layer_stats: the records of grad_stats.jsonl, `{"step", "epoch", "layers": {name:
            {"grad_norm", "weight_norm"}}}`; one line per layer against step, at most 12 in
            colour (spread from the first layer to the last) and the rest in grey.
        clip: the `clip_grad_norm` the run used, drawn as a dashed line on the global panel.

    Returns:
        PNG bytes, or None when there is no gradient norm to draw.

    Example:
        >>> png = gradient_norms([{"epoch": 1, "grad_norm": 2.0, "grad_norm_max": 9.0},
        ...                       {"epoch": 2, "grad_norm": 1.0, "grad_norm_max": 3.0}], clip=5.0)
        >>> png[:4]
        b'\\x89PNG'
    """
    epochs = _epochs(history)
    mean = [_as_float(r.get("grad_norm")) for r in history]
    peak = [_as_float(r.get("grad_norm_max")) for r in history]
    has_global = bool(_finite(mean) or _finite(peak))
    layers = _layer_series(layer_stats or [])
    if not has_global and not layers:
        return None
    clip = _as_float(clip)
    with figure_style():
        from matplotlib import colormaps
        from matplotlib.ticker import MaxNLocator

        count = int(has_global) + int(bool(layers))
        fig = new_figure(4.6 * count + (1.6 if layers else 0.0), 3.1)
        axes = list(fig.subplots(1, count, squeeze=False)[0])
        if has_global:
            ax = axes.pop(0)
            marker = "o" if len(history) <= 40 else None
            for values, label, color in ((mean, figure_label("mean over the epoch"), TRAIN_COLOR),
                                         (peak, figure_label("largest step of the epoch"), VAL_COLOR)):
                if _finite(values):
                    ax.plot(epochs, _positive_or_nan(values), color=color, label=label,
                            marker=marker, markersize=3.5, linewidth=1.8)
            if math.isfinite(clip) and clip > 0:
                ax.axhline(clip, color=WRONG_COLOR, linestyle="--", linewidth=1.2,
                           label=f"clip_grad_norm = {clip:g}")
            ax.set_yscale("log")
            ax.set_title(figure_label("global gradient norm"))
            ax.set_xlabel(figure_label("epoch"))
            ax.set_ylabel(figure_label("L2 norm (before clipping)"))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(loc="best", fontsize=8)
        if layers:
            ax = axes.pop(0)
            names = list(layers)
            labelled = labelled_layers(names)
            others = [n for n in names if n not in labelled]
            for name in others:  # grey first, so the labelled layers are drawn on top
                steps, norms = layers[name]
                ax.plot(steps, _positive_or_nan(norms), color=NEUTRAL_COLOR, linewidth=0.7,
                        alpha=0.6, label=figure_label("{count} other layers").format(count=len(others))
                        if name == others[0] else None)
            palette = colormaps["viridis"]
            for rank, name in enumerate(labelled):
                steps, norms = layers[name]
                color = palette(0.9 * rank / max(len(labelled) - 1, 1))  # dark = first layer
                ax.plot(steps, _positive_or_nan(norms), color=color, linewidth=1.4, label=name)
            ax.set_yscale("log")
            ax.set_title(figure_label("gradient norm per layer"))
            ax.set_xlabel(figure_label("optimizer step"))
            ax.set_ylabel(figure_label("L2 norm"))
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                      title=figure_label("first → last layer"), title_fontsize=7)
        return png_bytes(fig, tight=True)


def scalar_metrics(records: list[dict]) -> list[str]:
    """The keys holding a number (not a bool) in any of `records`, in order of appearance.

    Example:
        >>> scalar_metrics([{"accuracy": 0.9, "loss": 0.3, "name": "a", "ok": True}])
        ['accuracy', 'loss']
    """
    names: list[str] = []
    for record in records:
        for key, value in record.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in names:
                names.append(key)
    return names
