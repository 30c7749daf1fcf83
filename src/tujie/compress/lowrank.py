"""Low-rank factorisation: a weight matrix replaced by the product of two thin ones, from its SVD.

A Linear layer's W (out, in) = U S Vᵀ. Keeping the r largest singular values gives the best rank-r
approximation (Eckart–Young), W ≈ (U_r √S_r)(√S_r V_rᵀ): two Linear layers, in → r → out, with
r·(in + out) weights instead of in·out (Denton et al. 2014; Xue et al. 2013 for speech DNNs).
A k×k Conv2d is the same idea on its kernel reshaped to (out, in·k·k): a k×k conv with r filters,
then a 1×1 conv mixing those r maps into the out channels (Zhang et al. 2015's channel
decomposition, without their nonlinear refinement). At full rank the pair computes exactly what
the layer did; below it, the lost "energy" (share of the squared singular values dropped) is the
error, and a few epochs of fine-tuning win most of it back.

The rank is chosen per layer by kept energy (`energy=0.9`: the smallest r whose σ₁² + … + σ_r²
reach 90% of the total) or by a target parameter share (`share=0.25`: r·(in + out) ≈ 1/4 of in·out).
A layer whose factorisation would not be smaller is left as it is.

Example:
    >>> import torch
    >>> layer = torch.nn.Linear(64, 32)
    >>> pair = factorize_linear(layer, rank=32)
    >>> x = torch.randn(5, 64)
    >>> torch.allclose(pair(x), layer(x), atol=1e-5)
    True
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError

__all__ = ["LowRankConv2d", "LowRankLinear", "choose_rank", "factorize", "factorize_conv2d", "factorize_linear"]


class LowRankLinear(nn.Module):
    """in → r → out: `second(first(x))`, with the replaced layer's bias (and activation, for a tujie Dense).

    Input shape: (batch, ..., in_features). Output shape: (batch, ..., out_features).
    """

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool = True, activation=None):
        super().__init__()
        self.first = nn.Linear(in_features, rank, bias=False)       # √S_r V_rᵀ: (rank, in)
        self.second = nn.Linear(rank, out_features, bias=bias)      # U_r √S_r: (out, rank)
        self.activation = activation
        self.rank = rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.second(self.first(x))                              # (batch, ..., rank) → (batch, ..., out)
        return y if self.activation is None else self.activation(y)


class LowRankConv2d(nn.Sequential):
    """A k×k conv with r filters (the layer's stride, padding, dilation), then a 1×1 conv to the out channels.

    Input shape: (batch, in, H, W). Output shape: (batch, out, H', W'), as the replaced conv.
    """

    def __init__(self, conv: nn.Conv2d, rank: int):
        super().__init__(
            nn.Conv2d(conv.in_channels, rank, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                      dilation=conv.dilation, padding_mode=conv.padding_mode, bias=False),     # (B, r, H', W')
            nn.Conv2d(rank, conv.out_channels, 1, bias=conv.bias is not None))                 # (B, out, H', W')
        self.rank = rank


def choose_rank(singular_values: torch.Tensor, shape: tuple[int, int], *, energy: float | None = None,
                share: float | None = None) -> int:
    """The rank keeping `energy` of Σσ², or giving about `share` of the in·out weights (one of the two).

    Example:
        >>> choose_rank(torch.tensor([3.0, 2.0, 1.0, 0.1]), (4, 4), energy=0.9)
        2
        >>> choose_rank(torch.tensor([3.0, 2.0, 1.0, 0.1]), (100, 100), share=0.02)
        1
    """
    if (energy is None) == (share is None):
        raise ConfigError("Low-rank factorisation needs one rule for the rank.", expected="energy=... or share=... (one of them)",
                          received=f"energy={energy!r}, share={share!r}", fix="Pass energy=0.9 (kept share of Σσ²) or share=0.25.")
    full = len(singular_values)
    if energy is not None:
        if not 0.0 < energy <= 1.0:
            raise ConfigError("Invalid value received for `energy`.", expected="0 < energy <= 1 (0.9 keeps 90% of Σσ²)",
                              received=f"energy={energy!r}", fix="Pass energy=0.9.")
        squares = singular_values.double() ** 2
        kept = torch.cumsum(squares, 0) / squares.sum().clamp_min(1e-30)
        return min(full, int((kept < energy - 1e-12).sum()) + 1)
    if not 0.0 < share <= 1.0:
        raise ConfigError("Invalid value received for `share`.", expected="0 < share <= 1 (0.25: a quarter of the weights)",
                          received=f"share={share!r}", fix="Pass share=0.25.")
    rows, columns = shape
    return max(1, min(full, int(share * rows * columns / (rows + columns))))


def _split(matrix: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(U_r √S_r, √S_r V_rᵀ) of `matrix` (out, in): shapes (out, r) and (r, in)."""
    u, s, vh = torch.linalg.svd(matrix.detach().double(), full_matrices=False)
    root = s[:rank].sqrt()
    return (u[:, :rank] * root).to(matrix.dtype), (root[:, None] * vh[:rank]).to(matrix.dtype)


def _singular_values(matrix: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(matrix.detach().double())


def factorize_linear(layer: nn.Module, *, rank: int | None = None, energy: float | None = None,
                     share: float | None = None) -> LowRankLinear:
    """A `LowRankLinear` for an `nn.Linear` or a built tujie `Dense` (its activation kept).

    Args:
        layer: the layer to factorise (left unchanged).
        rank: the rank; or None to choose it by `energy` or `share` (`choose_rank`).

    Example:
        >>> pair = factorize_linear(torch.nn.Linear(100, 50), share=0.3)
        >>> pair.rank, sum(p.numel() for p in pair.parameters()) < 100 * 50
        (10, True)
    """
    weight = layer.weight.detach()                                   # (out, in)
    out_features, in_features = weight.shape
    if rank is None:
        rank = choose_rank(_singular_values(weight), (out_features, in_features), energy=energy, share=share)
    left, right = _split(weight, rank)
    pair = LowRankLinear(in_features, out_features, rank, bias=layer.bias is not None,
                         activation=getattr(layer, "activation", None)).to(weight.device)
    with torch.no_grad():
        pair.first.weight.copy_(right)
        pair.second.weight.copy_(left)
        if layer.bias is not None:
            pair.second.bias.copy_(layer.bias)
    return pair


def factorize_conv2d(conv: nn.Conv2d, *, rank: int | None = None, energy: float | None = None,
                     share: float | None = None) -> LowRankConv2d:
    """A `LowRankConv2d` (k×k conv with r filters, then 1×1) from the SVD of the kernel as (out, in·k·k).

    Example:
        >>> conv = torch.nn.Conv2d(8, 16, 3, padding=1)
        >>> pair, x = factorize_conv2d(conv, rank=16), torch.randn(2, 8, 6, 6)
        >>> torch.allclose(pair(x), conv(x), atol=1e-5)
        True
    """
    if conv.groups != 1:
        raise ConfigError("A grouped or depthwise convolution cannot be factorised this way.", expected="a Conv2d with groups=1",
                          received=f"groups={conv.groups}", fix="Leave it out of the factorisation.")
    weight = conv.weight.detach()                                    # (out, in, k, k)
    matrix = weight.reshape(weight.shape[0], -1)                     # (out, in·k·k)
    if rank is None:
        rank = choose_rank(_singular_values(matrix), tuple(matrix.shape), energy=energy, share=share)
    left, right = _split(matrix, rank)
    pair = LowRankConv2d(conv, rank).to(weight.device)
    with torch.no_grad():
        pair[0].weight.copy_(right.reshape(rank, *weight.shape[1:]))  # (r, in, k, k)
        pair[1].weight.copy_(left[:, :, None, None])                  # (out, r, 1, 1)
        if conv.bias is not None:
            pair[1].bias.copy_(conv.bias)
    return pair


def _factorable(module: nn.Module) -> str | None:
    from ..layers import Dense

    if isinstance(module, nn.Linear) or (isinstance(module, Dense) and module.built):
        return "linear"
    if isinstance(module, nn.Conv2d) and module.groups == 1:
        return "conv2d"
    return None


def factorize(model: nn.Module, *, energy: float | None = 0.9, share: float | None = None, convolutions: bool = True,
              skip=()) -> list[dict]:
    """Factorise every Linear/Dense (and Conv2d) layer of `model` in place, where that makes it smaller.

    Args:
        model: a trained model with built layers.
        energy, share: the rank rule (`choose_rank`); pass share to use it instead of energy.
        convolutions: factorise Conv2d layers too.
        skip: names of layers to leave alone (e.g. the classifier).

    Returns:
        One row per layer considered: {"layer", "kind", "shape", "rank", "full_rank", "energy",
        "parameters", "factorized_parameters", "replaced"}.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
        >>> rows = factorize(model, share=0.25, skip={"2"})          # the classifier stays whole
        >>> [(r["layer"], r["rank"]) for r in rows], type(model[0]).__name__
        ([('0', 8)], 'LowRankLinear')
    """
    if share is not None:
        energy = None
    rows = []
    for name, module in list(model.named_modules()):
        kind = _factorable(module)
        if kind is None or not name or name in skip or (kind == "conv2d" and not convolutions):
            continue
        matrix = module.weight.detach().reshape(module.weight.shape[0], -1)          # (out, in·k·k)
        values = _singular_values(matrix)
        rank = choose_rank(values, tuple(matrix.shape), energy=energy, share=share)
        before = matrix.numel()
        out_channels, fan_in = matrix.shape
        after = rank * (fan_in + out_channels)
        squares = values ** 2
        row = {"layer": name, "kind": type(module).__name__, "shape": list(module.weight.shape), "rank": rank,
               "full_rank": len(values), "energy": float(squares[:rank].sum() / squares.sum().clamp_min(1e-30)),
               "parameters": before, "factorized_parameters": after, "replaced": after < before}
        rows.append(row)
        if not row["replaced"]:
            continue
        pair = factorize_linear(module, rank=rank) if kind == "linear" else factorize_conv2d(module, rank=rank)
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, pair)
    return rows
