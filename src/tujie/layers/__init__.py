"""Layers with the Keras contract: declared without input sizes, sized by the first batch.

Every layer is a plain `torch.nn.Module`; mix them freely with `torch.nn` modules.
Each public module here lists its layers in `__all__`, and they are all re-exported,
so `tj.layers.Dense`, `tj.layers.LSTM`, ... work without deep imports.
"""

import importlib
import pkgutil

from ._base import Layer
from .activations import ACTIVATIONS, get_activation

__all__ = ["Layer", "ACTIVATIONS", "get_activation"]

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_") and _module.name != "activations":
        _mod = importlib.import_module(f"{__name__}.{_module.name}")
        for _name in getattr(_mod, "__all__", ()):
            globals()[_name] = getattr(_mod, _name)
            __all__.append(_name)
