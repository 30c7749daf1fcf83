"""Convolution and pooling layers, channels-first as in PyTorch: (batch, channels, length) and (batch, channels, height, width)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ._base import Layer, get_regularizer
from .activations import get_activation
from .core import input_shape_argument

__all__ = ["Conv1D", "Conv2D", "DepthwiseSeparableConv2D", "MaxPool1D", "AvgPool1D", "MaxPool2D", "AvgPool2D",
           "GlobalAvgPool1D", "GlobalMaxPool1D", "GlobalAvgPool2D", "GlobalMaxPool2D",
           # Keras spellings of the same classes
           "SeparableConv2D", "MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D",
           "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling2D"]

_SPATIAL = {1: "length", 2: "height, width"}
_BATCH = {1: "a 3-D batch (batch, channels, length)", 2: "a 4-D batch (batch, channels, height, width)"}
_CONV = {1: F.conv1d, 2: F.conv2d}


def _tuple(value, n: int, name: str, layer: str) -> tuple[int, ...]:
    """`value` as n positive ints (an int is repeated), or a ConfigError naming the argument."""
    values = (value,) * n if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ConfigError(f"Invalid value received for argument `{name}` of {layer}.",
                          expected="a positive int" + (f" or a tuple of {n} of them" if n > 1 else ""),
                          received=f"{name}={value!r}", fix=f"Pass e.g. {name}=3" + (f" or {name}={(3,) * n}." if n > 1 else "."))
    return values


def _pair(value, name: str, layer: str) -> tuple[int, int]:
    return _tuple(value, 2, name, layer)


def _conv_padding(padding, kernel_size: tuple, strides: tuple, dilation: tuple, layer: str):
    """"same", "valid", or explicit per-dimension padding (what F.conv1d/conv2d take)."""
    n = len(kernel_size)
    if isinstance(padding, str) and padding in ("same", "valid"):
        if padding == "same" and strides != (1,) * n:
            # torch's padding="same" needs stride 1; for strided "same" pad by half the kernel (as Keras does for odd kernels).
            return tuple(d * (k - 1) // 2 for k, d in zip(kernel_size, dilation))
        return padding
    values = (padding,) * n if isinstance(padding, int) else tuple(padding) if isinstance(padding, (tuple, list)) else ()
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
        raise ConfigError(f"Invalid value received for argument `padding` of {layer}.",
                          expected='"same", "valid", a non-negative int' + (f" or a tuple of {n} of them" if n > 1 else ""),
                          received=f"padding={padding!r}", fix='Pass padding="same".')
    return values


def _check_kernel_fits(layer: Layer, x: torch.Tensor, kernel_size: tuple, dilation: tuple, padding,
                       window: str = "kernel size") -> None:
    """A ShapeError, instead of torch's internal one, when the (dilated) kernel is larger than the (padded) input."""
    if padding == "same":
        return
    pads = (0,) * len(kernel_size) if padding == "valid" else padding
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    if any(size + 2 * p < span for size, p, span in zip(x.shape[2:], pads, spans)):
        dilated = f" (dilated to {spans})" if spans != kernel_size else ""
        padded = f" plus padding {pads} on each side" if any(pads) else ""
        raise layer.shape_error(x, f"{_SPATIAL[len(kernel_size)]} at least the {window} {kernel_size}{dilated}{padded}",
                                'Use padding="same", a smaller kernel, or fewer pooling layers before this one.')


def _check_filters_and_groups(filters, groups, layer: str) -> None:
    if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
        raise ConfigError(f"Invalid value received for argument `filters` of {layer}.", expected="a positive integer",
                          received=f"filters={filters!r}", fix=f"Pass the number of output channels, e.g. {layer}(32, 3).")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or filters % groups:
        raise ConfigError(f"Invalid value received for argument `groups` of {layer}.",
                          expected=f"a positive integer that divides filters={filters}", received=f"groups={groups!r}",
                          fix="Use groups=1, or a divisor of both the filters and the input channels.")


def _activation_name(activation) -> str | None:
    return activation if isinstance(activation, str) or activation is None else getattr(activation, "__name__", "custom")


