"""The `dp` kind: DP-SGD (Abadi et al., CCS 2016) at several privacy budgets, beside the non-private model (chapter 19).

1. **Check** before any training: the model has no layer DP-SGD cannot train (batch norm:
   refused with its name, or swapped for group norm with `dp.fix_model: true`), and every
   target ε is reachable with these epochs and this sample rate (`tujie.trust.privacy`).
2. **Train** the same model without privacy (plain SGD), then once per target ε with the
   noise multiplier σ that spends exactly that ε at δ (per-sample clipping at `max_grad_norm`,
   Gaussian noise, Poisson batches, the RDP accountant), testing after every epoch.
3. **Report** accuracy against ε next to the non-private model and Abadi et al.'s figures,
   and the ε spent over training.

Writes dp.json. Recipe: mnist-dp.

Example:
    >>> from tujie import kinds
    >>> kinds.get("dp").section
    'dp'
"""

from __future__ import annotations

import math
import time

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _img, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register

# Abadi et al. 2016, MNIST (PCA-60 + 1,000 ReLU units, δ = 1e-5): test accuracy at ε = 0.5, 2, 8
ANCHORS = {0.5: 0.90, 2.0: 0.95, 8.0: 0.97}


class DPConfig(Strict):
    target_epsilons: list[Float] = Field([0.5, 2.0, 8.0], min_length=1, description="one private model per ε (at δ)")
    delta: Float = Field(1e-5, gt=0.0, lt=1.0, description="δ of the (ε, δ) guarantee; keep it below 1 / training samples")
    max_grad_norm: Float = Field(1.0, gt=0.0, description="C: every sample's gradient is clipped to this norm")
    epochs: Int = Field(3, ge=1)
    batch_size: Int = Field(256, ge=1, description="expected batch size; the sample rate is batch_size / training samples")
    lr: Float = Field(0.5, gt=0.0, description="SGD's learning rate of the private models")
    nonprivate_lr: Float = Field(0.1, gt=0.0, description="SGD's learning rate of the non-private model")
    momentum: Float = Field(0.0, ge=0.0, lt=1.0)
    fix_model: bool = Field(False, description="swap batch norm for group norm (opacus ModuleValidator.fix) instead of refusing")
    max_noise: Float = Field(10.0, gt=0.0, description="refuse a budget that needs a larger noise multiplier (the noise would drown the gradients)")


def _key(epsilon: float) -> str:
    return f"{epsilon:g}".replace(".", "_")


def run(context: RunContext) -> dict:
    """Check, then train the non-private model and one DP-SGD model per target ε; write dp.json."""
    from ..errors import ConfigError
    from ..models import create
    from ..trust import privacy

    data = context.data
    config, say = context.config, context.say
    section = config.dp or DPConfig()
    x, y = data.train.x, data.train.y  # (N, 1, 28, 28), (N,)
    x_test, y_test = data.test.x, data.test.y
    n = len(x)
    if section.delta >= 1 / n:
        raise ConfigError(f"δ={section.delta:g} is too large for {n:,} training samples.",
                          expected=f"δ below 1 / {n:,} (a δ of 1/N lets the mechanism reveal one sample outright)",
                          received=f"dp.delta={section.delta:g}", fix="Set dp.delta to 1e-5 or lower.")
    options = dict(config.model.model_extra or {})

    def make_model():
        context.seed()
        model = create(config.model.name, num_classes=data.num_classes, **options)
        model(x[:2])  # sizes lazy layers before opacus looks at them
        return privacy.check_private(model, fix=section.fix_model)

    make_model()  # refuses batch norm before anything is trained
    sample_rate = privacy.sample_rate_of(n, section.batch_size)
    noises = {eps: privacy.noise_for_epsilon(eps, delta=section.delta, sample_rate=sample_rate, epochs=section.epochs,
                                             max_noise=section.max_noise) for eps in section.target_epsilons}
    data, run_dir = context.open()
    started = time.perf_counter()

    def progress(label):
        return lambda row: say(_("{label}, epoch {epoch}: test accuracy {accuracy}, ε = {epsilon}").format(
            label=label, epoch=row["epoch"], accuracy=f"{100 * row['test_accuracy']:.2f}%",
            epsilon="∞" if row["epsilon"] is None else f"{row['epsilon']:.2f}"))

    common = {"epochs": section.epochs, "batch_size": section.batch_size, "momentum": section.momentum, "seed": config.seed}
    with one_thread():
        plain = privacy.train(make_model(), x, y, x_test, y_test, lr=section.nonprivate_lr, say=progress(_("non-private")), **common)
        plain.pop("model")
        runs = []
        for eps, sigma in noises.items():
            say(_("Target ε = {epsilon}: noise multiplier σ = {sigma}").format(epsilon=f"{eps:g}", sigma=f"{sigma:.3f}"))
            result = privacy.train(make_model(), x, y, x_test, y_test, lr=section.lr, noise_multiplier=sigma,
                                   max_grad_norm=section.max_grad_norm, delta=section.delta,
                                   say=progress(_("ε = {epsilon}").format(epsilon=f"{eps:g}")), **common)
            result.pop("model")
            runs.append({"target_epsilon": eps, "noise_multiplier": sigma, **result})
    write_json(run_dir / "dp.json", {
        "model": {"name": config.model.name, "options": options}, "dataset": config.data.name, "train_samples": n,
        "test_samples": len(x_test), "settings": section.model_dump(), "sample_rate": sample_rate,
        "nonprivate": plain, "private": runs,
        "anchors": {"source": "Abadi et al., CCS 2016 (MNIST, δ = 1e-5)", "points": [[e, a] for e, a in ANCHORS.items()]}})
    results = {"test_accuracy_nonprivate": plain["test_accuracy"]}
    for r in runs:
        results[f"dp_accuracy_eps_{_key(r['target_epsilon'])}"] = r["test_accuracy"]
        results[f"dp_epsilon_spent_eps_{_key(r['target_epsilon'])}"] = r["epsilon"]
    return {"results": results, "timings": {"total_s": time.perf_counter() - started}}


