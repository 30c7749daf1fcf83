"""Figures of federated learning: test accuracy against rounds, and how the classes are spread over clients.

Plain numbers in, PNG bytes out; figure text goes through `figure_label`.

Example:
    >>> accuracy_over_rounds({"IID": [(0, 0.1), (1, 0.9)]}, [(0, 0.1), (1, 0.95)], target=0.97)[:4]
    b'\\x89PNG'
    >>> import numpy as np
    >>> client_classes({"α = 0.1": np.eye(3, dtype=int) * 5}, ["0", "1", "2"])[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from .style import VAL_COLOR, figure_label, figure_style, new_figure, png_bytes


def accuracy_over_rounds(curves: dict, centralised=None, target: float | None = None) -> bytes:
    """Test accuracy (%) of the global model after every round, one line per split; centralised training dashed.

    Two panels: every round on the full scale, and the same lines zoomed to the last few per cent,
    where the splits differ.

    Args:
        curves: label -> [(round, test accuracy), ...] (fractions).
        centralised: [(round equivalent, test accuracy), ...]: one plain model that saw as many samples per round.
        target: a horizontal line (e.g. 0.97), or None.
    """
    lines = [(label, rows, {"linewidth": 1.4}) for label, rows in curves.items() if rows]
    if centralised:
        lines.append((figure_label("centralised (all data in one place)"), centralised,
                      {"color": "0.2", "linestyle": "--", "linewidth": 1.2}))
    finals = [100 * float(rows[-1][1]) for _, rows, _ in lines]
    with figure_style():
        fig = new_figure(9.0, 3.4)
        full, zoom = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
        for ax in (full, zoom):
            for label, rows, style in lines:
                r, acc = zip(*rows)
                ax.plot(r, 100 * np.asarray(acc, dtype=np.float64), label=label, **style)
            if target is not None:
                ax.axhline(100 * target, color=VAL_COLOR, linestyle=":", linewidth=1.0)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel(figure_label("round"))
        full.set_ylim(0.0, 100.0)
        full.set_ylabel(figure_label("test accuracy (%)"))
        low = min([100 * target - 2 if target is not None else 100.0, *[f - 2 for f in finals]]) if finals else 90.0
        zoom.set_ylim(max(0.0, np.floor(low)), 100.0)
        zoom.set_title(figure_label("zoomed in"), fontsize=9)
        if target is not None:
            zoom.annotate(f"{100 * target:g}%", (0, 100 * target), xytext=(2, 2), textcoords="offset points", fontsize=8,
                          color=VAL_COLOR)
        full.legend(fontsize=8, frameon=False, loc="lower right")
        return png_bytes(fig)


def client_classes(counts_by_split: dict, class_names, clients: int = 20) -> bytes:
    """One panel per split: the class mix of the first `clients` clients as stacked bars (share of each client's data).

    Args:
        counts_by_split: label -> (clients, classes) array of sample counts.
    """
    splits = list(counts_by_split.items())
    with figure_style():
        fig = new_figure(2.3 * max(len(splits), 1) + 0.8, 2.8)
        axes = np.atleast_1d(fig.subplots(1, max(len(splits), 1), sharey=True))
        colors = [f"C{i % 10}" for i in range(len(class_names))]
        for ax, (label, counts) in zip(axes, splits):
            counts = np.asarray(counts, dtype=np.float64)[:clients]
            shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
            bottom = np.zeros(len(shares))
            for c in range(shares.shape[1]):
                ax.bar(np.arange(len(shares)), shares[:, c], bottom=bottom, color=colors[c], width=0.9,
                       label=str(class_names[c]))
                bottom += shares[:, c]
            ax.set_title(label, fontsize=9)
            ax.set_xticks([])
            ax.set_xlabel(figure_label("client"))
        axes[0].set_ylabel(figure_label("share of the client's samples"))
        axes[-1].legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5), title=figure_label("class"))
        return png_bytes(fig)