class _Conv(Layer):
    """Shared by Conv1D and Conv2D: `activation(conv(x, W) + b)`, input channels fixed on first call."""

    rank = 2  # number of spatial dimensions

    def __init__(self, filters: int, kernel_size=3, strides=1, padding="valid", dilation=1, groups: int = 1,
                 activation=None, use_bias: bool = True, name: str | None = None, *, kernel_regularizer=None,
                 input_shape=None):
        super().__init__(name)
        layer = type(self).__name__
        _check_filters_and_groups(filters, groups, layer)
        self.filters, self.groups, self.use_bias = filters, groups, use_bias
        self.kernel_regularizer, self._kernel_penalty = kernel_regularizer, get_regularizer(kernel_regularizer, layer)
        self.input_shape = input_shape_argument(input_shape, layer)
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size", layer)
        self.strides = _tuple(strides, self.rank, "strides", layer)
        self.dilation = _tuple(dilation, self.rank, "dilation", layer)
        self.padding = _conv_padding(padding, self.kernel_size, self.strides, self.dilation, layer)
        self.activation_name = _activation_name(activation)
        self.activation = get_activation(activation)
        self.in_channels: int | None = None

    def build(self, x: torch.Tensor) -> None:
        if x.ndim != self.rank + 2:
            raise self.shape_error(x, _BATCH[self.rank],
                                   "Add a channel dimension, e.g. x.unsqueeze(1) for grayscale images or single-channel "
                                   "signals, or a Reshape layer.")
        self._create(x.shape[1], x.device, x.dtype if x.is_floating_point() else torch.get_default_dtype())

    def _create(self, in_channels: int, device=None, dtype=None) -> None:
        if in_channels % self.groups:
            raise ConfigError(f"{type(self).__name__} '{self.name}': groups must divide the input channels.",
                              expected=f"in_channels divisible by groups={self.groups}", received=f"in_channels={in_channels}",
                              fix="Change `groups`.")
        self.in_channels = in_channels
        shape = (self.filters, in_channels // self.groups, *self.kernel_size)  # (out, in/groups, k...)
        self.weight = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.empty(self.filters, device=device, dtype=dtype)) if self.use_bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # as torch.nn.Conv1d/Conv2d
        if self.bias is not None:
            fan_in = math.prod(shape[1:])
            nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        self.built = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.built:
            self.build(x)
        elif x.ndim != self.rank + 2 or x.shape[1] != self.in_channels:
            raise self.shape_error(x, f"(batch, {self.in_channels}, {_SPATIAL[self.rank]})")
        _check_kernel_fits(self, x, self.kernel_size, self.dilation, self.padding)
        y = _CONV[self.rank](x, self.weight, self.bias, self.strides, 0 if self.padding == "valid" else self.padding,
                             self.dilation, self.groups)  # (batch, filters, spatial')
        return y if self.activation is None else self.activation(y)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A fresh lazy layer learns its size from the checkpoint, so loading needs no dummy batch.
        weight = state_dict.get(prefix + "weight")
        if not self.built and weight is not None:
            self._create(weight.shape[1] * self.groups, weight.device, weight.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, filters={self.filters}, kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding={self.padding!r}, activation={self.activation_name}")


class Conv1D(_Conv):
    """1-D convolution over sequences, `activation(conv(x, W) + b)`, with its input channels fixed on first call.

    Args:
        filters: number of output channels.
        kernel_size: window length (int).
        strides: step between windows (int).
        padding: "valid" (no padding), "same" (output length = input length / stride), or an int.
        dilation: spacing between kernel taps; groups: channel groups (groups = in_channels makes it depthwise).
        activation: a name, a callable, or None.
        use_bias: add a learned bias.
        kernel_regularizer: a penalty on the kernel added to the training loss, as in `Dense`.
        input_shape: one sample's shape (in_channels, length); as the first layer of a `Sequential`
            the model creates its weights at once.

    Input shape: (batch, in_channels, length). Output shape: (batch, filters, length').

    Weights start as in `torch.nn.Conv1d` (Kaiming-uniform). Unlike Keras, channels come first.

    Example:
        >>> Conv1D(16, 5, padding="same", activation="relu")(torch.zeros(2, 4, 100)).shape
        torch.Size([2, 16, 100])
        >>> Conv1D(16, 3, strides=2)(torch.zeros(2, 4, 9)).shape
        torch.Size([2, 16, 4])
    """

    rank = 1


class Conv2D(_Conv):
    """2-D convolution, `activation(conv(x, W) + b)`, with its input channels fixed on first call.

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw).
        padding: "valid" (no padding), "same" (output size = input size / stride), or an int or pair.
        dilation: int or pair; groups: channel groups (groups = in_channels makes it depthwise).
        activation: a name, a callable, or None.
        use_bias: add a learned bias.
        kernel_regularizer: a penalty on the kernel added to the training loss, as in `Dense`.
        input_shape: one sample's shape (in_channels, H, W); as the first layer of a `Sequential`
            the model creates its weights at once.

    Input shape: (batch, in_channels, H, W). Output shape: (batch, filters, H', W').

    Weights start as in `torch.nn.Conv2d` (Kaiming-uniform).

    Example:
        >>> Conv2D(8, 3, padding="same", activation="relu")(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 8, 28, 28])
    """

    rank = 2


class DepthwiseSeparableConv2D(Layer):
    """A depthwise 2-D convolution (each channel on its own) followed by a 1×1 pointwise one mixing channels.

    As in Xception and MobileNet: far fewer weights than a full `Conv2D` with the same
    kernel (`in·m·kh·kw + in·m·filters` instead of `in·filters·kh·kw`).

    Args:
        filters: output channels of the pointwise convolution.
        kernel_size: int or (kh, kw) of the depthwise convolution.
        strides, padding, dilation: of the depthwise convolution, as in `Conv2D`.
        depth_multiplier: depthwise output channels per input channel (m).
        activation: a name, a callable, or None, applied after the pointwise convolution.
        use_bias: a learned bias on the pointwise output (the depthwise step has none, as in Keras).

    Input shape: (batch, in_channels, H, W). Output shape: (batch, filters, H', W').

    Weights start as in the torch pair `nn.Conv2d(in, in*m, k, groups=in, bias=False)`,
    `nn.Conv2d(in*m, filters, 1)`, created in that order.

    Example:
        >>> layer = DepthwiseSeparableConv2D(16, 3, padding="same", activation="relu")
        >>> layer(torch.zeros(2, 8, 32, 32)).shape
        torch.Size([2, 16, 32, 32])
        >>> sum(p.numel() for p in layer.parameters())  # 8*3*3 + 8*16 + 16
        216
    """

    def __init__(self, filters: int, kernel_size=3, strides=1, padding="valid", depth_multiplier: int = 1, dilation=1,
                 activation=None, use_bias: bool = True, name: str | None = None):
        super().__init__(name)
        layer = type(self).__name__
        _check_filters_and_groups(filters, 1, layer)
        if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, int) or depth_multiplier < 1:
            raise ConfigError(f"Invalid value received for argument `depth_multiplier` of {layer}.", expected="a positive integer",
                              received=f"depth_multiplier={depth_multiplier!r}", fix="Pass depth_multiplier=1 (the usual value).")
        self.filters, self.depth_multiplier, self.use_bias = filters, depth_multiplier, use_bias
        self.kernel_size = _pair(kernel_size, "kernel_size", layer)
        self.strides = _pair(strides, "strides", layer)
        self.dilation = _pair(dilation, "dilation", layer)
        self.padding = _conv_padding(padding, self.kernel_size, self.strides, self.dilation, layer)
        self.activation_name = _activation_name(activation)
        self.activation = get_activation(activation)
        self.in_channels: int | None = None

    def build(self, x: torch.Tensor) -> None:
        if x.ndim != 4:
            raise self.shape_error(x, _BATCH[2], "Add a channel dimension, e.g. x.unsqueeze(1) for grayscale images.")
        self._create(x.shape[1], x.device, x.dtype if x.is_floating_point() else torch.get_default_dtype())

    def _create(self, in_channels: int, device=None, dtype=None) -> None:
        self.in_channels = in_channels
        middle = in_channels * self.depth_multiplier
        self.depthwise_weight = nn.Parameter(torch.empty(middle, 1, *self.kernel_size, device=device, dtype=dtype))  # (in*m, 1, kh, kw)
        self.pointwise_weight = nn.Parameter(torch.empty(self.filters, middle, 1, 1, device=device, dtype=dtype))  # (filters, in*m, 1, 1)
        self.bias = nn.Parameter(torch.empty(self.filters, device=device, dtype=dtype)) if self.use_bias else None
        nn.init.kaiming_uniform_(self.depthwise_weight, a=math.sqrt(5))
        nn.init.kaiming_uniform_(self.pointwise_weight, a=math.sqrt(5))
        if self.bias is not None:
            nn.init.uniform_(self.bias, -1 / math.sqrt(middle), 1 / math.sqrt(middle))
        self.built = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.built:
            self.build(x)
        elif x.ndim != 4 or x.shape[1] != self.in_channels:
            raise self.shape_error(x, f"(batch, {self.in_channels}, height, width)")
        _check_kernel_fits(self, x, self.kernel_size, self.dilation, self.padding)
        y = F.conv2d(x, self.depthwise_weight, None, self.strides, 0 if self.padding == "valid" else self.padding,
                     self.dilation, self.in_channels)  # (batch, in*m, H', W')
        y = F.conv2d(y, self.pointwise_weight, self.bias)  # (batch, filters, H', W')
        return y if self.activation is None else self.activation(y)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        weight = state_dict.get(prefix + "depthwise_weight")
        if not self.built and weight is not None:
            self._create(weight.shape[0] // self.depth_multiplier, weight.device, weight.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, filters={self.filters}, kernel_size={self.kernel_size}, "
                f"depth_multiplier={self.depth_multiplier}, strides={self.strides}, padding={self.padding!r}, "
                f"activation={self.activation_name}")


