"""word2vec: skip-gram and CBOW with negative sampling, trained with PyTorch.

Follows Mikolov et al. 2013, "Efficient Estimation of Word Representations in Vector Space"
(the two architectures) and "Distributed Representations of Words and Phrases and their
Compositionality" (negative sampling, frequent-word subsampling), with the details of the
reference implementation word2vec.c that gensim also copies:

* two tables: `input` (syn0, the word vectors kept at the end, uniform in +-0.5/dim) and
  `output` (syn1neg, the context vectors, zeros);
* a word w with corpus count f(w) is kept with probability
  (sqrt(f / (sample * total)) + 1) * (sample * total) / f  (`keep_probability`);
* negatives are drawn from the unigram distribution raised to 3/4 (`noise_distribution`);
* each centre word draws its own window b uniformly in 1..window (`reduced_windows`), which
  weights near words more than far ones;
* skip-gram: every context word within the window predicts the centre word (word2vec.c's
  order: the context's `input` row against the centre's `output` row);
  CBOW: the mean of the context words' `input` rows predicts the centre word;
* plain SGD, the loss summed over examples (so `lr` is word2vec's per-example alpha), alpha
  decaying linearly from `lr` to `lr * 1e-4` over all words of all epochs; 0.025 for
  skip-gram and 0.05 for CBOW by default, as word2vec.c.

One deliberate difference in CBOW: each context word gets its share (1 / count) of the
gradient of the mean, the true gradient, where word2vec.c and gensim give each the whole of
it. Summed over a mini-batch, where a frequent word sits in hundreds of contexts, their rule
diverged on IMDB (loss 1e30 with batches of 4096) and was unsteady with 1024.

What differs from word2vec.c is the batching: one epoch's (context, centre) pairs are built
by NumPy in bulk, a chunk of sentences at a time, and trained in mini-batches of
`batch_size` pairs whose updates are summed (word2vec.c's threads also update the shared
tables without locks). Windows never cross sentence boundaries. The updates are written by
hand (`Word2Vec.sgd_step`, checked against autograd in the tests), and `workers` threads
train different chunks at once, as in word2vec.c and gensim (`hogwild`).

Measured by bench/word2vec.py on the IMDB training reviews (6.7M tokens, 5 epochs, 2
threads, the same settings for both): skip-gram ran at 222k effective words/s against
gensim's 385k (0.58x), with the same quality: 14.9% against 14.6% on the Google analogies
both vocabularies cover, 0.38 against 0.35 Spearman on WordSim-353.

Example:
    >>> sentences = [["the", "cat", "sat"], ["the", "dog", "sat"]] * 50
    >>> wv = train_word2vec(sentences, dim=8, min_count=1, epochs=2, seed=0)
    >>> wv.vocab
    ['the', 'sat', 'cat', 'dog']
    >>> wv.vectors.shape
    torch.Size([4, 8])
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, DataError, TrainingDiverged
from .vectors import WordVectors

__all__ = ["Word2Vec", "Word2VecTrainer", "train_word2vec", "build_vocab", "encode_sentences", "keep_probability", "subsample",
           "noise_distribution", "NoiseSampler", "reduced_windows", "skipgram_pairs", "cbow_contexts"]

MODES = ("skipgram", "cbow")
OPTIMIZERS = ("sgd", "sparse_adam")
DEFAULT_LR = {"skipgram": 0.025, "cbow": 0.05}  # word2vec.c's alpha for each (gensim uses 0.025 for both)
MIN_LR_FRACTION = 1e-4  # word2vec.c: alpha never falls below starting_alpha * 0.0001
CHUNK_WORDS = 100_000  # words whose pairs are built at once: bounds memory, and alpha is updated per batch anyway


# ---------------------------------------------------------------------------- corpus


def _check_sentences(sentences, owner: str) -> None:
    if isinstance(sentences, (str, bytes)) or not hasattr(sentences, "__len__"):
        raise DataError(f"{owner} received {type(sentences).__name__} instead of a list of sentences.",
                        expected="a list of sentences, each a list of words (strings)",
                        received=f"an object of type {type(sentences).__name__}",
                        fix="Pass [tokenizer.split(text) for text in texts].")
    for sentence in sentences:
        if isinstance(sentence, str):
            raise DataError(f"{owner} received a sentence that is a string, not a list of words.",
                            expected="a list of sentences, each a list of words (strings)",
                            received=f"a string sentence {sentence[:40]!r}",
                            fix="Split each text into words first: [tokenizer.split(text) for text in texts].")
        break


def build_vocab(sentences: list[list[str]], min_count: int = 5, max_size: int | None = None) -> tuple[list[str], np.ndarray]:
    """The words seen at least `min_count` times, most frequent first (ties: first seen first).

    Args:
        sentences: lists of words.
        min_count: the smallest count a word needs to be kept.
        max_size: keep at most this many words (the most frequent).

    Returns:
        (words, counts): a list of words and an int64 array of their counts.

    Example:
        >>> build_vocab([["a", "b", "a"], ["c", "a", "b"]], min_count=2)
        (['a', 'b'], array([3, 2]))
    """
    _check_sentences(sentences, "build_vocab")
    counts = Counter()
    for sentence in sentences:
        counts.update(sentence)
    kept = [(w, c) for w, c in counts.most_common(max_size) if c >= min_count]
    return [w for w, _ in kept], np.array([c for _, c in kept], dtype=np.int64)


def encode_sentences(sentences: list[list[str]], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray, int]:
    """Flatten sentences into word ids, dropping words not in `index` (as word2vec.c does).

    Args:
        sentences: lists of words.
        index: {word: id}.

    Returns:
        (ids, sentence_of, raw_words): the int64 ids of the kept words in corpus order, the
        number of the sentence each comes from (windows never cross sentences), and the
        number of words before dropping.

    Example:
        >>> encode_sentences([["a", "x", "b"], ["b"]], {"a": 0, "b": 1})
        (array([0, 1, 1]), array([0, 0, 1]), 4)
    """
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    raw = int(lengths.sum())
    get = index.get
    ids = np.fromiter((get(w, -1) for s in sentences for w in s), dtype=np.int64, count=raw)
    sentence_of = np.repeat(np.arange(len(sentences), dtype=np.int64), lengths)
    known = ids >= 0
    return ids[known], sentence_of[known], raw


def keep_probability(counts, sample: float) -> np.ndarray:
    """word2vec.c's frequent-word subsampling: the probability of keeping each occurrence of a word.

    keep(w) = (sqrt(f / t) + 1) * t / f with f the word's count and t = sample * total count,
    capped at 1; `sample <= 0` keeps everything. Words rarer than about 2.6 t are always kept.

    Args:
        counts: the count of each word.
        sample: the threshold (1e-3 in gensim and here, 1e-4 .. 1e-5 for very large corpora).

    Returns:
        A float64 array of probabilities in (0, 1].

    Example:
        >>> keep_probability([100_000, 1_000, 10], sample=1e-3)  # total 101,010: t = 101.01
        array([0.03279..., 0.41883..., 1.        ])
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    return np.minimum((np.sqrt(counts / threshold) + 1) * threshold / counts, 1.0)


