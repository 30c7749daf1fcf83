"""Loss functions by name. Any `torch.nn` loss module or callable `(output, target) -> loss` works too.

| name                                   | for                       | model output      | target            |
|----------------------------------------|---------------------------|-------------------|-------------------|
| cross_entropy (sparse_categorical_...) | multi-class               | logits (N, K)     | class ids (N,)    |
| bce                                    | binary, probabilities     | p in (0,1) (N, 1) | 0/1 floats (N, 1) |
| bce_with_logits                        | binary, logits            | logits (N, 1)     | 0/1 floats (N, 1) |
| mse, mae (l1), smooth_l1 (huber)       | regression                | values            | values            |
| hinge                                  | binary SVM-style margin   | scores (N,)       | -1/+1 or 0/1      |

Keras' `sparse_categorical_crossentropy` on a softmax output equals PyTorch's cross-entropy
on logits: the softmax lives inside the loss, so the last layer has no activation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, closest


class HingeLoss(nn.Module):
    """Mean hinge loss `max(0, 1 - y * score)`; 0/1 targets are mapped to -1/+1.

    Example:
        >>> HingeLoss()(torch.tensor([2.0, -0.5]), torch.tensor([1.0, 0.0])).item()
        0.25
    """

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.to(output.dtype).reshape(output.shape)
        target = torch.where(target > 0, 1.0, -1.0)  # 0/1 or -1/+1 labels both work
        return F.relu(1 - target * output).mean()


class CrossEntropy(nn.CrossEntropyLoss):
    """`nn.CrossEntropyLoss` that also takes (N, 1) class-id targets, as Keras' sparse labels often are."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.ndim == output.ndim and target.shape[-1] == 1 and output.shape[-1] != 1:
            target = target.squeeze(-1)
        return F.cross_entropy(output, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class _BinaryTargets:
    """Binary losses that also take (N,) integer 0/1 labels, as scikit-learn's datasets give them."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.shape != output.shape or not target.is_floating_point():
            target = target.reshape(output.shape).to(output.dtype)  # (N,) 0/1 labels for an (N, 1) output
        return super().forward(output, target)


class BinaryCrossEntropy(_BinaryTargets, nn.BCELoss):
    """`nn.BCELoss` on probabilities that also takes (N,) integer 0/1 labels."""


class BinaryCrossEntropyWithLogits(_BinaryTargets, nn.BCEWithLogitsLoss):
    """`nn.BCEWithLogitsLoss` that also takes (N,) integer 0/1 labels.

    Example:
        >>> round(BinaryCrossEntropyWithLogits()(torch.zeros(2, 1), torch.tensor([0, 1])).item(), 4)  # log 2
        0.6931
    """


LOSSES = {
    "cross_entropy": CrossEntropy,
    "sparse_categorical_crossentropy": CrossEntropy,
    "categorical_crossentropy": CrossEntropy,  # torch's cross-entropy also takes one-hot/probability targets
    "bce": BinaryCrossEntropy,
    "binary_crossentropy": BinaryCrossEntropy,
    "bce_with_logits": BinaryCrossEntropyWithLogits,
    "mse": nn.MSELoss,
    "mean_squared_error": nn.MSELoss,
    "mae": nn.L1Loss,
    "l1": nn.L1Loss,
    "smooth_l1": nn.SmoothL1Loss,
    "huber": nn.HuberLoss,
    "hinge": HingeLoss,
    "nll": nn.NLLLoss,
}


def get_loss(loss, **kwargs):
    """Return a loss module for a name, or the loss itself if it is already a module/callable.

    Example:
        >>> get_loss("cross_entropy", label_smoothing=0.1)
        CrossEntropy()
    """
    if loss is None or callable(loss):
        return loss
    key = str(loss).lower().replace("-", "_")
    if key not in LOSSES:
        raise ConfigError(f"Unknown loss {loss!r}. {closest(key, LOSSES)}", expected=f"one of {', '.join(LOSSES)}, or a torch loss",
                          received=f"loss={loss!r}", fix="Pass a name from the list, or any nn.Module loss object.")
    return LOSSES[key](**kwargs)


def loss_kind(loss) -> str:
    """What a loss implies about the task: 'multiclass', 'binary_logits', 'binary_probs', 'regression' or 'other'."""
    if isinstance(loss, (nn.CrossEntropyLoss, nn.NLLLoss)):
        return "multiclass"
    if isinstance(loss, nn.BCEWithLogitsLoss):
        return "binary_logits"
    if isinstance(loss, nn.BCELoss):
        return "binary_probs"
    if isinstance(loss, (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss)):
        return "regression"
    if isinstance(loss, HingeLoss):
        return "binary_logits"
    return "other"
