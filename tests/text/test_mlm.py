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


# --------------------------------------------------------------------- the masked language model
def _body(vocab=45, seed=0):
    from tujie.models import create

    torch.manual_seed(seed)
    return create("transformer_classifier", vocab_size=vocab, d_model=32, num_heads=2, num_layers=1, dim_feedforward=64,
                  norm_first=True)


def _counting(n=800, seed=0):
    """A language with structure: each sequence counts up by one (mod 40) from a random start; ids 4..43."""
    from tujie.text.data import TextDataset

    starts = torch.randint(0, 40, (n,), generator=torch.Generator().manual_seed(seed)).tolist()
    return TextDataset([[4 + (s + i) % 40 for i in range(12)] for s in starts], torch.zeros(n, dtype=torch.long))


def test_the_mlm_shares_the_classifier_s_body_so_pretraining_trains_it():
    from tujie.text.mlm import MaskedLanguageModel

    body = _body()
    mlm = MaskedLanguageModel(body)
    assert mlm.embed is body.embed and mlm.encoder is body.encoder and mlm.mask_id == 44
    body_names = {k for k in body.state_dict() if not k.startswith("head.")}
    assert body_names <= set(mlm.state_dict()) and not any(k.startswith("head.") for k in mlm.state_dict())
    with pytest.raises(ConfigError, match="Transformer encoder classifier"):
        MaskedLanguageModel(torch.nn.Linear(3, 3))


def test_pretraining_through_fit_learns_the_language_and_fills_the_mask():
    import tujie as tj
    from tujie.text.mlm import MaskedLanguageModel

    mlm = MaskedLanguageModel(_body())
    data = _counting()
    before = mlm.embed.embedding.weight.detach().clone()
    learner = tj.Learner(mlm, optimizer="adamw", lr=3e-3)
    history = learner.fit(data, epochs=15, batch_size=32, validation_data=_counting(200, seed=1), verbose=0)
    first, last = history.epochs[0], history.epochs[-1]
    assert last["val_loss"] < first["val_loss"] - 1.0 and last["val_masked_accuracy"] > 0.25  # chance: 1 in 40
    assert not torch.equal(before, mlm.embed.embedding.weight)  # the shared body trained
    fills = mlm.fill_mask(torch.tensor([[10, 11, 12, 44, 14, 15]]), k=3)
    assert len(fills) == 1 and fills[0][0][0] == 13  # counting on: 12, [MASK], 14
    assert all(i not in (0, 1, 2, 3, 44) for i, _p in fills[0])


def test_validation_masks_are_the_same_every_epoch_and_padding_is_never_scored():
    from tujie.text.mlm import MaskedLanguageModel

    mlm = MaskedLanguageModel(_body()).eval()
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0]] * 8)
    a, b = mlm.eval_step((ids, torch.full((8,), 8))), mlm.eval_step((ids,))
    assert a["loss"] == b["loss"] and a["masked_accuracy"] == b["masked_accuracy"]  # seeded by the batch, lengths unused
    _loss, _acc, chosen = mlm.masked_loss((ids,), torch.Generator().manual_seed(0))
    assert 0 < chosen <= 8 * 8  # real tokens only: padding is never chosen
