"""Federated learning (issue 19): splits, the Flower client, in-process FedAvg, and real processes over 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from torch import nn

from tujie.errors import ConfigError
from tujie.trust import federated as fl


def _labels(n_per_class=60, classes=10):
    return np.repeat(np.arange(classes), n_per_class)


def test_dirichlet_split_deals_every_sample_once_and_alpha_sets_how_uneven():
    labels = _labels()
    mean_classes = {}
    for alpha in (0.1, 100.0):
        parts = fl.dirichlet_split(labels, num_clients=10, alpha=alpha, seed=1)
        everything = np.concatenate(parts)
        assert len(everything) == len(labels) and len(np.unique(everything)) == len(labels)
        assert min(len(p) for p in parts) >= 10
        mean_classes[alpha] = (fl.label_counts(labels, parts, 10) > 0).sum(axis=1).mean()
    assert mean_classes[0.1] < 5 < mean_classes[100.0]  # α = 0.1: a few classes each; α = 100: nearly all ten
    again = fl.dirichlet_split(labels, 10, 0.1, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(again, fl.dirichlet_split(labels, 10, 0.1, seed=1)))
    iid = fl.split_indices(labels, 10, "iid", seed=0)
    assert sorted(len(p) for p in iid) == [60] * 10


@pytest.mark.parametrize("call, words", [
    (lambda: fl.dirichlet_split(_labels(), 10, alpha=0.0), "α=0.0"),
    (lambda: fl.dirichlet_split(_labels(2), 10, alpha=1.0), "cannot give 10 clients"),
    (lambda: fl.iid_split(5, 10), "10 clients cannot share 5 samples"),
])
def test_impossible_splits_are_refused_with_the_fix(call, words):
    with pytest.raises(ConfigError, match=words) as e:
        call()
    assert "fix" in str(e.value).lower() or "Fix" in str(e.value)


def test_a_client_refuses_weights_of_another_architecture():
    client = fl.TorchClient(nn.Linear(4, 3), torch.randn(8, 4), torch.randint(0, 3, (8,)))
    with pytest.raises(ConfigError, match="same recipe"):
        client.fit([np.zeros((3, 5), np.float32), np.zeros(3, np.float32)], {"server_round": 1})


def test_flower_fedavg_in_process_learns_and_counts_the_bytes():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    parts = fl.dirichlet_split(y_train.numpy(), 6, alpha=1.0, seed=0)
    clients = [fl.TorchClient(model, x_train[p], y_train[p], batch_size=16, lr=0.1, seed=i) for i, p in enumerate(parts)]
    log = fl.simulate(clients, model, x_test, y_test, rounds=4, fraction_fit=0.5, seed=0)
    assert [r["round"] for r in log] == [0, 1, 2, 3, 4]
    assert all(r["clients"] == 3 and r["failures"] == 0 for r in log[1:])  # half of six clients per round
    assert log[1]["bytes_received"] == 3 * fl.weight_bytes(model)
    assert log[-1]["test_accuracy"] > log[0]["test_accuracy"] + 0.3
    assert fl.rounds_to(log, log[-1]["test_accuracy"]) <= 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_three_client_processes_and_a_server_over_127_0_0_1_and_one_drops_out(tmp_path):
    """The same client code as real processes talking gRPC to a Flower server; client 2 dies in round 2, the others go on."""
    recipe = tmp_path / "fed.yaml"
    recipe.write_text("description: digits over three networked clients\nkind: federated\n"
                      "data: {name: digits, validation_split: 0.0, normalize: unit}\nmodel: {name: mlp, hidden: [32]}\n"
                      "federated: {clients: 3, fraction_fit: 1.0, rounds: 3, batch_size: 16, lr: 0.1, splits: [iid]}\n")
    address = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    tujie = [sys.executable, "-m", "tujie.cli"]
    server = subprocess.Popen([*tujie, "federated", "server", str(recipe), "--address", address, "--clients", "3",
                               "--output", str(tmp_path / "rounds.json")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    clients = [subprocess.Popen([*tujie, "federated", "client", str(recipe), "--address", address, "--clients", "3", "--partition",
                                 str(i), *(["--disconnect-in-round", "2"] if i == 2 else [])], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for i in range(3)]
    try:
        out = server.communicate(timeout=120)[0].decode()
        codes = [c.wait(timeout=60) for c in clients]
    finally:
        for p in (server, *clients):
            p.kill()
    assert server.returncode == 0, out
    assert codes[:2] == [0, 0] and codes[2] != 0  # the dropped client died; the others finished normally
    rounds = json.loads((tmp_path / "rounds.json").read_text())["rounds"]
    assert [(r["round"], r.get("clients"), r.get("failures")) for r in rounds[1:]] == [(1, 3, 0), (2, 2, 1), (3, 2, 0)]
    assert rounds[-1]["test_accuracy"] > rounds[0]["test_accuracy"] + 0.3
    assert "DEPRECATED" not in out  # Flower's banner is kept out of the run's lines


def test_a_client_partition_outside_the_split_is_refused(tmp_path):
    from tujie.kinds.federated import join_recipe
    from tujie.runner import resolve_config

    recipe = tmp_path / "fed.yaml"
    recipe.write_text("description: d\nkind: federated\ndata: {name: digits}\nmodel: {name: mlp}\n")
    config = resolve_config(str(recipe))
    with pytest.raises(ConfigError, match="--partition 5"):
        join_recipe(config, address="127.0.0.1:1", partition=5, clients=3)
