"""What makes tujie's step cheaper than a hand-written one (issue 12, section 4), each checked directly.

Timings live in bench/fit_speed.py; these tests check the mechanisms: fused optimizers with the
unfused results, no host read per step, no torchmetrics import for a plain fit's validation.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.train.metrics import EvalMetrics
from tujie.train.optimizers import get_optimizer


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    return x, (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))


@pytest.mark.parametrize("name, options", [("adam", {}), ("adamw", {"weight_decay": 0.01}), ("sgd", {"momentum": 0.9}),
                                           ("sgd", {"momentum": 0.9, "nesterov": True}), ("adagrad", {})])
def test_named_optimizers_are_fused_and_train_as_the_unfused_ones(name, options):
    x, y = _data()
    weights = []
    for fused in (None, False):
        extra = {} if fused is None else {"fused": fused}
        learner = tj.Learner(_model(), optimizer=name, lr=0.01, device="cpu", optimizer_options={**options, **extra})
        learner.fit((x, y), epochs=2, batch_size=32, verbose=0)
        assert learner.optimizer.defaults["fused"] is (fused is None)
        weights.append(torch.cat([p.detach().flatten() for p in learner.model.parameters()]))
    torch.testing.assert_close(weights[0], weights[1], rtol=1e-5, atol=1e-6)


def test_fused_is_not_forced_where_torch_has_no_fused_kernel():
    params = [nn.Parameter(torch.zeros(2))]
    assert get_optimizer("rmsprop", params).defaults.get("fused") in (None, False)
    assert get_optimizer("adam", params, foreach=True).defaults["fused"] in (None, False)  # the user chose
    assert get_optimizer("adam", [nn.Parameter(torch.zeros(2, dtype=torch.float64))]).defaults["fused"] is True


def test_sparse_embeddings_get_an_unfused_optimizer_and_train():
    model = nn.Sequential(nn.Embedding(20, 4, sparse=True), nn.Flatten(), nn.Linear(8, 2))
    x, y = torch.randint(0, 20, (64, 2)), torch.randint(0, 2, (64,))
    learner = tj.Learner(model, optimizer="sgd", lr=0.1, device="cpu")
    learner.fit((x, y), epochs=1, batch_size=16, verbose=0)
    assert not learner.optimizer.defaults.get("fused")


def test_a_training_step_reads_nothing_back_from_the_device(monkeypatch):
    """One host read per `sync_every` steps (plus each epoch's end), not one or two per step as `.item()` costs."""
    x, y = _data(1024)
    learner = tj.Learner(_model(), optimizer="adam", device="cpu", metrics=["accuracy"])
    learner.fit((x[:64], y[:64]), epochs=1, batch_size=32, verbose=0)  # set-up done
    reads = []
    for method in ("item", "tolist", "__float__", "__bool__"):
        original = getattr(torch.Tensor, method)

        def counted(self, *args, _original=original, _name=method, **kwargs):
            reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, method, counted)
    learner.fit((x, y), epochs=2, batch_size=8, verbose=0, initial_epoch=0)  # 256 steps
    steps = 2 * 1024 // 8
    assert len(reads) <= steps // learner.sync_every + 2 * 4, reads  # a few reads per epoch, none per step


def test_a_callback_reading_batch_logs_gets_floats():
    x, y = _data(64)
    seen = []

    class Reader(tj.Callback):
        def on_train_batch_end(self, learner, step, logs):
            seen.append(logs)

    tj.Learner(_model(), device="cpu").fit((x, y), epochs=1, batch_size=16, verbose=0, callbacks=[Reader()])
    assert len(seen) == 4 and all(type(v) is float for logs in seen for v in logs.values())
    assert set(seen[0]) == {"loss", "accuracy"}


