"""A small one-stage object detector in the style of CenterNet (Zhou, Wang & Krähenbühl, 2019,
"Objects as Points").

Why CenterNet: it needs no anchors, no anchor-matching rules and (in the paper) no NMS. Each object
is the peak of a per-class heatmap at its box centre; the network also regresses, at that cell,
the box's width and height and the sub-cell offset of the centre. Training is three dense losses
(a focal loss on the heatmaps, L1 on size and offset at the centres), decoding is a 3x3 max-pool
to find the peaks. That is the whole detector, small enough to read in one sitting and to train
on a CPU. (tujie.detection.centernet holds the targets, the loss and the decoding.)

The network: a small encoder at strides 2, 4, 8, 16 (conv-BN-ReLU, channel width w, 2w, 3w) and an
FPN-style top-down path back to stride 4 (1x1 laterals added to the finer maps, a 3x3 conv to
smooth), then one shared 3x3 conv and three 1x1 heads on the stride-4 map (the paper gives each head
its own 3x3 conv; sharing it costs nothing measurable here and a third of the time). A 128x128 canvas gives 32x32 heatmaps. The receptive field of
a stride-4 cell is about 120 pixels, enough to see a whole 56-pixel digit from its centre.

Variants: `centernet_digits` (w=32, ten digit classes, grey input; 355,710 parameters).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._common import check_positive
from ._registry import register_model

HEATMAP_PRIOR = 0.01  # the heatmap's starting probability (the focal-loss paper's prior): the loss starts small


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv → BatchNorm → ReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class CenterNet(nn.Module):
    """Heatmaps of box centres per class, box sizes and centre offsets, on a stride-4 grid.

    Args:
        num_classes: object classes (one heatmap each).
        in_channels: image channels (1 for grey canvases).
        width: channels of the first encoder stage (then 2x, 3x).

    Input shape: (B, in_channels, H, W), H and W multiples of 16.
    Output: a dict of
        heatmap: (B, num_classes, H/4, W/4) logits (sigmoid: the probability that a cell is a centre);
        size: (B, 2, H/4, W/4) box width and height in grid cells (multiply by 4 for pixels);
        offset: (B, 2, H/4, W/4) the centre's x, y offset inside its cell, in cells.

    Example:
        >>> out = CenterNet(num_classes=10, width=8)(torch.zeros(2, 1, 64, 64))
        >>> out["heatmap"].shape, out["size"].shape
        (torch.Size([2, 10, 16, 16]), torch.Size([2, 2, 16, 16]))
    """

    stride = 4

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 32):
        super().__init__()
        check_positive("centernet", num_classes=num_classes, in_channels=in_channels, width=width)
        w = width
        self.num_classes = num_classes
        self.stem = _conv(in_channels, w // 2, stride=2)                        # stride 2
        self.stage4 = nn.Sequential(_conv(w // 2, w, stride=2), _conv(w, w))    # stride 4
        self.stage8 = nn.Sequential(_conv(w, 2 * w, stride=2), _conv(2 * w, 2 * w))
        self.stage16 = nn.Sequential(_conv(2 * w, 3 * w, stride=2), _conv(3 * w, 3 * w), _conv(3 * w, 3 * w))
        # FPN-style top-down path: a 1x1 lateral brings the coarser map to the finer one's width, then add and smooth
        self.lateral16 = nn.Conv2d(3 * w, 2 * w, 1)
        self.smooth8 = _conv(2 * w, 2 * w)
        self.lateral8 = nn.Conv2d(2 * w, w, 1)
        self.smooth4 = _conv(w, w)
        self.trunk = nn.Sequential(nn.Conv2d(w, w, 3, padding=1), nn.ReLU(inplace=True))  # shared by the three heads
        self.heatmap = nn.Conv2d(w, num_classes, 1)
        self.size = nn.Conv2d(w, 2, 1)
        self.offset = nn.Conv2d(w, 2, 1)
        nn.init.constant_(self.heatmap.bias, -math.log((1 - HEATMAP_PRIOR) / HEATMAP_PRIOR))

    def forward(self, x: torch.Tensor) -> dict:
        s4 = self.stage4(self.stem(x))                                                   # (B, w, H/4, W/4)
        s8 = self.stage8(s4)                                                             # (B, 2w, H/8, W/8)
        s16 = self.stage16(s8)                                                           # (B, 3w, H/16, W/16)
        u8 = self.smooth8(s8 + F.interpolate(self.lateral16(s16), scale_factor=2.0, mode="nearest"))  # (B, 2w, H/8, W/8)
        u4 = self.smooth4(s4 + F.interpolate(self.lateral8(u8), scale_factor=2.0, mode="nearest"))    # (B, w, H/4, W/4)
        features = self.trunk(u4)                                                        # (B, w, H/4, W/4)
        return {"heatmap": self.heatmap(features),  # (B, C, H/4, W/4) logits
                "size": self.size(features),        # (B, 2, H/4, W/4)
                "offset": self.offset(features)}    # (B, 2, H/4, W/4)


@register_model(example_input=(1, 32, 32), output_shape=(10, 8, 8), test_kwargs={"width": 8})
def centernet_digits(num_classes: int = 10, in_channels: int = 1, width: int = 32) -> CenterNet:
    """CenterNet-style one-stage detector for the digit canvases (stride 4; heatmap, size and offset heads).

    Example:
        >>> centernet_digits(width=8)(torch.zeros(1, 1, 32, 32))["offset"].shape
        torch.Size([1, 2, 8, 8])
    """
    return CenterNet(num_classes=num_classes, in_channels=in_channels, width=width)
