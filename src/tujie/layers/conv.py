"""Convolution and pooling layers (channels-first, as PyTorch: (batch, channels, height, width))."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ._base import Layer
from .activations import get_activation

__all__ = ["Conv2D", "MaxPool2D", "AvgPool2D", "MaxPooling2D", "AveragePooling2D"]


def _pair(value, name: str, layer: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(not isinstance(v, int) or v < 1 for v in pair):
        raise ConfigError(f"Invalid value received for argument `{name}` of {layer}.", expected="a positive int or a pair of them",
                          received=f"{name}={value!r}", fix=f"Pass e.g. {name}=3 or {name}=(3, 3).")
    return pair


class Conv2D(Layer):
    """2-D convolution, `activation(conv(x, W) + b)`, with its input channels fixed on first call.

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw).
        padding: "valid" (no padding), "same" (output size = input size / stride), or an int.
        dilation: int or pair; groups: channel groups (groups = in_channels makes it depthwise).
        activation: a name, a callable, or None.

    Input shape: (batch, in_channels, H, W). Output shape: (batch, filters, H', W').

    Example:
        >>> Conv2D(8, 3, padding="same", activation="relu")(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 8, 28, 28])
    """

    def __init__(self, filters: int, kernel_size=3, strides=1, padding="valid", dilation=1, groups: int = 1,
                 activation=None, use_bias: bool = True, name: str | None = None):
        super().__init__(name)
        if not isinstance(filters, int) or filters < 1:
            raise ConfigError("Invalid value received for argument `filters` of Conv2D.", expected="a positive integer",
                              received=f"filters={filters!r}", fix="Pass the number of output channels, e.g. Conv2D(32, 3).")
        self.filters, self.groups, self.use_bias = filters, groups, use_bias
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = _pair(strides, "strides", "Conv2D")
        self.dilation = _pair(dilation, "dilation", "Conv2D")
        if padding == "same" and self.strides != (1, 1):
            # torch's padding="same" needs stride 1; for strided "same" pad by half the kernel (as Keras does for odd kernels).
            padding = tuple(d * (k - 1) // 2 for k, d in zip(self.kernel_size, self.dilation))
        if padding not in ("same", "valid") and not isinstance(padding, (int, tuple)):
            raise ConfigError("Invalid value received for argument `padding` of Conv2D.", expected='"same", "valid" or an int',
                              received=f"padding={padding!r}", fix='Pass padding="same".')
        self.padding = padding
        self.activation_name = activation if isinstance(activation, str) or activation is None else "custom"
        self.activation = get_activation(activation)
        self.in_channels: int | None = None

    def build(self, x: torch.Tensor) -> None:
        if x.ndim != 4:
            raise self.shape_error(x, "a 4-D batch (batch, channels, height, width)",
                                   "Add a channel dimension, e.g. x.unsqueeze(1) for grayscale images, or a Reshape layer.")
        self._create(x.shape[1], x.device, x.dtype)

    def _create(self, in_channels: int, device=None, dtype=None) -> None:
        if in_channels % self.groups:
            raise ConfigError(f"Conv2D '{self.name}': groups must divide the input channels.", expected=f"in_channels divisible by groups={self.groups}",
                              received=f"in_channels={in_channels}", fix="Change `groups`.")
        self.in_channels = in_channels
        shape = (self.filters, in_channels // self.groups, *self.kernel_size)  # (out, in/groups, kh, kw)
        self.weight = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.empty(self.filters, device=device, dtype=dtype)) if self.use_bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # as torch.nn.Conv2d
        if self.bias is not None:
            fan_in = shape[1] * shape[2] * shape[3]
            nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        self.built = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.built:
            self.build(x)
        elif x.ndim != 4 or x.shape[1] != self.in_channels:
            raise self.shape_error(x, f"(batch, {self.in_channels}, height, width)")
        if self.padding == "valid" and (x.shape[2] < self.kernel_size[0] or x.shape[3] < self.kernel_size[1]):
            raise self.shape_error(x, f"height and width at least the kernel size {self.kernel_size}",
                                   'Use padding="same", a smaller kernel, or fewer pooling layers before this one.')
        y = F.conv2d(x, self.weight, self.bias, self.strides, 0 if self.padding == "valid" else self.padding,
                     self.dilation, self.groups)  # (batch, filters, H', W')
        return y if self.activation is None else self.activation(y)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        weight = state_dict.get(prefix + "weight")
        if not self.built and weight is not None:
            self._create(weight.shape[1] * self.groups, weight.device, weight.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, filters={self.filters}, kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding={self.padding!r}, activation={self.activation_name}")


class MaxPool2D(Layer):
    """Max pooling over `pool_size` windows (stride defaults to the pool size).

    Input shape: (batch, C, H, W). Output shape: (batch, C, H // pool, W // pool) for "valid".

    Example:
        >>> MaxPool2D(2)(torch.zeros(2, 8, 28, 28)).shape
        torch.Size([2, 8, 14, 14])
    """

    def __init__(self, pool_size=2, strides=None, padding: int = 0, name: str | None = None):
        super().__init__(name)
        self.pool_size = _pair(pool_size, "pool_size", "MaxPool2D")
        self.strides = self.pool_size if strides is None else _pair(strides, "strides", "MaxPool2D")
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise self.shape_error(x, "a 4-D batch (batch, channels, height, width)")
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)


class AvgPool2D(MaxPool2D):
    """Average pooling over `pool_size` windows.

    Example:
        >>> AvgPool2D(2)(torch.ones(1, 1, 4, 4)).shape
        torch.Size([1, 1, 2, 2])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise self.shape_error(x, "a 4-D batch (batch, channels, height, width)")
        return F.avg_pool2d(x, self.pool_size, self.strides, self.padding)


MaxPooling2D, AveragePooling2D = MaxPool2D, AvgPool2D  # Keras spellings
