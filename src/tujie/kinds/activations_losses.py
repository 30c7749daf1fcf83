"""The `activations_losses` kind: the activations and losses of book chapter 3, drawn and measured.

The numbers come from `tujie.fundamentals.gallery` (tujie's own activation and loss objects,
derivatives by torch.autograd); this module registers the kind, its `activations_losses:` section
and its report sections. Writes gallery.json. Trains nothing and reads no data: seconds on a CPU.
"""

from __future__ import annotations

import math

from pydantic import Field

from .._io import write_json
from ..config import Strict
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _img, _list, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register


class ActivationsLossesConfig(Strict):
    threshold: float = Field(0.01, gt=0, lt=1, description="|f'(x)| below this counts as saturated")
    points: int = Field(401, ge=11, le=5001, description="grid points per activation curve")


def run(context: RunContext) -> dict:
    """Compute every curve and the pairing table, write gallery.json."""
    from ..fundamentals.gallery import gallery

    section = context.config.activations_losses or ActivationsLossesConfig()
    with one_thread():  # curves of a few hundred points
        result = gallery(threshold=section.threshold, points=section.points)
    run_dir = context.run_dir
    write_json(run_dir / "gallery.json", result)
    curves = {c["name"]: c for c in result["activations"]}
    pairs = {(p["output"], p["loss"]): p for p in result["pairs"]}
    sigmoid = curves["sigmoid"]
    results = {"sigmoid_max_derivative": sigmoid["max_derivative"], "tanh_max_derivative": curves["tanh"]["max_derivative"],
               "sigmoid_saturates_beyond": min(abs(span[0]) if span[0] > 0 else abs(span[1]) for span in sigmoid["saturated"])
               if sigmoid["saturated"] else math.inf,
               "sigmoid_bce_gradient_when_wrong": abs(pairs[("sigmoid", "bce")]["gradient_when_wrong"]),
               "sigmoid_mse_gradient_when_wrong": abs(pairs[("sigmoid", "mse")]["gradient_when_wrong"])}
    context.say(_("{n} activations and {m} losses drawn; sigmoid′ peaks at {peak}").format(
        n=len(result["activations"]), m=len(result["losses"]), peak=f"{results['sigmoid_max_derivative']:.4f}"))
    return {"results": results}


# ----------------------------------------------------------------------------------- report
_TASKS = {"multiclass": N_("multiclass"), "binary": N_("binary"), "binary (SVM margin)": N_("binary (SVM margin)"),
          "regression": N_("regression")}
_RECEIVES = {"logits (the softmax is inside the loss)": N_("logits (the softmax is inside the loss)"),
             "probabilities": N_("probabilities"), "logits (the sigmoid is inside the loss)": N_("logits (the sigmoid is inside the loss)"),
             "scores, targets ±1": N_("scores, targets ±1"), "values": N_("values")}
_SOURCES = {"tujie": N_("tujie (not in the seeds)")}


def _source(source) -> str:
    text = str(source)
    return _(_SOURCES[text]) if text in _SOURCES else _("seed {where}").format(where=text)


def _number(value) -> str:
    if value is None:
        return "—"
    value = float(value)
    return f"{value:.3g}" if math.isfinite(value) else "—"


def _activations_section(run: RunFiles) -> str:
    from ..plots.fundamentals_gallery import activation_gallery

    how = _("Each panel is one activation as tujie computes it (the name a recipe gives), with its derivative "
            "f′ taken by autograd. Where f′ is almost zero (shaded: |f′| below the threshold) the gradient "
            "passing back through a neuron is cut a hundredfold or more: sigmoid and tanh saturate on both "
            "sides, which is the vanishing gradient of section 3.1.1; ReLU is zero for every negative input (a "
            "neuron stuck there no longer learns), Leaky ReLU keeps a small slope. Softmax is drawn as its first "
            "output over the logits (x, 0), which is the sigmoid.")
    curves = _list(run.gallery, "activations", "gallery.json")
    threshold = run.gallery.get("threshold", 0.01)
    rows = []
    for c in curves:
        spans = _(", ").join(f"[{a:.2f}, {b:.2f}]" for a, b in c.get("saturated") or []) or _("nowhere")
        low, high = c.get("range") or [math.nan, math.nan]
        rows.append([f"<b>{_e(c['name'])}</b>", _e(_source(c.get("source"))), _e(f"({_number(low)}, {_number(high)})"),
                     _e(_number(c.get("max_derivative"))), _e(spans)])
    header = [_("activation"), _("named in"), _("output range on the grid"), _("largest |f′|"),
              _("saturated where |f′| < {t}").format(t=threshold)]
    body = _img(activation_gallery(curves), _("each activation with its derivative")) + _table(header, rows, "numbers")
    return _section("activations", _("Activations and their derivatives"), how, body)


