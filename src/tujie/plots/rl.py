"""Figures of reinforcement learning: episode returns over seeds, curves, filmstrips, Q-tables, policies.

Plain numbers in, PNG bytes out; figure text goes through `figure_label`.

Example:
    >>> import numpy as np
    >>> episode_returns([[0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]], window=2)[:4]
    b'\\x89PNG'
    >>> curve([1, 2, 3], [1.0, 0.5, 0.1], "epsilon", "epsilon")[:4]
    b'\\x89PNG'
    >>> filmstrip([np.zeros((8, 8, 3), dtype=np.uint8)] * 3)[:4]
    b'\\x89PNG'
    >>> q = np.random.default_rng(0).random((16, 4))
    >>> q_table_heatmap(q)[:4], policy_arrows(q, 4, 4, holes=[5], goal=15)[:4]
    (b'\\x89PNG', b'\\x89PNG')
"""

from __future__ import annotations

import numpy as np

from .style import CHANCE_COLOR, INK_COLOR, TRAIN_COLOR, VAL_COLOR, WRONG_COLOR, figure_label, figure_style, new_figure, png_bytes


def _moving_average(values, window: int) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return x
    sums = np.cumsum(np.insert(x, 0, 0.0))
    index = np.arange(1, x.size + 1)
    start = np.maximum(index - max(1, int(window)), 0)
    return (sums[index] - sums[start]) / (index - start)


def episode_returns(runs: list[list[float]], window: int = 100, title: str = "episode return") -> bytes:
    """Each seed's returns faint (dots, its moving average a thin line), the mean of the seeds' moving averages
    bold, their min–max spread shaded.

    Args:
        runs: one list of per-episode returns per seed (x = episode, 1-based).
        window: the moving average's window, in episodes.
    """
    with figure_style():
        fig = new_figure(6.4, 3.2)
        ax = fig.subplots()
        length = min((len(r) for r in runs), default=0)
        for r in runs:  # raw returns as faint dots (lines between 0/1 returns would fill the plot), each seed's average thin
            ax.plot(np.arange(1, len(r) + 1), r, color=TRAIN_COLOR, alpha=0.15, linestyle="none", marker=".",
                    markersize=1.5 if len(r) > 300 else 3)
            ax.plot(np.arange(1, len(r) + 1), _moving_average(r, window), color=TRAIN_COLOR, alpha=0.45, linewidth=0.7)
        if length:
            smooth = np.stack([_moving_average(r[:length], window) for r in runs])  # (seeds, episodes)
            x = np.arange(1, length + 1)
            if len(runs) > 1:
                ax.fill_between(x, smooth.min(0), smooth.max(0), color=VAL_COLOR, alpha=0.25, linewidth=0,
                                label=figure_label("spread over seeds (min–max)"))
            ax.plot(x, smooth.mean(0), color=VAL_COLOR, linewidth=2.0,
                    label=figure_label("moving average ({window} episodes), mean over seeds").replace("{window}", str(window)))
            ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.92), fontsize=8)
        ax.set_xlabel(figure_label("episode"))
        ax.set_ylabel(figure_label("return"))
        ax.set_title(figure_label(title))
        return png_bytes(fig)


def curve(steps, values, title: str, ylabel: str, *, xlabel: str = "step", series: dict | None = None) -> bytes:
    """One line (ε, loss, Q-value estimates) against steps or episodes; `series` adds more lines {label: (steps, values)}.

    Title and labels are given in English and drawn through `figure_label`.
    """
    with figure_style():
        fig = new_figure(5.2, 3.0)
        ax = fig.subplots()
        ax.plot(list(steps), list(values), color=TRAIN_COLOR, linewidth=1.4, label=figure_label(ylabel))
        for i, (label, (xs, ys)) in enumerate((series or {}).items()):
            ax.plot(list(xs), list(ys), color=(VAL_COLOR, WRONG_COLOR, CHANCE_COLOR)[i % 3], linewidth=1.2, label=label)
        if series:
            ax.legend(loc="best", fontsize=8)
        ax.set_xlabel(figure_label(xlabel))
        ax.set_ylabel(figure_label(ylabel))
        ax.set_title(figure_label(title))
        return png_bytes(fig)


