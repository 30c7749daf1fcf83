"""Attention layers against PyTorch's own: the formula, masks, multi-head attention with copied weights."""

import doctest
import importlib

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tujie.errors import ConfigError, ShapeError
from tujie.layers import (AdditiveAttention, DotAttention, LearnedPositionalEmbedding, MultiHeadAttention,
                          SinusoidalPositionalEncoding, scaled_dot_product_attention)


@pytest.mark.parametrize("name", ["tujie.layers.attention", "tujie.layers.positional"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": nn})
    assert result.attempted > 0 and result.failed == 0


# --- scaled_dot_product_attention ---------------------------------------------------------------

def _qkv(q_len=5, k_len=7, d=8, d_v=6):
    torch.manual_seed(0)
    return torch.randn(2, 3, q_len, d), torch.randn(2, 3, k_len, d), torch.randn(2, 3, k_len, d_v)


def test_formula_equals_torch_without_mask():
    q, k, v = _qkv()
    out, weights = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights, torch.softmax(q @ k.transpose(-2, -1) / 8 ** 0.5, -1))


@pytest.mark.parametrize("q_len,k_len", [(5, 5), (4, 7), (7, 4)])
def test_formula_equals_torch_causal(q_len, k_len):
    q, k, v = _qkv(q_len, k_len)
    out, weights = scaled_dot_product_attention(q, k, v, causal=True)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-5, rtol=1e-5)
    assert (weights.triu(1) == 0).all()


def test_formula_equals_torch_with_boolean_and_float_masks():
    q, k, v = _qkv()
    allowed = torch.rand(2, 1, 5, 7) > 0.4
    allowed[..., 0] = True  # every query keeps one key
    out, weights = scaled_dot_product_attention(q, k, v, mask=allowed)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=allowed), atol=1e-5, rtol=1e-5)
    assert (weights[~allowed.expand_as(weights)] == 0).all()
    bias = torch.randn(5, 7)
    out, _ = scaled_dot_product_attention(q, k, v, mask=bias)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=bias), atol=1e-5, rtol=1e-5)


def test_formula_with_mask_and_causal_together():
    q, k, v = _qkv(6, 6)
    allowed = torch.ones(2, 1, 1, 6, dtype=torch.bool)
    allowed[0, ..., 4:] = False
    combined = allowed & torch.ones(6, 6, dtype=torch.bool).tril()
    out, _ = scaled_dot_product_attention(q, k, v, mask=allowed, causal=True)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=combined), atol=1e-5, rtol=1e-5)


def test_query_that_sees_no_key_gets_zeros_and_finite_gradients():
    q, k, v = _qkv()
    q.requires_grad_(True)
    allowed = torch.ones(5, 7, dtype=torch.bool)
    allowed[2] = False
    out, weights = scaled_dot_product_attention(q, k, v, mask=allowed)
    assert (out[:, :, 2] == 0).all() and (weights[:, :, 2] == 0).all()
    out.sum().backward()
    assert torch.isfinite(q.grad).all()


# --- Bahdanau and Luong -------------------------------------------------------------------------

def test_additive_attention_formula_and_shapes():
    torch.manual_seed(0)
    attention = AdditiveAttention(16)
    query, keys = torch.randn(3, 10), torch.randn(3, 6, 12)
    context, weights = attention(query, keys)
    assert attention.built and context.shape == (3, 12) and weights.shape == (3, 6)
    scores = torch.tanh(query[:, None] @ attention.query_proj.weight.T + keys @ attention.key_proj.weight.T + attention.key_proj.bias)
    expected = torch.softmax((scores @ attention.score_proj.weight.T).squeeze(-1), -1)  # v^T tanh(W_q q + W_k k)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(context, (expected[:, :, None] * keys).sum(1))
    many, many_weights = attention(query[:, None].expand(3, 4, 10), keys)  # a sequence of queries
    assert many.shape == (3, 4, 12) and many_weights.shape == (3, 4, 6)
    torch.testing.assert_close(many[:, 1], context)


