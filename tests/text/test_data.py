"""Padding, masks, packing, TextDataset and the length-bucketing batcher."""

import pytest
import torch
from torch import nn

from tujie.errors import ConfigError, DataError, ShapeError
from tujie.text import BucketBatcher, TextDataset, TruncationWarning, WordTokenizer, pack_padded, pad_sequences, padding_mask, unpack


def variable_lengths(n=1000, seed=0, low=1, high=300):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(low, high, (n,), generator=g).tolist()
    return TextDataset([[4 + i % 7] * m for i, m in enumerate(lengths)], torch.arange(n))


# ---- pad_sequences / padding_mask / packing --------------------------------------------------

def test_pad_sequences_values_shapes_and_dtypes():
    tokens, lengths = pad_sequences([[5, 6, 7], [8], [9, 10]])
    assert tokens.dtype == lengths.dtype == torch.int64
    assert tokens.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]] and lengths.tolist() == [3, 1, 2]
    tokens, lengths = pad_sequences([torch.tensor([5, 6, 7, 8]), [9]], pad_id=-1, max_len=2)
    assert tokens.tolist() == [[5, 6], [9, -1]] and lengths.tolist() == [2, 1]  # T = longest after cutting


def test_pad_sequences_refuses_empty_rows_and_bad_input():
    with pytest.raises(DataError, match="row 1") as e:
        pad_sequences([[4], [], [5]])
    assert "add_bos" in e.value.fix
    with pytest.raises(DataError, match="no sequences"):
        pad_sequences([])
    with pytest.raises(DataError, match="integer ids"):
        pad_sequences([["a", "b"]])
    with pytest.raises(ConfigError):
        pad_sequences([[4]], max_len=0)


def test_padding_mask_marks_padding():
    tokens, lengths = pad_sequences([[5, 6, 7], [8], [9, 10]])
    mask = padding_mask(lengths)
    assert mask.shape == (3, 3) and mask.dtype == torch.bool
    assert torch.equal(mask, tokens == 0)
    assert padding_mask(lengths, max_len=5)[:, 3:].all()
    with pytest.raises(ShapeError):
        padding_mask(torch.ones(2, 2, dtype=torch.long))


def test_packed_rnn_matches_running_each_sequence_alone():
    torch.manual_seed(0)
    rnn = nn.GRU(4, 3, batch_first=True)
    lengths = torch.tensor([2, 5, 3])
    x = torch.randn(3, 5, 4)
    out, h = rnn(pack_padded(x, lengths))
    padded = unpack(out, total_length=5)  # (B, T, H)
    assert padded.shape == (3, 5, 3)
    for i, n in enumerate(lengths.tolist()):
        alone, h_alone = rnn(x[i:i + 1, :n])
        assert torch.allclose(padded[i, :n], alone[0], atol=1e-6)
        assert torch.allclose(h[0, i], h_alone[0, 0], atol=1e-6)  # the state at the real last token
        assert (padded[i, n:] == 0).all()


# ---- TextDataset ------------------------------------------------------------------------------

def test_text_dataset_lengths_and_subsets():
    ds = TextDataset([[4, 5], [6], [7, 8, 9]], torch.tensor([0, 1, 0]), ["a b", "c", "d e f"])
    assert len(ds) == 3 and ds.lengths.tolist() == [2, 1, 3] and ds.lengths.dtype == torch.int64
    for index in ([2, 0], torch.tensor([2, 0]), torch.tensor([True, False, True])):
        sub = ds.subset(index)
        assert sorted(sub.targets.tolist()) == [0, 0] and sorted(sub.texts) == ["a b", "d e f"]
    assert ds.subset(slice(1, 3)).sequences == [[6], [7, 8, 9]]
    assert ds[1] == ([6], 1)
    assert isinstance(ds.batches(batch_size=2, shuffle=False), BucketBatcher)


def test_text_dataset_errors():
    with pytest.raises(DataError, match="Sequence 1 .*'   '"):
        TextDataset([[4], []], texts=["fine", "   "])
    with pytest.raises(DataError, match="targets"):
        TextDataset([[4], [5]], torch.tensor([1]))
    with pytest.raises(DataError, match="texts"):
        TextDataset([[4], [5]], texts=["a"])


def test_from_texts_encodes_with_truncation():
    tok = WordTokenizer().train(["good film", "bad film"])
    with pytest.warns(TruncationWarning, match="1 of 2 texts"):
        ds = TextDataset.from_texts(["good film " * 5, "bad"], tok, torch.tensor([1, 0]), max_len=4, add_eos=True)
    assert ds.lengths.tolist() == [4, 2] and ds.sequences[0][-1] == tok.eos_id and ds.texts[1] == "bad"


