"""The Learner: it learns, accepts every data kind, matches a hand-written loop, and stays PyTorch-native."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import tujie as tj
from tujie.errors import ConfigError, DataError


def blobs(n=256, classes=3, seed=0):
    """Linearly separable Gaussian blobs: a model that learns anything gets > 90%."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])[:classes]
    return centers[y] + torch.randn(n, 2, generator=g) * 0.5, y


def test_fit_learns_and_history_is_keras_like():
    x, y = blobs()
    model = tj.Sequential([tj.layers.Dense(16, activation="relu"), tj.layers.Dense(3)])
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy", "f1"], lr=0.05)
    history = model.fit(x, y, epochs=5, batch_size=32, validation_split=0.25, verbose=0)
    assert len(history) == 5 and history.history["loss"][-1] < history.history["loss"][0]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "val_f1", "lr"} <= set(history.history)
    results = model.evaluate((x, y), verbose=0)
    assert results["accuracy"] > 0.9 and 0 <= results["f1"] <= 1


@pytest.mark.parametrize("kind", ["tuple", "numpy", "arraydataset", "dataloader", "torch_dataset"])
def test_fit_accepts_every_data_kind(kind):
    x, y = blobs(128)
    data = {"tuple": (x, y), "numpy": (x.numpy().astype(np.float64), y.numpy()),
            "arraydataset": tj.ArrayDataset(x, y),
            "dataloader": DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True),
            "torch_dataset": TensorDataset(x, y)}[kind]
    learner = tj.Learner(nn.Linear(2, 3), loss="cross_entropy", optimizer="sgd", lr=0.5, device="cpu")
    learner.fit(data, epochs=4, batch_size=16, verbose=0)
    assert learner.evaluate((x, y), verbose=0)["accuracy"] > 0.9
    assert learner.predict(x).shape == (128, 3)


def test_same_result_as_hand_written_loop():
    """Same seed, same batches, same update: tujie's loop must be numerically the textbook loop."""
    x, y = blobs(200)

    def build():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))

    reference = build()
    opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(7)
    for _ in range(3):
        for idx in torch.randperm(len(x), generator=g).split(20):
            loss = F.cross_entropy(reference(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model = build()
    tj.Learner(model, optimizer="sgd", lr=0.1, optimizer_options={"momentum": 0.9}, seed=7, device="cpu").fit(
        (x, y), epochs=3, batch_size=20, verbose=0)
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


def test_torch_loss_and_optimizer_objects_and_regression():
    torch.manual_seed(0)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1
    model = nn.Linear(3, 1)
    learner = tj.Learner(model, loss=nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                         metrics=["mse", "mae"], device="cpu")
    learner.fit((x, y), epochs=20, batch_size=32, verbose=0)
    results = learner.evaluate((x, y), verbose=0)
    assert results["mse"] < 1e-3 and "accuracy" not in results
    assert results["loss"] == pytest.approx(results["mse"], rel=1e-4)


def test_binary_logits_accuracy_and_probabilities():
    x, y = blobs(200, classes=2)
    learner = tj.Learner(nn.Linear(2, 1), loss="bce_with_logits", optimizer="adam", lr=0.1, device="cpu")
    learner.fit((x, y.float().unsqueeze(1)), epochs=5, batch_size=32, verbose=0)
    results = learner.evaluate((x, y.float().unsqueeze(1)), verbose=0)
    assert results["accuracy"] > 0.95
    p = learner.predict_proba(x)
    assert p.min() >= 0 and p.max() <= 1


def test_custom_train_step_is_used():
    calls = []

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x * self.w

        def train_step(self, batch, learner):
            x, _ = batch
            loss = ((self(x) - 2 * x) ** 2).mean()
            learner.optimizer.zero_grad()
            loss.backward()
            learner.optimizer.step()
            calls.append(len(x))
            return {"loss": loss.detach(), "w": self.w.detach()}

    learner = tj.Learner(Custom(), loss=None, optimizer="sgd", lr=0.2, metrics=(), device="cpu")
    history = learner.fit((torch.ones(40, 1), torch.zeros(40)), epochs=10, batch_size=10, verbose=0)
    assert sum(calls) == 400 and history.history["w"][-1] == pytest.approx(2.0, abs=1e-2)


def test_predict_before_compile_and_summary_totals(capsys):
    model = tj.Sequential([tj.layers.Flatten(), tj.layers.Dense(128, activation="relu"),
                           tj.layers.Dense(64, activation="relu"), tj.layers.Dense(10)])
    assert model.predict(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    info = model.summary(input_shape=(1, 28, 28))
    printed = capsys.readouterr().out
    assert info["total_params"] == 109_386  # the walkthrough's model.summary() total
    assert [r["output_shape"][1:] for r in info["layers"]] == [[784], [128], [64], [10]]
    assert "Total params: 109,386" in printed and "dense_1" in printed


def test_fit_without_compile_and_bad_arguments_are_explained():
    model = tj.Sequential([tj.layers.Dense(2)])
    with pytest.raises(ConfigError, match="compile"):
        model.fit((torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)))
    learner = tj.Learner(nn.Linear(2, 2), device="cpu")
    with pytest.raises(ConfigError, match="epochs"):
        learner.fit((torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)), epochs=0)
    with pytest.raises(DataError, match="targets"):
        learner.fit(torch.zeros(4, 2))
    with pytest.raises(DataError, match="different numbers"):
        learner.fit((torch.zeros(4, 2), torch.zeros(3, dtype=torch.long)))
    with pytest.raises(ConfigError, match="adam"):
        tj.Learner(nn.Linear(2, 2), optimizer="adma").fit((torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)), verbose=0)
    with pytest.raises(ConfigError, match="cross_entropy"):
        tj.Learner(nn.Linear(2, 2), loss="cross_entropyy")
    with pytest.raises(ConfigError, match="not available"):
        tj.Learner(nn.Linear(2, 2), device="cuda" if not torch.cuda.is_available() else "mps")


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"])
def test_named_optimizers_train(name):
    x, y = blobs(128)
    learner = tj.Learner(nn.Linear(2, 3), optimizer=name, optimizer_options={"momentum": 0.9, "nesterov": True} if name == "sgd" else {}, device="cpu")
    before = learner.evaluate((x, y), verbose=0)["loss"]
    learner.fit((x, y), epochs=3, batch_size=16, verbose=0)
    assert learner.evaluate((x, y), verbose=0)["loss"] < before


