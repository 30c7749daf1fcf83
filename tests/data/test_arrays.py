"""Batcher: every index once per epoch, drop_last, reproducibility, len."""

import pytest
import torch

from tujie.data import Batcher


def test_shuffle_covers_every_index_exactly_once_per_epoch():
    batcher = Batcher(torch.arange(103), batch_size=10, shuffle=True, generator=torch.Generator().manual_seed(0))
    epochs = [torch.cat([b for (b,) in batcher]) for _ in range(2)]
    for seen in epochs:
        assert sorted(seen.tolist()) == list(range(103))
    assert not torch.equal(epochs[0], epochs[1])  # a fresh permutation each epoch
    assert not torch.equal(epochs[0], torch.arange(103))


def test_tensors_stay_aligned_when_shuffled():
    x = torch.arange(50)
    batcher = Batcher(x, x * 10, batch_size=7, shuffle=True, generator=torch.Generator().manual_seed(1))
    for xb, yb in batcher:
        assert torch.equal(yb, xb * 10)


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 4, False), (10, 4, True), (12, 4, False),
                                                      (12, 4, True), (3, 8, False), (3, 8, True)])
def test_len_matches_batches_yielded_and_drop_last(n, batch_size, drop_last):
    batcher = Batcher(torch.arange(n), batch_size=batch_size, shuffle=True, drop_last=drop_last)
    sizes = [len(b) for (b,) in batcher]
    assert len(sizes) == len(batcher)
    if drop_last:
        assert sizes == [batch_size] * (n // batch_size)
    else:
        assert sum(sizes) == n and all(s == batch_size for s in sizes[:-1])


def test_seeded_generator_reproduces_the_order():
    def order(seed):
        batcher = Batcher(torch.arange(40), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(seed))
        return torch.cat([b for (b,) in batcher]).tolist()

    assert order(3) == order(3)
    assert order(3) != order(4)
