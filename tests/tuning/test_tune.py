"""`tujie tune` / `tj.tune` on the digits recipe: trials as real runs, the study's files and report, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml

from tujie.cli import main
from tujie.errors import ConfigError
from tujie.runner import resolve_config
from tujie.runner.tuning import tune

FAST = ["epochs=3", "limit=400"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune")
    return tune("digits-mlp", [*FAST, f"output_dir={out}"], trials=5, sampler="random", pruner="none", verbose=0, lang="en")


def test_every_trial_is_a_run_and_the_study_keeps_them(study):
    rows = json.loads((study.study_dir / "study.json").read_text())
    assert rows["counts"]["complete"] == 5 and len(rows["trials"]) == 5
    for row in rows["trials"]:
        run_dir = Path(row["run_dir"])
        assert run_dir.parent == study.study_dir / "trials" and (run_dir / "summary.json").is_file()
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert config["tune"] is None and config["train"]["epochs"] == 3  # a plain run, with the --set overrides
        assert config["optimizer"]["lr"] == pytest.approx(row["params"]["optimizer.lr"])
        history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        assert row["value"] == pytest.approx(max(h["val_accuracy"] for h in history))  # the objective: the best epoch
        assert not (run_dir / "report.html").exists()  # trials stay light
    storage = optuna.load_study(study_name="digits-mlp", storage=f"sqlite:///{study.study_dir / 'study.db'}")
    assert storage.best_trial.number == study.best["number"] and storage.best_value == pytest.approx(study.best["value"])


def test_the_best_trial_comes_with_a_command_that_reproduces_it(study):
    assert study.best_set_line.startswith("tujie run digits-mlp --set epochs=3 --set limit=400 --set optimizer.lr=")
    assert "output_dir" not in study.best_set_line
    overrides = [part.strip("'") for part in study.best_set_line.split(" --set ")[1:]]
    config = resolve_config("digits-mlp", overrides)
    best_run = yaml.safe_load((Path(study.best["run_dir"]) / "config.yaml").read_text())
    assert config.optimizer.lr == best_run["optimizer"]["lr"] and config.model.model_dump()["hidden"] == best_run["model"]["hidden"]
    assert config.train.batch_size == best_run["train"]["batch_size"]


def test_the_study_report_has_every_section_and_the_top_trials_page(study):
    page = (study.study_dir / "study.html").read_text()
    for anchor in ("best", "history", "parallel", "importance", "slices", "pruning", "trials"):
        assert f'id="{anchor}"' in page
    assert page.count("data:image/png;base64,") >= 4 and "top-trials.html" in page
    assert (study.study_dir / "top-trials.html").is_file()
    assert study.best_set_line.replace("'", "&#x27;") in page


def test_the_study_report_in_chinese(study, capsys, untranslated_english):
    assert main(["report", str(study.study_dir), "--lang", "zh"]) == 0  # `tujie report` rebuilds a study's page too
    assert "study.html" in capsys.readouterr().out
    page = (study.study_dir / "study.html").read_text()
    assert "最佳试验" in page and "优化历史" in page and "Optimization history" not in page
    left = untranslated_english(page)
    assert not left, f"untranslated English in the Chinese study report: {left}"
    main(["report", str(study.study_dir), "--lang", "en"])


def test_running_again_continues_the_study_to_more_trials(study):
    more = tune("digits-mlp", [*FAST, f"output_dir={study.study_dir.parent}"], trials=6, sampler="random", pruner="none",
                verbose=0)
    assert more.rows["counts"]["complete"] == 6  # one more, not six more
    with pytest.raises(ConfigError, match="was started with another space"):
        tune("digits-mlp", [*FAST, f"output_dir={study.study_dir.parent}",
                            "tune.space={optimizer.lr: {log_uniform: [1e-3, 1e-2]}}"], trials=7, verbose=0)


def test_median_pruning_stops_poor_trials_and_says_what_it_saved(tmp_path):
    result = tune("digits-mlp", ["epochs=8", "limit=400", f"output_dir={tmp_path}",
                                 "tune.space={optimizer.lr: {log_uniform: [1e-5, 1e-1]}}"],
                  trials=12, sampler="random", pruner="median", verbose=0, report=False)
    pruned = [r for r in result.rows["trials"] if r["state"] == "pruned"]
    assert pruned, "a learning rate of 1e-5 for 8 epochs is far behind: the median pruner stops some trials"
    for row in pruned:
        assert row["epochs_done"] < 8 and json.loads(Path(row["run_dir"], "summary.json").read_text())["status"] == "pruned"
        assert "test" not in json.loads(Path(row["run_dir"], "summary.json").read_text())  # no test for a pruned trial
    assert result.rows["pruning"]["epochs_skipped"] == sum(8 - r["epochs_done"] for r in pruned)


def test_a_journal_file_storage_for_a_shared_file_system(tmp_path):
    result = tune("digits-mlp", [*FAST, f"output_dir={tmp_path}"], trials=2, sampler="random", pruner="none",
                  storage=f"journal:{tmp_path}/study.log", verbose=0, report=False)
    assert result.rows["counts"]["complete"] == 2 and (tmp_path / "study.log").stat().st_size > 0
    assert not (tmp_path / "tune-digits-mlp" / "study.db").exists()


@pytest.mark.parametrize("overrides, words", [
    (["tune.space={optimizer.lrr: {log_uniform: [1e-4, 1e-1]}}"], "Unknown config key 'optimizer.lrr'"),
    (["tune.space={train.batch_size: {choice: []}}"], "empty choice"),
    (["tune.space={optimizer.lr: {log_uniform: [0, 0.1]}}"], "a log scale needs low > 0"),
    (["tune.space={optimizer.lr: {uniform: [0.1, 0.01]}}"], "low ≥ high"),
    (["tune.space={train.batch_size: {choice: [0, 32]}}"], "does not fit the config"),
    (["tune=null"], "has no tune: section"),
    (["validation_split=0"], "needs a validation split"),
])
def test_a_bad_search_is_refused_before_any_trial(tmp_path, overrides, words):
    with pytest.raises(ConfigError, match=words):
        tune("digits-mlp", [*FAST, f"output_dir={tmp_path}", *overrides], trials=2, verbose=0)
    assert not (tmp_path / "tune-digits-mlp" / "trials").exists()


def test_the_command_line_refuses_bad_flags_in_one_paragraph(tmp_path, capsys):
    assert main(["tune", "digits-mlp", "--set", f"output_dir={tmp_path}", "--sampler", "bayes"]) == 2
    assert "Unknown sampler 'bayes'" in capsys.readouterr().err
    assert main(["tune", "digits-mlp", "--set", f"output_dir={tmp_path}", "--storage", "postgresql://ana:pw9@127.0.0.1:9/x"]) == 2
    err = capsys.readouterr().err
    assert "postgresql://ana:***@127.0.0.1:9/x" in err and "pw9" not in err and "Traceback" not in err
    assert main(["tune", "digits-mlp", "--set", f"output_dir={tmp_path}", "--trials", "0"]) == 2
    assert "--trials must be a whole number" in capsys.readouterr().err


def test_the_command_line_runs_a_grid_study(tmp_path, capsys):
    code = main(["tune", "digits-mlp", "--set", "epochs=2", "--set", "limit=300", "--set", f"output_dir={tmp_path}",
                 "--set", "tune.space={train.batch_size: {choice: [32, 64]}}", "--sampler", "grid", "--trials", "5",
                 "--study", "grid-demo"])
    out = capsys.readouterr().out
    assert code == 0 and "The grid has 2 points" in out and "tujie run digits-mlp --set epochs=2 --set limit=300 --set train.batch_size=" in out
    rows = json.loads((tmp_path / "tune-grid-demo" / "study.json").read_text())
    assert sorted(r["params"]["train.batch_size"] for r in rows["trials"]) == [32, 64]
