"""Full-batch node classification: learning, the two early-stopping rules, weight decay, embeddings, sparse dropout."""

from __future__ import annotations

import pickle

import pytest
import torch

from tujie.errors import ConfigError
from tujie.graphs.node_classification import _optimizer, hidden_embeddings, project_2d, toy_graph, train_node_classifier
from tujie.models import create
from tujie.models._graph import SparseInputDropout


def _gcn():
    return create("gcn", num_classes=2, in_features=4)


def test_a_gcn_learns_two_communities_from_ten_labels():
    run = train_node_classifier(toy_graph(seed=1), _gcn, epochs=60, stopping="none", seed=0)
    assert run["test_accuracy"] >= 0.9 and len(run["history"]) == 60
    assert run["history"][-1]["train_loss"] < run["history"][0]["train_loss"]


def test_the_same_seed_gives_the_same_run():
    first, second = (train_node_classifier(toy_graph(), _gcn, epochs=10, stopping="none", seed=3) for _ in range(2))
    assert [r["val_loss"] for r in first["history"]] == [r["val_loss"] for r in second["history"]]


def test_the_gat_rule_tests_the_weights_of_its_best_epoch():
    # patience 5 on a tiny graph: it stops early, and the weights tested are those of best_epoch (not the last)
    run = train_node_classifier(toy_graph(), lambda: create("gat", num_classes=2, in_features=4, hidden=4, heads=2),
                                epochs=300, lr=0.05, stopping="gat", patience=5, seed=0)
    assert run["epochs"] < 300 and run["best_epoch"] <= run["epochs"]
    assert run["val_accuracy"] == pytest.approx(run["history"][run["best_epoch"] - 1]["val_accuracy"])


def test_the_kipf_rule_stops_when_the_validation_loss_rises_above_its_window():
    run = train_node_classifier(toy_graph(), _gcn, epochs=500, lr=0.1, weight_decay=0.0, stopping="kipf", patience=3, seed=0)
    losses = [r["val_loss"] for r in run["history"]]
    assert run["epochs"] < 500 and losses[-1] > sum(losses[-4:-1]) / 3


def test_weight_decay_on_the_first_layer_only_or_on_all():
    model = _gcn()
    groups = _optimizer(model, 0.01, 5e-4, "first_layer").param_groups
    decayed = {id(p) for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {id(p) for p in model.conv1.parameters()}
    assert all(g["weight_decay"] == 5e-4 for g in _optimizer(model, 0.01, 5e-4, "all").param_groups)
    with pytest.raises(ConfigError, match="first_layer"):
        _optimizer(model, 0.01, 5e-4, "second")


def test_an_unknown_stopping_rule_is_refused():
    with pytest.raises(ConfigError, match="kipf"):
        train_node_classifier(toy_graph(), _gcn, stopping="patience")


def test_hidden_embeddings_and_their_2d_map():
    graph = toy_graph()
    model = create("gat", num_classes=2, in_features=4, hidden=3, heads=2)
    hidden = hidden_embeddings(model, graph)
    assert hidden.shape == (60, 6) and (hidden > -1.0 - 1e-6).all()  # ELU output: never below -1
    assert project_2d(hidden, "pca").shape == (60, 2)
    with pytest.raises(ConfigError, match="tsne"):
        project_2d(hidden, "umap")
    with pytest.raises(ConfigError, match="conv1"):
        hidden_embeddings(torch.nn.Sequential(torch.nn.Linear(4, 2)), graph)


def test_sparse_input_dropout_draws_only_on_nonzeros_and_sees_changes():
    torch.manual_seed(0)
    x = torch.zeros(200, 50)
    x[:, 0] = 1.0
    dropout = SparseInputDropout(0.5).train()
    out = dropout(x)
    assert (out[:, 1:] == 0).all() and set(out[:, 0].unique().tolist()) == {0.0, 2.0}  # kept ones scaled by 1 / (1 - p)
    assert 0.35 < (out[:, 0] > 0).float().mean() < 0.65
    x[:, 7] = 1.0  # changed in place: the nonzeros are found again
    assert (dropout(x)[:, 7] > 0).any()
    assert torch.equal(dropout.eval()(x), x)
    assert pickle.loads(pickle.dumps(dropout)).rate == 0.5  # a trained model can still be pickled (no weak reference)
    dense = torch.ones(10, 10)
    assert set(SparseInputDropout(0.5).train()(dense).unique().tolist()) <= {0.0, 2.0}  # mostly nonzero: plain dropout


def test_gat_has_the_papers_shape_on_cora_sizes():
    model = create("gat", num_classes=7, in_features=1433)
    assert sum(p.numel() for p in model.parameters()) == 92_373  # 8 heads x 8 features, 1 output head
    assert model.conv1.heads == 8 and model.conv2.heads == 1 and model.conv1.dropout == 0.6
