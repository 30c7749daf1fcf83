"""Activation functions by name, as Keras layers take them (`Dense(128, activation="relu")`)."""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import ConfigError, closest

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "silu": F.silu,
    "swish": F.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softplus": F.softplus,
    "softmax": partial(F.softmax, dim=-1),
    "log_softmax": partial(F.log_softmax, dim=-1),
}


def get_activation(activation) -> Callable | None:
    """Return the function for an activation name or callable; None or "linear" means identity.

    Example:
        >>> get_activation("relu")(torch.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    if activation is None or activation == "linear":
        return None
    if callable(activation):
        return activation
    key = str(activation).lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise ConfigError(f"Unknown activation {activation!r}. {closest(key, ACTIVATIONS)}",
                          expected=f"one of {', '.join(sorted(ACTIVATIONS))}, a callable, or None",
                          received=f"activation={activation!r}", fix="Pick a name from the list.")
    return ACTIVATIONS[key]
