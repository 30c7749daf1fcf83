"""Batches of token ids: padding with lengths and masks, bucketing by length, packing for RNNs.

Texts have different lengths, so a batch is a (B, T) tensor right-padded with `<pad>` (id
0) up to its longest text, plus the true `lengths` (B,). Every pad position is wasted
work: an LSTM steps through it (unless the batch is packed), attention must mask it.

Why bucketing matters: in a shuffled batch of IMDB reviews, one 1,000-token review makes
63 short ones pad to 1,000, and most of the tensor is padding. `BucketBatcher` (the
approach of torchtext's BucketIterator and AllenNLP) shuffles the samples, cuts them into
chunks of `batch_size * bucket_size_multiplier`, sorts each chunk by length and cuts it
into batches, then shuffles the order of the batches. Batches hold texts of similar
length, and the epoch is still random. `padding_ratio()` measures the waste:

    >>> g = torch.Generator().manual_seed(0)
    >>> lengths = torch.randint(5, 500, (2000,), generator=g).tolist()
    >>> data = TextDataset([[4] * n for n in lengths], torch.zeros(2000, dtype=torch.long))
    >>> round(BucketBatcher(data, batch_size=32, bucket=False).padding_ratio(), 2)  # plain shuffled batches
    0.48
    >>> round(BucketBatcher(data, batch_size=32, bucket=True).padding_ratio(), 2)   # bucketed by length
    0.03

For recurrent layers, `pack_padded(x, lengths)` wraps `nn.utils.rnn.pack_padded_sequence`
so the RNN skips the padding entirely and its final state is that of each sequence's real
last token; `unpack(packed)` gives back a padded (B, T, H) tensor.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from ..errors import ConfigError, DataError, ShapeError
from .tokenizers import PAD_ID

__all__ = ["pad_sequences", "padding_mask", "pack_padded", "unpack", "TextDataset", "BucketBatcher"]


def pad_sequences(seqs, pad_id: int = PAD_ID, max_len: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad sequences of ids into one tensor, and return their lengths.

    Args:
        seqs: a list of sequences of ints (lists or 1-D tensors); none may be empty, since a
            packed RNN cannot take a length-0 sequence.
        pad_id: the id written after each sequence's end.
        max_len: cut longer sequences to this many ids (silently: truncate with a warning at
            encoding time instead, `tok.encode(text, max_len=...)`, which keeps `<eos>` last).

    Returns:
        tokens (B, T) int64, T the longest length (after cutting); lengths (B,) int64.

    Example:
        >>> tokens, lengths = pad_sequences([[5, 6, 7], [8]])
        >>> tokens.tolist(), lengths.tolist()
        ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise ConfigError("Invalid value received for `max_len` of pad_sequences.", expected="an integer >= 1 or None",
                          received=f"max_len={max_len!r}", fix="Pass max_len=400, for example.")
    seqs = [s.tolist() if torch.is_tensor(s) else s for s in seqs]
    if not seqs:
        raise DataError("pad_sequences received no sequences.", expected="a non-empty list of id sequences",
                        received="[]", fix="Pass at least one sequence.")
    if max_len is not None:
        seqs = [s[:max_len] for s in seqs]
    lengths = [len(s) for s in seqs]
    if 0 in lengths:
        rows = [i for i, n in enumerate(lengths) if n == 0]
        raise DataError(f"Empty sequence at row {rows[0]} of the batch" + (f" (and {len(rows) - 1} more)" if len(rows) > 1 else "") + ".",
                        expected="at least one token per sequence (a packed RNN cannot take length 0)",
                        received=f"length 0 at rows {rows[:5]}",
                        fix="Drop empty texts before encoding, or encode with add_bos=True / add_eos=True so every "
                            "sequence has a token.")
    lengths_t = torch.tensor(lengths, dtype=torch.int64)  # (B,)
    T = max(lengths)
    tokens = torch.full((len(seqs), T), pad_id, dtype=torch.int64)  # (B, T)
    try:
        flat = torch.tensor(list(itertools.chain.from_iterable(seqs)), dtype=torch.int64)  # (sum of lengths,)
    except (TypeError, ValueError, RuntimeError) as e:
        raise DataError("pad_sequences received something other than integer ids.",
                        expected="sequences of ints", received=f"{type(seqs[0]).__name__} rows ({e})",
                        fix="Encode texts with a tokenizer first: tok.encode_batch(texts).") from None
    tokens[torch.arange(T) < lengths_t[:, None]] = flat  # row-major order: each row's real positions, in turn
    return tokens, lengths_t


def padding_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """A (B, T) bool mask, True at PADDING positions (tujie.layers' `key_padding_mask` convention).

    Args:
        lengths: (B,) real lengths.
        max_len: T; default the longest length.

    Returns:
        (B, T) bool.

    Example:
        >>> padding_mask(torch.tensor([3, 1])).tolist()
        [[False, False, False], [False, True, True]]
    """
    lengths = torch.as_tensor(lengths)
    if lengths.ndim != 1 or lengths.is_floating_point():
        raise ShapeError("padding_mask received lengths of the wrong shape or dtype.", expected="a 1-D integer tensor (B,)",
                         received=f"shape {tuple(lengths.shape)}, dtype {lengths.dtype}",
                         fix="Pass the lengths returned by pad_sequences.")
    T = int(lengths.max()) if max_len is None else max_len
    return torch.arange(T, device=lengths.device)[None, :] >= lengths[:, None]  # (B, T)


def pack_padded(x: torch.Tensor, lengths: torch.Tensor) -> nn.utils.rnn.PackedSequence:
    """Pack a right-padded batch (B, T, ...) so that an RNN runs only over the real steps.

    Args:
        x: (B, T, E) embedded tokens, batch first.
        lengths: (B,) real lengths, on any device, in any order (no sorting needed).

    Returns:
        A `PackedSequence` to pass to `nn.LSTM` / `nn.GRU` (built with `batch_first=True`).

    Example:
        >>> rnn = nn.GRU(4, 3, batch_first=True)
        >>> x = torch.randn(2, 5, 4)
        >>> out, h = rnn(pack_padded(x, torch.tensor([5, 2])))
        >>> unpack(out, total_length=5).shape, h.shape  # h: each sequence's state at its real last step
        (torch.Size([2, 5, 3]), torch.Size([1, 2, 3]))
    """
    return nn.utils.rnn.pack_padded_sequence(x, torch.as_tensor(lengths).cpu(), batch_first=True, enforce_sorted=False)


def unpack(packed: nn.utils.rnn.PackedSequence, total_length: int | None = None) -> torch.Tensor:
    """The padded (B, T, H) outputs of a packed RNN, zeros after each sequence's end.

    Args:
        packed: an RNN's output for a `pack_padded` input.
        total_length: T to pad to (default: the longest length).

    Returns:
        (B, T, H), in the original batch order.
    """
    out, _ = nn.utils.rnn.pad_packed_sequence(packed, batch_first=True, total_length=total_length)
    return out


class TextDataset:
    """Numericalised texts and their targets, held in memory.

    Args:
        sequences: one list of token ids per text (none empty).
        targets: (N,) targets, or None (prediction).
        texts: the original texts, kept for error analysis (optional).

    Example:
        >>> ds = TextDataset([[4, 5], [6], [7, 8, 9]], torch.tensor([0, 1, 0]))
        >>> len(ds), ds.lengths.tolist(), ds.subset([2, 0]).sequences
        (3, [2, 1, 3], [[7, 8, 9], [4, 5]])
    """

    def __init__(self, sequences: list[list[int]], targets: torch.Tensor | None = None, texts: list[str] | None = None):
        self.sequences = [s.tolist() if torch.is_tensor(s) else list(s) for s in sequences]
        empty = [i for i, s in enumerate(self.sequences) if not s]
        if empty:
            text = f" (its text: {texts[empty[0]][:60]!r})" if texts is not None and len(texts) > empty[0] else ""
            raise DataError(f"Sequence {empty[0]} of the dataset is empty{text}.",
                            expected="at least one token id per sample (a packed RNN cannot take length 0)",
                            received=f"{len(empty):,} empty sequences, at indices {empty[:5]}",
                            fix="Drop empty texts before encoding, or encode with add_bos=True / add_eos=True.")
        if targets is not None:
            targets = torch.as_tensor(targets)
            if len(targets) != len(self.sequences):
                raise DataError("Texts and targets have different numbers of samples.",
                                expected="one target per sequence",
                                received=f"{len(self.sequences):,} sequences, {len(targets):,} targets",
                                fix="Pass targets aligned with the sequences.")
        if texts is not None:
            texts = list(texts)
            if len(texts) != len(self.sequences):
                raise DataError("Texts and sequences have different numbers of samples.",
                                expected="one text per sequence",
                                received=f"{len(self.sequences):,} sequences, {len(texts):,} texts",
                                fix="Pass the texts the sequences were encoded from, in the same order.")
        self.targets, self.texts = targets, texts
        self.lengths = torch.tensor([len(s) for s in self.sequences], dtype=torch.int64)  # (N,)

    @classmethod
    def from_texts(cls, texts, tokenizer, targets=None, **encode_options) -> "TextDataset":
        """Encode `texts` with a trained tokenizer (options as in `encode`, e.g. max_len=400).

        Example:
            >>> from tujie.text import WordTokenizer
            >>> tok = WordTokenizer().train(["good film", "bad film"])
            >>> TextDataset.from_texts(["good film", "bad"], tok, torch.tensor([1, 0])).sequences
            [[6, 4], [5]]
        """
        texts = list(texts)
        return cls(tokenizer.encode_batch(texts, **encode_options), targets, texts)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i):
        return (self.sequences[i], self.targets[i]) if self.targets is not None else self.sequences[i]

    def subset(self, index) -> "TextDataset":
        """A new dataset holding the samples at `index` (indices, a slice, or a bool mask)."""
        if isinstance(index, slice):
            index = range(len(self))[index]
        index = torch.as_tensor(index)
        if index.dtype == torch.bool:
            index = index.nonzero().flatten()
        index = index.reshape(-1).tolist()
        return TextDataset([self.sequences[i] for i in index],
                           None if self.targets is None else self.targets[index],
                           None if self.texts is None else [self.texts[i] for i in index])

    def batches(self, batch_size: int = 32, shuffle: bool = True, generator: torch.Generator | None = None,
                **options) -> "BucketBatcher":
        """A `BucketBatcher` over this dataset (the training loop and `evaluate` call this)."""
        return BucketBatcher(self, batch_size=batch_size, shuffle=shuffle, generator=generator, **options)

    def __repr__(self) -> str:
        targets = "" if self.targets is None else f", targets={tuple(self.targets.shape)} {self.targets.dtype}"
        lengths = f"lengths {int(self.lengths.min())}..{int(self.lengths.max())}" if len(self) else "empty"
        return f"TextDataset({len(self):,} sequences, {lengths}{targets})"


class BucketBatcher:
    """Padded batches of texts of similar length: (tokens (B, T), lengths (B,), targets (B,)).

    Args:
        dataset: a `TextDataset`; without targets the batches are (tokens, lengths).
        batch_size: samples per batch (the last batch of each chunk may be smaller).
        shuffle: a fresh random order every epoch; False gives the same order each time.
        bucket: sort each chunk by length (longest first) before cutting it into batches;
            False gives plain batches in sample order (shuffled or not).
        generator: a `torch.Generator` for reproducible epochs (default: torch's global one).
        pad_id: the padding id.
        bucket_size_multiplier: a chunk holds `batch_size * bucket_size_multiplier` samples:
            larger chunks give less padding but batches less random.

    Example:
        >>> ds = TextDataset([[1] * n for n in (3, 1, 4, 1, 5, 9)], torch.arange(6))
        >>> [y.tolist() for _, _, y in BucketBatcher(ds, batch_size=2, shuffle=False)]
        [[5, 4], [2, 0], [1, 3]]
        >>> [y.tolist() for _, _, y in BucketBatcher(ds, batch_size=2, shuffle=False, bucket=False)]
        [[0, 1], [2, 3], [4, 5]]
    """

    def __init__(self, dataset: TextDataset, batch_size: int = 32, shuffle: bool = True, bucket: bool = True,
                 generator: torch.Generator | None = None, pad_id: int = PAD_ID, bucket_size_multiplier: int = 50):
        for name, value in (("batch_size", batch_size), ("bucket_size_multiplier", bucket_size_multiplier)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"Invalid value received for `{name}` of BucketBatcher.", expected="an integer >= 1",
                                  received=f"{name}={value!r}", fix=f"Pass {name}={32 if name == 'batch_size' else 50}.")
        if not isinstance(dataset, TextDataset):
            raise DataError("BucketBatcher needs a TextDataset.", expected="TextDataset(sequences, targets)",
                            received=type(dataset).__name__, fix="Wrap the encoded texts: TextDataset(tok.encode_batch(texts), y).")
        self.dataset, self.batch_size, self.shuffle, self.bucket = dataset, batch_size, shuffle, bucket
        self.generator, self.pad_id, self.bucket_size_multiplier = generator, pad_id, bucket_size_multiplier

    def __len__(self) -> int:
        # Every chunk but the last holds a whole number of batches, so chunking never adds a batch.
        return math.ceil(len(self.dataset) / self.batch_size)

    def _batch_indices(self, generator: torch.Generator | None) -> list[torch.Tensor]:
        """One epoch's batches, as index tensors, drawn with `generator`."""
        n, bs = len(self.dataset), self.batch_size
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)  # (N,)
        if not self.bucket:
            return list(order.split(bs))
        lengths, batches = self.dataset.lengths, []
        for chunk in order.split(bs * self.bucket_size_multiplier):
            by_length = torch.sort(lengths[chunk], descending=True, stable=True).indices
            batches += chunk[by_length].split(bs)  # each batch longest first, as packing likes
        if self.shuffle:  # else the long-first sorted order of each chunk is kept
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        return batches

    def _collate(self, index: torch.Tensor) -> tuple:
        seqs = self.dataset.sequences
        tokens, lengths = pad_sequences([seqs[i] for i in index.tolist()], pad_id=self.pad_id)  # (B, T), (B,)
        if self.dataset.targets is None:
            return tokens, lengths
        return tokens, lengths, self.dataset.targets[index]

    def __iter__(self):
        for index in self._batch_indices(self.generator):
            yield self._collate(index)

    def sample(self, n: int = 2) -> tuple:
        """The first `n` samples as one batch, without drawing from the shuffling generator.

        Used to size lazy layers before training: the epoch order stays what it would have been.
        """
        return self._collate(torch.arange(min(n, len(self.dataset))))

    def padding_ratio(self) -> float:
        """Share of pad positions in one epoch's batches, drawn with a fixed private seed (deterministic)."""
        lengths, padded, real = self.dataset.lengths, 0, 0
        for index in self._batch_indices(torch.Generator().manual_seed(0)):
            batch = lengths[index]
            padded += int(batch.max()) * len(batch)
            real += int(batch.sum())
        return 1.0 - real / padded if padded else 0.0

    def __repr__(self) -> str:
        return (f"BucketBatcher({len(self.dataset):,} samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"bucket={self.bucket}, {len(self)} batches)")
