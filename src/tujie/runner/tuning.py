"""`tujie tune`: hyperparameter search on Optuna, each trial a normal tujie run, one report for the study.

    tujie tune digits-mlp --trials 40 --sampler tpe --pruner median --workers 2
    tujie tune digits-mlp --storage postgresql://ana@db.lab/hpo --study digits   (on every machine)

The search space, the objective and the defaults are the recipe's `tune:` section; `--set`
overrides apply to every trial. A study lives in `OUTPUT_DIR/tune-STUDY/`:

    study.db          the Optuna study (SQLite, the default; `--storage` puts it elsewhere)
    trials/trial-0007 each trial's light run directory (config.yaml, metrics.jsonl, checkpoints,
                      summary.json; no report.html: `tujie report` builds one when wanted)
    study.json        every trial of the study (from whichever machine ran it) as plain rows
    study.html        the study's report; top-trials.html compares its best trials' runs

Trials per study: `--trials` counts the finished (complete, pruned or failed) trials of the whole
study, over every worker and machine. Each worker asks for trials until that many are finished
or running, then waits for the running ones: a worker killed mid-trial leaves a trial whose
heartbeat stops; it is marked failed and a copy with the same parameters is run (RDB storages).
Running `tujie tune` again with the same study continues it (asking for more `--trials`).

Example:
    >>> import tujie as tj
    >>> result = tj.tune("digits-mlp", ["epochs=3"], trials=4, sampler="random", verbose=0)  # doctest: +SKIP
    >>> result.best_set_line  # doctest: +SKIP
    "tujie run digits-mlp --set optimizer.lr=0.0042 --set 'model.hidden=[128]'"
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .. import kinds
from .._io import write_json
from ..config import ALIASES
from ..errors import ConfigError
from ..i18n import _, language
from . import resolve_config, run
from ..search.engine import (HEARTBEAT_S, PRUNERS, SAMPLERS, PruningCallback, grid_size, hide_password, make_pruner, make_sampler,
                            open_storage, quiet_optuna, storage_url)
from ..search.history import snapshot
from ..search.space import override_line, parse_space, set_line, shown_values

STUDY_FILE, TOP_TRIALS = "study.json", "top-trials.html"
_STORAGE_ENV = "TUJIE_TUNE_STORAGE"  # how a worker process gets the storage URL: never on a command line (ps shows it)
_DONE_STATUSES = ("diverged", "failed")  # failed trials that count as finished (a killed worker's do not: they are retried)


@dataclass
class StudyResult:
    """What `tune` leaves: the study's folder and report, the best trial and its ready `--set` line."""

    study_dir: Path
    study: str
    storage: str  # its URL, password hidden
    metric: str
    direction: str
    best: dict | None
    best_values: dict = field(default_factory=dict)
    best_set_line: str = ""
    report: Path | None = None
    rows: dict = field(default_factory=dict)

    @property
    def best_value_text(self) -> str:
        return f"{self.metric} {self.best['value']:.4f} (trial {self.best['number']})" if self.best else _("no finished trial")


class _TrialFailed(Exception):
    """A trial that ran but did not finish (diverged): recorded as failed, the study goes on."""


