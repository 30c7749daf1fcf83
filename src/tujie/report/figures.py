"""The report's figures: matplotlib drawings returned as PNG bytes, ready to embed.

Every function builds a `matplotlib.figure.Figure` directly instead of going through
`pyplot`: the figure is rendered by the Agg (raster) engine without a window, it is never
registered with pyplot's global figure list (so nothing can leak or pile up across
reports), and the caller's own pyplot backend is left alone - calling
`matplotlib.use("Agg")` here would silently break plotting in the user's notebook.
matplotlib is imported inside the functions so that `import tujie` stays fast.

Colours are shared with the HTML page: train vs validation, correct vs wrong (blue for a
correct prediction and red for a wrong one, as in the MNIST walkthrough).
"""

from __future__ import annotations

import io
import math
from contextlib import contextmanager

TRAIN_COLOR = "#4f46e5"     # indigo: training curves
VAL_COLOR = "#ea8a0c"       # amber: validation curves
CORRECT_COLOR = "#1f5fd1"   # blue: correct prediction / true class bar
WRONG_COLOR = "#d62728"     # red: wrong prediction / predicted class bar
NEUTRAL_COLOR = "#a3a9b5"   # grey: the other probability bars, the learning-rate curve
INK_COLOR = "#1f2937"       # text and axes
BETTER_COLOR = "#15803d"    # green: a variant that narrows the overfitting gap
CHANCE_COLOR = "#9ca3af"    # light grey: chance lines, perfect-calibration diagonals

DPI = 110  # small files: the MNIST report stays well under 2 MB

# Keys of metrics.jsonl that are bookkeeping, not something the model is judged by.
# The gradient norms have a section of their own (`gradient_norms`).
_BOOKKEEPING = {"epoch", "step", "steps", "lr", "learning_rate", "epoch_time_s", "time_s",
                "samples_per_s", "batches", "elapsed_s", "grad_norm", "grad_norm_max"}
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
              "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei")


@contextmanager
def _style():
    """A calm, consistent look for every figure, without touching the caller's rcParams."""
    import matplotlib
    from matplotlib import font_manager

    # Class names may be Chinese: put an installed CJK font after DejaVu Sans so Latin text
    # keeps its look and CJK glyphs fall back instead of printing as empty boxes.
    installed = {f.name for f in font_manager.fontManager.ttflist}
    fonts = ["DejaVu Sans"] + [f for f in _CJK_FONTS if f in installed]
    rc = {
        "font.family": "sans-serif", "font.sans-serif": fonts, "font.size": 9,
        "axes.edgecolor": "#c4c8d0", "axes.labelcolor": INK_COLOR, "axes.titlesize": 10,
        "axes.titleweight": "bold", "axes.titlecolor": INK_COLOR, "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.color": "#e8eaef",
        "grid.linewidth": 0.8, "xtick.color": "#4b5563", "ytick.color": "#4b5563",
        "legend.frameon": False, "figure.facecolor": "white", "savefig.facecolor": "white",
        "image.interpolation": "nearest",
    }
    with matplotlib.rc_context(rc):
        yield


def _new_figure(width: float, height: float, layout: str | None = "constrained"):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout=layout)


def png_bytes(fig, tight: bool = False) -> bytes:
    """Render a matplotlib Figure to PNG bytes at the report's dpi and release it.

    Args:
        fig: a `matplotlib.figure.Figure`.
        tight: crop to the drawn content (costs one more layout pass; use it where long
            tick labels could otherwise be cut at the figure's edge).

    Returns:
        The PNG file as bytes (no timestamp or software tag, so output is reproducible).

    Example:
        >>> from matplotlib.figure import Figure
        >>> png_bytes(Figure(figsize=(1, 1)))[:4]
        b'\\x89PNG'
    """
    buffer = io.BytesIO()
    extra = {"bbox_inches": "tight", "pad_inches": 0.08} if tight else {}
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, **extra)
    fig.clear()  # drop the artists now rather than whenever the garbage collector runs
    return buffer.getvalue()


def _as_float(value) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


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
    with _style():
        from matplotlib.ticker import MaxNLocator

        fig = _new_figure(3.6 * columns if columns > 1 else 6.0, 2.9 * rows)
        axes = fig.subplots(rows, columns, squeeze=False).ravel()
        for ax, name in zip(axes, panels):
            for key, label, color in ((name, "train", TRAIN_COLOR),
                                      (f"val_{name}", "validation", VAL_COLOR)):
                values = [_as_float(r.get(key)) for r in history]
                if any(math.isfinite(v) for v in values):
                    ax.plot(epochs, values, color=color, label=label, marker=marker,
                            markersize=3.5, linewidth=1.8)
            if best_epoch is not None:
                ax.axvline(best_epoch, color="#6b7280", linestyle=":", linewidth=1.3,
                           label=f"best epoch ({best_epoch})")
                _star_best(ax, history, epochs, name, best_epoch)
            ax.set_title(name.replace("_", " "))
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if show_lr:
            ax = axes[len(panels)]
            ax.plot(epochs, learning_rates, color=NEUTRAL_COLOR, marker=marker, markersize=3,
                    linewidth=1.8, label="learning rate")
            ax.set_title("learning rate")
            ax.set_xlabel("epoch")
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


