"""The small contract every tujie layer keeps: a plain `nn.Module` that sizes itself on first call.

Like Keras, a layer is declared without its input size (`Dense(128)`); the first
batch it sees fixes that size (`build`), creating the parameters on the batch's
device and dtype. After that a wrong input shape raises a `ShapeError` that names
the layer, the shape it expects and the shape it received.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ShapeError


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

    def shape_error(self, x: torch.Tensor, expected: str, fix: str = "") -> ShapeError:
        return ShapeError(f"Layer '{self.name}' ({type(self).__name__}) received an input of the wrong shape.",
                          expected=expected, received=f"input of shape {tuple(x.shape)}",
                          fix=fix or "Check the previous layer's output size, or the data's shape.")


def _snake(name: str) -> str:
    out = [name[0].lower()]
    for prev, ch in zip(name, name[1:]):
        out.append(("_" + ch.lower()) if ch.isupper() and prev.islower() else ch.lower())
    return "".join(out)
