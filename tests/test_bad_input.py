"""Bad input and resume (issue 12, section 3): each case is a clear error in the one template, never a traceback
or a silent success; and resuming with more epochs stretches the learning-rate schedule instead of breaking it."""

import errno
import math
import os
import pathlib

import pytest
import torch
import yaml
from torch import nn

import tujie as tj
from tujie import _io, kinds
from tujie.cli import main
from tujie.errors import ConfigError, OutputError
from tujie.kinds._context import new_run_dir
from tujie.recipes import load_recipe
from tujie.runner import resolve_config
from tujie.train import Callback, Learner
from tujie.train.optimizers import SCHEDULERS, get_scheduler

TINY = ["limit=200", "batch_size=64", "train.metrics=[accuracy]"]


@pytest.fixture(autouse=True)
def _no_report(monkeypatch):
    """The report is tested elsewhere; here it would only cost seconds per run."""
    monkeypatch.setattr("tujie.runner.build_report", lambda run_dir: run_dir / "report.html")


def _run(tmp_path, *overrides, resume=None):
    base = [] if resume else ["digits-mlp"]
    return tj.run(*base, overrides=[*TINY, f"output_dir={tmp_path / 'runs'}", *overrides], resume=resume, verbose=0)


def _config(**values):
    return kinds.validate({"recipe": "demo", **values})


# ---------------------------------------------------------------- tracebacks turned into the error template
def test_a_wrongly_typed_model_argument_is_a_config_error():
    with pytest.raises(ConfigError, match="could not be built") as e:
        tj.models.create("mlp", hidden="abc")
    assert "hidden='abc'" in str(e.value) and "Fix:" in str(e.value)


@pytest.mark.parametrize("option", [{"name": "step", "step_size": 0}, {"name": "step", "gamma": 0},
                                    {"name": "cosine_restarts", "T_0": 0}, {"name": "multistep", "milestones": "x"}])
def test_scheduler_counts_below_one_are_refused(option):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ConfigError, match="Invalid value received for the") as e:
        get_scheduler(option, opt, epochs=3, steps_per_epoch=2)
    assert "Expected:" in str(e.value)


def test_a_recipe_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("description: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_recipe(str(path))


def test_an_empty_recipe_is_refused_not_the_default_mnist(tmp_path):
    for text in ("", "# only a comment\n"):
        path = tmp_path / "empty.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError, match="is empty"):
            load_recipe(str(path))


@pytest.mark.parametrize("content", [b"recipe: [unclosed\n", b"- a list\n", b"\xff\xfe bad bytes"])
def test_a_malformed_config_yaml_on_resume_is_refused(tmp_path, content):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_bytes(content)
    with pytest.raises(ConfigError, match="Cannot resume from"):
        tj.run(resume=run_dir, verbose=0)


def test_a_missing_config_yaml_on_resume_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="has no config.yaml"):
        tj.run(resume=tmp_path / "nowhere", verbose=0)


def test_two_runs_racing_for_one_folder_get_distinct_folders(tmp_path, monkeypatch):
    config = _config(output_dir=str(tmp_path), run_name="same")
    (tmp_path / "same").mkdir()  # made by the other run between our check and our mkdir
    monkeypatch.setattr(pathlib.Path, "exists", lambda self: False)
    assert new_run_dir(config).name == "same-1"


