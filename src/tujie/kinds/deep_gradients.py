"""The `deep_gradients` kind: vanishing gradients made visible in a 20-layer MLP (book chapter 3.1).

The measuring is `tujie.fundamentals.deep_gradients.compare` (one batch of the recipe's images,
one backward pass per variant, ‖∂L/∂W‖ per layer); this module registers the kind, its
`deep_gradients:` section and its report section. Writes deep_gradients.json.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field, field_validator

from .._io import write_json
from ..config import Strict
from ..i18n import N_, _, ngettext
from ..report import KindReport, Section
from ..report.format import _data, _e, _img, _list, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register


class GradientVariant(Strict):
    name: str
    activation: str = "sigmoid"
    init: str = Field("default", pattern="^(default|xavier|he)$", description="default (torch's), xavier or he")
    batch_norm: bool = False

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, name: str) -> str:
        from ..layers.activations import ACTIVATIONS

        if name.lower().replace("-", "_") not in ACTIVATIONS:  # refused before the run directory is made
            raise ValueError(f"unknown activation {name!r}; known: {', '.join(sorted(ACTIVATIONS))}")
        return name


_DEFAULT_VARIANTS = [GradientVariant(name="sigmoid", activation="sigmoid"),
                     GradientVariant(name="sigmoid + xavier", activation="sigmoid", init="xavier"),
                     GradientVariant(name="sigmoid + batch norm", activation="sigmoid", batch_norm=True),
                     GradientVariant(name="relu", activation="relu"),
                     GradientVariant(name="relu + he", activation="relu", init="he"),
                     GradientVariant(name="relu + batch norm", activation="relu", batch_norm=True)]


class DeepGradientsConfig(Strict):
    depth: int = Field(20, ge=2, le=200, description="weight layers: depth − 1 hidden layers and the output layer")
    width: int = Field(64, ge=1, description="units per hidden layer")
    batch_size: int = Field(256, ge=2, description="training images in the one batch measured")
    repeats: int = Field(3, ge=1, description="fresh initialisations averaged (geometric mean)")
    variants: list[GradientVariant] = Field(default_factory=lambda: list(_DEFAULT_VARIANTS), min_length=1)


def run(context: RunContext) -> dict:
    """Measure per-layer gradient norms of each variant on one batch; write deep_gradients.json."""
    from ..fundamentals.deep_gradients import compare

    section = context.config.deep_gradients or DeepGradientsConfig()
    data, run_dir = context.open()
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(context.config.seed))
    x, y = data.train.x[order[: section.batch_size]], data.train.y[order[: section.batch_size]]  # (batch, ...), (batch,)
    context.say(ngettext("Deep gradients: a {depth}-layer MLP, {n} variant, one batch of {batch} images",
                         "Deep gradients: a {depth}-layer MLP, {n} variants, one batch of {batch} images",
                         len(section.variants)).format(
        depth=section.depth, n=len(section.variants), batch=len(x)))
    with one_thread():  # 64-unit layers: on a busy 2-core machine two threads took 36 s where one takes 0.3 s
        variants = compare(x, y, [v.model_dump() for v in section.variants], depth=section.depth, width=section.width,
                           num_classes=data.num_classes, repeats=section.repeats, seed=context.config.seed)
    for v in variants:
        context.say(_("{name}: first layer {first}, last layer {last}, ratio {ratio}").format(
            name=f"{v['name']:>22}", first=f"{v['first']:.3g}", last=f"{v['last']:.3g}", ratio=f"{v['ratio']:.3g}"))
    write_json(run_dir / "deep_gradients.json", {"depth": section.depth, "width": section.width, "batch_size": len(x),
                                                 "repeats": section.repeats, "dataset": context.config.data.name,
                                                 "variants": variants})
    results = {f"{_key(v['name'])}_first_to_last": v["ratio"] for v in variants}
    by_name = {v["name"]: v for v in variants}
    if "sigmoid" in by_name and "relu + he" in by_name:  # how many decades He-initialised ReLU gains at layer 1
        results["relu_he_over_sigmoid_first_layer_decades"] = math.log10(by_name["relu + he"]["first"] / by_name["sigmoid"]["first"])
    return {"results": results}


def _key(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_").replace("___", "_")


# ----------------------------------------------------------------------------------- report
_INITS = {"default": N_("torch default"), "xavier": N_("Xavier (Glorot)"), "he": N_("He (Kaiming)")}


def _deep_gradients_section(run: RunFiles) -> str:
    from ..plots.fundamentals_gallery import layer_gradient_lines

    how = _("One batch of real images, one backward pass through a fresh deep MLP per variant. Each line is the "
            "norm of the loss's gradient with respect to one layer's weights, the input layer on the left (log "
            "scale: one grid line is ten times). By the chain rule the gradient reaching layer 1 is a product of "
            "one factor per layer above it; with sigmoid each factor holds σ′ ≤ 1/4, so the lines fall by decades "
            "towards the input: the early layers hardly learn. He initialisation keeps ReLU's factors near 1; batch "
            "normalisation rescales every layer's input and keeps the gradient flowing even through sigmoids.")
    result = run.deep_gradients
    variants = _list(result, "variants", "deep_gradients.json")
    rows = []
    for v in variants:
        ratio = float(v.get("ratio", math.nan))
        decades = f"{math.log10(ratio):+.1f}" if ratio > 0 and math.isfinite(ratio) else "—"
        rows.append([f"<b>{_data(v['name'])}</b>", _e(v.get("activation", "")), _e(_(_INITS.get(v.get("init"), v.get("init", "")))),
                     _e(_("yes") if v.get("batch_norm") else _("no")), _e(f"{v.get('first', math.nan):.3g}"),
                     _e(f"{v.get('last', math.nan):.3g}"), _e(f"{ratio:.3g}"), _e(decades)])
    header = [_("variant"), _("activation"), _("initialisation"), _("batch norm"), _("‖∂L/∂W‖ first layer"),
              _("‖∂L/∂W‖ last layer"), _("first / last"), _("decades")]
    body = [_img(layer_gradient_lines(variants), _("gradient norm per layer, one line per variant")), _table(header, rows, "numbers")]
    facts = _("{depth} weight layers of {width} units, one batch of {batch} {dataset} images, geometric mean over {repeats} "
              "initialisations.").format(depth=result.get("depth", "?"), width=result.get("width", "?"),
                                          batch=result.get("batch_size", "?"), dataset=result.get("dataset", "?"),
                                          repeats=result.get("repeats", "?"))
    body.append(f'<p class="aside">{_e(facts)}</p>')
    by_name = {v["name"]: v for v in variants}
    if "sigmoid" in by_name and "relu + he" in by_name:
        gain = by_name["relu + he"]["first"] / by_name["sigmoid"]["first"]
        text = _("At the first layer ReLU with He initialisation receives a gradient {gain} times larger than sigmoid with "
                 "torch's default initialisation.").format(gain=f"{gain:.2g}")
        body.append(f'<p class="lead">{_e(text)}</p>')
    return _section("deep-gradients", _("Gradients through a deep network"), how, "".join(body))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    """First-to-last gradient ratio of the plain sigmoid net and of ReLU with He initialisation."""
    variants = {v.get("name"): v for v in run.deep_gradients.get("variants") or [] if isinstance(v, dict)}
    stats = [(f"{float(variants[name]['ratio']):.2g}", label) for name, label in
             (("sigmoid", _("first / last layer gradient, sigmoid")), ("relu + he", _("first / last layer gradient, ReLU + He")))
             if name in variants and "ratio" in variants[name]]
    return stats + [(v, label) for _metric, v, label in test_stats]


REPORT = KindReport("deep_gradients", files=("deep_gradients.json",), result_file="deep_gradients.json",
                    missing={"deep_gradients.json": N_("the gradient norms per layer")},
                    sections=(Section("deep-gradients", N_("Gradients through a deep network"), _deep_gradients_section,
                                      lambda run: run.deep_gradients is not None, order=61),),
                    headline=_headline)
register(Kind("deep_gradients", run, N_("per-layer gradient norms of a 20-layer MLP: sigmoid against ReLU, initialisations, batch norm"),
              section="deep_gradients", config=DeepGradientsConfig, report=REPORT, order=71,
              smoke=("deep-gradients", ("dataset=digits", "deep_gradients.depth=6", "deep_gradients.repeats=1",
                                        "deep_gradients.batch_size=32"))))
