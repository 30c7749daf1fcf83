"""Position information for attention, which by itself ignores order: fixed sinusoids or learned vectors.

Papers: Vaswani et al. 2017, section 3.5 (sinusoidal); Devlin et al. 2019 and Dosovitskiy et al.
2021 (learned). Both layers add a (seq, d_model) table to a batch of embeddings.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._base import Layer
from .attention import _positive_int, _probability

__all__ = ["SinusoidalPositionalEncoding", "LearnedPositionalEmbedding"]


class _AddPositions(Layer):
    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise self.shape_error(x, f"(batch, seq, d_model={self.d_model})", "Embed the tokens to d_model first, batch first.")
        if x.shape[1] > self.max_len:
            raise self.shape_error(x, f"a sequence of at most max_len={self.max_len} positions",
                                   f"Build the layer with max_len >= {x.shape[1]}, or truncate the sequences.")


class SinusoidalPositionalEncoding(_AddPositions):
    """Add Vaswani's fixed encoding: PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).

    Each pair of dimensions is a sinusoid of its own wavelength (2π to 10000·2π), so a fixed
    offset k is a linear map of PE(pos) and the model can attend by relative position. Nothing
    is learned; the table is a buffer, not saved in checkpoints.

    Args:
        d_model: size of the embeddings.
        max_len: longest sequence the table covers.
        dropout: dropout on the sum (the paper uses 0.1).

    Input shape: (batch, seq, d_model). Output shape: (batch, seq, d_model).

    Example:
        >>> encoding = SinusoidalPositionalEncoding(d_model=4, max_len=10)
        >>> encoding(torch.zeros(1, 2, 4)).tolist()  # position 0: sin 0, cos 0; position 1: sin 1, cos 1, sin 0.01, cos 0.01
        [[[0.0, 1.0, 0.0, 1.0], [0.8414..., 0.5403..., 0.0099..., 0.9999...]]]
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0, name: str | None = None):
        super().__init__(name)
        _positive_int("SinusoidalPositionalEncoding", d_model=d_model, max_len=max_len)
        _probability("SinusoidalPositionalEncoding", dropout)
        self.d_model, self.max_len, self.dropout = d_model, max_len, dropout
        position = torch.arange(max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
        frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))  # (ceil(d/2),)
        table = torch.zeros(max_len, d_model)  # (max_len, d_model)
        table[:, 0::2] = torch.sin(position * frequency)
        table[:, 1::2] = torch.cos(position * frequency[: d_model // 2])  # an odd d_model has one cosine fewer
        self.register_buffer("table", table, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        x = x + self.table[: x.shape[1]].to(x.dtype)  # (batch, seq, d_model)
        return F.dropout(x, self.dropout, self.training)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, dropout={self.dropout}"


class LearnedPositionalEmbedding(_AddPositions):
    """Add a learned vector per position (BERT, GPT, ViT), initialised from N(0, 0.02²).

    Args:
        d_model: size of the embeddings.
        max_len: number of positions (ViT: patches + 1 for the class token).
        dropout: dropout on the sum.

    Input shape: (batch, seq, d_model) with seq <= max_len. Output shape: (batch, seq, d_model).

    Example:
        >>> embedding = LearnedPositionalEmbedding(d_model=8, max_len=16)
        >>> embedding(torch.zeros(2, 5, 8)).shape, embedding.weight.shape
        (torch.Size([2, 5, 8]), torch.Size([16, 8]))
    """

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0, name: str | None = None):
        super().__init__(name)
        _positive_int("LearnedPositionalEmbedding", d_model=d_model, max_len=max_len)
        _probability("LearnedPositionalEmbedding", dropout)
        self.d_model, self.max_len, self.dropout = d_model, max_len, dropout
        self.weight = nn.Parameter(torch.empty(max_len, d_model))  # (max_len, d_model)
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        x = x + self.weight[: x.shape[1]]  # (batch, seq, d_model)
        return F.dropout(x, self.dropout, self.training)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, dropout={self.dropout}"
