"""The model registry: `@register_model` a builder function, then `create(name, **kwargs)` and `list()`.

Adding a model needs nothing but a new file in `tujie/models/` with a registered builder
(and its import in `models/__init__.py`); the parametrised test in
`tests/models/test_registry.py` then checks it: forward shape, finite gradients on every
parameter, summary, and the parameter count its paper states.
"""

from __future__ import annotations

import builtins
import fnmatch
import inspect
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from ..errors import ConfigError, closest


@dataclass
class ModelSpec:
    """What the registry knows about a model beyond its builder.

    Attributes:
        example_input: one sample's shape (float input), or a callable `batch_size -> input`
            returning a tensor or a tuple of tensors passed as positional arguments
            (token ids, graphs, user/item pairs).
        output_shape: one sample's output shape for the example (checked by the shared test);
            for models returning a tuple, the first element's.
        test_kwargs: builder arguments for the shared test (small inputs keep it fast).
        paper_params: parameter count stated by the paper/textbook, checked with `paper_kwargs`
            within relative `tolerance` (counted on the meta device, so big models cost nothing).
    """

    name: str
    builder: Callable[..., nn.Module]
    example_input: tuple | Callable = (1, 28, 28)
    output_shape: tuple | None = None
    test_kwargs: dict = field(default_factory=dict)
    paper_params: int | None = None
    paper_kwargs: dict = field(default_factory=dict)
    tolerance: float = 0.01

    @property
    def description(self) -> str:
        return (inspect.getdoc(self.builder) or "").split("\n")[0]


_MODELS: dict[str, ModelSpec] = {}


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def register_model(fn=None, *, example_input=(1, 28, 28), output_shape=None, test_kwargs=None, paper_params=None,
                   paper_kwargs=None, tolerance: float = 0.01):
    """Register a builder under its function name (see `ModelSpec` for the options).

    Example:
        >>> @register_model(example_input=(4,), output_shape=(2,))
        ... def tiny_linear(num_classes=2):
        ...     return nn.Linear(4, num_classes)
        >>> create("tiny-linear").out_features
        2
        >>> _ = _MODELS.pop("tiny_linear")  # keep the zoo as shipped (other tests list every model)
    """
    def wrap(f):
        _MODELS[_key(f.__name__)] = ModelSpec(_key(f.__name__), f, example_input, output_shape, dict(test_kwargs or {}),
                                              paper_params, dict(paper_kwargs or {}), tolerance)
        return f
    return wrap(fn) if fn is not None else wrap


def spec(name: str) -> ModelSpec:
    """The registry entry of a model; unknown names list the close ones."""
    key = _key(name)
    if key not in _MODELS:
        raise ConfigError(f"Unknown model {name!r}. {closest(key, _MODELS)}", expected=f"one of {', '.join(sorted(_MODELS))}",
                          received=f"model={name!r}", fix="Run `tujie models` or tj.models.list() to see them.")
    return _MODELS[key]


def create(name: str, weights=None, **kwargs) -> nn.Module:
    """Build a registered model by name with keyword arguments (unknown arguments are named in the error).

    Args:
        name: a registered model (`list()`).
        weights: optional pretrained weights (`models/weights.py`): a safetensors or torch state
            dict file in tujie's, torchvision's or timm's key names, a run directory (its best
            weights), a `tj.save_model` folder, or an https:// URL (downloaded into the cache).
            A classifier head of another size is left newly initialised; what was loaded,
            skipped and newly initialised is printed. A state dict (a mapping of tensors) works too. The path is not part of the model's origin:
            `tj.save_model` writes the weights themselves.
        **kwargs: the builder's arguments.

    Example:
        >>> create("mlp", hidden=[32]).__class__.__name__
        'Sequential'
    """
    model = _build(name, kwargs)
    if weights is not None:
        from .weights import load_weights_into, resolve_source

        report = load_weights_into(model, resolve_source(weights), name=name)
        if not (torch.distributed.is_initialized() and torch.distributed.get_rank() > 0):  # under torchrun: said once
            print(report.summary("" if isinstance(weights, dict) else str(weights)), flush=True)
    return model


def _build(name: str, kwargs: dict) -> nn.Module:
    builder = spec(name).builder
    params = inspect.signature(builder).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            raise ConfigError(f"Model {name!r} does not take {', '.join(map(repr, unknown))}. {closest(unknown[0], params)}",
                              expected=f"some of {', '.join(params)}", received=", ".join(f"{k}={kwargs[k]!r}" for k in unknown),
                              fix="Remove or rename the argument.")
    if not kwargs:
        return _remember(builder(), name, kwargs)
    try:
        return _remember(builder(**kwargs), name, kwargs)
    except (TypeError, ValueError) as e:  # a wrongly typed argument (`--set model.hidden=abc`) fails deep inside torch
        defaults = ", ".join(f"{k}={p.default!r}" for k, p in params.items() if p.default is not p.empty)
        raise ConfigError(f"Model {name!r} could not be built from its arguments ({type(e).__name__}: {e}).",
                          expected=f"arguments of the types its defaults have ({defaults or 'see tujie models'})",
                          received=", ".join(f"{k}={v!r}" for k, v in kwargs.items()),
                          fix="Correct the argument's type, e.g. --set 'model.hidden=[64, 32]' (a list of integers).") from None


def _remember(model, name: str, kwargs: dict):
    """Note how the model was made, so `tj.save_model` can write it down by name (no pickle)."""
    model.__dict__["_tujie_origin"] = {"name": _key(name), "kwargs": dict(kwargs)}
    return model


def list(pattern: str = "*") -> builtins.list[str]:  # noqa: A001 - mirrors timm.list_models
    """Registered model names matching a glob pattern.

    Example:
        >>> "mlp" in list()
        True
    """
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, _key(pattern)))


def example_input(name: str) -> tuple | Callable:
    """One sample's shape, or the callable that makes an example batch (see `ModelSpec`)."""
    return spec(name).example_input


def example_batch(name: str, batch_size: int = 2) -> tuple:
    """Positional arguments for a forward pass on an example batch.

    Example:
        >>> [t.shape for t in example_batch("mlp", 3)]
        [torch.Size([3, 1, 28, 28])]
    """
    made = spec(name).example_input
    if callable(made):
        made = made(batch_size)
        return made if isinstance(made, tuple) else (made,)
    return (torch.randn(batch_size, *made),)


def count_params(name: str, **kwargs) -> int:
    """Parameters of a model built on the meta device: no memory, no init time (VGG-16 costs nothing)."""
    from ..train.loop import needs_build

    with torch.device("meta"):
        model = create(name, **kwargs)
        if needs_build(model):  # lazy layers get their sizes from a (meta) example batch
            model(*example_batch(name, 1))
    return sum(p.numel() for p in model.parameters())