def test_output_dir_that_is_a_file_or_under_a_file_is_refused(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        new_run_dir(_config(output_dir=str(afile)))
    with pytest.raises(ConfigError, match="lies under a file"):
        new_run_dir(_config(output_dir=str(afile / "runs")))


def test_a_read_only_output_dir_is_refused(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "mkdir", refuse)
    with pytest.raises(OutputError, match="not writable"):
        new_run_dir(_config(output_dir=str(tmp_path / "ro")))


def test_a_full_disk_is_an_output_error_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    with pytest.raises(OutputError, match="no space is left") as e:
        _io.write_json(tmp_path / "summary.json", {"a": 1})
    assert isinstance(e.value, OSError) and "Fix:" in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_lr_find_output_naming_a_folder_is_refused_before_training(tmp_path, capsys):
    assert main(["lr-find", "digits-mlp", "--steps", "3", "--output", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_lr_find_output_in_a_read_only_place_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    assert main(["lr-find", "digits-mlp", "--steps", "3", "--output", str(tmp_path / "ro" / "plot.png")]) == 2
    assert "not writable" in capsys.readouterr().err


# ---------------------------------------------------------------- silent successes refused
def test_a_monitor_that_no_metric_matches_is_refused_before_training(tmp_path):
    with pytest.raises(ConfigError, match="is not one this run logs") as e:
        _run(tmp_path, "epochs=1", "train.monitor=val_acc")
    assert "val_accuracy" in str(e.value)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("name", ["../x", "a/b", ".."])
def test_a_run_name_leaving_output_dir_is_refused(name):
    with pytest.raises(ConfigError, match="run_name"):
        _config(run_name=name)


@pytest.mark.parametrize("override", ["epochs=true", "batch_size=false", "lr=true"])
def test_booleans_are_not_numbers(override):
    with pytest.raises(ConfigError, match="not the boolean"):
        kinds.validate(kinds.apply_overrides({"recipe": "x"}, [override]))


def test_resuming_with_no_more_epochs_than_done_is_refused(tmp_path):
    run_dir = _run(tmp_path, "epochs=2").run_dir
    for epochs in (1, 2):
        with pytest.raises(ConfigError, match="Nothing to resume"):
            _run(tmp_path, f"epochs={epochs}", resume=run_dir)


def test_resuming_nan_weights_is_refused_and_the_summary_kept(tmp_path):
    from safetensors.torch import load, save

    run_dir = _run(tmp_path, "epochs=1").run_dir
    summary = (run_dir / "summary.json").read_text()
    raw = (run_dir / "last.safetensors").read_bytes()
    tensors = load(raw)
    header = yaml.safe_load(raw[8:8 + int.from_bytes(raw[:8], "little")])  # JSON is YAML
    name = next(k for k in tensors if k.startswith("model.") and k.endswith("weight"))
    tensors[name] = torch.full_like(tensors[name], math.nan)
    (run_dir / "last.safetensors").write_bytes(save(tensors, metadata=header["__metadata__"]))
    with pytest.raises(ConfigError, match="NaN or infinite"):
        _run(tmp_path, "epochs=2", resume=run_dir)
    assert (run_dir / "summary.json").read_text() == summary


def test_divergence_without_a_checkpoint_does_not_claim_one_was_kept(tmp_path):
    result = _run(tmp_path, "epochs=1", "optimizer=sgd", "lr=1e30")
    assert result.summary["status"] == "diverged"
    assert not (result.run_dir / "last.safetensors").exists()
    assert "checkpoint was kept" not in result.summary["message"]
    assert "no checkpoint was written" in result.summary["message"]


def test_an_unknown_key_is_named_even_with_an_unknown_recipe():
    with pytest.raises(ConfigError, match="Unknown config key 'nope'") as e:
        resolve_config("x", ["nope=1"])
    assert "train.epochs" in str(e.value)


# ---------------------------------------------------------------- resume that extends a run
class _Rates(Callback):
    def __init__(self):
        self.rates = []

    def on_train_batch_end(self, learner, step, logs):
        self.rates.append(learner.optimizer.param_groups[0]["lr"])


SPECS = {
    "step": {"name": "step", "step_size": 1, "gamma": 0.5},
    "multistep": {"name": "multistep", "milestones": [1, 2], "gamma": 0.5},
    "exponential": {"name": "exponential", "gamma": 0.8},
    "cosine": {"name": "cosine"},
    "cosine_restarts": {"name": "cosine_restarts", "T_0": 2},
    "constant": {"name": "constant", "factor": 0.5, "total_iters": 2},
    "onecycle": {"name": "onecycle"},
    "plateau": {"name": "plateau", "patience": 0},
}
EXTRA = {"cosine-step": {"name": "cosine", "interval": "step"}, "cosine-warmup": {"name": "cosine", "warmup": 1},
         "cosine-step-warmup": {"name": "cosine", "interval": "step", "warmup": 5}}


def test_every_scheduler_has_an_extension_case():
    assert set(SPECS) == set(SCHEDULERS)


@pytest.mark.parametrize("name", [*SPECS, *EXTRA])
def test_extending_a_run_continues_on_the_schedule_of_the_longer_run(tmp_path, name):
    """A 2-epoch run resumed with epochs=3 has, in epoch 3, the rates a 3-epoch run has there."""
    spec = {**SPECS, **EXTRA}[name]
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 4, generator=generator), torch.randint(0, 3, (40,), generator=generator)

    def learner():
        torch.manual_seed(0)
        rates = _Rates()
        return Learner(nn.Linear(4, 3), optimizer="sgd", lr=0.1, scheduler=dict(spec), device="cpu", callbacks=[rates]), rates

    planned, planned_rates = learner()
    planned.fit(x, y, epochs=3, batch_size=8, verbose=0)
    short, _ = learner()
    short.fit(x, y, epochs=2, batch_size=8, verbose=0)
    short.save_checkpoint(tmp_path / "last.safetensors")
    resumed, resumed_rates = learner()
    resumed.load_checkpoint(tmp_path / "last.safetensors", (x[:2], y[:2]), epochs=3, steps_per_epoch=5)
    resumed.fit(x, y, epochs=3, batch_size=8, verbose=0, initial_epoch=resumed.epoch)
    assert resumed_rates.rates == pytest.approx(planned_rates.rates[10:], rel=1e-6, abs=1e-12)


def test_a_one_cycle_run_extended_through_the_runner_finishes_and_says_so(tmp_path, capsys):
    run_dir = _run(tmp_path, "epochs=1", "scheduler=onecycle").run_dir
    leftover = run_dir / ".last.safetensors.abc123.tmp"
    leftover.write_bytes(b"half a file")
    result = tj.run(overrides=[*TINY, "epochs=2"], resume=run_dir, verbose=1)
    assert result.summary["status"] == "finished" and result.summary["epochs_done"] == 2
    out = capsys.readouterr().out
    assert "schedule stretched to 2 epochs" in out and "total_steps 3 → 6" in out
    assert not leftover.exists()


# ---------------------------------------------------------------- permissions
def test_files_are_written_with_the_users_usual_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        path = _io.write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o640


def test_an_imdb_csv_with_only_its_header_or_an_unclosed_quote_is_refused(tmp_path):
    from tujie.errors import DataError
    from tujie.text.corpus import read_imdb_csv

    header_only = tmp_path / "header.csv"
    header_only.write_text("id,rating,label,text\n")
    with pytest.raises(DataError, match="no usable rows"):
        read_imdb_csv(header_only)
    unclosed = tmp_path / "quote.csv"
    unclosed.write_text('id,rating,label,text\n0,1,0,"Dull, slow.\n1,9,1,Great\n')
    with pytest.raises(DataError, match="malformed"):
        read_imdb_csv(unclosed)