def test_epoch_means_equal_the_per_batch_values():
    x, y = _data(100)
    seen = []

    class Reader(tj.Callback):
        def on_train_batch_end(self, learner, step, logs):
            seen.append(logs)

    learner = tj.Learner(_model(), device="cpu")
    history = learner.fit((x, y), epochs=1, batch_size=32, shuffle=False, verbose=0, callbacks=[Reader()])
    sizes = [32, 32, 32, 4]  # sample-weighted: the short last batch counts for its 4 samples
    for key in ("loss", "accuracy"):
        expected = sum(logs[key] * n for logs, n in zip(seen, sizes)) / 100
        assert history.epochs[0][key] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("kind, names, out, y", [
    ("multiclass", ["accuracy"], torch.randn(50, 4), torch.randint(0, 4, (50,))),
    ("binary_logits", ["accuracy"], torch.randn(50, 1), torch.randint(0, 2, (50, 1)).float()),
    ("binary_probs", ["accuracy"], torch.rand(50, 1), torch.randint(0, 2, (50, 1)).float()),
    ("regression", ["mae", "mse", "rmse"], torch.randn(50, 1), torch.randn(50, 1)),
])
def test_plain_validation_metrics_equal_torchmetrics(kind, names, out, y):
    plain = EvalMetrics(names, kind)
    reference = EvalMetrics([*names, "confusion_matrix" if kind != "regression" else "mse"], kind)  # forces torchmetrics
    for start in range(0, 50, 16):
        plain.update(out[start:start + 16], y[start:start + 16])
        reference.update(out[start:start + 16], y[start:start + 16])
    assert type(next(iter(plain.metrics.values()))).__module__ == "tujie.train.metrics"
    got, want = plain.compute(), reference.compute()
    for name in names:
        assert got[name] == pytest.approx(want[name], rel=1e-5, abs=1e-7), name


def test_a_plain_fit_with_validation_imports_no_torchmetrics():
    code = textwrap.dedent("""
        import sys, torch, tujie as tj
        x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
        model = tj.Sequential([tj.layers.Dense(16, activation="relu"), tj.layers.Dense(3)])
        model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
        model.fit(x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=0)
        print(sorted(m for m in ("torchmetrics", "rich") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_bad_label_deep_in_a_loader_names_its_batch():
    """A DataLoader is checked on its first batch; a later bad batch is explained when the step fails on it."""
    from torch.utils.data import DataLoader, TensorDataset

    x, y = _data(64)
    y[40] = 7  # the model has 3 outputs
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=False)
    with pytest.raises(tj.errors.DataError, match=r"Batch 3 of epoch 1: Class labels are out of range.*labels \[7\]"):
        tj.Learner(_model(), device="cpu").fit(loader, epochs=1, verbose=0)


def test_zero_grad_clears_every_group_even_one_added_after_the_first_fit():
    x, y = _data(64)
    learner = tj.Learner(_model(), optimizer="sgd", lr=0.1, device="cpu")
    learner.fit((x, y), epochs=1, batch_size=32, verbose=0)
    extra = nn.Parameter(torch.ones(3))
    extra.grad = torch.full((3,), 5.0)
    learner.optimizer.add_param_group({"params": [extra]})
    learner._zero_grad()
    assert extra.grad is None and all(p.grad is None for p in learner.model.parameters())


def test_an_optimizer_with_its_own_zero_grad_is_called():
    calls = []

    class Logged(torch.optim.SGD):
        def zero_grad(self, set_to_none=True):
            calls.append(set_to_none)
            super().zero_grad(set_to_none)

    x, y = _data(64)
    model = _model()
    tj.Learner(model, optimizer=Logged(model.parameters(), lr=0.1), device="cpu").fit((x, y), epochs=1, batch_size=32, verbose=0)
    assert calls == [True, True]


def test_a_lambda_callback_without_a_batch_function_costs_no_read_per_step():
    epochs = []
    plain = tj.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    per_batch = tj.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: None)
    assert not plain.reads_batch_logs and per_batch.reads_batch_logs
    x, y = _data(64)
    tj.Learner(_model(), device="cpu").fit((x, y), epochs=2, batch_size=16, verbose=0, callbacks=[plain])
    assert epochs == [0, 1]
