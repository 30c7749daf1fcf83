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

DPI = 110  # small files: the MNIST report stays well under 2 MB

# Keys of metrics.jsonl that are bookkeeping, not something the model is judged by.
_BOOKKEEPING = {"epoch", "step", "steps", "lr", "learning_rate", "epoch_time_s", "time_s",
                "samples_per_s", "batches", "elapsed_s"}
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


def training_curves(history: list[dict], best_epoch: int | None = None) -> bytes | None:
    """Train vs validation curves, one panel per metric (loss first), x = epoch.

    Args:
        history: the records of metrics.jsonl, one dict per epoch.
        best_epoch: epoch to mark with a dotted vertical line and a star, or None.

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
    show_lr = len(finite_lr) > 1  # a constant learning rate is a line with nothing to read
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
