"""What a compressed model costs and what it still knows: parameters, size, latency, accuracy.

Every method of chapter 15 is judged by these four numbers on the same test set, so they live in
one small module that pruning, low-rank factorisation, distillation and quantization all share.

Example:
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    >>> parameter_count(model)
    15
    >>> with torch.no_grad(): _ = model[0].weight.zero_()
    >>> parameter_count(model, nonzero=True)
    3
"""

from __future__ import annotations

import io
import statistics
import time

import torch
from torch import nn

__all__ = ["accuracy", "latency_ms", "parameter_count", "size_mb"]


def _quantized_tensors(module: nn.Module) -> list[torch.Tensor]:
    """The weight and bias of a quantized module (int8 packed; not in `.parameters()`)."""
    weight = getattr(module, "weight", None)
    if not callable(weight) or isinstance(weight, nn.Parameter):
        return []
    try:
        tensors = [weight()]
    except (RuntimeError, TypeError):
        return []
    bias = getattr(module, "bias", None)
    bias = bias() if callable(bias) and not isinstance(bias, nn.Parameter) else None
    if bias is not None:
        tensors.append(bias)
    return tensors


def _nonzero(tensor: torch.Tensor) -> int:
    if tensor.is_quantized:
        tensor = tensor.dequantize()
    return int(torch.count_nonzero(tensor).item())


def parameter_count(model: nn.Module, *, nonzero: bool = False) -> int:
    """Number of parameters of `model` (float and packed int8 weights of quantized modules alike).

    Args:
        model: any module, dense, pruned (masks applied or made permanent) or quantized.
        nonzero: count only the entries that are not zero: what is left after pruning.

    Returns:
        The count. A module pruned with `torch.nn.utils.prune` and not yet made permanent counts
        its effective weight (`weight_orig * weight_mask`), not the stored original.

    Example:
        >>> parameter_count(torch.nn.Linear(10, 2))
        22
    """
    total = 0
    for module in model.modules():
        own = list(module.named_parameters(recurse=False))
        for name, param in own:
            if name.endswith("_orig") and hasattr(module, name[:-5]):
                param = getattr(module, name[:-5])             # the masked weight the forward uses
            total += _nonzero(param.detach()) if nonzero else param.numel()
        if not own:
            for tensor in _quantized_tensors(module):
                total += _nonzero(tensor) if nonzero else tensor.numel()
    return total


def size_mb(model: nn.Module) -> float:
    """Megabytes (10^6 bytes) of `model`'s serialized state dict, measured in memory.

    A pruned but dense model is as large as the original: its zeros are still stored. A
    quantized model stores int8 weights (one byte each instead of four), plus scales.

    Example:
        >>> round(size_mb(torch.nn.Linear(1000, 250)), 2)   # 250,250 float32 numbers
        1.0
    """
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)      # measured only: nothing is written or loaded
    return buffer.getbuffer().nbytes / 1e6


@torch.no_grad()
def latency_ms(model: nn.Module, example: torch.Tensor, *, batch_sizes=(1, 64), repeats: int = 30,
               warmup: int = 5) -> dict[int, float]:
    """Median milliseconds of one forward pass per batch size, in eval mode without gradients.

    Args:
        model: the model to time (left in eval mode afterwards).
        example: one input or a batch of inputs, shape (n, ...); rows are repeated to fill a batch.
        batch_sizes: the batch sizes to time.
        repeats, warmup: timed passes (the median is reported) and untimed passes before them.

    Returns:
        {batch size: median milliseconds}. The thread count is left as the caller set it.

    Example:
        >>> times = latency_ms(torch.nn.Linear(8, 2), torch.zeros(1, 8), batch_sizes=(1, 4), repeats=3, warmup=1)
        >>> sorted(times)
        [1, 4]
    """
    model.eval()
    device = next((t.device for t in model.parameters()), torch.device("cpu"))
    example = example.to(device)
    times = {}
    for batch_size in batch_sizes:
        index = torch.arange(batch_size) % len(example)
        batch = example[index]                               # (batch_size, ...)
        for _ in range(warmup):
            model(batch)
        samples = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            model(batch)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            samples.append((time.perf_counter() - start) * 1000)
        times[int(batch_size)] = statistics.median(samples)
    return times


@torch.no_grad()
def accuracy(model: nn.Module, data, *, batch_size: int = 256) -> float:
    """Share of samples whose arg-max prediction equals the label.

    Args:
        model: a classifier returning logits of shape (batch, classes).
        data: `(x, y)` tensors or arrays, or a dataset with `.x` and `.y` (an ArrayDataset).
        batch_size: samples per forward pass.

    Example:
        >>> model = torch.nn.Linear(2, 2)
        >>> with torch.no_grad(): _ = model.weight.copy_(torch.eye(2)); _ = model.bias.zero_()
        >>> accuracy(model, (torch.tensor([[1., 0.], [0., 1.], [1., 0.]]), torch.tensor([0, 1, 1])))
        0.6666666666666666
    """
    x, y = (data.x, data.y) if hasattr(data, "x") and hasattr(data, "y") else data
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if x.dtype == torch.float64:
        x = x.float()
    model.eval()
    device = next((t.device for t in model.parameters()), torch.device("cpu"))
    correct = 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size].to(device))          # (batch, classes)
        correct += int((logits.argmax(-1).cpu() == y[start:start + batch_size].long()).sum())
    return correct / max(len(x), 1)
