"""Callbacks: early stopping, checkpoints, loggers, the NaN guard."""

import json
import math

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.errors import CheckpointError, ConfigError
from tujie.train import CSVLogger, EarlyStopping, MetricsLogger, ModelCheckpoint, TensorBoard
from tujie.train.checkpoint import load_weights, read_checkpoint

from .test_loop import blobs


class ScriptedLoss(tj.Callback):
    """Replace the logged val_loss by a script, to drive monitors deterministically."""

    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, learner, epoch, logs):
        logs["val_loss"] = self.values[epoch - 1]


def test_early_stopping_stops_and_restores_best_weights():
    x, y = blobs(64)
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    snapshots = {}

    class Snapshot(tj.Callback):
        def on_epoch_end(self, learner, epoch, logs):
            snapshots[epoch] = learner.model.weight.detach().clone()

    learner = tj.Learner(nn.Linear(2, 3), optimizer="sgd", lr=0.1, device="cpu",
                         callbacks=[ScriptedLoss([1.0, 0.5, 0.7, 0.8, 0.9, 1.0]), stopper, Snapshot()])
    history = learner.fit((x, y), epochs=6, batch_size=16, validation_data=(x, y), verbose=0)
    assert len(history) == 4 and stopper.best_epoch == 2
    assert "did not improve for 2 epochs" in history.stop_reason
    torch.testing.assert_close(learner.model.weight, snapshots[2])
    assert learner.restored_epoch == 2


def test_early_stopping_min_delta_and_max_mode():
    stopper = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.05)
    assert stopper.mode == "max"
    stopper.best = 0.80
    assert not stopper.improved(0.84) and stopper.improved(0.86)


def test_monitoring_an_unlogged_metric_is_explained():
    x, y = blobs(32)
    learner = tj.Learner(nn.Linear(2, 3), device="cpu", callbacks=[EarlyStopping(monitor="val_los")])
    with pytest.raises(ConfigError, match="val_los"):
        learner.fit((x, y), epochs=1, validation_data=(x, y), verbose=0)


def test_checkpoint_best_and_last(tmp_path):
    x, y = blobs(64)
    learner = tj.Learner(nn.Linear(2, 3), optimizer="adam", device="cpu",
                         callbacks=[ScriptedLoss([0.9, 0.3, 0.6]), ModelCheckpoint(tmp_path)])
    learner.fit((x, y), epochs=3, batch_size=16, validation_data=(x, y), verbose=0)
    _, meta = read_checkpoint(tmp_path / "best.safetensors")
    assert meta == {"epoch": 2, "val_loss": 0.3}
    weights = load_weights(tmp_path / "best.safetensors")
    assert set(weights) == {"weight", "bias"}
    tensors, last = read_checkpoint(tmp_path / "last.safetensors")
    assert last["state"]["epoch"] == 3 and any(k.startswith("optimizer.") for k in tensors)
    assert "rng.torch" in tensors and "rng.shuffle" in tensors


def test_nan_guard_stops_names_the_step_and_keeps_last_good_checkpoint(tmp_path):
    x, y = blobs(64)
    model = nn.Linear(2, 3)

    class Poison(tj.Callback):  # corrupt the weights during epoch 2, step 3
        def on_train_batch_end(self, learner, step, logs):
            if learner.epoch == 1 and step == 2:
                with torch.no_grad():
                    learner.model.weight.fill_(float("nan"))

    learner = tj.Learner(model, optimizer="sgd", device="cpu", callbacks=[Poison(), ModelCheckpoint(tmp_path)])
    history = learner.fit((x, y), epochs=4, batch_size=16, validation_data=(x, y), verbose=0)
    assert learner.diverged and len(history) == 2
    assert "epoch 2, step 3 " in history.stop_reason and "nan" in history.stop_reason
    saved = load_weights(tmp_path / "last.safetensors")
    assert torch.isfinite(saved["weight"]).all()
    _, meta = read_checkpoint(tmp_path / "last.safetensors")
    assert meta["state"]["epoch"] == 1


def test_loggers_write_one_line_per_epoch(tmp_path):
    x, y = blobs(64)
    learner = tj.Learner(nn.Linear(2, 3), device="cpu",
                         callbacks=[MetricsLogger(tmp_path / "m.jsonl"), CSVLogger(tmp_path / "h.csv"),
                                    TensorBoard(tmp_path / "tb")])
    learner.fit((x, y), epochs=3, batch_size=16, validation_data=(x, y), verbose=0)
    lines = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3] and all(math.isfinite(r["val_loss"]) for r in lines)
    csv_lines = (tmp_path / "h.csv").read_text().splitlines()
    assert csv_lines[0].startswith("epoch,loss") and len(csv_lines) == 4
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())


def test_corrupted_and_truncated_checkpoints_are_refused(tmp_path):
    model = nn.Linear(2, 3)
    path = tj.save_weights(tmp_path / "w.safetensors", model)
    data = path.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for name in ("trunc", "junk"):
        with pytest.raises(CheckpointError, match="corrupted or truncated"):
            tj.load_weights(tmp_path / f"{name}.safetensors")
    with pytest.raises(CheckpointError, match="does not exist"):
        tj.load_weights(tmp_path / "missing.safetensors")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_checkpoint_of_another_model_is_refused(tmp_path):
    from tujie.train.checkpoint import load_checkpoint, save_checkpoint

    save_checkpoint(tmp_path / "c.safetensors", nn.Linear(2, 3))
    other = nn.Linear(2, 4)
    with pytest.raises(CheckpointError, match=r"weight: model \(4, 2\) vs checkpoint \(3, 2\)"):
        load_checkpoint(tmp_path / "c.safetensors", other)


def test_resume_continues_exactly(tmp_path):
    """Train 4 epochs straight, or 2 + resume 2: the weights must be identical."""
    x, y = blobs(96)

    def learner(callbacks=()):
        torch.manual_seed(0)
        model = tj.Sequential([tj.layers.Dense(8, activation="relu"), tj.layers.Dropout(0.1), tj.layers.Dense(3)])
        return tj.Learner(model, optimizer="adam", seed=0, device="cpu", callbacks=list(callbacks),
                          scheduler={"name": "step", "step_size": 1, "gamma": 0.7})

    straight = learner()
    torch.manual_seed(123)
    straight.fit((x, y), epochs=4, batch_size=16, verbose=0)

    first = learner([ModelCheckpoint(tmp_path)])
    torch.manual_seed(123)
    first.fit((x, y), epochs=2, batch_size=16, verbose=0)
    resumed = learner()
    resumed.load_checkpoint(tmp_path / "last.safetensors", (x[:2], y[:2]), epochs=4, steps_per_epoch=6)
    assert resumed.epoch == 2 and len(resumed.history) == 2
    resumed.fit((x, y), epochs=4, batch_size=16, verbose=0, initial_epoch=resumed.epoch)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b)
    assert [e["epoch"] for e in resumed.history.epochs] == [1, 2, 3, 4]
