"""Recommendation (chapter 18's practice: neural collaborative filtering on MovieLens 100K).

The parts, each in its own module (imported lazily: `import tujie.recsys` stays light):

- `movielens`: the MovieLens 100K files, checked against their SHA-256, ids from 0, titles (Latin-1).
- `ranking`: He et al. 2017's protocol: leave-one-out by latest timestamp, 4 sampled negatives
  per positive (redrawn each epoch), 99 sampled negatives per test item, HR@10 and NDCG@10, the
  popularity baseline.
- `mf`: biased matrix factorisation, the baseline for ranking and for ratings.
- `training`: `fit([users, items], labels)` through the `Learner`, with the per-epoch scores.

The NCF models themselves (GMF, the NCF MLP, NeuMF) are in the zoo: `tujie.models.ncf`.

Example:
    >>> from tujie.recsys import ranking
    >>> import numpy as np
    >>> ranking.hit_ratio_ndcg(np.array([[1.0, 0.0]]), k=1)
    (1.0, 1.0)
"""

import importlib

__all__ = ["mf", "movielens", "ranking", "training"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