class _Pool(Layer):
    """Shared by the max/average pools: windows of `pool_size`, stride defaulting to the pool size."""

    rank = 2

    def __init__(self, pool_size=2, strides=None, padding: int = 0, name: str | None = None):
        super().__init__(name)
        layer = type(self).__name__
        self.pool_size = _tuple(pool_size, self.rank, "pool_size", layer)
        self.strides = self.pool_size if strides is None else _tuple(strides, self.rank, "strides", layer)
        if padding == "valid":
            padding = 0
        pads = (padding,) * self.rank if isinstance(padding, int) else tuple(padding) if isinstance(padding, (tuple, list)) else ()
        if len(pads) != self.rank or any(isinstance(p, bool) or not isinstance(p, int) or not 0 <= 2 * p <= k
                                         for p, k in zip(pads, self.pool_size)):
            raise ConfigError(f"Invalid value received for argument `padding` of {layer}.",
                              expected=f"a non-negative int at most half the pool size {self.pool_size}",
                              received=f"padding={padding!r}", fix="Pass padding=0, or a larger pool_size.")
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != self.rank + 2:
            raise self.shape_error(x, _BATCH[self.rank])
        pads = (self.padding,) * self.rank if isinstance(self.padding, int) else tuple(self.padding)
        _check_kernel_fits(self, x, self.pool_size, (1,) * self.rank, pads, window="pool size")
        return self._pool(x)  # (batch, channels, spatial')

    def extra_repr(self) -> str:
        return f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding}"


