"""The small contract every tujie layer keeps: a plain `nn.Module` that sizes itself on first call.

Like Keras, a layer is declared without its input size (`Dense(128)`); the first
batch it sees fixes that size (`build`), creating the parameters on the batch's
device and dtype. After that a wrong input shape raises a `ShapeError` that names
the layer, the shape it expects and the shape it received.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from ..errors import ConfigError, ShapeError


class Layer(nn.Module):
    """Base class for lazy layers. Subclasses implement `build(x)` and `forward(x)`.

    A subclass's `forward` starts with `if not self.built: self.build(x)`; `build`
    creates parameters and sets `self.built = True`.
    """

    def __init__(self, name: str | None = None):
        super().__init__()
        self.name = name or _snake(type(self).__name__)
        self.built = type(self).build is Layer.build  # layers without weights are ready at once

    def build(self, x: torch.Tensor) -> None:
        self.built = True

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer, JSON-friendly (Keras' `get_config`).

        Read from the attributes named like the arguments (`activation` from `activation_name`
        when the layer keeps the function itself); `type(layer)(**layer.get_config())` is an
        equal, unbuilt layer. A layer whose arguments cannot be read raises a ConfigError.

        Example:
            >>> from tujie.layers import Dense
            >>> Dense(4, activation="relu").get_config()["activation"]
            'relu'
        """
        config = {}
        for arg, p in inspect.signature(type(self).__init__).parameters.items():
            if arg == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if arg == "weights":  # initial values (Embedding's pretrained table): the saved weights replace them
                config[arg] = None
                continue
            attr = next((a for a in (f"{arg}_name", f"{arg}_config", arg) if a in self.__dict__), None)
            if attr is None:
                raise ConfigError(f"Layer '{self.name}' ({type(self).__name__}) cannot report its argument `{arg}`.",
                                  expected=f"an attribute `{arg}` holding the value given to the constructor",
                                  received=f"no attribute `{arg}`",
                                  fix="Save the weights with model.save_weights(path) and rebuild the model in code.")
            config[arg] = _jsonable(self.__dict__[attr], self, arg)
        if isinstance(config.get("activation"), str):  # a custom function whose __name__ is a known name is refused
            from .activations import get_activation

            if get_activation(config["activation"]) is not getattr(self, "activation", None):
                _jsonable(getattr(self, "activation", None), self, "activation")
        return config

    def regularization_loss(self) -> torch.Tensor | float:
        """The penalty of this layer's `kernel_regularizer` on its weight (0.0 without one, or before build)."""
        penalty = self.__dict__.get("_kernel_penalty")
        if penalty is None or not self.built:
            return 0.0
        return penalty(self.weight)

    def shape_error(self, x: torch.Tensor, expected: str, fix: str = "") -> ShapeError:
        return ShapeError(f"Layer '{self.name}' ({type(self).__name__}) received an input of the wrong shape.",
                          expected=expected, received=f"input of shape {tuple(x.shape)}",
                          fix=fix or "Check the previous layer's output size, or the data's shape.")


def _jsonable(value, layer: Layer, arg: str):
    """`value` as JSON data (tuples become lists); a callable or object cannot be written down."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [_jsonable(v, layer, arg) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _jsonable(v, layer, arg) for k, v in value.items()}
    raise ConfigError(f"Layer '{layer.name}' ({type(layer).__name__}) has an argument `{arg}` that cannot be written down.",
                      expected="names, numbers, lists or dicts (e.g. activation=\"relu\")",
                      received=f"{arg}={value!r}",
                      fix="Use a named value, or save the weights with model.save_weights(path) and rebuild the model in code.")


class Regularizer:
    """A weight penalty `l1 * sum|w| + l2 * sum w^2`, as Keras' `L1`, `L2` and `L1L2` regularizers.

    Example:
        >>> Regularizer(l2=0.5)(torch.tensor([1.0, 2.0]))
        tensor(2.5000)
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        total = weight.new_zeros(())
        if self.l1:
            total = total + self.l1 * weight.abs().sum()
        if self.l2:
            total = total + self.l2 * weight.pow(2).sum()
        return total

    def __repr__(self) -> str:
        return f"Regularizer(l1={self.l1}, l2={self.l2})"


def get_regularizer(spec, layer: str = "the layer"):
    """A `kernel_regularizer` value as a penalty function `weight -> scalar` (None for no penalty).

    Accepted, as in Keras: "l1", "l2", "l1_l2" (factor 0.01), a number (L2 with that factor),
    ("l2", 1e-4) or {"l2": 1e-4} (or {"l1": ..., "l2": ...}), a `Regularizer`, or any callable.

    Example:
        >>> get_regularizer({"l1": 0.1, "l2": 0.2})
        Regularizer(l1=0.1, l2=0.2)
        >>> get_regularizer(1e-4)
        Regularizer(l1=0.0, l2=0.0001)
    """
    if spec is None:
        return None
    if callable(spec):
        return spec
    factors = None
    if isinstance(spec, str) and spec.lower() in ("l1", "l2", "l1_l2"):
        factors = {"l1": {"l1": 0.01}, "l2": {"l2": 0.01}, "l1_l2": {"l1": 0.01, "l2": 0.01}}[spec.lower()]
    elif isinstance(spec, (int, float)) and not isinstance(spec, bool):
        factors = {"l2": spec}
    elif isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
        factors = {"l1": {"l1": spec[1]}, "l2": {"l2": spec[1]}, "l1_l2": {"l1": spec[1], "l2": spec[1]}}.get(spec[0].lower())
    elif isinstance(spec, dict) and spec and set(spec) <= {"l1", "l2"}:
        factors = dict(spec)
    if not factors or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in factors.values()):
        raise ConfigError(f"Invalid value received for argument `kernel_regularizer` of {layer}.",
                          expected='"l1", "l2", "l1_l2", a factor for L2 (1e-4), ("l2", 1e-4), {"l1": 1e-5, "l2": 1e-4} '
                                   "or a callable weight -> penalty",
                          received=f"kernel_regularizer={spec!r}", fix='Pass kernel_regularizer=("l2", 1e-4), for example.')
    return Regularizer(**factors)


def regularization_loss(model: nn.Module) -> torch.Tensor | float:
    """The sum of every layer's `kernel_regularizer` penalty in `model` (0.0 when none has one).

    The training loop adds it to the loss that is minimised, as Keras adds `model.losses`.

    Example:
        >>> from tujie.layers import Dense
        >>> layer = Dense(1, kernel_regularizer=("l2", 0.5)); _ = layer(torch.zeros(1, 2))
        >>> bool(regularization_loss(layer) == 0.5 * layer.weight.pow(2).sum())
        True
    """
    return sum((m.regularization_loss() for m in model.modules()
                if isinstance(m, Layer) and m.__dict__.get("_kernel_penalty") is not None), 0.0)


def _snake(name: str) -> str:
    out = [name[0].lower()]
    for prev, ch in zip(name, name[1:]):
        out.append(("_" + ch.lower()) if ch.isupper() and prev.islower() else ch.lower())
    return "".join(out)
