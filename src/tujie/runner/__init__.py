"""Run a recipe end to end: config → kind → run directory → summary.json → illustrated report.

The runner knows no kind by name. It resolves the recipe, validates it against the base
schema plus every kind's section (`tujie.kinds`), refuses a bad resume, seeds, hands the kind
a `RunContext`, then writes summary.json, checks the expected result and builds the report.

The run directory (`runs/<recipe>-<timestamp>/`) keeps everything, each file written atomically:
`config.yaml` (resolved config), `summary.json`, `report.html`, and what the kind writes
(for `train`: metrics.jsonl, history.csv, last/best.safetensors, tensorboard/, evaluation.json ...).

Example:
    >>> import tujie as tj
    >>> result = tj.run("digits-mlp", overrides=["epochs=1"], verbose=0)  # doctest: +SKIP
    >>> result.summary["test"]["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import config as cfg
from .. import kinds
from .._io import write_json
from ..errors import ConfigError
from ..i18n import _, language, translated
from ..kinds import build_report
from ..train import distributed
from ..utils import environment, seed_everything

# Keys that may differ between a run and its resumption: how long to train and where.
RESUMABLE_CHANGES = {"device", "output_dir", "run_name"}  # for every kind; a kind adds its own (Kind.resumable_changes)


@dataclass
class RunResult:
    run_dir: Path
    summary: dict
    report: Path | None


def resolve_config(recipe: str | dict | None, overrides=(), resume: str | Path | None = None) -> cfg.RunConfig:
    """The recipe (or the resumed run's saved config) with `--set` overrides applied and validated."""
    from ..recipes import load_recipe

    if recipe is None and resume is None:
        raise ConfigError("No recipe given.", expected="tujie run RECIPE, or tujie run --resume RUN_DIR",
                          fix="Run `tujie recipes` to list them.")
    kinds.apply_overrides({}, overrides)  # a wrong key is named (with the valid ones) before the recipe is looked up
    base = (dict(recipe) if isinstance(recipe, dict) else load_recipe(recipe)) if recipe else read_run_config(Path(resume))
    return kinds.validate(kinds.apply_overrides(base, overrides))


def read_run_config(run_dir: Path) -> dict:
    """A run directory's config.yaml as a mapping; a missing, non-UTF-8 or malformed file is refused."""
    path = run_dir / "config.yaml"
    fix = "Resume a run directory written by `tujie run`, or start a new run with its recipe."
    if not path.is_file():
        raise ConfigError(f"Cannot resume from {run_dir}: it has no config.yaml.", expected="a run directory written by `tujie run`",
                          received=f"{run_dir} ({'a folder without config.yaml' if run_dir.is_dir() else 'no such folder'})", fix=fix)
    try:
        saved = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        problem = str(getattr(e, "problem", None) or e).strip()
        raise ConfigError(f"Cannot resume from {run_dir}: its config.yaml is damaged ({problem}).",
                          expected="the YAML config that `tujie run` wrote", received=f"{path}", fix=fix) from None
    if not isinstance(saved, dict):
        raise ConfigError(f"Cannot resume from {run_dir}: its config.yaml is not a mapping.",
                          expected="the YAML config that `tujie run` wrote", received=f"{type(saved).__name__} in {path}", fix=fix)
    if saved.get("trained_from") == "python":  # written by fit(run_dir=...): a record of the set-up, not a recipe
        raise ConfigError(f"Cannot resume from {run_dir}: it was trained from Python (fit(..., run_dir=...)), so it has no recipe "
                          "to continue.", expected="a run directory written by `tujie run`", received=f"{path} (trained_from: python)",
                          fix="Continue it in Python: learner.load_checkpoint(RUN_DIR/last.safetensors, sample), then "
                              "fit(..., initial_epoch=learner.epoch, run_dir=RUN_DIR). `tujie report RUN_DIR` rebuilds its report.")
    return saved


def run(recipe: str | dict | None = None, overrides=(), *, resume: str | Path | None = None, verbose: int = 1,
        lang: str | None = None, callbacks=(), report: bool = True) -> RunResult:
    """Run a recipe of any kind, write its run directory and report; `resume` continues an earlier run.

    Args:
        recipe: a recipe name (`tujie recipes`), a YAML file, or a recipe mapping (what such a file holds).
        overrides: `key=value` strings, as `--set` takes them.
        resume: a run directory to continue (kinds that resume: `train`, `gan`, `rl_deep`).
        verbose: 0 prints nothing.
        lang: the language of the progress lines and the report ("zh", "en"; None: TUJIE_LANG or the locale).
        callbacks: extra training callbacks, attached by kinds that train with `Learner.fit` (`train`).
        report: False skips report.html (a search's trials: `tujie report RUN_DIR` builds it later).
    """
    with language(lang):
        return _run(recipe, overrides, resume, verbose, tuple(callbacks), report)


def _run(recipe, overrides, resume, verbose, callbacks=(), report=True) -> RunResult:
    say = print if verbose else (lambda *a, **k: None)
    started = time.perf_counter()
    config = resolve_config(recipe, overrides, resume)
    kind = kinds.get(config.kind)
    check_processes(config, distributed.world_size())
    if resume:
        if not kind.resumable:
            raise ConfigError(f"A {config.kind.replace('_', ' ')} run cannot be resumed.",
                              expected=f"--resume with a kind that resumes ({', '.join(k for k in kinds.names() if kinds.get(k).resumable)})",
                              received=f"kind={config.kind!r}", fix="Start the run again without --resume.")
        _check_resume(Path(resume), config)
    seed_everything(config.seed)
    context = kinds.RunContext(config, say=say, verbose=verbose, resume=Path(resume) if resume else None, callbacks=callbacks)
    summary = {"kind": config.kind, "recipe": config.recipe, "run_name": None, "description": config.description,
               "status": "finished", "message": None, "expected": config.expected.model_dump() if config.expected else None,
               "environment": environment(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    summary.update(kind.run(context))
    run_dir = context.run_dir
    summary["run_name"] = run_dir.name
    _check_expected(summary, config, say)
    summary.setdefault("timings", {})["total_s"] = time.perf_counter() - started
    summary.setdefault("finished", time.strftime("%Y-%m-%dT%H:%M:%S"))
    if distributed.is_main():  # under torchrun (--nproc N) the other processes write nothing
        write_json(run_dir / "summary.json", summary)
    report = build_report(run_dir) if report and distributed.is_main() else None
    if report:
        say(_("Report: {path}").format(path=report))
    if summary.get("message"):
        say(f"{_(summary['status']).capitalize()}: {summary['message']}")
    return RunResult(run_dir, summary, report)


def check_processes(config: cfg.RunConfig, processes: int) -> None:
    """Refuse a run on several processes (`--nproc N`, torchrun) for a kind that trains on one only."""
    kind = kinds.get(config.kind)
    if processes > 1 and not kind.distributed:
        able = ", ".join(k for k in kinds.names() if kinds.get(k).distributed)
        raise ConfigError(f"A {config.kind.replace('_', ' ')} run trains on one process only.",
                          expected=f"--nproc 1, or a kind that trains on several processes ({able})",
                          received=f"kind={config.kind!r} on {processes} processes", fix="Run it without --nproc.")


def _check_expected(summary: dict, config: cfg.RunConfig, say) -> None:
    """Put the value the recipe expected next to the one reached: `results[metric]`, or `test[...]` for test_*."""
    if config.expected is None or summary.get("status") != "finished":
        return
    metric = config.expected.metric
    results, test = summary.get("results") or {}, summary.get("test") or {}
    reached = results.get(metric, test.get(metric.removeprefix("test_")) if metric.startswith("test_") else None)
    summary["expected"]["reached"] = reached
    if reached is not None:
        say(_("Expected {metric} {value} ({source}); reached {reached:.4f}").format(
            metric=metric, value=config.expected.value, source=translated(config.expected.source), reached=reached))


def _check_resume(run_dir: Path, config: cfg.RunConfig) -> Path:
    """Refuse to resume into a run whose config differs (beyond what its kind lets change), showing the difference.

    Then the kind's own check (`Kind.check_resume`): its checkpoint is there, and something is left to do.
    """
    kind = kinds.get(config.kind)
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"Cannot resume from {run_dir}: it has no config.yaml.", expected="a run directory written by `tujie run`",
                          fix="Check the path, or start a new run without --resume.")
    saved_config = read_run_config(run_dir)
    saved = _flatten(saved_config)
    now = _flatten(config.model_dump(mode="json"))
    may_change = RESUMABLE_CHANGES | set(kind.resumable_changes)
    diff = [f"{k}: run has {saved.get(k)!r}, now {now.get(k)!r}" for k in sorted(set(saved) | set(now))
            if k not in may_change and saved.get(k) != now.get(k)]
    if diff:
        raise ConfigError(f"Cannot resume {run_dir}: the config differs from the run's ({'; '.join(diff)}).",
                          expected=f"the same config (only {', '.join(sorted(may_change))} may change)",
                          fix="Drop the --set overrides that differ, or start a new run.")
    if kind.check_resume is not None:
        kind.check_resume(run_dir, config, saved_config)
    return run_dir


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


__all__ = ["run", "resolve_config", "RunResult", "build_report"]
