"""Figures of chapters 3–4 made visible: activations and their derivatives, losses against the prediction,
per-layer gradient norms of a deep network, optimizer paths on a contour plot.

Each function takes plain numbers (lists of dicts, arrays) and returns PNG bytes; none knows where
the numbers came from (`tujie.fundamentals` computes them).
"""

from __future__ import annotations

import math

from .style import (INK_COLOR, NEUTRAL_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, _finite, figure_label, figure_style,
                    new_figure, png_bytes)

_SATURATED_COLOR = "#fde2e2"  # pale red: where the derivative is (almost) zero

# what each loss's prediction axis is, for the x label
_AXIS_LABELS = {"value": "prediction ŷ (target 0)", "probability": "predicted probability p (target 1)",
                "logit": "logit z of the true class (target 1)"}


def _grid(count: int, columns: int):
    rows = max(1, math.ceil(count / columns))
    return rows, min(columns, count)


def activation_gallery(curves: list[dict], columns: int = 3) -> bytes:
    """One panel per activation: f(x) solid, f'(x) dashed, saturated spans (|f'| below the threshold) shaded.

    Args:
        curves: dicts with name, x, value, derivative and saturated ([[x0, x1], ...]).

    Example:
        >>> activation_gallery([{"name": "relu", "x": [-1, 0, 1], "value": [0, 0, 1], "derivative": [0, 0, 1],
        ...                      "saturated": [[-1, 0]]}])[:4]
        b'\\x89PNG'
    """
    if not curves:
        raise ValueError("at least one activation curve; received none")
    rows, cols = _grid(len(curves), columns)
    with figure_style():
        fig = new_figure(2.7 * cols + 0.4, 2.2 * rows + 0.5)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, curve in zip(axes, curves):
            for x0, x1 in curve.get("saturated") or []:
                ax.axvspan(x0, x1, color=_SATURATED_COLOR, lw=0, zorder=0)
            ax.plot(curve["x"], curve["value"], color=TRAIN_COLOR, lw=1.8, label="f(x)")
            ax.plot(curve["x"], curve["derivative"], color=VAL_COLOR, lw=1.4, ls="--", label="f′(x)")
            ax.axhline(0, color=NEUTRAL_COLOR, lw=0.6)
            ax.set_title(str(curve["name"]))
        for ax in axes[len(curves):]:
            ax.set_visible(False)
        axes[0].fill_between([], [], color=_SATURATED_COLOR, label=figure_label("saturated: |f′| small"))
        axes[0].legend(loc="upper left", fontsize=7)
        return png_bytes(fig)


def loss_gallery(curves: list[dict], columns: int = 4) -> bytes:
    """One panel per loss: the loss against the prediction (solid) and its slope dL/dŷ (dashed, right axis).

    Example:
        >>> loss_gallery([{"name": "mse", "axis": "value", "x": [-1, 0, 1], "value": [1, 0, 1],
        ...                "derivative": [-2, 0, 2]}])[:4]
        b'\\x89PNG'
    """
    if not curves:
        raise ValueError("at least one loss curve; received none")
    rows, cols = _grid(len(curves), columns)
    with figure_style():
        fig = new_figure(2.9 * cols + 0.4, 2.4 * rows + 0.4)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, curve in zip(axes, curves):
            ax.plot(curve["x"], curve["value"], color=TRAIN_COLOR, lw=1.8, label=figure_label("loss"))
            slope = ax.twinx()
            slope.plot(curve["x"], curve["derivative"], color=VAL_COLOR, lw=1.2, ls="--")
            slope.tick_params(axis="y", colors=VAL_COLOR, labelsize=7)
            slope.grid(False)
            if curve.get("axis") == "probability":  # −1/p runs off to −1000 at p → 0: clip the slope's axis
                finite = sorted(_finite(curve["derivative"]))
                if finite:
                    slope.set_ylim(max(finite[0], -20), max(finite[-1], 1) + 1)
            ax.set_title(str(curve["name"]))
            ax.set_xlabel(figure_label(_AXIS_LABELS.get(curve.get("axis"), "prediction")), fontsize=7)
        for ax in axes[len(curves):]:
            ax.set_visible(False)
        axes[0].plot([], [], color=VAL_COLOR, ls="--", label=figure_label("slope dL/dŷ (right axis)"))
        axes[0].legend(loc="upper center", fontsize=7)
        return png_bytes(fig)


