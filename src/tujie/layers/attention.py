"""Attention: the scaled dot-product formula, Bahdanau and Luong attention for seq2seq, multi-head attention.

Papers: Bahdanau et al. 2015 (additive), Luong et al. 2015 (dot / general), Vaswani et al. 2017
(scaled dot-product and multi-head). Every function returns the attention weights beside the
output, so a reader can see where the model looks.

Two kinds of masks, with opposite meanings, as in PyTorch:
  * an attention `mask` / `attn_mask` is True where a query MAY attend to a key (as
    `torch.nn.functional.scaled_dot_product_attention`), or a float tensor added to the scores;
  * a `key_padding_mask` is True at PADDING positions, the keys nobody may attend to.
(`torch.nn.MultiheadAttention`'s boolean attn_mask means the opposite: pass `~mask` when porting.)
A query that may attend to no key at all gets zero weights and a zero output, as in PyTorch's
fused kernel, instead of NaN.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError
from ._base import Layer

__all__ = ["scaled_dot_product_attention", "AdditiveAttention", "DotAttention", "MultiHeadAttention"]


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
                                 dropout: float = 0.0, causal: bool = False, scale: float | None = None):
    """softmax(Q K^T / sqrt(d) + mask) V, written out from the formula; returns (output, weights).

    Args:
        q: queries (..., q_len, d).
        k: keys (..., k_len, d).
        v: values (..., k_len, d_v).
        mask: bool, True where a query may attend to a key, or a float tensor added to the
            scores; broadcastable to (..., q_len, k_len).
        dropout: probability of dropping an attention weight. Applied whenever > 0, as in
            `torch.nn.functional.scaled_dot_product_attention`: pass 0.0 at evaluation.
        causal: query i attends only to keys j <= i (the mask is aligned to the top-left corner).
        scale: the factor on Q K^T (default 1 / sqrt(d)).

    Returns:
        output (..., q_len, d_v) and weights (..., q_len, k_len), the softmax before dropout.

    Example:
        >>> q, k, v = torch.randn(2, 4, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 3)
        >>> out, weights = scaled_dot_product_attention(q, k, v)
        >>> out.shape, weights.shape, torch.allclose(weights.sum(-1), torch.ones(2, 4))
        (torch.Size([2, 4, 3]), torch.Size([2, 4, 6]), True)
    """
    scale = 1.0 / math.sqrt(q.size(-1)) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., q_len, k_len)
    if causal:
        q_len, k_len = scores.shape[-2:]
        allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=scores.device).tril()  # (q_len, k_len)
        scores = scores.masked_fill(~allowed, float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = _softmax_over_keys(scores)  # (..., q_len, k_len)
    dropped = F.dropout(weights, dropout) if dropout > 0 else weights
    return dropped @ v, weights  # (..., q_len, d_v), (..., q_len, k_len)


def _softmax_over_keys(scores: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension; a row with every key masked (all -inf) gets zeros, not NaN."""
    empty = scores.isneginf().all(-1, keepdim=True)  # (..., q_len, 1)
    # Fill before the softmax too: a NaN forward would make a NaN gradient even where it is masked out.
    return scores.masked_fill(empty, 0.0).softmax(-1).masked_fill(empty, 0.0)


def _positive_int(layer: str, **values) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"Invalid value received for argument `{name}` of {layer}.", expected="a positive integer",
                              received=f"{name}={value!r}", fix="Pass a positive integer.")


def _probability(layer: str, dropout) -> None:
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ConfigError(f"Invalid value received for argument `dropout` of {layer}.", expected="0 <= dropout < 1",
                          received=f"dropout={dropout!r}", fix="Pass a fraction such as dropout=0.1.")


