"""Int8 quantization on the CPU with torch's own `torch.ao.quantization` (chapter 15).

Three ways to store and run a float model's weights (and activations) as 8-bit integers:

- `quantize_dynamic`: weights of Linear / LSTM / GRU become int8 once; activations are quantized on
  the fly, batch by batch. No data needed; the usual choice for MLPs, RNNs and Transformers, where
  the time goes into matrix products with big weight matrices. About 4× smaller weights.
- `quantize_static`: post-training static quantization: observers watch a few calibration batches
  to fix each activation's scale and zero point, then convolutions and linear layers run int8 end to
  end (FX graph mode: Conv+BatchNorm+ReLU fused first). The CNN choice.
- `quantization_aware_training`: the same graph with fake-quantization (round to the int8 grid in
  the forward pass, straight-through in the backward) fine-tuned through `tj.Learner` for a few
  epochs, so the weights learn to live on the grid; then converted to real int8 (Jacob et al. 2018).

Every function returns a new model and leaves the one given untouched. tujie's own lazy layers
(`Dense`, `Conv1D`, `Conv2D`) are first swapped for the `nn.Linear` / `nn.Conv*d` with the same
weights, since torch quantizes only its own module types.

A forward that FX cannot trace symbolically (a shape check `if x.shape[1] != ...`, Python control
flow on a tensor, as in the zoo's models' input checks) does not stop static quantization: its
largest traceable blocks (a ResNet's stem, stages and head) are quantized each on its own, and the
untraceable glue around them stays float (`report` says which). Only a model in which no block with
a Conv or Linear layer traces is refused, naming the operation that broke the trace.

About torch's deprecation: torch 2.13 still ships `torch.ao.quantization` (eager `quantize_dynamic`,
FX `prepare_fx` / `prepare_qat_fx` / `convert_fx`, the x86 = fbgemm + onednn backend) but marks it
deprecated in favour of torchao (`quantize_` and the pt2e flow). torchao is not a dependency of
tujie; these functions silence that one warning and work as documented while torch keeps the code.

Example:
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    >>> small = quantize_dynamic(model)
    >>> type(small[0]).__name__, type(model[0]).__name__
    ('Linear', 'Linear')
    >>> small[0].__module__
    'torch.ao.nn.quantized.dynamic.modules.linear'
    >>> small(torch.randn(2, 64)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

import contextlib
import copy
import os
import traceback
import warnings

import torch
from torch import nn

from ..errors import ConfigError
from ..train.callbacks import Callback

__all__ = ["QuantizedModel", "quantization_aware_training", "quantize_dynamic", "quantize_static", "torch_layers"]

BACKENDS = ("x86", "fbgemm", "qnnpack", "onednn")
DYNAMIC_TYPES = (nn.Linear, nn.LSTM, nn.GRU)     # what dynamic int8 replaces
STATIC_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)  # what static int8 runs as integers


@contextlib.contextmanager
def _quiet_deprecation():
    """torch 2.13 marks torch.ao.quantization deprecated (pointing to torchao); the code still works."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao\.quantization")
        warnings.filterwarnings("ignore", message=r".*TypedStorage is deprecated")
        warnings.filterwarnings("ignore", message=r"Please use quant_min and quant_max")
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel")
        yield


@contextlib.contextmanager
def _engine(backend: str):
    """Run with the quantized engine `backend` (x86 is torch's default on this CPU), then restore it."""
    if backend not in BACKENDS:
        raise ConfigError("Invalid value received for `backend`.", expected=f"one of {', '.join(BACKENDS)}",
                          received=f"backend={backend!r}", fix="Pass backend='x86' (servers and desktops) or 'qnnpack' (ARM phones).")
    engines = torch.backends.quantized.supported_engines
    if backend not in engines:
        raise ConfigError(f"This build of torch has no '{backend}' quantized engine.", expected=f"one of {', '.join(engines)}",
                          received=f"backend={backend!r}", fix="Pick one of the engines this torch supports.")
    before = torch.backends.quantized.engine
    torch.backends.quantized.engine = backend
    try:
        yield
    finally:
        torch.backends.quantized.engine = before


# ------------------------------------------------------------------ tujie layers as torch layers
class _Activated(nn.Module):
    """A torch layer followed by the activation function a tujie layer kept (None: identity)."""

    def __init__(self, layer: nn.Module, activation):
        super().__init__()
        self.layer, self.activation = layer, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer(x)
        return x if self.activation is None else self.activation(x)


