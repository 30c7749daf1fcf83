"""The model zoo: `tujie.models.create(name, **kwargs)`, `tujie.models.list()`; every model a plain `nn.Module`."""

from . import cnn, mlp  # noqa: F401 - importing a family file registers its models
from ._registry import create, example_input, list, register_model
from .sequential import Model, Sequential

__all__ = ["create", "list", "register_model", "example_input", "Model", "Sequential"]
