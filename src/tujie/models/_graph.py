"""Pieces shared by the graph node classifiers (gcn, gat): input dropout for sparse features, an example graph."""

from __future__ import annotations

import weakref

import torch
from torch import nn
from torch.nn import functional as F


class SparseInputDropout(nn.Module):
    """Dropout for mostly-zero inputs (bag-of-words node features): only the nonzero entries draw a mask.

    Dropping a zero leaves it zero, so this is the same random function as `nn.Dropout`, but it draws
    one number per nonzero instead of one per entry: Cora's 2708 × 1433 features are 1.3% nonzero,
    and a full-size mask took most of a training step on a CPU (Kipf & Welling's code does the same,
    `sparse_dropout`). The nonzero positions are found once per input tensor and kept while it is
    unchanged; an input that is not mostly zero gets plain dropout.

    Input and output shape: (num_nodes, features).

    Example:
        >>> x = torch.zeros(4, 10); x[:, 0] = 1.0
        >>> out = SparseInputDropout(0.5).train()(x)
        >>> bool(((out == 0) | (out == 2)).all()), bool((out[:, 1:] == 0).all())
        (True, True)
    """

    DENSE_SHARE = 0.25  # above this share of nonzeros, masking every entry is as cheap

    def __init__(self, rate: float):
        super().__init__()
        self.rate = rate
        self._seen, self._version, self._index = None, None, None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        if self._seen is None or self._seen() is not x or self._version != x._version:  # a new or changed input
            index = x.nonzero(as_tuple=True)
            self._index = index if index[0].numel() <= self.DENSE_SHARE * x.numel() else None
            self._seen, self._version = weakref.ref(x), x._version
        if self._index is None:
            return F.dropout(x, self.rate, True)
        values = x[self._index]  # (nonzeros,)
        keep = torch.rand(values.shape, device=values.device) >= self.rate
        return torch.zeros_like(x).index_put(self._index, values * keep / (1.0 - self.rate))  # (num_nodes, features)

    def __getstate__(self) -> dict:  # the cache is per process and a weak reference cannot be pickled
        state = dict(self.__dict__)
        state["_seen"], state["_version"], state["_index"] = None, None, None
        return state

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


def example_graph(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A ring over batch * 5 nodes with 8 features each, edges in both directions (the zoo's tests).

    Example:
        >>> x, edge_index = example_graph(2)
        >>> x.shape, edge_index.shape
        (torch.Size([10, 8]), torch.Size([2, 20]))
    """
    n = batch * 5
    source = torch.arange(n)
    target = (source + 1) % n
    edge_index = torch.cat([torch.stack([source, target]), torch.stack([target, source])], dim=1)  # (2, 2n)
    return torch.randn(n, 8), edge_index
