"""A kill at any point of an epoch's end, then `--resume`: the logs and the checkpoint agree.

Each case stops a `tujie run` (an exception no one catches, as a kill) at one point of the
epoch's end: before or after last.safetensors is written, or after one of the logs. The resumed
run must show every epoch exactly once in metrics.jsonl, history.csv, schedule.json and
TensorBoard, and its checkpoint must have trained exactly as far as the logs go.
"""

from __future__ import annotations

import csv
import json

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.train import CSVLogger, Learner, LearningRateLogger, MetricsLogger, ModelCheckpoint, TensorBoard
from tujie.train.checkpoint import read_checkpoint

TINY = ["limit=200", "batch_size=64", "train.metrics=[accuracy]"]


class Killed(BaseException):
    """Stands for a kill: nothing in tujie catches it, so nothing after it runs."""


@pytest.fixture(autouse=True)
def _no_report(monkeypatch):
    monkeypatch.setattr("tujie.runner.build_report", lambda run_dir: run_dir / "report.html")


def _kill_at_epoch_2(monkeypatch, cls, *, after: bool):
    original = cls.on_epoch_end

    def on_epoch_end(self, learner, epoch, logs):
        if epoch == 2 and not after:
            raise Killed
        original(self, learner, epoch, logs)
        if epoch == 2:
            raise Killed

    monkeypatch.setattr(cls, "on_epoch_end", on_epoch_end)


def tensorboard_scalars(folder, tag="loss/train") -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return [e.step for e in events.Scalars(tag)]


def assert_logs_agree_with_checkpoint(run_dir, epochs: int):
    _, meta = read_checkpoint(run_dir / "last.safetensors")
    state = meta["state"]
    assert state["epoch"] == epochs
    assert [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == list(range(1, epochs + 1))
    with open(run_dir / "history.csv", newline="") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == list(range(1, epochs + 1))
    steps = json.loads((run_dir / "schedule.json").read_text())["step"]
    assert steps == list(range(1, state["global_step"] + 1))  # every step once, none past the checkpoint
    assert tensorboard_scalars(run_dir / "tensorboard") == list(range(1, epochs + 1))


KILL_POINTS = {
    "before the checkpoint": (ModelCheckpoint, False),
    "after the checkpoint": (ModelCheckpoint, True),
    "after metrics.jsonl": (MetricsLogger, True),
    "after history.csv": (CSVLogger, True),
    "after tensorboard": (TensorBoard, True),
    "after schedule.json": (LearningRateLogger, True),
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_at_an_epochs_end_resumes_with_logs_that_agree(tmp_path, monkeypatch, point):
    cls, after = KILL_POINTS[point]
    with monkeypatch.context() as patch:
        _kill_at_epoch_2(patch, cls, after=after)
        with pytest.raises(Killed):
            tj.run("digits-mlp", overrides=[*TINY, "epochs=3", f"output_dir={tmp_path}", "run_name=killed"], verbose=0)
    run_dir = tmp_path / "killed"
    done = read_checkpoint(run_dir / "last.safetensors")[1]["state"]["epoch"]
    assert done == (2 if point == "after the checkpoint" else 1)  # the loggers write an epoch before the checkpoint does

    result = tj.run(overrides=[*TINY, "epochs=3"], resume=run_dir, verbose=0)
    assert result.summary["status"] == "finished" and result.summary["epochs_done"] == 3
    assert_logs_agree_with_checkpoint(run_dir, 3)


def test_loggers_rebuild_their_files_from_the_checkpoint_whatever_the_callback_order(tmp_path):
    """A checkpoint written before the loggers (a user's order) and a kill after it: the resumed fit restores the epoch."""
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(48, 4, generator=generator), torch.randint(0, 3, (48,), generator=generator)

    def learner():
        torch.manual_seed(0)
        return Learner(nn.Linear(4, 3), optimizer="sgd", lr=0.1, device="cpu", callbacks=[
            ModelCheckpoint(tmp_path, monitor="loss"), MetricsLogger(tmp_path / "metrics.jsonl"),
            CSVLogger(tmp_path / "history.csv"), TensorBoard(tmp_path / "tensorboard"),
            LearningRateLogger(tmp_path / "schedule.json")])

    first = learner()
    first.fit(x, y, epochs=1, batch_size=16, verbose=0)
    original = MetricsLogger.on_epoch_end
    try:  # epoch 2 reaches last.safetensors and no log
        MetricsLogger.on_epoch_end = lambda self, learner, epoch, logs: (_ for _ in ()).throw(Killed)
        with pytest.raises(Killed):
            first.fit(x, y, epochs=3, batch_size=16, verbose=0, initial_epoch=1)
    finally:
        MetricsLogger.on_epoch_end = original
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 1

    resumed = learner()
    resumed.load_checkpoint(tmp_path / "last.safetensors", (x[:2], y[:2]), epochs=3, steps_per_epoch=3)
    assert resumed.epoch == 2
    resumed.fit(x, y, epochs=3, batch_size=16, verbose=0, initial_epoch=resumed.epoch)
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == [1, 2, 3]
    assert metrics[1] == pytest.approx(resumed.history.epochs[1])  # epoch 2 as the checkpoint recorded it
    assert tensorboard_scalars(tmp_path / "tensorboard") == [1, 2, 3]
    assert len(list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))) == 1  # the older files are superseded


def test_a_resumed_fit_drops_gradient_lines_past_the_checkpoint(tmp_path):
    from tujie.train import GradientStats

    x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    stats = GradientStats(tmp_path / "grad_stats.jsonl", every=1)
    learner = Learner(nn.Linear(4, 2), device="cpu", callbacks=[stats])
    learner.fit(x, y, epochs=2, batch_size=8, verbose=0)
    learner.epoch, learner.global_step = 1, 4  # as if the checkpoint had stopped after epoch 1
    stats.on_fit_begin(learner)
    assert [json.loads(line)["step"] for line in (tmp_path / "grad_stats.jsonl").read_text().splitlines()] == [1, 2, 3, 4]