def tune(recipe: str, overrides=(), *, trials: int | None = None, sampler: str | None = None, pruner: str | None = None,
         workers: int = 1, storage: str | None = None, study: str | None = None, seed: int | None = None,
         heartbeat_s: int = HEARTBEAT_S, verbose: int = 1, lang: str | None = None, report: bool = True) -> StudyResult:
    """Run (or join, or continue) a hyperparameter search over a recipe's `tune:` space.

    Args:
        recipe: a recipe name or YAML file with a `tune:` section.
        overrides: `--set` strings applied to every trial (e.g. ["epochs=10"]).
        trials: finished trials wanted in the whole study (default: tune.trials).
        sampler: grid, random, tpe or gp (default: tune.sampler).
        pruner: none, median or hyperband (default: tune.pruner).
        workers: processes on this machine working on the study together.
        storage: None (SQLite in the study's folder), an RDB URL or journal:FILE; workers on other
            machines pass the same URL and study name.
        study: the study's name (default: the recipe's name).
        seed: the sampler's seed (default: the recipe's seed).
        heartbeat_s: seconds between a running trial's heartbeats (RDB storages).
        verbose: 0 prints nothing; 1 one line per trial.
        lang: the language of the lines printed and of the report ("zh", "en").
        report: False leaves study.html out (extra workers: the first one writes it).
    """
    with language(lang):
        return _tune(recipe, tuple(overrides), trials, sampler, pruner, workers, storage, study, seed, heartbeat_s, verbose, report)


def _tune(recipe, overrides, trials, sampler, pruner, workers, storage, study, seed, heartbeat_s, verbose, report) -> StudyResult:
    say = print if verbose else (lambda *a, **k: None)
    quiet_optuna()
    config = resolve_config(recipe, overrides)
    settings = _settings(config, trials, sampler, pruner, workers, study, seed)
    space = parse_space(settings["space"], _schema_check(config))
    storage = storage if storage is not None else os.environ.get(_STORAGE_ENV)
    study_dir = Path(config.output_dir) / f"tune-{settings['study']}"
    storage_obj = open_storage(storage, study_dir, heartbeat_s=heartbeat_s)
    url = storage_url(storage, study_dir)
    shown = hide_password(url)
    total = settings["trials"]
    if settings["sampler"] == "grid" and total > (size := grid_size(space, settings["grid_points"])):
        say(_("The grid has {size} points: the study stops after {size} trials, not {trials}.").format(size=size, trials=total))
        total = size
    the_study = _open_study(settings, space, storage_obj, shown, config)
    say(_("Study {study}: {trials} trials, sampler {sampler}, pruner {pruner}, storage {storage}").format(
        study=settings["study"], trials=total, sampler=settings["sampler"], pruner=settings["pruner"], storage=shown))
    study_dir.mkdir(parents=True, exist_ok=True)

    objective = _Objective(recipe, overrides, space, settings["metric"], settings["direction"], study_dir / "trials",
                           config.train.epochs, say)
    helpers = _start_workers(workers - 1, recipe, overrides, settings, url, heartbeat_s)
    threads = _share_threads(workers)
    try:
        _work(the_study, objective, total, heartbeat_s)
    finally:
        threads()
        for process in helpers:
            if process.wait() != 0:
                say(_("A worker process ended with exit code {code}; its trials are marked failed and retried.").format(
                    code=process.returncode))
    rows = snapshot(the_study, space, planned_epochs=config.train.epochs)
    rows.update(recipe=config.recipe, metric=settings["metric"], sampler=settings["sampler"], pruner=settings["pruner"],
                storage=shown, overrides=list(overrides), target_trials=total)
    best_values = {p.key: p.value_of(rows["best"]["params"][p.key]) for p in space if rows["best"] and p.key in rows["best"]["params"]}
    result = StudyResult(study_dir, settings["study"], shown, settings["metric"], settings["direction"], rows["best"], best_values,
                         set_line(recipe, best_values, _kept(overrides)) if best_values else "", rows=rows)
    rows["best_set_line"] = result.best_set_line
    write_json(study_dir / STUDY_FILE, rows)
    if report:
        result.report = write_study_report(study_dir)
        say(_("Study report: {path}").format(path=result.report))
    return result


def write_study_report(study_dir) -> Path:
    """study.html (and top-trials.html, when two or more trials ran here) from the folder's study.json."""
    from ..report.compare import compare_runs
    from ..report.study import render_study

    study_dir = Path(study_dir)
    rows = json.loads((study_dir / STUDY_FILE).read_text(encoding="utf-8"))
    top = [Path(r["run_dir"]) for r in _ranked(rows) if r.get("run_dir") and Path(r["run_dir"]).is_dir()][:5]
    compared = compare_runs(top, output=study_dir / TOP_TRIALS) if len(top) >= 2 else None
    return render_study(study_dir, rows, top_trials=compared)


