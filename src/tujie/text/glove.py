"""GloVe: word vectors fitted to the logarithm of co-occurrence counts (Pennington et al. 2014).

"GloVe: Global Vectors for Word Representation" (EMNLP 2014), with the details of the
reference implementation (stanfordnlp/GloVe: cooccur.c and glove.c):

1. `cooccurrence`: X[i, j] sums 1 / distance over every time word j appears within
   `window` words of word i in the same sentence (symmetric; words under `min_count` are
   removed first, so they do not count in distances);
2. `GloVe`: word vectors w, context vectors w~ and two biases, fitted by weighted least
   squares: sum over X[i, j] > 0 of f(X[i, j]) (w_i . w~_j + b_i + b~_j - log X[i, j])^2
   with f(x) = min(1, (x / x_max) ^ alpha);
3. AdaGrad as glove.c does it: accumulators start at 1 and add the squared *step*
   (lr * gradient), and each step is lr * gradient / sqrt(accumulator);
4. the final vectors are w + w~ (the paper's choice; glove.c's default output).

The entries are visited in a new random order each epoch, in mini-batches whose updates are
summed (glove.c's threads share the tables without locks in the same way).

Example:
    >>> sentences = [["ice", "cold", "water"], ["steam", "hot", "water"]] * 50
    >>> i, j, x = cooccurrence(sentences, ["water", "ice", "cold", "steam", "hot"], window=2)
    >>> float(x[(i == 1) & (j == 0)][0])  # "ice" .. "water": 50 times at distance 2
    25.0
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, DataError, TrainingDiverged
from .vectors import WordVectors
from .word2vec import _check_config, _check_sentences, build_vocab, encode_sentences, hogwild

__all__ = ["GloVe", "cooccurrence", "train_glove"]

TASK_BATCHES = 64  # batches a worker thread takes at a time


def cooccurrence(sentences: list[list[str]], vocab, window: int = 10, distance_weighting: bool = True):
    """Co-occurrence counts of a corpus as sparse (i, j, x) triplets, symmetric, summed in bulk.

    Words not in `vocab` are removed before windows are counted (as cooccur.c does);
    windows never cross sentences. Each distance d = 1..window is one pass of whole-array
    operations, accumulated in a SciPy sparse matrix.

    Args:
        sentences: lists of words.
        vocab: the words (list, row i is word i) or a {word: id} dict.
        window: the largest distance counted.
        distance_weighting: add 1 / d for a pair at distance d (GloVe's default); False adds 1.

    Returns:
        (i, j, x): int64 row ids, int64 column ids and float64 values, one entry per nonzero
        X[i, j], sorted by (i, j); X[i, j] == X[j, i].

    Example:
        >>> i, j, x = cooccurrence([["a", "b", "c"]], ["a", "b", "c"], window=2)
        >>> [(int(r), int(c), float(v)) for r, c, v in zip(i, j, x)]
        [(0, 1, 1.0), (0, 2, 0.5), (1, 0, 1.0), (1, 2, 1.0), (2, 0, 0.5), (2, 1, 1.0)]
    """
    from scipy import sparse

    _check_sentences(sentences, "cooccurrence")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ConfigError("Invalid value received for argument `window` of cooccurrence.", expected="a positive integer",
                          received=f"window={window!r}", fix="Pass window=10 (GloVe's paper) or another positive integer.")
    index = dict(vocab) if isinstance(vocab, Mapping) else {w: i for i, w in enumerate(vocab)}
    size = max(index.values(), default=-1) + 1
    ids, sentence_of, _ = encode_sentences(sentences, index)
    counts = sparse.csr_matrix((size, size), dtype=np.float64)  # counts[i, j]: word i followed by word j
    for d in range(1, min(window, len(ids) - 1) + 1):
        same = sentence_of[d:] == sentence_of[:-d]  # (n - d,) word k and word k + d share a sentence
        rows, cols = ids[:-d][same], ids[d:][same]
        weight = 1.0 / d if distance_weighting else 1.0
        counts = counts + sparse.csr_matrix((np.full(len(rows), weight), (rows, cols)), shape=(size, size))
    symmetric = (counts + counts.T).tocoo()  # a pair at distance d counts for both words
    order = np.lexsort((symmetric.col, symmetric.row))
    return (symmetric.row[order].astype(np.int64), symmetric.col[order].astype(np.int64),
            symmetric.data[order].astype(np.float64))


class GloVe(nn.Module):
    """GloVe's parameters and weighted least-squares loss.

    Args:
        vocab_size: number of words.
        dim: vector size.
        x_max: counts at or above this get weight 1.
        alpha: the weighting exponent (3/4 in the paper).

    Input shape: `rows` (batch,), `cols` (batch,), `counts` (batch,) the co-occurrence entries.
    Output shape: () half the weighted squared error summed over the batch (glove.c's cost).

    Example:
        >>> model = GloVe(5, 4)
        >>> model(torch.tensor([0, 1]), torch.tensor([1, 0]), torch.tensor([3.0, 3.0])).shape
        torch.Size([])
    """

    def __init__(self, vocab_size: int, dim: int = 100, x_max: float = 100.0, alpha: float = 0.75):
        super().__init__()
        self.x_max, self.alpha = x_max, alpha
        self.word = nn.Parameter(torch.empty(vocab_size, dim))  # (V, D) w
        self.context = nn.Parameter(torch.empty(vocab_size, dim))  # (V, D) w~
        self.word_bias = nn.Parameter(torch.empty(vocab_size))  # (V,) b
        self.context_bias = nn.Parameter(torch.empty(vocab_size))  # (V,) b~
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-0.5 / dim, 0.5 / dim)  # glove.c: (rand() / RAND_MAX - 0.5) / vector_size
        # AdaGrad's accumulators, 1 to start with as in glove.c
        for name, p in list(self.named_parameters()):
            self.register_buffer(f"{name}_sq", torch.ones_like(p))

    def weight(self, counts: torch.Tensor) -> torch.Tensor:
        """f(x) = min(1, (x / x_max) ** alpha)."""
        return (counts / self.x_max).pow(self.alpha).clamp(max=1.0)

    def residual(self, rows, cols, counts) -> torch.Tensor:
        """w_i . w~_j + b_i + b~_j - log X[i, j], per entry."""
        dot = (self.word[rows] * self.context[cols]).sum(1)  # (B,)
        return dot + self.word_bias[rows] + self.context_bias[cols] - counts.log()

    def forward(self, rows: torch.Tensor, cols: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        return 0.5 * (self.weight(counts) * self.residual(rows, cols, counts).square()).sum()

    @torch.no_grad()
    def adagrad_step(self, rows: torch.Tensor, cols: torch.Tensor, counts: torch.Tensor, lr: float) -> torch.Tensor:
        """One AdaGrad step as in glove.c, gradients written by hand; returns the summed cost.

        The gradient is that of `forward` (the unit tests check it against autograd). glove.c
        divides by the accumulator before adding the step's square, and accumulates squared
        steps (lr * gradient); it also clips each gradient coordinate to +-100.
        """
        w, c = self.word.index_select(0, rows), self.context.index_select(0, cols)  # (B, D)
        diff = (w * c).sum(1) + self.word_bias[rows] + self.context_bias[cols] - counts.log()  # (B,)
        fdiff = self.weight(counts) * diff  # (B,)
        cost = 0.5 * (fdiff * diff).sum()
        step = lr * fdiff  # (B,)
        step_w = (step.unsqueeze(1) * c).clamp(-100, 100)  # (B, D) lr * d cost / d w_i
        step_c = (step.unsqueeze(1) * w).clamp(-100, 100)  # (B, D) lr * d cost / d w~_j
        self.word.index_add_(0, rows, -step_w / self.word_sq.index_select(0, rows).sqrt())
        self.context.index_add_(0, cols, -step_c / self.context_sq.index_select(0, cols).sqrt())
        self.word_bias.index_add_(0, rows, -step / self.word_bias_sq[rows].sqrt())
        self.context_bias.index_add_(0, cols, -step / self.context_bias_sq[cols].sqrt())
        self.word_sq.index_add_(0, rows, step_w.square())
        self.context_sq.index_add_(0, cols, step_c.square())
        self.word_bias_sq.index_add_(0, rows, step.square())
        self.context_bias_sq.index_add_(0, cols, step.square())
        return cost


def train_glove(sentences: list[list[str]], *, dim: int = 100, window: int = 10, x_max: float = 100.0,
                alpha: float = 0.75, epochs: int = 25, lr: float = 0.05, min_count: int = 5, batch_size: int = 512,
                seed: int = 0, workers: int = 1, max_vocab: int | None = None,
                progress: Callable[[dict], None] | None = None) -> WordVectors:
    """Train GloVe vectors on tokenised sentences (counting, then AdaGrad on the counts).

    Args:
        sentences: a list of sentences (or documents), each a list of words.
        dim: vector size.
        window: the largest distance counted as co-occurrence (10 in the paper).
        x_max: counts at or above this get full weight (100 in the paper).
        alpha: the weighting exponent (3/4 in the paper).
        epochs: passes over the nonzero counts.
        lr: AdaGrad's learning rate (0.05 in the paper).
        min_count: words seen fewer times are dropped first.
        batch_size: entries per update (their updates are summed).
        seed: seed of the initial vectors and of the visiting order.
        workers: threads updating the shared parameters at once, each on its own share of
            the entries (as glove.c's threads); 1 gives the same vectors every run.
        max_vocab: keep only this many most frequent words.
        progress: called after each epoch with {"epoch", "loss", "seconds", "entries"}.

    Returns:
        `WordVectors` of w + w~, most frequent word first; `meta` holds the settings, the
        number of nonzero counts and the per-epoch cost.

    Example:
        >>> corpus = [["good", "great", "film"], ["bad", "awful", "film"]] * 100
        >>> wv = train_glove(corpus, dim=8, window=2, min_count=1, epochs=5, seed=0)
        >>> len(wv), wv.dim, wv.meta["entries"]
        (5, 8, 12)
    """
    _check_config(dim=dim, window=window, epochs=epochs, lr=lr, min_count=min_count, batch_size=batch_size,
                  workers=workers)
    for name, value in (("x_max", x_max), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"Invalid value received for argument `{name}` of train_glove.", expected="a positive number",
                              received=f"{name}={value!r}", fix="Leave the paper's value (x_max=100, alpha=0.75).")
    _check_sentences(sentences, "train_glove")
    words, counts = build_vocab(sentences, min_count, max_vocab)
    rows, cols, values = cooccurrence(sentences, words, window=window)
    if len(values) == 0:
        raise DataError("The corpus has no co-occurring words to train GloVe on.",
                        expected=f"sentences of at least two words seen min_count={min_count} times or more",
                        received=f"{len(sentences)} sentences, {len(words)} words kept",
                        fix="Pass more text, or a smaller min_count.")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = GloVe(len(words), dim, x_max, alpha)
    rows, cols, values = torch.from_numpy(rows), torch.from_numpy(cols), torch.from_numpy(values).float()
    history = []
    task_size = batch_size * TASK_BATCHES
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        order = torch.randperm(len(values), generator=generator)  # (nnz,) a new visiting order each epoch

        def task(number: int) -> torch.Tensor:
            cost = torch.zeros(())
            for start in range(number * task_size, min((number + 1) * task_size, len(order)), batch_size):
                batch = order[start:start + batch_size]
                cost += model.adagrad_step(rows[batch], cols[batch], values[batch], lr)
            return cost

        cost = sum(hogwild(task, -(-len(order) // task_size), workers or 1))
        record = {"epoch": epoch, "loss": float(cost) / len(values), "entries": len(values),
                  "seconds": time.perf_counter() - started}
        if not math.isfinite(record["loss"]):
            raise TrainingDiverged(f"GloVe's cost became {record['loss']} in epoch {epoch}.", expected="a finite cost",
                                   received=f"lr={lr}, batch_size={batch_size}", fix="Lower lr or batch_size.")
        history.append(record)
        if progress is not None:
            progress(record)
    settings = {"dim": dim, "window": window, "x_max": x_max, "alpha": alpha, "epochs": epochs, "lr": lr,
                "min_count": min_count, "batch_size": batch_size, "seed": seed}
    return WordVectors(words, (model.word + model.context).detach(), counts,
                       {"trained_by": "tujie.text.glove", "settings": settings, "entries": len(values),
                        "history": history, "seconds": sum(r["seconds"] for r in history)})
