"""The `overfitting_lab` kind: one model on a small training set, plain and with each remedy (book chapter 3).

Every variant is the recipe with a few `--set` overrides (dropout, weight decay, augmentation,
early stopping, a smaller model ...); each trains on the same seeded subset and is tested on
the full test set. Writes lab.json; the report shows curves per variant and the train–test gap.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from pydantic import Field

from .. import plots as figures
from .._io import write_json
from ..config import Strict
from ..i18n import N_, _, ngettext, translated
from ..report import KindReport, Section
from ..report.format import _as_float, _data, _e, _finite, _fmt, _img, _section, _table
from ..report.run_files import RunFiles
from ..utils import seed_everything
from . import Kind, RunContext, apply_overrides, register, validate


class LabVariant(Strict):
    name: str
    description: str = ""
    set: list[str] = Field([], description="--set style overrides applied to the recipe for this variant")


class LabConfig(Strict):
    train_size: int = Field(1000, ge=10, description="training images drawn (seeded) from the training split")
    variants: list[LabVariant] = Field(min_length=1)


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    data, run_dir = context.open()
    return _overfitting_lab(context.config, data, run_dir, context.say)


def _overfitting_lab(config, data, run_dir: Path, say) -> dict:
    """Train the recipe's model on a small subset once per variant (remedy); measure train/test accuracy and the gap."""
    from ..train import EarlyStopping
    from ..train.builders import build_learner
    from ._common import build_model

    lab = config.lab
    if lab is None:
        from ..errors import ConfigError

        raise ConfigError("An overfitting-lab recipe needs a `lab` section.", expected="lab: {train_size: 1000, variants: [...]}",
                          received="lab: null", fix="See the overfitting-lab recipe (`tujie recipes`).")
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(config.seed))
    train = data.train.subset(order[: lab.train_size])  # the same small subset for every variant
    say(_("Overfitting lab: {train} training samples, validation {val}, test {test}").format(
        train=f"{len(train):,}", val=f"{len(data.val):,}", test=f"{len(data.test):,}"))
    base = config.model_dump(mode="json")
    base.update(kind="train", lab=None)
    variants = []
    for variant in lab.variants:
        vc = validate(apply_overrides(base, variant.set))
        seed_everything(vc.seed)
        callbacks = [EarlyStopping(**vc.train.early_stopping.model_dump())] if vc.train.early_stopping else []
        learner = build_learner(vc, build_model(vc, data), callbacks, num_classes=data.num_classes)
        start = time.perf_counter()
        history = learner.fit(train, epochs=vc.train.epochs, batch_size=vc.train.batch_size, validation_data=data.val, verbose=0)
        # train accuracy on the clean training images in eval mode (no dropout, no augmentation), like the test's
        on_train, on_test = learner.evaluate(train, verbose=0), learner.evaluate(data.test, verbose=0)
        train_accuracy, test_accuracy = on_train["accuracy"], on_test["accuracy"]
        stopper = callbacks[0] if callbacks else None
        variants.append({"name": variant.name, "description": variant.description, "set": variant.set,
                         "history": [{k: v for k, v in e.items() if k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")}
                                     for e in history.epochs],
                         "train_accuracy": train_accuracy, "test_accuracy": test_accuracy, "gap": train_accuracy - test_accuracy,
                         # the loss gap shows what accuracy hides: a memorising model is confidently wrong on test
                         "train_loss": on_train["loss"], "test_loss": on_test["loss"], "loss_gap": on_test["loss"] - on_train["loss"],
                         "best_epoch": getattr(stopper, "best_epoch", None), "stopped_epoch": getattr(stopper, "stopped_epoch", None),
                         "seconds": time.perf_counter() - start})
        say(_("{name}: accuracy train {train_accuracy} test {test_accuracy} gap {gap} | loss train {train_loss} test {test_loss}").format(
            name=f"{variant.name:>16}", train_accuracy=f"{train_accuracy:.4f}", test_accuracy=f"{test_accuracy:.4f}",
            gap=f"{train_accuracy - test_accuracy:+.4f}", train_loss=f"{on_train['loss']:.4f}", test_loss=f"{on_test['loss']:.4f}"))
    write_json(run_dir / "lab.json", {"train_size": len(train), "validation_size": len(data.val), "test_size": len(data.test),
                                      "epochs": config.train.epochs, "variants": variants})
    baseline = variants[0]
    narrowest = min(variants, key=lambda v: v["gap"])
    best = max(variants, key=lambda v: v["test_accuracy"])
    results = {"lab_baseline_gap": baseline["gap"], "lab_smallest_gap": narrowest["gap"],
               "lab_gap_narrowed": baseline["gap"] - narrowest["gap"], "lab_best_test_accuracy": best["test_accuracy"],
               "lab_baseline_test_accuracy": baseline["test_accuracy"]}
    results["lab_baseline_loss_gap"] = baseline["loss_gap"]
    results["lab_smallest_loss_gap"] = min(v["loss_gap"] for v in variants)
    table = [{k: v[k] for k in ("name", "train_accuracy", "test_accuracy", "gap", "loss_gap")} for v in variants]
    return {"lab": table, "results": results}


# ----------------------------------------------------------------------------------- report
def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    """The baseline's train–test gap and the smallest one, then the test results (if any)."""
    variants = _lab_variants(run.lab)
    scale, gaps = _lab_scale(variants), _lab_gaps(variants)
    def value(gap):  # in points when the accuracies are fractions
        return _("{value} pts").format(value=f"{scale * gap:.1f}") if scale == 100 else f"{scale * gap:.1f}"

    name = str(variants[0].get("name", "baseline"))
    stats = [(value(gaps[0]), _("baseline gap (train − test accuracy)") if name == "baseline"
              else _("baseline gap ({name}, train − test accuracy)").format(name=name))]
    candidates = [(g, str(v.get("name", "?"))) for g, v in zip(gaps[1:], variants[1:]) if math.isfinite(g)]
    if candidates:
        gap, name = min(candidates, key=lambda p: p[0])
        stats.append((value(gap), _("smallest gap ({name})").format(name=name)))
    return stats + [(v, label) for _metric, v, label in test_stats]


def _facts(run: RunFiles) -> list[str]:
    variants = run.lab.get("variants")
    count = len(variants) if isinstance(variants, list) else "?"
    n = count if isinstance(count, int) else 2  # "?": the plural
    if isinstance(run.lab.get("train_size"), int):
        fact = ngettext("overfitting lab: {n} variant on {size} training examples",
                        "overfitting lab: {n} variants on {size} training examples", n)
        return [fact.format(n=count, size=f"{run.lab['train_size']:,}")]
    return [ngettext("overfitting lab: {n} variant", "overfitting lab: {n} variants", n).format(n=count)]


def _lab_scale(variants: list[dict]) -> float:
    """100 when the accuracies are fractions (gaps are then shown in points), else 1."""
    values = _finite(v.get(k) for v in variants for k in ("train_accuracy", "test_accuracy"))
    return 100.0 if all(abs(v) <= 1.0 for v in values) else 1.0


def _lab_gaps(variants: list[dict]) -> list[float]:
    gaps = []
    for variant in variants:
        gap = _as_float(variant.get("gap"))
        if not math.isfinite(gap):
            gap = _as_float(variant.get("train_accuracy")) - _as_float(variant.get("test_accuracy"))
        gaps.append(gap)
    return gaps


def _lab_variants(lab: dict) -> list[dict]:
    variants = lab["variants"]
    if not isinstance(variants, list) or not variants or not all(isinstance(v, dict) for v in variants):
        raise ValueError("lab.json's variants must be a non-empty list of objects")
    return variants


_LAB_FACTS = (("train_size", N_("{n} training examples")), ("validation_size", N_("{n} validation examples")),
              ("test_size", N_("{n} test examples")), ("epochs", N_("{n} epochs at most")))


def _lab_section(run: RunFiles) -> str:
    how = _("The same model, trained on the same deliberately small training set, once plainly (the "
            "baseline) and once with each remedy against overfitting. In each panel, the distance "
            'between the <span class="train">training</span> and <span class="val">validation</span> '
            "curves is overfitting: the model learns its training examples by heart. A remedy works "
            "when it narrows the gap (train minus test accuracy) without lowering test accuracy.")
    variants = _lab_variants(run.lab)
    scale, gaps = _lab_scale(variants), _lab_gaps(variants)
    unit = "points" if scale == 100 else "units"
    names = [str(v.get("name", _("variant {i}").format(i=i + 1))) for i, v in enumerate(variants)]
    body = [_img(figures.overfitting_lab_curves(variants), _("training and validation accuracy of each variant"))]
    facts = [_(label).format(n=_fmt(run.lab[key])) for key, label in _LAB_FACTS if run.lab.get(key) is not None]
    if facts:
        aside = _("{facts}; the first variant is the baseline.").format(facts=_e(_(", ").join(facts)))
        body.append(f'<p class="aside">{aside}</p>')
    rows, with_loss = [], all("loss_gap" in v for v in variants)
    for i, (variant, gap) in enumerate(zip(variants, gaps)):
        if i == 0:
            change = '<span class="sub">' + _e(_("baseline")) + "</span>"
        elif math.isfinite(gap) and math.isfinite(gaps[0]):
            delta = scale * (gap - gaps[0])
            css = "narrower" if delta < 0 else ("wider" if delta > 0 else "")
            change = f'<span class="{css}">{delta:+.1f}</span>'.replace("-", "−")
        else:
            change = "—"
        row = [f"<b>{_data(names[i])}</b>", _data(translated(variant.get("description") or "")),
               _e(_fmt(_as_float(variant.get("train_accuracy")), "accuracy")),
               _e(_fmt(_as_float(variant.get("test_accuracy")), "accuracy")),
               _e(f"{scale * gap:.1f}" if math.isfinite(gap) else "—"), change]
        if with_loss:  # test loss minus train loss: a memorising model is confidently wrong, which accuracy hides
            row += [_e(_fmt(_as_float(variant.get("test_loss")))), _e(_fmt(_as_float(variant.get("loss_gap"))))]
        rows.append(row)
    header = [_("variant"), _("what changes"), _("train accuracy"), _("test accuracy"),
              _("gap (points)") if scale == 100 else _("gap (units)"), _("gap vs baseline")]
    body.append(_table(header + ([_("test loss"), _("loss gap")] if with_loss else []), rows, "numbers"))
    finite_gaps = [(g, n) for g, n in zip(gaps, names) if math.isfinite(g)]
    tests = [(_as_float(v.get("test_accuracy")), n) for v, n in zip(variants, names)]
    tests = [(t, n) for t, n in tests if math.isfinite(t)]
    if finite_gaps and tests:
        gap, gap_name = min(finite_gaps, key=lambda p: p[0])  # ties: the first listed
        test, test_name = max(tests, key=lambda p: p[0])
        baseline = f"{scale * gaps[0]:.1f}" if math.isfinite(gaps[0]) else "—"
        if gap_name == test_name:
            text = (_("{name} has both the smallest gap ({gap} points, baseline {baseline}) and the best test accuracy ({test}).")
                    if scale == 100 else
                    _("{name} has both the smallest gap ({gap} units, baseline {baseline}) and the best test accuracy ({test})."))
            text = text.format(name=gap_name, gap=f"{scale * gap:.1f}", baseline=baseline, test=_fmt(test, "accuracy"))
        else:
            text = (_("Smallest gap: {gap_name} ({gap} points, baseline {baseline}). Best test accuracy: {test_name} ({test}).")
                    if scale == 100 else
                    _("Smallest gap: {gap_name} ({gap} units, baseline {baseline}). Best test accuracy: {test_name} ({test})."))
            text = text.format(gap_name=gap_name, gap=f"{scale * gap:.1f}", baseline=baseline, test_name=test_name,
                               test=_fmt(test, "accuracy"))
        body.append(f'<p class="lead">{_e(text)}</p>')
    body.append(_img(figures.gap_bars(names, [scale * g for g in gaps], unit), _("overfitting gap per variant")))
    return _section("overfitting-lab", _("Overfitting lab"), how, "".join(body))


REPORT = KindReport("overfitting_lab", files=("lab.json",), result_file="lab.json",
                    missing={"lab.json": N_("no variants of the overfitting lab to compare")},
                    sections=(Section("overfitting-lab", N_("Overfitting lab"), _lab_section, lambda run: run.lab is not None, order=62),),
                    headline=_headline, facts=_facts)
register(Kind("overfitting_lab", run, N_("one model on a small training set, plain and with each remedy against overfitting"),
              section="lab", config=LabConfig, report=REPORT, order=30,
              smoke=("overfitting-lab", ("dataset=digits", "epochs=1", "lab.train_size=100"))))