@pytest.mark.parametrize("score", ["dot", "general"])
def test_dot_attention_formula(score):
    torch.manual_seed(0)
    attention = DotAttention(score, query_dim=8, key_dim=8)
    query, keys, values = torch.randn(2, 3, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 4)
    context, weights = attention(query, keys, values)
    w = torch.eye(8) if score == "dot" else attention.key_proj.weight  # (query_dim, key_dim)
    expected = torch.softmax(query @ w @ keys.transpose(1, 2), -1)  # q^T W k
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(context, expected @ values)


@pytest.mark.parametrize("attention", [AdditiveAttention(8), DotAttention("general"), DotAttention("dot")])
def test_seq_attention_ignores_padded_keys(attention):
    torch.manual_seed(0)
    query, keys = torch.randn(2, 6), torch.randn(2, 5, 6)
    padding = torch.tensor([[False] * 5, [False, False, False, True, True]])
    context, weights = attention(query, keys, key_padding_mask=padding)
    assert (weights[1, 3:] == 0).all() and torch.allclose(weights.sum(-1), torch.ones(2))
    changed = keys.clone()
    changed[1, 3:] = 100.0
    torch.testing.assert_close(attention(query, changed, key_padding_mask=padding)[0], context)
    short, _ = attention(query[1:], keys[1:, :3])
    torch.testing.assert_close(short, context[1:])


def test_seq_attention_errors_name_the_layer():
    with pytest.raises(ShapeError, match="general"):
        DotAttention("dot")(torch.randn(2, 4), torch.randn(2, 5, 6))
    with pytest.raises(ConfigError, match="score"):
        DotAttention("concat")
    with pytest.raises(ShapeError, match="key_padding_mask"):
        AdditiveAttention(4)(torch.randn(2, 4), torch.randn(2, 5, 6), key_padding_mask=torch.zeros(2, 4, dtype=torch.bool))
    built = AdditiveAttention(4)
    built(torch.randn(2, 4), torch.randn(2, 5, 6))
    with pytest.raises(ShapeError, match="additive_attention"):
        built(torch.randn(2, 3), torch.randn(2, 5, 6))


def test_lazy_seq_attention_loads_from_state_dict():
    a = AdditiveAttention(8)
    a(torch.randn(2, 5), torch.randn(2, 4, 7))
    b = AdditiveAttention(8)
    b.load_state_dict(a.state_dict())
    assert (b.query_dim, b.key_dim) == (5, 7)
    query, keys = torch.randn(3, 5), torch.randn(3, 2, 7)
    torch.testing.assert_close(a(query, keys), b(query, keys))


# --- MultiHeadAttention vs torch.nn.MultiheadAttention ------------------------------------------

def copy_into_torch(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
        theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        theirs.out_proj.weight.copy_(ours.out_proj.weight)
        theirs.out_proj.bias.copy_(ours.out_proj.bias)


def _pair(d_model=16, num_heads=4):
    torch.manual_seed(0)
    ours = MultiHeadAttention(d_model, num_heads)
    for p in ours.parameters():  # non-zero biases, so a mistake in them shows
        nn.init.normal_(p, std=0.3)
    theirs = nn.MultiheadAttention(d_model, num_heads, batch_first=True)
    copy_into_torch(ours, theirs)
    return ours.eval(), theirs.eval()


@pytest.mark.parametrize("need_weights", [False, True])
def test_multi_head_attention_equals_torch_self_and_cross(need_weights):
    ours, theirs = _pair()
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 8, 16)
    for args in [(x, x, x), (x, memory, memory)]:
        out, weights = ours(*args, need_weights=need_weights)
        ref, ref_weights = theirs(*args, need_weights=True)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
        if need_weights:
            torch.testing.assert_close(weights, ref_weights, atol=1e-5, rtol=1e-5)
        else:
            assert weights is None


