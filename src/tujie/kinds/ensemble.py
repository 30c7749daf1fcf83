"""The `ensemble` kind: several models of one recipe (seeds or bootstrap resamples), tested alone and together.

Members train one after another; the ensemble averages their probabilities, votes, or weights
them by validation score, and is tested like one model (evaluation.json, samples). Writes
ensemble.json and member-N.safetensors; the report compares members with the ensemble.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field

from .. import plots as figures
from .._io import write_json
from ..config import Strict
from ..i18n import N_, _, ngettext
from ..report import KindReport, Section
from ..report.format import (_as_float, _difference, _e, _finite, _fmt, _img, _lower_is_better, _section, _table,
                             metric_label)
from ..report.run_files import RunFiles
from ..utils import seed_everything
from . import Kind, RunContext, register


class EnsembleConfig(Strict):
    members: int = Field(5, ge=2)
    method: Literal["average", "vote", "weighted"] = "average"
    bagging: bool = Field(False, description="train each member on a bootstrap resample")


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    data, run_dir = context.open()
    return _ensemble(context.config, data, run_dir, context.say)


def _ensemble(config, data, run_dir: Path, say) -> dict:
    """Train `members` models (different seeds, or bootstrap resamples), then test each and their ensemble."""
    from ..train import Learner, save_weights
    from ..train.builders import build_learner
    from ..train.ensemble import Ensemble
    from ..train.summary import model_table
    from ._common import build_model
    from ._test_phase import test_model as _test

    spec = config.ensemble or EnsembleConfig()
    members, rows, table = [], [], None
    for i in range(spec.members):
        seed = config.seed + i
        seed_everything(seed)
        member_config = config.model_copy(update={"seed": seed})
        learner = build_learner(member_config, build_model(member_config, data), num_classes=data.num_classes)
        train = data.train
        if spec.bagging:  # a bootstrap resample: as many rows as the data, drawn with replacement
            index = torch.randint(0, len(train), (len(train),), generator=torch.Generator().manual_seed(seed))
            train = train.subset(index)
        learner.fit(train, epochs=config.train.epochs, batch_size=config.train.batch_size, validation_data=data.val, verbose=0)
        scores = {k: v for k, v in learner.evaluate(data.test, verbose=0).items() if isinstance(v, float)}
        save_weights(run_dir / f"member-{i + 1}.safetensors", learner.model, {"seed": seed, **scores})
        rows.append({"name": f"member {i + 1}", "seed": seed, **scores, "history": learner.history.epochs})
        members.append(learner.model.eval())
        table = table or model_table(learner)  # every member has the same layers: the report's model table shows one
        say(_("member {i}/{n}: {scores}").format(i=i + 1, n=spec.members,
                                                  scores=" - ".join(f"{k}: {v:.4f}" for k, v in scores.items())))
    weights = None
    if spec.method == "weighted":  # weight members by their validation accuracy (or inverse loss)
        key = "val_accuracy" if "val_accuracy" in rows[0]["history"][-1] else "val_loss"
        values = [row["history"][-1].get(key, 1.0) for row in rows]
        weights = values if key == "val_accuracy" else [1.0 / max(v, 1e-12) for v in values]
    ensemble = Ensemble(members, method=spec.method, weights=weights)
    # the ensemble outputs log-probabilities: NLL on them is the cross-entropy of the averaged probabilities
    judge = Learner(ensemble, loss="nll", optimizer=None, metrics=config.train.metrics, device=config.device)
    judge.input_shape = data.input_shape
    test = _test(judge, data, config, run_dir)
    save_weights(run_dir / "ensemble.safetensors", ensemble, {"method": spec.method})
    metric = "accuracy" if "accuracy" in test else next(iter(test))
    member_rows = [{k: v for k, v in row.items() if k != "history"} for row in rows]
    write_json(run_dir / "ensemble.json", {"method": spec.method, "bagging": spec.bagging, "metric": metric,
                                           "members": member_rows, "ensemble": test, "weights": weights})
    say(_("ensemble: {scores}").format(scores=" - ".join(f"{k}: {v:.4f}" for k, v in test.items())))
    member_values = [row[metric] for row in member_rows]
    results = {f"test_{k}": v for k, v in test.items()}
    results.update({f"members_mean_{metric}": sum(member_values) / len(member_values), f"members_best_{metric}": max(member_values)})
    return {"test": test, "members": member_rows, "results": results, "model": table}


# ----------------------------------------------------------------------------------- report
def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    """The ensemble's score and its best member's, then the other test results."""
    metric, members, scores, combined = _ensemble_scores(run.ensemble)
    best_name, best = _best_member(members, scores, metric)
    method = run.ensemble.get("method")
    label = _("ensemble {metric} ({method})") if method else _("ensemble {metric}")
    several = [(_fmt(combined, metric), label.format(metric=metric_label(metric), method=method)),
               (_fmt(best, metric), _("best member {metric} ({name})").format(metric=metric_label(metric), name=best_name))]
    return several + [(v, label) for name, v, label in test_stats if name != metric]


def _facts(run: RunFiles) -> list[str]:
    members = run.ensemble.get("members")
    count = len(members) if isinstance(members, list) else "?"
    n = count if isinstance(count, int) else 2  # "?": the plural
    if run.ensemble.get("method"):
        fact = ngettext("ensemble of {n} member ({method})", "ensemble of {n} members ({method})", n)
    else:
        fact = ngettext("ensemble of {n} member", "ensemble of {n} members", n)
    return [fact.format(n=count, method=run.ensemble.get("method"))]


def _ensemble_scores(ensemble: dict) -> tuple[str, list[dict], list[float], float]:
    metric = str(ensemble.get("metric") or "accuracy")
    members = ensemble["members"]
    if not isinstance(members, list) or not members or not all(isinstance(m, dict) for m in members):
        raise ValueError("ensemble.json's members must be a non-empty list of objects")
    combined = ensemble["ensemble"]
    if not isinstance(combined, dict):
        raise ValueError("ensemble.json's ensemble must be an object of scores")
    return metric, members, [_as_float(m.get(metric)) for m in members], _as_float(combined.get(metric))


def _member_name(member: dict, index: int) -> str:
    """A member's name for the page: the "member 3" this kind records reads "成员 3" in Chinese;
    a name given otherwise is shown as written."""
    name = str(member.get("name", f"member {index + 1}"))
    number = name.removeprefix("member ")
    return _("member {i}").format(i=number) if number.isdigit() and name != number else name


def _best_member(members: list[dict], scores: list[float], metric: str) -> tuple[str, float]:
    ranked = [(s, _member_name(m, i)) for i, (m, s) in enumerate(zip(members, scores))
              if math.isfinite(s)]
    if not ranked:
        raise ValueError(f"no member has a finite {metric}")
    score, name = (min if _lower_is_better(metric) else max)(ranked, key=lambda p: p[0])
    return name, score


def _ensemble_section(run: RunFiles) -> str:
    how = _("Several models trained separately vote together. Grey bars are the members, the "
            "coloured bar the ensemble, the dashed line the average member. The y axis is zoomed in, "
            "so small differences look large: read the numbers. An ensemble helps when its members "
            "make different mistakes.")
    metric, members, scores, combined = _ensemble_scores(run.ensemble)
    names = [_member_name(m, i) for i, m in enumerate(members)]
    png = figures.ensemble_bars(names, scores, combined, metric)
    finite = _finite(scores)
    body = [_img(png, _("{metric} of each ensemble member and of the ensemble").format(metric=metric))]
    methods = {"average": _("It averages the members' predicted probabilities."),
               "vote": _("It takes a majority vote of the members' predicted classes."),
               "weighted": _("It takes a weighted average of the members' predicted probabilities.")}
    method = run.ensemble.get("method")
    if finite and math.isfinite(combined):
        mean = sum(finite) / len(finite)
        best_name, best = _best_member(members, scores, metric)
        sign = -1.0 if _lower_is_better(metric) else 1.0

        def relation(delta):  # "better" is up for accuracy, down for a loss
            if delta == 0:
                return "level with"
            return ("above" if delta > 0 else "below") if sign > 0 else ("below" if delta < 0 else "above")

        versus_mean = {"above": _("{difference} above its average member"),
                       "below": _("{difference} below its average member"),
                       "level with": _("{difference} level with its average member")}[relation(combined - mean)]
        versus_best = {"above": _("{difference} above its best ({name})"),
                       "below": _("{difference} below its best ({name})"),
                       "level with": _("{difference} level with its best ({name})")}[relation(combined - best)]
        text = _("The ensemble scores {score}, {versus_mean} and {versus_best}.").format(
            score=_fmt(combined, metric),
            versus_mean=versus_mean.format(difference=_difference(combined - mean, metric)),
            versus_best=versus_best.format(difference=_difference(combined - best, metric), name=best_name))
        if method in methods:
            text = _("{comparison} {method}").format(comparison=text, method=methods[method])
        body.append(f'<p class="lead">{_e(text)}</p>')
    columns = figures.scalar_metrics(members + [run.ensemble["ensemble"]])
    rows = [[_e(name)] + [_e(_fmt(_as_float(m.get(c)), c)) for c in columns] for name, m in zip(names, members)]
    rows.append(["<b>" + _e(_("ensemble")) + "</b>"] + [_e(_fmt(_as_float(run.ensemble["ensemble"].get(c)), c)) for c in columns])
    body.append(_table([_("model")] + [_e(metric_label(c)) for c in columns], rows, "numbers",
                       [""] * (len(rows) - 1) + ["highlight"]))
    return _section("ensemble", _("Ensemble"), how, "".join(body))


REPORT = KindReport("ensemble", files=("ensemble.json",), result_file="ensemble.json",
                    missing={"ensemble.json": N_("no scores of the ensemble and its members")},
                    sections=(Section("ensemble", N_("Ensemble"), _ensemble_section, lambda run: run.ensemble is not None, order=61),),
                    headline=_headline, facts=_facts)
register(Kind("ensemble", run, N_("several models of one recipe, tested alone and as an ensemble"),
              section="ensemble", config=EnsembleConfig, report=REPORT, order=20,
              smoke=("mnist-ensemble", ("dataset=digits", "epochs=1", "ensemble.members=2"))))
