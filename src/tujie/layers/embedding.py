"""Embedding: a learned (or pretrained) vector per token id."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError
from ._base import Layer

__all__ = ["Embedding"]


class Embedding(Layer):
    """Look up one `output_dim`-vector per integer id in a table of `input_dim` rows.

    Args:
        input_dim: vocabulary size; ids run from 0 to input_dim - 1.
        output_dim: size of each vector.
        padding_idx: an id (e.g. the padding token's) whose vector gets no gradient; it starts
            at zeros unless `weights` are given (as `torch.nn.Embedding`). Negative counts from the end.
        weights: a pretrained (input_dim, output_dim) matrix (NumPy array or tensor), e.g. GloVe
            vectors; copied, so the original is left untouched (a NumPy array becomes torch's default
            dtype, float32; a tensor keeps its own).
        trainable: False freezes the table (no gradient), as `nn.Embedding.from_pretrained(freeze=True)`.

    Input shape: (batch, seq) integer ids (any shape works). Output shape: (batch, seq, output_dim).

    Vectors start as in `torch.nn.Embedding` (standard normal).

    Example:
        >>> layer = Embedding(1000, 16, padding_idx=0)
        >>> layer(torch.tensor([[5, 7, 0, 0]])).shape
        torch.Size([1, 4, 16])
        >>> frozen = Embedding(3, 2, weights=[[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]], trainable=False)
        >>> frozen(torch.tensor([[2, 1]])).tolist()
        [[[3.0, 4.0], [1.0, 2.0]]]
    """

    def __init__(self, input_dim: int, output_dim: int, padding_idx: int | None = None, weights=None,
                 trainable: bool = True, name: str | None = None):
        super().__init__(name)
        for arg, value, example in (("input_dim", input_dim, "the vocabulary size, e.g. Embedding(10000, 64)"),
                                    ("output_dim", output_dim, "the vector size, e.g. Embedding(10000, 64)")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"Invalid value received for argument `{arg}` of Embedding.", expected="a positive integer",
                                  received=f"{arg}={value!r}", fix=f"Pass {example}.")
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, int) or not -input_dim <= padding_idx < input_dim:
                raise ConfigError("Invalid value received for argument `padding_idx` of Embedding.",
                                  expected=f"None or an id in [-{input_dim}, {input_dim - 1}]", received=f"padding_idx={padding_idx!r}",
                                  fix="Pass the padding token's id (often 0), or None.")
            padding_idx %= input_dim
        self.input_dim, self.output_dim, self.padding_idx, self.trainable = input_dim, output_dim, padding_idx, trainable
        if weights is None:
            self.weight = nn.Parameter(torch.empty(input_dim, output_dim))  # (input_dim, output_dim)
            nn.init.normal_(self.weight)  # as torch.nn.Embedding
            if padding_idx is not None:
                with torch.no_grad():
                    self.weight[padding_idx].fill_(0)
        else:
            table = torch.as_tensor(weights).detach()
            if table.shape != (input_dim, output_dim) or not (table.is_floating_point() or table.dtype in (torch.int32, torch.int64)):
                raise ConfigError("Invalid value received for argument `weights` of Embedding.",
                                  expected=f"a numeric matrix of shape (input_dim, output_dim) = ({input_dim}, {output_dim})",
                                  received=f"weights of shape {tuple(table.shape)} and dtype {table.dtype}",
                                  fix="Build Embedding(weights.shape[0], weights.shape[1], weights=weights).")
            # a tensor keeps its float dtype; NumPy's float64 (np.loadtxt's default) becomes torch's float32
            dtype = table.dtype if torch.is_tensor(weights) and table.is_floating_point() else torch.get_default_dtype()
            self.weight = nn.Parameter(table.to(dtype=dtype, copy=True))
        self.weight.requires_grad_(trainable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise ShapeError(f"Layer '{self.name}' (Embedding) received ids of dtype {x.dtype}.",
                             expected="integer token ids (torch.int64)", received=f"input of dtype {x.dtype} and shape {tuple(x.shape)}",
                             fix="Pass ids as x.long(); an Embedding takes token ids, not features (use Dense for those).")
        if x.dtype not in (torch.int64, torch.int32):
            x = x.long()  # uint8 / int16 ids: the lookup takes int32 or int64 only
        if x.numel() and x.device.type != "meta":
            low, high = torch.aminmax(x)  # one cheap pass; .item() syncs a GPU, the price of a clear error
            low, high = int(low), int(high)
            if low < 0 or high >= self.input_dim:
                bad = high if high >= self.input_dim else low
                raise ShapeError(f"Layer '{self.name}' (Embedding) received an id outside its vocabulary.",
                                 expected=f"ids in [0, {self.input_dim - 1}] (input_dim={self.input_dim})",
                                 received=f"id {bad} (ids range from {low} to {high})",
                                 fix=f"Build the layer with input_dim >= {high + 1} (the vocabulary size), "
                                     "or map unknown tokens to an out-of-vocabulary id.")
        return F.embedding(x, self.weight, self.padding_idx)  # (batch, seq, output_dim)

    def extra_repr(self) -> str:
        return (f"input_dim={self.input_dim}, output_dim={self.output_dim}, padding_idx={self.padding_idx}, "
                f"trainable={self.trainable}")
