"""Datasets by name: `tujie.data.load("mnist")` finds, verifies, splits and normalises a dataset.

    load(name, ...) -> DatasetBundle   a registered dataset, ready for training
    list() -> [names]                  the registered datasets
    register(name)                     decorator adding a loader `fn(data_dir=None) -> RawData`
    resolve(dataset, filename, ...)    a verified data file: data_dir / $TUJIE_DATA, cache, download
    ArrayDataset, Batcher              in-memory tensors and the fast batch iterator

Image datasets live in `vision.py`, scikit-learn's bundled ones in `tabular.py`.

Example:
    >>> from tujie import data
    >>> b = data.load("digits", validation_split=0.1)
    >>> b.train.x.shape, b.val.x.shape, b.test.x.shape
    (torch.Size([1293, 1, 8, 8]), torch.Size([144, 1, 8, 8]), torch.Size([360, 1, 8, 8]))
"""

from ._files import cache_dir, resolve, search_paths
from ._registry import DatasetBundle, RawData, load, register
from ._registry import list_datasets as list  # tujie.data.list(), like timm.list_models()
from .arrays import ArrayDataset, Batcher, as_tensor
from . import tabular, vision  # noqa: F401  (importing them registers their datasets)

__all__ = ["ArrayDataset", "Batcher", "DatasetBundle", "RawData", "as_tensor", "cache_dir", "list", "load",
           "register", "resolve", "search_paths"]