class _SeqAttention(Layer):
    """Shared input handling of the seq2seq attentions: one query or a sequence of them, padded keys."""

    def _check(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, key_padding_mask) -> None:
        if query.ndim not in (2, 3):
            raise self.shape_error(query, "query (batch, query_dim) or (batch, q_len, query_dim)")
        if keys.ndim != 3 or keys.shape[0] != query.shape[0]:
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) received keys of the wrong shape.",
                             expected=f"keys (batch={query.shape[0]}, k_len, key_dim)", received=f"keys of shape {tuple(keys.shape)}",
                             fix="Pass the encoder outputs, batch first.")
        if values.shape[:2] != keys.shape[:2]:
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) received values that do not match the keys.",
                             expected=f"values (batch, k_len) = {tuple(keys.shape[:2])} first", received=f"values of shape {tuple(values.shape)}",
                             fix="Pass one value per key.")
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != tuple(keys.shape[:2]):
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) received a key_padding_mask of the wrong shape.",
                             expected=f"(batch, k_len) = {tuple(keys.shape[:2])}, True at padding",
                             received=f"key_padding_mask of shape {tuple(key_padding_mask.shape)}", fix="Use (src_ids == pad_id).")

    @staticmethod
    def _attend(scores: torch.Tensor, values: torch.Tensor, key_padding_mask, single: bool):
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[:, None, :], float("-inf"))  # (batch, q_len, k_len)
        weights = _softmax_over_keys(scores)  # (batch, q_len, k_len)
        context = weights @ values  # (batch, q_len, value_dim)
        return (context[:, 0], weights[:, 0]) if single else (context, weights)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A fresh lazy layer learns its sizes from the checkpoint, as Dense does.
        query_w, key_w = state_dict.get(prefix + "query_proj.weight"), state_dict.get(prefix + "key_proj.weight")
        if not self.built and key_w is not None:
            self._create(query_w.shape[1] if query_w is not None else key_w.shape[0], key_w.shape[1], key_w.device, key_w.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class AdditiveAttention(_SeqAttention):
    """Bahdanau (additive) attention: score(q, k) = v^T tanh(W_q q + W_k k), softmax over the keys.

    Args:
        units: size of the hidden layer inside the score (W_q, W_k: dim -> units, v: units -> 1).
        query_dim, key_dim: input sizes; left as None, they are read from the first call.

    Input shape: query (batch, query_dim) or (batch, q_len, query_dim); keys (batch, k_len, key_dim);
    values (batch, k_len, value_dim), the keys when omitted; key_padding_mask (batch, k_len), True at padding.
    Output shape: context (batch, value_dim) or (batch, q_len, value_dim), and the weights
    (batch, k_len) or (batch, q_len, k_len).

    Example:
        >>> attention = AdditiveAttention(16)
        >>> decoder_state, encoder_outputs = torch.randn(2, 32), torch.randn(2, 7, 32)
        >>> context, weights = attention(decoder_state, encoder_outputs)
        >>> context.shape, weights.shape
        (torch.Size([2, 32]), torch.Size([2, 7]))
    """

    def __init__(self, units: int, query_dim: int | None = None, key_dim: int | None = None, name: str | None = None):
        super().__init__(name)
        _positive_int("AdditiveAttention", units=units)
        self.units = units
        self.query_dim = self.key_dim = None
        if query_dim is not None and key_dim is not None:
            _positive_int("AdditiveAttention", query_dim=query_dim, key_dim=key_dim)
            self._create(query_dim, key_dim)

    def build(self, query: torch.Tensor, keys: torch.Tensor) -> None:
        self._create(query.shape[-1], keys.shape[-1], keys.device, keys.dtype)

    def _create(self, query_dim: int, key_dim: int, device=None, dtype=None) -> None:
        self.query_dim, self.key_dim = query_dim, key_dim
        self.query_proj = nn.Linear(query_dim, self.units, bias=False, device=device, dtype=dtype)  # W_q
        self.key_proj = nn.Linear(key_dim, self.units, device=device, dtype=dtype)  # W_k (its bias is the score's bias)
        self.score_proj = nn.Linear(self.units, 1, bias=False, device=device, dtype=dtype)  # v
        self.built = True

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None):
        values = keys if values is None else values
        self._check(query, keys, values, key_padding_mask)
        if not self.built:
            self.build(query, keys)
        elif query.shape[-1] != self.query_dim or keys.shape[-1] != self.key_dim:
            raise self.shape_error(query, f"query_dim={self.query_dim} and key_dim={self.key_dim} (keys {tuple(keys.shape)})")
        single = query.ndim == 2
        query = query[:, None] if single else query  # (batch, q_len, query_dim)
        hidden = torch.tanh(self.query_proj(query)[:, :, None] + self.key_proj(keys)[:, None])  # (batch, q_len, k_len, units)
        scores = self.score_proj(hidden).squeeze(-1)  # (batch, q_len, k_len)
        return self._attend(scores, values, key_padding_mask, single)

    def extra_repr(self) -> str:
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}, units={self.units}"


