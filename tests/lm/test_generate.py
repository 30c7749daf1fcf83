"""Generation: sampling options, the KV cache against recomputing, sliding past the block, stops, bad options."""

import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError
from tujie.lm import generate, generate_ids
from tujie.lm.generate import _choose
from tujie.text import CharTokenizer

POEMS = ["床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。\n", "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。\n"]


@pytest.fixture(scope="module")
def tok():
    return CharTokenizer().train(POEMS)


@pytest.fixture(scope="module")
def model(tok):
    torch.manual_seed(0)
    return tj.models.create("gpt", vocab_size=tok.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=32).eval()


def test_greedy_with_and_without_cache_agree_past_the_block(model):
    prompt = torch.tensor([[5, 6, 7], [8, 9, 10]])
    notes = []
    cached = generate_ids(model, prompt, max_new=30, temperature=0, notes=notes)  # 33 tokens through a block of 16
    assert cached.shape == (2, 33) and torch.equal(cached[:, :3], prompt)
    assert torch.equal(cached, generate_ids(model, prompt, max_new=30, temperature=0, use_cache=False))
    assert any("greedy" in n for n in notes) and any("slides" in n for n in notes)


def test_sampling_with_and_without_cache_agree_and_a_seed_repeats(model):
    prompt = torch.tensor([[5, 6]] * 3)
    options = {"max_new": 12, "temperature": 0.9, "top_k": 10, "top_p": 0.95, "seed": 3}
    a = generate_ids(model, prompt, **options)
    assert torch.equal(a, generate_ids(model, prompt, **options, use_cache=False))
    assert torch.equal(a, generate_ids(model, prompt, **options))
    assert not torch.equal(a, generate_ids(model, prompt, **{**options, "seed": 4}))


def test_top_k_top_p_and_temperature_keep_the_right_tokens():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    seen = torch.zeros(1, 4, dtype=torch.bool)
    draws = lambda **kw: {int(_choose(logits, seen, generator=torch.Generator().manual_seed(i), **kw)) for i in range(60)}
    assert draws(temperature=1.0, top_k=2, top_p=None, penalty=1.0) == {0, 1}
    assert draws(temperature=1.0, top_k=None, top_p=0.7, penalty=1.0) == {0, 1}  # 0.5 < 0.7 <= 0.8
    assert draws(temperature=1.0, top_k=None, top_p=0.4, penalty=1.0) == {0}  # the most likely always stays
    assert draws(temperature=0.0, top_k=None, top_p=None, penalty=1.0) == {0}
    assert draws(temperature=1.0, top_k=None, top_p=None, penalty=1.0) == {0, 1, 2, 3}


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits():
    logits = torch.tensor([[2.0, 1.9, -1.0, -1.0]])
    seen = torch.tensor([[True, False, True, False]])
    # Token 0 (seen): 2.0 / 1.5 = 1.33 < 1.9, so greedy takes token 1; token 2 (seen): -1.0 * 1.5.
    assert int(_choose(logits, seen, 0.0, None, None, 1.5, None)) == 1
    assert int(_choose(logits, seen, 0.0, None, None, 1.0, None)) == 0
    assert int(_choose(torch.tensor([[-1.0, -1.2]]), torch.tensor([[True, False]]), 0.0, None, None, 1.5, None)) == 1


def test_stop_ends_each_row_and_pads_after_it(model):
    prompt = torch.tensor([[5, 6]] * 4)
    free = generate_ids(model, prompt, max_new=20, temperature=1.0, seed=0)
    stop = int(free[0, 4])  # a token row 0 writes: stopping on it ends row 0 there
    out = generate_ids(model, prompt, max_new=20, temperature=1.0, seed=0, stop=[stop])
    row = out[0, 2:].tolist()
    assert row[:row.index(stop) + 1] == free[0, 2:2 + row.index(stop) + 1].tolist()
    assert all(t == 0 for t in row[row.index(stop) + 1:])


def test_generate_text_cuts_at_the_stop_string(model, tok):
    texts = generate(model, tok, "床前", max_new=40, temperature=1.0, num=6, seed=1, stop="。")
    assert len(texts) == 6 and all("。" not in t for t in texts)
    full = generate(model, tok, "床前", max_new=40, temperature=1.0, num=6, seed=1)
    assert [f.startswith(t) for f, t in zip(full, texts)] == [True] * 6


def test_unknown_characters_are_named_in_a_note(model, tok):
    notes = []
    generate(model, tok, "床前明月光照我", max_new=2, notes=notes, seed=0)  # 照 and 我 are not in two poems
    assert any("照 我" in n for n in notes)


def test_an_lstm_generates_with_its_state(tok):
    torch.manual_seed(0)
    lstm = tj.models.create("char_lstm", vocab_size=tok.vocab_size, n_embd=8, n_hidden=16, n_layer=1)
    a = generate(lstm, tok, "白日", max_new=10, temperature=0.8, seed=2, num=2)
    assert a == generate(lstm, tok, "白日", max_new=10, temperature=0.8, seed=2, num=2, use_cache=False)


@pytest.mark.parametrize("option, value", [("top_p", 0.0), ("top_p", 1.2), ("top_k", 0), ("repetition_penalty", 0.0),
                                           ("max_new", -1), ("num", 0), ("temperature", "hot")])
def test_meaningless_options_are_refused_by_name(model, tok, option, value):
    with pytest.raises(ConfigError, match=option):
        generate(model, tok, "床前", **{option: value})