def confusion_matrix(matrix, classes: list[str]) -> bytes:
    """Heatmap of a confusion matrix: rows = true class, columns = predicted class.

    Colour is the share of each row (so a rare class's mistakes are as visible as a common
    one's); the counts are written in the cells when there are at most 20 classes.

    Args:
        matrix: K x K counts (nested lists or array), rows = true class.
        classes: the K class names, used on both axes.

    Returns:
        PNG bytes.

    Example:
        >>> confusion_matrix([[5, 1], [0, 4]], ["cat", "dog"])[:4]
        b'\\x89PNG'
    """
    import numpy as np

    counts = np.asarray(matrix, dtype=np.float64)  # (K, K)
    k = counts.shape[0]
    row_sums = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_sums, out=np.zeros_like(counts), where=row_sums > 0)
    size = min(max(0.42 * k + 2.2, 4.6), 11.0)
    with _style():
        fig = _new_figure(size + 1.0, size)
        ax = fig.subplots()
        image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0, aspect="equal")
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        if k <= 20:
            fontsize = 9 if k <= 10 else 7
            for i in range(k):
                for j in range(k):
                    if counts[i, j] == 0:
                        continue
                    ax.text(j, i, f"{int(counts[i, j]):d}", ha="center", va="center",
                            fontsize=fontsize, color="white" if shares[i, j] > 0.55 else INK_COLOR)
        step = max(1, math.ceil(k / 30))  # keep tick labels readable for 100+ classes
        ticks = list(range(0, k, step))
        labels = [str(classes[i]) if i < len(classes) else str(i) for i in ticks]
        ax.set_xticks(ticks, labels, rotation=45 if max(map(len, labels), default=0) > 2 or k > 12
                      else 0, ha="right" if k > 12 or max(map(len, labels), default=0) > 2 else "center",
                      fontsize=8)
        ax.set_yticks(ticks, labels, fontsize=8)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        colorbar = fig.colorbar(image, ax=ax, shrink=0.8, fraction=0.05)
        colorbar.set_label("share of the true class's examples")
        colorbar.outline.set_visible(False)
        return png_bytes(fig, tight=True)


def _display_image(image):
    """(C, H, W) or (H, W) in [0, 1] -> (array for imshow, is_grayscale)."""
    import numpy as np

    image = np.nan_to_num(np.asarray(image, dtype=np.float32))
    if image.max(initial=0.0) > 1.0:  # 0..255 pixels despite the contract: still show them
        image = image / 255.0
    image = image.clip(0.0, 1.0)
    if image.ndim == 3 and image.shape[0] == 1:
        return image[0], True  # (H, W)
    if image.ndim == 3 and image.shape[0] in (3, 4):
        return image.transpose(1, 2, 0), False  # (H, W, C)
    if image.ndim == 2:
        return image, True
    raise ValueError(f"an image of shape (C, H, W) with C = 1 or 3; received {tuple(image.shape)}")


