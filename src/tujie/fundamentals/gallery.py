"""Activations and losses, measured (book chapter 3): each function tujie trains with, its derivative, where it saturates.

Every curve is computed through tujie's own names, `tujie.layers.activations.get_activation` and
`tujie.train.losses.get_loss`, so the function drawn is the one a recipe trains with, and every
derivative comes from `torch.autograd`, not from a formula typed by hand:

    f(x) and f'(x) on a grid            activation_curves()
    L(prediction; target) and dL/dŷ     loss_curves()
    which output activation goes with which loss, and the gradient each pair sends back to the
    logit when the network is confidently wrong (3.2.2: "MSE 更容易导致梯度较大, 交叉熵梯度更稳定")
                                        pairing_table()

A region *saturates* where |f'(x)| < `threshold` (0.01 by default): a gradient passing through
it is cut a hundredfold or more, which is what the book means by 梯度消失 for sigmoid and tanh, and
by a "dead" ReLU for x < 0.

Example:
    >>> curves = activation_curves(["sigmoid"], points=101)
    >>> sig = curves[0]
    >>> round(max(sig["derivative"]), 3)          # σ'(0) = 1/4
    0.25
    >>> [round(a, 2) for a in sig["saturated"][0]]  # saturates for x < about −4.6
    [-8.0, -4.64]
"""

from __future__ import annotations

import math

import torch

from ..layers.activations import get_activation
from ..train.losses import get_loss

# (tujie name, where the seeds name it): the book's list first, then what tujie offers beyond it
ACTIVATIONS = (("sigmoid", "000 §3.1.1"), ("tanh", "000 §3.1.1"), ("relu", "000 §3.1.1"),
               ("leaky_relu", "000 §3.1.1"), ("softmax", "000 §3.1.2"), ("elu", "tujie"),
               ("gelu", "tujie"), ("swish", "tujie"), ("softplus", "tujie"))

# (tujie loss name, what the prediction axis is, target, where the seeds name it)
LOSSES = (("mse", "value", 0.0, "000 §3.2.1"), ("mae", "value", 0.0, "003"), ("smooth_l1", "value", 0.0, "001"),
          ("huber", "value", 0.0, "tujie"), ("bce", "probability", 1.0, "000 §3.2.1"),
          ("bce_with_logits", "logit", 1.0, "001"), ("cross_entropy", "logit", 1.0, "000 §3.2.1"),
          ("hinge", "logit", 1.0, "001"))

# the prediction axis each kind of loss is drawn over
_AXES = {"value": (-3.0, 3.0), "probability": (0.001, 0.999), "logit": (-6.0, 6.0)}

# (task, output activation, tujie loss, what the loss receives): chapter 3.3 and seed 001
PAIRS = (("multiclass", "softmax", "cross_entropy", "logits (the softmax is inside the loss)"),
         ("binary", "sigmoid", "bce", "probabilities"),
         ("binary", "linear", "bce_with_logits", "logits (the sigmoid is inside the loss)"),
         ("binary", "sigmoid", "mse", "probabilities"),
         ("binary (SVM margin)", "linear", "hinge", "scores, targets ±1"),
         ("regression", "linear", "mse", "values"),
         ("regression", "linear", "huber", "values"))


def _apply(name: str, x: torch.Tensor) -> torch.Tensor:
    """The activation applied elementwise; softmax, which needs a vector, is read as its first output
    over the logits (x, 0): a two-class softmax, the sigmoid seen from the multiclass side."""
    fn = get_activation(name)
    if name == "softmax":
        return fn(torch.stack([x, torch.zeros_like(x)], dim=-1))[..., 0]  # (points, 2) → (points,)
    return fn(x)


def _regions(x: list[float], mask: list[bool], min_width: float = 0.5) -> list[list[float]]:
    """The [start, end] spans of x where mask is true, at least `min_width` wide (a derivative that only
    crosses zero, at GELU's or swish's minimum, is a turning point, not a saturated region)."""
    spans, start = [], None
    for i, flag in enumerate(mask):
        if flag and start is None:
            start = i
        if start is not None and (not flag or i == len(mask) - 1):
            end = i if flag else i - 1
            if x[end] - x[start] >= min_width:
                spans.append([x[start], x[end]])
            start = None
    return spans


def activation_curves(names=None, lo: float = -8.0, hi: float = 8.0, points: int = 401,
                      threshold: float = 0.01) -> list[dict]:
    """Each activation and its autograd derivative on a grid, with its saturated spans.

    Args:
        names: tujie activation names (default: `ACTIVATIONS`).
        lo, hi, points: the grid.
        threshold: |f'(x)| below it counts as saturated.

    Returns:
        One dict per activation: name, source, x, value, derivative, saturated ([[x0, x1], ...]),
        range ([min f, max f]), max_derivative.
    """
    sources = dict(ACTIVATIONS)
    x = torch.linspace(lo, hi, points, dtype=torch.float64)  # (points,)
    out = []
    for name in names or [n for n, _ in ACTIVATIONS]:
        xs = x.clone().requires_grad_(True)
        y = _apply(name, xs)  # (points,)
        (dy,) = torch.autograd.grad(y.sum(), xs)  # elementwise functions: d(sum y)/dx_i = f'(x_i)
        grid, d = x.tolist(), dy.tolist()
        out.append({"name": name, "source": sources.get(name, "tujie"), "x": grid, "value": y.detach().tolist(),
                    "derivative": d, "saturated": _regions(grid, [abs(v) < threshold for v in d]),
                    "range": [float(y.detach().min()), float(y.detach().max())], "max_derivative": float(dy.abs().max()),
                    "threshold": threshold})
    return out


