"""The `backprop_scratch` kind: backpropagation from the chain rule, drawn and checked against torch (book chapters 1–4).

The engine is `tujie.fundamentals.autodiff` (a hundred lines of numpy); this kind
1. builds chapter 4's case (one neuron, then a 2-2-1 network, one example, L = ½(y − ŷ)²) and
   keeps every node's forward value and gradient for the drawings,
2. trains a logistic neuron and a tanh MLP with the engine on 2-D points (moons, circles, XOR),
   keeping the decision boundary at a few epochs,
3. trains the same networks by torch (same initial weights, same batches, plain SGD, float64)
   and records how far apart the two end.
Writes backprop.json; needs no dataset files.
"""

from __future__ import annotations

import time

from pydantic import Field, field_validator

from .._io import write_json
from ..config import Strict
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _as_float, _e, _fmt, _img, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register


class BackpropConfig(Strict):
    datasets: list[str] = Field(["moons", "circles", "xor"], min_length=1, description="2-D point sets: moons, circles, xor")
    points: int = Field(200, ge=8, description="points per set")
    noise: float = Field(0.15, ge=0.0, description="noise of the point sets")
    hidden: list[int] = Field([16, 16], description="the MLP's hidden layer sizes (tanh); the neuron has none")
    epochs: int = Field(150, ge=1)
    lr: float = Field(0.5, gt=0.0, description="plain SGD's learning rate, for both engines")
    batch_size: int = Field(32, ge=1)
    snapshots: int = Field(4, ge=1, le=8, description="epochs at which the boundary is drawn (spread evenly, epoch 0 first)")
    grid: int = Field(40, ge=8, le=200, description="grid points per side of the boundary drawing")
    gradcheck: list[str] = Field(["mlp", "lenet5", "rnn_forecaster"],
                                 description="zoo models given the finite-difference gradient check (plus one with a deliberate slip)")

    # both refused by the config, before the run directory is made
    @field_validator("datasets")
    @classmethod
    def _known_datasets(cls, names: list[str]) -> list[str]:
        from ..fundamentals.backprop import DATASETS

        unknown = [n for n in names if n not in DATASETS]
        if unknown:
            raise ValueError(f"unknown 2-D point set {unknown[0]!r}; known: {', '.join(DATASETS)}")
        return names

    @field_validator("gradcheck")
    @classmethod
    def _known_models(cls, names: list[str]) -> list[str]:
        from .. import models

        unknown = [n for n in names if n not in models.list()]
        if unknown:
            raise ValueError(f"unknown model {unknown[0]!r} for the gradient check; see `tujie models`")
        return names


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    with one_thread():  # networks of a few dozen weights
        return _run(context)


def _run(context: RunContext) -> dict:
    from ..fundamentals import backprop as bp

    settings = context.config.backprop or BackpropConfig()
    seed = context.config.seed
    run_dir = context.run_dir
    worked = {"values": bp.WORKED, "neuron": bp.trace(bp.neuron_graph()), "network": bp.trace(bp.network_graph())}
    # epochs at which the boundary is kept: 0 (the initial weights) and evenly up to the last
    count = settings.snapshots
    shots = tuple(sorted({0, *(round(settings.epochs * (i + 1) / max(1, count - 1)) for i in range(count - 1))})) if count > 1 \
        else (settings.epochs,)
    sets, comparisons = [], []
    for name in settings.datasets:
        x, y = bp.points_2d(name, n=settings.points, noise=settings.noise, seed=seed)
        models = []
        for label, hidden in (("neuron", []), ("mlp", list(settings.hidden))):
            start = time.perf_counter()
            scratch = bp.train_scratch(x, y, hidden, settings.epochs, settings.lr, settings.batch_size, seed, shots, settings.grid)
            scratch_seconds = time.perf_counter() - start
            start = time.perf_counter()
            reference = bp.train_torch(x, y, hidden, settings.epochs, settings.lr, settings.batch_size, seed)
            torch_seconds = time.perf_counter() - start
            difference = bp.largest_difference(scratch["weights"], reference["weights"])
            architecture = "-".join(str(n) for n in [2, *hidden, 1])
            models.append({"name": label, "architecture": architecture, "grid": scratch["grid"], "snapshots": scratch["snapshots"],
                           "loss": scratch["loss"], "torch_loss": reference["loss"]})
            comparisons.append({"dataset": name, "model": label, "architecture": architecture, "accuracy": scratch["accuracy"],
                                "torch_accuracy": reference["accuracy"], "max_weight_difference": difference,
                                "loss": scratch["loss"][-1], "torch_loss": reference["loss"][-1],
                                "seconds": scratch_seconds, "torch_seconds": torch_seconds})
            context.say(_("{dataset} {model} ({architecture}): accuracy {accuracy} (torch {torch}), largest weight difference {diff}").format(
                dataset=name, model=label, architecture=architecture, accuracy=f"{scratch['accuracy']:.3f}",
                torch=f"{reference['accuracy']:.3f}", diff=f"{difference:.1e}"))
        sets.append({"name": name, "x": x.round(4).tolist(), "y": y.astype(int).tolist(), "models": models})
    checks = _gradchecks(settings.gradcheck, seed, context.say)
    write_json(run_dir / "backprop.json", {"settings": settings.model_dump(), "worked": worked, "datasets": sets,
                                           "comparison": comparisons, "gradcheck": checks})
    results = {"max_weight_difference": max(c["max_weight_difference"] for c in comparisons),
               "same_accuracy": float(all(c["accuracy"] == c["torch_accuracy"] for c in comparisons))}
    for c in comparisons:
        results[f"{c['dataset']}_{c['model']}_accuracy"] = c["accuracy"]
    results["worked_loss"] = worked["network"]["nodes"][-1]["value"]
    results["gradcheck_worst_error"] = max((c["worst_error"] for c in checks if not c["slipped"]), default=0.0)
    return {"results": results, "backprop": comparisons}