def prediction_grid(images, probs, labels, classes: list[str] | None = None,
                    columns: int = 3, max_rows: int = 5) -> bytes:
    """The MNIST walkthrough's figure: each image beside a bar chart of its class probabilities.

    Under each image: "predicted confidence% (true)", in blue when the prediction is correct
    and red when it is wrong. In the bar chart the predicted class's bar is red and the true
    class's bar blue (a correct prediction therefore shows one blue bar).

    Args:
        images: (N, C, H, W) or (N, H, W) floats in [0, 1]; C = 1 (shown dark-on-white) or 3.
        probs: (N, K) class probabilities.
        labels: (N,) true class indices.
        classes: the K class names (default: the indices).
        columns: image/bar pairs per row.
        max_rows: at most this many rows (columns * max_rows examples) are drawn.

    Returns:
        PNG bytes.

    Example:
        >>> import numpy as np
        >>> png = prediction_grid(np.random.rand(4, 1, 28, 28), np.full((4, 10), 0.1), np.arange(4))
        >>> png[:4]
        b'\\x89PNG'
    """
    import numpy as np

    probs = np.nan_to_num(np.asarray(probs, dtype=np.float64))  # (N, K)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)    # (N,)
    count = min(len(images), len(probs), len(labels), columns * max_rows)
    if count == 0:
        raise ValueError("at least one example; received none")
    k = probs.shape[1]
    classes = [str(c) for c in classes] if classes else [str(i) for i in range(k)]
    names = classes + [str(i) for i in range(len(classes), k)]
    rows = math.ceil(count / columns)
    columns = min(columns, count)
    with _style():
        # Fixed margins instead of constrained layout: with 30 axes the layout solver would
        # cost more than the drawing itself.
        row_height = 1.9
        fig = _new_figure(3.5 * columns, row_height * rows, layout=None)
        grid = fig.add_gridspec(rows, 2 * columns, width_ratios=[1.0, 1.45] * columns,
                                left=0.01, right=0.99, top=1 - 0.06 / rows,
                                bottom=0.34 / (row_height * rows), wspace=0.12, hspace=0.42)
        for n in range(count):
            row, column = divmod(n, columns)
            predicted = int(np.argmax(probs[n]))
            true = int(labels[n])
            color = CORRECT_COLOR if predicted == true else WRONG_COLOR
            ax_image = fig.add_subplot(grid[row, 2 * column])
            pixels, gray = _display_image(images[n])
            # cmap "binary" draws ink dark on white, as in the walkthrough
            ax_image.imshow(pixels, cmap="binary" if gray else None, vmin=0.0, vmax=1.0)
            ax_image.set_xticks([])
            ax_image.set_yticks([])
            ax_image.grid(False)
            for spine in ax_image.spines.values():
                spine.set_visible(False)
            true_name = names[true] if 0 <= true < k else str(true)
            caption = f"{names[predicted]} {100 * probs[n, predicted]:.0f}% ({true_name})"
            if len(caption) > 18:  # long class names (CIFAR's "automobile") would run under the next chart
                caption = caption.replace(" (", "\n(", 1)
            ax_image.set_xlabel(caption, color=color, fontsize=9, fontweight="bold")

            ax_bars = fig.add_subplot(grid[row, 2 * column + 1])
            bars = ax_bars.bar(range(k), probs[n], color=NEUTRAL_COLOR, width=0.75)
            bars[predicted].set_color(WRONG_COLOR)
            if 0 <= true < k:
                bars[true].set_color(CORRECT_COLOR)  # after red: a correct bar ends up blue
            ax_bars.set_ylim(0, 1)
            ax_bars.set_yticks([])
            ax_bars.grid(False)
            ax_bars.spines["left"].set_visible(False)
            if k <= 10:
                ax_bars.set_xticks(range(k), [str(i) for i in range(k)], fontsize=7)
            else:
                ax_bars.set_xticks([])
            ax_bars.tick_params(axis="x", length=0)
        return png_bytes(fig)


# --------------------------------------------------------------------------------------
# Optimisation: the learning-rate schedule and the gradient norms.


def _finite(values) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _positive_or_nan(values) -> list[float]:
    """For log axes: zero or negative values have no place on them, so they become gaps."""
    return [v if math.isfinite(v) and v > 0 else math.nan for v in values]


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
    with _style():
        fig = _new_figure(6.4, 2.9)
        ax = fig.subplots()
        marker = "o" if count <= 40 else None
        ax.plot(xs, _positive_or_nan(rates) if log else rates, color=TRAIN_COLOR, linewidth=1.8,
                marker=marker, markersize=3.5, label="learning rate")
        peak = rates.index(max(finite))
        if 0 < peak < count - 1 and max(finite) > rates[0]:  # a warm-up: say where it ends
            ax.plot([xs[peak]], [rates[peak]], marker="*", markersize=11, color=VAL_COLOR,
                    markeredgecolor="white", linestyle="none", zorder=5,
                    label=f"peak {rates[peak]:.3g} ({x_label} {xs[peak]:.3g})")
        if log:
            ax.set_yscale("log")
        else:
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        ax.set_title("learning-rate schedule" + (" (log scale)" if log else ""))
        ax.set_xlabel(x_label)
        ax.set_ylabel("learning rate")
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
    with _style():
        from matplotlib import colormaps
        from matplotlib.ticker import MaxNLocator

        count = int(has_global) + int(bool(layers))
        fig = _new_figure(4.6 * count + (1.6 if layers else 0.0), 3.1)
        axes = list(fig.subplots(1, count, squeeze=False)[0])
        if has_global:
            ax = axes.pop(0)
            marker = "o" if len(history) <= 40 else None
            for values, label, color in ((mean, "mean over the epoch", TRAIN_COLOR),
                                         (peak, "largest step of the epoch", VAL_COLOR)):
                if _finite(values):
                    ax.plot(epochs, _positive_or_nan(values), color=color, label=label,
                            marker=marker, markersize=3.5, linewidth=1.8)
            if math.isfinite(clip) and clip > 0:
                ax.axhline(clip, color=WRONG_COLOR, linestyle="--", linewidth=1.2,
                           label=f"clip_grad_norm = {clip:g}")
            ax.set_yscale("log")
            ax.set_title("global gradient norm")
            ax.set_xlabel("epoch")
            ax.set_ylabel("L2 norm (before clipping)")
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
                        alpha=0.6, label=f"{len(others)} other layers" if name == others[0] else None)
            palette = colormaps["viridis"]
            for rank, name in enumerate(labelled):
                steps, norms = layers[name]
                color = palette(0.9 * rank / max(len(labelled) - 1, 1))  # dark = first layer
                ax.plot(steps, _positive_or_nan(norms), color=color, linewidth=1.4, label=name)
            ax.set_yscale("log")
            ax.set_title("gradient norm per layer")
            ax.set_xlabel("optimizer step")
            ax.set_ylabel("L2 norm")
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                      title="first → last layer", title_fontsize=7)
        return png_bytes(fig, tight=True)


