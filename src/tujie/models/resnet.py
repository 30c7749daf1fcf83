"""ResNet (He, Zhang, Ren & Sun 2015, "Deep residual learning for image recognition").

Each block learns a residual F(x) added to its input, y = ReLU(F(x) + shortcut(x)), so a deep
stack can fall back to the identity and its gradients reach the first layers.

- ImageNet ResNets (`resnet18/34/50/101`, Table 1): a 7×7/2 convolution and 3×3/2 max pool,
  four stages of `BasicBlock` (two 3×3) or `Bottleneck` (1×1 → 3×3 → 1×1, ×4 expansion) at
  64/128/256/512 base channels, global average pool, one linear layer. Shortcuts are identities,
  with a 1×1 projection where the shape changes (the paper's option B). As in torchvision and
  timm, a bottleneck downsamples in its 3×3 convolution rather than the first 1×1 ("ResNet
  v1.5": same parameters, better accuracy).
- CIFAR ResNets (`resnet20`, `resnet56`, §4.2): a 3×3 convolution, three stages of n basic
  blocks at 16/32/64 channels on 32×32/16×16/8×8 maps (6n + 2 layers), global average pool.
  The shortcut is the paper's option A for CIFAR: identity, with stride-2 subsampling and zero
  padding of the new channels, so no parameters (0.27M and 0.85M as in Table 6); `shortcut="B"`
  uses 1×1 projections instead (272,474 and 855,770 parameters).

Convolutions use He (kaiming) normal initialisation, the paper's own [He et al. 2015b].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ._common import check_image_input, check_positive, kaiming_init
from ._registry import register_model


class PadShortcut(nn.Module):
    """Option A shortcut: subsample by `stride` and zero-pad the channels up to `out_channels` (no parameters).

    Input shape: (batch, in_channels, H, W).
    Output shape: (batch, out_channels, H / stride, W / stride).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.extra, self.stride = out_channels - in_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]                          # (B, C_in, H/s, W/s)
        return F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))  # (B, C_out, H/s, W/s)


def _shortcut(in_channels: int, out_channels: int, stride: int, option: str) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    if option == "A":
        return PadShortcut(in_channels, out_channels, stride)
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with BatchNorm; the first may downsample (stride 2).

    Input shape: (batch, in_channels, H, W).
    Output shape: (batch, channels, H / stride, W / stride).
    """

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, shortcut: str = "B"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = _shortcut(in_channels, channels, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))                # (B, C, H/s, W/s)
        out = self.bn2(self.conv2(out))                          # (B, C, H/s, W/s)
        return torch.relu(out + self.shortcut(x))                # (B, C, H/s, W/s)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (may downsample) → 1×1 expand to 4·channels, each with BatchNorm.

    Input shape: (batch, in_channels, H, W).
    Output shape: (batch, 4 * channels, H / stride, W / stride).
    """

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, shortcut: str = "B"):
        super().__init__()
        out_channels = channels * self.expansion
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = _shortcut(in_channels, out_channels, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))                # (B, C, H, W)
        out = torch.relu(self.bn2(self.conv2(out)))              # (B, C, H/s, W/s)
        out = self.bn3(self.conv3(out))                          # (B, 4C, H/s, W/s)
        return torch.relu(out + self.shortcut(x))                # (B, 4C, H/s, W/s)


