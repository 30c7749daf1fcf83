"""Helpers that let Keras and PyTorch habits go straight into `Learner.fit` (issue 12).

Each is used only when its habit is: a softmax/sigmoid last layer with a loss meant for logits,
a callable loss whose task is read from the first batch, per-sample weights, a model returning
a tuple or dict, a generator of batches. The default step calls none of them.
"""

from __future__ import annotations

import copy
import itertools
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..data.arrays import ArrayDataset, as_tensor
from ..errors import ConfigError, DataError
from .losses import HingeLoss

TASKS = ("multiclass_logits", "multiclass_log_probs", "multiclass_probs", "binary_logits", "binary_probs", "regression")
TASK_KIND = {"multiclass_logits": "multiclass", "multiclass_log_probs": "multiclass", "multiclass_probs": "multiclass",
             "binary_logits": "binary_logits", "binary_probs": "binary_probs", "regression": "regression"}
EPS = 1e-7  # Keras' epsilon: probabilities are clamped to [EPS, 1 - EPS] before the log


def check_task(task):
    if task is not None and task not in TASKS:
        raise ConfigError("Invalid value received for `task`.", expected=f"one of {', '.join(TASKS)}, or None to infer it",
                          received=f"task={task!r}", fix='Pass task="multiclass_logits", for example.')
    return task


def select_output(output, index=None, key=None):
    """The output metrics and named losses read: `output[key]` of a dict, `output[index or 0]` of a tuple."""
    if isinstance(output, dict):
        if key is None:
            key = next(iter(output))
        return output[key]
    if isinstance(output, (tuple, list)):
        return output[index or 0]
    return output


# ----------------------------------------------------------------- the double-softmax trap
def last_activation(model: nn.Module):
    """`("softmax" | "sigmoid", layer_name)` when the model's last layer squashes its output, else None.

    Only read from `nn.Sequential` containers (nested ones too), whose last child runs last.
    """
    layer, name = model, type(model).__name__
    while isinstance(layer, nn.Sequential) and len(layer):
        name, layer = f"{name}[{len(layer) - 1}]", layer[len(layer) - 1]
    if layer is model:
        return None
    if isinstance(layer, nn.Softmax):
        return "softmax", f"{name} ({type(layer).__name__})"
    if isinstance(layer, nn.Sigmoid):
        return "sigmoid", f"{name} ({type(layer).__name__})"
    activation = getattr(layer, "activation_name", None)  # tujie Dense/Conv/Activation
    if activation in ("softmax", "sigmoid"):
        return activation, f"{name} ({type(layer).__name__}, activation={activation!r})"
    return None


class ProbabilityCrossEntropy(nn.CrossEntropyLoss):
    """Cross-entropy on probabilities (a softmax output): NLL of log(clamp(p)), as Keras' from_logits=False."""

    def forward(self, output, target):
        if target.ndim == output.ndim and target.shape[-1] == 1 and output.shape[-1] != 1:
            target = target.squeeze(-1)
        log_p = output.clamp(EPS, 1 - EPS).log()  # (N, K)
        if target.is_floating_point() and target.shape == output.shape:  # one-hot or mixup targets
            per = -(target * log_p).sum(-1)
        else:
            per = F.nll_loss(log_p, target, self.weight, reduction="none", ignore_index=self.ignore_index)
        if self.label_smoothing:
            per = (1 - self.label_smoothing) * per - self.label_smoothing * log_p.mean(-1)
        return per if self.reduction == "none" else per.sum() if self.reduction == "sum" else per.mean()


class ProbabilityBCE(nn.BCELoss):
    """Binary cross-entropy on clamped probabilities (a sigmoid output), taking (N,) 0/1 labels too."""

    def forward(self, output, target):
        if target.shape != output.shape or not target.is_floating_point():
            target = target.reshape(output.shape).to(output.dtype)
        return F.binary_cross_entropy(output.clamp(EPS, 1 - EPS), target, reduction=self.reduction)


