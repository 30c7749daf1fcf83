"""The model zoo: `tujie.models.create(name, **kwargs)`, `tujie.models.list()`; every model a plain `nn.Module`.

One file per model family. Every public module in this package is imported here, which
registers its models: adding a family needs nothing beyond its new file.
"""

import importlib
import pkgutil

from ._registry import (ModelSpec, count_params, create, example_batch, example_input, list, register_model,  # noqa: F401
                        spec)
from .sequential import Model, Sequential

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["create", "list", "register_model", "spec", "example_input", "example_batch", "count_params", "ModelSpec",
           "Model", "Sequential"]
