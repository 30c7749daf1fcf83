"""Trust, chapter 19: train without memorising individuals, see how easily a model is fooled, show why it decided.

The parts, each in its own module (imported lazily: `import tujie.trust` stays light):

- `privacy`: DP-SGD through opacus (per-sample clipping, Gaussian noise, the RDP accountant).
- `adversarial`: FGSM and PGD (L∞) attacks and Madry et al.'s adversarial training.
- `explain`: saliency, integrated gradients, Grad-CAM and occlusion through captum, with
  Adebayo et al.'s sanity check.
"""

import importlib

__all__ = ["adversarial", "explain", "privacy"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
