"""Core layers: Dense, Flatten, Reshape, Dropout, Activation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ._base import Layer, Regularizer, get_regularizer, regularization_loss
from .activations import get_activation

__all__ = ["Input", "Dense", "Flatten", "Reshape", "Dropout", "Activation", "Regularizer", "regularization_loss"]


def input_shape_argument(value, layer: str) -> tuple | None:
    """Check an `input_shape`/`shape` argument (one sample's shape, no batch dimension) and return it as a tuple."""
    if value is None:
        return None
    shape = (value,) if isinstance(value, int) and not isinstance(value, bool) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if not shape or any(s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 1) for s in shape):
        raise ConfigError(f"Invalid value received for the input shape of {layer}.",
                          expected="one sample's shape without the batch dimension: positive ints (None for a free size)",
                          received=f"{value!r}", fix="Pass e.g. input_shape=(784,) or Input((1, 28, 28)).")
    return shape


class Input(Layer):
    """Declares one sample's shape as the first element of a `Sequential` (Keras' `keras.Input(shape)`).

    The model then creates its weights at once, so `summary()` works before any data; at
    run time the layer passes its input through, refusing a batch of another shape.

    Args:
        shape: one sample's shape without the batch dimension, e.g. (784,) or (1, 28, 28);
            None for a dimension of free size (a sequence length).
        dtype: "float32" (default) or an integer type ("int64") for token ids.

    Input shape: (batch, *shape). Output shape: the same.

    Example:
        >>> import tujie as tj
        >>> model = tj.Sequential([Input((4,)), Dense(3)])
        >>> model.count_params()
        15
    """

    def __init__(self, shape, dtype: str = "float32", name: str | None = None):
        super().__init__(name or "input")
        self.shape = input_shape_argument(shape, "Input")
        if not hasattr(torch, str(dtype)) or not isinstance(getattr(torch, str(dtype)), torch.dtype):
            raise ConfigError("Invalid value received for argument `dtype` of Input.", expected='a torch dtype name such as "float32" or "int64"',
                              received=f"dtype={dtype!r}", fix='Pass dtype="float32" for numbers or "int64" for token ids.')
        self.dtype = str(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != len(self.shape) + 1 or any(s is not None and s != d for s, d in zip(self.shape, x.shape[1:])):
            raise self.shape_error(x, f"(batch, {', '.join('any' if s is None else str(s) for s in self.shape)})",
                                   "Reshape the data, or declare Input(shape) with the shape of one sample.")
        return x

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Dense(Layer):
    """A fully connected layer, `activation(x @ W.T + b)`, sized on first call.

    Args:
        units: number of output features (neurons).
        activation: a name ("relu", "sigmoid", "tanh", "gelu", "softmax", ...), a callable, or None.
        use_bias: add a learned bias.
        kernel_regularizer: a penalty on the weight matrix added to the training loss: "l1", "l2",
            "l1_l2" (factor 0.01, as Keras), a number (L2 factor), ("l2", 1e-4), {"l2": 1e-4} or a callable.
        input_shape: one sample's shape, e.g. (784,); as the first layer of a `Sequential` the model
            creates its weights at once (Keras' `input_shape=`).

    Input shape: (batch, ..., in_features).
    Output shape: (batch, ..., units).

    Weights start as in `torch.nn.Linear` (Kaiming-uniform), so a tujie model and the
    hand-written PyTorch model it mirrors train the same way.

    Example:
        >>> layer = Dense(4, activation="relu")
        >>> layer(torch.randn(2, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True, name: str | None = None, *,
                 kernel_regularizer=None, input_shape=None):
        super().__init__(name)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ConfigError("Invalid value received for argument `units` of Dense.", expected="a positive integer",
                              received=f"units={units!r}", fix="Pass the number of neurons, e.g. Dense(128).")
        self.units, self.use_bias = units, use_bias
        self.kernel_regularizer, self._kernel_penalty = kernel_regularizer, get_regularizer(kernel_regularizer, "Dense")
        self.input_shape = input_shape_argument(input_shape, "Dense")
        self.activation_name = activation if isinstance(activation, str) or activation is None else getattr(activation, "__name__", "custom")
        self.activation = get_activation(activation)
        self.in_features: int | None = None

    def build(self, x: torch.Tensor) -> None:
        self._create(x.shape[-1], x.device, x.dtype if x.is_floating_point() else torch.get_default_dtype())

    def _create(self, in_features: int, device=None, dtype=None) -> None:
        self.in_features = in_features
        self.weight = nn.Parameter(torch.empty(self.units, in_features, device=device, dtype=dtype))  # (units, in)
        self.bias = nn.Parameter(torch.empty(self.units, device=device, dtype=dtype)) if self.use_bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(in_features) if in_features > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)
        self.built = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.built:
            self.build(x)
        elif x.shape[-1] != self.in_features:
            raise self.shape_error(x, f"last dimension {self.in_features} (in_features)",
                                   "Add a Flatten() before this layer, or fix the preceding layer's units.")
        y = F.linear(x, self.weight, self.bias)  # (batch, ..., units)
        return y if self.activation is None else self.activation(y)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A fresh lazy layer learns its size from the checkpoint, so loading needs no dummy batch.
        weight = state_dict.get(prefix + "weight")
        if not self.built and weight is not None:
            self._create(weight.shape[1], weight.device, weight.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, units={self.units}, activation={self.activation_name}"


class Flatten(Layer):
    """Flatten every dimension after the batch dimension.

    Input shape: (batch, d1, d2, ...). Output shape: (batch, d1 * d2 * ...).

    Example:
        >>> Flatten()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 784])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


class Reshape(Layer):
    """Reshape each sample to `target_shape` (the batch dimension is kept).

    Example:
        >>> Reshape((1, 28, 28))(torch.zeros(2, 784)).shape
        torch.Size([2, 1, 28, 28])
    """

    def __init__(self, target_shape, name: str | None = None):
        super().__init__(name)
        self.target_shape = tuple(target_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        known, got = math.prod(s for s in self.target_shape if s != -1), math.prod(x.shape[1:])
        if (got % known) if -1 in self.target_shape else (got != known):
            raise self.shape_error(x, f"a multiple of {known} values per sample to make {self.target_shape}")
        return x.reshape(x.shape[0], *self.target_shape)


class Dropout(Layer):
    """Randomly zero a fraction `rate` of inputs during training (scaled by 1/(1-rate)); identity at eval.

    Example:
        >>> Dropout(0.5).eval()(torch.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, rate: float, name: str | None = None):
        super().__init__(name)
        if not 0.0 <= rate < 1.0:
            raise ConfigError("Invalid value received for argument `rate` of Dropout.", expected="0 <= rate < 1",
                              received=f"rate={rate!r}", fix="Pass a fraction such as Dropout(0.5).")
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.rate, self.training)


class Activation(Layer):
    """Apply an activation function by name.

    Example:
        >>> Activation("relu")(torch.tensor([-1.0, 1.0])).tolist()
        [0.0, 1.0]
    """

    def __init__(self, activation, name: str | None = None):
        super().__init__(name)
        self.activation_name = activation
        self.fn = get_activation(activation) or _identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x
