"""Normalization layers: BatchNorm1D, BatchNorm2D and LayerNorm, sized on first call, numerically torch's own.

The arguments read as Keras' (`epsilon`, `center`, `scale`), but `momentum` keeps PyTorch's
meaning, so a model ported from a PyTorch paper needs no conversion: it is the weight of
the *current* batch in the running statistics,

    running = (1 - momentum) * running + momentum * batch_statistic,

while Keras' `momentum` is the weight of the *old* value: Keras momentum=0.99 is momentum=0.01 here.
Training and evaluation follow the module's mode (`model.train()` / `model.eval()`), as in torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ._base import Layer

__all__ = ["BatchNorm1D", "BatchNorm2D", "LayerNorm", "LayerNormalization"]


def _check_epsilon(epsilon, layer: str) -> None:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
        raise ConfigError(f"Invalid value received for argument `epsilon` of {layer}.", expected="a small positive number",
                          received=f"epsilon={epsilon!r}", fix="Pass epsilon=1e-5 (PyTorch's default) or 1e-3 (Keras').")


class _BatchNorm(Layer):
    """Shared by BatchNorm1D/2D: per-channel statistics over the batch (and positions), channel dimension 1."""

    ranks: tuple[int, ...] = (4,)
    shapes = "a 4-D batch (batch, channels, height, width)"

    def __init__(self, momentum: float | None = 0.1, epsilon: float = 1e-5, center: bool = True, scale: bool = True,
                 name: str | None = None):
        super().__init__(name)
        layer = type(self).__name__
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1):
            raise ConfigError(f"Invalid value received for argument `momentum` of {layer}.",
                              expected="a number in [0, 1] (PyTorch's convention, the weight of the new batch), or None",
                              received=f"momentum={momentum!r}",
                              fix="Pass momentum=0.1 (PyTorch's default); Keras' momentum=m is momentum=1-m here.")
        _check_epsilon(epsilon, layer)
        self.momentum, self.epsilon, self.center, self.scale = momentum, epsilon, center, scale
        self.num_features: int | None = None

    def build(self, x: torch.Tensor) -> None:
        if x.ndim not in self.ranks:
            raise self.shape_error(x, self.shapes, "Use BatchNorm1D for (batch, features) or (batch, channels, length), "
                                                   "BatchNorm2D for images, LayerNorm for (batch, seq, features).")
        self._create(x.shape[1], x.device, x.dtype if x.is_floating_point() else torch.get_default_dtype())

    def _create(self, num_features: int, device=None, dtype=None) -> None:
        self.num_features = num_features
        make = dict(device=device, dtype=dtype)
        # the names torch.nn.BatchNorm uses, so state dicts load either way
        self.weight = nn.Parameter(torch.ones(num_features, **make)) if self.scale else None  # gamma, (C,)
        self.bias = nn.Parameter(torch.zeros(num_features, **make)) if self.center else None  # beta, (C,)
        self.register_buffer("running_mean", torch.zeros(num_features, **make))
        self.register_buffer("running_var", torch.ones(num_features, **make))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        self.built = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.built:
            self.build(x)
        elif x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise self.shape_error(x, f"{self.shapes} with {self.num_features} channels")
        factor = 0.0
        if self.training:
            if x.numel() == x.shape[1] and x.device.type != "meta":
                raise self.shape_error(x, "more than one value per channel in training (batch statistics need two)",
                                       "Train with batches of at least 2 samples (DataLoader drop_last=True drops a "
                                       "last batch of 1), or call model.eval().")
            self.num_batches_tracked.add_(1)
            # momentum None: the running statistics are the plain average of every batch so far (as torch)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training, factor,
                            self.epsilon)  # same shape as x

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A fresh lazy layer learns its size from the checkpoint, so loading needs no dummy batch.
        mean = state_dict.get(prefix + "running_mean")
        if not self.built and mean is not None:
            self._create(mean.shape[0], mean.device, mean.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (f"num_features={self.num_features}, momentum={self.momentum}, epsilon={self.epsilon}, "
                f"center={self.center}, scale={self.scale}")


class BatchNorm1D(_BatchNorm):
    """Batch normalization of features or of sequence channels, with the feature count fixed on first call.

    Normalizes each channel by the batch's mean and variance in training (updating running
    statistics), by the running statistics in evaluation, then scales and shifts: the same
    numbers as `torch.nn.BatchNorm1d` with the same parameters.

    Args:
        momentum: weight of the current batch in the running statistics (PyTorch's convention:
            Keras momentum=0.99 is momentum=0.01 here); None averages all batches equally.
        epsilon: added to the variance before the square root.
        center: learn a shift `bias` (beta); scale: learn a factor `weight` (gamma).

    Input shape: (batch, features) or (batch, channels, length). Output shape: the same.

    Example:
        >>> layer = BatchNorm1D()
        >>> y = layer(torch.tensor([[1.0, 10.0], [3.0, 30.0]]))
        >>> y.round(decimals=3).tolist()  # each column to mean 0, variance 1 (up to epsilon)
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> layer.running_mean.tolist()  # 0.9 * 0 + 0.1 * batch mean
        [0.2..., 2.0]
    """

    ranks = (2, 3)
    shapes = "a 2-D batch (batch, features) or 3-D (batch, channels, length)"


class BatchNorm2D(_BatchNorm):
    """Batch normalization of image channels, with the channel count fixed on first call.

    The same numbers as `torch.nn.BatchNorm2d` with the same parameters: statistics per
    channel over batch, height and width.

    Args:
        momentum: weight of the current batch in the running statistics (PyTorch's convention:
            Keras momentum=0.99 is momentum=0.01 here); None averages all batches equally.
        epsilon: added to the variance before the square root.
        center: learn a shift `bias` (beta); scale: learn a factor `weight` (gamma).

    Input shape: (batch, channels, H, W). Output shape: the same.

    Example:
        >>> layer = BatchNorm2D()
        >>> layer(torch.randn(8, 3, 5, 5)).shape, layer.running_var.shape
        (torch.Size([8, 3, 5, 5]), torch.Size([3]))
    """

    ranks = (4,)
    shapes = "a 4-D batch (batch, channels, height, width)"


class LayerNorm(Layer):
    """Layer normalization over the last dimension(s) of each sample, with their sizes fixed on first call.

    The same numbers as `torch.nn.LayerNorm(normalized_shape)`, where `normalized_shape` is
    read from the first input: the sizes of the dimensions named by `axis`. No running
    statistics, so training and evaluation compute the same thing.

    Args:
        axis: the dimension(s) to normalize over: -1 (the features), or trailing dimensions
            such as (-2, -1); non-negative ones such as (1, 2, 3) are resolved on first call.
            They must be the last ones, as in torch (permute the input otherwise).
        epsilon: added to the variance before the square root (torch's default 1e-5; Keras' is 1e-3).
        center: learn a shift `bias` (beta); scale: learn a factor `weight` (gamma).

    Input shape: (batch, ..., *normalized_shape). Output shape: the same.

    Example:
        >>> LayerNorm()(torch.tensor([[1.0, 2.0, 3.0]])).tolist()
        [[-1.2247..., 0.0, 1.2247...]]
        >>> layer = LayerNorm(axis=(-2, -1))
        >>> layer(torch.randn(4, 10, 6)).shape, layer.normalized_shape
        (torch.Size([4, 10, 6]), (10, 6))
    """

    def __init__(self, axis=-1, epsilon: float = 1e-5, center: bool = True, scale: bool = True, name: str | None = None):
        super().__init__(name)
        axes = (axis,) if isinstance(axis, int) else tuple(axis) if isinstance(axis, (tuple, list)) else ()
        negative = sorted(a for a in axes if isinstance(a, int) and a < 0)
        if (not axes or any(isinstance(a, bool) or not isinstance(a, int) for a in axes) or len(set(axes)) != len(axes)
                or (len(negative) == len(axes) and negative != list(range(-len(axes), 0)))):
            raise ConfigError("Invalid value received for argument `axis` of LayerNorm.",
                              expected="-1 or the last dimensions, such as (-2, -1), as torch.nn.LayerNorm normalizes",
                              received=f"axis={axis!r}", fix="Pass axis=-1, or permute the input so the dimensions to "
                                                             "normalize come last.")
        _check_epsilon(epsilon, "LayerNorm")
        self.axis, self.epsilon, self.center, self.scale = axes, epsilon, center, scale
        self.normalized_shape: tuple[int, ...] | None = None

    def build(self, x: torch.Tensor) -> None:
        k = len(self.axis)
        if (k >= x.ndim or not all(-x.ndim <= a < x.ndim for a in self.axis)
                or sorted(a % x.ndim for a in self.axis) != list(range(x.ndim - k, x.ndim))):
            raise self.shape_error(x, f"an input whose last dimensions are axis={self.axis}, after a batch dimension",
                                   "Pass axis=-1, or permute the input so the dimensions to normalize come last.")
        self._create(tuple(x.shape[x.ndim - k:]), x.device,
                     x.dtype if x.is_floating_point() else torch.get_default_dtype())

    def _create(self, normalized_shape: tuple[int, ...], device=None, dtype=None) -> None:
        self.normalized_shape = tuple(normalized_shape)
        make = dict(device=device, dtype=dtype)
        self.weight = nn.Parameter(torch.ones(self.normalized_shape, **make)) if self.scale else None  # gamma
        self.bias = nn.Parameter(torch.zeros(self.normalized_shape, **make)) if self.center else None  # beta
        self.built = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.built:
            self.build(x)
        elif x.ndim <= len(self.normalized_shape) or tuple(x.shape[x.ndim - len(self.normalized_shape):]) != self.normalized_shape:
            raise self.shape_error(x, f"(batch, ..., {', '.join(map(str, self.normalized_shape))})")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.epsilon)  # same shape as x

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        saved = state_dict.get(prefix + "weight", state_dict.get(prefix + "bias"))
        if not self.built and saved is not None:
            self._create(tuple(saved.shape), saved.device, saved.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"normalized_shape={self.normalized_shape}, axis={self.axis}, epsilon={self.epsilon}"


LayerNormalization = LayerNorm  # Keras spelling