def _as_torch(module: nn.Module) -> nn.Module | None:
    """The torch module computing what a built tujie Dense / Conv1D / Conv2D / Flatten computes, or None."""
    from ..layers.conv import AvgPool2D, Conv1D, Conv2D, MaxPool2D
    from ..layers.core import Dense, Flatten

    if isinstance(module, Flatten):
        return nn.Flatten()
    if isinstance(module, (MaxPool2D, AvgPool2D)):
        make = nn.MaxPool2d if isinstance(module, MaxPool2D) else nn.AvgPool2d
        return make(module.pool_size, module.strides, module.padding)
    if isinstance(module, Dense) and module.built:
        linear = nn.Linear(module.in_features, module.units, bias=module.bias is not None)
    elif isinstance(module, (Conv1D, Conv2D)) and module.built:
        make = nn.Conv1d if isinstance(module, Conv1D) else nn.Conv2d
        linear = make(module.in_channels, module.filters, module.kernel_size, stride=module.strides,
                      padding=0 if module.padding == "valid" else module.padding, dilation=module.dilation,
                      groups=module.groups, bias=module.bias is not None)
    else:
        return None
    with torch.no_grad():
        linear.weight.copy_(module.weight)
        if module.bias is not None:
            linear.bias.copy_(module.bias)
    linear.to(module.weight.device)
    return linear if module.activation is None else _Activated(linear, module.activation)


def torch_layers(model: nn.Module) -> nn.Module:
    """A copy of `model` whose built tujie `Dense`, `Conv1D`, `Conv2D`, `Flatten` and 2-D pools are torch's own layers.

    The outputs are the same; the copy has no lazy sizing and no input checks in those layers, so
    torch's quantization recognises and FX can trace them.

    Example:
        >>> import torch, tujie as tj
        >>> model = tj.models.create("mlp", hidden=(8,)); _ = model(torch.zeros(1, 1, 4, 4))
        >>> plain = torch_layers(model)
        >>> [type(m).__name__ for m in plain.children()]
        ['Flatten', '_Activated', 'Linear']
        >>> x = torch.randn(3, 1, 4, 4); bool(torch.allclose(plain(x), model(x)))
        True
    """
    model = copy.deepcopy(model)
    for name, child in list(model.named_children()):
        swapped = _as_torch(child)
        setattr(model, name, swapped if swapped is not None else torch_layers(child))
    return model


def _count(model: nn.Module, types) -> int:
    return sum(isinstance(m, types) for m in model.modules())


def _nothing_to_quantize(model: nn.Module, types, how: str) -> ConfigError:
    names = ", ".join(t.__name__ for t in types)
    return ConfigError(f"{type(model).__name__} has nothing that {how} int8 quantization can quantize.",
                       expected=f"at least one {names} layer (tujie's Dense/Conv layers count once built)",
                       received=f"layers {sorted({type(m).__name__ for m in model.modules() if not list(m.children())}) or 'none'}",
                       fix="Quantize a model with linear or convolution layers; run one batch through a lazy tujie model first.")


# ------------------------------------------------------------------------------- dynamic int8
def quantize_dynamic(model: nn.Module, dtype: torch.dtype = torch.qint8, *, types=DYNAMIC_TYPES) -> nn.Module:
    """Dynamic quantization: int8 weights for every Linear, LSTM and GRU; activations quantized per batch.

    Args:
        model: a trained float model (any forward: nothing is traced). Left untouched.
        dtype: torch.qint8 (4× smaller weights) or torch.float16 (2×).
        types: the layer types to quantize.

    Returns:
        A new model in eval mode, for CPU inference (`torch.backends.quantized.engine`).

    Example:
        >>> import torch
        >>> rnn = torch.nn.LSTM(8, 16, batch_first=True)
        >>> type(quantize_dynamic(rnn)).__module__
        'torch.ao.nn.quantized.dynamic.modules.rnn'
    """
    if dtype not in (torch.qint8, torch.float16):
        raise ConfigError("Invalid value received for `dtype`.", expected="torch.qint8 or torch.float16",
                          received=f"dtype={dtype!r}", fix="Pass dtype=torch.qint8.")
    plain = torch_layers(model).cpu().eval()
    if not _count(plain, tuple(types)):
        raise _nothing_to_quantize(model, tuple(types), "dynamic")
    with _quiet_deprecation():
        from torch.ao.quantization import quantize_dynamic as torch_quantize_dynamic

        holder = nn.ModuleDict({"model": plain})  # torch swaps children only: a bare nn.LSTM needs a parent
        return torch_quantize_dynamic(holder, set(types), dtype=dtype)["model"]


# -------------------------------------------------------------------- static int8 and QAT (FX)
class QuantizedModel(nn.Module):
    """What static quantization and QAT return: the int8 model, and `report` (which blocks are int8).

    `report["quantized"]` lists the blocks quantized as graphs ("(whole model)" when the whole forward traced),
    `report["float"]` the untraceable ones left float, with the operation that stopped the trace.
    """

    def __init__(self, model: nn.Module, report: dict):
        super().__init__()
        self.model, self.report = model, report

    def forward(self, *inputs):
        return self.model(*inputs)


