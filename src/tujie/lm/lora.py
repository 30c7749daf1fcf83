"""LoRA: low-rank adaptation of a trained model's linear layers (Hu et al., ICLR 2022).

Fine-tuning every weight of a large model costs a copy of every weight per task. LoRA freezes
the pretrained weight W (out × in) and learns a low-rank change beside it:

    h = W x + (α / r) · B A x          A: (r × in), B: (out × r), r ≪ min(in, out)

B starts at zero, so the adapted model starts exactly as the pretrained one; only A and B train
(r·(in + out) numbers per layer instead of in·out), and after training B A folds back into W
(`merge`): the merged model is a plain model again, as fast as the original.

Two implementations, one interface (`add_lora`, `merge_lora`):

- `backend="peft"`: Hugging Face's peft library (`peft.inject_adapter_in_model`), what one uses
  in practice; it works on any `nn.Module`, tujie's GPT included.
- `backend="tujie"`: `LoRALinear` below, the formula in twenty lines, tested equal to
  W + (α/r)·BA and to peft's layer given the same A and B.

Which layers: `lora_targets(model)` names every `nn.Linear` inside the model's blocks (for
tujie's GPT: attention's q/k/v and output projections and the MLP's two layers), never the
output head (tied to the token embedding, which stays frozen).

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
    >>> x = torch.randn(2, 8)
    >>> before = model(x)
    >>> model = add_lora(model, r=2, alpha=4, targets=["0", "2"], backend="tujie")
    >>> torch.allclose(model(x), before)  # B = 0 at the start: the pretrained model, unchanged
    True
    >>> trainable_parameters(model)  # 2·(8 + 8) + 2·(8 + 4): only A and B train
    (56, 164)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError

BACKENDS = ("peft", "tujie")


class LoRALinear(nn.Module):
    """A frozen `nn.Linear` plus a trainable low-rank change: y = W x + b + (α / r) · B A x.

    Args:
        base: the pretrained layer (its weight and bias are frozen).
        r: the rank of the change (≥ 1).
        alpha: the scale α; the change is multiplied by α / r, so that changing r keeps its size.
        dropout: dropout on the input of the low-rank path (0: none).

    Input shape: (..., in_features). Output shape: (..., out_features).

    Example:
        >>> layer = LoRALinear(nn.Linear(6, 3), r=2, alpha=4)
        >>> layer.lora_A.shape, layer.lora_B.shape, float(layer.lora_B.abs().sum())
        (torch.Size([2, 6]), torch.Size([3, 2]), 0.0)
        >>> layer(torch.randn(5, 6)).shape
        torch.Size([5, 3])
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        _check_rank(r, alpha)
        self.base = base
        self.r, self.alpha, self.scaling = int(r), float(alpha), float(alpha) / int(r)
        for p in base.parameters():
            p.requires_grad_(False)
        # A as peft and the paper's code initialise it (Kaiming-uniform), B zero: the change starts at zero
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, dtype=base.weight.dtype, device=base.weight.device))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, dtype=base.weight.dtype, device=base.weight.device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (..., in) -> (..., r) -> (..., out), never forming the (out × in) product
        return self.base(x) + self.scaling * (self.dropout(x) @ self.lora_A.T @ self.lora_B.T)

    def delta_weight(self) -> torch.Tensor:
        """(α / r) · B A: the change to W, (out × in)."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def merge(self) -> nn.Linear:
        """A plain `nn.Linear` with W + (α/r)·BA as its weight (the same outputs, without dropout)."""
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                           device=self.base.weight.device, dtype=self.base.weight.dtype)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged.requires_grad_(self.base.weight.requires_grad)

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha:g}"


def _check_rank(r, alpha) -> None:
    if not isinstance(r, int) or isinstance(r, bool) or r < 1:
        raise ConfigError("LoRA's rank must be a whole number of at least 1.", expected="r ≥ 1 (4 or 8 are usual)",
                          received=f"r={r!r}", fix="Set the rank to 4 or 8 (lora.ranks).")
    if not alpha > 0:
        raise ConfigError("LoRA's scale alpha must be positive.", expected="alpha > 0 (often 2·r)",
                          received=f"alpha={alpha!r}", fix="Set lora.alpha to twice the rank, e.g. 16.")


def lora_targets(model: nn.Module) -> list[str]:
    """The names of the linear layers LoRA adapts: every `nn.Linear` except one whose weight is shared
    with an embedding (a tied output head) or that lies outside the model's blocks when it has any.

    Example:
        >>> lora_targets(nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)))
        ['0', '2']
    """
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    names = [name for name, m in model.named_modules()
             if isinstance(m, nn.Linear) and id(m.weight) not in embeddings and name]
    inside = [n for n in names if n.split(".")[0] in ("blocks", "h", "layers", "transformer")]
    return inside or names


def add_lora(model: nn.Module, r: int = 8, alpha: float = 16.0, targets: list[str] | None = None,
             dropout: float = 0.0, backend: str = "peft") -> nn.Module:
    """Freeze every weight of `model` and add a LoRA change of rank r to each target linear layer.

    Args:
        model: a trained model (changed in place and returned).
        r: the rank; alpha: the scale (the change is multiplied by alpha / r).
        targets: the names of the linear layers to adapt (as `model.named_modules()` gives them);
            None: `lora_targets(model)`.
        dropout: dropout on the low-rank path's input.
        backend: "peft" (Hugging Face's library) or "tujie" (`LoRALinear`).

    Returns:
        The model, with only the adapters' A and B trainable.
    """
    _check_rank(r, alpha)
    if backend not in BACKENDS:
        raise ConfigError(f"Unknown LoRA backend {backend!r}.", expected=" or ".join(BACKENDS),
                          received=f"backend={backend!r}", fix="Use backend='peft' (the library) or 'tujie' (LoRALinear).")
    targets = lora_targets(model) if targets is None else list(targets)
    modules = dict(model.named_modules())
    wrong = [t for t in targets if not isinstance(modules.get(t), nn.Linear)]
    if not targets or wrong:
        raise ConfigError("LoRA adapts linear layers, and some of the targets are not linear layers of this model.",
                          expected=f"names of nn.Linear layers, e.g. {', '.join(lora_targets(model)[:4])}",
                          received=f"targets={wrong or targets}", fix="Leave the targets out to adapt every linear layer of the blocks.")
    for p in model.parameters():
        p.requires_grad_(False)
    if backend == "peft":
        from peft import LoraConfig, inject_adapter_in_model

        # an exact-name regex: peft would also match a target as a suffix of deeper names
        pattern = "^(" + "|".join(t.replace(".", r"\.") for t in targets) + ")$"
        return inject_adapter_in_model(LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=pattern,
                                                  bias="none"), model)
    for name in targets:
        _replace(model, name, LoRALinear(modules[name], r, alpha, dropout))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every LoRA change into its layer's weight (W ← W + (α/r)·BA): a plain model again, in place.

    Example:
        >>> model = add_lora(nn.Sequential(nn.Linear(3, 3)), r=1, alpha=1, backend="tujie")
        >>> type(merge_lora(model)[0]).__name__
        'Linear'
    """
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            _replace(model, name, module.merge())
        elif _is_peft_layer(module):
            module.merge()
            _replace(model, name, module.get_base_layer())
    return model


def _is_peft_layer(module) -> bool:
    if type(module).__module__.split(".")[0] != "peft":  # no peft import for a model that never used it
        return False
    from peft.tuners.lora import LoraLayer

    return isinstance(module, LoraLayer)


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, new)


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    """(parameters that train, all parameters), shared (tied) tensors counted once."""
    seen, trainable, total = set(), 0, 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return trainable, total


__all__ = ["BACKENDS", "LoRALinear", "add_lora", "lora_targets", "merge_lora", "trainable_parameters"]
