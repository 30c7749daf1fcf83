"""Figures of a hyperparameter search: history, parallel coordinates, importances, slices, samplers compared.

Each takes plain rows (one dict per trial: number, state, value, params, last_value), as
`tujie.search.history.snapshot` writes them to study.json, so a study from any machine draws.

Example:
    >>> rows = [{"number": i, "state": "complete", "value": v, "params": {"lr": lr, "width": w}}
    ...         for i, (v, lr, w) in enumerate([(0.90, 1e-3, 32), (0.95, 3e-3, 64), (0.93, 1e-2, 32)])]
    >>> search_history(rows, "maximize", "val_accuracy")[:4]
    b'\\x89PNG'
    >>> parallel_coordinates(rows, ["lr", "width"], "val_accuracy", log_keys={"lr"})[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import json
import math

from .style import (BETTER_COLOR, CHANCE_COLOR, INK_COLOR, NEUTRAL_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, class_colors,
                    figure_label, figure_style, new_figure, png_bytes)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _running_best(values, maximize: bool) -> list[float]:
    out, best = [], math.nan
    for v in values:
        if _finite(v):
            best = v if math.isnan(best) else (max(best, v) if maximize else min(best, v))
        out.append(best)
    return out


def search_history(rows: list[dict], direction: str, metric: str) -> bytes:
    """Each trial's value against its number, the best-so-far line over them; pruned trials at their last value."""
    maximize = direction == "maximize"
    with figure_style():
        fig = new_figure(7.2, 3.4)
        ax = fig.subplots()
        done = [r for r in rows if r["state"] == "complete" and _finite(r.get("value"))]
        pruned = [r for r in rows if r["state"] == "pruned" and _finite(r.get("last_value"))]
        failed = [r for r in rows if r["state"] == "fail"]
        ax.scatter([r["number"] for r in done], [r["value"] for r in done], s=22, color=TRAIN_COLOR, zorder=3,
                   label=figure_label("finished trial"))
        finished = [r["value"] for r in done]
        if finished:  # the axis fits the finished trials; a pruned trial far below sits on its lower edge
            low, high = min(finished), max(finished)
            pad = 0.08 * (high - low) or 0.05 * abs(high) or 0.05
            ax.set_ylim(low - pad, high + pad)
        bottom = ax.get_ylim()[0] if finished else -math.inf
        if pruned:
            ax.scatter([r["number"] for r in pruned], [max(r["last_value"], bottom) for r in pruned], s=22, marker="x",
                       color=NEUTRAL_COLOR, zorder=3, clip_on=False, label=figure_label("pruned (value when stopped)"))
        order = sorted(done, key=lambda r: r["number"])
        if order:
            ax.step([r["number"] for r in order], _running_best([r["value"] for r in order], maximize), where="post",
                    color=VAL_COLOR, linewidth=2, label=figure_label("best so far"))
        if failed:
            ax.scatter([r["number"] for r in failed], [bottom if finished else 0.0] * len(failed), s=26, marker="v",
                       color=WRONG_COLOR, zorder=3, clip_on=False, label=figure_label("failed"))
        ax.set_xlabel(figure_label("trial"))
        ax.set_ylabel(metric)
        ax.set_title(figure_label("Optimization history"))
        ax.legend(loc="lower right" if maximize else "upper right", fontsize=8)
        return png_bytes(fig)


def _axis_values(rows, key):
    """The values of one parameter over the trials, and whether they are categories (drawn as evenly spaced ticks)."""
    values = [r["params"].get(key) for r in rows]
    categorical = not all(_finite(v) for v in values if v is not None)
    return values, categorical


