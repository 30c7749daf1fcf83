"""MobileNet v1 (Howard et al. 2017) and v2 (Sandler et al. 2018): convolutions factored for small devices.

A depthwise separable convolution (深度可分离卷积) replaces a k×k convolution over C_in → C_out
channels (k²·C_in·C_out weights) by a depthwise k×k convolution, one filter per channel
(`groups = C_in`, k²·C_in weights), followed by a pointwise 1×1 convolution (C_in·C_out).
For 3×3 kernels that is 8-9× fewer multiply-adds.

- v1: a 3×3/2 convolution, then 13 depthwise separable blocks (Table 1), global average pool,
  one linear layer; BatchNorm and ReLU after every convolution; 4,231,976 parameters. The
  width multiplier `alpha` thins every layer (0.25, 0.5, 0.75 in the paper). Table 1's last
  depthwise layer is printed "s2" on a 7×7 map; like every implementation, stride 1 is used.
- v2: inverted residual blocks (1×1 expansion by t → 3×3 depthwise → linear 1×1 projection,
  with a residual connection when the shape is kept), ReLU6, a 1×1 convolution to 1280
  channels, dropout 0.2 and one linear layer; 3,504,872 parameters (Table 2 layout, channels
  rounded to multiples of 8 under `width_mult` as in the authors' code).

Convolutions use He (kaiming) normal initialisation (fan-out), the linear layer N(0, 0.01).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from ._common import check_image_input, check_positive, kaiming_init
from ._registry import register_model


def _check_width(model_name: str, argument: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"Invalid value received for argument `{argument}` of model '{model_name}'.",
                          expected="a positive number (1.0 is the paper's network; 0.5 halves every layer)",
                          received=f"{argument}={value!r}", fix=f"Pass a positive {argument}, e.g. {argument}=1.0 or 0.5.")


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to the nearest multiple of `divisor`, never below `divisor` nor 10% below `value`.

    Example:
        >>> make_divisible(32 * 0.35), make_divisible(1280 * 1.4)
        (16, 1792)
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNReLU(nn.Sequential):
    """Convolution (no bias) → BatchNorm → ReLU (or ReLU6); `groups=channels` makes it depthwise."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                 relu6: bool = False):
        super().__init__(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, groups=groups,
                                   bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU6(inplace=True) if relu6 else nn.ReLU(inplace=True))


class DepthwiseSeparable(nn.Sequential):
    """MobileNet v1 block: 3×3 depthwise (stride 1 or 2) → BN → ReLU → 1×1 pointwise → BN → ReLU.

    Input shape: (batch, in_channels, H, W).
    Output shape: (batch, out_channels, H / stride, W / stride).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__(ConvBNReLU(in_channels, in_channels, 3, stride, groups=in_channels),  # (B, C_in, H/s, W/s)
                         ConvBNReLU(in_channels, out_channels, 1))                            # (B, C_out, H/s, W/s)


class InvertedResidual(nn.Module):
    """MobileNet v2 block: 1×1 expand (×t) → 3×3 depthwise → 1×1 linear projection, plus x when shapes agree.

    Input shape: (batch, in_channels, H, W).
    Output shape: (batch, out_channels, H / stride, W / stride).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = in_channels * expand_ratio
        layers = [ConvBNReLU(in_channels, hidden, 1, relu6=True)] if expand_ratio != 1 else []  # (B, t·C_in, H, W)
        layers += [ConvBNReLU(hidden, hidden, 3, stride, groups=hidden, relu6=True),          # (B, t·C_in, H/s, W/s)
                   nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]  # (B, C_out, H/s, W/s)
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)  # (B, C_out, H/s, W/s)


