"""Checks shared by the model families: a wrong input is named at the model's door, not deep inside."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, DataError, ShapeError


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


def check_token_input(model_name: str, ids: torch.Tensor, vocab_size: int, label: str = "token ids") -> None:
    """Raise a ShapeError unless `ids` is (batch, seq) integer ids, a DataError for ids outside the vocabulary.

    Example:
        >>> check_token_input("lstm_classifier", torch.zeros(2, 5, dtype=torch.long), 100)
        >>> check_token_input("seq2seq_gru", torch.tensor([[4, 12]]), vocab_size=10, label="source ids")
        Traceback (most recent call last):
        ...
        tujie.errors.DataError: Model 'seq2seq_gru' received source ids outside its vocabulary. Expected: ids in [0, 10) (vocab_size=10). ...
    """
    if ids.ndim != 2 or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        fix = ("Pass the ids themselves: this model embeds them." if ids.ndim == 3 and ids.is_floating_point() else
               "Add the batch dimension: tokens.unsqueeze(0)." if ids.ndim == 1 else
               "Convert the ids with tokens.long()." if ids.ndim == 2 else "Pass a (batch, seq) tensor of token ids.")
        raise ShapeError(f"Model '{model_name}' received {label} of the wrong shape or type.",
                         expected="integer ids of shape (batch, seq)",
                         received=f"input of shape {tuple(ids.shape)} and dtype {ids.dtype}", fix=fix)
    if ids.numel() and ids.device.type != "meta" and (ids.min() < 0 or ids.max() >= vocab_size):
        raise DataError(f"Model '{model_name}' received {label} outside its vocabulary.",
                        expected=f"ids in [0, {vocab_size}) (vocab_size={vocab_size})", received=f"ids from {int(ids.min())} to {int(ids.max())}",
                        fix="Build the model with a larger vocab_size, or map unknown words to an <unk> id.")


def check_exact_image(model_name: str, x: torch.Tensor, image_shape: tuple, arg: str = "image_shape") -> None:
    """Raise a ShapeError unless x is (batch, *image_shape): for models whose dense layers fix the image size.

    Example:
        >>> check_exact_image("vae", torch.zeros(2, 1, 28, 28), (1, 28, 28))
    """
    if x.ndim == 4 and tuple(x.shape[1:]) == tuple(image_shape):
        return
    raise ShapeError(f"Model '{model_name}' received an input of the wrong shape.",
                     expected=f"(batch, {', '.join(map(str, image_shape))})", received=f"input of shape {tuple(x.shape)}",
                     fix=("Add the channel dimension (x.unsqueeze(1) for grayscale)." if x.ndim == 3
                          else f"Resize the images, or build the model with {arg}={tuple(x.shape[1:])}."))


def image_shape_argument(model_name: str, value, arg: str = "image_shape") -> tuple[int, int, int]:
    """Check a (channels, height, width) constructor argument and return it as a tuple.

    Example:
        >>> image_shape_argument("gan_generator", [1, 28, 28])
        (1, 28, 28)
    """
    if not (isinstance(value, (tuple, list)) and len(value) == 3):
        raise ConfigError(f"Invalid value received for argument `{arg}` of model '{model_name}'.",
                          expected="(channels, height, width)", received=f"{arg}={value!r}",
                          fix=f"Pass {arg}=(1, 28, 28), for example.")
    check_positive(model_name, channels=value[0], height=value[1], width=value[2])
    return tuple(value)


def kaiming_init(model: nn.Module, linear_std: float | None = 0.01) -> None:
    """He et al. 2015 initialisation for ReLU CNNs: convolutions kaiming-normal (fan_out), biases zero,
    batch norms identity, linear layers normal(0, linear_std) (left at torch's default when None).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
        >>> kaiming_init(net); net[1].weight.unique().tolist()
        [1.0]
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0, linear_std)
            nn.init.zeros_(m.bias)
