"""Loss functions by name. Any `torch.nn` loss module or callable `(output, target) -> loss` works too.

| name                                   | for                       | model output      | target            |
|----------------------------------------|---------------------------|-------------------|-------------------|
| cross_entropy                          | multi-class               | logits (N, K)     | class ids (N,)    |
| sparse_categorical_crossentropy        | multi-class (Keras)       | probabilities     | class ids (N,)    |
| categorical_crossentropy               | multi-class (Keras)       | probabilities     | one-hot/soft (N, K) |
| bce, binary_crossentropy               | binary, probabilities     | p in (0,1) (N, 1) | 0/1 floats (N, 1) |
| bce_with_logits                        | binary, logits            | logits (N, 1)     | 0/1 floats (N, 1) |
| mse, mae (l1), smooth_l1 (huber)       | regression                | values            | values            |
| hinge                                  | binary SVM-style margin   | scores (N,)       | -1/+1 or 0/1      |

The Keras names mean what they mean in Keras: `from_logits=False` by default, so the model
ends in a softmax (or sigmoid) and the loss reads probabilities: the log of the clamped
probabilities, then the negative log-likelihood (Keras' own computation). `from_logits=True`
(`SparseCategoricalCrossentropy(from_logits=True)`) is PyTorch's cross-entropy on logits: the
softmax lives inside the loss, so the last layer has no activation. A probability loss that is
handed values outside [0, 1] on its first batch stops with an error rather than train silently
wrong. Like every torch loss, these take `(output, target)`, not Keras' `(y_true, y_pred)`.
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


EPSILON = 1e-7  # Keras' backend epsilon: probabilities are clamped to [EPSILON, 1 - EPSILON] before the log


def _check_probabilities(loss, output: torch.Tensor) -> None:
    """Refuse, on the first batch only (one sync), outputs that cannot be probabilities: logits given to a
    `from_logits=False` loss would otherwise train silently wrong."""
    if loss._checked:
        return
    loss._checked = True
    if output.numel() and bool((output < 0).any() | (output > 1).any()):
        name = type(loss).__name__
        raise ConfigError(f"{name} received outputs outside [0, 1], but from_logits=False reads them as probabilities.",
                          expected="probabilities (a softmax or sigmoid last layer), or from_logits=True for raw scores",
                          received=f"outputs from {float(output.min()):.4g} to {float(output.max()):.4g}",
                          fix=f"Pass loss={name}(from_logits=True), or end the model with a softmax/sigmoid activation.")


def _check_order(loss, output: torch.Tensor, target: torch.Tensor) -> None:
    if not output.is_floating_point():
        raise ConfigError(f"{type(loss).__name__} received integer outputs: the arguments are in torch's order.",
                          expected="loss(output, target), the model's output first (torch's order)",
                          received=f"output of dtype {output.dtype}, target of dtype {target.dtype}",
                          fix="Call loss(y_pred, y_true), not Keras' loss(y_true, y_pred).")


def _log_probabilities(probs: torch.Tensor) -> torch.Tensor:
    """Keras' reading of a probability output: rescaled to sum to 1, clamped, then the log."""
    probs = probs / probs.sum(-1, keepdim=True)  # (N, K), rows sum to 1
    return probs.clamp(EPSILON, 1.0 - EPSILON).log()


