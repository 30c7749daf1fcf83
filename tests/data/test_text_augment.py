"""Token dropout and swaps on padded batches: padding and protected ids untouched, lengths right."""

import doctest

import pytest
import torch

from tujie.data import text_augment
from tujie.data.text_augment import TokenAugmentations, TokenDropout, TokenSwap, build_text_augmentation
from tujie.errors import ConfigError, ShapeError

PAD, UNK, BOS, EOS = 0, 1, 2, 3


def padded_batch(lengths, seed=0, vocab=50):
    """Right-padded (B, T) batch: BOS, random ids >= 4, EOS, then PAD."""
    g = torch.Generator().manual_seed(seed)
    seq = max(lengths) + 2
    tokens = torch.full((len(lengths), seq), PAD)
    for i, n in enumerate(lengths):
        tokens[i, 0], tokens[i, n + 1] = BOS, EOS
        tokens[i, 1:n + 1] = torch.randint(4, vocab, (n,), generator=g)
    return tokens, torch.tensor(lengths) + 2


def reference_delete(tokens, dropped):
    """Python reference of delete mode: the kept tokens of each row, then padding."""
    out = torch.full_like(tokens, PAD)
    for i in range(len(tokens)):
        kept = [t for t, d in zip(tokens[i].tolist(), dropped[i].tolist()) if t != PAD and not d]
        out[i, :len(kept)] = torch.tensor(kept, dtype=tokens.dtype)
    return out


def test_replace_mode_changes_only_unprotected_real_tokens():
    tokens, lengths = padded_batch([5, 12, 1, 30, 8])
    drop = TokenDropout(p=0.3, replace_with=UNK, protect=(BOS, EOS), seed=0)
    out, new_lengths = drop(tokens, lengths)
    assert out.shape == tokens.shape and torch.equal(new_lengths, lengths)
    changed = out != tokens
    assert (out[changed] == UNK).all()
    assert not changed[(tokens == PAD) | (tokens == BOS) | (tokens == EOS)].any()
    rate = changed.sum() / ((tokens >= 4).sum())
    assert 0.15 < rate < 0.45


def test_delete_mode_shifts_left_pads_the_end_and_matches_a_reference():
    tokens, lengths = padded_batch([5, 12, 1, 30, 8, 20], seed=1)
    drop = TokenDropout(p=0.25, replace_with=None, protect=(BOS, EOS), seed=3)
    out, new_lengths = drop(tokens, lengths)
    # Recover which tokens were dropped from the same seeded draw.
    u = torch.rand(tokens.shape, generator=torch.Generator().manual_seed(3))
    dropped = (tokens >= 4) & (u < 0.25)
    assert dropped.any()
    assert torch.equal(out, reference_delete(tokens, dropped))
    assert torch.equal(new_lengths, lengths - dropped.sum(1))
    assert torch.equal((out != PAD).sum(1), new_lengths)
    assert (out[tokens == PAD] == PAD).all()  # padding positions stay padding
    assert (out[:, 0] == BOS).all()


def test_delete_mode_never_empties_a_sequence():
    tokens = torch.tensor([[7, 8, 0], [9, 0, 0], [0, 0, 0]])
    out, lengths = TokenDropout(p=1.0, seed=0)(tokens, torch.tensor([2, 1, 0]))
    assert torch.equal(out, tokens) and lengths.tolist() == [2, 1, 0]


def test_delete_mode_without_lengths_returns_only_tokens():
    tokens = torch.tensor([[2, 5, 6, 3, 0]])
    out = TokenDropout(p=1.0, protect=(2, 3))(tokens)
    assert torch.equal(out, torch.tensor([[2, 3, 0, 0, 0]]))


def test_lengths_mark_padding_even_when_pad_id_is_a_real_token():
    tokens = torch.tensor([[5, 6, 7, 9, 9]])  # padded with 9 but the module is told pad_id=0
    out, lengths = TokenDropout(p=1.0, replace_with=UNK, seed=0)(tokens, torch.tensor([3]))
    assert out.tolist() == [[UNK, UNK, UNK, 9, 9]] and lengths.tolist() == [3]


