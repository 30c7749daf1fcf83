"""Transformer layers against torch.nn's, with copied weights, in eval mode; masks; stacks."""

import doctest
import importlib

import pytest
import torch
from torch import nn

from tujie.errors import ConfigError
from tujie.layers import (FeedForward, MultiHeadAttention, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)

D_MODEL, HEADS, FF = 16, 4, 32


def test_docstring_examples():
    result = doctest.testmod(importlib.import_module("tujie.layers.transformer"),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, extraglobs={"torch": torch, "nn": nn})
    assert result.attempted > 0 and result.failed == 0


def _copy_attention(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    theirs.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
    theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
    theirs.out_proj.load_state_dict(ours.out_proj.state_dict())


def _copy_layer(ours, theirs) -> None:
    """Our sublayers keep torch's names, except the attention projections and the feed-forward block."""
    with torch.no_grad():
        for p in ours.parameters():  # random LayerNorm and bias values too, so every weight matters
            p.copy_(torch.randn_like(p) * 0.3)
        _copy_attention(ours.self_attn, theirs.self_attn)
        if hasattr(ours, "cross_attn"):
            _copy_attention(ours.cross_attn, theirs.multihead_attn)
        theirs.linear1.load_state_dict(ours.feed_forward.linear1.state_dict())
        theirs.linear2.load_state_dict(ours.feed_forward.linear2.state_dict())
        for name in ("norm1", "norm2", "norm3"):
            if hasattr(ours, name):
                getattr(theirs, name).load_state_dict(getattr(ours, name).state_dict())


def _padding():
    padding = torch.zeros(3, 6, dtype=torch.bool)
    padding[1, 4:] = True
    padding[2, 1:] = True
    return padding


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_equals_torch(norm_first, activation):
    torch.manual_seed(0)
    ours = TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.1, activation=activation, norm_first=norm_first).eval()
    theirs = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.1, activation=activation, norm_first=norm_first,
                                        batch_first=True).eval()
    _copy_layer(ours, theirs)
    x, padding = torch.randn(3, 6, D_MODEL), _padding()
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # no_grad lets torch take its fused fast path: equal still
        torch.testing.assert_close(ours(x, key_padding_mask=padding)[~padding], theirs(x, src_key_padding_mask=padding)[~padding],
                                   atol=1e-5, rtol=1e-5)
    causal_blocked = torch.ones(6, 6, dtype=torch.bool).triu(1)  # torch's boolean mask: True = may NOT attend
    torch.testing.assert_close(ours(x, key_padding_mask=padding, causal=True),
                               theirs(x, src_mask=causal_blocked, src_key_padding_mask=padding, is_causal=True), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_equals_torch(norm_first):
    torch.manual_seed(0)
    ours = TransformerDecoderLayer(D_MODEL, HEADS, FF, dropout=0.1, norm_first=norm_first).eval()
    theirs = nn.TransformerDecoderLayer(D_MODEL, HEADS, FF, dropout=0.1, norm_first=norm_first, batch_first=True).eval()
    _copy_layer(ours, theirs)
    x, memory = torch.randn(3, 6, D_MODEL), torch.randn(3, 9, D_MODEL)
    tgt_padding = _padding()
    memory_padding = torch.zeros(3, 9, dtype=torch.bool)
    memory_padding[0, 5:] = True
    causal_blocked = torch.ones(6, 6, dtype=torch.bool).triu(1)  # torch's boolean mask: True = may NOT attend
    out = ours(x, memory, key_padding_mask=tgt_padding, memory_key_padding_mask=memory_padding)
    ref = theirs(x, memory, tgt_mask=causal_blocked, tgt_key_padding_mask=tgt_padding, memory_key_padding_mask=memory_padding,
                 tgt_is_causal=True)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours(x, memory, causal=False), theirs(x, memory), atol=1e-5, rtol=1e-5)


def test_encoder_ignores_what_sits_at_padded_positions():
    torch.manual_seed(0)
    encoder = TransformerEncoder(D_MODEL, HEADS, num_layers=2, dim_feedforward=FF).eval()
    x, padding = torch.randn(3, 6, D_MODEL), _padding()
    changed = x.clone()
    changed[padding] = 50.0
    torch.testing.assert_close(encoder(changed, key_padding_mask=padding)[~padding], encoder(x, key_padding_mask=padding)[~padding])


@pytest.mark.parametrize("norm_first", [False, True])
def test_causal_decoder_output_at_t_ignores_later_targets(norm_first):
    torch.manual_seed(0)
    decoder = TransformerDecoder(D_MODEL, HEADS, num_layers=2, dim_feedforward=FF, norm_first=norm_first).eval()
    x, memory = torch.randn(2, 7, D_MODEL), torch.randn(2, 5, D_MODEL)
    changed = x.clone()
    changed[:, 4:] = torch.randn(2, 3, D_MODEL)
    out, out_changed = decoder(x, memory), decoder(changed, memory)
    torch.testing.assert_close(out[:, :4], out_changed[:, :4])
    assert not torch.allclose(out[:, 4:], out_changed[:, 4:])


def test_stacks_have_independent_layers_and_a_final_norm_for_pre_norm():
    encoder = TransformerEncoder(D_MODEL, HEADS, num_layers=3, dim_feedforward=FF)
    assert len(encoder.layers) == 3 and encoder.norm is None
    assert not torch.equal(encoder.layers[0].self_attn.q_proj.weight, encoder.layers[1].self_attn.q_proj.weight)
    assert TransformerEncoder(D_MODEL, HEADS, num_layers=1, norm_first=True).norm is not None
    assert TransformerDecoder(D_MODEL, HEADS, num_layers=1, norm_first=True, final_norm=False).norm is None
    per_layer = sum(p.numel() for p in TransformerEncoderLayer(D_MODEL, HEADS, FF).parameters())
    assert sum(p.numel() for p in encoder.parameters()) == 3 * per_layer


def test_gradients_reach_every_weight_in_training_mode():
    torch.manual_seed(0)
    decoder = TransformerDecoder(D_MODEL, HEADS, num_layers=2, dim_feedforward=FF, activation="gelu", norm_first=True)
    decoder(torch.randn(2, 5, D_MODEL), torch.randn(2, 3, D_MODEL)).pow(2).mean().backward()
    for name, p in decoder.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_config_errors():
    with pytest.raises(ConfigError, match="num_heads"):
        TransformerEncoderLayer(10, 4)
    with pytest.raises(ConfigError, match="num_layers"):
        TransformerEncoder(D_MODEL, HEADS, num_layers=0)
    with pytest.raises(ConfigError, match="activation"):
        FeedForward(8, 16, activation="rleu")
    with pytest.raises(ConfigError, match="dim_feedforward"):
        TransformerDecoderLayer(D_MODEL, HEADS, dim_feedforward=-1)