@pytest.mark.parametrize("need_weights", [False, True])
def test_multi_head_attention_equals_torch_with_padding_and_causal_masks(need_weights):
    ours, theirs = _pair()
    x = torch.randn(3, 6, 16)
    padding = torch.zeros(3, 6, dtype=torch.bool)
    padding[1, 4:] = True
    padding[2, 2:] = True
    causal_blocked = torch.ones(6, 6, dtype=torch.bool).triu(1)  # torch's boolean mask: True = may NOT attend
    out, weights = ours(x, key_padding_mask=padding, causal=True, need_weights=need_weights)
    ref, ref_weights = theirs(x, x, x, key_padding_mask=padding, attn_mask=causal_blocked, need_weights=True)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    if need_weights:
        torch.testing.assert_close(weights, ref_weights, atol=1e-5, rtol=1e-5)
    # the same through attn_mask (True = allowed here), and per-head weights
    out2, per_head = ours(x, key_padding_mask=padding, attn_mask=~causal_blocked, need_weights=True, average_weights=False)
    torch.testing.assert_close(out2, ref, atol=1e-5, rtol=1e-5)
    ref_heads = theirs(x, x, x, key_padding_mask=padding, attn_mask=causal_blocked, average_attn_weights=False)[1]
    torch.testing.assert_close(per_head, ref_heads, atol=1e-5, rtol=1e-5)


def test_multi_head_attention_float_mask_equals_torch():
    ours, theirs = _pair()
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    bias = torch.randn(5, 7)
    padding = torch.zeros(2, 7, dtype=torch.bool)
    padding[0, 5:] = True
    for need_weights in (False, True):
        out, _ = ours(x, memory, attn_mask=bias, key_padding_mask=padding, causal=True, need_weights=need_weights)
        blocked = torch.ones(5, 7, dtype=torch.bool).triu(1)
        ref, _ = theirs(x, memory, memory, attn_mask=bias.masked_fill(blocked, float("-inf")),
                        key_padding_mask=torch.zeros(2, 7).masked_fill(padding, float("-inf")))
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_multi_head_attention_gradients_and_dropout_only_in_training():
    torch.manual_seed(0)
    attention = MultiHeadAttention(8, 2, dropout=0.5)
    x = torch.randn(2, 4, 8)
    attention.eval()
    torch.testing.assert_close(attention(x)[0], attention(x)[0])
    attention.train()
    out, _ = attention(x)
    out.pow(2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in attention.parameters())


def test_multi_head_attention_errors():
    with pytest.raises(ConfigError, match=r"num_heads.*Expected: a divisor of d_model=10.*Received: num_heads=3"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ConfigError, match="d_model"):
        MultiHeadAttention(0, 1)
    with pytest.raises(ConfigError, match="dropout"):
        MultiHeadAttention(8, 2, dropout=1.5)
    attention = MultiHeadAttention(8, 2)
    with pytest.raises(ShapeError, match=r"multi_head_attention.*d_model=8.*\(2, 4, 6\)"):
        attention(torch.randn(2, 4, 6))
    with pytest.raises(ShapeError, match="key_padding_mask"):
        attention(torch.randn(2, 4, 8), key_padding_mask=torch.zeros(2, 5, dtype=torch.bool))


# --- positional encodings -----------------------------------------------------------------------

def test_sinusoidal_encoding_follows_the_paper():
    d_model = 6
    encoding = SinusoidalPositionalEncoding(d_model, max_len=50).eval()
    table = encoding(torch.zeros(1, 50, d_model))[0]  # (seq, d_model)
    for pos in (0, 3, 49):
        for i in range(d_model // 2):
            angle = torch.tensor(pos / 10000 ** (2 * i / d_model))
            torch.testing.assert_close(table[pos, 2 * i], torch.sin(angle))
            torch.testing.assert_close(table[pos, 2 * i + 1], torch.cos(angle))
    assert list(encoding.parameters()) == [] and "table" not in encoding.state_dict()
    assert SinusoidalPositionalEncoding(5, max_len=8)(torch.zeros(2, 8, 5)).shape == (2, 8, 5)  # odd d_model


def test_positional_layers_check_length_and_size():
    for layer in (SinusoidalPositionalEncoding(8, max_len=4), LearnedPositionalEmbedding(8, max_len=4)):
        with pytest.raises(ShapeError, match="max_len"):
            layer(torch.zeros(1, 5, 8))
        with pytest.raises(ShapeError, match="d_model=8"):
            layer(torch.zeros(1, 3, 7))


def test_learned_embedding_adds_its_rows():
    embedding = LearnedPositionalEmbedding(4, max_len=10)
    x = torch.randn(3, 6, 4)
    torch.testing.assert_close(embedding(x), x + embedding.weight[:6])