def _gradchecks(names: list[str], seed: int, say) -> list[dict]:
    """The finite-difference check on each named zoo model (a batch of 2 of its example input), then on `SlippedModel`."""
    import torch

    from .. import models
    from ..fundamentals.gradcheck import SlippedModel, gradcheck

    checks = []
    for name in [*names, None]:
        torch.manual_seed(seed)
        model = models.create(name) if name else SlippedModel()
        inputs = models.example_batch(name, 2)[0] if name else torch.randn(2, 3)
        start = time.perf_counter()
        result = gradcheck(model, inputs, entries=8)
        worst_name, worst = result.worst
        checks.append({"model": name or "slipped_square", "slipped": name is None, "ok": result.ok, "worst": worst_name,
                       "worst_error": worst, "checked": sum(result.checked.values()), "skipped": sum(result.skipped.values()),
                       "tensors": len(result.errors), "failing": result.failing(), "seconds": time.perf_counter() - start})
        say(_("gradient check of {model}: largest relative error {error} ({name})").format(
            model=name or "slipped_square", error=f"{worst:.1e}", name=worst_name))
    return checks


# ----------------------------------------------------------------------------------- report
_POINT_SETS = {"moons": N_("two moons"), "circles": N_("two circles"), "xor": N_("XOR")}
_NETWORKS = {"neuron": N_("neuron"), "mlp": N_("MLP")}


def _named(table: dict, key) -> str:
    """A point set's or network's name in the report's language (an unknown one as written)."""
    return _(table[key]) if key in table else str(key)


def _leaf_order(node: dict) -> tuple:
    """Inputs, then weights, then biases, each by number: x1 x2 w1 … w6 b1 b2."""
    label = str(node.get("label", ""))
    return ("xwb".find(label[:1]) % 4, int(label[1:]) if label[1:].isdigit() else 0, label)


def _graph_section(run: RunFiles) -> str:
    from ..plots.graph import computation_graph

    how = _("Chapter 4's case, computed by the scratch engine: each box is one node of the computation graph, "
            "its forward value in black and its gradient ∂L/∂node in red. Backpropagation starts at the loss "
            "with ∂L/∂L = 1 and walks the arrows backwards; at every node the chain rule multiplies the "
            "gradient that arrived by the node's local derivative (for a product w·x: ∂/∂w = x). The book "
            "gives no numbers, so the numbers are M. Mazur's worked example (2015), cut to one output: "
            "x = (0.05, 0.10), first-layer weights 0.15, 0.20, 0.25, 0.30 with bias 0.35, output weights "
            "0.40, 0.45 with bias 0.60, target y = 0.01, loss L = ½(y − ŷ)².")
    worked = run.backprop["worked"]
    body = []
    for key, title in (("neuron", _("One sigmoid neuron")), ("network", _("A 2-2-1 sigmoid network"))):
        graph = worked[key]
        body.append(f"<h3>{_e(title)}</h3>")
        body.append(_img(computation_graph(graph["nodes"], graph["edges"]), _("computation graph with values and gradients")))
        leaves = sorted((n for n in graph["nodes"] if n.get("leaf")), key=_leaf_order)
        rows = [[_e(n["label"]), _e(_fmt(_as_float(n["value"]))), _e(f"{_as_float(n['grad']):.6g}")] for n in leaves]
        body.append(_table([_("input or weight"), _("value"), _("gradient ∂L/∂·")], rows, "numbers"))
    return _section("backprop-graph", _("The computation graph, forward and backward"), how, "".join(body))


