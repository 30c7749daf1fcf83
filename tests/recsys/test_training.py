"""`fit([users, items], ratings)` as the seeds write it, and the recommenders learning planted tastes."""

import numpy as np
import pytest
import torch

import tujie as tj
from tujie.errors import ShapeError
from tujie.recsys.mf import MatrixFactorization
from tujie.recsys.movielens import Ratings
from tujie.recsys.ranking import hit_ratio_ndcg, leave_one_out, popularity_scores
from tujie.recsys.training import best_epoch, train_rater, train_ranker


class DotProduct(tj.Model):
    """The seeds' (002) Keras recommender: two embeddings and their dot product."""

    def __init__(self, num_users, num_items, size=8):
        super().__init__()
        self.users, self.items = torch.nn.Embedding(num_users, size), torch.nn.Embedding(num_items, size)

    def forward(self, user_ids, item_ids):
        return (self.users(user_ids) * self.items(item_ids)).sum(-1)  # (batch,)


def _tastes(num_users=40, num_items=60, seed=0):
    """Two groups of users, each liking one half of the items: ratings 5 inside the group's half, 1 outside."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, num_users, 1500)
    items = rng.integers(0, num_items, 1500)
    ratings = np.where((users % 2) == (items < num_items // 2), 5.0, 1.0).astype(np.float32)
    return users, items, ratings


def test_fit_with_a_list_of_user_and_item_ids_as_the_seeds_write_it():
    torch.manual_seed(0)
    user_ids, item_ids, ratings = _tastes()
    model = DotProduct(40, 60)
    model.compile(optimizer="adam", loss="mse", lr=0.05)
    history = model.fit([user_ids, item_ids], ratings, epochs=5, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    predicted = model.predict([torch.tensor([0, 1]), torch.tensor([50, 50])])  # user 0 likes the second half
    assert predicted[0] > 3.5 and predicted[1] < 2.5


def test_rating_regressors_learn_planted_tastes_and_the_epoch_is_picked_on_validation():
    users, items, ratings = _tastes()
    train = Ratings(users[:1200], items[:1200], ratings[:1200], np.zeros(1200, np.int64), 40, 60)
    test = Ratings(users[1200:], items[1200:], ratings[1200:], np.zeros(300, np.int64), 40, 60)
    torch.manual_seed(0)
    curve = train_rater(MatrixFactorization(40, 60, factors=4, global_mean=3.0), train, test, validation=test,
                        epochs=6, lr=0.05, batch_size=128)
    assert curve[-1]["test_rmse"] < 0.5 < np.std(ratings)  # far below the ratings' own spread (2.0)
    assert best_epoch(curve)["val_rmse"] == min(r["val_rmse"] for r in curve)


def test_ranking_mf_beats_popularity_on_planted_tastes():
    users, items, _ratings = _tastes(num_users=30, num_items=80)
    liked = (users % 2) == (items < 40)
    r = Ratings(users[liked], items[liked], np.ones(liked.sum(), np.float32), np.arange(liked.sum()), 30, 80)
    split = leave_one_out(r, negatives=30)
    torch.manual_seed(0)
    curve = train_ranker(MatrixFactorization(30, 80, factors=4), split, epochs=6, lr=0.05, batch_size=128)
    popularity_hr = hit_ratio_ndcg(popularity_scores(split))[0]
    assert curve[-1]["hr_at_10"] > max(0.8, popularity_hr + 0.2) and [p["epoch"] for p in curve] == list(range(1, 7))


def test_an_id_outside_the_model_is_named_with_the_fix():
    with pytest.raises(ShapeError, match="user id 7, outside its 5 users"):
        MatrixFactorization(5, 9)(torch.tensor([7]), torch.tensor([1]))
    with pytest.raises(ShapeError, match="item id 1682"):
        tj.models.create("neumf", num_users=943, num_items=1682)(torch.tensor([0]), torch.tensor([1682]))
