"""GPT (Radford et al. 2018/2019): a decoder-only Transformer language model, written as nanoGPT writes it.

Each position predicts the next token from the ones before it:

    x_0   = E[tokens] + P[0..T)                        token + learned position embeddings   (B, T, C)
    x_l+1 = x_l + Attn(LN(x_l));  x_l+1 += MLP(LN(x_l+1))   pre-norm blocks, l = 0..n_layer-1
    Attn(h) = softmax(Q K^T / sqrt(d) + causal mask) V     per head, Q K V = h W_qkv, then W_o
    MLP(h)  = GELU(h W_1) W_2                              4 × C hidden units
    logits = LN(x_L) E^T                                  the head is the token embedding (weight tying)

In words: tokens → embed + positions → [LayerNorm → causal self-attention → add] → [LayerNorm →
MLP → add] × n_layer → LayerNorm → dot with every token's embedding → next-token logits.

Attention runs through `torch.nn.functional.scaled_dot_product_attention(is_causal=True)` (a fused
kernel); `GPT.attention(idx)` and `GPT.forward_with_attention(idx)` run the same weights through the
formula (`tujie.layers.attention.scaled_dot_product_attention`) and return the probabilities, for
figures and for the test that the two paths agree.

Generation feeds one token at a time with a `KVCache` (`model(new_ids, cache=cache)`): the keys
and values of earlier tokens are kept, so each step costs one token's work instead of the whole
prefix's. Initialisation follows GPT-2: normal(0, 0.02), the residual projections scaled by
1/sqrt(2 · n_layer) so the residual stream's variance does not grow with depth.

Sizes (`size=`; non-embedding parameters, which Kaplan et al. 2020 count; the embedding adds
vocab_size × n_embd + block_size × n_embd, e.g. 6,000 characters × 256 = 1.5M for mini):

    nano    2 layers, 2 heads, n_embd  64      98,624 non-embedding parameters (≈ 0.1M)
    micro   4 layers, 4 heads, n_embd 128     787,584                          (≈ 0.8M)
    mini    6 layers, 8 heads, n_embd 256   4,721,920                          (≈ 4.7M)

With GPT-2 small's sizes (12 layers, 12 heads, n_embd 768, biases, 50,257 tokens, 1,024 positions)
the same code has GPT-2's 124,439,808 parameters (checked by tests/models).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError
from ..layers.attention import scaled_dot_product_attention
from ._common import check_positive, check_token_input
from ._registry import register_model

__all__ = ["GPT", "KVCache", "SIZES", "gpt"]

SIZES = {"nano": {"n_layer": 2, "n_head": 2, "n_embd": 64},
         "micro": {"n_layer": 4, "n_head": 4, "n_embd": 128},
         "mini": {"n_layer": 6, "n_head": 8, "n_embd": 256}}


class KVCache:
    """The keys and values of every layer for the tokens fed so far (one per batch row).

    `model.new_cache()` makes an empty one; `model(ids, cache=cache)` appends the new tokens' keys
    and values. `length` is the number of tokens cached, which is also the position of the next
    token, so a cache can never hold more than `block_size` tokens. The buffers grow by doubling,
    so appending one token copies nothing (a `torch.cat` per layer and step cost a fifth of a
    cached step of the mini GPT).

    Example:
        >>> model = gpt(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=8)
        >>> cache = model.new_cache()
        >>> _ = model(torch.tensor([[4, 5, 6]]), cache=cache)
        >>> cache.length, tuple(cache.keys[0].shape)  # (batch, heads, tokens, head size)
        (3, (1, 2, 3, 4))
    """

    def __init__(self, n_layer: int):
        self._keys: list[torch.Tensor | None] = [None] * n_layer  # (B, nh, capacity, hs) buffers
        self._values: list[torch.Tensor | None] = [None] * n_layer
        self._lengths = [0] * n_layer

    @property
    def keys(self) -> list[torch.Tensor | None]:
        """Each layer's cached keys, (B, nh, length, hs) (None before the first token)."""
        return [None if k is None else k[:, :, :n] for k, n in zip(self._keys, self._lengths)]

    @property
    def values(self) -> list[torch.Tensor | None]:
        """Each layer's cached values, (B, nh, length, hs)."""
        return [None if v is None else v[:, :, :n] for v, n in zip(self._values, self._lengths)]

    @property
    def length(self) -> int:
        """Tokens cached (read from the last layer, the one a forward pass fills last)."""
        return self._lengths[-1]

    @property
    def batch_size(self) -> int | None:
        return None if self._keys[-1] is None else self._keys[-1].shape[0]

    def past(self, layer: int) -> int:
        """Tokens cached in `layer`."""
        return self._lengths[layer]

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add one layer's new keys/values (B, nh, T_new, hs); return all of them (B, nh, T_past + T_new, hs)."""
        past, new = self._lengths[layer], k.shape[2]
        if self._keys[layer] is None or past + new > self._keys[layer].shape[2]:
            capacity = max(64, 2 * (past + new))
            for store, t in ((self._keys, k), (self._values, v)):
                grown = t.new_empty(t.shape[0], t.shape[1], capacity, t.shape[3])  # (B, nh, capacity, hs)
                if store[layer] is not None:
                    grown[:, :, :past] = store[layer][:, :, :past]
                store[layer] = grown
        self._keys[layer][:, :, past:past + new] = k
        self._values[layer][:, :, past:past + new] = v
        self._lengths[layer] = past + new
        return self._keys[layer][:, :, :past + new], self._values[layer][:, :, :past + new]


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with one fused Q/K/V projection (nanoGPT's `c_attn`).

    Input shape: (B, T, C). Output shape: (B, T, C).
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)  # Q, K, V of every head at once
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)  # W_o, a residual projection
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, reference: bool = False):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # 3 × (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        past = 0
        if cache is not None:
            past = cache.past(layer)  # this layer's tokens before these
            k, v = cache.append(layer, k, v)  # (B, nh, past + T, hs)
        dropout = self.dropout if self.training else 0.0
        weights = None
        if reference:
            y, weights = scaled_dot_product_attention(q, k, v, mask=_causal_mask(T, past, x.device), dropout=dropout)
        elif past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)  # (B, nh, T, hs)
        elif T == 1:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)  # one new token sees every cached key
        else:
            # Several new tokens after a cached prefix: new token i (position past + i) sees keys
            # 0..past + i, a causal mask aligned to the bottom-right corner, which is_causal is not.
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=_causal_mask(T, past, x.device), dropout_p=dropout)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C), heads side by side
        return self.resid_dropout(self.c_proj(y)), weights


