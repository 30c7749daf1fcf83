"""In-memory datasets and the index-slicing batcher that feeds the training loop.

A torch `DataLoader` collates a batch item by item in Python; for small tensors that
costs more than the model's own forward and backward. `Batcher` instead draws one random
permutation per epoch and gathers each batch with a single indexing call, so the
loader's cost per step is a few microseconds whatever the batch size.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from ..errors import DataError


class ArrayDataset(Dataset):
    """Features `x` and optional targets `y` held as tensors, first dimension = samples.

    Args:
        x: tensor or array, shape (N, ...).
        y: tensor or array, shape (N, ...) or None (for prediction).
        classes: optional class names, index = label.
        float_dtype: the floating dtype of a float64 model's weights (torch.float64) keeps float64
            data float64 (and casts float32 up); the default turns float64 arrays into float32.

    Example:
        >>> ds = ArrayDataset(torch.zeros(10, 3), torch.arange(10))
        >>> len(ds), ds[2][1].item()
        (10, 2)
    """

    def __init__(self, x, y=None, classes: list[str] | None = None, *, float_dtype: torch.dtype = torch.float32):
        self.x = as_tensor(x, "x", float_dtype)
        self.y = None if y is None else as_tensor(y, "y", float_dtype)
        if self.y is not None and len(self.y) != len(self.x):
            raise DataError("Features and targets have different numbers of samples.",
                            expected="x and y with the same first dimension",
                            received=f"x of shape {tuple(self.x.shape)}, y of shape {tuple(self.y.shape)}",
                            fix="Pass one target per sample.")
        self.classes, self.float_dtype = classes, float_dtype

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return (self.x[i], self.y[i]) if self.y is not None else self.x[i]

    @property
    def tensors(self) -> tuple[torch.Tensor, ...]:
        return (self.x,) if self.y is None else (self.x, self.y)

    def subset(self, index) -> ArrayDataset:
        """A new dataset holding the rows at `index` (a tensor of indices, a slice, or a mask)."""
        return ArrayDataset(self.x[index], None if self.y is None else self.y[index], self.classes, float_dtype=self.float_dtype)

    def __repr__(self) -> str:
        y = "" if self.y is None else f", y={tuple(self.y.shape)} {self.y.dtype}"
        return f"ArrayDataset(x={tuple(self.x.shape)} {self.x.dtype}{y})"


class Batcher:
    """Iterate over tensors in batches by slicing a shuffled index.

    Args:
        tensors: tensors sharing their first dimension.
        batch_size: samples per batch; the last batch may be smaller unless `drop_last`.
        shuffle: draw a fresh permutation every epoch (every `iter()`).
        generator: a `torch.Generator` for reproducible shuffling.

    Example:
        >>> b = Batcher(torch.arange(10), batch_size=4)
        >>> [t[0].tolist() for t in b]
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int = 32, shuffle: bool = False,
                 generator: torch.Generator | None = None, drop_last: bool = False):
        if batch_size < 1:
            raise DataError("Invalid value received for `batch_size`.", expected="an integer >= 1",
                            received=f"batch_size={batch_size}", fix="Pass batch_size=32, for example.")
        self.tensors, self.batch_size, self.shuffle = tensors, int(batch_size), shuffle
        self.generator, self.drop_last = generator, drop_last
        self.num_samples = len(tensors[0])

    def __len__(self) -> int:
        full, rest = divmod(self.num_samples, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        n, bs = self.num_samples, self.batch_size
        stop = n - n % bs if self.drop_last else n
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
            for start in range(0, stop, bs):
                index = order[start:start + bs]
                yield tuple([t[index] for t in self.tensors])  # list, not a generator: cheaper per step
        else:  # contiguous slices are views: no copy at all
            for start in range(0, stop, bs):
                yield tuple([t[start:start + bs] for t in self.tensors])


def as_tensor(a, name: str = "x", float_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A numpy array, list or tensor as a tensor (float64 arrays become float32, as torch layers expect,
    unless `float_dtype=torch.float64`, for a float64 model, which turns float32 into float64 too)."""
    if isinstance(a, torch.Tensor):
        t = a
    else:
        try:
            t = torch.as_tensor(a)
        except (TypeError, ValueError, RuntimeError) as e:
            raise DataError(f"Could not turn `{name}` into a tensor.", expected="a tensor, numpy array or nested list of numbers",
                            received=f"{type(a).__name__} ({e})", fix=f"Convert `{name}` with numpy.asarray first.") from None
    if t.dtype == torch.float64 and float_dtype != torch.float64:
        t = t.to(float_dtype)
    elif t.dtype == torch.float32 and float_dtype == torch.float64:
        t = t.double()
    if t.ndim == 0:
        raise DataError(f"`{name}` is a scalar.", expected="an array with one row per sample",
                        received=f"{name}={t.item()!r}", fix=f"Pass {name} with shape (num_samples, ...).")
    return t


def labelled_tensors(data, purpose: str, call: str) -> tuple[torch.Tensor, torch.Tensor]:
    """`(x, y)` tensors from an `(x, y)` tuple or an ArrayDataset; a DataError when there are no targets.

    Args:
        purpose: what needs the labels, for the message ("Cross-validation").
        call: the call to show in the fix ("cross_validate(build_learner, (x, y))").

    Example:
        >>> x, y = labelled_tensors((torch.zeros(4, 2), torch.arange(4)), "Bagging", "bagging(build, (x, y))")
        >>> x.shape, y.tolist()
        (torch.Size([4, 2]), [0, 1, 2, 3])
    """
    if isinstance(data, ArrayDataset):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        x, y = data, None
    if y is None:
        raise DataError(f"{purpose} data has no targets.", expected="an (x, y) tuple or an ArrayDataset with y",
                        received=f"a {type(data).__name__}" + (" without y" if isinstance(data, ArrayDataset) else ""),
                        fix=f"Pass {call}.")
    dataset = ArrayDataset(x, y)  # converts arrays and checks that x and y are aligned
    return dataset.x, dataset.y
