"""Small convolutional networks from the textbook's practice chapters."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import layers as L
from ..errors import ConfigError, ShapeError
from ._common import check_image_input, check_positive
from ._registry import register_model
from .sequential import Sequential


@register_model(example_input=(1, 28, 28), output_shape=(10,))
def small_cnn(num_classes: int = 10, filters=(32, 64), dense: int = 128, dropout: float = 0.0,
              padding: str = "valid", batch_norm: bool = False) -> Sequential:
    """The MNIST walkthrough's CNN (seeds/003): [Conv 3×3 ReLU → MaxPool 2] per filter count → Dense → logits.

    With the defaults on 28×28 input: Conv32 → 26×26 → pool 13×13 → Conv64 → 11×11 → pool 5×5
    → Flatten 1600 → Dense 128 → Dense 10 (225,034 parameters). `batch_norm=True` puts a batch
    normalisation between each convolution (then without bias, which the norm's shift replaces)
    and its ReLU (Ioffe & Szegedy 2015), which lets a high learning rate train it in fewer epochs.

    Example:
        >>> small_cnn()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
        >>> len(small_cnn(filters=(16, 32), batch_norm=True))  # conv, norm, relu, pool per stage; 3 dense-side layers
        11
    """
    stack = []
    for f in filters:
        if batch_norm:
            stack += [L.Conv2D(int(f), 3, padding=padding, use_bias=False), L.BatchNorm2D(), L.Activation("relu")]
        else:
            stack += [L.Conv2D(int(f), 3, padding=padding, activation="relu")]
        stack.append(L.MaxPool2D(2))
    stack += [L.Flatten(), L.Dense(int(dense), activation="relu")]
    if dropout:
        stack.append(L.Dropout(dropout))
    stack.append(L.Dense(num_classes))
    return Sequential(stack)


@register_model(example_input=(3, 32, 32), output_shape=(10,), paper_params=2_122_186)
def simple_cnn(num_classes: int = 10, in_channels: int = 3, image_size: int = 32, hidden: int = 512,
               dropout: float = 0.0) -> nn.Module:
    """The practice notes' SimpleCNN for CIFAR-10 (seeds/001): conv 32 → pool → conv 64 → pool → FC 512 → classes.

    3×3 convolutions with padding 1 keep the size; two 2×2 poolings take 32×32 to 8×8,
    so the first dense layer sees 64·8·8 = 4,096 features (2,122,186 parameters at 10 classes).

    Example:
        >>> simple_cnn()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    check_positive("simple_cnn", num_classes=num_classes, in_channels=in_channels, image_size=image_size, hidden=hidden)
    if image_size % 4:
        raise ConfigError("Invalid value received for argument `image_size` of model 'simple_cnn'.",
                          expected="a multiple of 4 (two 2x2 poolings)", received=f"image_size={image_size}",
                          fix="Pass image_size=32 for CIFAR-10.")
    return SimpleCNN(num_classes, in_channels, image_size, hidden, dropout)


class SimpleCNN(nn.Module):
    """See `simple_cnn`; written with torch.nn exactly as the practice notes write it."""

    def __init__(self, num_classes: int, in_channels: int, image_size: int, hidden: int, dropout: float):
        super().__init__()
        self.in_channels, self.image_size = in_channels, image_size
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(64 * (image_size // 4) ** 2, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input("simple_cnn", x, self.in_channels, self.image_size)
        if x.shape[2] != self.image_size or x.shape[3] != self.image_size:
            raise ShapeError("Model 'simple_cnn' received images of another size than it was built for.",
                             expected=f"(batch, {self.in_channels}, {self.image_size}, {self.image_size})",
                             received=f"input of shape {tuple(x.shape)}", fix=f"Build it with image_size={x.shape[2]}.")
        x = self.pool(F.relu(self.conv1(x)))  # (batch, 32, S/2, S/2)
        x = self.pool(F.relu(self.conv2(x)))  # (batch, 64, S/4, S/4)
        x = F.relu(self.fc1(x.flatten(1)))    # (batch, hidden)
        return self.fc2(self.dropout(x))      # (batch, classes)
