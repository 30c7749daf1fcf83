"""Random expression graphs built twice, in the scratch engine and in torch, for comparing the two.

Leaves of shapes (), (3,), (2, 3), (1, 3), (3, 2); 4–12 operations drawn at random among
+ − × ÷ (with broadcasting), matmul, sum over an axis, tanh, sigmoid, relu, exp, log, powers,
negation and mean, each applied where its shapes and domain allow (log of a positive, exp of a
bounded value; a matmul whose right operand does not fit gets a fresh leaf of a fitting shape);
every intermediate node feeds the final scalar, so every leaf gets a gradient.

Example:
    >>> mine, theirs, out, tout, ops = random_graph(3)
    >>> out.backward(); tout.backward()
    >>> bool(abs(float(out.data) - tout.item()) < 1e-9), len(ops) >= 4
    (True, True)
"""

from __future__ import annotations

import numpy as np
import torch

from .autodiff import Tensor

SHAPES = [(), (3,), (2, 3), (1, 3), (3, 2)]

# (name, engine op, torch op): unary operations kept inside their domains
_UNARY = (
    ("tanh", lambda a: a.tanh(), torch.tanh),
    ("sigmoid", lambda a: a.sigmoid(), torch.sigmoid),
    ("relu", lambda a: a.relu(), torch.relu),
    ("exp", lambda a: a.tanh().exp(), lambda a: a.tanh().exp()),
    ("log", lambda a: (a * a + 0.5).log(), lambda a: (a * a + 0.5).log()),
    ("pow2", lambda a: a ** 2, lambda a: a ** 2),
    ("pow3", lambda a: a ** 3, lambda a: a ** 3),
    ("pow-1.5", lambda a: (a * a + 1.0) ** -1.5, lambda a: (a * a + 1.0) ** -1.5),
    ("neg", lambda a: -a, lambda a: -a),
    ("sum", lambda a: a.sum(), lambda a: a.sum()),
    ("mean", lambda a: a.mean(), lambda a: a.mean()),
)
# (name, op) for both engines alike: elementwise with broadcasting
_BINARY = (
    ("add", lambda x, y: x + y),
    ("mul", lambda x, y: x * y),
    ("sub", lambda x, y: x - y),
    ("div", lambda x, y: x / (y * y + 1.0)),
    ("affine", lambda x, y: 2.0 - x * 0.5 + y),
)


def _broadcastable(a: tuple, b: tuple) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def random_graph(seed: int):
    """One random graph: (engine leaves, torch leaves (float64, requires_grad), engine output, torch output, op names)."""
    rng = np.random.default_rng(seed)
    leaves = [rng.normal(size=SHAPES[rng.integers(len(SHAPES))]) for _ in range(rng.integers(2, 5))]
    mine = [Tensor(v) for v in leaves]
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in leaves]
    pool, ops = list(zip(mine, theirs)), []
    for _ in range(rng.integers(4, 13)):
        (a, ta), (b, tb) = pool[rng.integers(len(pool))], pool[rng.integers(len(pool))]
        choice = rng.integers(6)
        if choice == 0 and a.data.ndim == 2:
            if not (b.data.ndim == 2 and a.shape[1] == b.shape[0]):  # a fresh leaf that fits: (k, m)
                value = rng.normal(size=(a.shape[1], int(rng.integers(1, 4))))
                b, tb = Tensor(value), torch.tensor(value, dtype=torch.float64, requires_grad=True)
                mine.append(b)
                theirs.append(tb)
            pool.append((a @ b, ta @ tb))
            ops.append("matmul")
        elif choice == 1 and a.data.ndim == 2:
            axis = int(rng.integers(2))
            pool.append((a.sum(axis=axis), ta.sum(dim=axis)))
            ops.append("sum(axis)")
        elif choice in (2, 3) and _broadcastable(a.shape, b.shape):
            name, op = _BINARY[rng.integers(len(_BINARY))]
            pool.append((op(a, b), op(ta, tb)))
            ops.append(name)
        else:
            name, ours, torchs = _UNARY[rng.integers(len(_UNARY))]
            pool.append((ours(a), torchs(ta)))
            ops.append(name)
    out, tout = pool[-1]
    for node, tnode in pool[:-1]:  # every node feeds the end
        out, tout = out + node.sum() * 0.1, tout + tnode.sum() * 0.1
    return mine, theirs, out.sum(), tout.sum(), ops


def compare(seed: int) -> tuple[float, float, list[str]]:
    """Run one random graph forward and backward in both engines: (largest value difference, largest gradient difference, ops)."""
    mine, theirs, out, tout, ops = random_graph(seed)
    out.backward()
    tout.backward()
    value = abs(float(out.data) - tout.item())
    grad = max(float(np.abs(leaf.grad - (tleaf.grad.numpy() if tleaf.grad is not None else 0.0)).max(initial=0.0))
               for leaf, tleaf in zip(mine, theirs))
    return value, grad, ops


__all__ = ["SHAPES", "compare", "random_graph"]
