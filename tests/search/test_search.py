"""The search domain: spaces refused before any trial, grids, `--set` lines, storages, pruning, study rows."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
import yaml

from tujie.errors import ConfigError
from tujie.search.engine import PruningCallback, hide_password, make_pruner, make_sampler, open_storage, quiet_optuna
from tujie.search.history import best_so_far, pruning_savings, snapshot
from tujie.search.space import Param, parse_space, set_line, yaml_value

quiet_optuna()


@pytest.mark.parametrize("spec, words", [
    ({"optimizer.lr": {"log_uniform": [0.0, 0.1]}}, "a log scale needs low > 0"),
    ({"optimizer.lr": {"uniform": [0.1, 0.01]}}, "low ≥ high"),
    ({"optimizer.lr": {"uniform": [0.1, 0.1]}}, "low ≥ high"),
    ({"train.batch_size": {"choice": []}}, "empty choice"),
    ({"train.batch_size": {"choice": [32, 32]}}, "lists a value twice"),
    ({"train.batch_size": {"int": [16, 64.5]}}, "fractional end"),
    ({"optimizer.lr": {"loguniform": [1e-4, 1e-1]}}, "exactly one distribution"),
    ({"optimizer.lr": {"uniform": [1e-4, 1e-1], "choice": [1]}}, "exactly one distribution"),
    ({"optimizer.lr": [1e-4, 1e-1]}, "is not a distribution"),
    ({"optimizer.lr": {"uniform": ["a", 1]}}, "two numbers"),
    ({"optimizer.lr": {"log_uniform": [1e-4, 1e-1], "step": 0.01}}, "log range takes no step"),
    ({}, "is empty"),
])
def test_bad_spaces_are_refused_with_the_key_named(spec, words):
    with pytest.raises(ConfigError) as caught:
        parse_space(spec)
    message = str(caught.value)
    assert words in message
    if spec:
        assert f"tune.space.{next(iter(spec))}" in message


def test_yaml_reads_1e_4_as_text_and_the_space_takes_it_as_a_number():
    space = parse_space(yaml.safe_load("optimizer.lr: {log_uniform: [1e-4, 1e-1]}"))
    assert (space[0].low, space[0].high) == (1e-4, 0.1)


def test_a_check_names_the_canonical_key_and_can_refuse_a_value():
    def check(key, value):
        if value == 0:
            raise ConfigError("batch_size must be >= 1")
        return {"bs": "train.batch_size"}.get(key, key)

    assert parse_space({"bs": {"choice": [16, 32]}}, check)[0].key == "train.batch_size"
    with pytest.raises(ConfigError, match="batch_size must be >= 1"):
        parse_space({"bs": {"choice": [0, 32]}}, check)


def test_grids_cover_the_range_and_every_choice():
    assert Param("x", "log_uniform", 1e-4, 1e-1).grid(4) == [1e-4, 0.001, 0.01, 0.1]
    assert Param("x", "uniform", 0.0, 1.0).grid(3) == [0.0, 0.5, 1.0]
    assert Param("x", "int", 1, 3).grid(5) == [1, 2, 3]  # fewer integers than points: each once
    assert Param("x", "int", 0, 100, step=10).grid(3) == [0, 50, 100]
    assert Param("h", "choice", choices=([64], [128, 64])).grid(2) == ["[64]", "[128, 64]"]


def test_list_choices_come_back_as_lists_from_optuna():
    space = parse_space({"model.hidden": {"choice": [[64], [128, 64]]}, "optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
                         "train.batch_size": {"int": [16, 128], "step": 16}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = []
    for _ in range(20):
        trial = study.ask()
        values = {p.key: p.suggest(trial) for p in space}
        seen.append(values)
        study.tell(trial, 0.0)
    assert all(v["model.hidden"] in ([64], [128, 64]) for v in seen)
    assert {tuple(v["model.hidden"]) for v in seen} == {(64,), (128, 64)}
    assert all(1e-4 <= v["optimizer.lr"] <= 0.1 and v["train.batch_size"] % 16 == 0 for v in seen)
    assert space[0].value_of(study.trials[0].params["model.hidden"]) in ([64], [128, 64])


@pytest.mark.parametrize("value", [1e-5, 0.003, [256, 128], "adam", 32, True, None, {"patience": 3}])
def test_set_values_read_back_unchanged(value):
    assert yaml.safe_load(yaml_value(value)) == value


def test_the_best_trial_becomes_a_ready_command():
    line = set_line("digits-mlp", {"optimizer.lr": 1e-05, "model.hidden": [256, 128]})
    assert line == "tujie run digits-mlp --set optimizer.lr=1.0e-05 --set 'model.hidden=[256, 128]'"


def test_the_grid_sampler_tries_every_point_once():
    space = parse_space({"a": {"choice": [1, 2, 3]}, "b": {"uniform": [0.0, 1.0]}})
    study = optuna.create_study(sampler=make_sampler("grid", space, seed=0, grid_points=2))
    study.optimize(lambda t: sum(p.suggest(t) for p in space), n_trials=6)
    assert sorted((t.params["a"], t.params["b"]) for t in study.trials) == [(a, b) for a in (1, 2, 3) for b in (0.0, 1.0)]


def test_samplers_and_pruners_by_name_and_unknown_names_refused():
    space = parse_space({"x": {"uniform": [0.0, 1.0]}})
    assert [type(make_sampler(n, space, seed=0)).__name__ for n in ("random", "tpe", "gp")] == [
        "RandomSampler", "TPESampler", "GPSampler"]
    assert type(make_pruner("median", epochs=30)).__name__ == "MedianPruner"
    assert type(make_pruner("none", epochs=3)).__name__ == "NopPruner"
    with pytest.raises(ConfigError, match="Unknown sampler 'bayes'"):
        make_sampler("bayes", space, seed=0)
    with pytest.raises(ConfigError, match="Unknown pruner"):
        make_pruner("asha", epochs=3)


def test_passwords_never_appear_in_what_is_printed():
    assert hide_password("postgresql://ana:s3cret@db:5432/hpo") == "postgresql://ana:***@db:5432/hpo"
    assert hide_password("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_an_unreachable_database_is_named_without_its_password(tmp_path):
    with pytest.raises(ConfigError) as caught:
        open_storage("postgresql://ana:s3cret@127.0.0.1:9/hpo", tmp_path)  # port 9: nothing listens
    message = str(caught.value)
    assert "postgresql://ana:***@127.0.0.1:9/hpo" in message and "s3cret" not in message
    assert "Cannot open the study storage" in message


def test_storage_urls_that_are_not_storages_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        open_storage(f"journal:{tmp_path}/missing/study.log", tmp_path)
    with pytest.raises(ConfigError, match="not a database URL"):
        open_storage("my-study", tmp_path)
    with pytest.raises(ConfigError, match="Cannot open the study storage"):
        open_storage("nosuchdb://x/y", tmp_path)


def test_sqlite_and_journal_storages_open(tmp_path):
    sqlite = open_storage(None, tmp_path / "study")
    assert (tmp_path / "study").is_dir() and type(sqlite).__name__ == "RDBStorage"
    journal = open_storage(f"journal:{tmp_path}/study.log", tmp_path)
    study = optuna.create_study(storage=journal, study_name="j")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(optuna.load_study(study_name="j", storage=journal).trials) == 2


class _Learner:
    stop_training, stop_status, stop_reason = False, None, None


def test_the_pruning_callback_reports_every_epoch_and_stops_a_poor_trial():
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.5))
    trial = study.ask()
    callback, learner = PruningCallback(trial, "val_accuracy"), _Learner()
    callback.on_epoch_end(learner, 1, {"val_accuracy": 0.7})
    assert not learner.stop_training and trial.storage.get_trial(trial._trial_id).intermediate_values == {1: 0.7}
    callback.on_epoch_end(learner, 2, {"loss": 1.0})  # the metric absent this epoch: nothing reported
    callback.on_epoch_end(learner, 3, {"val_accuracy": 0.3})
    assert learner.stop_training and learner.stop_status == "pruned" and callback.pruned_at == 3
    assert "pruned after epoch 3" in learner.stop_reason and callback.values == [0.7, 0.3]


def test_pruning_callback_stops_a_real_fit():
    import tujie as tj

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0))  # nothing reaches 2
    trial = study.ask()
    x, y = np.random.default_rng(0).normal(size=(64, 4)).astype("float32"), np.arange(64) % 2
    learner = tj.Learner(tj.Sequential([tj.layers.Dense(2)]), loss="cross_entropy", metrics=["accuracy"],
                         callbacks=[PruningCallback(trial, "val_accuracy")])
    learner.fit((x, y), epochs=5, validation_data=(x, y), verbose=0)
    assert learner.epoch == 1 and learner.stop_status == "pruned"


def test_rows_of_a_study_and_what_pruning_saved():
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(seed=1))

    def objective(trial):
        x = trial.suggest_float("x", -2, 2)
        trial.set_user_attr("epochs_planned", 10)
        trial.set_user_attr("epochs_done", 2 if x > 0 else 10)
        if x > 0:
            trial.report(x * x, 2)
            raise optuna.TrialPruned()
        return x * x

    study.optimize(objective, n_trials=12)
    rows = snapshot(study, parse_space({"x": {"uniform": [-2, 2]}}))
    assert rows["best"]["number"] == study.best_trial.number and rows["best"]["value"] == study.best_value
    pruned = [r for r in rows["trials"] if r["state"] == "pruned"]
    assert rows["counts"]["pruned"] == len(pruned) > 0 and rows["pruning"]["epochs_skipped"] == 8 * len(pruned)
    assert 0 <= rows["pruning"]["fraction_saved"] < 1  # its durations are milliseconds of noise: the slope is tested below
    assert set(rows["importances"]) == {"x"} and math.isclose(sum(rows["importances"].values()), 1.0)
    assert best_so_far([3.0, None, 1.0, 2.0], "minimize") == [3.0, 3.0, 1.0, 1.0]
    assert pruning_savings([]) == {"pruned": 0, "epochs_skipped": 0, "seconds_saved": 0.0, "seconds_spent": 0,
                                   "seconds_per_epoch": None, "fraction_saved": 0.0}


def test_one_epoch_costs_the_slope_of_trial_time_against_epochs():
    # 2 s of start-up and 0.5 s an epoch: a trial pruned after 2 epochs took 3 s, one of 10 epochs 7 s
    rows = [{"state": "complete", "epochs_done": 10, "epochs_planned": 10, "duration_s": 7.0},
            {"state": "complete", "epochs_done": 10, "epochs_planned": 10, "duration_s": 7.0},
            {"state": "pruned", "epochs_done": 2, "epochs_planned": 10, "duration_s": 3.0},
            {"state": "pruned", "epochs_done": 4, "epochs_planned": 10, "duration_s": 4.0}]
    saved = pruning_savings(rows)
    assert saved["seconds_per_epoch"] == pytest.approx(0.5)
    assert saved["epochs_skipped"] == 14 and saved["seconds_saved"] == pytest.approx(7.0)
    assert saved["fraction_saved"] == pytest.approx(7.0 / (21.0 + 7.0))
