"""Vanishing gradients made visible: per-layer gradient norms of a deep MLP (book chapter 3.1, seed 002 §(2)).

One batch of real images goes through a 20-layer MLP (19 hidden `Dense` layers and the output
layer, built by `tujie.models.mlp`), once per variant: sigmoid or ReLU (or any tujie activation),
torch's default initialisation, Xavier (Glorot & Bengio 2010) or He (He et al. 2015), with or without
batch normalisation (Ioffe & Szegedy 2015). The cross-entropy loss is back-propagated and the norm
‖∂L/∂W_l‖ of each layer's weight matrix is recorded. The chain rule multiplies one σ'(z) ≤ 1/4 per
sigmoid layer, so with sigmoid the gradient that reaches the first layer is orders of magnitude
smaller than the last layer's; ReLU with He initialisation, or batch norm, keeps it level.

Norms are the geometric mean over `repeats` fresh initialisations (one seed each), since one
random draw can be lucky.

Example:
    >>> x, y = torch.randn(32, 64), torch.randint(0, 10, (32,))
    >>> sig = layer_gradient_norms(x, y, activation="sigmoid", depth=10, width=32)
    >>> relu = layer_gradient_norms(x, y, activation="relu", init="he", depth=10, width=32)
    >>> len(sig), sig[0] < sig[-1] / 100, relu[0] > relu[-1] / 100
    (10, True, True)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from ..models.mlp import mlp

INITS = ("default", "xavier", "he")


def _initialise(model: nn.Module, init: str) -> None:
    """Re-draw every Dense weight: 'default' keeps torch's Kaiming-uniform(a=√5), 'xavier' is Glorot-uniform
    (variance 2/(fan_in + fan_out)), 'he' is Kaiming-normal for ReLU (variance 2/fan_in). Biases start at 0."""
    if init == "default":
        return
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, nn.Parameter) and weight.ndim == 2:
            if init == "xavier":
                nn.init.xavier_uniform_(weight)
            else:
                nn.init.kaiming_normal_(weight, nonlinearity="relu")
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)


def _dense_weights(model: nn.Module) -> list[nn.Parameter]:
    """The 2-D weight matrices in forward order (first hidden layer first, output layer last)."""
    return [p for name, p in model.named_parameters() if p.ndim == 2 and name.endswith("weight")]


def layer_gradient_norms(x: torch.Tensor, y: torch.Tensor, *, activation: str = "sigmoid", init: str = "default",
                         batch_norm: bool = False, depth: int = 20, width: int = 64, num_classes: int = 10,
                         repeats: int = 1, seed: int = 0) -> list[float]:
    """‖∂L/∂W_l‖ for each of the `depth` weight matrices of a fresh MLP, first layer first.

    Args:
        x: a batch of inputs, (batch, ...) (flattened by the model).
        y: its class ids, (batch,).
        activation: a tujie activation name for every hidden layer.
        init: "default" (torch's), "xavier" or "he".
        batch_norm: normalise each hidden layer before its activation.
        depth: weight layers in all (depth − 1 hidden layers and the output layer).
        width: units per hidden layer.
        repeats: fresh initialisations averaged (geometric mean).
        seed: the first initialisation's seed.

    Returns:
        `depth` gradient norms.
    """
    if init not in INITS:
        raise ConfigError(f"Unknown initialisation {init!r}.", expected=f"one of {', '.join(INITS)}",
                          received=f"init={init!r}", fix="Use default (torch's), xavier (Glorot) or he (Kaiming).")
    if depth < 2:
        raise ConfigError("A deep-gradients network needs at least 2 layers.", expected="depth >= 2",
                          received=f"depth={depth}", fix="Set depth to 20, as the book's deep network.")
    logs = torch.zeros(depth, dtype=torch.float64)
    for r in range(repeats):
        torch.manual_seed(seed + r)
        model = mlp(num_classes=num_classes, hidden=[width] * (depth - 1), activation=activation, batch_norm=batch_norm)
        model(x[:2])  # sizes the lazy layers
        _initialise(model, init)
        model.train()  # batch norm uses the batch's statistics, as in training
        loss = nn.functional.cross_entropy(model(x), y)  # (batch, classes) logits → scalar
        weights = _dense_weights(model)
        grads = torch.autograd.grad(loss, weights)
        norms = torch.stack([g.detach().double().norm() for g in grads])  # (depth,)
        logs += norms.clamp_min(1e-300).log()
    return [math.exp(v) for v in (logs / repeats).tolist()]


def compare(x: torch.Tensor, y: torch.Tensor, variants: list[dict], *, depth: int = 20, width: int = 64,
            num_classes: int = 10, repeats: int = 3, seed: int = 0) -> list[dict]:
    """`layer_gradient_norms` for each variant ({name, activation, init, batch_norm}), with the ratio
    first/last layer (1 means no vanishing; 1e-6 means the first layer learns a million times slower)."""
    out = []
    for variant in variants:
        norms = layer_gradient_norms(x, y, activation=variant["activation"], init=variant.get("init", "default"),
                                     batch_norm=variant.get("batch_norm", False), depth=depth, width=width,
                                     num_classes=num_classes, repeats=repeats, seed=seed)
        out.append({**variant, "norms": norms, "first": norms[0], "last": norms[-1], "ratio": norms[0] / norms[-1]})
    return out