def subsample(ids: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which corpus words survive subsampling this epoch: word w stays with probability keep[w].

    Example:
        >>> subsample(np.array([0, 1, 0, 1]), np.array([1.0, 0.0]), np.random.default_rng(0))
        array([ True, False,  True, False])
    """
    return rng.random(len(ids)) < keep[ids]


def noise_distribution(counts, power: float = 0.75) -> np.ndarray:
    """The negative-sampling distribution: count ** power, normalised (power 3/4 as in the paper).

    Example:
        >>> noise_distribution([16, 1]).round(3)  # 16 ** 0.75 = 8
        array([0.889, 0.111])
    """
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


class NoiseSampler:
    """Draw word ids from a fixed distribution in O(1) each: Walker's alias method.

    word2vec.c fills a 100M-entry table instead; the alias tables have one entry per word, so
    they stay in cache, and the distribution is exact.

    Args:
        probabilities: one probability per word (summing to 1).

    Example:
        >>> sampler = NoiseSampler(noise_distribution([16, 1]))
        >>> draws = sampler.sample(np.random.default_rng(0), (10_000,))
        >>> round(float((draws == 0).mean()), 2)
        0.89
    """

    def __init__(self, probabilities):
        p = np.asarray(probabilities, dtype=np.float64)
        n = len(p)
        scaled = p * n / p.sum()
        self.accept = np.ones(n, dtype=np.float64)  # keep the drawn id with this probability ...
        self.alias = np.arange(n, dtype=np.int64)  # ... else take this one
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            self.accept[s], self.alias[s] = scaled[s], g
            scaled[g] -= 1.0 - scaled[s]
            (small if scaled[g] < 1.0 else large).append(g)

    def sample(self, rng: np.random.Generator, shape) -> np.ndarray:
        u = rng.random(shape) * len(self.accept)  # one uniform gives both the column and the coin
        column = u.astype(np.int64)
        return np.where(u - column < self.accept[column], column, self.alias[column])


def reduced_windows(n: int, window: int, rng: np.random.Generator) -> np.ndarray:
    """Each centre word's own window size, uniform in 1..window (word2vec.c's `b = rand % window`).

    Example:
        >>> w = reduced_windows(1000, 5, np.random.default_rng(0))
        >>> int(w.min()), int(w.max())
        (1, 5)
    """
    return rng.integers(1, window + 1, size=n)


def skipgram_pairs(ids: np.ndarray, sentence_of: np.ndarray, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (context, centre) pairs: the words at distance 1..windows[i] from centre i, same sentence.

    Built one distance at a time with whole-array operations (no loop over words).

    Args:
        ids: (n,) word ids of the corpus (after subsampling).
        sentence_of: (n,) sentence number of each word.
        windows: (n,) each centre's window size.

    Returns:
        (contexts, centres): two int64 arrays of ids, distance 1 pairs first.

    Example:
        >>> skipgram_pairs(np.array([7, 8, 9]), np.array([0, 0, 0]), np.array([1, 1, 1]))
        (array([7, 8, 8, 9]), array([8, 9, 7, 8]))
    """
    contexts, centres = [], []
    n = len(ids)
    for d in range(1, int(windows.max(initial=0)) + 1):
        if d >= n:
            break
        same = sentence_of[d:] == sentence_of[:-d]  # (n - d,) word i and word i + d share a sentence
        left = same & (windows[d:] >= d)  # centre i + d, context i
        right = same & (windows[:-d] >= d)  # centre i, context i + d
        contexts += [ids[:-d][left], ids[d:][right]]
        centres += [ids[d:][left], ids[:-d][right]]
    if not contexts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(contexts), np.concatenate(centres)