def filmstrip(frames, captions: list[str] | None = None) -> bytes:
    """A row of frames (H, W, 3) uint8, left to right in time, with an optional caption under each."""
    frames = list(frames)
    n = max(1, len(frames))
    height, width = (frames[0].shape[:2] if frames else (1, 1))
    cell = 1.5
    with figure_style():
        fig = new_figure(cell * n * width / max(height, 1) + 0.2, cell + (0.3 if captions else 0.1), layout=None)
        fig.subplots_adjust(left=0.01, right=0.99, top=0.98, bottom=0.15 if captions else 0.02, wspace=0.04)
        axes = np.atleast_1d(fig.subplots(1, n))
        for i, ax in enumerate(axes):
            ax.set_xticks([]), ax.set_yticks([])
            ax.grid(False)
            if i < len(frames):
                ax.imshow(frames[i])
            if captions and i < len(captions):
                ax.set_xlabel(captions[i], fontsize=7, color=INK_COLOR)
        return png_bytes(fig)


def q_table_heatmap(q, *, state_label: str = "state", max_states: int = 500) -> bytes:
    """The Q-table (states × actions) as a heatmap; each state's best action is ringed when states are few."""
    q = np.asarray(q, dtype=np.float64)[:max_states]  # (S, A)
    states, actions = q.shape
    with figure_style():
        tall = min(9.0, 1.2 + 0.28 * states) if states <= 32 else 6.0
        fig = new_figure(2.0 + 0.6 * actions, tall)
        ax = fig.subplots()
        image = ax.imshow(q, aspect="auto", cmap="viridis", interpolation="nearest")
        fig.colorbar(image, ax=ax, label=figure_label("Q(s, a)"))
        if states <= 32:
            best = q.argmax(1)
            ax.scatter(best, np.arange(states), s=18, facecolors="none", edgecolors="white", linewidths=1.0)
            ax.set_yticks(np.arange(states))
        ax.set_xticks(np.arange(actions))
        ax.set_xlabel(figure_label("action"))
        ax.set_ylabel(figure_label(state_label))
        ax.grid(False)
        return png_bytes(fig)


# FrozenLake's actions: 0 left, 1 down, 2 right, 3 up; (dx, dy) with y pointing down the grid
_ARROWS = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}


def policy_arrows(q, nrow: int, ncol: int, *, holes=(), goal: int | None = None, start: int = 0) -> bytes:
    """The greedy policy argmax_a Q(s, a) as arrows on the grid (FrozenLake's actions: left, down, right, up).

    Holes are dark squares, the goal green, the start outlined; the cell's colour is max_a Q(s, a).
    """
    q = np.asarray(q, dtype=np.float64).reshape(nrow * ncol, -1)
    value = q.max(1).reshape(nrow, ncol)
    holes = {int(h) for h in holes}
    stop = holes | ({int(goal)} if goal is not None else set())
    with figure_style():
        fig = new_figure(0.8 * ncol + 1.4, 0.8 * nrow + 0.5)
        ax = fig.subplots()
        image = ax.imshow(value, cmap="Blues", vmin=0, vmax=max(float(value.max()), 1e-9))
        fig.colorbar(image, ax=ax, label=figure_label("max_a Q(s, a)"), shrink=0.8)
        for s in range(nrow * ncol):
            r, c = divmod(s, ncol)
            if s in holes:
                ax.add_patch(_square(c, r, "#1f2937"))
            elif goal is not None and s == int(goal):
                ax.add_patch(_square(c, r, "#15803d"))
            if s == start:
                ax.add_patch(_square(c, r, "none", edge=WRONG_COLOR))
            if s in stop:
                continue
            row = q[s]
            if np.allclose(row, row[0]):  # never learned: no preference to draw
                ax.plot(c, r, marker=".", color=CHANCE_COLOR)
                continue
            dx, dy = _ARROWS.get(int(row.argmax()), (0, 0))
            ax.annotate("", xy=(c + 0.32 * dx, r + 0.32 * dy), xytext=(c - 0.32 * dx, r - 0.32 * dy),
                        arrowprops={"arrowstyle": "->", "color": INK_COLOR, "linewidth": 1.6})
        ax.set_xticks(np.arange(ncol)), ax.set_yticks(np.arange(nrow))
        ax.set_title(figure_label("greedy policy"))
        ax.grid(False)
        return png_bytes(fig)


def _square(c, r, color, edge=None):
    from matplotlib.patches import Rectangle

    return Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=color, edgecolor=edge or color, linewidth=2.0)
