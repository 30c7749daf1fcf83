"""A torch classifier as an ONNX file (dynamic batch axis, checked), and an ONNX Runtime session to run it.

`write_onnx` uses torch's TorchScript-based exporter (`torch.onnx.export(..., dynamo=False)`).
In torch 2.13 the default is the torch.export-based exporter (`dynamo=True`), which needs the
`onnxscript` package; tujie does not depend on it, and the TorchScript-based exporter handles
every model of the zoo we ship (MLP, LeNet, ResNet, the recurrent and convolutional text
classifiers, packed sequences included). It is deprecated but works; torch warns once, and we
silence that warning here because the user did not choose it.

Image and tabular models take one input `input` (batch, *input_shape) float32; text models take
`tokens` (batch, seq) int64 and, when their `forward` takes them, `lengths` (batch,) int64.
The output is `output` (batch, K): what the model returns (logits for most runs).

Example:
    >>> import tempfile, torch
    >>> path = write_onnx(torch.nn.Linear(4, 3), Path(tempfile.mkdtemp()) / "m.onnx", task="tabular", input_shape=(4,))
    >>> session = ort_session(path)
    >>> session.run(None, {"input": torch.ones(7, 4).numpy()})[0].shape
    (7, 3)
"""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from .._io import atomic_path
from ..errors import ConfigError

OPSET = 17  # ONNX Runtime 1.16+ runs it; new enough for LayerNorm and every op the zoo needs


def takes_lengths(model: nn.Module) -> bool:
    """True when the model's forward takes `lengths` (the text classifiers do)."""
    return "lengths" in inspect.signature(model.forward).parameters


def min_sequence(model: nn.Module) -> int:
    """The fewest tokens the exported graph takes: a TextCNN pads short texts to its widest kernel in Python, which
    the tracer fixes as a constant, so shorter inputs are padded before they reach the graph (with their true
    `lengths`, padding changes nothing: the model reads each text as if it stood alone)."""
    return max((int(k) for k in getattr(model, "kernel_sizes", ()) or ()), default=1)


def example_inputs(model: nn.Module, task: str, input_shape=None) -> tuple[tuple, list[str], dict]:
    """What the exporter traces with: `(inputs, input_names, dynamic_axes)`.

    The batch (and for text the sequence) axes are named, so ONNX Runtime takes any size later.
    Two samples, not one: a batch of one lets the tracer fold away the batch axis in places.
    """
    if task == "text":
        steps = max(6, min_sequence(model) + 1)
        tokens = torch.full((2, steps), 4, dtype=torch.long)  # (batch, seq): id 4, the first ordinary token
        if takes_lengths(model):
            return ((tokens, torch.tensor([steps, steps - 2])), ["tokens", "lengths"],
                    {"tokens": {0: "batch", 1: "sequence"}, "lengths": {0: "batch"}, "output": {0: "batch"}})
        return (tokens,), ["tokens"], {"tokens": {0: "batch", 1: "sequence"}, "output": {0: "batch"}}
    if input_shape is None:
        raise ConfigError("An image or tabular model needs its input shape to be exported.", expected="input_shape, e.g. (1, 28, 28)",
                          received="input_shape=None", fix="Pass the shape of one sample (the run's data.json has it).")
    sample = torch.zeros(2, *input_shape)  # (batch, *input_shape)
    return (sample,), ["input"], {"input": {0: "batch"}, "output": {0: "batch"}}


def write_onnx(model: nn.Module, path, *, task: str, input_shape=None, opset: int = OPSET, check: bool = True) -> Path:
    """Export `model` (in eval mode) to `path` atomically and run onnx's checker on the file.

    Args:
        model: a torch classifier.
        path: the .onnx file to write.
        task: "image", "tabular" or "text" (which inputs the graph takes).
        input_shape: one sample's shape (image/tabular).
        opset: the ONNX opset.
        check: run `onnx.checker.check_model` (with shape inference) on the file before it is published.

    Raises:
        ConfigError: the model uses an operation the exporter cannot turn into ONNX (named in the message).
    """
    import onnx

    path = Path(path)
    inputs, names, axes = example_inputs(model, task, input_shape)
    was_training = model.training
    model.eval()
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            # the deprecation of the TorchScript-based exporter (see the module docstring) and the tracer's notes on
            # Python-side checks (the models' input validation), which cannot change the graph's arithmetic
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # LSTM with a batch other than 1: about initial states given as inputs; ours start at zeros made in the graph
            warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")
            warnings.filterwarnings("ignore", message=".*Constant folding.*")
            warnings.filterwarnings("ignore", message=".*aten::index operator of advanced indexing.*")  # our indices are >= 0
            try:
                torch.onnx.export(model, inputs, str(tmp), dynamo=False, input_names=names, output_names=["output"],
                                  dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
            except Exception as e:  # noqa: BLE001  the exporter raises several kinds; every one is named below
                raise unsupported(model, e, opset) from None
            if check:
                onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
    finally:
        model.train(was_training)
    return path


_OPERATOR = re.compile(r"'?((?:aten|prim|quantized|onnx)::[A-Za-z0-9_.]+)'?")


def unsupported(model: nn.Module, error: Exception, opset: int) -> ConfigError:
    """The error template for a model the exporter refused, naming the operation when the exporter did."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    found = _OPERATOR.search(str(error))
    operation = found.group(1) if found else None
    if operation and operation.startswith("quantized::"):  # torch's int8 kernels: ONNX Runtime quantizes on its own
        return ConfigError(f"Model {type(model).__name__} is quantized with torch ({operation}), which the ONNX exporter "
                           f"cannot write in opset {opset}.", expected="a float model", received=message[:300],
                           fix="Export the float model, then quantize the ONNX file with ONNX Runtime: "
                               "onnxruntime.quantization.quantize_dynamic('model.onnx', 'model.int8.onnx').")
    what = (f"Model {type(model).__name__} cannot be exported to ONNX: the operation {operation} has no ONNX form in opset {opset}."
            if operation else f"Model {type(model).__name__} cannot be exported to ONNX ({type(error).__name__}).")
    return ConfigError(what, expected="a model built from operations ONNX knows (Linear, Conv, pooling, RNN/LSTM/GRU, "
                                      "attention, elementwise functions)",
                       received=message[:300],
                       fix=(f"Replace {operation} in the model by operations ONNX supports, or export with "
                            "--format torchscript or --format safetensors instead." if operation else
                            "Export with --format torchscript or --format safetensors instead, or simplify the model's forward."))


def ort_session(path, *, threads: int | None = None):
    """An ONNX Runtime CPU session for `path`, with as many threads as torch uses (so timings compare like with like)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: ORT's notes on unused initialisers would reach the user's terminal
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
