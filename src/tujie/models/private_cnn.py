"""The small tanh CNN used for differentially private training on MNIST (Papernot et al., AAAI 2021,
"Tempered Sigmoid Activations for Deep Learning with Differential Privacy"; opacus' MNIST example).

Plain torch layers (`nn.Conv2d`, `nn.Linear`, `nn.GroupNorm`) so that opacus computes every
per-sample gradient with its fast hooks. Bounded activations (tanh) keep the clipped gradients
informative under noise. `norm="batch"` adds batch norm, which DP-SGD cannot use (it mixes the
samples of a batch): `tujie.trust.privacy.check_private` refuses it and names the layers;
`norm="group"` is the private replacement.
"""

from __future__ import annotations

from torch import nn

from ..errors import ConfigError
from ._registry import register_model

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def _norm(kind: str | None, channels: int) -> list[nn.Module]:
    if kind is None:
        return []
    if kind == "batch":
        return [nn.BatchNorm2d(channels)]
    return [nn.GroupNorm(min(8, channels), channels)]


@register_model(example_input=(1, 28, 28), output_shape=(10,))
def dp_cnn(num_classes: int = 10, in_channels: int = 1, activation: str = "tanh", norm: str | None = None) -> nn.Sequential:
    """Conv 16 8×8/2 → MaxPool 2/1 → Conv 32 4×4/2 → MaxPool 2/1 → Dense 32 → logits (26,010 weights for MNIST).

    Args:
        num_classes: output logits.
        in_channels: 1 for MNIST-like 28×28 images.
        activation: "tanh" (the paper's choice under DP) or "relu".
        norm: None, "group" (GroupNorm, private) or "batch" (BatchNorm, refused by DP-SGD).

    Input shape: (batch, in_channels, 28, 28). Output shape: (batch, num_classes).

    Example:
        >>> import torch
        >>> dp_cnn()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """
    if activation not in _ACTIVATIONS or norm not in (None, "group", "batch"):
        raise ConfigError("dp_cnn got an unknown activation or norm.", expected="activation tanh|relu, norm null|group|batch",
                          received=f"activation={activation!r}, norm={norm!r}", fix="Set model.activation and model.norm to one of these.")
    act = _ACTIVATIONS[activation]
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 8, stride=2, padding=3), *_norm(norm, 16), act(),  # (B, 16, 14, 14)
        nn.MaxPool2d(2, 1),                                                           # (B, 16, 13, 13)
        nn.Conv2d(16, 32, 4, stride=2), *_norm(norm, 32), act(),                      # (B, 32, 5, 5)
        nn.MaxPool2d(2, 1),                                                           # (B, 32, 4, 4)
        nn.Flatten(),                                                                 # (B, 512)
        nn.Linear(32 * 4 * 4, 32), act(),                                             # (B, 32)
        nn.Linear(32, num_classes))                                                   # (B, num_classes)