# ----------------------------------------------------------------------------------- report
def _pct(value) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{100 * value:.2f}%"


def _accuracy_section(run: RunFiles) -> str:
    from ..plots.privacy import accuracy_vs_epsilon

    d = run.dp
    private, plain = d.get("private") or [], d.get("nonprivate") or {}
    anchors = (d.get("anchors") or {}).get("points") or []
    how = _("Test accuracy of each private model (trained with DP-SGD until it had spent its target ε at δ = {delta}) "
            "against the ε it spent, beside the same model trained without privacy (dashed) and Abadi et al.'s MNIST "
            "figures (crosses; a larger model, trained far longer). Smaller ε is stronger privacy: more noise per step, "
            "so lower accuracy. The gap to the dashed line is the price of privacy.").format(
        delta=_e(f"{(d.get('settings') or {}).get('delta', 1e-5):g}"))
    figure = _img(accuracy_vs_epsilon([(r.get("epsilon"), r.get("test_accuracy")) for r in private], plain.get("test_accuracy"),
                                      anchors), _("accuracy against ε"))
    anchor_of = {float(e): a for e, a in anchors}
    rows = [[_e(f"{r.get('target_epsilon'):g}"), _e(f"{r.get('noise_multiplier', math.nan):.3f}"),
             _e(f"{r.get('epsilon') or math.nan:.3f}"), _e(_pct(r.get("test_accuracy"))),
             _e(_pct(anchor_of.get(float(r.get("target_epsilon", math.nan))))), _e(f"{r.get('seconds', math.nan):.0f}")]
            for r in private]
    rows.append([_e("∞"), _e("0"), _e("∞"), _e(_pct(plain.get("test_accuracy"))), "", _e(f"{plain.get('seconds', math.nan):.0f}")])
    table = _table([_("target ε"), _("noise multiplier σ"), _("ε spent"), _("test accuracy"), _("Abadi et al."), _("seconds")],
                   rows, "numbers")
    return _section("dp-accuracy", _("Accuracy against privacy"), how, figure + table)


def _budget_section(run: RunFiles) -> str:
    from ..plots.privacy import epsilon_over_training

    d = run.dp
    s = d.get("settings") or {}
    how = _("The ε each private model had spent after every epoch (the accountant's bound at δ = {delta}): it grows "
            "with every step, faster with less noise, and training stops when it reaches the target. Settings: "
            "clipping norm C = {clip}, expected batch {batch} of {n} samples (sample rate {rate}), {epochs} epochs, "
            "learning rate {lr}, Poisson sampling, the RDP accountant.").format(
        delta=_e(f"{s.get('delta', 1e-5):g}"), clip=_e(s.get("max_grad_norm")), batch=_e(s.get("batch_size")),
        n=_e(f"{d.get('train_samples', 0):,}"), rate=_e(f"{d.get('sample_rate', math.nan):.4f}"), epochs=_e(s.get("epochs")),
        lr=_e(s.get("lr")))
    curves = {f"ε = {r.get('target_epsilon'):g}": [(h["epoch"], h.get("epsilon"), h.get("test_accuracy"))
                                                   for h in r.get("history") or []] for r in d.get("private") or []}
    return _section("dp-budget", _("Privacy spent over training"), how,
                    _img(epsilon_over_training(curves), _("ε spent and test accuracy per epoch")))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    d = run.dp
    stats = [(_pct(r.get("test_accuracy")), _("accuracy at ε = {epsilon}").format(epsilon=f"{r.get('epsilon') or math.nan:.2f}"))
             for r in d.get("private") or []]
    return stats + [(_pct((d.get("nonprivate") or {}).get("test_accuracy")), _("without privacy"))]


def _facts(run: RunFiles) -> list[str]:
    d = run.dp
    return [_("{model} on {dataset}: {n} training samples, DP-SGD through opacus").format(
        model=(d.get("model") or {}).get("name"), dataset=d.get("dataset"), n=f"{d.get('train_samples', 0):,}")]


def _has(run: RunFiles) -> bool:
    return run.dp is not None


REPORT = KindReport("dp", files=("dp.json",), result_file="dp.json", missing={"dp.json": N_("the private and non-private runs' results")},
                    sections=(Section("dp-accuracy", N_("Accuracy against privacy"), _accuracy_section, _has, order=61),
                              Section("dp-budget", N_("Privacy spent over training"), _budget_section, _has, order=62)),
                    headline=_headline, facts=_facts)
register(Kind("dp", run, N_("differentially private training (DP-SGD through opacus) at several ε, beside the non-private model"),
              section="dp", config=DPConfig, report=REPORT, order=80,
              smoke=("mnist-dp", ("data.limit=512", "dp.epochs=1", "dp.batch_size=64", "dp.target_epsilons=[8]", "dp.delta=1e-4")),
              smoke_needs_data=True))
