"""The feature network of style transfer: a VGG's convolutions, read out at named layers.

Gatys et al. read VGG-19's ImageNet features. None can be downloaded here, so tujie's recipe
pretrains `vgg_mini` (models/vgg.py: VGG's first four blocks at a quarter of the width) on
CIFAR-10 and reads its layers; a user who has torchvision's VGG-19 weights (a file with
`features.N.weight` keys) passes them as `model.weights` with `model.name: vgg19`, and the
same code reads VGG-19's layers by their paper names (conv4_2 is torchvision's features.21).

Layers are named as in the paper: `conv{block}_{n}`, `relu{block}_{n}`, `pool{block}`. As the
paper advises, max pooling is replaced by average pooling ("improves the gradient flow and one
obtains slightly more appealing results"); `pool="max"` keeps it.

Example:
    >>> from tujie.models.vgg import CONFIGS
    >>> names = layer_names(CONFIGS["vgg19"])
    >>> names.index("conv4_2"), names.index("relu5_1")
    (21, 29)
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError

# what torchvision's ImageNet VGGs expect; tujie's own network records the statistics of its training data
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def layer_names(config: list) -> list[str]:
    """The paper's name of every module of a VGG `features` stack built from `config` (without batch norm).

    Example:
        >>> layer_names([8, "M", 16, 16, "M"])
        ['conv1_1', 'relu1_1', 'pool1', 'conv2_1', 'relu2_1', 'conv2_2', 'relu2_2', 'pool2']
    """
    names, block, n = [], 1, 0
    for item in config:
        if item == "M":
            names.append(f"pool{block}")
            block, n = block + 1, 0
        else:
            n += 1
            names += [f"conv{block}_{n}", f"relu{block}_{n}"]
    return names


def default_layers(config: list) -> tuple[str, list[str]]:
    """Gatys et al.'s choice for a VGG of this shape: content at conv4_2 (else the deepest block's second
    convolution), style at the first ReLU of every block (relu1_1 ... relu5_1).

    Example:
        >>> from tujie.models.vgg import CONFIGS
        >>> default_layers(CONFIGS["vgg_mini"])
        ('relu4_2', ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1'])
    """
    names = layer_names(config)
    style = [n for n in names if n.startswith("relu") and n.endswith("_1")]
    blocks = len(style)
    content = next(n for n in (f"relu{min(blocks, 4)}_2", f"relu{min(blocks, 4)}_1") if n in names)
    return content, style


class FeatureExtractor(nn.Module):
    """A frozen VGG `features` stack that returns the activations of named layers.

    Args:
        features: the `nn.Sequential` of a VGG (Conv2d, ReLU, MaxPool2d; no batch norm).
        config: the VGG config it was built from (names the layers).
        mean, std: the per-channel statistics the network was trained on (images come in [0, 1]).
        pool: "avg" (the paper's advice for synthesis) or "max".

    Input shape: (batch, 3, H, W) in [0, 1].
    Output: {layer name: (batch, C, H', W')} for the asked layers; the stack stops at the deepest one.

    Example:
        >>> from tujie.models.vgg import vgg_mini, CONFIGS
        >>> extractor = FeatureExtractor(vgg_mini().features, CONFIGS["vgg_mini"])
        >>> {k: tuple(v.shape) for k, v in extractor(torch.rand(1, 3, 32, 32), ["relu1_1", "relu3_1"]).items()}
        {'relu1_1': (1, 32, 32, 32), 'relu3_1': (1, 128, 8, 8)}
    """

    def __init__(self, features: nn.Sequential, config: list, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), pool: str = "avg"):
        super().__init__()
        self.names = layer_names(config)
        if len(self.names) != len(features) or any(isinstance(m, nn.BatchNorm2d) for m in features):
            raise ConfigError("The feature network is not a plain VGG stack.", expected="convolutions, ReLUs and pools only, "
                              f"{len(self.names)} modules for this config", received=f"{len(features)} modules",
                              fix="Use a VGG without batch normalisation (vgg_mini, vgg16, vgg19).")
        layers = [nn.AvgPool2d(2, 2) if pool == "avg" and isinstance(m, nn.MaxPool2d) else m for m in features]
        # in-place ReLUs would overwrite a convolution's output we keep (conv4_2)
        self.layers = nn.ModuleList(nn.ReLU() if isinstance(m, nn.ReLU) else m for m in layers)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def check(self, layers) -> None:
        unknown = [n for n in layers if n not in self.names]
        if unknown:
            raise ConfigError(f"This feature network has no layer {', '.join(unknown)}.",
                              expected=f"layers among {', '.join(n for n in self.names if not n.startswith('pool'))}",
                              received=f"layers={list(layers)}", fix="Name layers of the network's blocks (relu1_1, relu2_1 ...).")

    def forward(self, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
        self.check(layers)
        wanted, deepest = set(layers), max(self.names.index(n) for n in layers)
        x = (image - self.mean) / self.std                                    # (B, 3, H, W)
        out = {}
        for name, layer in zip(self.names[: deepest + 1], self.layers):
            x = layer(x)                                                      # (B, C, H', W')
            if name in wanted:
                out[name] = x
        return out


def load_feature_weights(model: nn.Module, source, name: str) -> int:
    """Load a weights file's `features.*` tensors into a VGG (issue 10's loader: torchvision, timm or tujie
    layouts); the classifier may be absent or of another size. Returns the number of tensors loaded.

    Raises:
        ConfigError: some convolution of the model's `features` found no tensor of its shape in the file.

    Example:
        >>> from tujie.models.vgg import vgg_mini
        >>> trained, fresh = vgg_mini(), vgg_mini()
        >>> load_feature_weights(fresh, {k: v for k, v in trained.state_dict().items() if k.startswith("features.")}, "vgg_mini")
        16
        >>> torch.equal(fresh.features[0].weight, trained.features[0].weight)
        True
    """
    from ..models.weights import load_weights_into, resolve_source

    report = load_weights_into(model, resolve_source(source), name=name, partial=True)
    wanted = [k for k in model.state_dict() if k.startswith("features.")]
    missing = [k for k in wanted if k not in report.loaded]
    if missing:
        where = "the state dict" if isinstance(source, dict) else str(source)
        raise ConfigError(f"The weights in {where} do not hold every convolution of {name}'s feature layers.",
                          expected=f"{len(wanted)} tensors features.0.weight ... of {name}'s shapes (torchvision's layout)",
                          received=f"missing or of another shape: {', '.join(missing[:4])}{' …' if len(missing) > 4 else ''}",
                          fix="Give model.name the network the file was saved from (vgg19 for torchvision's VGG-19 file).")
    return len([k for k in report.loaded if k.startswith("features.")])
