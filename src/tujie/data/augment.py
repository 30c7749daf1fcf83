"""Data augmentation on whole batches with kornia, built from names (so recipes can declare it in YAML).

The augmentation runs inside the training step on the batch tensor (batch, C, H, W),
on the training device: one call per batch instead of one per image, and on a GPU
the GPU does the work. Validation and test batches are never augmented.

    augment:                    # in a recipe
      - horizontal_flip: {}
      - random_crop: {size: 32, padding: 4}
"""

from __future__ import annotations

from torch import nn

from ..errors import ConfigError, closest


def _ops():
    import kornia.augmentation as K  # imported on first use: kornia takes a while to import

    return {
        "random_crop": lambda size, padding=0, **kw: K.RandomCrop((size, size) if isinstance(size, int) else tuple(size),
                                                                   padding=padding, **kw),
        "horizontal_flip": lambda p=0.5, **kw: K.RandomHorizontalFlip(p=p, **kw),
        "vertical_flip": lambda p=0.5, **kw: K.RandomVerticalFlip(p=p, **kw),
        "rotation": lambda degrees=15.0, **kw: K.RandomRotation(degrees=degrees, **kw),
        "affine": lambda degrees=0.0, **kw: K.RandomAffine(degrees=degrees, **kw),
        "color_jitter": lambda brightness=0.2, contrast=0.2, saturation=0.2, hue=0.0, **kw:
            K.ColorJitter(brightness, contrast, saturation, hue, **kw),
        "random_erasing": lambda p=0.5, **kw: K.RandomErasing(p=p, **kw),
    }


NAMES = ("random_crop", "horizontal_flip", "vertical_flip", "rotation", "affine", "color_jitter", "random_erasing")


def build_augmentation(spec) -> nn.Module | None:
    """An `nn.Sequential` of kornia augmentations from a list of names or `{name: {options}}` items.

    Args:
        spec: e.g. `["horizontal_flip", {"random_crop": {"size": 32, "padding": 4}}]`; empty/None → None.

    Example:
        >>> aug = build_augmentation(["horizontal_flip", {"random_crop": {"size": 8, "padding": 2}}])
        >>> aug(torch.rand(4, 3, 8, 8)).shape
        torch.Size([4, 3, 8, 8])
    """
    if not spec:
        return None
    ops = _ops()
    steps = []
    for item in spec:
        name, options = (item, {}) if isinstance(item, str) else next(iter(item.items())) if isinstance(item, dict) and len(item) == 1 else (None, None)
        if name not in ops:
            raise ConfigError(f"Unknown augmentation {name or item!r}. {closest(str(name or item), ops)}",
                              expected=f"one of {', '.join(ops)}, as a name or a {{name: {{options}}}} mapping",
                              received=repr(item), fix="Fix the `augment` list of the recipe.")
        try:
            steps.append(ops[name](**(options or {})))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"Invalid options for augmentation {name!r}: {e}.", received=repr(options),
                              fix="See kornia.augmentation for the accepted arguments.") from None
    return nn.Sequential(*steps)