# --------------------------------------------------------------------------------------
# Classifier quality beyond accuracy: ROC / precision-recall, calibration, threshold.


def _curves(xs, ys) -> list[tuple[list[float], list[float]]]:
    """Flat lists -> one curve; lists of per-class lists -> one curve per class."""
    if xs is None or ys is None:
        return []
    xs, ys = list(xs), list(ys)
    if xs and isinstance(xs[0], (list, tuple)):
        return [([_as_float(v) for v in x], [_as_float(v) for v in y]) for x, y in zip(xs, ys)]
    return [([_as_float(v) for v in xs], [_as_float(v) for v in ys])]


def _class_colors(count: int):
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    return [colormaps["viridis"](0.9 * i / (count - 1)) for i in range(count)]


def roc_pr_curves(roc: dict | None, pr_curve: dict | None, classes: list[str] | None = None,
                  auc: float | None = None, average_precision: float | None = None,
                  operating_point: dict | None = None, prevalence: float | None = None) -> bytes:
    """ROC and precision-recall curves side by side; one thin line per class for multi-class.

    Args:
        roc: {"fpr": [...], "tpr": [...]}: flat lists (binary) or per-class lists (one-vs-rest).
        pr_curve: {"precision": [...], "recall": [...]} of the same shapes.
        classes: class names for the legend of a multi-class run.
        auc, average_precision: the areas (macro averages for multi-class), shown in the titles.
        operating_point: {"threshold", "fpr", "tpr", "precision", "recall"} of the chosen
            decision threshold, marked on both panels (keys that are missing are skipped).
        prevalence: the share of positives, the precision-recall curve of a random guess.

    Returns:
        PNG bytes.

    Raises:
        ValueError: neither curve holds a point.

    Example:
        >>> roc_pr_curves({"fpr": [0, 0.1, 1], "tpr": [0, 0.8, 1]},
        ...               {"precision": [0.5, 0.9, 1], "recall": [1, 0.8, 0]}, auc=0.85)[:4]
        b'\\x89PNG'
    """
    roc_lines = _curves((roc or {}).get("fpr"), (roc or {}).get("tpr"))
    pr_lines = _curves((pr_curve or {}).get("recall"), (pr_curve or {}).get("precision"))
    if not any(x for x, _ in roc_lines) and not any(x for x, _ in pr_lines):
        raise ValueError("a ROC or precision-recall curve with at least one point; received none")
    multiclass = max(len(roc_lines), len(pr_lines)) > 1
    point = operating_point or {}
    auc, average_precision = _as_float(auc), _as_float(average_precision)
    panels = [p for p in (("roc", roc_lines), ("pr", pr_lines)) if any(x for x, _ in p[1])]
    with _style():
        fig = _new_figure(4.3 * len(panels) + (1.3 if multiclass and len(roc_lines) <= 10 else 0), 4.0)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (kind, lines) in zip(axes, panels):
            colors = _class_colors(len(lines)) if multiclass else [TRAIN_COLOR]
            class_legend = multiclass and len(lines) <= 10 and ax is axes[-1]  # one class legend, at the right
            for index, ((x, y), color) in enumerate(zip(lines, colors)):
                name = classes[index] if classes and index < len(classes) else str(index)
                ax.plot(x, y, color=color, linewidth=1.0 if multiclass else 1.9,
                        label=name if class_legend else (None if multiclass else "model"))
            if kind == "roc":
                ax.plot([0, 1], [0, 1], color=CHANCE_COLOR, linestyle="--", linewidth=1.0, label="chance")
                x_mark, y_mark = _as_float(point.get("fpr")), _as_float(point.get("tpr"))
                area, area_name = auc, "AUC"
                ax.set_xlabel("false positive rate (share of negatives flagged)")
                ax.set_ylabel("true positive rate (recall)")
                title = "ROC, one vs rest" if multiclass else "ROC curve"
            else:
                prevalence_value = _as_float(prevalence)
                if not multiclass and math.isfinite(prevalence_value):
                    ax.axhline(prevalence_value, color=CHANCE_COLOR, linestyle="--", linewidth=1.0,
                               label=f"chance (positives {prevalence_value:.0%})")
                x_mark, y_mark = _as_float(point.get("recall")), _as_float(point.get("precision"))
                area, area_name = average_precision, "AP"
                ax.set_xlabel("recall (share of positives found)")
                ax.set_ylabel("precision (share of flagged that are positive)")
                title = "precision–recall, one vs rest" if multiclass else "precision–recall curve"
            if math.isfinite(area):
                title += f" ({'macro ' if multiclass else ''}{area_name} {area:.3f})"
            if math.isfinite(x_mark) and math.isfinite(y_mark):
                threshold = _as_float(point.get("threshold"))
                label = f"chosen threshold {threshold:.2f}" if math.isfinite(threshold) else "chosen threshold"
                ax.plot([x_mark], [y_mark], marker="o", markersize=8, color=WRONG_COLOR,
                        markeredgecolor="white", linestyle="none", zorder=5, label=label)
            ax.set_title(title)
            ax.set_xlim(-0.02, 1.02)
            ax.set_ylim(-0.02, 1.02)
            ax.set_aspect("equal")
            if multiclass and len(lines) > 10:
                ax.plot([], [], color=colors[len(colors) // 2], linewidth=1.0,
                        label=f"one line per class ({len(lines)})")
            if class_legend:
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, title="class",
                          title_fontsize=7)
            else:
                ax.legend(loc="lower right" if kind == "roc" else "lower left", fontsize=7)
        return png_bytes(fig, tight=True)


