"""Decision boundaries in the plane, as training goes: one row per model, one panel per epoch."""

from __future__ import annotations

from .style import CORRECT_COLOR, INK_COLOR, WRONG_COLOR, figure_label, figure_style, new_figure, plain_text, png_bytes


def decision_boundaries(rows: list[dict], x, y) -> bytes:
    """P(class 1) shaded on a grid, the 0.5 contour drawn, the training points on top.

    Args:
        rows: [{"name": str, "xs": [..], "ys": [..], "snapshots": [{"epoch", "accuracy", "probs" (len(ys), len(xs))}]}];
            a snapshot may give "logits" instead of "probs" (the boundary is then where the logit is 0).
        x: the points (n, 2); y: their 0/1 labels (n,).

    Returns:
        PNG bytes.

    Example:
        >>> row = {"name": "neuron", "xs": [0, 1], "ys": [0, 1],
        ...        "snapshots": [{"epoch": 1, "accuracy": 0.5, "probs": [[0.2, 0.4], [0.6, 0.8]]}]}
        >>> decision_boundaries([row], [[0.1, 0.2], [0.9, 0.8]], [0, 1])[:4]
        b'\\x89PNG'
    """
    import numpy as np

    x, y = np.asarray(x, dtype=float), np.asarray(y)
    if not rows or not all(r.get("snapshots") for r in rows):
        raise ValueError("decision boundaries need at least one row with snapshots; received none")
    cols = max(len(r["snapshots"]) for r in rows)
    with figure_style():
        fig = new_figure(0.4 + 2.0 * cols, 0.3 + 2.0 * len(rows))
        axes = fig.subplots(len(rows), cols, squeeze=False)
        for row, line in zip(rows, axes):
            for ax, shot in zip(line, row["snapshots"]):
                probs = (np.asarray(shot["probs"], dtype=float) if "probs" in shot
                         else 1 / (1 + np.exp(-np.asarray(shot["logits"], dtype=float))))
                ax.contourf(row["xs"], row["ys"], probs, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
                # the boundary from the logits where given: a nearly flat model is 0.5 to many digits
                level, field = (0.0, np.asarray(shot["logits"], dtype=float)) if "logits" in shot else (0.5, probs)
                if field.min() < level < field.max():
                    ax.contour(row["xs"], row["ys"], field, levels=[level], colors=INK_COLOR, linewidths=1.0)
                ax.scatter(x[y == 0, 0], x[y == 0, 1], s=5, color=CORRECT_COLOR, linewidths=0)
                ax.scatter(x[y == 1, 0], x[y == 1, 1], s=5, color=WRONG_COLOR, linewidths=0)
                ax.set_xticks([]), ax.set_yticks([])
                ax.grid(False)
                ax.set_title(figure_label("{name}, epoch {epoch}: {accuracy:.0%}").format(
                    name=plain_text(row["name"]), epoch=shot["epoch"], accuracy=shot["accuracy"]), fontsize=8)
            for ax in line[len(row["snapshots"]):]:
                ax.set_visible(False)
        return png_bytes(fig)


__all__ = ["decision_boundaries"]
