"""Save and load whole models without pickle: the architecture as JSON, the weights as safetensors.

Two layouts hold the same things:

- a folder (any path not ending in `.tujie`): `architecture.json` and `weights.safetensors`;
- one file `NAME.tujie`: a safetensors file whose metadata holds the architecture.

The architecture of a model made by `tujie.models.create(name, **kwargs)` is its registry name and
keyword arguments; that of a `Sequential` is each layer's class and constructor arguments
(`Layer.get_config()`, Keras' habit; torch layers such as `nn.Linear` by the arguments torch keeps),
plus one sample's input shape so lazy layers are sized before the weights arrive. Compile
arguments given as names (`"adam"`, `"cross_entropy"`) are saved too, and `load_model` compiles
again; optimizer state is not saved (resume a training run from its checkpoint for that).
Loading reads JSON and tensors only: nothing in the file is ever run.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .._io import write_json
from ..errors import CheckpointError, ConfigError, TujieError

FORMAT = "tujie-model-1"
ARCHITECTURE, WEIGHTS = "architecture.json", "weights.safetensors"
# torch layers rebuilt from the arguments torch keeps as attributes (anything else is refused)
TORCH_LAYERS = ("Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ReLU", "ReLU6",
                "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Tanh", "Sigmoid", "Softplus", "Softmax", "LogSoftmax",
                "Identity", "Flatten", "Unflatten", "Dropout", "Dropout1d", "Dropout2d", "AlphaDropout", "MaxPool1d",
                "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
                "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Embedding", "ZeroPad2d", "Upsample")
_SKIPPED_TORCH_ARGS = {"device", "dtype", "_weight", "_freeze", "return_indices"}
_CONTAINERS: dict[str, type] = {}  # tujie's own containers, rebuilt by class name (sequential.py registers Sequential)
_BAD_FILE_FIX = "Pass a folder or .tujie file written by model.save(path) / tj.save_model(model, path)."


def save_model(model: nn.Module, path) -> Path:
    """Save `model`'s architecture and weights to a folder, or to one file when `path` ends in `.tujie`.

    Args:
        model: a `tj.Sequential` (tujie layers and simple torch layers), or any model made by
            `tujie.models.create(name, **kwargs)`.
        path: a folder (`architecture.json` + `weights.safetensors`) or `NAME.tujie`.

    Returns:
        The path written. Every file is written atomically.

    Example:
        >>> import tempfile, os, tujie as tj
        >>> model = tj.Sequential([tj.layers.Dense(2, input_shape=(3,))])
        >>> path = save_model(model, os.path.join(tempfile.mkdtemp(), "m.tujie"))
        >>> bool((load_model(path)(torch.ones(1, 3)) == model(torch.ones(1, 3))).all())
        True
    """
    from ..train import checkpoint as ckpt

    arch = architecture(model)
    path = Path(path)
    if path.suffix == ".tujie":
        return ckpt.save_weights(path, model, {"model_format": FORMAT, "architecture": arch})
    if path.exists() and not path.is_dir():
        raise ConfigError(f"Cannot save the model into {path}: it is a file.", expected="a folder, or a path ending in .tujie",
                          received=str(path), fix="Pick another folder, or name a single file NAME.tujie.")
    ckpt.save_weights(path / WEIGHTS, model)
    write_json(path / ARCHITECTURE, arch)  # written last: a folder with an architecture is complete
    return path


def load_model(path, *, compile: bool = True) -> nn.Module:  # `compile`: Keras' spelling
    """Rebuild a model saved by `save_model` / `model.save` and load its weights; it predicts exactly as before.

    Args:
        path: the folder or `.tujie` file.
        compile: compile again when the saved compile arguments were names (a `tj.Model` only).

    Raises:
        CheckpointError: the path is missing, or not a whole tujie model (truncated, foreign, weights only).
    """
    from ..train import checkpoint as ckpt

    path = Path(path)
    if path.is_dir():
        if not (path / ARCHITECTURE).is_file():
            raise CheckpointError(f"{path} is not a saved tujie model: it has no {ARCHITECTURE}.",
                                  expected=f"a folder with {ARCHITECTURE} and {WEIGHTS}", received=f"a folder holding "
                                  f"{', '.join(sorted(p.name for p in path.iterdir())[:5]) or 'nothing'}", fix=_BAD_FILE_FIX)
        try:
            arch = json.loads((path / ARCHITECTURE).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{path / ARCHITECTURE} is not valid JSON ({e}).", expected="the architecture written by model.save",
                                  received=f"{(path / ARCHITECTURE).stat().st_size:,} bytes", fix=_BAD_FILE_FIX) from None
        tensors, _ = ckpt.read_checkpoint(path / WEIGHTS)
    else:
        tensors, meta = ckpt.read_checkpoint(path)
        arch = meta.get("architecture")
        if arch is None:
            raise CheckpointError(f"{path} holds weights but no architecture.", expected="a whole model saved by model.save(path)",
                                  received="a weights file", fix="Build the model in code, then model.load_weights(path).")
    model = from_architecture(arch, source=path)
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    _load_state(model, weights, path)
    model.eval()
    if compile and arch.get("compile") and hasattr(model, "compile"):
        model.compile(**arch["compile"])
    return model


def save_weights(model: nn.Module, path) -> Path:
    """Save `model`'s weights (its state dict) to a safetensors file, atomically; reload with `load_weights`."""
    from ..train import checkpoint as ckpt

    return ckpt.save_weights(path, model)