def _boundary_section(run: RunFiles) -> str:
    from ..plots import figure_label
    from ..plots.boundary import decision_boundaries

    how = _("Each row is one network trained by the scratch engine with plain SGD; each panel is its decision "
            "boundary at one epoch (epoch 0: the random initial weights). Shading is the predicted probability "
            "of the red class, the black line is where it is one half. A single neuron can only draw a straight "
            "line: it fails on circles and XOR, which a hidden layer bends its boundary around.")
    body = []
    for data in run.backprop["datasets"]:
        rows = [{"name": f"{figure_label(_NETWORKS.get(m['name'], m['name']))} {m['architecture']}", "xs": m["grid"]["xs"], "ys": m["grid"]["ys"],
                 "snapshots": m["snapshots"]} for m in data["models"]]
        body.append(f"<h3>{_e(_named(_POINT_SETS, data['name']))}</h3>")
        body.append(_img(decision_boundaries(rows, data["x"], data["y"]), _("decision boundary over the epochs")))
    return _section("backprop-boundaries", _("Decision boundaries over the epochs"), how, "".join(body))


def _versus_section(run: RunFiles) -> str:
    how = _("The same networks trained again by torch (nn.Linear, torch.optim.SGD): the same initial weights, "
            "the same batches in the same order, float64. If the scratch engine's gradients are right, the "
            "two end at the same weights, up to float64 rounding (differences of order 1e-15), and so at the same accuracy.")
    rows = []
    for c in run.backprop["comparison"]:
        rows.append([_e(_named(_POINT_SETS, c["dataset"])), _e(f"{_named(_NETWORKS, c['model'])} {c['architecture']}"), _e(_fmt(_as_float(c["accuracy"]), "accuracy")),
                     _e(_fmt(_as_float(c["torch_accuracy"]), "accuracy")), _e(f"{_as_float(c['loss']):.4f}"),
                     _e(f"{_as_float(c['torch_loss']):.4f}"), _e(f"{_as_float(c['max_weight_difference']):.1e}")])
    header = [_("point set"), _("network"), _("accuracy, scratch"), _("accuracy, torch"), _("final loss, scratch"),
              _("final loss, torch"), _("largest weight difference")]
    return _section("backprop-versus-torch", _("Scratch engine against torch"), how, _table(header, rows, "numbers"))


def _gradcheck_section(run: RunFiles) -> str:
    how = _("tujie.fundamentals.gradcheck works on any model: each checked weight (and input) is nudged by ±h and "
            "the change of the output gives the slope (f(w + h) − f(w − h)) / 2h, which is compared with the "
            "gradient autograd computed, in float64. A correct backward agrees to about 1e-8. The last row is a "
            "model with a deliberate slip, a custom x² whose backward returns x instead of 2x: every weight before "
            "the slip gets half its gradient, and the check names them. Entries where a ReLU kink lies within "
            "the step are left out (the two step sizes disagree there).")
    rows = []
    for c in run.backprop["gradcheck"]:
        verdict = _("passes") if c.get("ok") else _("fails: {names}").format(names=", ".join(c.get("failing") or []))
        rows.append([_e(c["model"]), _e(str(c.get("tensors", ""))), _e(str(c.get("checked", ""))), _e(str(c.get("skipped", ""))),
                     _e(str(c.get("worst", ""))), _e(f"{_as_float(c.get('worst_error')):.1e}"), _e(verdict)])
    header = [_("model"), _("tensors"), _("entries checked"), _("entries skipped"), _("largest error in"),
              _("relative error"), _("verdict")]
    return _section("backprop-gradcheck", _("Finite-difference gradient check"), how, _table(header, rows, "numbers"))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    comparison = run.backprop["comparison"]
    largest = max(_as_float(c.get("max_weight_difference")) for c in comparison)
    stats = [(f"{largest:.1e}", _("largest weight difference, scratch vs torch"))]
    mlp = [c for c in comparison if c.get("model") == "mlp" and c.get("dataset") == "moons"]
    if mlp:
        stats.append((_fmt(_as_float(mlp[0]["accuracy"]), "accuracy"), _("MLP accuracy on the moons (scratch engine)")))
    return stats


def _applies(run: RunFiles) -> bool:
    return isinstance(run.backprop, dict)


REPORT = KindReport("backprop_scratch", files=("backprop.json",), result_file="backprop.json",
                    missing={"backprop.json": N_("no graphs, boundaries or scratch-versus-torch comparison")},
                    sections=(Section("backprop-graph", N_("The computation graph, forward and backward"), _graph_section, _applies, order=60),
                              Section("backprop-boundaries", N_("Decision boundaries over the epochs"), _boundary_section, _applies,
                                      order=61),
                              Section("backprop-versus-torch", N_("Scratch engine against torch"), _versus_section, _applies, order=62),
                              Section("backprop-gradcheck", N_("Finite-difference gradient check"), _gradcheck_section,
                                      lambda run: _applies(run) and bool(run.backprop.get("gradcheck")), order=63)),
                    headline=_headline)
register(Kind("backprop_scratch", run, N_("backpropagation from the chain rule: graphs drawn, small networks trained, checked against torch"),
              section="backprop", config=BackpropConfig, report=REPORT, order=80,
              smoke=("backprop-scratch", ("backprop.epochs=3", "backprop.points=40", "backprop.datasets=[moons]",
                                          "backprop.hidden=[4]", "backprop.grid=10", "backprop.snapshots=2",
                                          "backprop.gradcheck=[mlp]"))))
