"""A study as plain numbers: the rows `study.json` keeps and the study report draws.

`snapshot(study, space)` reads every trial from the storage (whatever machine ran it) into JSON-ready
rows, with the best trial, the fANOVA parameter importances (Optuna's evaluator) and what pruning
saved; `best_so_far` is the running best that the history plot and the sampler comparison draw.

Example:
    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    >>> study.optimize(lambda t: -(t.suggest_float("x", -1, 1) ** 2), n_trials=5)
    >>> rows = snapshot(study)
    >>> rows["counts"]["complete"], rows["best"]["number"] == study.best_trial.number
    (5, True)
    >>> best_so_far([0.2, 0.5, 0.3, 0.6], "maximize")
    [0.2, 0.5, 0.5, 0.6]
"""

from __future__ import annotations

import math
import warnings


def best_so_far(values, direction: str) -> list[float]:
    """The best value seen after each trial (NaN until the first finite one)."""
    out, best = [], math.nan
    better = max if direction == "maximize" else min
    for value in values:
        if value is not None and math.isfinite(value):
            best = value if math.isnan(best) else better(best, value)
        out.append(best)
    return out


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def trial_row(trial, planned_epochs: int | None = None) -> dict:
    """One trial as a JSON-ready mapping: state, value, params, per-epoch values, time, where it ran."""
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    steps = sorted(trial.intermediate_values)
    attrs = trial.user_attrs
    return {
        "number": trial.number, "state": trial.state.name.lower(), "value": _plain(trial.value),
        "params": dict(trial.params), "intermediate": {str(s): _plain(trial.intermediate_values[s]) for s in steps},
        "last_value": _plain(trial.intermediate_values[steps[-1]]) if steps else None,
        "epochs_done": attrs.get("epochs_done", len(steps) or None), "epochs_planned": attrs.get("epochs_planned", planned_epochs),
        "duration_s": duration, "status": attrs.get("status"), "message": attrs.get("message"),
        "run_dir": attrs.get("run_dir"), "host": attrs.get("host"), "test": attrs.get("test"),
        "retry_of": trial.system_attrs.get("failed_trial"),
        "started": trial.datetime_start.isoformat(timespec="seconds") if trial.datetime_start else None,
    }


def epoch_pace(rows: list[dict]) -> float | None:
    """Seconds one more epoch costs a trial: the slope of a least-squares line through (epochs done, trial time)
    over the finished and pruned trials. The intercept is each trial's start-up (reading the data, building the
    model), which a pruned trial pays too; None when the trials did not stop at two different epochs."""
    points = [(r["epochs_done"], r["duration_s"]) for r in rows
              if r["state"] in ("complete", "pruned") and r.get("epochs_done") and r.get("duration_s") is not None]
    if len({e for e, _ in points}) < 2:
        return None
    n = len(points)
    mean_e, mean_t = sum(e for e, _ in points) / n, sum(t for _, t in points) / n
    slope = sum((e - mean_e) * (t - mean_t) for e, t in points) / sum((e - mean_e) ** 2 for e, _ in points)
    return max(slope, 0.0)


def pruning_savings(rows: list[dict]) -> dict:
    """What pruning saved: the epochs the pruned trials did not train, at `epoch_pace` (else, without two
    different stopping epochs, at each pruned trial's own time per epoch)."""
    pruned = [r for r in rows if r["state"] == "pruned"]
    pace = epoch_pace(rows)
    skipped = saved = 0.0
    for r in pruned:
        done, planned, seconds = r.get("epochs_done"), r.get("epochs_planned"), r.get("duration_s")
        if done and planned and planned > done and (pace is not None or seconds is not None):
            skipped += planned - done
            saved += (planned - done) * (pace if pace is not None else seconds / done)
    spent = sum(r["duration_s"] or 0.0 for r in rows)
    return {"pruned": len(pruned), "epochs_skipped": int(skipped), "seconds_saved": saved, "seconds_spent": spent,
            "seconds_per_epoch": pace, "fraction_saved": saved / (spent + saved) if spent + saved > 0 else 0.0}


def importances(study, seed: int = 0) -> dict[str, float]:
    """fANOVA importance of each parameter (sums to 1); empty when there is too little to tell
    (fewer than two finished trials, or no parameter that varied)."""
    import optuna

    finished = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(finished) < 2:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed))
    except (RuntimeError, ValueError):  # e.g. every finished trial drew the same value
        return {}
    return {k: float(v) for k, v in found.items()}


def snapshot(study, space=(), *, planned_epochs: int | None = None) -> dict:
    """Everything the study report needs, as JSON-ready data (see the module docstring)."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    rows = [trial_row(t, planned_epochs) for t in trials]
    direction = "maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
    counts = {state: sum(r["state"] == state for r in rows) for state in ("complete", "pruned", "fail", "running", "waiting")}
    complete = [r for r in rows if r["state"] == "complete" and r["value"] is not None]
    best = (max if direction == "maximize" else min)(complete, key=lambda r: r["value"]) if complete else None
    return {
        "study": study.study_name, "direction": direction, "trials": rows, "counts": counts, "best": best,
        "space": [{"key": p.key, "kind": p.kind, "low": p.low, "high": p.high, "step": p.step, "choices": list(p.choices)}
                  for p in space],
        "importances": importances(study), "pruning": pruning_savings(rows),
    }