def _trace_failure(error: Exception) -> str:
    """Where FX gave up: the innermost line of code outside torch (the user's forward), and the error's first line."""
    torch_dir = os.path.dirname(torch.__file__)
    frames = traceback.extract_tb(error.__traceback__)
    while frames and frames[-1].filename.startswith(torch_dir):  # Proxy.__bool__ and friends: torch's own frames
        frames.pop()
    last = frames[-1] if frames and frames[-1].filename != __file__ else None
    where = f"{os.path.basename(last.filename)}:{last.lineno} `{(last.line or '').strip()}`" if last else "?"
    return f"{where} ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"


def _block_inputs(model: nn.Module, example_input) -> dict[nn.Module, tuple]:
    """Each submodule's positional inputs on one forward of `example_input` (its first call)."""
    seen: dict[nn.Module, tuple] = {}
    handles = [m.register_forward_pre_hook(lambda m, args: seen.setdefault(m, args)) for m in model.modules()]
    try:
        with torch.no_grad():
            model(*example_input)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def _prepare_blocks(model: nn.Module, example_input: tuple, prepare, types, *, train: bool = False) -> tuple[nn.Module, dict]:
    """`prepare` the whole model as one graph, or else, recursively, its largest traceable blocks."""
    inputs = _block_inputs(model.eval(), example_input)  # eval: reading the inputs moves no BatchNorm statistics
    model.train(train)
    report = {"quantized": [], "float": []}

    def visit(module: nn.Module, name: str) -> nn.Module:
        if not _count(module, types) or module not in inputs:  # nothing to quantize here, or never called
            return module
        try:
            return prepare(module, inputs[module])
        except Exception as error:  # noqa: BLE001 -- FX raises TraceError, TypeError, AttributeError ... on untraceable code
            children = list(module.named_children())
            report["float"].append({"block": name or type(module).__name__, "reason": _trace_failure(error)})
            if not children:
                return module
            for child_name, child in children:
                setattr(module, child_name, visit(child, f"{name}.{child_name}" if name else child_name))
            return module

    prepared = visit(model, "")
    # a block is prepared whole or not at all, so no graph sits inside another
    report["quantized"] = [n or "(whole model)" for n, m in prepared.named_modules() if isinstance(m, torch.fx.GraphModule)]
    return prepared, report


def _convert_blocks(model: nn.Module) -> nn.Module:
    """`convert_fx` every prepared graph (the whole model, or each prepared block in place)."""
    from torch.ao.quantization.quantize_fx import convert_fx

    if isinstance(model, torch.fx.GraphModule):
        return convert_fx(model)
    for name, child in list(model.named_children()):
        setattr(model, name, _convert_blocks(child))
    return model


def _check_quantized(model: nn.Module, report: dict, how: str) -> None:
    if report["quantized"]:
        return
    reasons = "; ".join(f"{r['block']}: {r['reason']}" for r in report["float"][:3])
    raise ConfigError(f"FX graph mode cannot trace {type(model).__name__} (or, without strict, any block of it with a Conv or "
                      f"Linear layer), so {how} int8 quantization cannot run.",
                      expected="a forward without Python control flow on tensors (if/for on values or shapes)",
                      received=reasons or "no traceable block",
                      fix="Use quantize_dynamic(model) (it traces nothing), or move the data-dependent checks out of forward.")


def _as_inputs(example_input) -> tuple:
    return tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)


def _calibration_inputs(batch):
    """The inputs of a calibration batch: `x`, `(x, y)` or `(x1, x2, ..., y)` (the target dropped)."""
    if torch.is_tensor(batch):
        return (batch,)
    parts = tuple(batch)
    return parts[:-1] if len(parts) > 1 else parts


