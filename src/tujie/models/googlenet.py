"""GoogLeNet, Inception v1 (Szegedy et al. 2014, "Going deeper with convolutions").

The paper's layout (Table 1, Figure 3): a 7×7 / 1×1 / 3×3 convolution stem with local response
normalisation, nine Inception modules (3a-b, 4a-e, 5a-b) whose four branches are 1×1, 1×1→3×3,
1×1→5×5 and 3×3 max pool→1×1, global average pooling, dropout 0.4 and one linear layer; max
pools round up, as in the paper's Caffe model, so a 224×224 input gives the table's
112/56/28/14/7 maps. Two auxiliary classifiers (on 4a and 4d) are optional.

Parameter count, and how it differs from torchvision's `googlenet` (6,624,904): the paper's
Table 1 lists each layer's weights in units of 1024 (the 1024→1000 classifier is "1000K");
they sum to 6,797.7K = 6,960,845 weights, the registered paper count. This implementation has
6,998,552 parameters (+0.5%): the biases, the first convolution (7·7·3·64 = 9,408 weights,
printed as 2.7K) and two rows of the table that disagree with their own filter counts (4c, 5a).
torchvision's model is smaller because its "5×5" branches use 3×3 kernels (a known slip kept
for its pretrained weights, pytorch/vision#906: 380,928 weights fewer) and BatchNorm instead of
LRN and biases; `batch_norm=True` gives that BatchNorm form with the paper's 5×5 kernels
(7,005,832 parameters).
"""

from __future__ import annotations

import torch
from torch import nn

from ._common import check_image_input, check_positive
from ._registry import register_model


