"""U-Net for per-pixel classification (Ronneberger, Fischer & Brox, MICCAI 2015, "U-Net: Convolutional
Networks for Biomedical Image Segmentation").

An encoder of `depth` stages (two 3×3 convolutions, then a 2×2 max-pool that halves the size and a
doubling of the channels), a bottleneck, and a decoder that mirrors it: each stage doubles the size
(bilinear upsampling and a 1×1 convolution, or a 2×2 transposed convolution as in the paper), joins
the encoder's map of the same size (the skip connection: where the encoder still knew the exact
position of every edge) and applies two 3×3 convolutions. A 1×1 convolution gives one logit per
class per pixel. Differences from the paper, for small images: padded convolutions (the output has
the input's size, no cropping), batch normalisation after each convolution, 16 base channels
instead of 64 and 3 stages instead of 4 (≈ 0.47 M parameters instead of ≈ 31 M).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ShapeError
from ._common import check_image_input, check_positive
from ._registry import register_model


class DoubleConv(nn.Sequential):
    """(3×3 convolution → batch norm → ReLU) twice; the size is kept (padding 1).

    Input shape: (batch, in_channels, H, W). Output shape: (batch, out_channels, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
                         nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class Up(nn.Module):
    """Double the size, join the encoder's map of that size (channels concatenated), two convolutions.

    Input shapes: x (batch, in_channels, H, W), skip (batch, in_channels // 2, 2H, 2W).
    Output shape: (batch, in_channels // 2, 2H, 2W).
    """

    def __init__(self, in_channels: int, upsample: str = "bilinear"):
        super().__init__()
        out = in_channels // 2
        if upsample == "transposed":  # the paper's "up-convolution": learned 2×2 upsampling that halves the channels
            self.up = nn.ConvTranspose2d(in_channels, out, 2, stride=2)
        else:  # bilinear: no checkerboard artefacts, fewer weights; a 1×1 convolution halves the channels
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), nn.Conv2d(in_channels, out, 1))
        self.conv = DoubleConv(2 * out, out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)  # (batch, in/2, 2H, 2W)
        return self.conv(torch.cat([skip, x], dim=1))  # (batch, in, 2H, 2W) → (batch, in/2, 2H, 2W)


class UNet(nn.Module):
    """The U-Net: per-pixel class logits of the input's size.

    Args:
        num_classes: classes per pixel (the background counts as one).
        in_channels: image channels (1 for grayscale).
        base: channels of the first stage; each stage down doubles them.
        depth: pooling stages; the height and width must be divisible by 2**depth.
        upsample: "bilinear" (upsampling + 1×1 convolution) or "transposed" (the paper's 2×2 up-convolution).

    Input shape: (batch, in_channels, H, W), H and W multiples of 2**depth.
    Output shape: (batch, num_classes, H, W): logits; `argmax(1)` is the predicted class map (batch, H, W).

    Example:
        >>> model = UNet(num_classes=3, base=4, depth=2)
        >>> model(torch.randn(2, 1, 32, 32)).shape
        torch.Size([2, 3, 32, 32])
    """

    def __init__(self, num_classes: int = 11, in_channels: int = 1, base: int = 16, depth: int = 3, upsample: str = "bilinear"):
        super().__init__()
        check_positive("unet", num_classes=num_classes, in_channels=in_channels, base=base, depth=depth)
        if upsample not in ("bilinear", "transposed"):
            from ..errors import ConfigError

            raise ConfigError("Invalid value received for argument `upsample` of model 'unet'.", expected='"bilinear" or "transposed"',
                              received=f"upsample={upsample!r}", fix='Pass upsample="bilinear" (default) or "transposed".')
        self.in_channels, self.depth = in_channels, depth
        widths = [base * 2 ** i for i in range(depth + 1)]  # e.g. 16, 32, 64, 128 (the last: the bottleneck)
        self.stem = DoubleConv(in_channels, widths[0])
        self.down = nn.ModuleList(DoubleConv(widths[i], widths[i + 1]) for i in range(depth))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(Up(widths[i + 1], upsample) for i in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input("unet", x, self.in_channels)
        step = 2 ** self.depth
        if x.shape[-2] % step or x.shape[-1] % step:
            raise ShapeError("Model 'unet' received an image whose size it cannot halve evenly.",
                             expected=f"height and width multiples of {step} (2**depth, depth={self.depth})",
                             received=f"input of shape {tuple(x.shape)}", fix=f"Pad or crop the images to a multiple of {step}.")
        skips = [self.stem(x)]  # (batch, base, H, W)
        for stage in self.down:
            skips.append(stage(self.pool(skips[-1])))  # (batch, base·2^i, H/2^i, W/2^i)
        h = skips.pop()  # the bottleneck: (batch, base·2^depth, H/2^depth, W/2^depth)
        for stage in self.up:
            h = stage(h, skips.pop())  # doubles the size, halves the channels
        return self.head(h)  # (batch, num_classes, H, W)


@register_model(example_input=(1, 32, 32), output_shape=(11, 32, 32), test_kwargs={"base": 4, "depth": 2})
def unet(num_classes: int = 11, in_channels: int = 1, base: int = 16, depth: int = 3, upsample: str = "bilinear") -> UNet:
    """A small U-Net (Ronneberger et al. 2015): base 16 channels, 3 stages, batch norm; 11 classes: background + 10 digits.

    Example:
        >>> unet(base=4, depth=2)(torch.zeros(1, 1, 16, 16)).argmax(1).shape
        torch.Size([1, 16, 16])
    """
    return UNet(num_classes=num_classes, in_channels=in_channels, base=base, depth=depth, upsample=upsample)