def _losses_section(run: RunFiles) -> str:
    from ..plots.fundamentals_gallery import loss_gallery

    how = _("Each loss as tujie's get_loss builds it, against one prediction for a fixed target, and its slope "
            "dL/dŷ (dashed, right axis), the error signal that back-propagation starts from. MSE's slope grows "
            "with the error; MAE's, Huber's and hinge's are bounded; binary cross-entropy on a probability "
            "shoots to −1/p as p goes to 0, and on a logit it levels off at −1.")
    curves = _list(run.gallery, "losses", "gallery.json")
    rows = [[f"<b>{_e(c['name'])}</b>", _e(_source(c.get("source"))), _e(_number(c["value"][0])),
             _e(_number(c["derivative"][0])), _e(_number(c["value"][-1]))] for c in curves]
    header = [_("loss"), _("named in"), _("loss at the left end"), _("slope at the left end"), _("loss at the right end")]
    body = _img(loss_gallery(curves), _("each loss against the prediction")) + _table(header, rows, "numbers")
    return _section("losses", _("Losses against the prediction"), how, body)


def _pairs_section(run: RunFiles) -> str:
    how = _("Which output activation goes with which loss (section 3.3). The gradient columns are dL/dz at the "
            "logit z for one example whose target is 1, when the network is confidently wrong (z = −6) and "
            "confidently right (z = +6). A pair that sends back almost nothing when it is wrong learns slowly: "
            "a sigmoid output trained with MSE multiplies the error by σ′(z), which is almost 0 there.")
    rows = []
    for p in _list(run.gallery, "pairs", "gallery.json"):
        learns = p.get("learns_when_wrong")
        verdict = "—" if learns is None else (_("yes") if learns else _("hardly"))
        rows.append([_e(_(_TASKS[p["task"]]) if p["task"] in _TASKS else p["task"]), _e(p["output"]), f"<b>{_e(p['loss'])}</b>",
                     _e(_(_RECEIVES[p["receives"]]) if p["receives"] in _RECEIVES else p["receives"]),
                     _e(_number(p.get("gradient_when_wrong"))), _e(_number(p.get("gradient_when_right"))), _e(verdict)])
    header = [_("task"), _("output activation"), _("loss"), _("the loss receives"), _("dL/dz when wrong"),
              _("dL/dz when right"), _("learns when wrong")]
    body = _table(header, rows, "numbers")
    pairs = {(p["output"], p["loss"]): p for p in run.gallery.get("pairs", [])}
    bce, mse = pairs.get(("sigmoid", "bce")), pairs.get(("sigmoid", "mse"))
    if bce and mse and bce.get("gradient_when_wrong") and mse.get("gradient_when_wrong"):
        ratio = abs(bce["gradient_when_wrong"]) / max(abs(mse["gradient_when_wrong"]), 1e-300)
        text = _("Confidently wrong, sigmoid with cross-entropy sends back {bce}, sigmoid with MSE {mse}: {ratio}× less. "
                 "The book's remark that MSE gives larger gradients holds for a linear output, not behind a sigmoid.").format(
            bce=_number(abs(bce["gradient_when_wrong"])), mse=_number(abs(mse["gradient_when_wrong"])), ratio=f"{ratio:.0f}")
        body += f'<p class="lead">{_e(text)}</p>'
    return _section("loss-pairs", _("Which output goes with which loss"), how, body)


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    """σ′'s peak, and how much less gradient sigmoid+MSE sends back than sigmoid+cross-entropy when wrong."""
    curves = {c.get("name"): c for c in run.gallery.get("activations") or [] if isinstance(c, dict)}
    pairs = {(p.get("output"), p.get("loss")): p for p in run.gallery.get("pairs") or [] if isinstance(p, dict)}
    stats = []
    if "sigmoid" in curves:
        stats.append((_number(curves["sigmoid"].get("max_derivative")), _("largest σ′ (sigmoid's derivative)")))
    bce, mse = pairs.get(("sigmoid", "bce")), pairs.get(("sigmoid", "mse"))
    if bce and mse and bce.get("gradient_when_wrong") and mse.get("gradient_when_wrong"):
        ratio = abs(bce["gradient_when_wrong"]) / max(abs(mse["gradient_when_wrong"]), 1e-300)
        stats.append((f"{ratio:.0f}×", _("more gradient from cross-entropy than MSE behind a sigmoid, when wrong")))
    return stats + [(v, label) for _metric, v, label in test_stats]


def _facts(run: RunFiles) -> list[str]:
    gallery = run.gallery or {}
    return [_("{n} activations, {m} losses").format(n=len(gallery.get("activations") or []), m=len(gallery.get("losses") or []))]


REPORT = KindReport("activations_losses", files=("gallery.json",), result_file="gallery.json",
                    missing={"gallery.json": N_("the activations and losses to draw")},
                    sections=(Section("activations", N_("Activations and their derivatives"), _activations_section,
                                      lambda run: run.gallery is not None, order=61),
                              Section("losses", N_("Losses against the prediction"), _losses_section,
                                      lambda run: run.gallery is not None, order=62),
                              Section("loss-pairs", N_("Which output goes with which loss"), _pairs_section,
                                      lambda run: run.gallery is not None, order=63)),
                    headline=_headline, facts=_facts)
register(Kind("activations_losses", run, N_("the book's activations with their derivatives, its losses, and which go together"),
              section="activations_losses", config=ActivationsLossesConfig, report=REPORT, order=70,
              smoke=("activations-losses", ("activations_losses.points=41",))))
