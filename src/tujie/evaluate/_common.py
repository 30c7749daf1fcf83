"""Shared plumbing for the evaluation functions: which model, which task, which batches.

Every metric here streams: the data are read one batch at a time, the model runs on the
batch, and only the metric's running state (counts, sums, fixed-size histograms) is kept.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, DataError

# Learner.kind -> the task name the evaluation functions use
_KIND_TO_TASK = {"multiclass": "multiclass", "binary_logits": "binary", "binary_probs": "binary",
                 "regression": "regression"}
TASKS = ("binary", "multiclass", "regression")


def resolve_model(model_or_learner, task: str | None, *, function: str):
    """`(model, device, task, output_is_probability)` for a `tujie.Learner` or a plain `nn.Module`.

    A Learner brings its own device and task (its `kind`); `task=` overrides it. A plain
    module runs on the device of its parameters and needs `task=`.
    """
    from ..train.loop import Learner  # lazy: keeps `import tujie.evaluate` cheap

    if task is not None and task not in TASKS:
        raise ConfigError("Invalid value received for `task`.", expected=f"one of {', '.join(map(repr, TASKS))}",
                          received=f"task={task!r}", fix='Pass task="binary" for one logit per sample, '
                          'task="multiclass" for one logit per class.')
    if isinstance(model_or_learner, Learner):
        learner = model_or_learner
        learner._setup(None)  # the same preparation `Learner.predict` does: model on its device
        kind_task = _KIND_TO_TASK.get(learner.kind)
        if task is None and kind_task is None:
            raise ConfigError(f"{function} cannot tell the task from this learner's loss.",
                              expected="a learner trained with cross_entropy, bce, bce_with_logits or mse, or task=...",
                              received=f"learner.kind={learner.kind!r}", fix='Pass task="binary" or task="multiclass".')
        return learner.model, learner.device, task or kind_task, learner.kind == "binary_probs"
    if isinstance(model_or_learner, nn.Module):
        parameter = next(iter(model_or_learner.parameters()), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        return model_or_learner, device, task, False
    raise ConfigError(f"{function} needs a model.", expected="a tujie.Learner or a torch.nn.Module",
                      received=type(model_or_learner).__name__, fix="Pass the learner you trained, or learner.model.")


def iterate_batches(data, batch_size: int):
    """Yield `(inputs, y)` batches, `inputs` a tuple, from an `(x, y)` tuple, an ArrayDataset or a DataLoader."""
    from torch.utils.data import DataLoader, Dataset

    from ..data.arrays import ArrayDataset, Batcher

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("Invalid value received for `batch_size`.", expected="an integer >= 1",
                          received=f"batch_size={batch_size!r}", fix="Pass batch_size=1024, for example.")
    if isinstance(data, (tuple, list)) and len(data) >= 2:
        data = ArrayDataset(*data) if len(data) == 2 else data
    if isinstance(data, ArrayDataset):
        if data.y is None:
            raise DataError("The evaluation data have no targets.", expected="an ArrayDataset with y",
                            received=repr(data), fix="Pass ArrayDataset(x, y) or an (x, y) tuple.")
        batches = Batcher(data.x, data.y, batch_size=batch_size)
    elif isinstance(data, (tuple, list)):  # (x1, x2, ..., y): several inputs, then the target
        tensors = tuple(ArrayDataset(t).x for t in data)
        batches = Batcher(*tensors, batch_size=batch_size)
    elif isinstance(data, (DataLoader, Batcher)) or callable(getattr(data, "sample", None)):
        batches = data  # a loader, or a batch source such as tujie.text.BucketBatcher
    elif callable(getattr(data, "batches", None)):  # a dataset that batches itself (tujie.text.TextDataset)
        batches = data.batches(batch_size=batch_size, shuffle=False)
    elif isinstance(data, Dataset):
        batches = DataLoader(data, batch_size=batch_size)
    else:
        raise DataError("Unsupported evaluation data.", expected="an (x, y) tuple, an ArrayDataset or a DataLoader",
                        received=type(data).__name__, fix="Wrap your arrays as (x, y).")
    for batch in batches:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise DataError("A batch of the evaluation data has no targets.", expected="batches of (inputs, y)",
                            received=f"a batch of type {type(batch).__name__}", fix="Give the DataLoader a dataset of (x, y) pairs.")
        *inputs, y = batch
        yield tuple(inputs), y


@torch.no_grad()
def model_outputs(model: nn.Module, device, data, batch_size: int):
    """Yield `(output, y)` per batch, both on `device`, with the model in eval mode (restored after)."""
    was_training = model.training
    model.eval()
    try:
        for inputs, y in iterate_batches(data, batch_size):
            inputs = tuple(t.to(device) if torch.is_tensor(t) else t for t in inputs)
            output = model(*inputs)
            if isinstance(output, (tuple, list)):
                output = output[0]
            yield output, y.to(device)
    finally:
        model.train(was_training)


def to_python(value):
    """0-d tensors become floats, other tensors move to the CPU, containers are converted inside."""
    if torch.is_tensor(value):
        value = value.detach().cpu()
        return value.item() if value.ndim == 0 else value
    if isinstance(value, dict):
        return {k: to_python(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_python(v) for v in value]
    return value
