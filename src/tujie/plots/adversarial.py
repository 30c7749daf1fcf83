"""Figures of adversarial robustness: accuracy against the attack's radius ε, adversarial examples, training curves.

Everything here takes plain numbers; model keys are "plain" and "adversarial" (adversarially trained),
attack keys "fgsm" and "pgd". Images are (H, W) arrays in [0, 1].

Example:
    >>> curves = {"plain": {"fgsm": [(0.0, 0.99), (0.1, 0.7)], "pgd": [(0.0, 0.99), (0.1, 0.4)]}}
    >>> robustness_curves(curves)[:4]
    b'\\x89PNG'
    >>> import numpy as np
    >>> example_grid([("original", [np.zeros((4, 4))] * 2, ["3", "5"])])[:4]
    b'\\x89PNG'
    >>> training_curves({"plain": [{"epoch": 1, "loss": 0.3, "test_clean": 0.9, "test_pgd": 0.1}]})[:4]
    b'\\x89PNG'
"""

from __future__ import annotations


from .style import INK_COLOR, TRAIN_COLOR, VAL_COLOR, figure_label, figure_style, image_rows, new_figure, png_bytes

_MODEL_COLORS = {"plain": VAL_COLOR, "adversarial": TRAIN_COLOR}
_MODEL_NAMES = {"plain": "plain model", "adversarial": "adversarially trained model"}
_ATTACK_STYLES = {"fgsm": "--", "pgd": "-"}


def _model_name(key: str) -> str:
    return figure_label(_MODEL_NAMES[key]) if key in _MODEL_NAMES else key


def robustness_curves(curves: dict[str, dict[str, list[tuple[float, float]]]]) -> bytes:
    """Accuracy against ε: one colour per model, FGSM dashed and PGD solid.

    Args:
        curves: {model: {attack: [(ε, accuracy), ...]}}.
    """
    with figure_style():
        fig = new_figure(6.0, 3.6)
        ax = fig.subplots()
        for model, attacks in curves.items():
            for attack, points in attacks.items():
                if not points:
                    continue
                eps, acc = zip(*sorted(points))
                ax.plot(eps, acc, _ATTACK_STYLES.get(attack, ":"), marker="o", color=_MODEL_COLORS.get(model, INK_COLOR),
                        label=f"{_model_name(model)}, {attack.upper()}")
        ax.set_xlabel(figure_label("ε (L∞ radius, pixel units)"))
        ax.set_ylabel(figure_label("test accuracy"))
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=8)
        return png_bytes(fig)


def example_grid(rows: list[tuple[str, list, list[str]]]) -> bytes:
    """Rows of images with a caption over each (e.g. the predicted label), the row's label on the left.

    Args:
        rows: (label, images (H, W) in [0, 1], captions) per row.
    """
    return image_rows(rows, label_size=8)


def training_curves(histories: dict[str, list[dict]]) -> bytes:
    """Per epoch: the training loss (left) and the test accuracy, clean (solid) and under PGD (dashed), one colour per model.

    Args:
        histories: {model: [{"epoch", "loss", "test_clean", "test_pgd"}, ...]}.
    """
    with figure_style():
        fig = new_figure(8.0, 3.2)
        left, right = fig.subplots(1, 2)
        clean = figure_label("clean")
        for model, rows in histories.items():
            epochs = [r["epoch"] for r in rows]
            color = _MODEL_COLORS.get(model, INK_COLOR)
            left.plot(epochs, [r["loss"] for r in rows], marker="o", color=color, label=_model_name(model))
            right.plot(epochs, [r["test_clean"] for r in rows], "-", marker="o", color=color,
                       label=f"{_model_name(model)}, {clean}")
            right.plot(epochs, [r["test_pgd"] for r in rows], "--", marker="o", color=color,
                       label=f"{_model_name(model)}, PGD")
        left.set_xlabel(figure_label("epoch"))
        left.set_ylabel(figure_label("training loss (on the examples trained on)"))
        right.set_xlabel(figure_label("epoch"))
        right.set_ylabel(figure_label("test accuracy"))
        right.set_ylim(-0.02, 1.02)
        left.legend(fontsize=8)
        right.legend(fontsize=7)
        return png_bytes(fig)
