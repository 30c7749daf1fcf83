"""The `cross_validation` kind: k-fold cross-validation of one recipe's model (book chapter 12).

The training and validation splits are pooled and split into k folds (stratified by default);
k fresh models train, each tested on its held-out fold, in parallel worker processes when asked.
The test split stays untouched. Writes cv.json; the report shows each fold, mean ± std, a box plot.

Example:
    >>> import tujie as tj
    >>> result = tj.run("digits-cv", overrides=["epochs=2"], verbose=0)  # doctest: +SKIP
    >>> result.summary["cross_validation"]["mean"]["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
import time
import types
from pathlib import Path

import torch
from pydantic import Field

from .. import plots as figures
from .._io import write_json
from ..config import Strict
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _as_float, _e, _finite, _fmt, _fmt_pm, _img, _section, _table, metric_label
from ..report.run_files import RunFiles
from ..report.sections.header import _by_headline_order
from . import Kind, RunContext, register
from ._common import verbose_of


class CrossValidationConfig(Strict):
    k: int = Field(5, ge=2)
    stratified: bool = True
    processes: int = Field(1, ge=1, description="folds run in parallel worker processes")


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    data, run_dir = context.open()
    return _cross_validation(context.config, data, run_dir, context.say)


def _cross_validation(config, data, run_dir: Path, say) -> dict:
    """k-fold CV on the training and validation splits together; the test split stays untouched."""
    from ..data.arrays import ArrayDataset
    from ..train.cross_validation import cross_validate

    cv = config.cross_validation or CrossValidationConfig()
    parts = [p for p in (data.train, data.val) if p is not None]
    pool = ArrayDataset(torch.cat([p.x for p in parts]), torch.cat([p.y for p in parts]))
    if cv.processes > 1:
        line = (_("{k}-fold stratified cross-validation on {samples} samples, {processes} processes") if cv.stratified
                else _("{k}-fold cross-validation on {samples} samples, {processes} processes"))
    else:
        line = (_("{k}-fold stratified cross-validation on {samples} samples") if cv.stratified
                else _("{k}-fold cross-validation on {samples} samples"))
    say(line.format(k=cv.k, samples=f"{len(pool):,}", processes=cv.processes))
    build = functools.partial(fresh_learner, config.model_dump(mode="json"), data.num_classes)
    start = time.perf_counter()
    result = cross_validate(build, pool, k=cv.k, stratified=cv.stratified, epochs=config.train.epochs,
                            batch_size=config.train.batch_size, metrics=config.train.metrics, seed=config.seed,
                            processes=cv.processes, verbose=verbose_of(say))
    seconds = time.perf_counter() - start
    say(result.table())
    write_json(run_dir / "cv.json", {"k": cv.k, "stratified": cv.stratified, "processes": cv.processes,
                                     "seconds": seconds, **result.to_dict()})
    results = {f"cv_{name}": value for name, value in result.mean.items()}
    results.update({f"cv_{name}_std": value for name, value in result.std.items()})
    return {"cross_validation": {"k": cv.k, "mean": result.mean, "std": result.std, "seconds": seconds}, "results": results}


def fresh_learner(config_json: dict, num_classes: int | None):
    """A new model and Learner from a config (module-level, so worker processes can unpickle it)."""
    from ..train.builders import build_learner
    from . import validate
    from ._common import build_model

    config = validate(config_json)  # the full schema: the cross_validation section is in it
    model = build_model(config, types.SimpleNamespace(num_classes=num_classes))
    return build_learner(config, model, num_classes=num_classes)


# ----------------------------------------------------------------------------------- report
def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    """The test results first (when the recipe has a test split), then the folds' mean ± std."""
    folds, names, means, stds = _cv_metrics(run.cv)
    several = [(_fmt_pm(means[name], stds.get(name), name),
                _("{metric}, mean ± std over {k} folds").format(metric=metric_label(name), k=len(folds)))
               for name in _by_headline_order(names)[:2]]
    return [(v, label) for _metric, v, label in test_stats][:max(4 - len(several), 1)] + several