@pytest.mark.parametrize("scheduler,interval", [({"name": "step", "step_size": 1, "gamma": 0.5}, "epoch"),
                                                ("onecycle", "step"), ("cosine", "epoch"), ("plateau", "epoch")])
def test_schedulers_change_the_learning_rate(scheduler, interval):
    x, y = blobs(64)
    learner = tj.Learner(nn.Linear(2, 3), optimizer="sgd", lr=0.1, scheduler=scheduler, device="cpu")
    history = learner.fit((x, y), epochs=3, batch_size=16, verbose=0, validation_data=(x, y))
    assert learner.scheduler_interval == interval
    if scheduler != "plateau":
        assert history.history["lr"][-1] != pytest.approx(0.1)


def test_progress_lines_when_not_a_terminal(capsys):
    x, y = blobs(64)
    tj.Learner(nn.Linear(2, 3), device="cpu").fit((x, y), epochs=2, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out
    tj.Learner(nn.Linear(2, 3), device="cpu").fit((x, y), epochs=2, batch_size=16, verbose=0)
    assert capsys.readouterr().out == ""


def test_reproducible_with_seed():
    x, y = blobs(128)

    def train():
        tj.seed_everything(1)
        model = tj.Sequential([tj.layers.Dense(8, activation="relu"), tj.layers.Dropout(0.2), tj.layers.Dense(3)])
        model.compile(optimizer="adam", seed=1, device="cpu")
        return model.fit((x, y), epochs=2, batch_size=16, verbose=0).history["loss"]

    assert train() == train()


def test_models_with_several_inputs_train_evaluate_and_predict():
    class PairScore(nn.Module):  # e.g. a recommender taking (user, item)
        def __init__(self):
            super().__init__()
            self.users, self.items = nn.Embedding(10, 4), nn.Embedding(12, 4)

        def forward(self, user, item):
            return (self.users(user) * self.items(item)).sum(-1)

    torch.manual_seed(0)
    users, items = torch.randint(0, 10, (400,)), torch.randint(0, 12, (400,))
    liked = ((users + items) % 2 == 0).float()
    learner = tj.Learner(PairScore(), loss="bce_with_logits", optimizer="adam", lr=0.05, device="cpu")
    learner.fit((users, items, liked), epochs=30, batch_size=50, verbose=0)
    assert learner.evaluate((users, items, liked), verbose=0)["accuracy"] > 0.9
    assert learner.predict((users, items)).shape == (400,)


def test_unlabelled_data_for_a_model_with_its_own_step_and_tuple_outputs():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 1)

        def forward(self, x):
            return self.a(x), self.b(x)

        def train_step(self, batch, learner):
            (x,) = batch
            loss = sum(o.pow(2).mean() for o in self(x))
            learner.optimizer.zero_grad()
            loss.backward()
            learner.optimizer.step()
            return {"loss": loss.detach()}

    learner = tj.Learner(TwoHeads(), loss=None, optimizer="sgd", lr=0.1, metrics=(), device="cpu")
    history = learner.fit(torch.randn(64, 3), epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    a, b = learner.predict(torch.randn(5, 3))
    assert a.shape == (5, 2) and b.shape == (5, 1)