class MobileNetV1(nn.Module):
    """MobileNet v1: 3×3/2 convolution, 13 depthwise separable blocks, global average pool, linear.

    Args:
        num_classes: outputs of the last layer.
        in_channels: image channels.
        alpha: width multiplier: every layer has alpha × its channels (rounded to a multiple of 8).
        dropout: dropout probability before the classifier (the paper uses none).

    Input shape: (batch, in_channels, H, W) (224×224 in the paper; 32× downsampling).
    Output shape: (batch, num_classes), logits.
    """

    # Table 1: (output channels, stride) of each depthwise separable block
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
              (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, alpha: float = 1.0, dropout: float = 0.0,
                 model_name: str = "mobilenet_v1"):
        super().__init__()
        check_positive(model_name, num_classes=num_classes, in_channels=in_channels)
        _check_width(model_name, "alpha", alpha)
        self.model_name, self.in_channels = model_name, in_channels
        channels = make_divisible(32 * alpha)
        layers = [ConvBNReLU(in_channels, channels, 3, stride=2)]                   # (B, 32, 112, 112) at 224×224
        for out, stride in self.BLOCKS:
            layers.append(DepthwiseSeparable(channels, make_divisible(out * alpha), stride))
            channels = make_divisible(out * alpha)
        self.features = nn.Sequential(*layers)                                      # (B, 1024, 7, 7)
        self.avgpool = nn.AdaptiveAvgPool2d(1)                                      # (B, 1024, 1, 1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, num_classes))  # (B, num_classes)
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input(self.model_name, x, self.in_channels)
        x = torch.flatten(self.avgpool(self.features(x)), 1)                        # (B, 1024)
        return self.classifier(x)                                                   # (B, num_classes)


class MobileNetV2(nn.Module):
    """MobileNet v2: 3×3/2 convolution, 17 inverted residual blocks, 1×1 to 1280, global average pool, linear.

    Args:
        num_classes: outputs of the last layer.
        in_channels: image channels.
        width_mult: width multiplier (0.35 to 1.4 in the paper); the last 1×1 layer keeps 1280
            channels below 1.0.
        dropout: dropout probability before the classifier.

    Input shape: (batch, in_channels, H, W) (224×224 in the paper; 32× downsampling).
    Output shape: (batch, num_classes), logits.
    """

    # Table 2: expansion t, output channels c, repeats n, first stride s
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0, dropout: float = 0.2,
                 model_name: str = "mobilenet_v2"):
        super().__init__()
        check_positive(model_name, num_classes=num_classes, in_channels=in_channels)
        _check_width(model_name, "width_mult", width_mult)
        self.model_name, self.in_channels = model_name, in_channels
        channels = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))
        layers = [ConvBNReLU(in_channels, channels, 3, stride=2, relu6=True)]        # (B, 32, 112, 112) at 224×224
        for t, c, n, s in self.SETTINGS:
            out = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        layers.append(ConvBNReLU(channels, last, 1, relu6=True))                    # (B, 1280, 7, 7)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)                                      # (B, 1280, 1, 1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))  # (B, num_classes)
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input(self.model_name, x, self.in_channels)
        x = torch.flatten(self.avgpool(self.features(x)), 1)                        # (B, 1280)
        return self.classifier(x)                                                   # (B, num_classes)


@register_model(example_input=(3, 32, 32), output_shape=(10,), test_kwargs={"num_classes": 10},
                paper_params=4_231_976, paper_kwargs={"num_classes": 1000})
def mobilenet_v1(num_classes: int = 1000, in_channels: int = 3, alpha: float = 1.0, dropout: float = 0.0) -> MobileNetV1:
    """MobileNet v1 (Howard 2017): 13 depthwise separable blocks, width multiplier alpha, 4,231,976 parameters.

    Example:
        >>> mobilenet_v1(num_classes=10, alpha=0.25)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return MobileNetV1(num_classes, in_channels, alpha, dropout)


@register_model(example_input=(3, 32, 32), output_shape=(10,), test_kwargs={"num_classes": 10},
                paper_params=3_504_872, paper_kwargs={"num_classes": 1000})
def mobilenet_v2(num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0, dropout: float = 0.2) -> MobileNetV2:
    """MobileNet v2 (Sandler 2018): inverted residuals with linear bottlenecks, ReLU6, 3,504,872 parameters.

    Example:
        >>> model = mobilenet_v2(num_classes=10)
        >>> model(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
        >>> all(m.groups == m.in_channels == m.out_channels for m in model.modules()
        ...     if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) and m.in_channels > 3)
        True
    """
    return MobileNetV2(num_classes, in_channels, width_mult, dropout)
