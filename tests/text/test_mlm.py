"""BERT's masking recipe (15% of real tokens: 80% [MASK], 10% random, 10% unchanged), measured on many tokens."""

from __future__ import annotations

import pytest
import torch

from tujie.errors import ConfigError
from tujie.text.mlm import IGNORE_INDEX, mask_tokens, masked_accuracy


def _batch():
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(4, 1000, (200, 500), generator=generator)
    ids[:, 0], ids[:, -1] = 2, 3          # <bos> ... <eos>
    ids[::2, 400:] = 0                    # padding on every other row
    return ids


def test_the_shares_are_bert_s():
    ids = _batch()
    inputs, labels = mask_tokens(ids, mask_id=1000, vocab_size=1000, generator=torch.Generator().manual_seed(0))
    real = ids > 3
    chosen = labels != IGNORE_INDEX
    assert chosen.sum() / real.sum() == pytest.approx(0.15, abs=0.003)
    assert not (chosen & ~real).any()  # padding, <bos>, <eos> are never chosen
    assert torch.equal(labels[chosen], ids[chosen])  # the label is the original token
    masked = inputs[chosen] == 1000
    changed = (inputs[chosen] != ids[chosen]) & ~masked
    kept = inputs[chosen] == ids[chosen]
    n = chosen.sum()
    assert masked.sum() / n == pytest.approx(0.8, abs=0.01)
    assert changed.sum() / n == pytest.approx(0.1, abs=0.01)  # random tokens (a random draw equal to the original counts as kept)
    assert kept.sum() / n == pytest.approx(0.1, abs=0.01)
    assert torch.equal(inputs[~chosen], ids[~chosen])
    assert inputs[chosen & (inputs != 1000)].min() >= 4 and inputs.max() <= 1000  # random ids are ordinary tokens


def test_the_same_generator_seed_gives_the_same_masks():
    ids = _batch()
    first = mask_tokens(ids, mask_id=1000, vocab_size=1000, generator=torch.Generator().manual_seed(7))
    second = mask_tokens(ids, mask_id=1000, vocab_size=1000, generator=torch.Generator().manual_seed(7))
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_bad_shares_and_a_vocabulary_of_specials_only_are_refused():
    with pytest.raises(ConfigError, match="masking shares are not valid"):
        mask_tokens(_batch(), mask_id=1000, vocab_size=1000, mask_share=0.95, random_share=0.1)
    with pytest.raises(ConfigError, match="has no ordinary token"):
        mask_tokens(_batch(), mask_id=4, vocab_size=4)


def test_masked_accuracy_counts_the_chosen_positions_only():
    logits = torch.zeros(2, 3, 6)
    logits[0, 0, 5] = logits[0, 1, 1] = logits[1, 2, 4] = 1.0
    labels = torch.tensor([[5, 2, IGNORE_INDEX], [IGNORE_INDEX, IGNORE_INDEX, 4]])
    assert float(masked_accuracy(logits, labels)) == pytest.approx(2 / 3)
    assert masked_accuracy(logits, torch.full((2, 3), IGNORE_INDEX)).isnan()
