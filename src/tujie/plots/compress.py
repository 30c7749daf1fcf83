"""Figures of model compression (chapter 15): the accuracy–size and accuracy–latency Pareto picture, sparsity per layer.

Example:
    >>> rows = [{"label": "base", "accuracy": 0.98, "size_mb": 1.0, "latency_ms": 2.0},
    ...         {"label": "int8", "accuracy": 0.979, "size_mb": 0.26, "latency_ms": 1.1}]
    >>> pareto_front([(1.0, 0.98), (0.26, 0.979), (0.5, 0.9)])
    [(0.26, 0.979), (1.0, 0.98)]
    >>> accuracy_pareto(rows)[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

from .style import figure_label, figure_style, new_figure, png_bytes


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both cost (x, lower is better) and accuracy (y, higher is better), by cost."""
    front, best = [], float("-inf")
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return front


def accuracy_pareto(rows: list[dict]) -> bytes:
    """Two panels: test accuracy against size (MB) and against latency (ms per batch), one point per method,
    the Pareto front (nothing both smaller/faster and more accurate) drawn as a step line.

    Args:
        rows: {"label", "accuracy", "size_mb", "latency_ms"}; the first row is the base model (drawn as a star).
    """
    from matplotlib.ticker import FormatStrFormatter

    from .style import BETTER_COLOR, INK_COLOR, NEUTRAL_COLOR

    panels = (("size_mb", figure_label("size of the state dict (MB)")),
              ("latency_ms", figure_label("latency per batch of 64 (ms)")))
    with figure_style():
        fig = new_figure(9.6, 3.9)
        for ax, (key, label) in zip(fig.subplots(1, 2), panels):
            points = [(r[key], r["accuracy"]) for r in rows if r.get(key) is not None and r.get("accuracy") is not None]
            front = pareto_front(points)
            if len(front) > 1:
                ax.step([p[0] for p in front], [p[1] for p in front], where="post", color=BETTER_COLOR, linewidth=1.6,
                        alpha=0.7, label=figure_label("Pareto front"))
            for i, r in enumerate(rows):
                if r.get(key) is None or r.get("accuracy") is None:
                    continue
                on_front = (r[key], r["accuracy"]) in front
                ax.plot(r[key], r["accuracy"], "*" if i == 0 else "o", markersize=12 if i == 0 else 7,
                        color=INK_COLOR if i == 0 else (BETTER_COLOR if on_front else NEUTRAL_COLOR))
                ax.annotate(r["label"], (r[key], r["accuracy"]), textcoords="offset points", xytext=(5, 4), fontsize=7)
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FormatStrFormatter("%.3g"))   # 0.3, not 3×10⁻¹
            ax.xaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
            ax.tick_params(axis="x", which="minor", labelsize=7)
            ax.set_xlabel(label)
            ax.set_ylabel(figure_label("test accuracy"))
            if len(front) > 1:
                ax.legend(loc="lower right", fontsize=8)
        fig.suptitle(figure_label("Accuracy against size and latency, one point per method"))
        return png_bytes(fig)


def sparsity_bars(layers: dict[str, list[dict]]) -> bytes | None:
    """Grouped bars: the share of zero weights in each layer, one colour per pruning method.

    Args:
        layers: method label -> rows {"layer", "sparsity"} (in layer order; the methods share the layers).

    Example:
        >>> sparsity_bars({"layer-wise": [{"layer": "fc1", "sparsity": 0.9}, {"layer": "fc2", "sparsity": 0.9}]})[:4]
        b'\\x89PNG'
    """
    from .style import class_colors

    if not layers:
        return None
    names = list(dict.fromkeys(r["layer"] for rows in layers.values() for r in rows))
    colors = class_colors(max(len(layers), 2))
    width = 0.8 / len(layers)
    with figure_style():
        fig = new_figure(2.4 + 0.45 * max(len(names), 6) * max(1, len(layers) ** 0.5), 3.8)
        ax = fig.subplots()
        for k, (method, rows) in enumerate(layers.items()):
            by_name = {r["layer"]: r["sparsity"] for r in rows}
            xs = [i + (k - (len(layers) - 1) / 2) * width for i, n in enumerate(names) if n in by_name]
            ax.bar(xs, [by_name[n] for n in names if n in by_name], width=width, color=colors[k], label=method)
        ax.set_xticks(range(len(names)), names, rotation=45 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center",
                      fontsize=7)
        ax.set_ylim(0, 1)
        ax.set_ylabel(figure_label("share of weights pruned"))
        ax.set_title(figure_label("Sparsity per layer"))
        fig.legend(loc="outside lower center", ncols=min(len(layers), 2), fontsize=8, frameon=False)
        return png_bytes(fig)
