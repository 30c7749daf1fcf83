"""Backprop made visible: the computation graph of chapter 4's case, and small networks trained by the scratch engine.

- `neuron_graph()` and `network_graph()`: one sigmoid neuron and a 2-2-1 sigmoid network on one
  example with the loss L = ½(y − ŷ)² of 4.2, built from scalar `Tensor`s so every node of the
  graph holds a forward value and, after `backward()`, its gradient ∂L/∂node. The book gives the
  formulas but no numbers; the numbers here are the widely used worked example of M. Mazur ("A
  step by step backpropagation example", 2015), cut down to one output: x = (0.05, 0.10),
  w = (0.15, 0.20, 0.25, 0.30), b₁ = 0.35, w = (0.40, 0.45), b₂ = 0.60, target y = 0.01.
- `trace(root)`: the graph as plain node and edge lists (for `tujie.plots.graph`).
- `points_2d(name)`: scikit-learn's moons and circles, and XOR.
- `train_scratch(...)` and `train_torch(...)`: the same network (same initial weights, same
  batches in the same order, plain SGD, float64) trained by the scratch engine and by torch, so
  the two can be compared weight for weight.

Example:
    >>> graph = trace(network_graph())
    >>> node = next(n for n in graph["nodes"] if n["label"] == "w5")
    >>> round(node["value"], 2), round(node["grad"], 6)
    (0.4, 0.082167)
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..errors import ConfigError
from .autodiff import Tensor

# the worked case (Mazur 2015, one output): inputs, hidden weights and bias, output weights and bias, target
WORKED = {"x1": 0.05, "x2": 0.10, "w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "b1": 0.35,
          "w5": 0.40, "w6": 0.45, "b2": 0.60, "y": 0.01}


def _leaves(names: tuple) -> dict:
    return {name: Tensor(WORKED[name], label=name) for name in names}


def _loss(prediction: Tensor) -> Tensor:
    """L = ½(ŷ − y)², the book's mean squared error (4.2) for one example; the target is a constant of the graph."""
    loss = ((prediction - WORKED["y"]) ** 2) * 0.5
    loss.label = "L"
    return loss


def neuron_graph() -> Tensor:
    """One sigmoid neuron on the worked example: z = w1·x1 + w2·x2 + b1, ŷ = σ(z), L = ½(ŷ − y)²; backward done.

    Example:
        >>> loss = neuron_graph()
        >>> round(float(loss.data), 6)
        0.170102
    """
    v = _leaves(("x1", "x2", "w1", "w2", "b1"))
    z = v["w1"] * v["x1"] + v["w2"] * v["x2"] + v["b1"]
    z.label = "z"
    out = z.sigmoid()
    out.label = "ŷ"
    loss = _loss(out)
    loss.backward()
    return loss


def network_graph() -> Tensor:
    """The 2-2-1 sigmoid network on the worked example (hidden h1, h2; output ŷ), loss L; backward done."""
    v = _leaves(("x1", "x2", "w1", "w2", "w3", "w4", "b1", "w5", "w6", "b2"))
    hidden = []
    for i, (wa, wb) in enumerate((("w1", "w2"), ("w3", "w4")), start=1):
        z = v[wa] * v["x1"] + v[wb] * v["x2"] + v["b1"]
        z.label = f"z_h{i}"
        h = z.sigmoid()
        h.label = f"h{i}"
        hidden.append(h)
    z = v["w5"] * hidden[0] + v["w6"] * hidden[1] + v["b2"]
    z.label = "z_o"
    out = z.sigmoid()
    out.label = "ŷ"
    loss = _loss(out)
    loss.backward()
    return loss


def _number(array: np.ndarray):
    return float(array) if array.ndim == 0 else np.round(array, 6).tolist()