def _loss_value(name: str, axis: str, prediction: torch.Tensor, target: float) -> torch.Tensor:
    """One loss per prediction value (points,), through tujie's own loss object."""
    n = prediction.shape[0]
    if name == "hinge":  # tujie's HingeLoss always averages: one call per point
        loss = get_loss(name)
        return torch.stack([loss(p.reshape(1), torch.tensor([target], dtype=p.dtype)) for p in prediction])
    loss = get_loss(name, reduction="none")
    if name == "cross_entropy":  # the true class's logit against two other logits held at 0
        logits = torch.stack([prediction, torch.zeros_like(prediction), torch.zeros_like(prediction)], dim=1)  # (n, 3)
        return loss(logits, torch.zeros(n, dtype=torch.long))
    return loss(prediction, torch.full((n,), target, dtype=prediction.dtype))


def loss_curves(names=None, points: int = 241) -> list[dict]:
    """Each loss against the prediction for a fixed target, with dL/dprediction by autograd.

    Regression losses are drawn over the predicted value (target 0), BCE over the predicted
    probability (target 1), the logit losses over the logit of the true class (target 1).

    Returns:
        One dict per loss: name, source, axis ("value", "probability", "logit"), target, x, value, derivative.

    Example:
        >>> mse = loss_curves(["mse"], points=7)[0]
        >>> mse["x"][:2], mse["value"][:2], mse["derivative"][:2]
        ([-3.0, -2.0], [9.0, 4.0], [-6.0, -4.0])
    """
    table = {name: (axis, target, source) for name, axis, target, source in LOSSES}
    out = []
    for name in names or [n for n, *_ in LOSSES]:
        axis, target, source = table[name]
        lo, hi = _AXES[axis]
        x = torch.linspace(lo, hi, points, dtype=torch.float64).requires_grad_(True)  # (points,)
        value = _loss_value(name, axis, x, target)  # (points,)
        (dx,) = torch.autograd.grad(value.sum(), x)
        out.append({"name": name, "source": source, "axis": axis, "target": target, "x": x.detach().tolist(),
                    "value": value.detach().tolist(), "derivative": dx.tolist()})
    return out


def logit_gradient(output: str, loss: str, logit: float, target: float = 1.0) -> float:
    """dL/dz for one example whose network computes `output(z)` and is trained with `loss`.

    Example:
        >>> round(logit_gradient("sigmoid", "bce", -6.0), 4)   # σ(z) − y: the whole error comes back
        -0.9975
        >>> round(logit_gradient("sigmoid", "mse", -6.0), 4)   # 2(σ − y)·σ(1 − σ): almost nothing comes back
        -0.0049
    """
    z = torch.tensor([logit], dtype=torch.float64, requires_grad=True)  # (1,)
    if output == "softmax":  # cross_entropy takes the logits; the other two logits are 0
        value = get_loss(loss)(torch.cat([z, torch.zeros(2, dtype=z.dtype)]).reshape(1, 3), torch.tensor([0]))
    else:
        act = get_activation(output)
        y = z if act is None else act(z)
        value = get_loss(loss)(y, torch.tensor([target], dtype=z.dtype))
    (grad,) = torch.autograd.grad(value, z)
    return float(grad)


def pairing_table(wrong_logit: float = -6.0, right_logit: float = 6.0) -> list[dict]:
    """Which output activation goes with which loss, and the gradient each pair sends back to the logit
    for a confidently wrong (z = wrong_logit, target 1) and a confidently right example."""
    rows = []
    for task, output, loss, receives in PAIRS:
        if task == "regression":  # no confident-wrong logit: the error is a distance, its gradient is drawn above
            rows.append({"task": task, "output": output, "loss": loss, "receives": receives, "gradient_when_wrong": None,
                         "gradient_when_right": None, "learns_when_wrong": None})
            continue
        wrong, right = logit_gradient(output, loss, wrong_logit), logit_gradient(output, loss, right_logit)
        rows.append({"task": task, "output": output, "loss": loss, "receives": receives,
                     "gradient_when_wrong": wrong, "gradient_when_right": right,
                     "learns_when_wrong": abs(wrong) >= 0.1 and math.isfinite(wrong)})
    return rows


def gallery(threshold: float = 0.01, points: int = 401) -> dict:
    """Everything the activations-losses report draws, as plain numbers."""
    return {"activations": activation_curves(points=points, threshold=threshold), "losses": loss_curves(),
            "pairs": pairing_table(), "threshold": threshold}