def _scaled(values, categorical: bool, log: bool):
    """Each value placed on 0..1 for its axis, and the tick labels of that axis."""
    present = [v for v in values if v is not None]
    if categorical:
        cats = sorted({json.dumps(v) if not isinstance(v, str) else v for v in present}, key=str)
        place = {c: (i / (len(cats) - 1) if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
        keys = [json.dumps(v) if not isinstance(v, str) else v for v in values]
        return [place.get(k) for k in keys], [(place[c], c) for c in cats]
    tf = (lambda v: math.log10(v)) if log and all(v > 0 for v in present) else (lambda v: v)
    low, high = min(map(tf, present)), max(map(tf, present))
    span = high - low or 1.0
    ticks = [(0.0, f"{min(present):.3g}"), (1.0, f"{max(present):.3g}")]
    return [None if v is None else (tf(v) - low) / span for v in values], ticks


def parallel_coordinates(rows: list[dict], keys: list[str], metric: str, log_keys=frozenset()) -> bytes:
    """One line per finished trial across an axis per parameter and the objective, coloured by the objective."""
    import matplotlib

    done = [r for r in rows if r["state"] == "complete" and _finite(r.get("value"))]
    with figure_style():
        fig = new_figure(1.6 + 1.7 * (len(keys) + 1), 3.8)
        ax = fig.subplots()
        if not done:
            ax.set_axis_off()
            return png_bytes(fig)
        columns, ticks = [], []
        for key in keys:
            values, categorical = _axis_values(done, key)
            placed, axis_ticks = _scaled(values, categorical, key in log_keys)
            columns.append(placed)
            ticks.append(axis_ticks)
        objective = [r["value"] for r in done]
        placed, axis_ticks = _scaled(objective, False, False)
        columns.append(placed)
        ticks.append(axis_ticks)
        low, high = min(objective), max(objective)
        cmap = matplotlib.colormaps["viridis"]
        for i, r in enumerate(done):
            ys = [c[i] for c in columns]
            shade = (r["value"] - low) / ((high - low) or 1.0)
            ax.plot(range(len(columns)), ys, color=cmap(shade), alpha=0.75, linewidth=1.2)
        for x, axis_ticks in enumerate(ticks):
            ax.axvline(x, color=CHANCE_COLOR, linewidth=1)
            for y, label in axis_ticks:
                ax.text(x + 0.04, y, str(label)[:18], fontsize=7, color=INK_COLOR, va="center")
        ax.set_xticks(range(len(columns)), [*keys, metric], fontsize=8)
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(figure_label("Parallel coordinates: each line a trial, yellow the best"))
        return png_bytes(fig)


def param_importances(importances: dict[str, float]) -> bytes:
    """fANOVA importance of each parameter (share of the objective's variance), largest on top."""
    items = sorted(importances.items(), key=lambda kv: kv[1])
    with figure_style():
        fig = new_figure(6.0, 0.9 + 0.45 * max(len(items), 1))
        ax = fig.subplots()
        ax.barh([k for k, _ in items], [v for _, v in items], color=TRAIN_COLOR)
        for y, (_, v) in enumerate(items):
            ax.text(v, y, f" {v:.0%}", va="center", fontsize=8, color=INK_COLOR)
        ax.set_xlim(0, max([v for _, v in items], default=1.0) * 1.2 or 1.0)
        ax.set_xlabel(figure_label("share of the objective's variance (fANOVA)"))
        ax.set_title(figure_label("Parameter importances"))
        return png_bytes(fig)


def param_slices(rows: list[dict], keys: list[str], metric: str, log_keys=frozenset()) -> bytes:
    """The objective against each parameter, one panel per parameter; later trials darker."""
    done = [r for r in rows if r["state"] == "complete" and _finite(r.get("value"))]
    with figure_style():
        fig = new_figure(1.0 + 2.8 * max(len(keys), 1), 3.0)
        axes = fig.subplots(1, max(len(keys), 1), squeeze=False)[0]
        numbers = [r["number"] for r in done]
        for ax, key in zip(axes, keys):
            values, categorical = _axis_values(done, key)
            if categorical:
                labels = sorted({json.dumps(v) if not isinstance(v, str) else v for v in values}, key=str)
                xs = [labels.index(json.dumps(v) if not isinstance(v, str) else v) for v in values]
                ax.set_xticks(range(len(labels)), [str(lbl)[:12] for lbl in labels], fontsize=7, rotation=20)
            else:
                xs = values
                if key in log_keys:
                    from matplotlib.ticker import LogLocator, NullFormatter

                    ax.set_xscale("log")
                    ax.xaxis.set_major_locator(LogLocator(numticks=4))
                    ax.xaxis.set_minor_formatter(NullFormatter())
            ax.scatter(xs, [r["value"] for r in done], c=numbers, cmap="Blues", vmin=min(numbers, default=0) - 3,
                       edgecolors=INK_COLOR, linewidths=0.3, s=22)
            ax.set_xlabel(key)
        axes[0].set_ylabel(metric)
        fig.suptitle(figure_label("Slices: the objective against each parameter (darker: later trials)"), fontsize=10)
        return png_bytes(fig)


def sampler_comparison(curves: dict[str, list[list[float]]], metric: str, direction: str) -> bytes:
    """Best-found value against trials spent, one colour per sampler: the mean over seeds and its range.

    Two panels: every trial (left), and the last two thirds of the budget with the value axis
    fitted to the means there (right), where the samplers' differences are small but real.

    Args:
        curves: sampler name -> one best-so-far list per seed (equal lengths within a sampler).
    """
    import numpy as np

    colors = dict(zip(curves, [TRAIN_COLOR, VAL_COLOR, BETTER_COLOR, WRONG_COLOR, *class_colors(max(len(curves), 1))]))
    styles = {"tpe": "--", "gp": ":"}  # dashed TPE shows where it shares random search's first trials
    with figure_style():
        fig = new_figure(9.0, 3.8)
        full, zoom = fig.subplots(1, 2)
        tails = []
        for name, runs in curves.items():
            width = min(len(r) for r in runs)
            values = np.array([r[:width] for r in runs], dtype=float)
            trials = np.arange(1, width + 1)
            mean = np.nanmean(values, axis=0)
            for ax in (full, zoom):
                ax.plot(trials, mean, color=colors[name], linestyle=styles.get(name, "-"), linewidth=2, label=f"{name} ({len(runs)} seeds)")
                ax.fill_between(trials, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=colors[name], alpha=0.12)
            start = width // 3
            zoom.set_xlim(start + 1, width)
            tails += list(mean[start:])
        if tails:
            low, high = min(tails), max(tails)
            pad = 0.25 * (high - low) or 0.01
            zoom.set_ylim(low - pad, high + pad)
        for ax in (full, zoom):
            ax.set_xlabel(figure_label("trials spent"))
        full.set_ylabel(figure_label("best {metric} found").format(metric=metric))
        full.set_title(figure_label("Every trial (band: worst to best seed)"))
        zoom.set_title(figure_label("The rest of the budget, means up close"))
        full.legend(loc="lower right" if direction == "maximize" else "upper right", fontsize=8)
        fig.suptitle(figure_label("Grid, random and Bayesian search at the same budget"), fontsize=10)
        return png_bytes(fig)