def _facts(run: RunFiles) -> list[str]:
    folds = run.cv.get("folds")
    k = run.cv.get("k", len(folds) if isinstance(folds, list) else "?")
    fact = _("{k}-fold cross-validation, stratified") if run.cv.get("stratified") else _("{k}-fold cross-validation")
    return [fact.format(k=k)]


def _cv_metrics(cv: dict) -> tuple[list[dict], list[str], dict, dict]:
    """(folds, metric names, means, stds) of cv.json; means and stds computed when missing."""
    folds = cv["folds"]
    if not isinstance(folds, list) or not folds or not all(isinstance(f, dict) for f in folds):
        raise ValueError("cv.json's folds must be a non-empty list of objects")
    means = cv.get("mean") if isinstance(cv.get("mean"), dict) else {}
    stds = cv.get("std") if isinstance(cv.get("std"), dict) else {}
    names = [n for n in figures.scalar_metrics(folds) if n in means] or figures.scalar_metrics(folds)
    for name in names:
        values = _finite(f.get(name) for f in folds)
        if name not in means and values:
            means[name] = sum(values) / len(values)
        if name not in stds and values:
            mean = sum(values) / len(values)
            stds[name] = math.sqrt(sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1))
    return folds, names, means, stds


def _cv_section(run: RunFiles) -> str:
    how = _("The data were split into k parts (folds); k models were trained, each with one fold held "
            "out for testing and the rest for training, so every example is tested exactly once. "
            "Each dot is one fold's score; the box spans the middle half of the folds. A wide spread "
            "means the score depends a lot on which examples land in the test fold, so a single "
            "train/test split would have been luck.")
    folds, names, means, stds = _cv_metrics(run.cv)
    png = figures.cross_validation_boxes(folds, names)
    sizes = run.cv.get("fold_sizes") if isinstance(run.cv.get("fold_sizes"), list) else []
    header = [_("fold"), _("train"), _("held out")] + [_e(metric_label(n)) for n in names]
    rows = []
    for i, fold in enumerate(folds):
        size = sizes[i] if i < len(sizes) and isinstance(sizes[i], list) and len(sizes[i]) == 2 else [None, None]
        rows.append([str(i + 1), _e(_fmt(size[0])), _e(_fmt(size[1]))]
                    + [_e(_fmt(_as_float(fold.get(n)), n)) for n in names])
    footer = [_("mean ± std"), "", ""] + [_e(_fmt_pm(means.get(n), stds.get(n), n)) for n in names]
    k = run.cv.get("k", len(folds))
    kind = (_("stratified: every fold keeps the class proportions of the whole data set")
            if run.cv.get("stratified") else _("not stratified: folds are random slices"))
    aside = _("{k} folds, {kind}.").format(k=k, kind=kind)
    body = (_img(png, _("cross-validation scores per fold"))
            + f'<p class="aside">{_e(aside)}</p>'
            + f'<div class="scroll">{_table(header, rows, "numbers", footer=footer)}</div>')
    return _section("cross-validation", _("Cross-validation"), how, body)


REPORT = KindReport("cross_validation", files=("cv.json",), result_file="cv.json",
                    missing={"cv.json": N_("no per-fold results of the cross-validation")},
                    sections=(Section("cross-validation", N_("Cross-validation"), _cv_section, lambda run: run.cv is not None, order=60),),
                    headline=_headline, facts=_facts)
register(Kind("cross_validation", run, N_("k-fold cross-validation of one model: per-fold scores, mean ± std"),
              section="cross_validation", config=CrossValidationConfig, aliases={"k": "cross_validation.k"},
              report=REPORT, order=10,
              smoke=("digits-cv", ("epochs=1", "k=2"))))