def _kept(overrides) -> list[str]:
    """The search's `--set` lines that the best trial's command repeats: not where runs go (the user's choice)
    nor the search's own settings (`tujie run` ignores tune:)."""
    keys = [o.split("=", 1)[0].strip() for o in overrides]
    return [o for o, k in zip(overrides, keys) if k not in ("output_dir", "run_name") and k.split(".")[0] != "tune"]


def _ranked(rows: dict) -> list[dict]:
    complete = [r for r in rows["trials"] if r["state"] == "complete" and r["value"] is not None]
    return sorted(complete, key=lambda r: r["value"], reverse=rows["direction"] == "maximize")


def _settings(config, trials, sampler, pruner, workers, study, seed) -> dict:
    """The tune: section with the command line's choices on top; bad ones refused before any trial."""
    if config.tune is None:
        raise ConfigError(f"Recipe {config.recipe!r} has no tune: section, so there is nothing to search.",
                          expected="a tune: section with the search space, e.g.\n  tune:\n    metric: val_accuracy\n    space:\n"
                                   "      optimizer.lr: {log_uniform: [1e-4, 1e-1]}",
                          received=f"recipe {config.recipe!r}",
                          fix="Add a tune: section to a copy of the recipe (digits-mlp has one to start from), "
                              "or pass --set 'tune={space: {optimizer.lr: {log_uniform: [1e-4, 1e-1]}}}'.")
    t = config.tune
    chosen = {"sampler": sampler or t.sampler, "pruner": pruner or t.pruner}
    for what, value, allowed in (("sampler", chosen["sampler"], SAMPLERS), ("pruner", chosen["pruner"], PRUNERS)):
        if value not in allowed:
            raise ConfigError(f"Unknown {what} {value!r}.", expected=f"one of {', '.join(allowed)}", received=f"--{what} {value}",
                              fix=f"Pass --{what} {allowed[-1] if what == 'sampler' else 'median'}.")
    total = t.trials if trials is None else trials
    for what, value in (("--trials", total), ("--workers", workers)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{what} must be a whole number of at least 1.", expected="an integer >= 1",
                              received=f"{what} {value}", fix=f"Pass {what} 20 (for example).")
    name = study or config.recipe
    if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ConfigError(f"The study name {name!r} cannot be a folder name.", expected="a plain name (no '/', '\\', '..')",
                          received=f"--study {name}", fix="Pass --study digits-search (for example).")
    if t.metric.startswith("val_") and config.data.validation_split == 0:
        raise ConfigError(f"The objective {t.metric} needs a validation split, and data.validation_split is 0.",
                          expected="data.validation_split > 0 for a val_ metric", received=f"tune.metric={t.metric}",
                          fix="Set --set validation_split=0.2, or tune on test_accuracy (which then is no longer a fair test).")
    return {"space": t.space, "metric": t.metric, "direction": t.direction, "trials": total, "sampler": chosen["sampler"],
            "pruner": chosen["pruner"], "grid_points": t.grid_points, "study": name, "seed": config.seed if seed is None else seed}


def _schema_check(config):
    """check(key, value) for `parse_space`: the value set in the recipe's config must pass its schema."""
    base = config.model_dump(mode="json")
    aliases = {**ALIASES, **kinds.aliases()}

    def check(key: str, value) -> str:
        canonical = aliases.get(key, key)
        if canonical.split(".")[0] == "tune":
            raise ConfigError(f"The search space names {key!r}, a key of the search itself.", expected="keys of the run's config",
                              received=f"tune.space.{key}", fix="Search keys such as optimizer.lr, train.batch_size or model.hidden.")
        try:
            kinds.validate(kinds.apply_overrides(base, [override_line(canonical, value)]))
        except ConfigError as e:
            raise ConfigError(f"The search space entry tune.space.{key} does not fit the config: {e.what}",
                              expected=e.expected, received=f"{canonical}={value!r}",
                              fix="Change the range or the choices so every value is valid, or search another key.") from None
        return canonical

    return check


