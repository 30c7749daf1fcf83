"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document recognition").

The layout is the one textbooks and most code draw: C1 6@5×5 → S2 pool → C3 16@5×5 → S4 pool
→ C5 120 → F6 84 → 10 outputs, on a 1×32×32 input (61,706 parameters). Two simplifications of
the 1998 network are standard and kept here: C3 connects every S2 map (the paper's sparse
connection table gave 1,516 instead of 2,416 weights), and the output layer is a linear layer
giving logits instead of the Euclidean RBF units.

28×28 images (MNIST) are accepted too: they are zero-padded by 2 pixels on each side to the
32×32 the layer sizes assume, which is exactly a padding of 2 on C1. The paper centred its 20×20
digits in a 32×32 field for the same reason: so that stroke ends and corners near the border can
still fall in the centre of the receptive fields of the highest-level feature detectors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError, closest
from ._common import check_image_input, check_positive
from ._registry import register_model

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
_POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


def _choice(model_name: str, argument: str, value, choices: dict):
    if value not in choices:
        hint = closest(str(value), choices)
        raise ConfigError(f"Invalid value received for argument `{argument}` of model '{model_name}'. {hint}",
                          expected=f"one of {', '.join(map(repr, choices))}", received=f"{argument}={value!r}",
                          fix=f"Pass {argument}={next(iter(choices))!r}.")
    return choices[value]


class LeNet5(nn.Module):
    """LeNet-5: two convolution + subsampling stages, then three fully connected layers.

    Args:
        num_classes: outputs of the last layer (10 digits in the paper).
        in_channels: image channels (1: grayscale digits).
        activation: "tanh" (the paper's squashing function, a scaled tanh) or "relu".
        pooling: "avg" (the paper's subsampling: a 2×2 average) or "max".

    Input shape: (batch, in_channels, 32, 32), or (batch, in_channels, 28, 28), zero-padded to 32×32.
    Output shape: (batch, num_classes), logits.
    """

    input_sizes = (32, 28)  # the paper's field, and MNIST's digits (padded to 32)

    def __init__(self, num_classes: int = 10, in_channels: int = 1, activation: str = "tanh", pooling: str = "avg",
                 model_name: str = "lenet5"):
        super().__init__()
        check_positive(model_name, num_classes=num_classes, in_channels=in_channels)
        act, pool = _choice(model_name, "activation", activation, _ACTIVATIONS), _choice(model_name, "pooling", pooling, _POOLS)
        self.model_name, self.in_channels = model_name, in_channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5), act(),                   # C1: (B, 6, 28, 28)
            pool(2),                                                           # S2: (B, 6, 14, 14)
            nn.Conv2d(6, 16, kernel_size=5), act(),                            # C3: (B, 16, 10, 10)
            pool(2),                                                           # S4: (B, 16, 5, 5)
            nn.Conv2d(16, 120, kernel_size=5), act(),                          # C5: (B, 120, 1, 1)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),                                                      # (B, 120)
            nn.Linear(120, 84), act(),                                         # F6: (B, 84)
            nn.Linear(84, num_classes),                                        # (B, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input(self.model_name, x, self.in_channels, min(self.input_sizes))
        height, width = x.shape[2:]
        if height != width or height not in self.input_sizes:
            c = self.in_channels
            raise ShapeError(f"Model '{self.model_name}' received an input of the wrong shape.",
                             expected=f"(batch, {c}, 32, 32) or (batch, {c}, 28, 28): C5 must see a 5×5 map",
                             received=f"input of shape {tuple(x.shape)}", fix="Resize or pad the images to 32×32.")
        if height == 28:
            x = F.pad(x, (2, 2, 2, 2))                                         # (B, C, 32, 32)
        return self.classifier(self.features(x))                               # (B, num_classes)


@register_model(example_input=(1, 32, 32), output_shape=(10,), paper_params=61_706, paper_kwargs={"num_classes": 10})
def lenet5(num_classes: int = 10, in_channels: int = 1, activation: str = "tanh", pooling: str = "avg") -> LeNet5:
    """LeNet-5 (LeCun 1998): C1 6@5×5 → S2 → C3 16@5×5 → S4 → C5 120 → F6 84 → 10, 61,706 parameters.

    Takes 32×32 images, or 28×28 MNIST digits, which it zero-pads to 32×32 (see `LeNet5`).

    Example:
        >>> lenet5()(torch.zeros(2, 1, 32, 32)).shape
        torch.Size([2, 10])
        >>> lenet5(activation="relu")(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """
    return LeNet5(num_classes, in_channels, activation, pooling)