def cbow_contexts(ids: np.ndarray, sentence_of: np.ndarray, windows: np.ndarray, window: int):
    """Each centre word's context words, as a padded matrix (CBOW's input).

    Args:
        ids, sentence_of, windows: as in `skipgram_pairs`.
        window: the largest window (the matrix has 2 * window columns).

    Returns:
        (contexts, mask, centres): (m, 2 * window) ids (0 where masked), the (m, 2 * window)
        boolean mask of real context words, and the (m,) centre ids; centres without any
        context word (one-word sentences) are left out.

    Example:
        >>> c, m, t = cbow_contexts(np.array([7, 8, 9]), np.array([0, 0, 0]), np.array([1, 1, 1]), window=1)
        >>> c.tolist(), m.tolist(), t.tolist()
        ([[0, 8], [7, 9], [8, 0]], [[False, True], [True, True], [True, False]], [7, 8, 9])
    """
    n = len(ids)
    contexts = np.zeros((n, 2 * window), dtype=np.int64)  # (n, 2w) columns: distance -w .. -1, 1 .. w
    mask = np.zeros((n, 2 * window), dtype=bool)
    for d in range(1, min(window, n - 1) + 1):
        same = sentence_of[d:] == sentence_of[:-d]  # (n - d,)
        left, right = window - d, window + d - 1  # columns of distance -d and +d
        ok = same & (windows[d:] >= d)  # centre i + d sees word i on its left
        mask[d:, left] = ok
        contexts[d:, left] = np.where(ok, ids[:-d], 0)
        ok = same & (windows[:-d] >= d)  # centre i sees word i + d on its right
        mask[:-d, right] = ok
        contexts[:-d, right] = np.where(ok, ids[d:], 0)
    has_context = mask.any(1)
    return contexts[has_context], mask[has_context], ids[has_context]