def guard_squashed_output(model, loss_fn):
    """A loss for probabilities when a logit loss meets a softmax/sigmoid last layer (with one warning), else None."""
    found = last_activation(model)
    if found is None or not isinstance(loss_fn, (nn.CrossEntropyLoss, nn.BCEWithLogitsLoss)):
        return None
    activation, layer = found
    if getattr(loss_fn, "from_logits", None) is not None:  # a Keras loss: the user said what the outputs are
        if loss_fn.from_logits:
            warnings.warn(f"The model's last layer {layer} applies {activation}, and the loss was given from_logits=True: "
                          f"{activation} is applied twice. Drop the {activation}, or pass from_logits=False.", UserWarning, stacklevel=3)
        return None
    if activation == "softmax" and isinstance(loss_fn, nn.CrossEntropyLoss):
        replacement, task, fix = ProbabilityCrossEntropy(loss_fn.weight, label_smoothing=loss_fn.label_smoothing), "multiclass_probs", \
            "drop the softmax from the last layer (the loss applies it), or keep it to get probabilities from predict"
    elif activation == "sigmoid" and isinstance(loss_fn, nn.BCEWithLogitsLoss):
        replacement, task, fix = ProbabilityBCE(), "binary_probs", 'drop the sigmoid, or pass loss="bce" for probabilities'
    else:
        return None
    warnings.warn(f"The model's last layer {layer} applies {activation}, and the loss "
                  f"{type(loss_fn).__name__} expects logits: the outputs are treated as probabilities "
                  f"(from_logits=False, as Keras does) so it is not applied twice. To silence this, {fix}.",
                  UserWarning, stacklevel=3)
    return replacement, task


# ----------------------------------------------------------------- the task of a callable loss
def infer_task(loss_fn, output, y):
    """The task a callable loss trains, read from one batch: `(task, why)` or `(None, why)`."""
    if not torch.is_tensor(output) or not torch.is_tensor(y):
        return None, "the outputs or targets are not single tensors"
    if not y.is_floating_point() and output.ndim == 2 and output.shape[-1] > 1 and y.numel() == len(output):
        if loss_fn is F.nll_loss or (output <= 0).all() and torch.allclose(output.exp().sum(-1), torch.ones(()).to(output)):
            return "multiclass_log_probs", "integer targets, (N, C) outputs that are log-probabilities"
        if (output >= 0).all() and torch.allclose(output.sum(-1), torch.ones(()).to(output)):
            return "multiclass_probs", "integer targets, (N, C) outputs that sum to 1"
        return "multiclass_logits", "integer targets and (N, C) outputs"
    if y.is_floating_point() and y.shape == output.shape:
        return "regression", "float targets of the outputs' shape"
    return None, f"outputs {tuple(output.shape)} and targets {tuple(y.shape)} {y.dtype} fit no known task"


# ----------------------------------------------------------------- weighted losses
def unreduced(loss_fn):
    """A copy of a torch loss module that returns one loss per sample; a clear error for a loss that cannot."""
    if isinstance(loss_fn, nn.modules.loss._Loss) and not isinstance(loss_fn, HingeLoss):
        per_sample = copy.copy(loss_fn)
        per_sample.reduction = "none"
        return per_sample
    raise ConfigError("This loss cannot weight samples.", expected="a torch loss module with `reduction` (a tujie loss name)",
                      received=f"loss={getattr(loss_fn, '__name__', type(loss_fn).__name__)} with sample_weight or class_weight",
                      fix='Use a named loss such as "cross_entropy" or "mse", or weight the samples inside your own loss.')


def class_weight_table(class_weight: dict, dtype=torch.float32) -> torch.Tensor:
    """`{class: weight}` as a tensor indexed by class id (classes left out weigh 1)."""
    if not isinstance(class_weight, dict) or not all(isinstance(k, int) and k >= 0 for k in class_weight):
        raise ConfigError("Invalid value received for `class_weight`.", expected="a dict {class id (int >= 0): weight}",
                          received=f"class_weight={class_weight!r}", fix="Pass class_weight={0: 1.0, 1: 5.0}, for example.")
    table = torch.ones(max(class_weight) + 1, dtype=dtype)
    for k, v in class_weight.items():
        table[k] = float(v)
    return table


