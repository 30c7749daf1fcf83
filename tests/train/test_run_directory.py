"""`fit(..., run_dir=...)` leaves the run directory and report `tujie run` leaves."""

from __future__ import annotations

import json
import re

import pytest
import torch

import tujie as tj
from tujie.cli import main
from tujie.errors import ConfigError

# the sections drawn from the test phase's data alone (the runner's, on the recipe's test split): fit has none
TEST_PHASE = {"roc-pr", "calibration", "threshold", "predicted", "text-attention", "text-mistakes"}


def sections(page) -> set[str]:
    return set(re.findall(r'<section[^>]* id="([^"]+)"', page.read_text(encoding="utf-8")))


def _model(**options):
    torch.manual_seed(0)
    model = tj.Sequential([tj.layers.Dense(16, activation="relu"), tj.layers.Dense(3)])
    return model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], **options)


@pytest.fixture(scope="module")
def python_run(tmp_path_factory):
    x, y = torch.randn(96, 8), torch.randint(0, 3, (96,))
    run_dir = tmp_path_factory.mktemp("python") / "runs" / "mlp"  # its parents are made too
    _model(scheduler="cosine").fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0, run_dir=run_dir)
    return run_dir


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    return tj.run("digits-mlp", overrides=["epochs=1", "limit=300", f"output_dir={folder}", "run_name=cli"], verbose=0).run_dir


def test_fit_leaves_the_files_of_a_train_run(python_run):
    for name in ("config.yaml", "last.safetensors", "best.safetensors", "metrics.jsonl", "history.csv", "schedule.json",
                 "summary.json", "report.html"):
        assert (python_run / name).is_file(), name
    assert list((python_run / "tensorboard").glob("events.out.tfevents.*"))
    summary = json.loads((python_run / "summary.json").read_text())
    assert summary["kind"] == "train" and summary["status"] == "finished" and summary["epochs_done"] == 2
    assert summary["monitor"] == "val_loss" and summary["model"]["total_params"] > 0
    assert [json.loads(line)["epoch"] for line in (python_run / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_its_report_has_the_sections_of_a_cli_run_but_the_test_phase(python_run, cli_run):
    ours, theirs = sections(python_run / "report.html"), sections(cli_run / "report.html")
    assert {"curves", "learning-rate", "model", "config", "run"} <= ours  # the cosine schedule is drawn
    assert ours - {"learning-rate"} <= theirs and theirs - ours <= TEST_PHASE, (ours, theirs)
    assert "No model summary" not in (python_run / "report.html").read_text(encoding="utf-8")


def test_its_report_rebuilds_in_chinese_and_from_the_command_line(python_run, capsys):
    chinese = tj.build_report(python_run, lang="zh")
    page = chinese.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "could not be drawn" not in page and "无法根据" not in page
    assert sections(chinese) >= {"curves", "model", "config"}
    assert main(["report", str(python_run)]) == 0


def test_the_callback_picks_the_training_loss_without_validation_data(tmp_path):
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    callback = tj.callbacks.RunDirectory(tmp_path / "run", report=False)
    _model().fit(x, y, epochs=1, verbose=0, callbacks=[callback])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["monitor"] == "loss" and summary["best_epoch"] == 1
    assert (tmp_path / "run" / "best.safetensors").is_file() and not (tmp_path / "run" / "report.html").exists()


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_a_run_dir_that_cannot_be_a_folder_is_refused_in_the_template(tmp_path, where):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    path = blocker if where == "a file" else blocker / "run"
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    with pytest.raises(ConfigError, match="run_dir") as e:
        _model().fit(x, y, epochs=1, verbose=0, run_dir=path)
    assert "Expected:" in str(e.value) and "Fix:" in str(e.value)
    assert blocker.read_text() == "x"


def test_tujie_run_resume_refuses_a_python_run_and_says_how_to_continue_it(python_run):
    with pytest.raises(ConfigError, match="trained from Python") as e:
        tj.run(resume=python_run, overrides=["epochs=5"], verbose=0)
    assert "load_checkpoint" in str(e.value)


def test_a_python_run_continued_in_python_logs_each_epoch_once(tmp_path):
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    run_dir = tmp_path / "run"
    _model().fit(x, y, epochs=2, batch_size=16, verbose=0, run_dir=run_dir)
    model = _model()
    model.learner.load_checkpoint(run_dir / "last.safetensors", (x[:2], y[:2]), epochs=3, steps_per_epoch=4)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, initial_epoch=model.learner.epoch, run_dir=run_dir)
    assert [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert json.loads((run_dir / "summary.json").read_text())["epochs_done"] == 3
