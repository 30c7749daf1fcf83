"""Compression, chapter 15: make a trained model smaller and faster and say what it costs.

The methods, each in its own module (imported lazily: `import tujie.compress` stays light):

- `measure`: parameter_count (all or nonzero), size_mb, latency_ms at batch 1 and 64, accuracy.
- `pruning`: unstructured magnitude pruning, layer-wise and global (`torch.nn.utils.prune`),
  Han et al.'s iterative prune–fine-tune schedule, sparsity per layer, and structured
  channel/filter pruning with torch-pruning's dependency graph (a ResNet's residual adds stay
  consistent) that really shrinks the model.
- `lowrank`: SVD factorisation of Linear layers into two thinner ones and of a k×k Conv2d into
  a k×k conv with r filters followed by a 1×1 conv; rank chosen by kept energy or a target size.
- `distill`: Hinton et al.'s soft targets (temperature T, weight α) from a teacher to a student.
- `quantize`: dynamic int8 (Linear, LSTM), static post-training int8 with calibration, and
  quantization-aware training.

Example:
    >>> from tujie.compress import measure
    >>> measure.parameter_count(__import__("torch").nn.Linear(3, 2))
    8
"""

import importlib

__all__ = ["distill", "lowrank", "measure", "pruning", "quantize"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
