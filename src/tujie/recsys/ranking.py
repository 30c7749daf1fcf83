"""He et al. 2017's top-N protocol: leave-one-out, sampled negatives, HR@10 and NDCG@10.

Every rating counts as an interaction (implicit feedback: rated = 1). For each user the latest
interaction (by timestamp; the larger item id breaks a tie, so the split is the same on every
machine) is held out for testing; the rest are training positives. Training pairs each positive
with `ratio` items the user never interacted with (4 in the paper), drawn afresh every epoch.
Testing ranks the held-out item among 99 items the user never interacted with (seeded, drawn
once): HR@10 is 1 when it is among the top 10, NDCG@10 is 1 / log2(rank + 2) there (rank from 0),
each averaged over the users.

A score tied with the held-out item's counts as ranked above it (the pessimistic reading): a
model that scores everything alike gets HR@10 = 0, not a lucky 1.

Example:
    >>> import numpy as np
    >>> scores = np.array([[0.9, 0.1, 0.2], [0.1, 0.5, 0.3]])  # column 0: the held-out item
    >>> hit_ratio_ndcg(scores, k=1)
    (0.5, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .movielens import Ratings


@dataclass
class LeaveOneOut:
    """The split: training positives (ids from 0) and, per user, the held-out item and its 99 negatives.

    Attributes:
        train_users, train_items: int64 (n_train,), every interaction but the latest of each user.
        test_items: int64 (num_users,), each user's held-out (latest) item.
        candidates: int64 (num_users, 1 + negatives): column 0 is the held-out item, then the sampled negatives.
        num_users, num_items: the id ranges.
    """

    train_users: np.ndarray
    train_items: np.ndarray
    test_items: np.ndarray
    candidates: np.ndarray
    num_users: int
    num_items: int

    def seen(self) -> np.ndarray:
        """A (num_users, num_items) bool matrix of every interaction, held-out ones too (never a negative)."""
        matrix = np.zeros((self.num_users, self.num_items), dtype=bool)
        matrix[self.train_users, self.train_items] = True
        matrix[np.arange(self.num_users), self.test_items] = True
        return matrix


def leave_one_out(ratings: Ratings, negatives: int = 99, seed: int = 0) -> LeaveOneOut:
    """Hold out each user's latest interaction and draw `negatives` unseen items to rank it among.

    Example:
        >>> import numpy as np
        >>> r = Ratings(np.array([0, 0, 1, 1]), np.array([0, 1, 2, 0]), np.ones(4, np.float32), np.array([5, 9, 1, 2]), 2, 6)
        >>> split = leave_one_out(r, negatives=3)
        >>> split.test_items.tolist(), split.candidates.shape, split.train_items.tolist()
        ([1, 0], (2, 4), [0, 2])
    """
    users, items = ratings.users, ratings.items
    order = np.lexsort((items, ratings.timestamps, users))  # by user, then time, then item id
    last = np.ones(len(order), dtype=bool)
    last[:-1] = users[order][1:] != users[order][:-1]  # the last row of each user's block
    test_rows, train_rows = order[last], order[~last]
    test_items = np.full(ratings.num_users, -1, dtype=np.int64)
    test_items[users[test_rows]] = items[test_rows]
    if (test_items < 0).any():
        from ..errors import DataError

        missing = int(np.flatnonzero(test_items < 0)[0])
        raise DataError(f"User {missing} (id {missing + 1} in the file) has no interaction to hold out.",
                        expected="every user id from 1 to num_users with at least one rating",
                        received=f"{int((test_items < 0).sum())} users without ratings", fix="Re-index the users from 1 without gaps.")
    split = LeaveOneOut(users[train_rows], items[train_rows], test_items, np.empty((0, 0), np.int64),
                        ratings.num_users, ratings.num_items)
    split.candidates = np.concatenate([test_items[:, None], sample_unseen(split.seen(), negatives, seed)], axis=1)
    return split


def sample_unseen(seen: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` distinct items per user that the user never interacted with: int64 (num_users, count).

    Example:
        >>> import numpy as np
        >>> seen = np.array([[True, False, False, True], [False, False, True, True]])
        >>> sorted(sample_unseen(seen, 2, seed=0)[0].tolist())
        [1, 2]
    """
    rng = np.random.default_rng(seed)
    keys = rng.random(seen.shape)  # (num_users, num_items): a random order of every user's items
    keys[seen] = np.inf  # seen items sort last, never drawn
    if ((~seen).sum(axis=1) < count).any():
        from ..errors import DataError

        raise DataError(f"A user has interacted with nearly every item, leaving fewer than {count} to sample.",
                        expected=f"at least {count} unseen items per user", received=f"min {(~seen).sum(axis=1).min()}",
                        fix="Sample fewer negatives.")
    return np.argpartition(keys, count - 1, axis=1)[:, :count].astype(np.int64)


def training_pairs(split: LeaveOneOut, ratio: int, rng: np.random.Generator, seen: np.ndarray | None = None):
    """One epoch's training data: every positive and `ratio` unseen items per positive, labels 1 and 0.

    Negatives are drawn uniformly from all items and redrawn where the user has seen the item
    (the paper's sampler); a held-out item counts as seen, so it is never a training negative.

    Returns:
        (users, items, labels): int64, int64, float32, each (n_train * (1 + ratio),).

    Example:
        >>> import numpy as np
        >>> r = Ratings(np.array([0, 0, 1]), np.array([0, 1, 2]), np.ones(3, np.float32), np.array([1, 2, 3]), 2, 5)
        >>> users, items, labels = training_pairs(leave_one_out(r, negatives=2), 4, np.random.default_rng(0))
        >>> users.shape, labels.sum()
        ((5,), np.float32(1.0))
    """
    seen = split.seen() if seen is None else seen
    users = np.repeat(split.train_users, ratio)  # (n * ratio,)
    items = rng.integers(0, split.num_items, len(users))
    clash = seen[users, items]
    while clash.any():  # redraw only the clashes: a user has seen at most a few hundred of 1,682 items
        items[clash] = rng.integers(0, split.num_items, int(clash.sum()))
        clash = seen[users, items]
    all_users = np.concatenate([split.train_users, users])
    all_items = np.concatenate([split.train_items, items])
    labels = np.concatenate([np.ones(len(split.train_users), np.float32), np.zeros(len(users), np.float32)])
    return all_users, all_items, labels


def hit_ratio_ndcg(scores: np.ndarray, k: int = 10) -> tuple[float, float]:
    """HR@k and NDCG@k of score rows whose column 0 is the held-out item: (num_users, 1 + negatives) → (hr, ndcg)."""
    hr, ndcg = per_user_hits(scores, k)
    return float(hr.mean()), float(ndcg.mean())


def per_user_hits(scores: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Each user's hit (0/1) and NDCG at k: two float arrays (num_users,)."""
    scores = np.asarray(scores, dtype=np.float64)
    rank = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)  # (num_users,): candidates at or above the held-out item
    hit = rank < k
    return hit.astype(np.float64), np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)


def popularity_scores(split: LeaveOneOut) -> np.ndarray:
    """The popularity baseline's scores of the candidates: each item's number of training interactions (num_users, 1 + negatives)."""
    counts = np.bincount(split.train_items, minlength=split.num_items)  # (num_items,)
    return counts[split.candidates].astype(np.float64)