class ConvReLU(nn.Sequential):
    """Convolution → ReLU, or convolution (no bias) → BatchNorm → ReLU with `batch_norm`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, batch_norm: bool = False):
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=not batch_norm)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels, eps=0.001))
        super().__init__(*layers, nn.ReLU(inplace=True))


class Inception(nn.Module):
    """The Inception module: four parallel branches concatenated along the channels.

    Args:
        in_channels: input channels.
        ch1x1: 1×1 branch.
        ch3x3_reduce, ch3x3: 1×1 reduction then 3×3 branch.
        ch5x5_reduce, ch5x5: 1×1 reduction then 5×5 branch.
        pool_proj: 1×1 projection after the 3×3 max pool.

    Input shape: (batch, in_channels, H, W).
    Output shape: (batch, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3_reduce: int, ch3x3: int, ch5x5_reduce: int, ch5x5: int,
                 pool_proj: int, batch_norm: bool = False):
        super().__init__()
        self.branch1 = ConvReLU(in_channels, ch1x1, 1, batch_norm=batch_norm)
        self.branch2 = nn.Sequential(ConvReLU(in_channels, ch3x3_reduce, 1, batch_norm=batch_norm),
                                     ConvReLU(ch3x3_reduce, ch3x3, 3, batch_norm=batch_norm))
        self.branch3 = nn.Sequential(ConvReLU(in_channels, ch5x5_reduce, 1, batch_norm=batch_norm),
                                     ConvReLU(ch5x5_reduce, ch5x5, 5, batch_norm=batch_norm))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     ConvReLU(in_channels, pool_proj, 1, batch_norm=batch_norm))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]  # (B, ch_i, H, W) each
        return torch.cat(branches, dim=1)                                                # (B, out_channels, H, W)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 5×5/3 average pool (here adaptive, to 4×4) → 1×1 conv 128 → FC 1024 → dropout 0.7 → FC.

    Input shape: (batch, in_channels, H, W) (14×14 at 224×224 input).
    Output shape: (batch, num_classes).
    """

    def __init__(self, in_channels: int, num_classes: int, batch_norm: bool = False, dropout: float = 0.7):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(4)                          # (B, C, 4, 4)
        self.conv = ConvReLU(in_channels, 128, 1, batch_norm=batch_norm)  # (B, 128, 4, 4)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)                      # (B, 1024)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(1024, num_classes)                      # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(self.pool(x)), 1)                # (B, 2048)
        return self.fc2(self.dropout(torch.relu(self.fc1(x))))       # (B, num_classes)


class GoogLeNet(nn.Module):
    """GoogLeNet: stem, Inception 3a-b, 4a-e, 5a-b with max pools between, global average pool, dropout, linear.

    Args:
        num_classes: outputs of the classifier.
        in_channels: image channels.
        aux_logits: add the two auxiliary classifiers (on 4a and 4d). In training mode the
            forward pass then returns (logits, aux1, aux2), so a loss can weight them (0.3 in
            the paper); in eval mode it returns the logits only.
        batch_norm: BatchNorm after every convolution instead of local response normalisation
            and biases (as torchvision and Inception v2 do).
        dropout: dropout probability before the classifier (0.4 in the paper).

    Input shape: (batch, in_channels, H, W) with H, W >= 31.
    Output shape: (batch, num_classes), or a tuple of three such in training with aux_logits.
    """

    min_size = 31  # the smallest input the four max pools accept

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False, batch_norm: bool = False,
                 dropout: float = 0.4, model_name: str = "googlenet"):
        super().__init__()
        check_positive(model_name, num_classes=num_classes, in_channels=in_channels)
        self.model_name, self.in_channels, self.aux_logits = model_name, in_channels, aux_logits
        bn = batch_norm
        norm = nn.Identity if batch_norm else (lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75))
        self.stem = nn.Sequential(                                      # sizes at 224×224
            ConvReLU(in_channels, 64, 7, stride=2, batch_norm=bn),      # (B, 64, 112, 112)
            nn.MaxPool2d(3, stride=2, ceil_mode=True), norm(),          # (B, 64, 56, 56)
            ConvReLU(64, 64, 1, batch_norm=bn),                         # (B, 64, 56, 56)
            ConvReLU(64, 192, 3, batch_norm=bn), norm(),                # (B, 192, 56, 56)
            nn.MaxPool2d(3, stride=2, ceil_mode=True),                  # (B, 192, 28, 28)
        )
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32, bn)      # (B, 256, 28, 28)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64, bn)    # (B, 480, 28, 28)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)           # (B, 480, 14, 14)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64, bn)     # (B, 512, 14, 14)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64, bn)    # (B, 512, 14, 14)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64, bn)    # (B, 512, 14, 14)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64, bn)    # (B, 528, 14, 14)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128, bn)  # (B, 832, 14, 14)
        self.maxpool4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)           # (B, 832, 7, 7)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128, bn)  # (B, 832, 7, 7)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128, bn)  # (B, 1024, 7, 7)
        self.avgpool = nn.AdaptiveAvgPool2d(1)                              # (B, 1024, 1, 1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)                              # (B, num_classes)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, bn)                  # on 4a
            self.aux2 = InceptionAux(528, num_classes, bn)                  # on 4d
        self._init_weights()

    def _init_weights(self) -> None:
        # Glorot (xavier) initialisation, as in the BVLC reference Caffe GoogLeNet
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        check_image_input(self.model_name, x, self.in_channels, self.min_size)
        x = self.maxpool3(self.inception3b(self.inception3a(self.stem(x))))  # (B, 480, 14, 14)
        x = self.inception4a(x)                                               # (B, 512, 14, 14)
        with_aux = self.aux_logits and self.training
        aux1 = self.aux1(x) if with_aux else None                             # (B, num_classes)
        x = self.inception4d(self.inception4c(self.inception4b(x)))           # (B, 528, 14, 14)
        aux2 = self.aux2(x) if with_aux else None                             # (B, num_classes)
        x = self.maxpool4(self.inception4e(x))                                # (B, 832, 7, 7)
        x = self.inception5b(self.inception5a(x))                             # (B, 1024, 7, 7)
        x = torch.flatten(self.avgpool(x), 1)                                 # (B, 1024)
        logits = self.fc(self.dropout(x))                                     # (B, num_classes)
        return (logits, aux1, aux2) if with_aux else logits


@register_model(example_input=(3, 32, 32), output_shape=(10,), test_kwargs={"num_classes": 10},
                paper_params=6_960_845, paper_kwargs={"num_classes": 1000})
def googlenet(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False, batch_norm: bool = False,
              dropout: float = 0.4) -> GoogLeNet:
    """GoogLeNet / Inception v1 (Szegedy 2014), the paper's layout: 6,998,552 parameters without the auxiliary heads.

    The registered paper count is Table 1's params column (6,797.7K in units of 1024); see the module docstring.

    Example:
        >>> model = googlenet(num_classes=10, aux_logits=True)
        >>> [t.shape for t in model(torch.zeros(2, 3, 32, 32))]  # training mode: logits, aux1, aux2
        [torch.Size([2, 10]), torch.Size([2, 10]), torch.Size([2, 10])]
        >>> model.eval()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return GoogLeNet(num_classes, in_channels, aux_logits, batch_norm, dropout)
