"""Training recommenders through tujie's `Learner`, the seeds' `fit([users, items], labels)` way.

`train_ranker` fits a (user, item) → logit model on one epoch of freshly sampled negatives at a
time (`Learner.fit(..., initial_epoch=e - 1, epochs=e)`: the optimizer and history carry on) and
scores the leave-one-out candidates after each epoch. `train_rater` fits a (user, item) → rating
model with the squared error and measures the test RMSE after each epoch.

Example:
    >>> import numpy as np
    >>> from tujie.recsys.mf import MatrixFactorization
    >>> from tujie.recsys.movielens import Ratings
    >>> from tujie.recsys.ranking import leave_one_out
    >>> rng = np.random.default_rng(0)
    >>> r = Ratings(rng.integers(0, 8, 200), rng.integers(0, 150, 200), np.ones(200, np.float32), rng.integers(0, 99, 200), 8, 150)
    >>> curve = train_ranker(MatrixFactorization(8, 150, factors=4), leave_one_out(r), epochs=2, lr=0.01)
    >>> [sorted(point) for point in curve][0]
    ['epoch', 'hr_at_10', 'loss', 'ndcg_at_10', 'seconds']
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from .movielens import Ratings
from .ranking import LeaveOneOut, hit_ratio_ndcg, training_pairs


def predict(learner, users: np.ndarray, items: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """The model's scores of (user, item) pairs: float64 (n,)."""
    out = learner.predict([torch.as_tensor(users, dtype=torch.long), torch.as_tensor(items, dtype=torch.long)], batch_size=batch_size)
    return out.detach().double().numpy()


def score_candidates(learner, split: LeaveOneOut) -> np.ndarray:
    """Scores of every user's candidates (held-out item first): (num_users, 1 + negatives)."""
    users = np.repeat(np.arange(split.num_users), split.candidates.shape[1])  # (num_users * C,)
    return predict(learner, users, split.candidates.reshape(-1)).reshape(split.candidates.shape)


def train_ranker(model: torch.nn.Module, split: LeaveOneOut, *, epochs: int = 20, batch_size: int = 256, lr: float = 1e-3,
                 ratio: int = 4, seed: int = 0, optimizer: str = "adam", learner=None,
                 on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
    """Train an implicit-feedback model with the log loss on `ratio` negatives per positive, redrawn each epoch.

    Args:
        model: (user_ids, item_ids) (batch,) → logits (batch,) (`gmf`, `ncf_mlp`, `neumf`, `MatrixFactorization`).
        split: the leave-one-out split (its candidates are scored after every epoch).
        epochs, batch_size, lr, optimizer: training settings (the paper: Adam, batch 256, lr 0.001;
            plain SGD to fine-tune a pre-trained NeuMF).
        ratio: negatives per positive (the paper's 4).
        seed: seeds the negatives and the batch order.
        learner: an existing `Learner` to go on with; None makes one.
        on_epoch: called with each epoch's record (progress lines).

    Returns:
        One record per epoch: epoch, loss (mean training log loss), hr_at_10, ndcg_at_10, seconds.
    """
    from ..train.loop import Learner

    learner = learner or Learner(model, loss="bce_with_logits", optimizer=optimizer, lr=lr, metrics=[], seed=seed)
    rng, seen, curve = np.random.default_rng(seed), split.seen(), []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        users, items, labels = training_pairs(split, ratio, rng, seen)  # (n,) each, fresh negatives
        history = learner.fit([users, items], labels, epochs=epoch, initial_epoch=epoch - 1, batch_size=batch_size, verbose=0)
        hr, ndcg = hit_ratio_ndcg(score_candidates(learner, split))
        record = {"epoch": epoch, "loss": float(history.epochs[-1]["loss"]), "hr_at_10": hr, "ndcg_at_10": ndcg,
                  "seconds": time.perf_counter() - start}
        curve.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return curve


def rmse(learner, ratings: Ratings) -> float:
    """Root-mean-square error of the model's predicted ratings, clipped to the 1–5 scale."""
    predicted = np.clip(predict(learner, ratings.users, ratings.items), 1.0, 5.0)
    return float(np.sqrt(np.mean((predicted - ratings.ratings) ** 2)))


def train_rater(model: torch.nn.Module, train: Ratings, test: Ratings, *, validation: Ratings | None = None, epochs: int = 10,
                batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0, seed: int = 0,
                on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
    """Train a rating regressor with `fit([users, items], ratings)` and the squared error; the test RMSE per epoch.

    `validation` (ratings held out of the training file) picks the epoch to report without
    looking at the test set: see `best_epoch`.

    Returns:
        One record per epoch: epoch, loss (training MSE), train_rmse, val_rmse (with `validation`), test_rmse, seconds.

    Example:
        >>> import numpy as np
        >>> from tujie.recsys.mf import MatrixFactorization
        >>> rng = np.random.default_rng(0)
        >>> r = Ratings(rng.integers(0, 5, 300), rng.integers(0, 9, 300), rng.integers(1, 6, 300).astype(np.float32), np.zeros(300, np.int64), 5, 9)
        >>> curve = train_rater(MatrixFactorization(5, 9, factors=2, global_mean=3.0), r, r, epochs=3, lr=0.05)
        >>> curve[-1]["test_rmse"] < 1.6
        True
    """
    from ..train.loop import Learner

    learner = Learner(model, loss="mse", optimizer="adam", lr=lr, metrics=[], seed=seed,
                      optimizer_options={"weight_decay": weight_decay} if weight_decay else None)
    curve = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        history = learner.fit([train.users, train.items], train.ratings, epochs=epoch, initial_epoch=epoch - 1,
                              batch_size=batch_size, verbose=0)
        record = {"epoch": epoch, "loss": float(history.epochs[-1]["loss"]), "train_rmse": rmse(learner, train),
                  "test_rmse": rmse(learner, test), "seconds": time.perf_counter() - start}
        if validation is not None:
            record["val_rmse"] = rmse(learner, validation)
        curve.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return curve


def best_epoch(curve: list[dict]) -> dict:
    """The record of the epoch with the lowest validation RMSE (the last epoch when there is no validation).

    Example:
        >>> best_epoch([{"epoch": 1, "val_rmse": 1.0}, {"epoch": 2, "val_rmse": 0.9}, {"epoch": 3, "val_rmse": 0.95}])["epoch"]
        2
    """
    if not curve or "val_rmse" not in curve[0]:
        return curve[-1]
    return min(curve, key=lambda record: record["val_rmse"])


def hold_out(ratings: Ratings, fraction: float, seed: int) -> tuple[Ratings, Ratings]:
    """Split ratings at random (seeded) into (kept, held out `fraction`).

    Example:
        >>> import numpy as np
        >>> r = Ratings(np.arange(10), np.arange(10), np.ones(10, np.float32), np.zeros(10, np.int64), 10, 10)
        >>> [len(part) for part in hold_out(r, 0.2, seed=0)]
        [8, 2]
    """
    order = np.random.default_rng(seed).permutation(len(ratings))
    cut = int(round(len(ratings) * fraction))

    def take(rows):
        rows = np.sort(rows)
        return Ratings(ratings.users[rows], ratings.items[rows], ratings.ratings[rows], ratings.timestamps[rows],
                       ratings.num_users, ratings.num_items)

    return take(order[cut:]), take(order[:cut])