class ResNet(nn.Module):
    """A stem, stages of residual blocks (each after the first halves the map), global average pool, linear.

    Args:
        block: `BasicBlock` or `Bottleneck`.
        layers: blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18.
        widths: base channels per stage, e.g. (64, 128, 256, 512); a bottleneck outputs 4× that.
        num_classes: outputs of the last layer.
        in_channels: image channels.
        small_input: the CIFAR stem (3×3 convolution, no pool) instead of the ImageNet one (7×7/2, max pool 3×3/2).
        shortcut: "A" (zero-padding identity) or "B" (1×1 projection) where a block changes shape.
        zero_init_residual: start each block's last BatchNorm at zero, so every block begins as
            the identity (Goyal et al. 2017); off in the paper.

    Input shape: (batch, in_channels, H, W).
    Output shape: (batch, num_classes), logits.
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: list[int], widths=(64, 128, 256, 512),
                 num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, shortcut: str = "B",
                 zero_init_residual: bool = False, model_name: str = "resnet"):
        super().__init__()
        check_positive(model_name, num_classes=num_classes, in_channels=in_channels)
        if shortcut not in ("A", "B"):
            raise ConfigError(f"Invalid value received for argument `shortcut` of model '{model_name}'.",
                              expected='"A" (zero-padding identity) or "B" (1×1 projection)', received=f"shortcut={shortcut!r}",
                              fix='Pass shortcut="A" or shortcut="B".')
        self.model_name, self.in_channels = model_name, in_channels
        width = widths[0]
        if small_input:  # CIFAR, sizes at 32×32
            self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),  # (B, 16, 32, 32)
                                      nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        else:  # ImageNet, sizes at 224×224
            self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False),  # (B, 64, 112, 112)
                                      nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, stride=2, padding=1))                              # (B, 64, 56, 56)
        stages, channels = [], width
        for i, (blocks, stage_width) in enumerate(zip(layers, widths)):
            stage = []
            for j in range(blocks):
                stride = 2 if i > 0 and j == 0 else 1
                stage.append(block(channels, stage_width, stride, shortcut))
                channels = stage_width * block.expansion
            stages.append(nn.Sequential(*stage))
        self.stages = nn.Sequential(*stages)      # ImageNet: (B, 512·expansion, 7, 7); CIFAR: (B, 64, 8, 8)
        self.avgpool = nn.AdaptiveAvgPool2d(1)    # (B, C, 1, 1)
        self.fc = nn.Linear(channels, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        kaiming_init(self, linear_std=None)  # the classifier keeps torch's default, as in the paper's code
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.zeros_(m.bn3.weight if isinstance(m, Bottleneck) else m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input(self.model_name, x, self.in_channels)
        x = self.stages(self.stem(x))                          # (B, C, H/32, W/32)
        return self.fc(torch.flatten(self.avgpool(x), 1))       # (B, num_classes)


def _resnet(name, block, layers, num_classes, in_channels, zero_init_residual) -> ResNet:
    return ResNet(block, layers, num_classes=num_classes, in_channels=in_channels, zero_init_residual=zero_init_residual,
                  model_name=name)


_IMAGENET = {"example_input": (3, 32, 32), "output_shape": (10,), "test_kwargs": {"num_classes": 10},
             "paper_kwargs": {"num_classes": 1000}}


@register_model(paper_params=11_689_512, **_IMAGENET)
def resnet18(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
    """ResNet-18: basic blocks [2, 2, 2, 2], 11,689,512 parameters.

    Example:
        >>> resnet18(num_classes=10)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], num_classes, in_channels, zero_init_residual)


@register_model(paper_params=21_797_672, **_IMAGENET)
def resnet34(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
    """ResNet-34: basic blocks [3, 4, 6, 3], 21,797,672 parameters."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual)


@register_model(paper_params=25_557_032, **_IMAGENET)
def resnet50(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
    """ResNet-50: bottleneck blocks [3, 4, 6, 3], 25,557,032 parameters.

    Example:
        >>> sum(isinstance(m, Bottleneck) for m in resnet50().modules())
        16
    """
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual)


@register_model(paper_params=44_549_160, **_IMAGENET)
def resnet101(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
    """ResNet-101: bottleneck blocks [3, 4, 23, 3], 44,549,160 parameters."""
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], num_classes, in_channels, zero_init_residual)


def _cifar_resnet(name: str, depth: int, num_classes: int, in_channels: int, shortcut: str) -> ResNet:
    n = (depth - 2) // 6  # 6n + 2 layers
    return ResNet(BasicBlock, [n, n, n], widths=(16, 32, 64), num_classes=num_classes, in_channels=in_channels,
                  small_input=True, shortcut=shortcut, model_name=name)


# Table 6 of the paper states 0.27M and 0.85M; option A gives 269,722 and 853,018, option B 272,474 and 855,770
@register_model(example_input=(3, 32, 32), output_shape=(10,), paper_params=270_000, tolerance=0.02)
def resnet20(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> ResNet:
    """ResNet-20 for CIFAR-10 (§4.2, n = 3): 0.27M parameters (269,722 with option A shortcuts).

    Example:
        >>> resnet20()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return _cifar_resnet("resnet20", 20, num_classes, in_channels, shortcut)


@register_model(example_input=(3, 32, 32), output_shape=(10,), paper_params=850_000, tolerance=0.02)
def resnet56(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> ResNet:
    """ResNet-56 for CIFAR-10 (§4.2, n = 9): 0.85M parameters (853,018 with option A shortcuts)."""
    return _cifar_resnet("resnet56", 56, num_classes, in_channels, shortcut)