def load_weights(model: nn.Module, path) -> nn.Module:
    """Load weights saved by `save_weights` (or a run's `best.safetensors`) into `model`, names and shapes checked first."""
    from ..train import checkpoint as ckpt

    _load_state(model, ckpt.load_weights(path), Path(path))
    return model


def remember_origin(model: nn.Module, name: str, kwargs: dict) -> nn.Module:
    """Note that `model` is `tujie.models.create(name, **kwargs)`, so `save_model` can write it down by name."""
    model.__dict__["_tujie_origin"] = {"name": name, "kwargs": dict(kwargs)}
    return model


def register_container(cls: type) -> type:
    """Let `load_model` rebuild the container class `cls` by name (how `Sequential` is known here without an import)."""
    _CONTAINERS[cls.__name__] = cls
    return cls


def _plain(value) -> bool:
    """True for JSON data (names, numbers, lists and dicts of them): arguments that can be written down."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    return isinstance(value, dict) and all(isinstance(k, str) and _plain(v) for k, v in value.items())


# ------------------------------------------------------------------ architecture
def architecture(model: nn.Module) -> dict:
    """The JSON description `from_architecture` rebuilds `model` from (its weights aside).

    Example:
        >>> import tujie as tj
        >>> architecture(tj.Sequential([tj.layers.Dense(2)]))["layers"][0]["class"]
        'Dense'
    """
    compile_config = model.__dict__.get("_compile_config")
    origin = model.__dict__.get("_tujie_origin")
    if origin is not None:
        if not _plain(origin["kwargs"]):
            raise ConfigError(f"Model {origin['name']!r} was built with arguments that cannot be written down.",
                              expected="names, numbers, lists or dicts", received=f"{origin['kwargs']!r}",
                              fix="Save the weights with save_weights(path) and rebuild the model in code.")
        arch = {"format": FORMAT, "kind": "registered", "name": origin["name"], "kwargs": _lists(origin["kwargs"])}
    elif type(model) is nn.Sequential or _CONTAINERS.get(type(model).__name__) is type(model):
        arch = {"format": FORMAT, "kind": "sequential", **_describe(model, "model"), **_input_of(model)}
    else:
        raise ConfigError(f"tujie cannot write down the architecture of {type(model).__name__}.",
                          expected="a tj.Sequential, or a model made by tj.models.create(name, **kwargs)",
                          received=f"a {type(model).__module__}.{type(model).__name__}",
                          fix="Save the weights with save_weights(path) (model.save_weights) and rebuild the model in code "
                              "before load_weights(path); or build it with tj.models.create / tj.Sequential.")
    if compile_config:
        arch["compile"] = _lists(compile_config)
    return arch


def from_architecture(arch, *, source="the architecture") -> nn.Module:
    """A fresh model (unbuilt lazy layers sized from the saved input shape) from `architecture(model)`'s JSON."""
    from ._registry import create

    if not isinstance(arch, dict) or arch.get("format") != FORMAT or arch.get("kind") not in ("registered", "sequential"):
        raise CheckpointError(f"{source} does not describe a tujie model.", expected=f'{{"format": "{FORMAT}", "kind": ...}}',
                              received=f"{str(arch)[:120]!r}", fix=_BAD_FILE_FIX)
    try:
        if arch["kind"] == "registered":
            model = remember_origin(create(arch["name"], **_tuples(arch["kwargs"])), arch["name"], arch["kwargs"])
        else:
            model = _rebuild(arch)
            if arch.get("input_shape") is not None:
                model.build(tuple(arch["input_shape"]), getattr(torch, arch.get("input_dtype") or "float32"))
    except (KeyError, TypeError, TujieError) as e:
        raise CheckpointError(f"The model in {source} cannot be rebuilt ({type(e).__name__}: {e}).",
                              expected="an architecture this version of tujie knows", received=f"{str(arch)[:160]!r}",
                              fix="Load it with the tujie version that saved it, or rebuild the model in code and load_weights.") from None
    return model


def _describe(layer: nn.Module, where: str) -> dict:
    from .. import layers as L

    name = type(layer).__name__
    if type(layer) is nn.Sequential or _CONTAINERS.get(name) is type(layer):
        module = "torch.nn" if type(layer) is nn.Sequential else "tujie"
        return {"class": name, "module": module, "layers": [_describe(m, f"{where}[{i}]") for i, m in enumerate(layer)]}
    if isinstance(layer, L.Layer) and getattr(L, name, None) is type(layer):
        config = layer.get_config()
        if type(layer)(**_tuples(config)).get_config() != config:
            _refuse(layer, where, "its arguments do not rebuild the same layer")
        return {"class": name, "module": "tujie.layers", "config": config}
    if name in TORCH_LAYERS and getattr(nn, name, None) is type(layer):
        return {"class": name, "module": "torch.nn", "config": _torch_config(layer, where)}
    _refuse(layer, where, "tujie does not know how to rebuild it")


