"""Checks shared by the model families: a wrong input is named at the model's door, not deep inside."""

from __future__ import annotations

import torch

from ..errors import ConfigError, ShapeError


def check_image_input(model_name: str, x: torch.Tensor, in_channels: int, min_size: int = 1) -> None:
    """Raise a ShapeError unless `x` is (batch, in_channels, H, W) with H, W >= min_size.

    Example:
        >>> check_image_input("lenet5", torch.zeros(2, 1, 32, 32), 1, 28)
        >>> check_image_input("lenet5", torch.zeros(2, 3, 32, 32), 1)
        Traceback (most recent call last):
        ...
        tujie.errors.ShapeError: Model 'lenet5' received an input of the wrong shape. Expected: (batch, 1, height, width) with height and width >= 1. Received: input of shape (2, 3, 32, 32). Fix: ...
    """
    if x.ndim == 4 and x.shape[1] == in_channels and min(x.shape[2:]) >= min_size:
        return
    fix = (f"Build the model with in_channels={x.shape[1]}, or convert the images." if x.ndim == 4 and x.shape[1] != in_channels
           else "Add the channel dimension (x.unsqueeze(1) for grayscale)." if x.ndim == 3
           else f"Resize the images to at least {min_size}x{min_size}.")
    raise ShapeError(f"Model '{model_name}' received an input of the wrong shape.",
                     expected=f"(batch, {in_channels}, height, width) with height and width >= {min_size}",
                     received=f"input of shape {tuple(x.shape)}", fix=fix)


def check_positive(model_name: str, **values) -> None:
    """Raise a ConfigError for any size argument that is not a positive integer.

    Example:
        >>> check_positive("vgg11", num_classes=0)
        Traceback (most recent call last):
        ...
        tujie.errors.ConfigError: Invalid value received for argument `num_classes` of model 'vgg11'. Expected: a positive integer. Received: num_classes=0. Fix: Pass a positive integer.
    """
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"Invalid value received for argument `{name}` of model '{model_name}'.",
                              expected="a positive integer", received=f"{name}={value!r}", fix="Pass a positive integer.")
