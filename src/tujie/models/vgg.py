"""VGG (Simonyan & Zisserman 2014, "Very deep convolutional networks for large-scale image recognition").

Stacks of 3×3 convolutions (padding 1) separated by 2×2 max pools, then three dense layers.
Configurations A, B, D, E of the paper's Table 1 are `vgg11`, `vgg13`, `vgg16`, `vgg19`; the
`_bn` builders add batch normalisation after every convolution (Ioffe & Szegedy 2015, not in
the VGG paper). As in torchvision, an adaptive average pool makes the last feature map 7×7
whatever the input, so 32×32 images work with the paper's classifier; `small_input=True`
replaces that classifier by a single 512 → num_classes layer (the usual CIFAR-10 VGG).
Convolutions use He (kaiming) normal initialisation, dense layers N(0, 0.01).
"""

from __future__ import annotations

import torch
from torch import nn

from ._common import check_image_input, check_positive, kaiming_init
from ._registry import register_model

# Table 1 of the paper: output channels of each 3×3 convolution, "M" a 2×2 max pool
CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],                                 # A
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],                        # B
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],         # D
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],  # E
}


class VGG(nn.Module):
    """VGG: `features` (3×3 convolutions and max pools, 32× downsampling), `avgpool`, `classifier`.

    Args:
        config: channels of each convolution, "M" for a max pool (see `CONFIGS`).
        num_classes: outputs of the last layer.
        in_channels: image channels.
        batch_norm: BatchNorm2d after each convolution.
        dropout: dropout probability after the two hidden dense layers (0.5 in the paper).
        small_input: classifier = one Linear(512, num_classes) on the globally pooled features.

    Input shape: (batch, in_channels, H, W) with H, W >= 32 (five 2×2 pools).
    Output shape: (batch, num_classes), logits.
    """

    def __init__(self, config: list, num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False,
                 dropout: float = 0.5, small_input: bool = False, model_name: str = "vgg"):
        super().__init__()
        check_positive(model_name, num_classes=num_classes, in_channels=in_channels)
        self.model_name, self.in_channels = model_name, in_channels
        self.min_size = 2 ** config.count("M")
        layers, channels = [], in_channels
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))          # (B, C, H/2, W/2)
                continue
            # the bias is kept before BatchNorm (where it is redundant) so counts and weights match torchvision's
            layers.append(nn.Conv2d(channels, item, kernel_size=3, padding=1))  # (B, item, H, W)
            if batch_norm:
                layers.append(nn.BatchNorm2d(item))
            layers.append(nn.ReLU(inplace=True))
            channels = item
        self.features = nn.Sequential(*layers)                                # (B, 512, H/32, W/32)
        if small_input:
            self.avgpool = nn.AdaptiveAvgPool2d(1)                            # (B, 512, 1, 1)
            self.classifier = nn.Linear(channels, num_classes)                # (B, num_classes)
        else:
            self.avgpool = nn.AdaptiveAvgPool2d(7)                            # (B, 512, 7, 7)
            self.classifier = nn.Sequential(
                nn.Linear(channels * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),  # (B, 4096)
                nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),              # (B, 4096)
                nn.Linear(4096, num_classes),                                                    # (B, num_classes)
            )
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input(self.model_name, x, self.in_channels, self.min_size)
        x = self.avgpool(self.features(x))                                    # (B, 512, 7, 7)
        return self.classifier(torch.flatten(x, 1))                            # (B, num_classes)


def _vgg(name: str, batch_norm: bool, num_classes: int, in_channels: int, dropout: float, small_input: bool) -> VGG:
    return VGG(CONFIGS[name], num_classes, in_channels, batch_norm, dropout, small_input,
               model_name=name + ("_bn" if batch_norm else ""))


_TEST = {"example_input": (3, 32, 32), "output_shape": (10,), "test_kwargs": {"num_classes": 10},
         "paper_kwargs": {"num_classes": 1000}}


@register_model(paper_params=132_863_336, **_TEST)
def vgg11(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False) -> VGG:
    """VGG-11 (configuration A): 8 convolutions + 3 dense layers, 132,863,336 parameters.

    Example:
        >>> vgg11(num_classes=10, small_input=True)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return _vgg("vgg11", False, num_classes, in_channels, dropout, small_input)


@register_model(paper_params=133_047_848, **_TEST)
def vgg13(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False) -> VGG:
    """VGG-13 (configuration B): 10 convolutions + 3 dense layers, 133,047,848 parameters."""
    return _vgg("vgg13", False, num_classes, in_channels, dropout, small_input)


@register_model(paper_params=138_357_544, **_TEST)
def vgg16(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False) -> VGG:
    """VGG-16 (configuration D): 13 convolutions + 3 dense layers, 138,357,544 parameters.

    Example:
        >>> sum(isinstance(m, nn.Conv2d) for m in vgg16(small_input=True).modules())
        13
    """
    return _vgg("vgg16", False, num_classes, in_channels, dropout, small_input)


@register_model(paper_params=143_667_240, **_TEST)
def vgg19(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False) -> VGG:
    """VGG-19 (configuration E): 16 convolutions + 3 dense layers, 143,667,240 parameters."""
    return _vgg("vgg19", False, num_classes, in_channels, dropout, small_input)


@register_model(paper_params=132_868_840, **_TEST)
def vgg11_bn(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False) -> VGG:
    """VGG-11 with batch normalisation after each convolution, 132,868,840 parameters."""
    return _vgg("vgg11", True, num_classes, in_channels, dropout, small_input)


@register_model(paper_params=133_053_736, **_TEST)
def vgg13_bn(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False) -> VGG:
    """VGG-13 with batch normalisation after each convolution, 133,053,736 parameters."""
    return _vgg("vgg13", True, num_classes, in_channels, dropout, small_input)


@register_model(paper_params=138_365_992, **_TEST)
def vgg16_bn(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False) -> VGG:
    """VGG-16 with batch normalisation after each convolution, 138,365,992 parameters."""
    return _vgg("vgg16", True, num_classes, in_channels, dropout, small_input)


@register_model(paper_params=143_678_248, **_TEST)
def vgg19_bn(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False) -> VGG:
    """VGG-19 with batch normalisation after each convolution, 143,678,248 parameters."""
    return _vgg("vgg19", True, num_classes, in_channels, dropout, small_input)


# A narrow VGG for 32×32 images: the feature network tujie pretrains on CIFAR-10 for style transfer
# (src/tujie/style/), where no ImageNet VGG can be downloaded. Four blocks as VGG's first four, a quarter the width.
CONFIGS["vgg_mini"] = [32, 32, "M", 64, 64, "M", 128, 128, "M", 256, 256, "M"]


@register_model(example_input=(3, 32, 32), output_shape=(10,), test_kwargs={"num_classes": 10})
def vgg_mini(num_classes: int = 10, in_channels: int = 3, batch_norm: bool = False) -> VGG:
    """A small VGG (8 convolutions in 4 blocks of 32, 64, 128, 256 channels, one dense layer), 1,174,826 parameters.

    Not in the paper: the VGG-style feature network of tujie's style transfer, trained on CIFAR-10.

    Example:
        >>> vgg_mini()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return VGG(CONFIGS["vgg_mini"], num_classes, in_channels, batch_norm, small_input=True, model_name="vgg_mini")