def trace(root: Tensor) -> dict:
    """The graph under `root` as plain lists: nodes {id, label, op, value, grad, leaf} and edges [from, to].

    Unlabelled leaves are constants of the formula (the 0.5 of ½, a target): they are folded into
    their child's operation name ("+ −0.01", "× 0.5") rather than drawn as nodes.
    """
    order = root.topological_order()
    ids = {id(node): i for i, node in enumerate(order)}
    nodes, edges = [], []
    constant = {}  # an unlabelled node made of constants only (the −0.01 of "ŷ − 0.01") is a constant too
    for node in order:
        constant[id(node)] = not node.label and all(constant[id(p)] for p in node._parents)
    for node in order:
        if constant[id(node)]:
            continue
        op = node._op
        shown = [p for p in node._parents if not constant[id(p)]]
        folded = [p for p in node._parents if constant[id(p)]]
        if folded and op in ("+", "*"):  # "+ −0.01", "× 0.5"
            op = ("×" if op == "*" else "+") + " " + ", ".join(f"{float(p.data):g}" for p in folded)
        op = {"*": "×", "**2": "²"}.get(op, op)
        nodes.append({"id": ids[id(node)], "label": node.label or "", "op": op,
                      "value": _number(node.data), "grad": _number(node.grad), "leaf": not node._parents})
        edges.extend([ids[id(p)], ids[id(node)]] for p in shown)
    return {"nodes": nodes, "edges": edges}


# ------------------------------------------------------------------------------ 2-D data and training
DATASETS = ("moons", "circles", "xor")