def _open_study(settings, space, storage, shown: str, config):
    """Create the study, or join it: a study of the same name must search the same space the same way."""
    import optuna

    signature = {"recipe": config.recipe, "metric": settings["metric"], "direction": settings["direction"],
                 "space": {p.key: [p.kind, p.low, p.high, p.step, list(p.choices)] for p in space}}
    try:
        study = optuna.create_study(study_name=settings["study"], storage=storage, direction=settings["direction"],
                                    sampler=make_sampler(settings["sampler"], space, seed=settings["seed"],
                                                         grid_points=settings["grid_points"]),
                                    pruner=make_pruner(settings["pruner"], epochs=config.train.epochs), load_if_exists=True)
    except ValueError as e:  # e.g. the stored study optimises in the other direction
        raise ConfigError(f"Cannot join study {settings['study']!r} in {shown}: {e}", expected="the study's own settings",
                          fix="Pass another --study name for a new study.") from None
    stored, plain = study.user_attrs.get("tujie"), json.loads(json.dumps(signature))  # as the storage keeps it (lists, not tuples)
    if stored is None:
        study.set_user_attr("tujie", plain)
    elif stored != plain:
        differ = [k for k in plain if stored.get(k) != plain[k]]
        raise ConfigError(f"Study {settings['study']!r} in {shown} was started with another {', '.join(differ)}.",
                          expected=f"the same {', '.join(differ)} as the study's first worker",
                          received=f"{', '.join(f'{k}={signature[k]!r}' for k in differ)}; the study has "
                                   f"{', '.join(f'{k}={stored.get(k)!r}' for k in differ)}",
                          fix="Pass another --study name for a new study, or use the same recipe and tune: section.")
    return study


class _Objective:
    """One trial: draw the values, run the recipe with them as `--set` lines, return the objective."""

    def __init__(self, recipe, overrides, space, metric, direction, trials_dir: Path, epochs: int, say):
        self.recipe, self.overrides, self.space = recipe, overrides, space
        self.metric, self.direction, self.trials_dir, self.epochs, self.say = metric, direction, trials_dir, epochs, say

    def __call__(self, trial) -> float:
        import optuna

        values = {p.key: p.suggest(trial) for p in self.space}
        name = f"trial-{trial.number:04d}"
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")  # which process: a killed one is found by it
        trial.set_user_attr("epochs_planned", self.epochs)
        pruning = PruningCallback(trial, self.metric)
        lines = [*self.overrides, *(override_line(k, v) for k, v in values.items()),
                 f"output_dir={self.trials_dir}", f"run_name={name}", "tune="]
        started = time.perf_counter()
        result = run(self.recipe, lines, verbose=0, callbacks=[pruning], report=False)
        summary = result.summary
        trial.set_user_attr("run_dir", str(result.run_dir.resolve()))
        trial.set_user_attr("status", summary["status"])
        trial.set_user_attr("epochs_done", summary.get("epochs_done", len(pruning.values) or None))
        if isinstance(summary.get("test"), dict):
            trial.set_user_attr("test", {k: v for k, v in summary["test"].items() if isinstance(v, (int, float))})
        shown = shown_values(values)
        seconds = time.perf_counter() - started
        if summary["status"] == "pruned":
            self.say(_("Trial {n}: pruned after epoch {epoch} ({values}) {seconds:.1f} s").format(
                n=trial.number, epoch=pruning.pruned_at, values=shown, seconds=seconds))
            raise optuna.TrialPruned(summary.get("message"))
        if summary["status"] == "interrupted":
            raise KeyboardInterrupt
        if summary["status"] != "finished":
            trial.set_user_attr("message", summary.get("message"))
            self.say(_("Trial {n}: {status} ({values})").format(n=trial.number, status=_(summary["status"]), values=shown))
            raise _TrialFailed(summary.get("message") or summary["status"])
        value = self._value(summary, pruning)
        self.say(_("Trial {n}: {metric} {value:.4f} ({values}) {seconds:.1f} s").format(
            n=trial.number, metric=self.metric, value=value, values=shown, seconds=seconds))
        return value

    def _value(self, summary: dict, pruning: PruningCallback) -> float:
        """The best epoch's value of a per-epoch metric; else test_<metric> or a results key of the summary."""
        if pruning.values:
            return (max if self.direction == "maximize" else min)(pruning.values)
        test, results = summary.get("test") or {}, summary.get("results") or {}
        if self.metric.startswith("test_") and self.metric[5:] in test:
            return float(test[self.metric[5:]])
        if self.metric in results:
            return float(results[self.metric])
        known = sorted({*(f"test_{k}" for k in test), *results})
        raise ConfigError(f"The objective {self.metric!r} is not among what the trial's run reports.",
                          expected=f"a per-epoch metric (val_accuracy, val_loss ...) or one of {', '.join(known) or 'none'}",
                          received=f"tune.metric={self.metric}", fix="Set tune.metric in the recipe to one of these.")