def reliability_diagram(count, confidence, accuracy, bin_edges=None, ece: float | None = None,
                        binary: bool = False) -> bytes:
    """Reliability diagram: accuracy per confidence bin against the diagonal, counts underneath.

    Args:
        count: examples per bin (B values).
        confidence: mean confidence per bin (NaN or None for an empty bin).
        accuracy: accuracy per bin (for a binary model: the share of positives).
        bin_edges: the B + 1 bin edges (default: B equal bins on [0, 1]).
        ece: the expected calibration error, shown in the title.
        binary: label the axes for a binary model's probability of the positive class.

    Returns:
        PNG bytes.

    Example:
        >>> reliability_diagram([5, 0, 20], [0.2, None, 0.9], [0.1, None, 0.8], ece=0.08)[:4]
        b'\\x89PNG'
    """
    counts = [_as_float(v) for v in count]
    bins = len(counts)
    if bins == 0:
        raise ValueError("at least one calibration bin; received none")
    edges = [_as_float(v) for v in bin_edges] if bin_edges is not None else [i / bins for i in range(bins + 1)]
    if len(edges) != bins + 1:
        raise ValueError(f"{bins + 1} bin edges for {bins} bins; received {len(edges)}")
    confidence = [_as_float(v) for v in confidence][:bins]
    accuracy = [_as_float(v) for v in accuracy][:bins]
    centers = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
    widths = [b - a for a, b in zip(edges, edges[1:])]
    filled = [i for i in range(min(bins, len(accuracy), len(confidence)))
              if math.isfinite(accuracy[i]) and counts[i] > 0]
    ece = _as_float(ece)
    with _style():
        fig = _new_figure(5.2, 5.0)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        top.bar([centers[i] for i in filled], [accuracy[i] for i in filled],
                width=[0.92 * widths[i] for i in filled], color=TRAIN_COLOR, alpha=0.85,
                label="fraction positive" if binary else "accuracy")
        gaps = [i for i in filled if math.isfinite(confidence[i])]
        top.bar([centers[i] for i in gaps], [confidence[i] - accuracy[i] for i in gaps],
                bottom=[accuracy[i] for i in gaps], width=[0.92 * widths[i] for i in gaps],
                color=WRONG_COLOR, alpha=0.25, label="gap to mean confidence")
        top.plot([0, 1], [0, 1], color=INK_COLOR, linestyle="--", linewidth=1.0,
                 label="perfect calibration")
        top.set_xlim(min(edges[0], 0.0), max(edges[-1], 1.0))
        top.set_ylim(0, 1.02)
        top.set_ylabel("fraction positive" if binary else "accuracy")
        top.set_title("reliability diagram" + (f" (ECE {ece:.3f})" if math.isfinite(ece) else ""))
        top.legend(loc="upper left", fontsize=8)
        bottom.bar(centers, [c if math.isfinite(c) else 0.0 for c in counts],
                   width=[0.92 * w for w in widths], color=NEUTRAL_COLOR, label="examples per bin")
        bottom.set_ylabel("examples")
        bottom.set_xlabel("predicted probability of the positive class" if binary
                          else "confidence (probability of the predicted class)")
        bottom.legend(loc="upper left", fontsize=8)
        return png_bytes(fig)


