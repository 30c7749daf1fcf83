"""The `search_compare` kind: grid, random and Bayesian (TPE) search at the same budget, over seeds (chapter 11).

The recipe's `tune:` section gives the search space and the objective; `search_compare:` the
samplers, the budget and the number of seeds. For every sampler and seed an Optuna study (in
memory, no pruner) runs `trials` trainings of the recipe's model on its data, each with one draw
of the space; the best value found after each trial is recorded. The model's own seed stays the
recipe's, so a set of values always scores the same and the curves differ only by the samplers.

Writes search_compare.json; the report draws best-found against trials spent, one line per
sampler (mean over seeds, shaded range), and a table at a few budgets.

Example:
    >>> from tujie import kinds
    >>> kinds.get("search_compare").section
    'search_compare'
"""

from __future__ import annotations

import math
import time

from pydantic import Field

from .._io import write_json
from ..config import Int, Strict
from ..errors import ConfigError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _difference, _e, _fmt, _img, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, apply_overrides, register, validate


class SearchCompareConfig(Strict):
    samplers: list[str] = Field(["grid", "random", "tpe"], min_length=1, description="Optuna samplers to compare: grid, random, tpe, gp")
    trials: Int = Field(20, ge=2, description="the budget: trials per study")
    seeds: Int = Field(5, ge=1, description="studies per sampler, each with its own sampler seed")


def run(context: RunContext) -> dict:
    """For each sampler and seed, one study of `trials` trainings; write search_compare.json."""
    import optuna

    from ..search.engine import SAMPLERS, make_sampler, quiet_optuna
    from ..search.history import best_so_far
    from ..search.space import parse_space

    config, say = context.config, context.say
    section = config.search_compare or SearchCompareConfig()
    if config.tune is None:
        raise ConfigError("A search comparison needs the recipe's tune: section (the space and the objective).",
                          expected="tune: {metric: val_accuracy, space: {optimizer.lr: {log_uniform: [1e-4, 1e-1]}}}",
                          received="no tune: section", fix="Add a tune: section, as digits-search-compare has.")
    unknown = [s for s in section.samplers if s not in SAMPLERS]
    if unknown:
        raise ConfigError(f"Unknown sampler {unknown[0]!r} in search_compare.samplers.", expected=f"among {', '.join(SAMPLERS)}",
                          received=f"search_compare.samplers={section.samplers}", fix="List some of grid, random, tpe and gp.")
    quiet_optuna()
    base = {k: v for k, v in config.model_dump(mode="json").items() if k not in ("tune", "search_compare")}
    base["kind"] = "train"
    space = parse_space(config.tune.space, lambda key, value: _check(base, key, value))
    data, run_dir = context.open()
    metric, direction = config.tune.metric, config.tune.direction
    curves: dict[str, list[list[float]]] = {}
    trials_log: dict[str, list] = {}
    started = time.perf_counter()
    for name in section.samplers:
        curves[name], trials_log[name] = [], []
        for seed in range(section.seeds):
            study = optuna.create_study(direction=direction, pruner=optuna.pruners.NopPruner(),
                                        sampler=make_sampler(name, space, seed=seed, grid_points=config.tune.grid_points))
            study.optimize(lambda trial: _train_once(trial, base, space, data, metric, direction), n_trials=section.trials)
            values = [t.value if t.value is not None else math.nan for t in study.trials]
            curves[name].append(best_so_far(values, direction))
            trials_log[name].append([{"params": t.params, "value": t.value} for t in study.trials])
            say(_("{sampler} seed {seed}: best {metric} {value:.4f} after {trials} trials").format(
                sampler=name, seed=seed, metric=metric, value=curves[name][-1][-1], trials=len(values)))
    summary = _summarise(curves, direction)
    write_json(run_dir / "search_compare.json", {"metric": metric, "direction": direction, "trials": section.trials,
                                                 "seeds": section.seeds, "curves": curves, "summary": summary,
                                                 "studies": trials_log, "seconds": time.perf_counter() - started})
    results = {f"{name}_best_mean": s["final_mean"] for name, s in summary.items()}
    results.update({f"{name}_best_at_{section.trials // 2}": s["half_mean"] for name, s in summary.items()})
    return {"results": results}


def _check(base: dict, key: str, value) -> str:
    """The value must pass the run's schema (the same check as `tujie tune`)."""
    from ..config import ALIASES
    from ..search.space import override_line
    from . import aliases

    canonical = {**ALIASES, **aliases()}.get(key, key)
    try:
        validate(apply_overrides(base, [override_line(canonical, value)]))
    except ConfigError as e:
        raise ConfigError(f"The search space entry tune.space.{key} does not fit the config: {e.what}", expected=e.expected,
                          received=f"{canonical}={value!r}", fix="Change the range or the choices so every value is valid.") from None
    return canonical


