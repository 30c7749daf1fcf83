"""Sentence pairs for translation: encoded (source, target) sequences, batched by length, padded.

A batch is `(src (B, S), tgt (B, T))`, both right-padded with `<pad>` (id 0); every target
starts with `<bos>` and ends with `<eos>`, so a seq2seq model's `train_step` can feed
`tgt[:, :-1]` and predict `tgt[:, 1:]` (teacher forcing). Batches group pairs of similar
source length, so little of each batch is padding.

Example:
    >>> data = PairDataset([[5, 6], [7], [5, 6, 7]], [[2, 8, 3], [2, 9, 3], [2, 8, 9, 3]])
    >>> src, tgt = next(iter(data.batches(batch_size=3, shuffle=False)))
    >>> src.shape, tgt.shape
    (torch.Size([3, 3]), torch.Size([3, 4]))
"""

from __future__ import annotations

import torch

from ..errors import DataError
from .data import pad_sequences


class PairDataset:
    """Encoded sentence pairs in memory (`sources[i]` translates to `targets[i]`), with the raw texts if known."""

    def __init__(self, sources: list[list[int]], targets: list[list[int]], texts: list[tuple[str, str]] | None = None):
        if len(sources) != len(targets):
            raise DataError("Source and target sentences differ in number.", expected="one target per source",
                            received=f"{len(sources):,} sources, {len(targets):,} targets", fix="Pass aligned pairs.")
        empty = next((i for i, (s, t) in enumerate(zip(sources, targets)) if not s or not t), None)
        if empty is not None:
            raise DataError(f"Pair {empty} has an empty side.", expected="at least one token on each side",
                            received=f"source {sources[empty]!r}, target {targets[empty]!r}", fix="Drop empty pairs first.")
        self.sources, self.targets, self.texts = list(sources), list(targets), texts

    def __len__(self) -> int:
        return len(self.sources)

    def subset(self, index) -> "PairDataset":
        index = list(index)
        return PairDataset([self.sources[i] for i in index], [self.targets[i] for i in index],
                           None if self.texts is None else [self.texts[i] for i in index])

    def batches(self, batch_size: int = 32, shuffle: bool = True, generator: torch.Generator | None = None,
                bucket: bool = True) -> "PairBatcher":
        return PairBatcher(self, batch_size=batch_size, shuffle=shuffle, generator=generator, bucket=bucket)

    def __repr__(self) -> str:
        return f"PairDataset({len(self):,} pairs)"


class PairBatcher:
    """Yields `(src (B, S), tgt (B, T))` padded batches; with `bucket`, batches group similar source lengths."""

    def __init__(self, dataset: PairDataset, batch_size: int = 32, shuffle: bool = True,
                 generator: torch.Generator | None = None, bucket: bool = True, bucket_size_multiplier: int = 50):
        self.dataset, self.batch_size, self.shuffle, self.bucket = dataset, batch_size, shuffle, bucket
        self.generator, self.chunk = generator, batch_size * bucket_size_multiplier

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def _batch_indices(self) -> list[torch.Tensor]:
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        if self.bucket:  # sort each chunk by source length, so a batch holds sentences of similar length
            lengths = torch.tensor([len(s) for s in self.dataset.sources])
            chunks = [c[lengths[c].argsort(stable=True)] for c in order.split(self.chunk)]
            order = torch.cat(chunks)
        batches = list(order.split(self.batch_size))
        if self.shuffle and self.bucket:  # ... but visit the batches in random order
            batches = [batches[i] for i in torch.randperm(len(batches), generator=self.generator).tolist()]
        return batches

    def _collate(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        src, _ = pad_sequences([self.dataset.sources[i] for i in index.tolist()])  # (B, S)
        tgt, _ = pad_sequences([self.dataset.targets[i] for i in index.tolist()])  # (B, T)
        return src, tgt

    def __iter__(self):
        for index in self._batch_indices():
            yield self._collate(index)

    def sample(self, n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
        """The first `n` pairs as one batch, without touching the shuffling generator."""
        return self._collate(torch.arange(min(n, len(self.dataset))))