# ---- BucketBatcher ------------------------------------------------------------------------------

@pytest.mark.parametrize("bucket", [True, False])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_sample_exactly_once_per_epoch(bucket, shuffle):
    ds = variable_lengths(n=1003)
    batcher = BucketBatcher(ds, batch_size=16, shuffle=shuffle, bucket=bucket, bucket_size_multiplier=5,
                            generator=torch.Generator().manual_seed(1))
    for _ in range(2):  # two epochs
        seen, batches = [], 0
        for tokens, lengths, y in batcher:
            assert tokens.shape == (len(y), int(lengths.max())) and lengths.shape == y.shape
            assert torch.equal(lengths, ds.lengths[y])  # targets are the sample indices
            assert torch.equal(tokens[0, :lengths[0]], torch.tensor(ds.sequences[y[0]]))
            seen += y.tolist()
            batches += 1
        assert sorted(seen) == list(range(1003)) and batches == len(batcher) == 63


def test_batches_are_sorted_within_buckets():
    ds = variable_lengths(n=500)
    batcher = BucketBatcher(ds, batch_size=10, shuffle=False, bucket=True, bucket_size_multiplier=5)
    batches = [lengths.tolist() for _, lengths, _ in batcher]
    for lengths in batches:
        assert lengths == sorted(lengths, reverse=True)
    for start in range(0, len(batches), 5):  # a chunk = 5 batches, sorted as a whole, longest first
        chunk = sum(batches[start:start + 5], [])
        assert chunk == sorted(chunk, reverse=True)
        assert sorted(chunk) == sorted(ds.lengths[start * 10:(start + 5) * 10].tolist())


def test_bucketing_reduces_padding():
    ds = variable_lengths(n=2000)
    plain = BucketBatcher(ds, batch_size=32, bucket=False).padding_ratio()
    bucketed = BucketBatcher(ds, batch_size=32, bucket=True).padding_ratio()
    assert bucketed < plain / 5 and 0.0 <= bucketed < 0.1 and plain > 0.3
    # and it is what the batches really hold
    tokens = [t for t, _, _ in BucketBatcher(ds, batch_size=32, bucket=True, generator=torch.Generator().manual_seed(0))]
    assert bucketed == pytest.approx(sum((t == 0).sum().item() for t in tokens) / sum(t.numel() for t in tokens))


def test_seeded_generator_gives_the_same_epochs():
    ds = variable_lengths(n=300)
    order = lambda seed: [y.tolist() for _, _, y in BucketBatcher(ds, batch_size=8, generator=torch.Generator().manual_seed(seed))]
    assert order(3) == order(3) and order(3) != order(4)
    batcher = BucketBatcher(ds, batch_size=8, generator=torch.Generator().manual_seed(3))
    first, second = [y.tolist() for _, _, y in batcher], [y.tolist() for _, _, y in batcher]
    assert first == order(3) and first != second  # a fresh order each epoch
    unshuffled = lambda: [y.tolist() for _, _, y in BucketBatcher(ds, batch_size=8, shuffle=False)]
    assert unshuffled() == unshuffled()


def test_sample_and_padding_ratio_do_not_advance_the_generator():
    ds = variable_lengths(n=300)
    untouched = BucketBatcher(ds, batch_size=8, generator=torch.Generator().manual_seed(5))
    sampled = BucketBatcher(ds, batch_size=8, generator=torch.Generator().manual_seed(5))
    tokens, lengths, y = sampled.sample(2)
    assert y.tolist() == [0, 1] and tokens.shape == (2, int(ds.lengths[:2].max()))
    sampled.padding_ratio()
    assert [b[2].tolist() for b in sampled] == [b[2].tolist() for b in untouched]
    assert sampled.padding_ratio() == untouched.padding_ratio()


def test_unshuffled_plain_batches_keep_dataset_order_and_no_targets():
    ds = TextDataset([[4] * n for n in (3, 1, 2, 5, 4)])
    batches = list(BucketBatcher(ds, batch_size=2, shuffle=False, bucket=False, pad_id=9))
    assert all(len(b) == 2 for b in batches)  # (tokens, lengths) without targets
    assert [lengths.tolist() for _, lengths in batches] == [[3, 1], [2, 5], [4]]
    assert batches[0][0].tolist() == [[4, 4, 4], [4, 9, 9]]


def test_invalid_batcher_arguments():
    ds = variable_lengths(n=10)
    with pytest.raises(ConfigError, match="batch_size"):
        BucketBatcher(ds, batch_size=0)
    with pytest.raises(DataError, match="TextDataset"):
        BucketBatcher([[1, 2]], batch_size=2)