def class_weights_of(table: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One weight per sample from its class id (the dominant class of soft targets)."""
    if y.is_floating_point() and y.ndim > 1 and y.shape[-1] > 1:
        y = y.argmax(-1)  # (N, K) mixup/one-hot targets
    ids = y.reshape(len(y), -1)[:, 0].long()  # (N,)
    if ids.max() >= len(table):
        table = torch.cat([table, table.new_ones(int(ids.max()) + 1 - len(table))])
    return table.to(y.device)[ids]


def weighted_data(train, class_weight, sample_weight, validation_split):
    """`(train with the sample weights as its last tensor, class-weight table or None)`, checked."""
    class_table = None if class_weight is None else class_weight_table(class_weight)
    if sample_weight is None:
        return train, class_table
    if validation_split or not isinstance(train, (ArrayDataset, tuple)):
        raise DataError("sample_weight needs in-memory training data and no validation_split.",
                        expected="fit(x, y, sample_weight=w, validation_data=(x_val, y_val))",
                        received=f"{type(train).__name__}" + (f" with validation_split={validation_split}" if validation_split else ""),
                        fix="Pass validation_data instead of validation_split; a generator may weight inside its own loss.")
    tensors = train.tensors if isinstance(train, ArrayDataset) else train
    weights = as_tensor(sample_weight, "sample_weight").reshape(-1)
    if len(weights) != len(tensors[0]):
        raise DataError("sample_weight has one weight per sample.", expected=f"{len(tensors[0])} weights",
                        received=f"{len(weights)} weights", fix="Pass one weight per training sample.")
    return (*tensors, weights), class_table


def split_weights(batch, class_table, has_sample_weights: bool):
    """A weighted batch as `(batch, weights)`: its last tensor and/or the class weight of each target."""
    weights = None
    if has_sample_weights:
        batch, weights = batch[:-1], batch[-1]
    if class_table is not None:
        by_class = class_weights_of(class_table, batch[-1])
        weights = by_class if weights is None else weights * by_class
    return batch, weights


def weighted_mean(per_sample: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Keras' weighted loss: `sum(w_i * loss_i) / batch size`."""
    per_sample = per_sample.reshape(len(per_sample), -1).mean(1)  # (N,): a row's mean over its outputs
    return (per_sample * weights.to(per_sample.dtype).reshape(-1)).mean()


# ----------------------------------------------------------------- generators and step-limited epochs
class BatchStream:
    """Batches from a generator or any iterable of `(x, y)`, `steps_per_epoch` of them per epoch.

    A one-shot iterator (a generator) is drawn from across epochs; a re-iterable one starts again
    every epoch. Arrays in a batch become tensors of `float_dtype`; `([x1, x2], y)` becomes `(x1, x2, y)`.
    """

    def __init__(self, source, steps: int | None, epochs: int, convert):
        self.one_shot = iter(source) is source
        if self.one_shot and steps is None and epochs > 1:
            raise DataError("A generator runs out after one pass, and fit was asked for several epochs.",
                            expected="steps_per_epoch=N with a generator, or a re-iterable source (a list, a Dataset)",
                            received=f"a {type(source).__name__} with epochs={epochs} and no steps_per_epoch",
                            fix="Pass steps_per_epoch=100 (an epoch is then 100 batches), or epochs=1.")
        self.source, self.steps, self.convert = source, steps, convert
        self._iterator = iter(source) if self.one_shot else None

    def __len__(self):
        if self.steps is not None:
            return self.steps
        return len(self.source) if hasattr(self.source, "__len__") else 1

    def peek(self):
        """The first batch, put back so the first epoch still sees it."""
        iterator = self._iterator if self.one_shot else iter(self.source)
        try:
            first = next(iterator)
        except StopIteration:
            raise DataError("The batch source is empty.", expected="at least one (x, y) batch",
                            received=type(self.source).__name__, fix="Check the generator yields batches.") from None
        if self.one_shot:
            self._iterator = itertools.chain([first], iterator)
        return self.convert(first)

    def __iter__(self):
        iterator = self._iterator if self.one_shot else iter(self.source)
        for batch in itertools.islice(iterator, self.steps):
            yield self.convert(batch)


def flatten_batch(batch, to_tensor):
    """`([x1, x2], y)` or `(x, y)` with arrays as a flat tuple of tensors `(x1, x2, y)`."""
    if not isinstance(batch, (tuple, list)):
        return (to_tensor(batch),)
    parts = []
    for part in batch:
        parts.extend(part if isinstance(part, (tuple, list)) else [part])
    return tuple(to_tensor(p) for p in parts)


def is_input_list(x) -> bool:
    """`[x1, x2]`: a list or tuple of arrays, the inputs of a model with several inputs."""
    return isinstance(x, (tuple, list)) and len(x) > 0 and all(hasattr(t, "shape") and getattr(t, "ndim", 0) > 0 for t in x)


def has_sparse_gradients(model) -> bool:
    """True when an embedding of `model` makes sparse gradients (`sparse=True`), which fused optimizers refuse."""
    return any(isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)) and m.sparse for m in model.modules())