def quantize_static(model: nn.Module, calibration, *, example_input, backend: str = "x86",
                    max_batches: int | None = None, strict: bool = False) -> QuantizedModel:
    """Post-training static int8: calibrate activation ranges on a few batches, then run convs and linears as int8.

    Args:
        model: a trained float model (usually a CNN). Left untouched.
        calibration: an iterable of batches (`x`, or `(x, y)`: the target is ignored), e.g. a
            `DataLoader` or a list of tensors: a few hundred typical inputs are enough.
        example_input: one input batch (or a tuple of inputs) for tracing, e.g. `x[:1]`.
        backend: the quantized engine: "x86" (fbgemm + onednn, desktops and servers) or "qnnpack" (ARM).
        max_batches: stop calibrating after this many batches.
        strict: refuse a model whose whole forward FX cannot trace (naming the operation), instead
            of quantizing its traceable blocks and keeping the rest float.

    Returns:
        A `QuantizedModel` in eval mode; `.report` lists the blocks that became int8 and those
        left float (with why).

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        ...                           torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3)).eval()
        >>> small = quantize_static(net, [torch.randn(16, 1, 8, 8)], example_input=torch.randn(1, 1, 8, 8))
        >>> small.report["quantized"], small(torch.randn(2, 1, 8, 8)).shape
        (['(whole model)'], torch.Size([2, 3]))
    """
    from torch.ao.quantization import get_default_qconfig_mapping

    example = _as_inputs(example_input)
    plain = torch_layers(model).cpu().eval()
    if not _count(plain, STATIC_TYPES):
        raise _nothing_to_quantize(model, STATIC_TYPES, "static")
    with _quiet_deprecation(), _engine(backend):
        from torch.ao.quantization.quantize_fx import prepare_fx

        mapping = get_default_qconfig_mapping(backend)
        prepared, report = _prepare_blocks(plain, example, lambda m, ex: prepare_fx(m, mapping, example_inputs=ex), STATIC_TYPES)
        _check_quantized(model, report if not strict or report["quantized"] == ["(whole model)"] else {**report, "quantized": []},
                         "static")
        with torch.no_grad():
            for number, batch in enumerate(calibration, 1):  # the observers record each activation's range
                prepared(*(t.cpu() for t in _calibration_inputs(batch)))
                if max_batches is not None and number >= max_batches:
                    break
        return QuantizedModel(_convert_blocks(prepared), report).eval()


def quantization_aware_training(model: nn.Module, train, *, example_input, epochs: int = 3, lr: float = 1e-4,
                                batch_size: int = 64, optimizer="adam", backend: str = "x86", validation_data=None,
                                freeze_observers_after: int | None = None, seed: int = 0, verbose: int = 0,
                                learner_options: dict | None = None) -> QuantizedModel:
    """Quantization-aware training: fine-tune with fake-quantization through `tj.Learner`, then convert to int8.

    Args:
        model: a trained float model. Left untouched (a copy is fine-tuned).
        train: training data in any form `Learner.fit` takes (`(x, y)`, a bundle, a DataLoader).
        example_input: one input batch for tracing, e.g. `x[:1]`.
        epochs, lr, batch_size, optimizer: the fine-tuning (a small lr: the weights are already trained).
        backend: the quantized engine ("x86" or "qnnpack").
        validation_data: evaluated after every epoch (with fake-quantization on).
        freeze_observers_after: epochs after which the activation ranges stop moving and BatchNorm
            statistics freeze (the usual QAT recipe's last epochs); None: never.
        seed: seeds the fine-tuning.
        learner_options: more `tj.Learner` keywords (callbacks, scheduler, ...).

    Returns:
        A `QuantizedModel` (eval mode) with `.history` (the fine-tuning's epochs) and `.report`.

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        >>> x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
        >>> small = quantization_aware_training(net, (x, y), example_input=x[:1], epochs=1)
        >>> len(small.history), small(x[:3]).shape
        (1, torch.Size([3, 2]))
    """
    from torch.ao.quantization import get_default_qat_qconfig_mapping

    from ..train.loop import Learner
    from ..utils import seed_everything

    example = _as_inputs(example_input)
    plain = torch_layers(model).cpu()
    if not _count(plain, STATIC_TYPES):
        raise _nothing_to_quantize(model, STATIC_TYPES, "quantization-aware")
    seed_everything(seed)
    with _quiet_deprecation(), _engine(backend):
        from torch.ao.quantization.quantize_fx import prepare_qat_fx

        mapping = get_default_qat_qconfig_mapping(backend)
        prepared, report = _prepare_blocks(plain, example, lambda m, ex: prepare_qat_fx(m, mapping, example_inputs=ex),
                                           STATIC_TYPES, train=True)
        _check_quantized(model, report, "quantization-aware")
        options = dict(learner_options or {})
        callbacks = list(options.pop("callbacks", ()))
        if freeze_observers_after is not None:
            callbacks.append(FreezeObservers(freeze_observers_after))
        learner = Learner(prepared, optimizer=optimizer, lr=lr, device="cpu", seed=seed, callbacks=callbacks, **options)
        history = learner.fit(train, epochs=epochs, batch_size=batch_size, validation_data=validation_data, verbose=verbose)
        prepared.eval()
        quantized = QuantizedModel(_convert_blocks(prepared), report).eval()
    quantized.history = history
    return quantized


class FreezeObservers(Callback):
    """After `after` epochs of QAT, fix the activation ranges and the BatchNorm statistics (Jacob et al. 2018, §3)."""

    def __init__(self, after: int):
        self.after = after

    def on_epoch_begin(self, learner, epoch: int) -> None:
        if epoch > self.after:
            learner.model.apply(torch.ao.quantization.disable_observer)
            learner.model.apply(torch.ao.nn.intrinsic.qat.freeze_bn_stats)