class SparseCategoricalCrossentropy(CrossEntropy):
    """Keras' `SparseCategoricalCrossentropy`: class-id targets, probabilities (default) or logits.

    Args:
        from_logits: False (Keras' default): outputs are probabilities (a softmax last layer), the loss is
            the NLL of their clamped log. True: outputs are logits, the loss is `F.cross_entropy`.
        ignore_index, reduction, label_smoothing, weight: as in `nn.CrossEntropyLoss`.

    Example:
        >>> probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
        >>> round(SparseCategoricalCrossentropy()(probs, torch.tensor([0, 2])).item(), 4)  # -(log 0.7 + log 0.8) / 2
        0.2899
        >>> SparseCategoricalCrossentropy().task, SparseCategoricalCrossentropy(from_logits=True).task
        ('multiclass_probs', 'multiclass_logits')
    """

    kind = "multiclass"  # what `loss_kind` reports: the metrics' task (an argmax reads logits and probabilities alike)

    def __init__(self, from_logits: bool = False, *, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0, weight: torch.Tensor | None = None):
        super().__init__(weight=weight, ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
        self.from_logits, self._checked = bool(from_logits), False

    @property
    def task(self) -> str:
        """'multiclass_logits' or 'multiclass_probs': what the outputs are, for `predict_proba` (the Learner's `task`)."""
        return "multiclass_logits" if self.from_logits else "multiclass_probs"

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_order(self, output, target)
        if self.from_logits:  # torch's cross-entropy: class ids, (N, 1) ids or soft (N, K) targets
            return super().forward(output, target)
        _check_probabilities(self, output)
        log_p = _log_probabilities(output)  # (N, K)
        if target.is_floating_point() and target.shape == output.shape:  # one-hot, or mixup/cutmix's soft targets
            if self.label_smoothing:
                target = target * (1 - self.label_smoothing) + self.label_smoothing / target.shape[-1]
            per_sample = -(target * log_p).sum(-1)  # (N,)
            return per_sample if self.reduction == "none" else per_sample.sum() if self.reduction == "sum" else per_sample.mean()
        if target.ndim == output.ndim and target.shape[-1] == 1 and output.shape[-1] != 1:
            target = target.squeeze(-1)  # (N, 1) class ids -> (N,)
        if self.label_smoothing:  # cross_entropy's log_softmax of log p only renormalises the clamped probabilities
            return F.cross_entropy(log_p, target, self.weight, ignore_index=self.ignore_index,
                                   reduction=self.reduction, label_smoothing=self.label_smoothing)
        return F.nll_loss(log_p, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"from_logits={self.from_logits}"


class CategoricalCrossentropy(SparseCategoricalCrossentropy):
    """Keras' `CategoricalCrossentropy`: one-hot or soft (N, K) targets, probabilities (default) or logits.

    Class-id targets (N,) are accepted too and read as their one-hot rows (the sparse loss, in
    turn, takes soft targets: the two differ only in what Keras documents them for).

    Args:
        from_logits: False (Keras' default): outputs are probabilities; True: logits.
        label_smoothing: mix the targets with the uniform distribution, `t (1 - s) + s / K`.
        reduction: "mean", "sum" or "none".

    Example:
        >>> probs, onehot = torch.tensor([[0.7, 0.2, 0.1]]), torch.tensor([[1.0, 0.0, 0.0]])
        >>> round(CategoricalCrossentropy()(probs, onehot).item(), 4)  # -log 0.7
        0.3567
    """

    def __init__(self, from_logits: bool = False, *, label_smoothing: float = 0.0, reduction: str = "mean"):
        super().__init__(from_logits, reduction=reduction, label_smoothing=label_smoothing)


class BinaryCrossentropy(nn.modules.loss._Loss):  # a torch loss (with `reduction`), so samples can be weighted
    """Keras' `BinaryCrossentropy`: 0/1 (or soft) targets, probabilities (default) or logits.

    Args:
        from_logits: False (Keras' default): outputs are probabilities (a sigmoid last layer), clamped to
            [1e-7, 1 - 1e-7] before the log; True: logits, `F.binary_cross_entropy_with_logits`.
        label_smoothing: squeeze the targets towards 0.5, `t (1 - s) + s / 2`.
        reduction: "mean", "sum" or "none".

    Example:
        >>> round(BinaryCrossentropy()(torch.tensor([[0.9], [0.2]]), torch.tensor([1, 0])).item(), 4)
        0.1643
        >>> BinaryCrossentropy(from_logits=True).kind
        'binary_logits'
    """

    def __init__(self, from_logits: bool = False, *, label_smoothing: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.from_logits, self.label_smoothing, self._checked = bool(from_logits), label_smoothing, False

    @property
    def kind(self) -> str:
        """'binary_logits' or 'binary_probs', what `loss_kind` reports (and the task, for `predict_proba`)."""
        return "binary_logits" if self.from_logits else "binary_probs"

    @property
    def task(self) -> str:
        return self.kind

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_order(self, output, target)
        target = target.reshape(output.shape).to(output.dtype)  # (N,) integer 0/1 labels for an (N, 1) output
        if self.label_smoothing:
            target = target * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            return F.binary_cross_entropy_with_logits(output, target, reduction=self.reduction)
        _check_probabilities(self, output)
        return F.binary_cross_entropy(output.clamp(EPSILON, 1.0 - EPSILON), target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"from_logits={self.from_logits}"


def _keras_function(cls, name: str):
    """A Keras-named loss function in torch's argument order: `fn(output, target, from_logits=False, **options)`."""
    def loss(output: torch.Tensor, target: torch.Tensor, from_logits: bool = False, **options) -> torch.Tensor:
        return cls(from_logits, **options)(output, target)

    loss.__name__ = loss.__qualname__ = name
    loss.__doc__ = (f"Keras' `{name}` as a function of `(output, target)`: `{cls.__name__}(from_logits, **options)(output, target)`.\n\n"
                    "As a `loss=` it reads probabilities (Keras' default); pass "
                    f"`{cls.__name__}(from_logits=True)` for logits.")
    loss.kind, loss.task = cls().kind, cls().task  # what `loss_kind` and the Learner read when the function is the loss
    return loss


sparse_categorical_crossentropy = _keras_function(SparseCategoricalCrossentropy, "sparse_categorical_crossentropy")
categorical_crossentropy = _keras_function(CategoricalCrossentropy, "categorical_crossentropy")
binary_crossentropy = _keras_function(BinaryCrossentropy, "binary_crossentropy")


LOSSES = {
    "cross_entropy": CrossEntropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,  # Keras: from_logits=False, probabilities
    "categorical_crossentropy": CategoricalCrossentropy,
    "bce": BinaryCrossEntropy,
    "binary_crossentropy": BinaryCrossentropy,
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
KERAS_CLASSES = {"SparseCategoricalCrossentropy": SparseCategoricalCrossentropy,
                 "CategoricalCrossentropy": CategoricalCrossentropy, "BinaryCrossentropy": BinaryCrossentropy}


def get_loss(loss, **kwargs):
    """Return a loss module for a name, or the loss itself if it is already a module/callable.

    Example:
        >>> get_loss("cross_entropy", label_smoothing=0.1)
        CrossEntropy()
    """
    if loss is None or callable(loss):
        return loss
    if str(loss) in KERAS_CLASSES:  # loss="SparseCategoricalCrossentropy", as Keras also accepts
        return KERAS_CLASSES[str(loss)](**kwargs)
    key = str(loss).lower().replace("-", "_")
    if key not in LOSSES:
        raise ConfigError(f"Unknown loss {loss!r}. {closest(key, LOSSES)}", expected=f"one of {', '.join(LOSSES)}, or a torch loss",
                          received=f"loss={loss!r}", fix="Pass a name from the list, or any nn.Module loss object.")
    return LOSSES[key](**kwargs)


def loss_kind(loss) -> str:
    """What a loss implies about the task: 'multiclass', 'binary_logits', 'binary_probs', 'regression' or 'other'.

    A loss (module or function) may say it itself with a `kind` attribute, as the Keras losses do;
    they also carry a finer `task` ('multiclass_probs' or 'multiclass_logits', 'binary_probs' ...)
    saying whether the outputs are probabilities or logits.

    Example:
        >>> loss_kind(get_loss("sparse_categorical_crossentropy")), loss_kind(get_loss("binary_crossentropy"))
        ('multiclass', 'binary_probs')
    """
    own = getattr(loss, "kind", None)
    if isinstance(own, str):
        return own
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
