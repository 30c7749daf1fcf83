"""Optimizers on a loss surface (seeds 001 and 002, "常见优化器"): torch's own optimizers walking a 2-D function.

A point (x, y) is one `nn.Parameter` of shape (2,); each optimizer is built by name through
`tujie.train.optimizers.get_optimizer`, exactly as a recipe's `optimizer:` builds it, and takes
`steps` steps on one of these surfaces:

    rosenbrock   (1 − x)² + 100 (y − x²)²    a curved narrow valley; minimum 0 at (1, 1)
    saddle       x² − y² + y⁴/4              a saddle at (0, 0); minima −1 at (0, ±√2)

The saddle is x² − y² made bounded below by y⁴/4 so that it has a minimum to reach: started on
the ridge with y almost 0, an optimizer must leave the saddle point along a direction whose
gradient is almost nothing at first.

Example:
    >>> path = optimizer_path("rosenbrock", "adam", lr=0.05, steps=1500, start=(-1.5, 2.0))
    >>> path["distance"] < 0.05, len(path["x"]) <= 301
    (True, True)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from ..train.optimizers import get_optimizer


def rosenbrock(x, y):
    """(1 − x)² + 100 (y − x²)²: works on floats, numpy arrays and tensors alike."""
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def saddle(x, y):
    """x² − y² + y⁴/4: a saddle at the origin, minima −1 at (0, ±√2)."""
    return x ** 2 - y ** 2 + y ** 4 / 4


# name → (function, its minima, its minimum value, default start, drawing window (x0, x1, y0, y1))
SURFACES = {"rosenbrock": (rosenbrock, [(1.0, 1.0)], 0.0, (-1.5, 2.0), (-2.0, 2.0, -1.0, 3.0)),
            "saddle": (saddle, [(0.0, math.sqrt(2)), (0.0, -math.sqrt(2))], -1.0, (1.5, 1e-3), (-2.0, 2.0, -2.0, 2.0))}

# name → (tujie optimizer name, its options beside lr)
OPTIMIZERS = {"sgd": ("sgd", {}), "momentum": ("sgd", {"momentum": 0.9}),
              "nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}), "adagrad": ("adagrad", {}),
              "rmsprop": ("rmsprop", {}), "adadelta": ("adadelta", {}), "adam": ("adam", {})}


def surface(name: str):
    """The surface's entry in `SURFACES`; an unknown name is refused with the known ones."""
    if name not in SURFACES:
        raise ConfigError(f"Unknown loss surface {name!r}.", expected=f"one of {', '.join(SURFACES)}",
                          received=f"surface={name!r}", fix="Pick a surface from the list.")
    return SURFACES[name]


def optimizer_path(surface_name: str, optimizer: str, lr: float, steps: int = 1000, start=None,
                   keep: int = 300) -> dict:
    """Run one torch optimizer on a surface from `start`; the path (at most keep + 1 points) and where it ended.

    Returns:
        {surface, optimizer, lr, steps, every (one point kept every so many steps), x, y (the path), loss (final), distance (to the nearest minimum),
        diverged (a non-finite point was reached; the path stops there), steps_to_reach (the first step
        within 0.1 of a minimum, or None)}.
    """
    fn, minima, _best, default_start, _window = surface(surface_name)
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"Unknown optimizer {optimizer!r} for the loss-surface demo.",
                          expected=f"one of {', '.join(OPTIMIZERS)}", received=f"optimizer={optimizer!r}",
                          fix="Pick one of the listed optimizers.")
    name, options = OPTIMIZERS[optimizer]
    point = nn.Parameter(torch.tensor(start or default_start, dtype=torch.float64))  # (2,): x, y
    opt = get_optimizer(name, [point], lr=lr, **options)
    every = max(1, steps // keep)
    first = point.detach().tolist()
    xs, ys, reached, diverged = [first[0]], [first[1]], None, False

    def near(p) -> float:
        return min(math.hypot(p[0] - mx, p[1] - my) for mx, my in minima)

    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = fn(point[0], point[1])  # scalar
        loss.backward()
        opt.step()
        p = point.detach().tolist()
        if not all(math.isfinite(v) for v in p) or max(abs(v) for v in p) > 1e6:
            diverged = True
            break
        if reached is None and near(p) < 0.1:
            reached = step
        if step % every == 0 or step == steps:
            xs.append(p[0])
            ys.append(p[1])
    final = point.detach().tolist()
    finite = all(math.isfinite(v) for v in final)
    return {"surface": surface_name, "optimizer": optimizer, "lr": lr, "steps": steps, "every": every, "x": xs, "y": ys,
            "loss": float(fn(*final)) if finite else float("inf"), "distance": near(final) if finite else float("inf"),
            "diverged": diverged, "steps_to_reach": reached}


def race(surface_name: str, learning_rates: dict, steps: int = 1000, start=None) -> list[dict]:
    """`optimizer_path` for each optimizer in `learning_rates` ({optimizer: lr})."""
    return [optimizer_path(surface_name, name, lr, steps, start) for name, lr in learning_rates.items()]


def contour_grid(surface_name: str, points: int = 120):
    """The surface on a grid over its drawing window: (xs (points,), ys (points,), z (points, points))."""
    import numpy as np

    fn, _minima, _best, _start, (x0, x1, y0, y1) = surface(surface_name)
    xs, ys = np.linspace(x0, x1, points), np.linspace(y0, y1, points)
    gx, gy = np.meshgrid(xs, ys)  # (points, points)
    return xs, ys, fn(gx, gy)