def _work(study, objective, total: int, heartbeat_s: int) -> None:
    """Ask for trials until `total` are finished or running over the whole study; then wait for the running ones,
    failing (and so retrying) those whose worker died (RDB storages: they have heartbeats)."""
    import optuna
    from optuna.trial import TrialState

    def finished(trials):
        return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED)
                   or (t.state == TrialState.FAIL and t.user_attrs.get("status") in _DONE_STATUSES) for t in trials)

    while True:
        with warnings.catch_warnings():  # "experimental" in Optuna's words
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial: failed, and a copy enqueued (waiting)
        trials = study.get_trials(deepcopy=False)
        waiting = any(t.state == TrialState.WAITING for t in trials)
        running = sum(t.state == TrialState.RUNNING for t in trials)
        if waiting or finished(trials) + running < total:
            study.optimize(objective, n_trials=1, catch=(_TrialFailed,))  # a waiting copy is taken first
        elif running and isinstance(study._storage, optuna.storages.RDBStorage):
            time.sleep(min(heartbeat_s, 2))  # another worker's trial: it finishes, or its heartbeat goes stale
            # (a journal storage has no heartbeat: a dead worker's trial would be waited for forever, so leave)
        else:
            return


def _start_workers(count: int, recipe, overrides, settings, url: str, heartbeat_s: int) -> list:
    """`count` more `tujie tune` processes on this study; the URL travels in the environment, not on the command line."""
    if count <= 0:
        return []
    env = {**os.environ, _STORAGE_ENV: url, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // (count + 1)))}
    command = [sys.executable, "-m", "tujie.cli", "tune", recipe, *(a for o in overrides for a in ("--set", o)),
               "--trials", str(settings["trials"]), "--sampler", settings["sampler"], "--pruner", settings["pruner"],
               "--study", settings["study"], "--heartbeat", str(heartbeat_s),
               "--quiet", "--no-report"]
    # each worker its own sampler seed: with one seed, random and TPE's start-up trials would repeat in every worker
    return [subprocess.Popen([*command, "--seed", str(settings["seed"] + i)], env=env) for i in range(1, count + 1)]


def _share_threads(workers: int):
    """Give this process its share of the cores while other workers run; returns the undo."""
    import torch

    before = torch.get_num_threads()
    if workers > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    return lambda: torch.set_num_threads(before)


__all__ = ["tune", "StudyResult", "write_study_report"]