def test_swap_moves_tokens_at_most_one_place_and_never_padding_or_protected():
    tokens, lengths = padded_batch([5, 12, 1, 30, 8, 20], seed=2)
    out, new_lengths = TokenSwap(p=0.5, protect=(BOS, EOS), seed=0)(tokens, lengths)
    assert torch.equal(new_lengths, lengths)
    fixed = (tokens == PAD) | (tokens == BOS) | (tokens == EOS)
    assert torch.equal(out[fixed], tokens[fixed])
    assert torch.equal(out.sort(1).values, tokens.sort(1).values)  # a permutation within each row
    moved = out != tokens
    assert moved.any()
    for i, t in moved.nonzero().tolist():  # every change is an exchange with a neighbour
        assert (t > 0 and out[i, t] == tokens[i, t - 1] and out[i, t - 1] == tokens[i, t]) or \
               (t + 1 < tokens.shape[1] and out[i, t] == tokens[i, t + 1] and out[i, t + 1] == tokens[i, t])


def test_swap_rate_is_about_p_per_token():
    tokens = torch.arange(4, 204).repeat(64, 1)  # (64, 200), all distinct in a row
    out = TokenSwap(p=0.2, seed=0)(tokens)
    rate = (out != tokens).float().mean().item()
    assert 0.17 < rate < 0.23


def test_seed_reproducible_and_eval_mode_is_identity():
    tokens, _ = padded_batch([10, 20, 15])
    for cls, options in ((TokenDropout, {"replace_with": UNK}), (TokenDropout, {}), (TokenSwap, {})):
        a, b = cls(p=0.3, seed=5, **options), cls(p=0.3, seed=5, **options)
        assert torch.equal(a(tokens), b(tokens))
        assert torch.equal(a.eval()(tokens), tokens)
        assert torch.equal(cls(p=0.0, **options)(tokens), tokens)


def test_bad_inputs_are_explained():
    with pytest.raises(ShapeError, match="token ids"):
        TokenDropout()(torch.rand(2, 5))
    with pytest.raises(ShapeError, match="token ids"):
        TokenSwap()(torch.tensor([1, 2, 3]))
    with pytest.raises(ShapeError, match="lengths"):
        TokenDropout()(torch.ones(2, 5, dtype=torch.long), torch.tensor([5]))
    with pytest.raises(ConfigError, match="`p`"):
        TokenSwap(p=1.5)
    with pytest.raises(ConfigError, match="replace_with"):
        TokenDropout(replace_with=0, pad_id=0)


def test_build_text_augmentation_from_recipe_entries():
    assert build_text_augmentation(None) is None and build_text_augmentation([]) is None
    aug = build_text_augmentation([{"token_dropout": {"p": 0.2, "replace_with": UNK}}, "token_swap"],
                                  pad_id=PAD, protect=(BOS, EOS))
    assert isinstance(aug, TokenAugmentations)
    assert [type(s) for s in aug] == [TokenDropout, TokenSwap] and aug[0].p == 0.2 and aug[1].protect == (BOS, EOS)
    tokens, lengths = padded_batch([6, 9])
    out, new_lengths = aug(tokens, lengths)
    assert out.shape == tokens.shape and torch.equal(new_lengths, lengths)
    assert isinstance(build_text_augmentation("token_swap")[0], TokenSwap)


def test_build_text_augmentation_explains_unknown_names_and_options():
    with pytest.raises(ConfigError, match="Did you mean 'token_dropout'.*token_dropout, token_swap"):
        build_text_augmentation(["token_dropot"])
    with pytest.raises(ConfigError, match="token_swap"):
        build_text_augmentation([{"token_swap": {"replace_with": 1}}])


def test_docstring_examples():
    assert doctest.testmod(text_augment, extraglobs={"torch": torch}).failed == 0
