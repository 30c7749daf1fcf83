"""He et al.'s protocol: the latest item held out, negatives never seen, HR@10 and NDCG@10 by hand."""

import math

import numpy as np
import pytest

from tujie.recsys.movielens import Ratings
from tujie.recsys.ranking import hit_ratio_ndcg, leave_one_out, per_user_hits, popularity_scores, training_pairs


def _ratings(rows, num_users, num_items):
    users, items, stamps = (np.array(c) for c in zip(*rows))
    return Ratings(users, items, np.ones(len(users), np.float32), stamps, num_users, num_items)


def _random_ratings(seed=0, num_users=12, num_items=60, n=200):
    rng = np.random.default_rng(seed)
    pairs = {(int(u), int(i)) for u, i in zip(rng.integers(0, num_users, n), rng.integers(0, num_items, n))}
    pairs |= {(u, u) for u in range(num_users)}  # every user has one interaction at least
    rows = [(u, i, int(rng.integers(0, 10**6))) for u, i in sorted(pairs)]
    return _ratings(rows, num_users, num_items)


def test_each_users_latest_interaction_is_held_out_and_ties_go_to_the_larger_item():
    split = leave_one_out(_ratings([(0, 3, 10), (0, 1, 50), (0, 2, 20), (1, 4, 7), (1, 0, 7)], 2, 8), negatives=5)
    assert split.test_items.tolist() == [1, 4]
    assert sorted(zip(split.train_users.tolist(), split.train_items.tolist())) == [(0, 2), (0, 3), (1, 0)]
    assert split.candidates[:, 0].tolist() == [1, 4]


def test_test_negatives_are_distinct_unseen_items_and_seeded():
    r = _random_ratings()
    split = leave_one_out(r, negatives=20, seed=3)
    seen = split.seen()
    for user, row in enumerate(split.candidates):
        assert len(set(row.tolist())) == 21 and not seen[user, row[1:]].any()
    assert np.array_equal(split.candidates, leave_one_out(r, negatives=20, seed=3).candidates)
    assert not np.array_equal(split.candidates, leave_one_out(r, negatives=20, seed=4).candidates)


def test_training_pairs_hold_every_positive_and_ratio_unseen_negatives_each_epoch():
    split = leave_one_out(_random_ratings(), negatives=10)
    rng = np.random.default_rng(0)
    users, items, labels = training_pairs(split, 4, rng)
    n = len(split.train_users)
    assert len(users) == 5 * n and labels.sum() == n
    assert not split.seen()[users[labels == 0], items[labels == 0]].any()  # held-out items are never negatives
    again = training_pairs(split, 4, rng)[1]
    assert not np.array_equal(items, again)  # redrawn every epoch


def test_hit_ratio_and_ndcg_match_the_hand_computation():
    scores = np.array([[0.9] + [0.1] * 99,             # rank 0: hit, NDCG 1
                       [0.5] + [0.9] * 3 + [0.1] * 96,  # rank 3: hit, NDCG 1/log2(5)
                       [0.5] + [0.9] * 10 + [0.1] * 89])  # rank 10: miss
    hr, ndcg = hit_ratio_ndcg(scores)
    assert hr == pytest.approx(2 / 3) and ndcg == pytest.approx((1 + 1 / math.log2(5)) / 3)


def test_a_tie_with_the_held_out_item_counts_against_it():
    hits, ndcg = per_user_hits(np.ones((4, 100)))  # a model that scores everything alike finds nothing
    assert hits.sum() == 0 and ndcg.sum() == 0


def test_popularity_counts_training_interactions_only():
    split = leave_one_out(_ratings([(0, 1, 1), (0, 2, 2), (1, 1, 1), (1, 3, 2), (2, 1, 1), (2, 0, 2)], 3, 6), negatives=2)
    counts = np.bincount(split.train_items, minlength=6)
    assert counts.tolist() == [0, 3, 0, 0, 0, 0]  # the held-out items 2, 3, 0 are not counted
    assert np.array_equal(popularity_scores(split), counts[split.candidates])
