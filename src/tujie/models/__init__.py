"""The model zoo: `tujie.models.create(name, **kwargs)`, `tujie.models.list()`; every model a plain `nn.Module`."""

from . import cnn, mlp  # noqa: F401 - importing a family file registers its models
from ._registry import ModelSpec, count_params, create, example_batch, example_input, list, register_model, spec
from .sequential import Model, Sequential

__all__ = ["create", "list", "register_model", "spec", "example_input", "example_batch", "count_params", "ModelSpec",
           "Model", "Sequential"]