def layer_gradient_lines(variants: list[dict]) -> bytes:
    """‖∂L/∂W‖ per layer (log y), one line per variant, the first layer on the left.

    Args:
        variants: dicts with name and norms (one per layer).

    Example:
        >>> layer_gradient_lines([{"name": "sigmoid", "norms": [1e-9, 1e-5, 0.1]},
        ...                       {"name": "relu_he", "norms": [0.5, 0.6, 0.7]}])[:4]
        b'\\x89PNG'
    """
    if not variants:
        raise ValueError("at least one variant; received none")
    with figure_style():
        from matplotlib import colormaps
        from matplotlib.ticker import MaxNLocator

        fig = new_figure(7.2, 3.8)
        ax = fig.subplots()
        palette = colormaps["tab10"]
        for i, variant in enumerate(variants):
            norms = [v if v and v > 0 and math.isfinite(v) else float("nan") for v in variant["norms"]]
            style = "-" if "sigmoid" in str(variant.get("activation", variant["name"])) else "--"
            ax.plot(range(1, len(norms) + 1), norms, marker="o", ms=3, lw=1.5, ls=style, color=palette(i % 10),
                    label=str(variant["name"]))
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(figure_label("layer (1 = next to the input)"))
        ax.set_ylabel(figure_label("gradient norm ‖∂L/∂W‖"))
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
        return png_bytes(fig)


def optimizer_paths(xs, ys, z, paths: list[dict], minima, title: str = "", log_levels: bool = False,
                    gaps: list | None = None) -> bytes:
    """Optimizer paths drawn over the contour plot of a 2-D loss surface (and, given `gaps`, loss against step).

    Args:
        xs, ys: the grid's coordinates, (nx,) and (ny,).
        z: the surface on the grid, (ny, nx).
        paths: dicts with optimizer, x and y (the visited points).
        minima: [(x, y), ...], drawn as stars.
        log_levels: contour levels spaced in log(z − min) (for Rosenbrock's steep walls).
        gaps: per path, loss − minimum at each drawn point (log y, against the path's step), drawn in a
            second panel; paths whose points were kept every k steps carry `every` (default 1).

    Example:
        >>> import numpy as np
        >>> g = np.linspace(-1, 1, 5)
        >>> optimizer_paths(g, g, np.add.outer(g ** 2, g ** 2), [{"optimizer": "sgd", "x": [1, 0.5], "y": [1, 0.5]}],
        ...                 [(0, 0)])[:4]
        b'\\x89PNG'
    """
    import numpy as np

    z = np.asarray(z, dtype=float)
    with figure_style():
        from matplotlib import colormaps

        fig = new_figure(10.6 if gaps else 6.4, 4.4)
        axes = fig.subplots(1, 2 if gaps else 1, squeeze=False)[0]
        ax = axes[0]
        if log_levels:
            shifted = z - z.min() + 1e-3
            levels = np.logspace(np.log10(shifted.min()), np.log10(shifted.max()), 24)
            ax.contour(xs, ys, shifted, levels=levels, colors=NEUTRAL_COLOR, linewidths=0.6)
        else:
            ax.contour(xs, ys, z, levels=24, colors=NEUTRAL_COLOR, linewidths=0.6)
        palette = colormaps["tab10"]
        for i, path in enumerate(paths):
            px, py = np.asarray(path["x"], dtype=float), np.asarray(path["y"], dtype=float)
            ax.plot(px, py, lw=1.4, color=palette(i % 10), label=str(path["optimizer"]), alpha=0.9)
            ax.plot(px[-1:], py[-1:], marker="o", ms=4, color=palette(i % 10))
        if paths:
            ax.plot(paths[0]["x"][:1], paths[0]["y"][:1], marker="s", ms=6, color=INK_COLOR, ls="none",
                    label=figure_label("start"))
        for mx, my in minima:
            ax.plot([mx], [my], marker="*", ms=12, color=WRONG_COLOR, ls="none")
        ax.set_xlim(xs[0], xs[-1])
        ax.set_ylim(ys[0], ys[-1])
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        if title:
            ax.set_title(title)
        if gaps:
            right = axes[1]
            for i, (path, gap) in enumerate(zip(paths, gaps)):
                steps = np.arange(len(gap)) * int(path.get("every", 1))
                right.plot(steps, np.maximum(np.asarray(gap, dtype=float), 1e-16), lw=1.4, color=palette(i % 10))
            right.set_yscale("log")
            right.set_xlabel(figure_label("step"))
            right.set_ylabel(figure_label("loss − minimum"))
        axes[-1].legend(*ax.get_legend_handles_labels(), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
        return png_bytes(fig)
