"""The GPT: the fused attention equals the formula, the KV cache equals recomputing, sizes, errors; the char LSTM."""

import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError, ShapeError
from tujie.models.gpt import SIZES, GPT

TINY = {"vocab_size": 40, "block_size": 32, "n_layer": 2, "n_head": 2, "n_embd": 32}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return tj.models.create("gpt", **TINY).eval()


def test_fused_attention_equals_the_formula(model):
    ids = torch.randint(0, 40, (3, 20))
    logits, weights = model.forward_with_attention(ids)
    assert torch.allclose(model(ids), logits, atol=1e-5)
    assert weights.shape == (3, 2, 2, 20, 20)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 2, 2, 20), atol=1e-5)
    assert weights.triu(1).abs().max() == 0  # causal: nothing above the diagonal


def test_attention_of_one_line(model):
    weights = model.attention(torch.tensor([5, 6, 7, 8]))
    assert weights.shape == (2, 2, 4, 4) and torch.allclose(weights[:, :, 0, 0], torch.ones(2, 2))
    with pytest.raises(ShapeError, match="one sequence"):
        model.attention(torch.zeros(2, 4, dtype=torch.long))


def test_the_future_does_not_change_the_past(model):
    ids = torch.randint(0, 40, (1, 12))
    changed = ids.clone()
    changed[0, 8:] = (changed[0, 8:] + 1) % 40
    assert torch.allclose(model(ids)[:, :8], model(changed)[:, :8], atol=1e-6)
    assert not torch.allclose(model(ids)[:, 8:], model(changed)[:, 8:])


def test_kv_cache_equals_recomputing_the_prefix_step_by_step(model):
    ids = torch.randint(0, 40, (2, 26))
    cache = model.new_cache()
    first = model(ids[:, :4], cache=cache)  # a prompt of 4 tokens, then 22 steps of one token
    assert torch.allclose(first, model(ids[:, :4]), atol=1e-5)
    for t in range(4, 26):
        step = model(ids[:, t:t + 1], cache=cache)[:, -1]  # (B, V)
        assert torch.allclose(step, model(ids[:, :t + 1])[:, -1], atol=1e-5), f"step {t}"
    assert cache.length == 26


def test_the_cache_grows_past_its_first_buffer():
    torch.manual_seed(1)
    model = tj.models.create("gpt", **{**TINY, "block_size": 96}).eval()
    ids = torch.randint(0, 40, (1, 72))
    cache = model.new_cache()
    model(ids[:, :60], cache=cache)  # the first buffer holds 64 tokens
    steps = torch.cat([model(ids[:, t:t + 1], cache=cache) for t in range(60, 72)], dim=1)  # (1, 12, V)
    assert torch.allclose(steps, model(ids)[:, 60:], atol=1e-5) and cache.length == 72
    assert cache.keys[1].shape == (1, 2, 72, 16)
    with pytest.raises(ShapeError, match="batch size"):
        model(torch.zeros(2, 1, dtype=torch.long), cache=cache)


def test_several_new_tokens_after_a_cached_prefix(model):
    ids = torch.randint(0, 40, (2, 15))
    cache = model.new_cache()
    model(ids[:, :6], cache=cache)
    chunk = model(ids[:, 6:15], cache=cache)  # 9 new tokens at once: the mask is aligned bottom-right
    assert torch.allclose(chunk, model(ids)[:, 6:], atol=1e-5)


def test_the_context_cannot_exceed_the_block(model):
    with pytest.raises(ShapeError, match="block_size"):
        model(torch.zeros(1, 33, dtype=torch.long))
    cache = model.new_cache()
    model(torch.zeros(1, 30, dtype=torch.long), cache=cache)
    with pytest.raises(ShapeError, match="30 cached"):
        model(torch.zeros(1, 3, dtype=torch.long), cache=cache)


def test_config_rebuilds_the_model_and_weights_are_tied(model):
    again = tj.models.create("gpt", **model.config)
    assert again.config == model.config
    assert model.lm_head.weight is model.wte.weight
    assert sum(p.numel() for p in again.parameters()) == model.num_parameters(exclude_embeddings=False)


def test_size_presets_and_overrides():
    counts = {s: tj.models.create("gpt", vocab_size=6000, size=s).num_parameters() for s in SIZES}
    assert 0.08e6 < counts["nano"] < 0.12e6 and 0.7e6 < counts["micro"] < 0.9e6 and 3e6 < counts["mini"] < 10e6
    model = tj.models.create("gpt", vocab_size=100, size="micro", n_layer=1)
    assert (model.config["n_layer"], model.config["n_embd"]) == (1, 128)
    with pytest.raises(ConfigError, match="size"):
        tj.models.create("gpt", vocab_size=100, size="huge")
    with pytest.raises(ConfigError, match="n_head"):
        GPT(vocab_size=10, block_size=8, n_layer=1, n_head=3, n_embd=16)


def test_gpt2_initialisation_scales_the_residual_projections():
    torch.manual_seed(0)
    model = tj.models.create("gpt", vocab_size=500, block_size=16, n_layer=8, n_head=4, n_embd=128)
    proj = model.blocks[0].attn.c_proj.weight.std().item()
    fc = model.blocks[0].mlp.c_fc.weight.std().item()
    assert abs(fc - 0.02) < 0.002 and abs(proj - 0.02 / 4) < 0.001  # 1/sqrt(2 · 8) = 1/4


def test_a_tiny_gpt_learns_a_repeating_sequence():
    torch.manual_seed(0)
    model = tj.models.create("gpt", **TINY)
    data = torch.arange(4, 12).repeat(4)[None]  # (1, 32): 4 5 6 ... 11 4 5 ...
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(25):
        loss = torch.nn.functional.cross_entropy(model(data[:, :-1]).reshape(-1, 40), data[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3


def test_char_lstm_state_equals_recomputing():
    torch.manual_seed(0)
    model = tj.models.create("char_lstm", vocab_size=30, n_embd=8, n_hidden=16, n_layer=2).eval()
    ids = torch.randint(0, 30, (2, 10))
    cache = model.new_cache()
    model(ids[:, :3], cache=cache)
    for t in range(3, 10):
        assert torch.allclose(model(ids[:, t:t + 1], cache=cache)[:, -1], model(ids[:, :t + 1])[:, -1], atol=1e-5)
    assert cache.length == 10
    assert tj.models.create("char_lstm", **model.config).config == model.config
    assert model.num_parameters(exclude_embeddings=False) - model.num_parameters() == 30 * 8
