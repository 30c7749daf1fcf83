"""A computation graph drawn as layers of boxes, left (inputs) to right (the loss): graphviz when it is installed, else matplotlib.

Each box shows a node's name or operation, its forward value and its gradient ∂L/∂node; the
arrows run the way the forward pass does (the backward pass walks them right to left). The
function takes plain node and edge lists (`tujie.fundamentals.backprop.trace` makes them), so
it knows nothing of any engine.
"""

from __future__ import annotations

import shutil

from .style import INK_COLOR, TRAIN_COLOR, WRONG_COLOR, figure_label, figure_style, new_figure, plain_text, png_bytes


def _columns(nodes: list[dict], edges: list) -> dict:
    """Each node's column: the longest path from an input; an input sits just left of its first use."""
    parents = {n["id"]: [] for n in nodes}
    children = {n["id"]: [] for n in nodes}
    for a, b in edges:
        parents[b].append(a)
        children[a].append(b)
    column = {}
    for node in nodes:  # nodes come in topological order: parents first
        column[node["id"]] = 1 + max((column[p] for p in parents[node["id"]]), default=-1)
    for node in nodes:
        if not parents[node["id"]] and children[node["id"]]:
            column[node["id"]] = min(column[c] for c in children[node["id"]]) - 1
    return column


def _untangle(rows: dict, edges: list, sweeps: int = 4) -> None:
    """Order each column by the mean position of its neighbours (the barycentre heuristic): fewer crossing arrows."""
    neighbours: dict = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    columns = sorted(rows)
    for sweep in range(sweeps):
        for c in (reversed(columns) if sweep % 2 == 0 else columns):
            rank = {node: (len(ids) - 1) / 2 - i for col, ids in rows.items() if col != c for i, node in enumerate(ids)}

            def centre(node, rank=rank, c=c):
                near = [rank[n] for n in neighbours.get(node, []) if n in rank]
                return -sum(near) / len(near) if near else -((len(rows[c]) - 1) / 2 - rows[c].index(node))
            rows[c] = sorted(rows[c], key=centre)


def _fmt(value) -> str:
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return "[…]"


def computation_graph(nodes: list[dict], edges: list, title: str = "") -> bytes:
    """Draw a computation graph with each node's forward value and backward gradient.

    Args:
        nodes: [{"id", "label", "op", "value", "grad"}, ...] in topological order (parents first).
        edges: [[from_id, to_id], ...] in the forward direction.
        title: drawn above the graph.

    Returns:
        PNG bytes.

    Example:
        >>> nodes = [{"id": 0, "label": "x", "op": "", "value": 2.0, "grad": 3.0},
        ...          {"id": 1, "label": "y", "op": "²", "value": 4.0, "grad": 1.0}]
        >>> computation_graph(nodes, [[0, 1]])[:4]
        b'\\x89PNG'
    """
    if not nodes:
        raise ValueError("a computation graph needs at least one node; received none")
    if graphviz_available():
        return _graphviz_png(nodes, edges, title)
    column = _columns(nodes, edges)
    width = max(column.values()) + 1
    rows: dict = {}
    for node in nodes:
        rows.setdefault(column[node["id"]], []).append(node["id"])
    height = max(len(r) for r in rows.values())
    _untangle(rows, edges)
    place = {}
    for c, ids in rows.items():
        for i, node_id in enumerate(ids):  # centred in its column, top to bottom
            place[node_id] = (c, (len(ids) - 1) / 2 - i)
    with figure_style():
        fig = new_figure(max(4.0, 1.25 * width + 0.5), max(2.0, 0.95 * height + 0.8))
        ax = fig.add_subplot()
        ax.set_axis_off()
        for a, b in edges:
            (xa, ya), (xb, yb) = place[a], place[b]
            ax.annotate("", xy=(xb - 0.38, yb), xytext=(xa + 0.38, ya),
                        arrowprops={"arrowstyle": "->", "color": "#9ca3af", "lw": 0.9})
        for node in nodes:
            x, y = place[node["id"]]
            name = plain_text(node.get("label") or "")
            op = plain_text(node.get("op") or "")
            head = f"{name} = {op}" if name and op else (name or op)
            ax.text(x, y + 0.16, head, ha="center", va="center", fontsize=8, fontweight="bold", color=INK_COLOR,
                    bbox={"boxstyle": "round,pad=0.3", "fc": "#eef2ff" if node.get("leaf") else "#f9fafb",
                          "ec": TRAIN_COLOR if node.get("leaf") else "#c4c8d0"})
            ax.text(x, y - 0.08, _fmt(node.get("value")), ha="center", va="center", fontsize=7.5, color=INK_COLOR)
            ax.text(x, y - 0.27, "∇ " + _fmt(node.get("grad")), ha="center", va="center", fontsize=7.5, color=WRONG_COLOR)
        ax.set_xlim(-0.6, width - 0.4)
        ax.set_ylim(-(height - 1) / 2 - 0.55, (height - 1) / 2 + 0.45)
        ax.set_title(plain_text(title) + ("\n" if title else "") +
                     figure_label("black: forward value; red ∇: gradient ∂L/∂node"), fontsize=9)
        return png_bytes(fig)


def graphviz_available() -> bool:
    """Whether the graphviz Python package and its `dot` program are both installed (neither is required)."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def graphviz_source(nodes: list[dict], edges: list, title: str = ""):
    """The graph as a `graphviz.Digraph`, left to right: inputs as blue boxes, each node with value and ∇ gradient."""
    import graphviz

    dot = graphviz.Digraph(graph_attr={"rankdir": "LR", "label": plain_text(title) + ("\n" if title else "") +
                                       figure_label("black: forward value; red ∇: gradient ∂L/∂node"),
                                       "labelloc": "t", "fontsize": "11"},
                           node_attr={"shape": "box", "style": "rounded,filled", "fontsize": "10", "fontname": "DejaVu Sans"})
    for node in nodes:
        name, op = node.get("label") or "", node.get("op") or ""
        head = f"{name} = {op}" if name and op else (name or op)
        label = (f'<<b>{_html(head)}</b><br/>{_fmt(node.get("value"))}<br/>'
                 f'<font color="{WRONG_COLOR}">∇ {_fmt(node.get("grad"))}</font>>')
        dot.node(str(node["id"]), label, fillcolor="#eef2ff" if node.get("leaf") else "#f9fafb",
                 color=TRAIN_COLOR if node.get("leaf") else "#c4c8d0")
    for a, b in edges:
        dot.edge(str(a), str(b), color="#9ca3af")
    return dot


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _graphviz_png(nodes: list[dict], edges: list, title: str) -> bytes:
    return graphviz_source(nodes, edges, title).pipe(format="png")


__all__ = ["computation_graph", "graphviz_available", "graphviz_source"]
