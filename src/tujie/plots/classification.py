"""Figures of a classifier's (or regressor's) test results: confusion matrix, prediction grids,
ROC and precision-recall curves, calibration, the decision threshold, predicted versus true."""

from __future__ import annotations

import math

from .style import (CHANCE_COLOR, CORRECT_COLOR, INK_COLOR, NEUTRAL_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR,
                    _as_float, _curves, class_colors, figure_label, figure_style, new_figure, png_bytes)


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
    with figure_style():
        fig = new_figure(size + 1.0, size)
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
        ax.set_xlabel(figure_label("predicted class"))
        ax.set_ylabel(figure_label("true class"))
        colorbar = fig.colorbar(image, ax=ax, shrink=0.8, fraction=0.05)
        colorbar.set_label(figure_label("share of the true class's examples"))
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
    with figure_style():
        # Fixed margins instead of constrained layout: with 30 axes the layout solver would
        # cost more than the drawing itself.
        row_height = 1.9
        fig = new_figure(3.5 * columns, row_height * rows, layout=None)
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
    with figure_style():
        fig = new_figure(4.3 * len(panels) + (1.3 if multiclass and len(roc_lines) <= 10 else 0), 4.0)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (kind, lines) in zip(axes, panels):
            colors = class_colors(len(lines)) if multiclass else [TRAIN_COLOR]
            class_legend = multiclass and len(lines) <= 10 and ax is axes[-1]  # one class legend, at the right
            for index, ((x, y), color) in enumerate(zip(lines, colors)):
                name = classes[index] if classes and index < len(classes) else str(index)
                ax.plot(x, y, color=color, linewidth=1.0 if multiclass else 1.9,
                        label=name if class_legend else (None if multiclass else figure_label("model")))
            if kind == "roc":
                ax.plot([0, 1], [0, 1], color=CHANCE_COLOR, linestyle="--", linewidth=1.0,
                        label=figure_label("chance"))
                x_mark, y_mark = _as_float(point.get("fpr")), _as_float(point.get("tpr"))
                area, area_name = auc, "AUC"
                ax.set_xlabel(figure_label("false positive rate (share of negatives flagged)"))
                ax.set_ylabel(figure_label("true positive rate (recall)"))
                title = figure_label("ROC, one vs rest") if multiclass else figure_label("ROC curve")
            else:
                prevalence_value = _as_float(prevalence)
                if not multiclass and math.isfinite(prevalence_value):
                    ax.axhline(prevalence_value, color=CHANCE_COLOR, linestyle="--", linewidth=1.0,
                               label=figure_label("chance (positives {share})").format(
                                   share=f"{prevalence_value:.0%}"))
                x_mark, y_mark = _as_float(point.get("recall")), _as_float(point.get("precision"))
                area, area_name = average_precision, "AP"
                ax.set_xlabel(figure_label("recall (share of positives found)"))
                ax.set_ylabel(figure_label("precision (share of flagged that are positive)"))
                title = (figure_label("precision–recall, one vs rest") if multiclass
                         else figure_label("precision–recall curve"))
            if math.isfinite(area):
                score = f"{area_name} {area:.3f}"
                if multiclass:
                    score = figure_label("macro {score}").format(score=score)
                title += f" ({score})"
            if math.isfinite(x_mark) and math.isfinite(y_mark):
                threshold = _as_float(point.get("threshold"))
                label = (figure_label("chosen threshold {threshold}").format(threshold=f"{threshold:.2f}")
                         if math.isfinite(threshold) else figure_label("chosen threshold"))
                ax.plot([x_mark], [y_mark], marker="o", markersize=8, color=WRONG_COLOR,
                        markeredgecolor="white", linestyle="none", zorder=5, label=label)
            ax.set_title(title)
            ax.set_xlim(-0.02, 1.02)
            ax.set_ylim(-0.02, 1.02)
            ax.set_aspect("equal")
            if multiclass and len(lines) > 10:
                ax.plot([], [], color=colors[len(colors) // 2], linewidth=1.0,
                        label=figure_label("one line per class ({count})").format(count=len(lines)))
            if class_legend:
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, title=figure_label("class"),
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
    with figure_style():
        fig = new_figure(5.2, 5.0)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        top.bar([centers[i] for i in filled], [accuracy[i] for i in filled],
                width=[0.92 * widths[i] for i in filled], color=TRAIN_COLOR, alpha=0.85,
                label=figure_label("fraction positive") if binary else figure_label("accuracy"))
        gaps = [i for i in filled if math.isfinite(confidence[i])]
        top.bar([centers[i] for i in gaps], [confidence[i] - accuracy[i] for i in gaps],
                bottom=[accuracy[i] for i in gaps], width=[0.92 * widths[i] for i in gaps],
                color=WRONG_COLOR, alpha=0.25, label=figure_label("gap to mean confidence"))
        top.plot([0, 1], [0, 1], color=INK_COLOR, linestyle="--", linewidth=1.0,
                 label=figure_label("perfect calibration"))
        top.set_xlim(min(edges[0], 0.0), max(edges[-1], 1.0))
        top.set_ylim(0, 1.02)
        top.set_ylabel(figure_label("fraction positive") if binary else figure_label("accuracy"))
        top.set_title(figure_label("reliability diagram (ECE {ece})").format(ece=f"{ece:.3f}") if math.isfinite(ece)
                      else figure_label("reliability diagram"))
        top.legend(loc="upper left", fontsize=8)
        bottom.bar(centers, [c if math.isfinite(c) else 0.0 for c in counts],
                   width=[0.92 * w for w in widths], color=NEUTRAL_COLOR, label=figure_label("examples per bin"))
        bottom.set_ylabel(figure_label("examples"))
        bottom.set_xlabel(figure_label("predicted probability of the positive class") if binary
                          else figure_label("confidence (probability of the predicted class)"))
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
    criterion_name = {"precision": figure_label("precision"), "recall": figure_label("recall")}.get(criterion, criterion)
    with figure_style():
        fig = new_figure(6.0, 3.3)
        ax = fig.subplots()
        for values, label, color in zip(series, (figure_label("precision"), figure_label("recall"), "F1"),
                                        (TRAIN_COLOR, VAL_COLOR, NEUTRAL_COLOR)):
            ax.plot(t[:len(values)], values, color=color, label=label, drawstyle="steps-post",
                    linewidth=1.8)
        if math.isfinite(threshold):
            ax.axvline(threshold, color=WRONG_COLOR, linestyle="--", linewidth=1.2,
                       label=figure_label("chosen threshold {threshold}").format(threshold=f"{threshold:.2f}"))
        if math.isfinite(target):
            ax.axhline(target, color=INK_COLOR, linestyle=":", linewidth=0.9,
                       label=figure_label("target {criterion} {target}").format(criterion=criterion_name,
                                                                                target=f"{target:g}"))
        ax.set_xlabel(figure_label("threshold (predict positive when score ≥ threshold)"))
        ax.set_ylabel(figure_label("score"))
        ax.set_ylim(-0.02, 1.02)
        goal = figure_label("best F1") if criterion == "f1" else f"{criterion_name} ≥ {target:g}"
        ax.set_title(figure_label("threshold trade-off ({goal})").format(goal=goal))
        ax.legend(loc="best", fontsize=8)
        return png_bytes(fig)


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
    with figure_style():
        fig = new_figure(8.6, 3.9)
        scatter, histogram = fig.subplots(1, 2, width_ratios=[1.1, 1.0])
        alpha = 0.7 if len(shown) < 300 else 0.3
        scatter.scatter(shown[:, 0], shown[:, 1], s=10 if len(shown) < 1000 else 5, color=TRAIN_COLOR,
                        alpha=alpha, linewidths=0,
                        label=figure_label("test examples ({count})").format(count=f"{len(data):,}"))
        low, high = float(data.min()), float(data.max())
        pad = 0.03 * (high - low or 1.0)
        scatter.plot([low - pad, high + pad], [low - pad, high + pad], color=INK_COLOR, linestyle="--",
                     linewidth=1.0, label=figure_label("perfect prediction (y = x)"))
        scatter.set_xlim(low - pad, high + pad)
        scatter.set_ylim(low - pad, high + pad)
        scatter.set_aspect("equal")
        scatter.set_xlabel(figure_label("true value"))
        scatter.set_ylabel(figure_label("predicted value"))
        scatter.set_title(figure_label("predicted vs true") + (f" ({' · '.join(metrics)})" if metrics else ""))
        scatter.legend(loc="upper left", fontsize=8)
        bins = int(min(50, max(10, math.sqrt(len(residuals)))))
        histogram.hist(residuals, bins=bins, color=VAL_COLOR, alpha=0.85, label=figure_label("examples"))
        histogram.axvline(0.0, color=INK_COLOR, linestyle="--", linewidth=1.0, label=figure_label("no error"))
        histogram.set_xlabel(figure_label("residual (predicted − true)"))
        histogram.set_ylabel(figure_label("examples"))
        histogram.set_title(figure_label("residuals (mean {mean})").format(mean=f"{residuals.mean():+.3g}"))
        histogram.legend(loc="upper right", fontsize=8)
        return png_bytes(fig)
