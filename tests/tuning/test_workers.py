"""Two `tujie tune` worker processes on one study, one killed mid-trial: on SQLite and on a real PostgreSQL server.

The killed worker's trial stops sending heartbeats; the other worker marks it failed after the
grace period (3 heartbeats of 1 s here) and runs a copy with the same values. At the end every
trial is accounted for (finished, or failed with a finished retry), and the study's best trial
is the best row of the database, read with SQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import optuna
import pytest
import sqlalchemy

from tujie.search.engine import open_storage, quiet_optuna
from tujie.runner.tuning import tune

TRIALS = 5
pytestmark = pytest.mark.slow


def _worker(tmp_path, study: str, url: str | None, seed: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if url:
        env["TUJIE_TUNE_STORAGE"] = url  # as `--workers` passes it: never on the command line
    command = [sys.executable, "-m", "tujie.cli", "tune", "digits-mlp", "--set", "epochs=40", "--set", "limit=600",
               "--set", f"output_dir={tmp_path}", "--trials", str(TRIALS), "--sampler", "random", "--pruner", "none",
               "--study", study, "--seed", str(seed), "--heartbeat", "1", "--quiet", "--no-report"]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def _running_trial_of(study_handle, pid: int, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for trial in study_handle.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if str(trial.user_attrs.get("worker", "")).endswith(f":{pid}"):
                return trial
        time.sleep(0.1)
    raise AssertionError(f"worker {pid} never started a trial")


def _kill_one_worker_mid_trial(tmp_path, study: str, url: str):
    quiet_optuna()
    first = _worker(tmp_path, study, url, seed=0)
    storage = open_storage(url, tmp_path)
    deadline = time.monotonic() + 60
    while True:  # the first worker creates the study
        try:
            handle = optuna.load_study(study_name=study, storage=storage)
            break
        except KeyError:
            assert time.monotonic() < deadline and first.poll() is None, first.stderr.read() if first.poll() else "no study"
            time.sleep(0.2)
    second = _worker(tmp_path, study, url, seed=1)
    killed = _running_trial_of(handle, first.pid)
    first.kill()  # SIGKILL mid-trial: no clean-up runs in that process
    first.wait()
    assert second.wait(timeout=240) == 0, second.stderr.read()
    return handle, killed


def _check_every_trial_accounted_for(handle, killed, url: str):
    trials = handle.get_trials(deepcopy=False)
    states = [t.state for t in trials]
    assert optuna.trial.TrialState.RUNNING not in states and optuna.trial.TrialState.WAITING not in states
    assert sum(s == optuna.trial.TrialState.COMPLETE for s in states) == TRIALS
    lost = handle.get_trials(deepcopy=False)[killed.number]
    assert lost.state == optuna.trial.TrialState.FAIL  # the killed worker's trial, failed by the other worker
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].state == optuna.trial.TrialState.COMPLETE
    assert retries[0].params == killed.params  # the same values, run again
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as db:  # the best row, straight from the database
        best = db.execute(sqlalchemy.text(
            "SELECT t.number, v.value FROM trials t JOIN trial_values v ON v.trial_id = t.trial_id "
            "JOIN studies s ON s.study_id = t.study_id WHERE s.study_name = :name AND t.state = 'COMPLETE' "
            "ORDER BY v.value DESC, t.number LIMIT 1"), {"name": handle.study_name}).one()
    engine.dispose()
    assert (handle.best_trial.number, handle.best_value) == (best.number, pytest.approx(best.value))


def _report_names_the_retry(tmp_path, study: str, url: str, killed):
    result = tune("digits-mlp", ["epochs=40", "limit=600", f"output_dir={tmp_path}"], trials=TRIALS, sampler="random",
                  pruner="none", storage=url, study=study, verbose=0)  # every trial is done: this only writes the report
    assert result.rows["counts"]["fail"] == 1 and result.best["number"] == optuna.load_study(
        study_name=study, storage=open_storage(url, tmp_path)).best_trial.number
    page = (result.study_dir / "study.html").read_text()
    assert f"(retry of {killed.number})" in page and "s3cret" not in page


def test_sqlite_two_workers_one_killed_mid_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'tune-killed' / 'study.db'}"
    (tmp_path / "tune-killed").mkdir()
    handle, killed = _kill_one_worker_mid_trial(tmp_path, "killed", url)
    _check_every_trial_accounted_for(handle, killed, url)
    _report_names_the_retry(tmp_path, "killed", url, killed)


def test_postgresql_two_workers_one_killed_mid_trial(tmp_path, postgres_url):
    handle, killed = _kill_one_worker_mid_trial(tmp_path, "killed-pg", postgres_url)
    _check_every_trial_accounted_for(handle, killed, postgres_url)
    _report_names_the_retry(tmp_path, "killed-pg", postgres_url, killed)


def test_workers_flag_shares_the_study_between_processes(tmp_path):
    result = tune("digits-mlp", ["epochs=60", "limit=600", f"output_dir={tmp_path}"], trials=6, sampler="random",
                  pruner="none", workers=2, verbose=0, report=False)
    rows = result.rows["trials"]
    assert result.rows["counts"]["complete"] == 6 and len(rows) == 6
    study = optuna.load_study(study_name="digits-mlp", storage=f"sqlite:///{result.study_dir / 'study.db'}")
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert len(workers) == 2  # this process and the one it started, each with trials of its own
    assert len({json_key(t.params) for t in study.trials}) == 6  # own sampler seeds: no draw repeated


def json_key(params: dict) -> str:
    import json

    return json.dumps(params, sort_keys=True)
