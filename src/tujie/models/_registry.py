"""The model registry: `@register_model` a builder function, then `create(name, **kwargs)` and `list()`.

Adding a model needs nothing but a new file in `tujie/models/` with a registered
builder; the parametrised test in `tests/models/test_registry.py` picks it up.
"""

from __future__ import annotations

import builtins
import fnmatch
import inspect
from typing import Callable

from torch import nn

from ..errors import ConfigError, closest

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_EXAMPLE_INPUTS: dict[str, tuple] = {}


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def register_model(fn=None, *, example_input=(1, 28, 28)):
    """Register a builder under its function name. `example_input` is one sample's shape for tests and summary.

    Example:
        >>> @register_model(example_input=(4,))
        ... def tiny_linear(num_classes=2):
        ...     return nn.Linear(4, num_classes)
        >>> create("tiny-linear").out_features
        2
    """
    def wrap(f):
        _MODELS[_key(f.__name__)] = f
        _EXAMPLE_INPUTS[_key(f.__name__)] = tuple(example_input)
        return f
    return wrap(fn) if fn is not None else wrap


def create(name: str, **kwargs) -> nn.Module:
    """Build a registered model by name with keyword arguments (unknown arguments are named in the error)."""
    key = _key(name)
    if key not in _MODELS:
        raise ConfigError(f"Unknown model {name!r}. {closest(key, _MODELS)}", expected=f"one of {', '.join(sorted(_MODELS))}",
                          received=f"model={name!r}", fix="Run `tujie models` or tj.models.list() to see them.")
    builder = _MODELS[key]
    params = inspect.signature(builder).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            raise ConfigError(f"Model {name!r} does not take {', '.join(map(repr, unknown))}. {closest(unknown[0], params)}",
                              expected=f"some of {', '.join(params)}", received=", ".join(f"{k}={kwargs[k]!r}" for k in unknown),
                              fix="Remove or rename the argument.")
    return builder(**kwargs)


def list(pattern: str = "*") -> builtins.list[str]:  # noqa: A001 - mirrors timm.list_models
    """Registered model names matching a glob pattern.

    Example:
        >>> "mlp" in list()
        True
    """
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, _key(pattern)))


def example_input(name: str) -> tuple:
    """One sample's shape that the model accepts (used by tests and summaries)."""
    return _EXAMPLE_INPUTS[_key(name)]