def needs_closure(optimizer) -> bool:
    """True for optimizers whose `step` must be given a closure (`torch.optim.LBFGS`)."""
    import inspect

    try:
        closure = inspect.signature(optimizer.step).parameters.get("closure")
    except (TypeError, ValueError):
        return False
    return closure is not None and closure.default is inspect.Parameter.empty


def closure_step(learner, inputs, y, sample_weight, per_sample_loss) -> dict:
    """One `learner.train_step` with `optimizer.step(closure)`: the closure recomputes forward, loss and gradients.

    The logs are the first call's (the weights before the step, as a plain step logs them).
    Accumulation, gradient clipping, max-norm and the fp16 scaler do not apply to closure optimizers.
    """
    first = []

    def closure():
        learner.optimizer.zero_grad(set_to_none=True)
        output = learner.model(*inputs)
        loss = learner.compute_loss(output, y, sample_weight, per_sample_loss)
        (loss + learner.penalty() if learner._penalize else loss).backward()
        if not first:
            first.append((learner.select(output).detach(), loss.detach()))
        return loss

    learner.optimizer.step(closure)
    if learner.ema is not None:
        learner.ema.update_parameters(learner.model)
    output, loss = first[0]
    logs = {"loss": loss}
    if learner._batch_accuracy is not None:
        logs["accuracy"] = learner._batch_accuracy(output, y)
    return logs


# ----------------------------------------------------------------- bad input, checked once per fit
def check_not_empty(data, batches, what: str = "Training data") -> None:
    """An empty dataset (0 samples) is refused before anything runs."""
    try:
        n = len(data) if not isinstance(data, tuple) else len(data[0])
        n_batches = len(batches)
    except TypeError:  # a generator or stream: its length is not known
        return
    if n == 0 or n_batches == 0:
        raise DataError(f"{what} is empty.", expected="at least one sample",
                        received="0 samples", fix="Check the data loading (a filter, a split or a path that selects nothing).")


def first_inputs(batches, batch_size: int):
    """The first batch's inputs and all the targets (in memory: one min/max is cheap), without drawing
    from the shuffle; None when the batches are not in-memory tensors."""
    tensors = getattr(batches, "tensors", None)
    if tensors is not None:
        return (*(t[:batch_size] for t in tensors[:-1]), tensors[-1]) if len(tensors) > 1 else tuple(tensors)
    return None


def check_one_dimensional(data) -> None:
    """`x` of shape (N,) floats with `y` of length N: each sample is a bare number, not a feature row."""
    tensors = getattr(data, "tensors", None)
    if tensors is None and isinstance(data, tuple):
        tensors = data
    if not tensors or len(tensors) != 2:
        return
    x, y = tensors
    if torch.is_tensor(x) and torch.is_tensor(y) and x.ndim == 1 and x.is_floating_point() and len(x) == len(y):
        raise DataError("The inputs `x` are one-dimensional: each sample is a single number, not a row of features.",
                        expected="x of shape (N, features)", received=f"x of shape {tuple(x.shape)}",
                        fix="Reshape it: x.reshape(-1, 1) for one feature (numpy: x[:, None]), or x.reshape(N, features).")


def warn_non_finite(batch) -> None:
    """A warning naming how many NaN/infinite input values the first batch holds (one check per fit)."""
    if batch is None:
        return
    inputs = batch[:-1] if len(batch) > 1 else batch
    bad = sum(int((~torch.isfinite(t)).sum()) for t in inputs if torch.is_tensor(t) and t.is_floating_point())
    if bad:
        warnings.warn(f"The first training batch holds {bad} NaN or infinite input value(s); the loss will be NaN. "
                      "Fix: clean the data (e.g. torch.nan_to_num(x), or drop those rows) before fit.", UserWarning, stacklevel=3)


