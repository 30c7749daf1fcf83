"""Transformer blocks (Vaswani et al. 2017): encoder and decoder layers, and their stacks.

Each layer is attention then a position-wise feed-forward network, each wrapped in a residual
connection and a LayerNorm: after the residual (post-norm, the paper) or before the sublayer
(pre-norm, `norm_first=True`: GPT-2, ViT; trains deeper stacks without warm-up). The layers
keep the sublayer and argument names of `torch.nn.TransformerEncoderLayer` (batch first), so
weights port one to one; the attention masks follow `tujie.layers.attention`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from ._base import Layer
from .activations import get_activation
from .attention import MultiHeadAttention, _positive_int, _probability

__all__ = ["FeedForward", "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder"]


class FeedForward(Layer):
    """The position-wise feed-forward network: linear2(dropout(activation(linear1(x)))), the same at every position.

    Args:
        d_model: input and output size.
        dim_feedforward: hidden size (the paper: 4 * d_model).
        dropout: dropout after the activation.
        activation: "relu" (the paper) or "gelu" (BERT, ViT), or a callable.

    Input shape: (batch, seq, d_model). Output shape: (batch, seq, d_model).

    Example:
        >>> FeedForward(8, 32)(torch.randn(2, 5, 8)).shape
        torch.Size([2, 5, 8])
    """

    def __init__(self, d_model: int, dim_feedforward: int, dropout: float = 0.0, activation="relu", bias: bool = True,
                 name: str | None = None):
        super().__init__(name)
        _positive_int("FeedForward", d_model=d_model, dim_feedforward=dim_feedforward)
        _probability("FeedForward", dropout)
        if activation is None:
            raise ConfigError("Invalid value received for argument `activation` of FeedForward.", expected='"relu", "gelu" or a callable',
                              received="activation=None", fix='Pass activation="relu".')
        self.activation_name = activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")
        self.activation = get_activation(activation)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.dropout(self.activation(self.linear1(x)))  # (batch, seq, dim_feedforward)
        return self.linear2(hidden)  # (batch, seq, d_model)

    def extra_repr(self) -> str:
        return f"activation={self.activation_name}"


class TransformerEncoderLayer(Layer):
    """One encoder layer: self-attention, then the feed-forward network, each with residual and LayerNorm.

    Args:
        d_model: size of the token vectors.
        num_heads: attention heads; must divide d_model.
        dim_feedforward: hidden size of the feed-forward network.
        dropout: on the attention weights, inside the feed-forward network and on each sublayer's output.
        activation: "relu" or "gelu" (or a callable).
        norm_first: pre-norm (x + f(norm(x))) instead of the paper's post-norm (norm(x + f(x))).
        layer_norm_eps: LayerNorm's epsilon (1e-5 as torch; ViT uses 1e-6).
        bias: biases in the linear layers and LayerNorms.

    Input shape: x (batch, seq, d_model); key_padding_mask (batch, seq), True at padding;
    attn_mask (seq, seq), True where attending is allowed; causal for left-to-right attention.
    Output shape: (batch, seq, d_model).

    Example:
        >>> layer = TransformerEncoderLayer(d_model=16, num_heads=4, dim_feedforward=32)
        >>> layer(torch.randn(2, 7, 16), key_padding_mask=torch.zeros(2, 7, dtype=torch.bool)).shape
        torch.Size([2, 7, 16])
    """

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int = 2048, dropout: float = 0.1, activation="relu",
                 norm_first: bool = False, layer_norm_eps: float = 1e-5, bias: bool = True, name: str | None = None):
        super().__init__(name)
        _probability("TransformerEncoderLayer", dropout)
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, bias=bias)
        self.feed_forward = FeedForward(d_model, dim_feedforward, dropout, activation, bias)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None, attn_mask: torch.Tensor | None = None,
                causal: bool = False) -> torch.Tensor:
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), key_padding_mask, attn_mask, causal)  # (batch, seq, d_model)
            x = x + self.dropout2(self.feed_forward(self.norm2(x)))  # (batch, seq, d_model)
        else:
            x = self.norm1(x + self._self_attention(x, key_padding_mask, attn_mask, causal))  # (batch, seq, d_model)
            x = self.norm2(x + self.dropout2(self.feed_forward(x)))  # (batch, seq, d_model)
        return x

    def _self_attention(self, x, key_padding_mask, attn_mask, causal) -> torch.Tensor:
        out, _ = self.self_attn(x, key_padding_mask=key_padding_mask, attn_mask=attn_mask, causal=causal)  # (batch, seq, d_model)
        return self.dropout1(out)


class TransformerDecoderLayer(Layer):
    """One decoder layer: causal self-attention, cross-attention to the encoder output, feed-forward network.

    Each sublayer has its residual connection and LayerNorm (post- or pre-norm). The
    self-attention is causal by default, so position t sees the target tokens up to t only.

    Args:
        d_model, num_heads, dim_feedforward, dropout, activation, norm_first, layer_norm_eps, bias:
            as in `TransformerEncoderLayer`.

    Input shape: x (batch, tgt_len, d_model); memory (batch, src_len, d_model), the encoder output;
    key_padding_mask (batch, tgt_len) and memory_key_padding_mask (batch, src_len), True at padding;
    attn_mask (tgt_len, tgt_len) and memory_mask (tgt_len, src_len), True where attending is allowed.
    Output shape: (batch, tgt_len, d_model).

    Example:
        >>> layer = TransformerDecoderLayer(d_model=16, num_heads=4, dim_feedforward=32)
        >>> layer(torch.randn(2, 5, 16), memory=torch.randn(2, 9, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int = 2048, dropout: float = 0.1, activation="relu",
                 norm_first: bool = False, layer_norm_eps: float = 1e-5, bias: bool = True, name: str | None = None):
        super().__init__(name)
        _probability("TransformerDecoderLayer", dropout)
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, bias=bias)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, bias=bias)
        self.feed_forward = FeedForward(d_model, dim_feedforward, dropout, activation, bias)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None, causal: bool = True,
                attn_mask: torch.Tensor | None = None, memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        def self_attention(h):
            return self.dropout1(self.self_attn(h, key_padding_mask=key_padding_mask, attn_mask=attn_mask, causal=causal)[0])

        def cross_attention(h):
            return self.dropout2(self.cross_attn(h, memory, key_padding_mask=memory_key_padding_mask, attn_mask=memory_mask)[0])

        if self.norm_first:
            x = x + self_attention(self.norm1(x))  # (batch, tgt_len, d_model)
            x = x + cross_attention(self.norm2(x))  # (batch, tgt_len, d_model)
            x = x + self.dropout3(self.feed_forward(self.norm3(x)))  # (batch, tgt_len, d_model)
        else:
            x = self.norm1(x + self_attention(x))  # (batch, tgt_len, d_model)
            x = self.norm2(x + cross_attention(x))  # (batch, tgt_len, d_model)
            x = self.norm3(x + self.dropout3(self.feed_forward(x)))  # (batch, tgt_len, d_model)
        return x

    def step(self, x: torch.Tensor, past: torch.Tensor | None, memory: torch.Tensor,
             key_padding_mask: torch.Tensor | None = None, memory_key_padding_mask: torch.Tensor | None = None):
        """`forward` for one new position while decoding: its output, and this layer's inputs so far.

        The new position attends to every earlier one, so its output equals the last row of
        `forward` on the whole prefix (causal), while the earlier positions, whose outputs are
        already known, are not computed again: only their keys and values are projected anew
        from `past`, this layer's inputs at those positions.

        Args:
            x: (batch, 1, d_model), the new position's input.
            past: (batch, t, d_model), the inputs at the earlier positions, or None at the first.
            key_padding_mask: (batch, t + 1), True at padded prefix positions.

        Returns:
            (output (batch, 1, d_model), inputs (batch, t + 1, d_model): `past` for the next step).

        Example:
            >>> layer = TransformerDecoderLayer(d_model=16, num_heads=4, dim_feedforward=32).eval()
            >>> x, memory = torch.randn(1, 3, 16), torch.randn(1, 5, 16)
            >>> out, past = layer.step(x[:, 2:], x[:, :2], memory)
            >>> torch.allclose(out, layer(x, memory)[:, 2:], atol=1e-6), past.shape
            (True, torch.Size([1, 3, 16]))
        """
        inputs = x if past is None else torch.cat([past, x], dim=1)  # (batch, t + 1, d_model)

        def self_attention(h_new, h_all):
            return self.dropout1(self.self_attn(h_new, h_all, key_padding_mask=key_padding_mask)[0])

        def cross_attention(h):
            return self.dropout2(self.cross_attn(h, memory, key_padding_mask=memory_key_padding_mask)[0])

        if self.norm_first:
            normed = self.norm1(inputs)  # (batch, t + 1, d_model)
            x = x + self_attention(normed[:, -1:], normed)  # (batch, 1, d_model)
            x = x + cross_attention(self.norm2(x))
            x = x + self.dropout3(self.feed_forward(self.norm3(x)))
        else:
            x = self.norm1(x + self_attention(x, inputs))  # (batch, 1, d_model)
            x = self.norm2(x + cross_attention(x))
            x = self.norm3(x + self.dropout3(self.feed_forward(x)))
        return x, inputs


