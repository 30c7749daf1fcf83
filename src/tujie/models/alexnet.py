"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep convolutional neural networks").

The single-GPU form that torchvision and timm use (from Krizhevsky's 2014 "one weird trick"
paper): the two GPU towers are merged, so the convolutions have 64/192/384/256/256 filters
instead of 2×48/2×128/..., there is no local response normalisation, and an adaptive average
pool before the classifier lets any input of at least 63×63 through (61,100,840 parameters at
1000 classes). PyTorch's default initialisation is kept: the paper's N(0, 0.01) weights with
unit biases only train with its exact learning-rate schedule.

`alexnet_cifar` is the same five-convolution, three-dense network resized for 32×32 images.
"""

from __future__ import annotations

import torch
from torch import nn

from ._common import check_image_input, check_positive
from ._registry import register_model


class AlexNet(nn.Module):
    """Five convolutions (ReLU, three max pools) and three dense layers with dropout.

    Args:
        num_classes: outputs of the last layer.
        in_channels: image channels.
        dropout: dropout probability before each of the two hidden dense layers (0.5 in the paper).
        small_input: for 32×32 images: a 3×3 stride-1 first convolution instead of 11×11 stride 4,
            2×2 max pools, and a 4×4 map (256·4·4 = 4096 features) before the classifier.
        hidden: width of the two hidden dense layers (4096 in the paper).

    Input shape: (batch, in_channels, H, W) with H, W >= 63 (>= 8 with small_input).
    Output shape: (batch, num_classes), logits.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False,
                 hidden: int = 4096, model_name: str = "alexnet"):
        super().__init__()
        check_positive(model_name, num_classes=num_classes, in_channels=in_channels, hidden=hidden)
        self.model_name, self.in_channels = model_name, in_channels
        if small_input:  # 32×32: keep the resolution for the first stages (sizes for 32×32: 32, 16, 8, 4)
            self.min_size, pooled, pool = 8, 4, (2, 2)
            stem = nn.Conv2d(in_channels, 64, kernel_size=3, padding=1)
        else:  # the paper's 224×224 (sizes in the comments); 63 is the smallest input the three pools accept
            self.min_size, pooled, pool = 63, 6, (3, 2)
            stem = nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2)
        self.features = nn.Sequential(
            stem, nn.ReLU(inplace=True),                                           # (B, 64, 55, 55)  (sizes at 224×224)
            nn.MaxPool2d(*pool),                                                   # (B, 64, 27, 27)
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),   # (B, 192, 27, 27)
            nn.MaxPool2d(*pool),                                                   # (B, 192, 13, 13)
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # (B, 384, 13, 13)
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # (B, 256, 13, 13)
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # (B, 256, 13, 13)
            nn.MaxPool2d(*pool),                                                   # (B, 256, 6, 6)
        )
        self.avgpool = nn.AdaptiveAvgPool2d(pooled)                                # (B, 256, 6, 6) whatever the input size
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * pooled * pooled, hidden), nn.ReLU(inplace=True),  # (B, 4096)
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),                 # (B, 4096)
            nn.Linear(hidden, num_classes),                                                         # (B, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input(self.model_name, x, self.in_channels, self.min_size)
        x = self.avgpool(self.features(x))                 # (B, 256, 6, 6)
        return self.classifier(torch.flatten(x, 1))         # (B, num_classes)


@register_model(example_input=(3, 64, 64), output_shape=(10,), test_kwargs={"num_classes": 10},
                paper_params=61_100_840, paper_kwargs={"num_classes": 1000})
def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False) -> AlexNet:
    """AlexNet (Krizhevsky 2012), single-GPU form: 5 convolutions + 3 dense layers, 61,100,840 parameters.

    Example:
        >>> alexnet(num_classes=10)(torch.zeros(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """
    return AlexNet(num_classes, in_channels, dropout, small_input)


@register_model(example_input=(3, 32, 32), output_shape=(10,))
def alexnet_cifar(num_classes: int = 10, in_channels: int = 3, dropout: float = 0.5, hidden: int = 1024) -> AlexNet:
    """AlexNet for 32×32 images: 3×3 stem, 2×2 pools, dense 4096 → 1024 → 1024 → classes (7,703,370 parameters).

    Example:
        >>> alexnet_cifar()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return AlexNet(num_classes, in_channels, dropout, small_input=True, hidden=hidden, model_name="alexnet_cifar")