def threshold_tradeoff(thresholds, precisions, recalls, f1s, threshold: float,
                       criterion: str = "f1", target: float | None = None) -> bytes:
    """Precision, recall and F1 against the decision threshold, the chosen one marked.

    The drawing of `tujie.evaluate.plot_threshold_tradeoff`, from plain lists (as read from
    evaluation.json) instead of a `ThresholdResult`.

    Args:
        thresholds: the candidate thresholds, ascending.
        precisions, recalls, f1s: the scores at each threshold.
        threshold: the chosen threshold.
        criterion: "f1", "recall" or "precision": what the threshold was chosen for.
        target: the minimum recall or precision asked for (None with "f1").

    Returns:
        PNG bytes.

    Example:
        >>> threshold_tradeoff([0.1, 0.5, 0.9], [0.5, 0.8, 1.0], [1.0, 0.7, 0.2], [0.67, 0.75, 0.33],
        ...                    0.5)[:4]
        b'\\x89PNG'
    """
    t = [_as_float(v) for v in thresholds]
    series = [[_as_float(v) for v in values][:len(t)] for values in (precisions, recalls, f1s)]
    if not t:
        raise ValueError("at least one threshold; received none")
    threshold, target = _as_float(threshold), _as_float(target)
    with _style():
        fig = _new_figure(6.0, 3.3)
        ax = fig.subplots()
        for values, label, color in zip(series, ("precision", "recall", "F1"),
                                        (TRAIN_COLOR, VAL_COLOR, NEUTRAL_COLOR)):
            ax.plot(t[:len(values)], values, color=color, label=label, drawstyle="steps-post",
                    linewidth=1.8)
        if math.isfinite(threshold):
            ax.axvline(threshold, color=WRONG_COLOR, linestyle="--", linewidth=1.2,
                       label=f"chosen threshold {threshold:.2f}")
        if math.isfinite(target):
            ax.axhline(target, color=INK_COLOR, linestyle=":", linewidth=0.9,
                       label=f"target {criterion} {target:g}")
        ax.set_xlabel("threshold (predict positive when score ≥ threshold)")
        ax.set_ylabel("score")
        ax.set_ylim(-0.02, 1.02)
        goal = "best F1" if criterion == "f1" else f"{criterion} ≥ {target:g}"
        ax.set_title(f"threshold trade-off ({goal})")
        ax.legend(loc="best", fontsize=8)
        return png_bytes(fig)


# --------------------------------------------------------------------------------------
# Regression.


def predicted_vs_true(pairs, r2: float | None = None, rmse: float | None = None,
                      mae: float | None = None, max_points: int = 4000) -> bytes:
    """Predicted against true values with the y = x line, and a histogram of the residuals.

    Args:
        pairs: [[true, predicted], ...].
        r2, rmse, mae: shown in the scatter's title when given.
        max_points: the scatter draws at most this many points (every n-th one); the
            histogram uses them all.

    Returns:
        PNG bytes.

    Example:
        >>> predicted_vs_true([[1.0, 1.1], [2.0, 1.8], [3.0, 3.3]], r2=0.95)[:4]
        b'\\x89PNG'
    """
    import numpy as np

    data = np.asarray(pairs, dtype=np.float64)  # (N, 2): true, predicted
    if data.ndim != 2 or data.shape[1] != 2:
        raise ValueError(f"pairs of [true, predicted]; received an array of shape {data.shape}")
    data = data[np.isfinite(data).all(axis=1)]
    if len(data) == 0:
        raise ValueError("at least one finite [true, predicted] pair; received none")
    true, predicted = data[:, 0], data[:, 1]  # (N,), (N,)
    residuals = predicted - true  # (N,)
    shown = data[::max(1, math.ceil(len(data) / max_points))]
    metrics = [f"{name} {value:.3g}" for name, value in (("R²", _as_float(r2)), ("RMSE", _as_float(rmse)),
                                                          ("MAE", _as_float(mae))) if math.isfinite(value)]
    with _style():
        fig = _new_figure(8.6, 3.9)
        scatter, histogram = fig.subplots(1, 2, width_ratios=[1.1, 1.0])
        alpha = 0.7 if len(shown) < 300 else 0.3
        scatter.scatter(shown[:, 0], shown[:, 1], s=10 if len(shown) < 1000 else 5, color=TRAIN_COLOR,
                        alpha=alpha, linewidths=0, label=f"test examples ({len(data):,})")
        low, high = float(data.min()), float(data.max())
        pad = 0.03 * (high - low or 1.0)
        scatter.plot([low - pad, high + pad], [low - pad, high + pad], color=INK_COLOR, linestyle="--",
                     linewidth=1.0, label="perfect prediction (y = x)")
        scatter.set_xlim(low - pad, high + pad)
        scatter.set_ylim(low - pad, high + pad)
        scatter.set_aspect("equal")
        scatter.set_xlabel("true value")
        scatter.set_ylabel("predicted value")
        scatter.set_title("predicted vs true" + (f" ({' · '.join(metrics)})" if metrics else ""))
        scatter.legend(loc="upper left", fontsize=8)
        bins = int(min(50, max(10, math.sqrt(len(residuals)))))
        histogram.hist(residuals, bins=bins, color=VAL_COLOR, alpha=0.85, label="examples")
        histogram.axvline(0.0, color=INK_COLOR, linestyle="--", linewidth=1.0, label="no error")
        histogram.set_xlabel("residual (predicted − true)")
        histogram.set_ylabel("examples")
        histogram.set_title(f"residuals (mean {residuals.mean():+.3g})")
        histogram.legend(loc="upper right", fontsize=8)
        return png_bytes(fig)