class TransformerEncoder(Layer):
    """A stack of `num_layers` encoder layers, with an optional final LayerNorm.

    Each layer draws its own initial weights (torch.nn.TransformerEncoder deep-copies one layer,
    so all of its layers start equal).

    Args:
        d_model, num_heads: as in `TransformerEncoderLayer`.
        num_layers: how many layers (the paper: 6).
        final_norm: a LayerNorm after the last layer; by default only for pre-norm stacks, whose
            residual stream is otherwise never normalised.
        **layer_kwargs: dim_feedforward, dropout, activation, norm_first, layer_norm_eps, bias.

    Input shape: (batch, seq, d_model) and the masks of `TransformerEncoderLayer`.
    Output shape: (batch, seq, d_model).

    Example:
        >>> encoder = TransformerEncoder(d_model=16, num_heads=2, num_layers=3, dim_feedforward=32, norm_first=True)
        >>> len(encoder.layers), encoder.norm is not None, encoder(torch.randn(2, 7, 16)).shape
        (3, True, torch.Size([2, 7, 16]))
    """

    def __init__(self, d_model: int, num_heads: int, num_layers: int, final_norm: bool | None = None, name: str | None = None,
                 **layer_kwargs):
        super().__init__(name)
        _positive_int("TransformerEncoder", num_layers=num_layers)
        self.layers = nn.ModuleList(TransformerEncoderLayer(d_model, num_heads, **layer_kwargs) for _ in range(num_layers))
        final_norm = self.layers[0].norm_first if final_norm is None else final_norm
        self.norm = nn.LayerNorm(d_model, eps=layer_kwargs.get("layer_norm_eps", 1e-5), bias=layer_kwargs.get("bias", True)) if final_norm else None

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None, attn_mask: torch.Tensor | None = None,
                causal: bool = False) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, key_padding_mask=key_padding_mask, attn_mask=attn_mask, causal=causal)  # (batch, seq, d_model)
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Layer):
    """A stack of `num_layers` decoder layers attending to one encoder output, with an optional final LayerNorm.

    Args:
        d_model, num_heads, num_layers, final_norm, **layer_kwargs: as in `TransformerEncoder`.

    Input shape: x (batch, tgt_len, d_model), memory (batch, src_len, d_model) and the masks of
    `TransformerDecoderLayer`. Output shape: (batch, tgt_len, d_model).

    Example:
        >>> decoder = TransformerDecoder(d_model=16, num_heads=2, num_layers=2, dim_feedforward=32)
        >>> decoder(torch.randn(2, 5, 16), memory=torch.randn(2, 9, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(self, d_model: int, num_heads: int, num_layers: int, final_norm: bool | None = None, name: str | None = None,
                 **layer_kwargs):
        super().__init__(name)
        _positive_int("TransformerDecoder", num_layers=num_layers)
        self.layers = nn.ModuleList(TransformerDecoderLayer(d_model, num_heads, **layer_kwargs) for _ in range(num_layers))
        final_norm = self.layers[0].norm_first if final_norm is None else final_norm
        self.norm = nn.LayerNorm(d_model, eps=layer_kwargs.get("layer_norm_eps", 1e-5), bias=layer_kwargs.get("bias", True)) if final_norm else None

    def forward(self, x: torch.Tensor, memory: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None, causal: bool = True,
                attn_mask: torch.Tensor | None = None, memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, memory, key_padding_mask=key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      causal=causal, attn_mask=attn_mask, memory_mask=memory_mask)  # (batch, tgt_len, d_model)
        return x if self.norm is None else self.norm(x)

    def step(self, x: torch.Tensor, past: list | None, memory: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
             memory_key_padding_mask: torch.Tensor | None = None):
        """One new position through the stack (incremental decoding): its output and every layer's inputs so far.

        Args:
            x: (batch, 1, d_model), the new position's embedding.
            past: the list `step` returned for the earlier positions (one (batch, t, d_model)
                tensor per layer), or None at the first position.
            key_padding_mask: (batch, t + 1), True at padded prefix positions.

        Returns:
            (output (batch, 1, d_model), the list to pass as `past` next time).
        """
        inputs = []
        for i, layer in enumerate(self.layers):
            x, layer_inputs = layer.step(x, None if past is None else past[i], memory, key_padding_mask,
                                         memory_key_padding_mask)  # (batch, 1, d_model), (batch, t + 1, d_model)
            inputs.append(layer_inputs)
        return (x if self.norm is None else self.norm(x)), inputs

