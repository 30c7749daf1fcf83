"""The dataset registry: `load("mnist")` returns train/val/test tensors ready for the training loop.

A dataset is one loader function, registered by name, that returns the data as stored
(`RawData`: uint8 images or raw feature tables, plus what is known about them). `load` then
runs the same steps for every dataset, in this order, so they behave alike:

1. test split: only for datasets that ship without a test set (seeded, stratified for classes);
2. limit: keep the first `limit` training and test samples (smoke runs);
3. validation split: hold out a seeded random fraction of the training set;
4. normalisation, with statistics that never look at validation or test data.

Example:
    >>> bundle = load("iris", validation_split=0.2)
    >>> len(bundle.train), len(bundle.val), len(bundle.test), bundle.num_classes
    (96, 24, 30, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from ..errors import ConfigError, closest
from ..i18n import _
from .arrays import ArrayDataset

NORMALIZE_MODES = ("unit", "standard", None)
DEFAULT_TEST_SPLIT = 0.2  # for datasets without a published test set

_loaders: dict[str, Callable[..., "RawData"]] = {}
_aliases: dict[str, str] = {}


@dataclass
class RawData:
    """What a loader returns: the dataset as stored, before splitting and normalisation.

    Args:
        train: all training samples; images (N, C, H, W) with values 0..pixel_max, tables (N, F).
        test: the published test set, or None to let `load` hold out `test_split` of `train`.
        classes: class names (index = label) for classification; None means regression.
        pixel_max: the raw value of a white pixel (255, 16) for images; None for feature tables.
        mean, std: the published per-channel statistics on the [0, 1] scale, or None to compute
            them from the training split.
        notes: sentences on what was found, shown to the user.
    """

    train: ArrayDataset
    test: ArrayDataset | None = None
    classes: list[str] | None = None
    pixel_max: float | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class DatasetBundle:
    """A loaded dataset: its splits and everything a model or a plot needs to know about it.

    `normalize` and `pixel_max` record how `x` was scaled, so `denormalize` can undo it.
    For images `mean`/`std` are per channel on the [0, 1] scale; for feature tables they are
    per feature in the raw units (tables are standardised for both "unit" and "standard").

    Example:
        >>> b = load("digits", normalize="standard")
        >>> b.input_shape, b.task, b.classes[:3]
        ((1, 8, 8), 'classification', ['0', '1', '2'])
        >>> bool(b.denormalize(b.train.x).min() >= 0)
        True
    """

    name: str
    train: ArrayDataset
    val: ArrayDataset | None
    test: ArrayDataset | None
    classes: list[str] | None
    task: str  # "classification" or "regression"
    input_shape: tuple[int, ...]  # one sample, e.g. (1, 28, 28)
    num_classes: int | None
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    notes: list[str] = field(default_factory=list)
    normalize: str | None = "unit"
    pixel_max: float | None = None

    def denormalize(self, x) -> torch.Tensor:
        """Undo the normalisation: images come back in [0, 1] for display, tables in raw units.

        Args:
            x: one sample (C, H, W) / (F,) or a batch (N, C, H, W) / (N, F).

        Returns:
            A float32 tensor of the same shape.
        """
        x = torch.as_tensor(x).float()
        if self.mean is not None:
            shape = (-1,) + (1,) * (len(self.input_shape) - 1)  # (C, 1, 1) for images, (F,) for tables
            x = x * torch.tensor(self.std, device=x.device).view(shape) \
                + torch.tensor(self.mean, device=x.device).view(shape)
        if self.pixel_max is None:
            return x
        if self.normalize is None:
            x = x / self.pixel_max
        return x.clamp(0.0, 1.0)

    def __repr__(self) -> str:
        splits = ", ".join(f"{s}={len(d)}" for s, d in (("train", self.train), ("val", self.val), ("test", self.test))
                           if d is not None)
        return f"DatasetBundle({self.name!r}, {splits}, input_shape={self.input_shape}, task={self.task!r})"


def register(name: str, *, aliases=()) -> Callable:
    """Decorator: make a loader `fn(data_dir=None) -> RawData` available as `load(name)`.

    Example:
        >>> @register("tiny", aliases=("tiny-ones",))
        ... def tiny(data_dir=None):
        ...     return RawData(ArrayDataset(torch.ones(10, 2), torch.arange(10) % 2), classes=["even", "odd"])
        >>> len(load("tiny-ones").train)  # 2 of the 10 samples held out as the test set
        8
        >>> _ = _loaders.pop("tiny"), _aliases.pop("tiny-ones")
    """
    def decorator(fn):
        _loaders[name] = fn
        _aliases.update({alias: name for alias in aliases})
        return fn
    return decorator


def list_datasets() -> list[str]:
    """The registered dataset names, sorted (re-exported as `tujie.data.list`).

    Example:
        >>> "mnist" in list_datasets()
        True
    """
    return sorted(_loaders)


def load(name: str, *, data_dir=None, validation_split: float = 0.0, test_split: float | None = None,
         seed: int = 0, normalize: str | None = "unit", limit: int | None = None) -> DatasetBundle:
    """Load a registered dataset, split and normalised.

    Args:
        name: a name from `tujie.data.list()`, e.g. "mnist", "cifar10", "iris".
        data_dir: folder holding the data files; default `$TUJIE_DATA`, then the cache.
        validation_split: fraction of the training set held out as `val` (0 <= v < 1).
        test_split: fraction held out as `test` for datasets without a published test set
            (default 0.2 there); must stay None for datasets that have one.
        seed: seeds the test and validation splits.
        normalize: "unit" (images in [0, 1]), "standard" (per channel (x - mean) / std) or
            None (raw values, e.g. 0..255). Feature tables are standardised with the training
            split's statistics for both "unit" and "standard".
        limit: keep only the first `limit` training and test samples (applied before the
            validation split), for smoke runs.

    Returns:
        A `DatasetBundle`.

    Example:
        >>> b = load("wine", validation_split=0.25, seed=1)
        >>> b.train.x.shape, b.val.x.shape, b.test.x.shape
        (torch.Size([106, 13]), torch.Size([36, 13]), torch.Size([36, 13]))
    """
    key = _canonical_name(name)
    _check_arguments(validation_split, test_split, seed, normalize, limit)
    raw = _loaders[key](data_dir=data_dir)
    train, test, notes = raw.train, raw.test, [*raw.notes]

    if test is None:
        fraction = DEFAULT_TEST_SPLIT if test_split is None else test_split
        train, test = _split_test(train, fraction, seed, stratify=raw.classes is not None)
        notes.append(_("Held out {percent} of the samples as a test set ({n}; seed {seed}).").format(
            percent=f"{fraction:.0%}", n=f"{len(test):,}", seed=seed))
    elif test_split is not None:
        raise ConfigError(f"Dataset `{key}` has its own test set, so `test_split` does not apply.",
                          expected="test_split=None for this dataset", received=f"test_split={test_split}",
                          fix="Drop test_split; use validation_split to hold out part of the training set.")

    if limit is not None:
        train, test = train.subset(slice(0, limit)), test.subset(slice(0, limit))
        notes.append(_("limit={limit}: kept the first {train} training and {test} test samples.").format(
            limit=limit, train=f"{len(train):,}", test=f"{len(test):,}"))

    val = None
    if validation_split:
        train, val = _split_validation(train, validation_split, seed)
        notes.append(_("Held out {val} of {total} training samples for validation (seed {seed}).").format(
            val=f"{len(val):,}", total=f"{len(train) + len(val):,}", seed=seed))

    mean, std = _statistics(raw, train.x, normalize)
    train, val, test = (None if d is None else _normalized(d, raw, normalize, mean, std, raw.classes)
                        for d in (train, val, test))
    return DatasetBundle(
        name=key, train=train, val=val, test=test, classes=raw.classes,
        task="regression" if raw.classes is None else "classification",
        input_shape=tuple(train.x.shape[1:]), num_classes=None if raw.classes is None else len(raw.classes),
        mean=mean, std=std, notes=notes, normalize=normalize, pixel_max=raw.pixel_max)


def _canonical_name(name) -> str:
    key = name.lower() if isinstance(name, str) else name
    key = _aliases.get(key, key)
    if key not in _loaders:
        raise ConfigError(f"Unknown dataset {name!r}.", expected=f"one of {', '.join(list_datasets())}",
                          received=f"name={name!r}",
                          fix=f"{closest(str(name), [*_loaders, *_aliases])} tujie.data.list() names every dataset.".lstrip())
    return key


def _check_arguments(validation_split, test_split, seed, normalize, limit) -> None:
    def bad(argument, value, expected, fix):
        raise ConfigError(f"Invalid value received for `{argument}`.", expected=expected,
                          received=f"{argument}={value!r}", fix=fix)

    def is_number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if not is_number(validation_split) or not 0 <= validation_split < 1:
        bad("validation_split", validation_split, "a fraction 0 <= v < 1", "Pass validation_split=0.1, for example.")
    if test_split is not None and (not is_number(test_split) or not 0 < test_split < 1):
        bad("test_split", test_split, "None or a fraction 0 < v < 1", "Pass test_split=0.2, for example.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        bad("seed", seed, "an integer", "Pass seed=0, for example.")
    if normalize not in NORMALIZE_MODES:
        bad("normalize", normalize, '"unit", "standard" or None',
            f"{closest(str(normalize), ['unit', 'standard'])} Pass normalize=\"unit\" for values in [0, 1].".lstrip())
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        bad("limit", limit, "None or an integer >= 1", "Pass limit=1000 for a smoke run, or None for all samples.")


def _split_test(train: ArrayDataset, fraction: float, seed: int, stratify: bool):
    """Hold out `fraction` of `train` as a test set (same class proportions when `stratify`)."""
    from sklearn.model_selection import train_test_split  # lazy: only datasets without a test set need it

    index = torch.arange(len(train)).numpy()
    try:
        keep, held = train_test_split(index, test_size=fraction, random_state=seed,
                                      stratify=train.y.numpy() if stratify else None)
    except ValueError as e:  # e.g. a class too rare to appear in both splits
        raise ConfigError("Cannot split off the test set.", expected="a test_split that leaves every class in both splits",
                          received=f"test_split={fraction} ({e})", fix="Pass a larger test_split or more samples.") from None
    return train.subset(torch.as_tensor(keep)), train.subset(torch.as_tensor(held))


def _split_validation(train: ArrayDataset, fraction: float, seed: int):
    """Hold out a seeded random `fraction` of `train`; both parts keep the original order."""
    n = len(train)
    n_val = round(n * fraction)
    if not 0 < n_val < n:
        raise ConfigError("The validation split leaves one side empty.",
                          expected="at least one training and one validation sample",
                          received=f"validation_split={fraction} of {n} training samples (= {n_val})",
                          fix="Pass a validation_split that gives at least one sample, or a larger limit.")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    # Sorting keeps file order inside each part: "the first 8 training images" stay recognisable.
    return train.subset(order[n_val:].sort().values), train.subset(order[:n_val].sort().values)


def _statistics(raw: RawData, train_x: torch.Tensor, normalize):
    """Mean and std used to standardise, from the publication or from the training split only."""
    if normalize is None or (raw.pixel_max is not None and normalize == "unit"):
        return None, None
    if raw.pixel_max is not None:  # images: one value per channel, on the [0, 1] scale
        if raw.mean is not None:
            return tuple(raw.mean), tuple(raw.std)
        x = train_x.double() / raw.pixel_max  # (N, C, H, W)
        dims = (0, *range(2, x.ndim))  # everything but the channel
        return tuple(x.mean(dims).tolist()), tuple(x.std(dims, correction=0).tolist())
    x = train_x.double()  # (N, F): one value per feature
    std = x.std(0, correction=0)
    std[std == 0] = 1.0  # a constant feature stays 0 instead of becoming NaN
    return tuple(x.mean(0).tolist()), tuple(std.tolist())


def _normalized(ds: ArrayDataset, raw: RawData, normalize, mean, std, classes) -> ArrayDataset:
    x = ds.x.to(torch.float32, copy=True)  # never scale the loader's tensor (or a view of it) in place
    if raw.pixel_max is not None and normalize is not None:
        x /= raw.pixel_max
    if mean is not None:
        shape = (-1,) + (1,) * (x.ndim - 2)  # (C, 1, 1) for images (N, C, H, W), (F,) for tables (N, F)
        x -= torch.tensor(mean, dtype=torch.float32).view(shape)
        x /= torch.tensor(std, dtype=torch.float32).view(shape)
    return ArrayDataset(x, ds.y, classes)