def points_2d(name: str, n: int = 200, noise: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` labelled points in the plane: scikit-learn's two moons or two circles, or XOR (the quadrant's sign).

    Returns:
        x (n, 2) float64, standardised; y (n,) of 0/1.

    Example:
        >>> x, y = points_2d("xor", n=8)
        >>> x.shape, sorted(set(y.tolist()))
        ((8, 2), [0.0, 1.0])
    """
    from sklearn.datasets import make_circles, make_moons

    rng = np.random.default_rng(seed)
    if name == "moons":
        x, y = make_moons(n, noise=noise, random_state=seed)
    elif name == "circles":
        x, y = make_circles(n, noise=noise / 2, factor=0.5, random_state=seed)
    elif name == "xor":
        x = rng.uniform(-1, 1, size=(n, 2))
        y = (x[:, 0] * x[:, 1] > 0).astype(int)
        x = x + rng.normal(0, noise / 3, size=x.shape)
    else:
        raise ConfigError(f"Unknown 2-D dataset {name!r}.", expected=f"one of {', '.join(DATASETS)}",
                          received=f"dataset={name!r}", fix="Pick moons, circles or xor.")
    x = (x - x.mean(0)) / x.std(0)
    return x.astype(np.float64), y.astype(np.float64)


def initial_weights(sizes: list[int], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Xavier-uniform weights (in, out) and zero biases (1, out) for layer sizes [2, ..., 1], seeded."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        layers.append((rng.uniform(-bound, bound, size=(fan_in, fan_out)), np.zeros((1, fan_out))))
    return layers


def batches(n: int, batch_size: int, epochs: int, seed: int = 0) -> list[list[np.ndarray]]:
    """The index batches of every epoch, drawn once so both trainers see the very same order."""
    rng = np.random.default_rng(seed + 1)
    return [np.array_split(order, max(1, math.ceil(n / batch_size))) for order in (rng.permutation(n) for _ in range(epochs))]


def _grid(x: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A steps × steps grid over the points' range (a margin of 0.5): xs, ys, and the (steps², 2) points."""
    lo, hi = x.min(0) - 0.5, x.max(0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps)
    return xs, ys, np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


def _forward_numpy(layers, x: np.ndarray, logits: bool = False) -> np.ndarray:
    """P(class 1) of the tanh MLP (sigmoid output) in plain numpy, or its logit: for grids and accuracy."""
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < len(layers) - 1:
            x = np.tanh(x)
    return x[:, 0] if logits else 0.5 * (1 + np.tanh(0.5 * x[:, 0]))


def train_scratch(x, y, hidden: list[int], epochs: int, lr: float, batch_size: int = 32, seed: int = 0,
                  snapshots: tuple = (), grid_steps: int = 40) -> dict:
    """Train a tanh MLP (no hidden layer: one logistic neuron) with the scratch engine, binary cross-entropy, plain SGD.

    Returns:
        {"weights": [(W, b) ...] as arrays, "loss": per-epoch mean loss, "accuracy": final training accuracy,
         "snapshots": [{"epoch", "accuracy", "logits"} on the grid at each epoch asked for (0: before training)],
         "grid": {"xs", "ys"}}

    Example:
        >>> x, y = points_2d("moons", n=64)
        >>> trained = train_scratch(x, y, hidden=[8], epochs=30, lr=0.5)
        >>> trained["accuracy"] > 0.8
        True
    """
    params = [(Tensor(w, label=f"W{i}"), Tensor(b, label=f"b{i}")) for i, (w, b) in
              enumerate(initial_weights([2, *hidden, 1], seed), start=1)]
    xs, ys, grid = _grid(x, grid_steps)
    record = {"loss": [], "snapshots": [], "grid": {"xs": xs.tolist(), "ys": ys.tolist()}}

    def snapshot(epoch):
        weights = [(w.data, b.data) for w, b in params]
        accuracy = float(((_forward_numpy(weights, x) > 0.5) == y).mean())
        # logits, not probabilities: a nearly flat neuron (p = 0.5 ± 0.001) keeps a smooth boundary after rounding
        logits = np.clip(_forward_numpy(weights, grid, logits=True), -50, 50).reshape(grid_steps, grid_steps)
        rounded = [[float(f"{v:.4g}") for v in row] for row in logits.tolist()]  # 4 significant digits, not 4 decimals
        record["snapshots"].append({"epoch": epoch, "accuracy": accuracy, "logits": rounded})

    if 0 in snapshots:
        snapshot(0)
    for epoch, epoch_batches in enumerate(batches(len(x), batch_size, epochs, seed), start=1):
        total = 0.0
        for index in epoch_batches:
            h = Tensor(x[index])                                  # (b, 2)
            target = Tensor(y[index][:, None])                    # (b, 1)
            for i, (w, b) in enumerate(params):
                h = h @ w + b                                     # (b, out)
                h = h.tanh() if i < len(params) - 1 else h.sigmoid()
            # binary cross-entropy, −mean[y log p + (1 − y) log(1 − p)]
            loss = -(target * h.log() + (1.0 - target) * (1.0 - h).log()).mean()
            for w, b in params:
                w.zero_grad(), b.zero_grad()
            loss.backward()
            for w, b in params:  # plain SGD: w ← w − η ∂L/∂w (4.4)
                w.data -= lr * w.grad
                b.data -= lr * b.grad
            total += float(loss.data) * len(index)
        record["loss"].append(total / len(x))
        if epoch in snapshots:
            snapshot(epoch)
    record["weights"] = [(w.data.copy(), b.data.copy()) for w, b in params]
    record["accuracy"] = float(((_forward_numpy(record["weights"], x) > 0.5) == y).mean())
    return record


def train_torch(x, y, hidden: list[int], epochs: int, lr: float, batch_size: int = 32, seed: int = 0) -> dict:
    """The same network, initial weights, batches and SGD as `train_scratch`, by torch (nn.Linear, torch.optim.SGD), in float64.

    Returns:
        {"weights": [(W (in, out), b (1, out)) ...] as numpy arrays, "loss": per-epoch mean loss, "accuracy"}
    """
    import torch

    layers = []
    for w, b in initial_weights([2, *hidden, 1], seed):
        linear = torch.nn.Linear(*w.shape, dtype=torch.float64)
        with torch.no_grad():  # nn.Linear keeps (out, in): the transpose of the engine's (in, out)
            linear.weight.copy_(torch.from_numpy(w.T))
            linear.bias.copy_(torch.from_numpy(b[0]))
        layers += [linear, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers[:-1], torch.nn.Sigmoid())
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)[:, None]
    losses = []
    for epoch_batches in batches(len(x), batch_size, epochs, seed):
        total = 0.0
        for index in epoch_batches:
            index = torch.from_numpy(index)
            p = model(tx[index])
            loss = -(ty[index] * p.log() + (1 - ty[index]) * (1 - p).log()).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        losses.append(total / len(x))
    weights = [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy()[None].copy())
               for m in model if isinstance(m, torch.nn.Linear)]
    return {"weights": weights, "loss": losses, "accuracy": float(((_forward_numpy(weights, x) > 0.5) == y).mean())}


def largest_difference(a: list, b: list) -> float:
    """The largest |a − b| over every weight and bias of two trained networks."""
    return max(float(np.abs(wa - wb).max()) for pa, pb in zip(a, b) for wa, wb in zip(pa, pb))


__all__ = [
    "DATASETS",
    "WORKED",
    "batches",
    "initial_weights",
    "largest_difference",
    "network_graph",
    "neuron_graph",
    "points_2d",
    "trace",
    "train_scratch",
    "train_torch",
]