class MaxPool1D(_Pool):
    """Max pooling over windows of `pool_size` steps (stride defaults to the pool size).

    Input shape: (batch, C, length). Output shape: (batch, C, length // pool) with no padding.

    Example:
        >>> MaxPool1D(2)(torch.tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
        [[[3.0, 2.0]]]
    """

    rank = 1

    def _pool(self, x):
        return F.max_pool1d(x, self.pool_size, self.strides, self.padding)


class AvgPool1D(_Pool):
    """Average pooling over windows of `pool_size` steps (padding counts as zeros, as in torch).

    Input shape: (batch, C, length). Output shape: (batch, C, length // pool) with no padding.

    Example:
        >>> AvgPool1D(2)(torch.tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
        [[[2.0, 1.0]]]
    """

    rank = 1

    def _pool(self, x):
        return F.avg_pool1d(x, self.pool_size, self.strides, self.padding)


class MaxPool2D(_Pool):
    """Max pooling over `pool_size` windows (stride defaults to the pool size).

    Input shape: (batch, C, H, W). Output shape: (batch, C, H // pool, W // pool) with no padding.

    Example:
        >>> MaxPool2D(2)(torch.zeros(2, 8, 28, 28)).shape
        torch.Size([2, 8, 14, 14])
    """

    rank = 2

    def _pool(self, x):
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)