def check_labels(learner, batch) -> None:
    """Class labels for a cross-entropy loss: integers in [0, outputs). Checked on the first batch only."""
    if batch is None or len(batch) < 2 or learner.kind != "multiclass" or learner.mixing is not None:
        return
    *inputs, y = batch
    if not torch.is_tensor(y) or not all(torch.is_tensor(t) for t in inputs) or len(y) == 0:
        return
    with torch.no_grad():
        was_training = learner.model.training
        learner.model.eval()
        try:
            output = learner.select(learner.model(*(t[:2] for t in inputs)))
        except Exception:  # noqa: BLE001 -- the training step reports its own errors
            return
        finally:
            learner.model.train(was_training)
    if not torch.is_tensor(output) or output.ndim < 2 or y.ndim != output.ndim - 1:
        return  # one-hot or soft targets, or a shape this check does not know
    classes = output.shape[1]
    if y.is_floating_point():
        raise DataError("Class labels are floats, but a classification loss needs integer class ids.",
                        expected=f"integer labels in 0..{classes - 1} (the model has {classes} outputs)",
                        received=f"{y.dtype} labels, e.g. {y[:5].tolist()}",
                        fix="Convert them: y.long() (numpy: y.astype('int64')), or use a regression loss such as 'mse'.")
    ignore = getattr(learner.loss_fn, "ignore_index", None)
    seen = y[y != ignore] if ignore is not None else y
    bad = seen[(seen < 0) | (seen >= classes)]
    if len(bad):
        values = sorted(set(bad.unique()[:10].tolist()))
        raise DataError("Class labels are out of range for the model's outputs.",
                        expected=f"integer labels in 0..{classes - 1} (the model has {classes} outputs)",
                        received=f"labels {values} (labels seen: {int(seen.min())}..{int(seen.max())})",
                        fix=f"Give the last layer as many outputs as there are classes (e.g. {int(seen.max()) + 1}), "
                            "or renumber the labels from 0.")


def explain_failed_batch(learner, batch, epoch: int, step: int) -> None:
    """A training step failed on a later batch (a DataLoader or generator is checked on its first batch
    only): run the first batch's checks on this one, and raise their error naming the batch, if they find one."""
    if learner._custom("train_step") is not None or not isinstance(batch, (tuple, list)):
        return
    try:
        check_labels(learner, tuple(batch))
    except DataError as error:
        raise DataError(f"Batch {step} of epoch {epoch}: {error.what}", expected=error.expected, received=error.received,
                        fix=error.fix) from None


def empty_prediction(learner, inputs):
    """`predict` on 0 samples: the model's output for an empty batch (its trailing shape), or a clear error."""
    model = learner.eval_model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return _cpu(model(*(t.to(learner.device) for t in inputs)))
    except Exception:  # noqa: BLE001 -- the model cannot run on an empty batch: say so plainly
        raise DataError("Nothing to predict: the input holds 0 samples.", expected="at least one sample",
                        received=f"inputs of shape {', '.join(str(tuple(t.shape)) for t in inputs)}",
                        fix="Check the data passed to predict (a filter or split that selects nothing).") from None
    finally:
        model.train(was_training)


def _cpu(output):
    return tuple(o.cpu() for o in output) if isinstance(output, (tuple, list)) else output.cpu()


# ------------------------------------------------------------- Learner arguments, checked once
PRECISIONS = {"32": "32", "fp32": "32", "float32": "32", "bf16": "bf16", "bfloat16": "bf16", "16": "fp16",
              "fp16": "fp16", "float16": "fp16"}


def check_precision(value) -> str:
    key = str(value).lower().removesuffix("-mixed")
    if key not in PRECISIONS:
        raise ConfigError(f"Unknown precision {value!r}.", expected='"32", "bf16" (CPU or GPU) or "fp16" (GPU, with a gradient scaler)',
                          received=f"precision={value!r}", fix='Pass precision="bf16" for mixed precision.')
    return PRECISIONS[key]


def nonnegative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"Invalid value received for `{name}`.", expected="a number >= 0 (0 turns it off)",
                          received=f"{name}={value!r}", fix=f"Pass {name}=1e-4, for example.")
    return float(value)


def positive_or_none(name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"Invalid value received for `{name}`.", expected="a number > 0, or None to turn it off",
                          received=f"{name}={value!r}", fix=f"Pass {name}=1.0, for example.")
    return float(value)


def with_label_smoothing(loss_fn, smoothing: float):
    """The cross-entropy loss with `label_smoothing` set; refused for losses that have no such notion."""
    if not smoothing:
        return loss_fn
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not 0.0 < smoothing < 1.0:
        raise ConfigError("Invalid value received for `label_smoothing`.", expected="0 <= label_smoothing < 1, e.g. 0.1",
                          received=f"label_smoothing={smoothing!r}", fix="Pass label_smoothing=0.1.")
    if not isinstance(loss_fn, nn.CrossEntropyLoss):
        raise ConfigError("label_smoothing applies to the cross-entropy loss only.", expected='loss="cross_entropy"',
                          received=f"loss={type(loss_fn).__name__}", fix="Remove label_smoothing, or train with cross-entropy.")
    loss_fn.label_smoothing = float(smoothing)
    return loss_fn