# ---------------------------------------------------------------------------- model


class Word2Vec(nn.Module):
    """The two tables of word2vec and its negative-sampling loss, for skip-gram and CBOW.

    Args:
        vocab_size: number of words.
        dim: vector size.
        sparse: sparse gradients for the tables (only the rows of a batch are touched;
            use with `torch.optim.SGD` or `torch.optim.SparseAdam`).

    Input shape: skip-gram `inputs` (batch,) context ids; CBOW `inputs` (batch, 2 * window)
    context ids with `mask` (batch, 2 * window); `targets` (batch,) centre ids; `negatives`
    (batch, negative) noise ids. Output shape: () the loss summed over the batch.

    Example:
        >>> model = Word2Vec(10, 4)
        >>> loss = model(torch.tensor([1, 2]), torch.tensor([3, 4]), torch.tensor([[5, 6], [7, 8]]))
        >>> round(loss.item(), 4)  # output rows start at zero: every score is 0, each term log 2
        4.1589
    """

    def __init__(self, vocab_size: int, dim: int = 100, sparse: bool = True):
        super().__init__()
        self.input = nn.Embedding(vocab_size, dim, sparse=sparse)  # syn0: the word vectors
        self.output = nn.Embedding(vocab_size, dim, sparse=sparse)  # syn1neg: the context ("output") vectors
        with torch.no_grad():
            self.input.weight.uniform_(-0.5 / dim, 0.5 / dim)  # as word2vec.c and gensim
            self.output.weight.zero_()

    def hidden(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The vector that predicts the centre word.

        Args:
            inputs: (batch,) context ids (skip-gram) or (batch, 2 * window) ids (CBOW).
            mask: CBOW only: (batch, 2 * window), 1 where `inputs` holds a real context word.

        Returns:
            (batch, dim): the context's input row (skip-gram), or the mean of the context rows (CBOW).
        """
        if inputs.ndim == 1:
            return self.input(inputs)  # (batch, dim)
        rows = self.input(inputs) * mask.unsqueeze(2)  # (batch, 2w, dim)
        return rows.sum(1) / mask.sum(1, keepdim=True).clamp_min(1)  # (batch, dim)

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.hidden(inputs, mask)  # (batch, dim)
        rows = torch.cat([targets.unsqueeze(1), negatives], 1)  # (batch, 1 + negative)
        scores = (self.output(rows) * h.unsqueeze(1)).sum(2)  # (batch, 1 + negative)
        return -(_log_likelihood(scores) * _kept_negatives(rows)).sum()

    @torch.no_grad()
    def sgd_step(self, inputs: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor, lr: float,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        """One plain-SGD step with the gradients written out by hand; returns the summed loss.

        Computes what `forward`, `backward` and `torch.optim.SGD(lr).step()` compute (the unit
        tests check it) about twice as fast: no autograd bookkeeping, no sparse-gradient
        tensors, and `scatter_add_` (3-4 times faster than `index_add_` on the CPU) to add the
        updates of rows that repeat within the batch.
        """
        w_in, w_out = self.input.weight, self.output.weight  # (V, D)
        dim = w_in.shape[1]
        rows = torch.cat([targets.unsqueeze(1), negatives], 1)  # (B, 1 + K)
        if inputs.ndim == 1:
            h = w_in.index_select(0, inputs)  # (B, D)
        else:
            context = w_in.index_select(0, inputs.reshape(-1)).view(*inputs.shape, dim)  # (B, 2w, D)
            h = (context * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)  # (B, D)
        u = w_out.index_select(0, rows.reshape(-1)).view(*rows.shape, dim)  # (B, 1 + K, D)
        scores = (u * h.unsqueeze(1)).sum(2)  # (B, 1 + K)
        keep = _kept_negatives(rows)  # (B, 1 + K)
        loss = -(_log_likelihood(scores) * keep).sum()
        # d(-log sigmoid(s))/ds = sigmoid(s) - 1 for the true centre, d(-log sigmoid(-s))/ds = sigmoid(s) for noise;
        # `step` is minus lr times that: what SGD adds
        step = torch.sigmoid(scores)
        step[:, 0] -= 1
        step *= keep * -lr
        step_h = torch.bmm(step.unsqueeze(1), u).squeeze(1)  # (B, D)
        step_out = (step.unsqueeze(2) * h.unsqueeze(1)).view(-1, dim)  # (B * (1 + K), D)
        w_out.scatter_add_(0, rows.reshape(-1, 1).expand(-1, dim), step_out)
        if inputs.ndim == 1:
            w_in.scatter_add_(0, inputs.unsqueeze(1).expand(-1, dim), step_h)
        else:  # each context word gets its share of the mean's step
            share = step_h / mask.sum(1, keepdim=True).clamp_min(1)  # (B, D)
            spread = (share.unsqueeze(1) * mask.unsqueeze(2)).view(-1, dim)  # (B * 2w, D)
            w_in.scatter_add_(0, inputs.reshape(-1, 1).expand(-1, dim), spread)
        return loss


def _kept_negatives(rows: torch.Tensor) -> torch.Tensor:
    """1 for the true centre and for each noise word that is not the centre itself (word2vec.c skips those)."""
    keep = (rows != rows[:, :1]).float()  # (B, 1 + K)
    keep[:, 0] = 1
    return keep


def _log_likelihood(scores: torch.Tensor) -> torch.Tensor:
    """log sigmoid(s) for the true centre (column 0), log sigmoid(-s) for the noise words."""
    sign = torch.full_like(scores, -1.0)
    sign[:, 0] = 1
    return F.logsigmoid(scores * sign)  # (B, 1 + K)


# ---------------------------------------------------------------------------- training


class Word2VecTrainer:
    """word2vec training one epoch at a time; `train_word2vec` runs it for all epochs.

    Building it counts the vocabulary and encodes the corpus; `train_epoch()` trains one
    epoch and returns its figures; `word_vectors()` returns the current input vectors.
    The arguments are those of `train_word2vec`.

    Parallelism is word2vec.c's and gensim's: `workers` threads each take the next chunk of
    sentences and update the shared tables without locks ("Hogwild"), each running torch
    with one intra-op thread. Torch's own intra-op threads do not pay on these small
    operations: on a busy 2-core machine, one epoch that took 3 s with one thread took 52 s
    with two. Each chunk's random draws come from its own seed (seed, epoch, chunk), and its
    learning rate from its position in the corpus, so one worker gives identical vectors
    run after run; several workers interleave their updates in an order that varies.

    Example:
        >>> trainer = Word2VecTrainer([["a", "b", "c"]] * 100, dim=4, min_count=1, epochs=2)
        >>> sorted(trainer.train_epoch())
        ['effective_words', 'epoch', 'loss', 'lr', 'pairs', 'raw_words', 'seconds', 'words_per_s']
    """

    def __init__(self, sentences: list[list[str]], *, mode: str = "skipgram", dim: int = 100, window: int = 5,
                 negative: int = 5, min_count: int = 5, sample: float = 1e-3, epochs: int = 5, lr: float | None = None,
                 batch_size: int = 1024, optimizer: str = "sgd", fused: bool = True, seed: int = 0, workers: int = 1,
                 max_vocab: int | None = None):
        _check_config(mode=mode, dim=dim, window=window, negative=negative, min_count=min_count, sample=sample,
                      epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer, workers=workers)
        _check_sentences(sentences, "train_word2vec")
        if lr is None:
            lr = DEFAULT_LR[mode] if optimizer == "sgd" else 0.01
        self.mode, self.dim, self.window, self.negative, self.sample = mode, dim, window, negative, sample
        self.epochs, self.lr, self.batch_size, self.optimizer_name = epochs, lr, batch_size, optimizer
        self.fused = fused and optimizer == "sgd"
        self.seed, self.workers, self.min_count = seed, workers or 1, min_count
        self.words, self.counts = build_vocab(sentences, min_count, max_vocab)
        if not self.words:
            total = sum(len(s) for s in sentences)
            raise DataError("No word occurs often enough to train word2vec.",
                            expected=f"a corpus with words seen at least min_count={min_count} times",
                            received=f"{len(sentences)} sentences, {total} words",
                            fix="Pass more text, or a smaller min_count.")
        self.ids, self.sentence_of, self.raw_words = encode_sentences(sentences, {w: i for i, w in enumerate(self.words)})
        self.keep = keep_probability(self.counts, sample)  # (V,)
        self.sampler = NoiseSampler(noise_distribution(self.counts))
        # chunks end at sentence starts so that no window is cut
        starts = np.flatnonzero(np.r_[True, self.sentence_of[1:] != self.sentence_of[:-1]])
        ends = np.unique(starts[np.searchsorted(starts, np.arange(CHUNK_WORDS, len(self.ids), CHUNK_WORDS))])
        self.bounds = [0, *ends[ends > 0].tolist(), len(self.ids)]
        torch.manual_seed(seed)
        self.model = Word2Vec(len(self.words), dim, sparse=True)
        self.optimizer = None  # fused SGD: Word2Vec.sgd_step
        if optimizer == "sparse_adam":
            self.optimizer = torch.optim.SparseAdam(self.model.parameters(), lr=lr)
        elif not fused:
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)
        self._autograd_lock = threading.Lock()
        self.epoch, self.history = 0, []

    def _lr(self, position: float) -> float:
        """Alpha at corpus position `position` (in words, counting all epochs): linear decay, floored."""
        return self.lr * max(1.0 - position / (self.epochs * len(self.ids)), MIN_LR_FRACTION)

    def _examples(self, start: int, end: int, rng: np.random.Generator):
        """The training examples of corpus words [start, end): subsample, draw windows, build pairs."""
        ids = self.ids[start:end]
        kept = subsample(ids, self.keep, rng)  # (n,)
        ids, sentence_of = ids[kept], self.sentence_of[start:end][kept]
        windows = reduced_windows(len(ids), self.window, rng)
        if self.mode == "skipgram":
            inputs, targets = skipgram_pairs(ids, sentence_of, windows)  # (P,), (P,)
            mask = None
        else:
            inputs, mask, targets = cbow_contexts(ids, sentence_of, windows, self.window)  # (P, 2w), (P, 2w), (P,)
            mask = torch.from_numpy(mask).float()
        negatives = torch.from_numpy(self.sampler.sample(rng, (len(targets), self.negative)))  # (P, K)
        return len(ids), torch.from_numpy(inputs), torch.from_numpy(targets), negatives, mask

    def _train_chunk(self, number: int) -> tuple[torch.Tensor, int, int]:
        """Train on chunk `number` of the corpus; returns (summed loss, examples, effective words)."""
        start, end = self.bounds[number], self.bounds[number + 1]
        rng = np.random.default_rng((self.seed, self.epoch, number))
        kept, inputs, targets, negatives, mask = self._examples(start, end, rng)
        position = self.epoch * len(self.ids) + start  # where this chunk starts, in words of all epochs
        words_per_example = (end - start) / max(len(targets), 1)
        loss = torch.zeros(())
        for i in range(0, len(targets), self.batch_size):
            batch = (inputs[i:i + self.batch_size], targets[i:i + self.batch_size], negatives[i:i + self.batch_size],
                     None if mask is None else mask[i:i + self.batch_size])
            lr = self._lr(position + i * words_per_example)
            if self.optimizer is None:
                loss += self.model.sgd_step(*batch[:3], lr, batch[3])
            else:  # the tables have one .grad each, shared by all workers: their steps take turns
                with self._autograd_lock:
                    for group in self.optimizer.param_groups:
                        group["lr"] = lr
                    batch_loss = self.model(*batch)
                    self.optimizer.zero_grad(set_to_none=True)
                    batch_loss.backward()
                    self.optimizer.step()
                loss += batch_loss.detach()
        return loss, len(targets), kept

    def train_epoch(self) -> dict:
        """Train one more epoch; returns {"epoch", "loss" (mean per example), "lr" (at the end), "pairs",
        "raw_words", "effective_words" (after subsampling), "seconds", "words_per_s" (effective, as gensim)}."""
        if self.epoch >= self.epochs:
            raise ConfigError("train_epoch was called after the last epoch.", expected=f"at most epochs={self.epochs} calls",
                              received=f"call {self.epoch + 1}", fix="Build the trainer with more epochs.")
        self.model.train()
        started = time.perf_counter()
        results = hogwild(self._train_chunk, len(self.bounds) - 1, self.workers)
        seconds = time.perf_counter() - started
        self.epoch += 1
        examples, effective = sum(r[1] for r in results), sum(r[2] for r in results)
        loss = float(sum(r[0] for r in results)) / max(examples, 1)
        if not math.isfinite(loss):
            raise TrainingDiverged(f"word2vec's loss became {loss} in epoch {self.epoch}.", expected="a finite loss",
                                   received=f"lr={self.lr}", fix="Lower lr, or batch_size (more examples summed into one step).")
        record = {"epoch": self.epoch, "loss": loss, "lr": self._lr(self.epoch * len(self.ids)), "pairs": examples,
                  "raw_words": self.raw_words, "effective_words": effective, "seconds": seconds,
                  "words_per_s": effective / seconds if seconds > 0 else math.inf}
        self.history.append(record)
        return record

    def word_vectors(self) -> WordVectors:
        """The input table as `WordVectors`, with the settings and per-epoch figures in `meta`."""
        settings = {"mode": self.mode, "dim": self.dim, "window": self.window, "negative": self.negative,
                    "min_count": self.min_count, "sample": self.sample, "epochs": self.epochs, "lr": self.lr,
                    "batch_size": self.batch_size, "optimizer": self.optimizer_name, "fused": self.fused, "seed": self.seed,
                    "workers": self.workers}
        seconds = sum(r["seconds"] for r in self.history)
        effective = sum(r["effective_words"] for r in self.history)
        return WordVectors(self.words, self.model.input.weight.detach().clone(), self.counts,
                           {"trained_by": "tujie.text.word2vec", "settings": settings, "history": self.history,
                            "seconds": seconds, "words_per_s": effective / seconds if seconds > 0 else None})


def train_word2vec(sentences: list[list[str]], *, mode: str = "skipgram", dim: int = 100, window: int = 5,
                   negative: int = 5, min_count: int = 5, sample: float = 1e-3, epochs: int = 5, lr: float | None = None,
                   batch_size: int = 1024, optimizer: str = "sgd", fused: bool = True, seed: int = 0, workers: int = 1,
                   max_vocab: int | None = None, progress: Callable[[dict], None] | None = None) -> WordVectors:
    """Train word2vec (skip-gram or CBOW, negative sampling) on tokenised sentences.

    Args:
        sentences: a list of sentences (or documents), each a list of words, e.g.
            `[WordTokenizer().split(t) for t in imdb_texts()]`.
        mode: "skipgram" (each context word predicts the centre) or "cbow" (the mean of the
            context predicts the centre: faster, a little weaker on rare words).
        dim: vector size.
        window: the largest distance between a centre and a context word (each centre draws
            its own window in 1..window).
        negative: noise words per example.
        min_count: words seen fewer times are dropped before training.
        sample: subsampling threshold for frequent words (0 keeps every word).
        epochs: passes over the corpus.
        lr: the starting learning rate (word2vec's alpha); decays linearly to lr * 1e-4. None:
            0.025 for skip-gram, 0.05 for CBOW (word2vec.c's defaults), 0.01 for SparseAdam.
        batch_size: examples per update. Larger is faster per word but sums more updates of
            the same frequent words into one step.
        optimizer: "sgd" (plain SGD, as word2vec.c) or "sparse_adam" (`torch.optim.SparseAdam`
            on the autograd loss; it needs a smaller lr, e.g. 0.01 .. 0.001).
        fused: for "sgd", update the tables with `Word2Vec.sgd_step`'s hand-written gradients
            (the default: about twice as fast); False runs `forward`, `backward` and
            `torch.optim.SGD` on the sparse gradients, the same numbers the slow way.
        seed: seed of the initial vectors and of all sampling.
        workers: threads training at once on different chunks of the corpus, sharing the tables
            (as word2vec.c and gensim); 1 gives the same vectors every run.
        max_vocab: keep only this many most frequent words.
        progress: called after each epoch with its figures (see `Word2VecTrainer.train_epoch`).

    Returns:
        `WordVectors` of the input table, most frequent word first; `meta` holds the settings,
        the per-epoch loss and timings, and `words_per_s` (effective words, i.e. after
        dropping rare words and subsampling, per second, as gensim reports it).

    Example:
        >>> corpus = [["good", "great", "film"], ["bad", "awful", "film"]] * 200
        >>> wv = train_word2vec(corpus, dim=16, window=2, min_count=1, epochs=3, seed=0)
        >>> len(wv), wv.dim, [round(r["loss"], 1) > 0 for r in wv.meta["history"]]
        (5, 16, [True, True, True])
    """
    trainer = Word2VecTrainer(sentences, mode=mode, dim=dim, window=window, negative=negative, min_count=min_count,
                              sample=sample, epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer,
                              fused=fused, seed=seed, workers=workers, max_vocab=max_vocab)
    for _ in range(epochs):
        record = trainer.train_epoch()
        if progress is not None:
            progress(record)
    return trainer.word_vectors()


def hogwild(task: Callable[[int], object], count: int, workers: int) -> list:
    """Run task(0) .. task(count - 1) on `workers` threads that share the model without locks.

    Each thread takes the next task number when it is free (so the tasks start in order);
    torch runs with one intra-op thread meanwhile, since the parallelism is across tasks.
    Returns the results in task order; an exception in a task is raised here.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    numbers = iter(range(count))
    lock = threading.Lock()
    results, errors = {}, []

    def work():
        try:
            while not errors:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                results[number] = task(number)
        except BaseException as err:  # re-raised in the calling thread below
            errors.append(err)

    try:
        if workers == 1:
            work()
        else:
            pool = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()
    finally:
        torch.set_num_threads(threads)
    if errors:
        raise errors[0]
    return [results[i] for i in range(count)]


def _check_config(**values) -> None:
    """Raise a ConfigError naming the first bad argument of train_word2vec / train_glove."""
    rules = {
        "mode": (lambda v: v in MODES, f"one of {MODES}"),
        "optimizer": (lambda v: v in OPTIMIZERS, f"one of {OPTIMIZERS}"),
        "sample": (lambda v: isinstance(v, (int, float)) and v >= 0, "a number >= 0 (0 turns subsampling off)"),
        "lr": (lambda v: v is None or (isinstance(v, (int, float)) and v > 0), "a positive number, or None for the default"),
        "workers": (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0),
                    "a positive integer"),
    }
    for name, value in values.items():
        check, expected = rules.get(name, (lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
                                           "a positive integer"))
        if not check(value):
            raise ConfigError(f"Invalid value received for argument `{name}`.", expected=expected,
                              received=f"{name}={value!r}", fix=f"Pass a valid {name}, or leave the default.")