class AvgPool2D(_Pool):
    """Average pooling over `pool_size` windows (padding counts as zeros, as in torch).

    Example:
        >>> AvgPool2D(2)(torch.ones(1, 1, 4, 4)).shape
        torch.Size([1, 1, 2, 2])
    """

    rank = 2

    def _pool(self, x):
        return F.avg_pool2d(x, self.pool_size, self.strides, self.padding)


class _GlobalPool(Layer):
    """Shared by the global pools: one value per channel over all positions."""

    rank = 2

    def __init__(self, keepdims: bool = False, name: str | None = None):
        super().__init__(name)
        self.keepdims = keepdims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != self.rank + 2:
            raise self.shape_error(x, _BATCH[self.rank])
        return self._reduce(x, tuple(range(2, x.ndim)))  # (batch, channels), or (batch, channels, 1...) with keepdims

    def extra_repr(self) -> str:
        return f"keepdims={self.keepdims}"


class GlobalAvgPool1D(_GlobalPool):
    """Average over the whole length: one value per channel (a common head for sequence classifiers).

    Args:
        keepdims: keep the length dimension (size 1).

    Input shape: (batch, C, length). Output shape: (batch, C), or (batch, C, 1) with keepdims.

    Example:
        >>> GlobalAvgPool1D()(torch.tensor([[[1.0, 3.0], [0.0, 4.0]]])).tolist()
        [[2.0, 2.0]]
    """

    rank = 1

    def _reduce(self, x, dims):
        return x.mean(dims, keepdim=self.keepdims)


class GlobalMaxPool1D(_GlobalPool):
    """Maximum over the whole length: one value per channel.

    Input shape: (batch, C, length). Output shape: (batch, C), or (batch, C, 1) with keepdims.

    Example:
        >>> GlobalMaxPool1D()(torch.tensor([[[1.0, 3.0], [0.0, 4.0]]])).tolist()
        [[3.0, 4.0]]
    """

    rank = 1

    def _reduce(self, x, dims):
        return x.amax(dims, keepdim=self.keepdims)


class GlobalAvgPool2D(_GlobalPool):
    """Average over height and width: one value per channel (the head of ResNet-style networks).

    Args:
        keepdims: keep the spatial dimensions (size 1 each).

    Input shape: (batch, C, H, W). Output shape: (batch, C), or (batch, C, 1, 1) with keepdims.

    Example:
        >>> GlobalAvgPool2D()(torch.ones(2, 8, 7, 7)).shape
        torch.Size([2, 8])
        >>> GlobalAvgPool2D(keepdims=True)(torch.ones(2, 8, 7, 7)).shape
        torch.Size([2, 8, 1, 1])
    """

    rank = 2

    def _reduce(self, x, dims):
        return x.mean(dims, keepdim=self.keepdims)


class GlobalMaxPool2D(_GlobalPool):
    """Maximum over height and width: one value per channel.

    Input shape: (batch, C, H, W). Output shape: (batch, C), or (batch, C, 1, 1) with keepdims.

    Example:
        >>> GlobalMaxPool2D()(torch.arange(8.0).reshape(1, 2, 2, 2)).tolist()
        [[3.0, 7.0]]
    """

    rank = 2

    def _reduce(self, x, dims):
        return x.amax(dims, keepdim=self.keepdims)


# Keras spellings
SeparableConv2D = DepthwiseSeparableConv2D
MaxPooling1D, AveragePooling1D, MaxPooling2D, AveragePooling2D = MaxPool1D, AvgPool1D, MaxPool2D, AvgPool2D
GlobalAveragePooling1D, GlobalMaxPooling1D = GlobalAvgPool1D, GlobalMaxPool1D
GlobalAveragePooling2D, GlobalMaxPooling2D = GlobalAvgPool2D, GlobalMaxPool2D