def _torch_config(layer: nn.Module, where: str) -> dict:
    import inspect

    config = {}
    for arg, p in inspect.signature(type(layer).__init__).parameters.items():
        if arg == "self" or arg in _SKIPPED_TORCH_ARGS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        value = getattr(layer, arg, inspect.Parameter.empty)
        if arg == "bias" and not isinstance(value, bool):
            value = value is not None  # Linear and Conv keep the tensor (or None), RNNs the flag
        if value is inspect.Parameter.empty or not _plain(value):
            _refuse(layer, where, f"its argument `{arg}` cannot be read back")
        config[arg] = _lists(value)
    with torch.device("meta"):  # rebuilt without memory: the same weights' shapes and the same description
        twin = type(layer)(**_tuples(config))
    if twin.extra_repr() != layer.extra_repr() or {k: v.shape for k, v in twin.state_dict().items()} != \
            {k: v.shape for k, v in layer.state_dict().items()}:
        _refuse(layer, where, "its arguments do not rebuild the same layer")
    return config


def _refuse(layer: nn.Module, where: str, why: str):
    raise ConfigError(f"Layer {where} ({type(layer).__module__}.{type(layer).__name__}) cannot be saved as part of the "
                      f"architecture: {why}.", expected="tujie layers, or torch layers with simple arguments "
                      "(Linear, Conv2d, ReLU, Flatten, Dropout, BatchNorm2d ...)", received=repr(layer)[:120],
                      fix="Save the weights with model.save_weights(path) and rebuild the model in code before "
                          "model.load_weights(path); or use the tujie layer (tj.layers.Dense, Conv2D ...).")


def _rebuild(entry: dict) -> nn.Module:
    from .. import layers as L

    if entry["class"] in _CONTAINERS or (entry["class"] == "Sequential" and entry.get("module") == "torch.nn"):
        children = [_rebuild(e) for e in entry["layers"]]
        return nn.Sequential(*children) if entry.get("module") == "torch.nn" else _CONTAINERS[entry["class"]](children)
    owner = {"tujie.layers": L, "torch.nn": nn}.get(entry.get("module"))
    allowed = entry["class"] in TORCH_LAYERS if owner is nn else isinstance(getattr(L, entry["class"], None), type)
    if owner is None or not allowed:
        raise ConfigError(f"Unknown layer {entry.get('module')}.{entry['class']}.", expected="a tujie layer or a known torch.nn layer",
                          received=entry["class"], fix="Load it with the tujie version that saved it.")
    return getattr(owner, entry["class"])(**_tuples(entry["config"]))


def _input_of(model: nn.Module) -> dict:
    """One sample's shape and input dtype: declared (`Input`, `input_shape=`) or seen by `fit`."""
    shape, dtype = getattr(model, "input_shape", None), model.__dict__.get("_input_dtype")
    learner = model.__dict__.get("_learner")
    if shape is None and learner is not None and learner.input_shape is not None:
        shape = learner.input_shape
        dtype = learner.example[0].dtype if learner.example else None
    name = str(dtype).removeprefix("torch.") if dtype is not None else None
    return {"input_shape": None if shape is None else list(shape), "input_dtype": name}


def _load_state(model: nn.Module, weights: dict, path: Path) -> None:
    """Load `weights` into `model`, refused with both sides named when names or shapes differ; nothing is half-loaded."""
    from ..train import checkpoint as ckpt
    from ..train.loop import needs_build

    if not weights:
        raise CheckpointError(f"{path} holds no model weights.", expected="weights written by save_weights or model.save",
                              received="a safetensors file without `model.` tensors", fix=_BAD_FILE_FIX)
    floats = {v.dtype for v in weights.values() if v.is_floating_point()}
    if len(floats) == 1 and next(iter(floats)) == torch.float64:  # a float64 model stays float64
        model.double()
    if not needs_build(model):
        ckpt.check_compatible(path, model, weights)
    try:
        model.load_state_dict(weights)  # lazy layers learn their sizes from the weights
    except RuntimeError as e:
        raise CheckpointError(f"The weights in {path} do not fit model {type(model).__name__}: {str(e)[:300]}",
                              expected="the same layer names and shapes",
                              fix="Load them into the model they were saved from.") from None


def _lists(value):
    if isinstance(value, (tuple, list)):
        return [_lists(v) for v in value]
    return {k: _lists(v) for k, v in value.items()} if isinstance(value, dict) else value


def _tuples(value):
    """JSON lists back to tuples (what shapes and kernel sizes were given as); dicts keep their keys."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return {k: _tuples(v) for k, v in value.items()} if isinstance(value, dict) else value