def _train_once(trial, base: dict, space, data, metric: str, direction: str) -> float:
    """One training with the trial's values; its objective is the best epoch's value of `metric`."""
    from ..search.space import override_line
    from ..train.builders import build_learner
    from ..utils import seed_everything
    from ._common import build_model

    config = validate(apply_overrides(base, [override_line(p.key, p.suggest(trial)) for p in space]))
    seed_everything(config.seed)
    learner = build_learner(config, build_model(config, data), num_classes=data.num_classes)
    history = learner.fit(data.train, epochs=config.train.epochs, batch_size=config.train.batch_size,
                          validation_data=data.val, verbose=0)
    values = [float(row[metric]) for row in history.epochs if row.get(metric) is not None and math.isfinite(float(row[metric]))]
    if not values:
        raise ConfigError(f"The objective {metric!r} is not among the epoch logs.", expected="a per-epoch metric such as val_accuracy",
                          received=f"tune.metric={metric}", fix="Set tune.metric to val_accuracy or val_loss.")
    return (max if direction == "maximize" else min)(values)


def _summarise(curves: dict, direction: str) -> dict:
    """Per sampler: the mean and spread of the best found at the full budget and at half of it."""
    import numpy as np

    out = {}
    for name, runs in curves.items():
        final = np.array([r[-1] for r in runs], dtype=float)
        half = np.array([r[max(len(r) // 2 - 1, 0)] for r in runs], dtype=float)
        out[name] = {"final_mean": float(np.nanmean(final)), "final_std": float(np.nanstd(final)),
                     "final_worst": float(np.nanmin(final) if direction == "maximize" else np.nanmax(final)),
                     "half_mean": float(np.nanmean(half))}
    return out


# ----------------------------------------------------------------------------------- report
def _compare_section(run: RunFiles) -> str:
    from ..plots.search import sampler_comparison

    sc = run.search_compare
    metric, trials = sc.get("metric", "value"), sc.get("trials", 0)
    png = sampler_comparison(sc.get("curves") or {}, metric, sc.get("direction", "maximize"))
    rows = [[f"<b>{_e(name)}</b>", _e(_fmt(s.get("half_mean"), metric)), _e(_fmt(s.get("final_mean"), metric)),
             _e(_difference(s.get("final_std", math.nan), metric)), _e(_fmt(s.get("final_worst"), metric))]
            for name, s in (sc.get("summary") or {}).items()]
    header = [_("sampler"), _("best after {n} trials (mean)").format(n=max(trials // 2, 1)),
              _("best after {n} trials (mean)").format(n=trials), _("spread over seeds (std)"), _("worst seed")]
    how = _("Each study spends the same number of trials on the same search space; each line is the best value found so "
            "far, averaged over {seeds} seeds of the sampler (the band spans the best and the worst seed). Grid search "
            "tries a fixed lattice in shuffled order, so at a budget below the lattice's size it is a coarse random "
            "search; random search draws every key anew; TPE (a Bayesian method) learns from the trials so far where "
            "the good values lie and draws more there after its first random ones. With the same seed, TPE's first 10 "
            "trials are random search's first 10, so its dashed line follows the random one until then.").format(
        seeds=sc.get("seeds", "?"))
    return _section("search-compare", _("Grid, random and Bayesian search compared"), how,
                    _img(png, _("best found against trials spent")) + _table(header, rows, "numbers"))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    sc = run.search_compare
    return [(_fmt(s.get("final_mean"), sc.get("metric", "")), _("{sampler}: best {metric} after {n} trials").format(
        sampler=name, metric=sc.get("metric", "?"), n=sc.get("trials", "?"))) for name, s in (sc.get("summary") or {}).items()]


REPORT = KindReport("search_compare", files=("search_compare.json",), result_file="search_compare.json",
                    missing={"search_compare.json": N_("the samplers' best-found curves")},
                    sections=(Section("search-compare", N_("Grid, random and Bayesian search compared"), _compare_section,
                                      lambda run: run.search_compare is not None, order=61),),
                    headline=_headline)
register(Kind("search_compare", run, N_("grid, random and Bayesian (TPE) hyperparameter search at the same budget, over seeds"),
              section="search_compare", config=SearchCompareConfig, report=REPORT, order=74,
              smoke=("digits-search-compare", ("search_compare.trials=2", "search_compare.seeds=1", "epochs=1", "limit=300"))))