# --------------------------------------------------------------------------------------
# Runs of many models: cross-validation, ensembles, the overfitting lab.


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
    with _style():
        fig = _new_figure(1.2 + 2.3 * len(names), 3.3)
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
            ax.scatter(1 + np.asarray(jitter), finite, s=18, color=TRAIN_COLOR, zorder=3, label="one fold")
            ax.plot([], [], marker="^", color=VAL_COLOR, linestyle="none", label="mean")
            ax.set_xticks([1], [name.replace("_", " ")])
            ax.set_ylabel(name.replace("_", " "))
            ax.set_title(f"{np.mean(finite):.3g} ± {np.std(finite, ddof=1) if len(finite) > 1 else 0.0:.2g}")
        axes[0].legend(loc="best", fontsize=8)
        fig.suptitle(f"{len(folds)}-fold cross-validation (mean ± std over the folds)", fontsize=10,
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
    labels = [str(n) for n in names] + ["ensemble"]
    heights = [v if math.isfinite(v) else math.nan for v in scores] + [ensemble_value]
    member_mean = sum(_finite(scores)) / len(_finite(scores)) if _finite(scores) else math.nan
    with _style():
        fig = _new_figure(max(4.0, 1.4 + 0.55 * len(labels)), 3.3)
        ax = fig.subplots()
        colors = [NEUTRAL_COLOR] * len(scores) + [TRAIN_COLOR]
        bars = ax.bar(range(len(labels)), [h - bottom if math.isfinite(h) else 0.0 for h in heights],
                      bottom=bottom, color=colors, width=0.7)
        bars[-1].set_label("ensemble")
        if scores:
            bars[0].set_label("members")
        for x, h in enumerate(heights):
            if math.isfinite(h):
                ax.text(x, h + 0.03 * span, f"{h:.4g}", ha="center", va="bottom", fontsize=7, color=INK_COLOR)
        if math.isfinite(member_mean):
            ax.axhline(member_mean, color=INK_COLOR, linestyle="--", linewidth=1.0,
                       label=f"mean member {member_mean:.4g}")
        ax.set_ylim(bottom, high + 0.35 * span)
        rotate = len(labels) > 6 or max(map(len, labels)) > 10
        ax.set_xticks(range(len(labels)), labels, rotation=45 if rotate else 0,
                      ha="right" if rotate else "center", fontsize=8)
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_title(f"{metric.replace('_', ' ')} of each member and of the ensemble")
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
    with _style():
        from matplotlib.ticker import MaxNLocator

        fig = _new_figure(max(2.7 * columns, 5.0), 2.5 * rows + 0.3)
        axes = fig.subplots(rows, columns, squeeze=False, sharey=True).ravel()
        for ax, variant in zip(axes, variants):
            history = [r for r in variant.get("history") or [] if isinstance(r, dict)]
            epochs = _epochs(history)
            marker = "o" if len(history) <= 30 else None
            for key, label, color in ((metric, "train", TRAIN_COLOR),
                                      (f"val_{metric}", "validation", VAL_COLOR)):
                ax.plot(epochs, [_as_float(r.get(key)) for r in history], color=color, label=label,
                        marker=marker, markersize=2.5, linewidth=1.6)
            stopped = variant.get("stopped_epoch")
            if isinstance(stopped, (int, float)) and not isinstance(stopped, bool):
                ax.axvline(stopped, color=INK_COLOR, linestyle=":", linewidth=1.2,
                           label=f"early stop (epoch {stopped:g})")
            ax.set_title(str(variant.get("name", "?")))
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel(metric)
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
    with _style():
        fig = _new_figure(max(4.2, 1.4 + 0.8 * len(values)), 3.1)
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
        ax.set_ylabel(f"train − test accuracy ({unit})")
        ax.set_title("overfitting gap per variant (lower is better)")
        ax.legend(handles=[Patch(color=INK_COLOR, label="baseline (dashed)"),
                           Patch(color=BETTER_COLOR, label="narrower than baseline"),
                           Patch(color=WRONG_COLOR, label="as wide or wider")],
                  loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)  # beside the bars, never over them
        return png_bytes(fig, tight=True)


# --------------------------------------------------------------------------------------
# Sequences and words: BLEU by sentence length, a 2-D map of word vectors.


def _plain(text) -> str:
    """Text drawn as written: a pair of `$` would otherwise switch matplotlib to maths mode."""
    return str(text).replace("$", r"\$")


def bleu_by_length(series: dict[str, list[dict]]) -> bytes:
    """BLEU of each source-length bucket, one group of bars per bucket, one bar per decoding.

    Args:
        series: decoding name -> its buckets, each {"bucket": "1-5", "bleu": float, "count": int}
            (translation.json's `by_length`), e.g. {"greedy": [...], "beam 5": [...]}.

    Returns:
        PNG bytes.

    Example:
        >>> bleu_by_length({"greedy": [{"bucket": "1-5", "bleu": 31.0, "count": 40},
        ...                            {"bucket": "6-10", "bleu": 22.5, "count": 25}]})[:4]
        b'\\x89PNG'
    """
    series = {str(name): [b for b in buckets if isinstance(b, dict)] for name, buckets in series.items()
              if isinstance(buckets, list)}
    buckets: list[str] = []
    counts: dict[str, object] = {}
    for rows in series.values():
        for row in rows:
            name = str(row.get("bucket", "?"))
            if name not in buckets:
                buckets.append(name)
                counts[name] = row.get("count")
    scores = {name: {str(r.get("bucket", "?")): _as_float(r.get("bleu")) for r in rows} for name, rows in series.items()}
    if not any(math.isfinite(v) for s in scores.values() for v in s.values()):
        raise ValueError("at least one bucket with a finite BLEU; received none")
    colors = [TRAIN_COLOR, VAL_COLOR, BETTER_COLOR, NEUTRAL_COLOR]
    width = 0.8 / max(len(series), 1)
    with _style():
        fig = _new_figure(max(4.2, 1.6 + 1.0 * len(buckets) * max(len(series), 1) ** 0.5), 3.2)
        ax = fig.subplots()
        for rank, (name, by_bucket) in enumerate(scores.items()):
            xs = [i + (rank - (len(scores) - 1) / 2) * width for i in range(len(buckets))]
            heights = [by_bucket.get(b, math.nan) for b in buckets]
            ax.bar(xs, [h if math.isfinite(h) else 0.0 for h in heights], width=width * 0.92,
                   color=colors[rank % len(colors)], label=name)
            for x, h in zip(xs, heights):
                if math.isfinite(h):
                    ax.text(x, h, f"{h:.1f}", ha="center", va="bottom", fontsize=7, color=INK_COLOR)
        labels = []
        for name in buckets:
            count = counts.get(name)
            labels.append(f"{_plain(name)}\n({count:,} sentences)" if isinstance(count, int) else _plain(name))
        ax.set_xticks(range(len(buckets)), labels, fontsize=8)
        ax.set_xlabel("source sentence length (words)")
        ax.set_ylabel("BLEU (0-100)")
        ax.set_title("BLEU by source sentence length")
        ax.margins(y=0.15)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the bars, never over them
        return png_bytes(fig, tight=True)


def embedding_projection(words: list[str], xy, groups: list[str] | None = None, method: str = "pca") -> bytes:
    """Word vectors projected to 2-D: one labelled dot per word, coloured by its group.

    Args:
        words: the N words.
        xy: (N, 2) their coordinates in the projection.
        groups: the N words' groups (e.g. "countries", "verbs"), or None for one colour.
        method: "pca" or "tsne", for the title and axis labels.

    Returns:
        PNG bytes.

    Example:
        >>> embedding_projection(["king", "queen", "paris"], [[0, 1], [0.2, 1.1], [2, -1]],
        ...                      ["royalty", "royalty", "cities"])[:4]
        b'\\x89PNG'
    """
    words = [str(w) for w in words]
    points = [(_as_float(p[0]), _as_float(p[1])) if isinstance(p, (list, tuple)) and len(p) == 2
              else (math.nan, math.nan) for p in xy]
    if len(points) != len(words) or (groups is not None and len(groups) != len(words)):
        raise ValueError(f"one point (and group) per word; received {len(words)} words, {len(points)} points"
                         + (f", {len(groups)} groups" if groups is not None else ""))
    kept = [i for i, (x, y) in enumerate(points) if math.isfinite(x) and math.isfinite(y)]
    if not kept:
        raise ValueError("at least one word with finite coordinates; received none")
    labels = [str(g) for g in groups] if groups is not None else [""] * len(words)
    names = list(dict.fromkeys(labels[i] for i in kept))
    colors = dict(zip(names, _class_colors(len(names)) if len(names) > 1 else [TRAIN_COLOR]))
    tsne = str(method).lower().replace("-", "") == "tsne"
    with _style():
        fig = _new_figure(7.6, 5.4)
        ax = fig.subplots()
        for name in names:
            members = [i for i in kept if labels[i] == name]
            ax.scatter([points[i][0] for i in members], [points[i][1] for i in members], s=18,
                       color=colors[name], label=_plain(name) if name else None, zorder=3)
        for i in kept:
            ax.annotate(_plain(words[i]), points[i], xytext=(3, 3), textcoords="offset points", fontsize=7,
                        color=colors[labels[i]])
        axis = "t-SNE" if tsne else "principal component"
        ax.set_xlabel(f"{axis} 1")
        ax.set_ylabel(f"{axis} 2")
        ax.set_title(f"{'t-SNE' if tsne else 'PCA'} map of {len(kept)} word vectors")
        ax.margins(0.08)
        if len(names) > 1:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)  # beside the dots, never over them
        return png_bytes(fig, tight=True)
