"""Ensemble and bagging: combination rules on hand-made logits, better than its members, reproducible, exportable."""

import doctest

import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError, DataError
from tujie.train import ensemble as ensemble_module
from tujie.train.ensemble import Ensemble, bagging


class Fixed(torch.nn.Module):
    """Returns the same logits for every sample."""

    def __init__(self, logits):
        super().__init__()
        self.register_buffer("logits", torch.tensor(logits))

    def forward(self, x):
        return self.logits.expand(len(x), -1)  # (batch, classes)


LOGITS = [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0], [0.0, 0.5, 0.0]]


def members():
    return [Fixed(row) for row in LOGITS]


def test_average_is_mean_of_softmax_and_output_is_its_log():
    x = torch.zeros(2, 1)
    ens = Ensemble(members(), method="average")
    expected = torch.tensor(LOGITS).softmax(-1).mean(0)
    assert torch.allclose(ens.predict_proba(x), expected.expand(2, -1))
    assert torch.allclose(ens(x), expected.log().expand(2, -1))
    learner = tj.Learner(ens, loss="nll", optimizer=None)
    assert torch.allclose(learner.predict_proba(x), expected.expand(2, -1), atol=1e-6)


def test_vote_is_the_share_of_votes_with_ties_to_the_lowest_class():
    x = torch.zeros(3, 1)
    # votes: class 0, class 1, class 2, class 1 -> class 1 wins with 2 of 4
    probs = Ensemble(members(), method="vote").predict_proba(x)
    assert torch.equal(probs[0], torch.tensor([0.25, 0.5, 0.25]))
    # a tie (one vote each for 0, 1, 2) goes to the lowest class
    tie = Ensemble(members()[:3], method="vote")
    assert tie.predict_proba(x).argmax(-1).tolist() == [0, 0, 0]
    assert tie(x).argmax(-1).tolist() == [0, 0, 0]
    # unanimous: one-hot, and the log stays finite so the nll loss can be evaluated
    unanimous = Ensemble([Fixed([0.0, 4.0]), Fixed([1.0, 2.0])], method="vote")
    assert torch.equal(unanimous.predict_proba(x), torch.tensor([[0.0, 1.0]] * 3))
    assert torch.isfinite(unanimous(x)).all()
    results = tj.Learner(unanimous, loss="nll", optimizer=None).evaluate((x, torch.tensor([1, 1, 0])), verbose=0)
    assert results["accuracy"] == pytest.approx(2 / 3) and results["loss"] > 0


def test_weighted_normalises_the_weights():
    x = torch.zeros(1, 1)
    ens = Ensemble(members(), method="weighted", weights=[2, 0, 1, 1])
    assert torch.allclose(ens.weights, torch.tensor([0.5, 0.0, 0.25, 0.25]))
    p = torch.tensor(LOGITS).softmax(-1)
    assert torch.allclose(ens.predict_proba(x)[0], 0.5 * p[0] + 0.25 * p[2] + 0.25 * p[3])
    equal = Ensemble(members(), method="weighted", weights=[3, 3, 3, 3])
    assert torch.allclose(equal.predict_proba(x), Ensemble(members()).predict_proba(x))


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "median"}, "Unknown ensemble method"),
    ({"method": "weighted"}, "needs `weights`"),
    ({"method": "weighted", "weights": [1, 1]}, "`weights`"),
    ({"method": "weighted", "weights": [1, -1, 1, 1]}, "`weights`"),
    ({"method": "average", "weights": [1, 1, 1, 1]}, "only used with"),
])
def test_bad_arguments_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Ensemble(members(), **kwargs)
    with pytest.raises(ConfigError, match="members"):
        Ensemble([])


def task(n=300, seed=0):
    """Two classes split by a curved boundary with 10% of the labels flipped."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = ((x[:, 0] ** 2 + x[:, 1]) > 0.5).long()
    flip = torch.rand(n, generator=g) < 0.1
    return x, torch.where(flip, 1 - y, y)


def high_variance_learner():
    """Wide enough to overfit 80 noisy samples: members differ a lot, which averaging smooths out."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    return tj.Learner(model, optimizer="adam", lr=0.05)


def test_ensemble_scores_at_least_its_average_member():
    x, y = task(n=80)
    x_test, y_test = task(n=1000, seed=1)
    ens = bagging(high_variance_learner, (x, y), n_members=5, epochs=30, batch_size=16, seed=0)
    members = [tj.Learner(m, optimizer=None).evaluate((x_test, y_test), verbose=0) for m in ens.members]
    result = tj.Learner(ens, loss="nll", optimizer=None).evaluate((x_test, y_test), verbose=0)
    assert len({m["accuracy"] for m in members}) > 1  # the members really differ (resamples, initial weights)
    assert result["accuracy"] >= sum(m["accuracy"] for m in members) / len(members)
    # the cross-entropy of averaged probabilities never exceeds the members' mean (Jensen's inequality)
    assert result["loss"] <= sum(m["loss"] for m in members) / len(members) + 1e-6


def test_bagging_is_reproducible_with_a_seed_and_exportable():
    x, y = task(n=120)
    a = bagging(high_variance_learner, tj.ArrayDataset(x, y), n_members=3, epochs=2, seed=5)
    b = bagging(high_variance_learner, (x, y), n_members=3, epochs=2, seed=5)
    c = bagging(high_variance_learner, (x, y), n_members=3, epochs=2, seed=6)
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))
    state = a.state_dict()
    assert "weights" in state and any(k.startswith("members.2.") for k in state)
    exported = torch.export.export(a, (x[:4],))
    assert torch.allclose(exported.module()(x[:4]), a(x[:4]))


def test_bagging_errors():
    x, y = task(n=20)
    with pytest.raises(DataError, match="no targets"):
        bagging(high_variance_learner, x)
    with pytest.raises(ConfigError, match="`n_members`"):
        bagging(high_variance_learner, (x, y), n_members=0)


def test_docstring_examples():
    result = doctest.testmod(ensemble_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