class DotAttention(_SeqAttention):
    """Luong (multiplicative) attention: score(q, k) = q^T k ("dot") or q^T W k ("general").

    Args:
        score: "dot" (needs query_dim == key_dim, no weights) or "general" (a learned W).
        query_dim, key_dim: sizes for "general"; left as None, they are read from the first call.
        scaled: divide the scores by sqrt(key_dim), as the Transformer does.

    Input shape: query (batch, query_dim) or (batch, q_len, query_dim); keys (batch, k_len, key_dim);
    values (batch, k_len, value_dim), the keys when omitted; key_padding_mask (batch, k_len), True at padding.
    Output shape: context (batch, value_dim) or (batch, q_len, value_dim), and the weights
    (batch, k_len) or (batch, q_len, k_len).

    Example:
        >>> decoder_states, encoder_outputs = torch.randn(2, 5, 32), torch.randn(2, 7, 32)
        >>> context, weights = DotAttention("general")(decoder_states, encoder_outputs)
        >>> context.shape, weights.shape
        (torch.Size([2, 5, 32]), torch.Size([2, 5, 7]))
    """

    def __init__(self, score: str = "dot", query_dim: int | None = None, key_dim: int | None = None, scaled: bool = False,
                 name: str | None = None):
        super().__init__(name)
        if score not in ("dot", "general"):
            raise ConfigError("Invalid value received for argument `score` of DotAttention.", expected='"dot" or "general"',
                              received=f"score={score!r}", fix='Use "general" for a learned W, or AdditiveAttention for Bahdanau\'s score.')
        self.score, self.scaled = score, scaled
        self.query_dim = self.key_dim = None
        self.built = score == "dot"
        if score == "general" and query_dim is not None and key_dim is not None:
            _positive_int("DotAttention", query_dim=query_dim, key_dim=key_dim)
            self._create(query_dim, key_dim)

    def build(self, query: torch.Tensor, keys: torch.Tensor) -> None:
        self._create(query.shape[-1], keys.shape[-1], keys.device, keys.dtype)

    def _create(self, query_dim: int, key_dim: int, device=None, dtype=None) -> None:
        self.query_dim, self.key_dim = query_dim, key_dim
        self.key_proj = nn.Linear(key_dim, query_dim, bias=False, device=device, dtype=dtype)  # W, applied to the keys
        self.built = True

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None):
        values = keys if values is None else values
        self._check(query, keys, values, key_padding_mask)
        if self.score == "dot" and query.shape[-1] != keys.shape[-1]:
            raise self.shape_error(query, f"query_dim equal to key_dim={keys.shape[-1]} for the dot score",
                                   'Use DotAttention("general"), which learns a W between the two sizes.')
        if not self.built:
            self.build(query, keys)
        elif self.score == "general" and (query.shape[-1] != self.query_dim or keys.shape[-1] != self.key_dim):
            raise self.shape_error(query, f"query_dim={self.query_dim} and key_dim={self.key_dim} (keys {tuple(keys.shape)})")
        single = query.ndim == 2
        query = query[:, None] if single else query  # (batch, q_len, query_dim)
        projected = keys if self.score == "dot" else self.key_proj(keys)  # (batch, k_len, query_dim)
        scores = query @ projected.transpose(1, 2)  # (batch, q_len, k_len)
        if self.scaled:
            scores = scores / math.sqrt(keys.shape[-1])
        return self._attend(scores, values, key_padding_mask, single)

    def extra_repr(self) -> str:
        return f"score={self.score!r}, query_dim={self.query_dim}, key_dim={self.key_dim}, scaled={self.scaled}"


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al. 2017): num_heads scaled dot-product attentions side by side.

    Q, K and V are projected to d_model, split into num_heads heads of d_model // num_heads,
    attended per head, concatenated and projected back. Without `need_weights` the fused
    `torch.nn.functional.scaled_dot_product_attention` runs (fast); with it, the formula is
    computed explicitly so the weights can be returned.

    Args:
        d_model: size of the inputs and outputs (embed_dim).
        num_heads: number of heads; must divide d_model.
        dropout: dropout on the attention weights during training.
        bias: biases in the four projections.

    Input shape: query (batch, q_len, d_model); key and value (batch, k_len, d_model), the query
    when omitted (self-attention); key_padding_mask (batch, k_len), True at padding; attn_mask
    (q_len, k_len) or broadcastable to (batch, num_heads, q_len, k_len), True where attending is
    allowed (the opposite of torch.nn.MultiheadAttention's boolean mask) or float scores to add;
    causal: query i sees keys j <= i only.
    Output shape: (output (batch, q_len, d_model), weights) with weights (batch, q_len, k_len)
    averaged over heads, (batch, num_heads, q_len, k_len) with average_weights=False, or None
    unless need_weights.

    Example:
        >>> attention = MultiHeadAttention(d_model=32, num_heads=4)
        >>> x = torch.randn(2, 5, 32)
        >>> out, weights = attention(x, causal=True, need_weights=True)
        >>> out.shape, weights.shape, weights[0, 0].tolist()[1:]
        (torch.Size([2, 5, 32]), torch.Size([2, 5, 5]), [0.0, 0.0, 0.0, 0.0])
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, bias: bool = True, name: str | None = None):
        super().__init__(name)
        _positive_int("MultiHeadAttention", d_model=d_model, num_heads=num_heads)
        if d_model % num_heads:
            divisors = [h for h in range(1, d_model + 1) if d_model % h == 0]
            raise ConfigError("Invalid value received for argument `num_heads` of MultiHeadAttention: it must divide d_model.",
                              expected=f"a divisor of d_model={d_model}", received=f"num_heads={num_heads}",
                              fix=f"Use num_heads in {divisors[:8]}, or a d_model that num_heads divides.")
        _probability("MultiHeadAttention", dropout)
        self.d_model, self.num_heads, self.head_dim, self.dropout = d_model, num_heads, d_model // num_heads, dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        for proj in (self.q_proj, self.k_proj, self.v_proj):  # as torch.nn.MultiheadAttention's in_proj
            nn.init.xavier_uniform_(proj.weight)
        for proj in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)

    def forward(self, query: torch.Tensor, key: torch.Tensor | None = None, value: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None, attn_mask: torch.Tensor | None = None, causal: bool = False,
                need_weights: bool = False, average_weights: bool = True):
        key = query if key is None else key
        value = key if value is None else value
        self._check(query, key, value, key_padding_mask)
        batch, q_len, _ = query.shape
        k_len = key.shape[1]
        q = self.q_proj(query).view(batch, q_len, self.num_heads, self.head_dim).transpose(1, 2)  # (batch, heads, q_len, head_dim)
        k = self.k_proj(key).view(batch, k_len, self.num_heads, self.head_dim).transpose(1, 2)  # (batch, heads, k_len, head_dim)
        v = self.v_proj(value).view(batch, k_len, self.num_heads, self.head_dim).transpose(1, 2)  # (batch, heads, k_len, head_dim)
        mask = _merge_masks(key_padding_mask, attn_mask)  # bool or float, broadcastable to (batch, heads, q_len, k_len)
        dropout = self.dropout if self.training else 0.0
        if need_weights:
            out, weights = scaled_dot_product_attention(q, k, v, mask, dropout, causal)  # (batch, heads, q_len, head_dim)
        else:
            if causal and mask is not None:  # the fused kernel takes a mask or is_causal, not both
                allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=q.device).tril()  # (q_len, k_len)
                mask, causal = _merge_masks(None, allowed, mask), False
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=causal)
            weights = None
        out = out.transpose(1, 2).reshape(batch, q_len, self.d_model)  # (batch, q_len, d_model)
        out = self.out_proj(out)  # (batch, q_len, d_model)
        if weights is not None and average_weights:
            weights = weights.mean(1)  # (batch, q_len, k_len)
        return out, weights

    def _check(self, query, key, value, key_padding_mask) -> None:
        for label, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim != 3 or x.shape[-1] != self.d_model or x.shape[0] != query.shape[0]:
                raise ShapeError(f"Layer '{self.name}' (MultiHeadAttention) received a {label} of the wrong shape.",
                                 expected=f"(batch, seq, d_model={self.d_model}), batch first", received=f"{label} of shape {tuple(x.shape)}",
                                 fix="Project the inputs to d_model, and put the batch dimension first.")
        if value.shape[1] != key.shape[1]:
            raise ShapeError(f"Layer '{self.name}' (MultiHeadAttention) received values that do not match the keys.",
                             expected=f"value length {key.shape[1]} (the key length)", received=f"value of shape {tuple(value.shape)}",
                             fix="Pass one value per key.")
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != tuple(key.shape[:2]):
            raise ShapeError(f"Layer '{self.name}' (MultiHeadAttention) received a key_padding_mask of the wrong shape.",
                             expected=f"(batch, k_len) = {tuple(key.shape[:2])}, True at padding",
                             received=f"key_padding_mask of shape {tuple(key_padding_mask.shape)}", fix="Use (ids == pad_id).")

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, num_heads={self.num_heads}, head_dim={self.head_dim}, dropout={self.dropout}"


def _merge_masks(key_padding_mask: torch.Tensor | None, attn_mask: torch.Tensor | None,
                 other: torch.Tensor | None = None) -> torch.Tensor | None:
    """One mask from a padding mask (True = pad) and attention masks (True = allowed, or float scores to add).

    Stays boolean (True = allowed) unless a float mask is involved, then it is float (0 / -inf added).
    """
    masks = [] if key_padding_mask is None else [~key_padding_mask[:, None, None, :]]  # (batch, 1, 1, k_len)
    masks += [m for m in (attn_mask, other) if m is not None]
    if not masks:
        return None
    if all(m.dtype == torch.bool for m in masks):
        merged = masks[0]
        for m in masks[1:]:
            merged = merged & m
        return merged
    dtype = next(m.dtype for m in masks if m.dtype != torch.bool)
    merged = 0
    for m in masks:
        merged = merged + (torch.zeros(m.shape, dtype=dtype, device=m.device).masked_fill(~m, float("-inf")) if m.dtype == torch.bool else m)
    return merged