def _causal_mask(new: int, past: int, device) -> torch.Tensor:
    """(new, past + new) booleans, True where new token i may attend to key j (j <= past + i)."""
    return torch.ones(new, past + new, dtype=torch.bool, device=device).tril(diagonal=past)


class MLP(nn.Module):
    """Position-wise feed-forward network: Linear(C → 4C) → GELU → Linear(4C → C) → dropout."""

    def __init__(self, n_embd: int, dropout: float, bias: bool):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)  # a residual projection
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # (B, T, C)


class Block(nn.Module):
    """One pre-norm Transformer block: x + Attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, reference: bool = False):
        attended, weights = self.attn(self.ln_1(x), cache, layer, reference)
        x = x + attended  # (B, T, C)
        return x + self.mlp(self.ln_2(x)), weights


class GPT(nn.Module):
    """A decoder-only Transformer: token ids (B, T) → next-token logits (B, T, vocab_size).

    Args:
        vocab_size: number of token ids (the tokenizer's `vocab_size`).
        block_size: the longest context, in tokens (the learned position table's length).
        n_layer, n_head, n_embd: depth, heads, width (n_embd divisible by n_head).
        dropout: after the embeddings, on the attention weights and on each residual branch.
        bias: biases in the Linear and LayerNorm layers (GPT-2 has them; without is slightly better
            and faster, as in nanoGPT).
        size: the preset the sizes came from, kept in `config` (None when all were explicit).

    Input shape: (B, T) token ids, T <= block_size (with a cache: cache.length + T <= block_size).
    Output shape: (B, T, vocab_size) logits.

    Example:
        >>> model = GPT(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=16)
        >>> model(torch.randint(0, 50, (3, 10))).shape
        torch.Size([3, 10, 50])
        >>> model.num_parameters(), model.num_parameters(exclude_embeddings=False)  # the head is the embedding
        (6224, 7280)
    """

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int, dropout: float = 0.0,
                 bias: bool = False, size: str | None = None):
        super().__init__()
        check_positive("gpt", vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=n_head, n_embd=n_embd)
        if n_embd % n_head:
            raise ConfigError("Invalid value received for argument `n_head` of model 'gpt': it must divide n_embd.",
                              expected=f"a divisor of n_embd={n_embd}", received=f"n_head={n_head}",
                              fix=f"Use n_head in {[h for h in range(1, n_embd + 1) if n_embd % h == 0][:8]}, or change n_embd.")
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ConfigError("Invalid value received for argument `dropout` of model 'gpt'.", expected="0 <= dropout < 1",
                              received=f"dropout={dropout!r}", fix="Pass a fraction such as dropout=0.1 (0 for small data).")
        self.config = {"vocab_size": vocab_size, "block_size": block_size, "size": size, "n_layer": n_layer,
                       "n_head": n_head, "n_embd": n_embd, "dropout": float(dropout), "bias": bool(bias)}
        self.vocab_size, self.block_size, self.n_layer = vocab_size, block_size, n_layer
        self.wte = nn.Embedding(vocab_size, n_embd)  # token embeddings, also the output head
        self.wpe = nn.Embedding(block_size, n_embd)  # learned position embeddings
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, dropout, bias) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying (Press & Wolf 2017): one matrix in, the same out
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2: residual projections scaled by 1/sqrt(2 · n_layer)
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def new_cache(self) -> KVCache:
        """An empty `KVCache` for `forward(ids, cache=...)`."""
        return KVCache(self.n_layer)

    def num_parameters(self, exclude_embeddings: bool = True) -> int:
        """Parameters, without the token and position embeddings by default (Kaplan et al.'s N).

        The tied head shares the token embedding's matrix, so it is counted once (or not at all).
        """
        total = sum(p.numel() for p in self.parameters())  # parameters() yields the tied matrix once
        return total - self.wte.weight.numel() - self.wpe.weight.numel() if exclude_embeddings else total

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        return self._run(idx, cache, reference=False)[0]

    def forward_with_attention(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and attention probabilities through the formula (no fused kernel): (B, T, V), (B, n_layer, nh, T, T).

        Example:
            >>> model = gpt(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=8).eval()
            >>> ids = torch.randint(0, 20, (1, 6))
            >>> logits, weights = model.forward_with_attention(ids)
            >>> torch.allclose(logits, model(ids), atol=1e-5), tuple(weights.shape)
            (True, (1, 2, 2, 6, 6))
        """
        logits, weights = self._run(idx, None, reference=True)
        return logits, torch.stack(weights, dim=1)  # (B, n_layer, nh, T, T)

    @torch.no_grad()
    def attention(self, idx: torch.Tensor) -> torch.Tensor:
        """Attention probabilities of one sequence, every layer and head: (n_layer, n_head, T, T).

        Args:
            idx: token ids (T,) or (1, T).

        Example:
            >>> model = gpt(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=8)
            >>> weights = model.attention(torch.tensor([4, 5, 6]))
            >>> tuple(weights.shape), bool(weights[0, 0].triu(1).eq(0).all())  # no token looks ahead
            ((2, 2, 3, 3), True)
        """
        idx = idx[None] if idx.ndim == 1 else idx
        if idx.ndim != 2 or idx.shape[0] != 1:
            raise ShapeError("GPT.attention takes one sequence.", expected="token ids of shape (T,) or (1, T)",
                             received=f"ids of shape {tuple(idx.shape)}", fix="Pass one row: model.attention(ids[0]).")
        was_training = self.training
        self.eval()  # the figure shows the weights without dropout
        try:
            return self.forward_with_attention(idx)[1][0]
        finally:
            self.train(was_training)

    def _run(self, idx: torch.Tensor, cache: KVCache | None, reference: bool):
        check_token_input("gpt", idx, self.vocab_size)
        B, T = idx.shape
        past = cache.length if cache is not None else 0
        if past + T > self.block_size:
            raise ShapeError("Model 'gpt' received more tokens than its context holds.",
                             expected=f"at most block_size={self.block_size} tokens" + (" (cached + new)" if cache else ""),
                             received=f"{T} new tokens" + (f" after {past} cached" if cache else ""),
                             fix="Keep the last block_size tokens: idx[:, -model.block_size:] "
                                 "(tujie.lm.generate slides the window for you).")
        if cache is not None and past and cache.batch_size != B:
            raise ShapeError("The KV cache holds another batch size.", expected=f"{cache.batch_size} rows",
                             received=f"{B} rows", fix="Use one cache per batch: model.new_cache().")
        pos = torch.arange(past, past + T, device=idx.device)  # (T,) positions continue after the cache
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        weights = []
        for layer, block in enumerate(self.blocks):
            x, w = block(x, cache, layer, reference)
            weights.append(w)
        return self.lm_head(self.ln_f(x)), weights  # (B, T, vocab_size)


def _example(batch_size: int) -> torch.Tensor:
    return torch.randint(0, 60, (batch_size, 12))


# GPT-2 small (Radford et al. 2019): 124,439,808 parameters with its biases, 50,257 BPE tokens, 1,024 positions.
_GPT2_SMALL = {"vocab_size": 50257, "block_size": 1024, "size": None, "n_layer": 12, "n_head": 12, "n_embd": 768, "bias": True}


@register_model(example_input=_example, output_shape=(12, 60),
                test_kwargs={"vocab_size": 60, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 32},
                paper_params=124_439_808, paper_kwargs=_GPT2_SMALL)
def gpt(vocab_size: int = 6000, block_size: int = 128, size: str | None = "nano", n_layer: int | None = None,
        n_head: int | None = None, n_embd: int | None = None, dropout: float = 0.0, bias: bool = False) -> GPT:
    """GPT decoder-only language model; sizes nano (≈0.1M), micro (≈0.8M), mini (≈4.7M) non-embedding parameters.

    Args:
        vocab_size: the tokenizer's vocabulary size.
        block_size: the longest context in tokens.
        size: "nano", "micro" or "mini" (see the module docstring), or None when n_layer, n_head
            and n_embd are all given.
        n_layer, n_head, n_embd: override the preset's values one by one.
        dropout, bias: as in `GPT`.

    Example:
        >>> model = gpt(vocab_size=6000, size="micro")
        >>> model.num_parameters(), model.config["n_layer"]
        (787584, 4)
        >>> gpt(vocab_size=100, size="nano", n_layer=1).num_parameters()
        49344
    """
    if size is not None and size not in SIZES:
        raise ConfigError(f"Unknown GPT size {size!r}.", expected=f"one of {', '.join(map(repr, SIZES))} or None",
                          received=f"size={size!r}", fix="Pass size='nano', 'micro' or 'mini', or give n_layer, n_head and "
                                                          "n_embd yourself.")
    preset = SIZES.get(size, {})
    chosen = {"n_layer": n_layer, "n_head": n_head, "n_embd": n_embd}
    missing = [k for k, v in chosen.items() if v is None and k not in preset]
    if missing:
        raise ConfigError("Model 'gpt' needs its sizes.", expected="a size preset or n_layer, n_head and n_embd",
                          received=f"size=None and {', '.join(f'{k}=None' for k in missing)}",
                          fix="Pass size='nano' (or 'micro', 'mini'), or the missing sizes.")
    sizes = {k: preset[k] if v is None else v for k, v in chosen.items()}
    return GPT(vocab_size, block_size, dropout=dropout, bias=bias, size=size, **sizes)
