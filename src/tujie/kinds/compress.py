"""The `compress` kind: one trained model made smaller every way of chapter 15, measured side by side.

1. **The base.** `compress.base` names a trained run directory (or a recipe: its newest run); its
   config builds the model and its best weights are loaded. Without it, the recipe's model is
   trained first, as `tujie run` would (base.safetensors). `tujie compress RUN_DIR` is this kind
   with RUN_DIR as the base (`compress_config`, run by `tj.compress_run`).
2. **Every method on a copy of the same base** (`compress.methods`):
   - `prune`: Han et al.'s iterative magnitude pruning, layer-wise, to `sparsity` in `steps`
     rounds, each followed by `finetune_epochs` with the masks applied;
   - `prune_global`: the same with one global threshold (`global_unstructured`);
   - `channels`: structured pruning of `channel_ratio` of the channels (torch-pruning's
     dependency graph), then fine-tuned: the only pruning that makes the dense model smaller and faster;
   - `lowrank`: SVD factorisation of Linear and Conv2d layers keeping `energy` of Σσ² (or
     `rank_share` of the weights), then fine-tuned;
   - `distill`: a smaller `student` model trained with Hinton et al.'s soft targets
     (`temperature`, `alpha`) from the base, beside the same student trained alone (`student` row);
   - `quantize_dynamic`, `quantize_static` (`calibration_batches` of training images) and `qat`
     (quantization-aware fine-tuning, `qat_epochs`): int8 on the CPU.
3. **Measured alike** (`tujie.compress.measure`): test accuracy and error, parameters (all and
   nonzero), size of the state dict in MB, latency at batch 1 and 64 (median of
   `latency_repeats`), speed-up against the base in the same process.

Writes compress.json, base.safetensors (when it trained the base) and compressed-METHOD.safetensors
for each float model (the quantized ones are measured, not saved: their int8 weights live in
packed torch objects that safetensors does not hold). The report: one table with the anchors of
the papers beside it, the Pareto picture, sparsity per layer, the ranks of the factorisation.

Example:
    >>> from tujie import kinds
    >>> kinds.get("compress").section
    'compress'
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..errors import ConfigError, closest
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _img, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register

METHODS = ("prune", "prune_global", "channels", "lowrank", "distill", "quantize_dynamic", "quantize_static", "qat")
NAMES = {"base": N_("base model (trained)"), "prune": N_("magnitude pruning, layer-wise, iterative"),
         "prune_global": N_("magnitude pruning, global, iterative"), "channels": N_("channel pruning (structured)"),
         "lowrank": N_("low-rank SVD factorisation"), "student": N_("student alone (no teacher)"),
         "distill": N_("distilled student (soft targets)"), "quantize_dynamic": N_("dynamic int8"),
         "quantize_static": N_("static int8 (calibrated)"), "qat": N_("quantization-aware training (int8)")}
WEIGHT_FILES = ("best.safetensors", "last.safetensors", "base.safetensors")


class CompressConfig(Strict):
    methods: list[str] = Field(list(METHODS), min_length=1, description=", ".join(METHODS))
    base: str | None = Field(None, description="a trained run directory, or a recipe name (its newest run in output_dir); "
                                               "None: train the recipe's model first")
    sparsity: Float = Field(0.92, ge=0.0, lt=1.0, description="prune, prune_global: share of the weights set to zero "
                                                               "(0.92: about 1/12 kept, as Han et al.)")
    steps: Int = Field(3, ge=1, description="prune, prune_global: prune–fine-tune rounds")
    finetune_epochs: Int = Field(1, ge=0, description="epochs of fine-tuning after each pruning round, channel pruning and low-rank")
    finetune_lr: Float | None = Field(None, gt=0.0, description="fine-tuning learning rate; None: the recipe's lr / 10")
    channel_ratio: Float = Field(0.5, ge=0.0, lt=1.0, description="channels: share of each group's channels removed")
    energy: Float = Field(0.9, gt=0.0, le=1.0, description="lowrank: share of Σσ² each factorised layer keeps")
    rank_share: Float | None = Field(None, gt=0.0, le=1.0, description="lowrank: rank from this share of a layer's weights "
                                                                        "instead of energy")
    student: dict = Field({"name": "mlp", "hidden": [64]}, description="distill: the student's model section (a smaller model)")
    student_epochs: Int | None = Field(None, ge=1, description="distill: epochs of both students; None: the recipe's epochs")
    student_lr: Float | None = Field(None, gt=0.0, description="distill: the students' learning rate; None: the recipe's")
    temperature: Float = Field(4.0, gt=0.0, description="distill: softmax temperature T of the soft targets")
    alpha: Float = Field(0.9, ge=0.0, le=1.0, description="distill: weight of the soft-target loss (1 - alpha: the labels)")
    calibration_batches: Int = Field(10, ge=1, description="quantize_static: training batches that fix the activation ranges")
    qat_epochs: Int = Field(1, ge=1, description="qat: epochs of quantization-aware fine-tuning")
    latency_repeats: Int = Field(30, ge=1, description="timed forward passes per batch size (the median is reported)")


def _check(section: CompressConfig) -> None:
    unknown = [m for m in section.methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"Unknown compression method {unknown[0]!r}. {closest(str(unknown[0]), METHODS)}",
                          expected=f"methods among {', '.join(METHODS)}", received=f"compress.methods={section.methods}",
                          fix="Use --method with one of these names (docs/compress.md says what each does).")


# ------------------------------------------------------------------------------------- the base
def _base_path(config, value: str) -> Path:
    from ._common import newest_run_path

    path = newest_run_path(value, config.output_dir, "compress.base", WEIGHT_FILES, "a run directory")
    if not path.is_dir() or not (path / "config.yaml").is_file() or not any((path / f).is_file() for f in WEIGHT_FILES):
        state = "no such folder" if not path.exists() else "a folder without config.yaml and trained weights"
        raise ConfigError(f"The base run {value!r} is not a trained run directory.",
                          expected=f"a folder written by `tujie run` with config.yaml and {' or '.join(WEIGHT_FILES)}",
                          received=f"{path} ({state})", fix="Train it first (tujie run RECIPE), then pass its run directory.")
    return path


def _load_base(config, path: Path, data):
    """The base run's model with its trained weights; its config must be of the same data."""
    import torch
    import yaml

    from ..train.checkpoint import check_compatible, load_weights
    from . import validate
    from ._common import build_model

    mapping = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
    base_config = validate(mapping if isinstance(mapping, dict) else {})
    if base_config.data.name != config.data.name:
        raise ConfigError(f"The base run {path} was trained on {base_config.data.name}, the compression data is {config.data.name}.",
                          expected="the same dataset", received=f"data.name={config.data.name!r}",
                          fix=f"Leave data.name as the base run's ({base_config.data.name}).")
    model = build_model(base_config, data)
    with torch.no_grad():  # lazy layers take their sizes from one batch
        model.eval()(data.train.x[:2])
    weights_file = next(path / f for f in WEIGHT_FILES if (path / f).is_file())
    weights = load_weights(weights_file)
    check_compatible(weights_file, model, weights)
    model.load_state_dict(weights)
    return model, base_config, weights_file


def _train_base(context: RunContext, data):
    from ..train.builders import build_learner
    from ..train.checkpoint import save_weights
    from ._common import build_model

    config = context.config
    context.seed()
    model = build_model(config, data)
    learner = build_learner(config, model, context.callbacks, num_classes=data.num_classes)
    validation = (data.val.x, data.val.y) if data.val is not None else None
    learner.fit((data.train.x, data.train.y), epochs=config.train.epochs, batch_size=config.train.batch_size,
                validation_data=validation, verbose=context.verbose)
    save_weights(context.run_dir / "base.safetensors", model)
    return model.cpu().eval()


# ------------------------------------------------------------------------------------- methods
def _finetuner(context: RunContext, data, section: CompressConfig, epochs: int):
    """`finetune(model)`: `epochs` of the recipe's optimizer at a tenth of its rate (no schedule), on the training set."""
    from ..train.builders import build_learner

    config = context.config
    lr = section.finetune_lr or (config.optimizer.lr or 1e-3) / 10
    tuned = config.model_copy(update={"optimizer": config.optimizer.model_copy(update={"lr": lr}),
                                      "scheduler": config.scheduler.model_copy(update={"name": None})})

    def finetune(model):
        if epochs < 1:
            return model
        learner = build_learner(tuned, model, num_classes=data.num_classes)
        learner.fit((data.train.x, data.train.y), epochs=epochs, batch_size=config.train.batch_size, verbose=0)
        return model.cpu()

    return finetune


def _optimizer_options(config) -> dict:
    """The recipe's optimizer settings besides its name and rate (SGD's momentum, weight decay), for every training here."""
    o = config.optimizer
    return {"momentum": o.momentum, "nesterov": o.nesterov, "weight_decay": o.weight_decay}


def _train_student(context, data, section, teacher, distilled: bool):
    """The distillation student, trained with the teacher's soft targets, or alone (`alpha=0`: the labels only).

    Both go through the same `compress.distill.distill` loop with the same seed, epochs and
    optimizer, so the soft targets are the only difference between the two rows.
    """
    from ..compress import distill as distillation
    from ..config import ModelConfig
    from ._common import build_model

    config = context.config
    student_config = config.model_copy(update={"model": ModelConfig(**section.student)})
    context.seed()
    student = build_model(student_config, data)
    student, _history = distillation.distill(
        teacher, student, (data.train.x, data.train.y), temperature=section.temperature,
        alpha=section.alpha if distilled else 0.0, epochs=section.student_epochs or config.train.epochs,
        batch_size=config.train.batch_size, lr=section.student_lr or config.optimizer.lr or 1e-3, optimizer=config.optimizer.name, seed=config.seed,
        learner_options={"optimizer_options": _optimizer_options(config)})
    return student.cpu()


def _compress(method: str, base, context, data, section, notes: dict):
    """A compressed copy of `base` by `method` (the base is never changed); per-method details go into `notes`."""
    from ..compress import lowrank, pruning, quantize

    example = data.test.x[:2]
    finetune = _finetuner(context, data, section, section.finetune_epochs)
    if method in ("prune", "prune_global"):
        model = copy.deepcopy(base)
        say = context.say
        pruning.iterative_pruning(model, section.sparsity, steps=section.steps, scope="global" if method == "prune_global" else "layer",
                                  finetune=finetune, on_step=lambda step, s: say(_("  round {step}/{steps}: {sparsity} of the weights "
                                                                                   "pruned").format(step=step, steps=section.steps,
                                                                                                    sparsity=f"{s:.1%}")))
        notes["sparsity"] = pruning.sparsity_per_layer(model)
        return model
    if method == "channels":
        model = pruning.prune_channels(copy.deepcopy(base), example, section.channel_ratio)
        notes["layers"] = [{"layer": n, "shape": list(m.weight.shape)} for n, m in pruning.prunable_layers(model)]
        return finetune(model)
    if method == "lowrank":
        model = copy.deepcopy(base)
        notes["ranks"] = lowrank.factorize(model, energy=section.energy, share=section.rank_share)
        return finetune(model)
    if method == "quantize_dynamic":
        return quantize.quantize_dynamic(base)
    if method == "quantize_static":
        batch = context.config.train.batch_size
        calibration = [data.train.x[i * batch:(i + 1) * batch] for i in range(section.calibration_batches)]
        model = quantize.quantize_static(base, calibration, example_input=example)
        notes["quantized"] = getattr(model, "report", None)
        return model
    if method == "qat":
        lr = section.finetune_lr or (context.config.optimizer.lr or 1e-3) / 10
        config = context.config
        model = quantize.quantization_aware_training(base, (data.train.x, data.train.y), example_input=example,
                                                     epochs=section.qat_epochs, lr=lr, batch_size=config.train.batch_size,
                                                     optimizer=config.optimizer.name, seed=config.seed,
                                                     learner_options={"optimizer_options": _optimizer_options(config)})
        notes["quantized"] = getattr(model, "report", None)
        return model
    raise AssertionError(method)  # _check refused it


def _paired_latency(model, base, example, section) -> tuple[dict, dict]:
    """Latency of `model` and of `base`, timed in alternating rounds so both see the same load on a shared machine."""
    from ..compress import measure

    rounds = max(1, min(5, section.latency_repeats))
    own: dict[int, list] = {1: [], 64: []}
    theirs: dict[int, list] = {1: [], 64: []}
    for _round in range(rounds):
        for times, timed in ((own, model), (theirs, base)):
            if timed is None:
                continue
            for batch, ms in measure.latency_ms(timed, example, batch_sizes=(1, 64), repeats=max(1, section.latency_repeats // rounds),
                                                warmup=2).items():
                times[batch].append(ms)

    def median(values):
        return sorted(values)[len(values) // 2] if values else None

    return {b: median(v) for b, v in own.items()}, {b: median(v) for b, v in theirs.items()}


def _measure(method: str, model, data, section, base=None, base_row: dict | None = None, seconds: float = 0.0) -> dict:
    """One row of the table. The speed-up divides the base's latency, timed again alongside this model, by this model's."""
    from ..compress import measure

    test = data.test
    latency, base_latency = _paired_latency(model, base, test.x[:64], section)
    accuracy = measure.accuracy(model, test)
    row = {"method": method, "accuracy": accuracy, "error": 1.0 - accuracy, "errors": round((1.0 - accuracy) * len(test)),
           "parameters": measure.parameter_count(model), "nonzero": measure.parameter_count(model, nonzero=True),
           "size_mb": measure.size_mb(model), "latency_1_ms": latency[1], "latency_64_ms": latency[64], "seconds": seconds}
    row["nonzero_mb"] = row["nonzero"] * 4 / 1e6 if method in ("prune", "prune_global") else None
    paired = base_latency if base is not None else latency
    row["speedup_1"] = paired[1] / row["latency_1_ms"]
    row["speedup_64"] = paired[64] / row["latency_64_ms"]
    row["size_ratio"] = (base_row or row)["size_mb"] / row["size_mb"]
    return row


def run(context: RunContext) -> dict:
    """Train or load the base, compress a copy of it every way asked, measure each, write compress.json."""
    import torch

    from ..train.checkpoint import save_weights

    config = context.config
    section = config.compress or CompressConfig()
    _check(section)
    data = context.data
    if data.test is None:
        raise ConfigError("Compression needs a test split to measure accuracy on.", expected="a dataset with a test split",
                          received=f"data.name={config.data.name!r}", fix="Use a classification dataset with a test set (mnist, cifar10).")
    base_path = _base_path(config, section.base) if section.base else None
    started = time.perf_counter()
    if base_path is not None:
        base, _config, weights_file = _load_base(config, base_path, data)
        run_dir = context.open()[1]
        context.say(_("Base: {path}").format(path=weights_file))
    else:
        run_dir = context.open()[1]
        context.say(_("Training the base model ({model}) for {epochs} epochs").format(model=config.model.name, epochs=config.train.epochs))
        base = _train_base(context, data)
    base = base.cpu().eval()
    base_row = _measure("base", base, data, section, seconds=time.perf_counter() - started)
    context.say(_("{method}: test accuracy {accuracy:.4f}, {size:.3f} MB").format(
        method=_(NAMES["base"]), accuracy=base_row["accuracy"], size=base_row["size_mb"]))
    rows, details = [base_row], {}
    methods = list(dict.fromkeys(section.methods))
    for method in methods:
        for name in (("student", "distill") if method == "distill" else (method,)):
            context.seed()
            started = time.perf_counter()
            notes: dict = {}
            model = (_train_student(context, data, section, base, distilled=name == "distill") if method == "distill"
                     else _compress(method, base, context, data, section, notes))
            model = model.cpu().eval()
            row = _measure(name, model, data, section, base, base_row, time.perf_counter() - started)
            if not any(t.is_quantized for t in model.state_dict().values() if isinstance(t, torch.Tensor)) \
                    and "quantize" not in name and name != "qat":
                row["saved"] = f"compressed-{name}.safetensors"
                save_weights(run_dir / row["saved"], model)
            rows.append(row)
            details[name] = notes
            context.say(_("{method}: test accuracy {accuracy:.4f}, {size:.3f} MB, {nonzero} nonzero parameters, "
                          "{speedup:.2f}× at batch 64").format(method=_(NAMES[name]), accuracy=row["accuracy"], size=row["size_mb"],
                                                               nonzero=f"{row['nonzero']:,}", speedup=row["speedup_64"]))
    write_json(run_dir / "compress.json", {
        "dataset": config.data.name, "model": config.model.name, "base": str(base_path) if base_path else None,
        "test_samples": len(data.test), "threads": torch.get_num_threads(), "methods": methods,
        "settings": section.model_dump(mode="json"), "rows": rows, "details": details})
    results = {f"{r['method']}_accuracy": r["accuracy"] for r in rows}
    results.update({f"{r['method']}_error": r["error"] for r in rows})
    results.update({f"{r['method']}_size_mb": r["size_mb"] for r in rows})
    results.update({f"{r['method']}_kept_share": r["nonzero"] / max(base_row["nonzero"], 1) for r in rows})
    return {"test": {"accuracy": base_row["accuracy"]}, "results": results, "timings": {"compress_s": time.perf_counter() - started}}


# ------------------------------------------------------------------------------- tujie compress RUN_DIR
def compress_config(run_dir, methods=()) -> dict:
    """`tujie compress RUN_DIR`'s recipe: the trained run's own config, made a compress run with that run as its base.

    The base run's data, model and optimizer stay; `kind: compress` and `compress.base: RUN_DIR` are
    set, `methods` (default: the config's `compress.methods`, else every one) replace the list, and
    the new run goes beside the base (`<recipe>-compress-<time>` in RUN_DIR's parent folder).
    `tj.compress_run(run_dir, methods, overrides)` and the command hand this mapping to the runner.

    Example:
        >>> compress_config("runs/no-such-run")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tujie.errors.ConfigError: The base run 'runs/no-such-run' is not a trained run directory. ...
    """
    import yaml

    folder = Path(run_dir)
    if not (folder / "config.yaml").is_file() or not any((folder / f).is_file() for f in WEIGHT_FILES):
        state = "no such folder" if not folder.exists() else "a folder without config.yaml and trained weights"
        raise ConfigError(f"The base run {str(run_dir)!r} is not a trained run directory.",
                          expected=f"a folder written by `tujie run` with config.yaml and {' or '.join(WEIGHT_FILES)}",
                          received=f"{folder} ({state})", fix="Train it first (tujie run RECIPE), then pass its run directory.")
    mapping = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    if not isinstance(mapping, dict):
        raise ConfigError(f"{folder / 'config.yaml'} is not a run config.", expected="the YAML mapping `tujie run` wrote",
                          received=type(mapping).__name__, fix="Pass a run directory written by `tujie run`.")
    section = dict(mapping.get("compress") or {})
    section["base"] = str(folder)
    if methods:
        section["methods"] = list(methods)
    recipe = str(mapping.get("recipe") or folder.name)
    mapping.update({"kind": "compress", "compress": section, "expected": None, "run_name": None,
                    "output_dir": str(folder.parent), "recipe": recipe if recipe.endswith("-compress") else f"{recipe}-compress"})
    return mapping


# ------------------------------------------------------------------------------------- report
ANCHORS = (("prune", N_("Han et al. 2015: LeNet-300-100 pruned to 1/12 of its weights, error 1.64% → 1.59%")),
           ("distill", N_("Hinton et al. 2015: a small net's 146 MNIST test errors brought to 74 by distillation")),
           ("quantize_dynamic", N_("dynamic int8 quantization of Linear layers: about 4× smaller")))


def _rows(run: RunFiles) -> list[dict]:
    return [r for r in (run.compress or {}).get("rows") or [] if isinstance(r, dict)]


def _label(method: str) -> str:
    return _(NAMES[method]) if method in NAMES else method


def _ms(value) -> str:
    return "—" if value is None else f"{value:.3f}" if value < 1 else f"{value:.2f}"


def _anchor_here(anchor: str, by: dict) -> str | None:
    """What this run measured for an anchor, in the anchor's own terms (None: the method was not run)."""
    base = by.get("base")
    if base is None:
        return None
    if anchor == "prune" and "prune" in by:
        p = by["prune"]
        return _("1/{times} of the weights kept, error {before} → {after}").format(
            times=f"{base['nonzero'] / max(p['nonzero'], 1):.1f}", before=f"{100 * base['error']:.2f}%",
            after=f"{100 * p['error']:.2f}%")
    if anchor == "distill" and "distill" in by and "student" in by:
        return _("{alone} test errors alone → {distilled} distilled").format(alone=by["student"]["errors"], distilled=by["distill"]["errors"])
    if anchor == "quantize_dynamic" and "quantize_dynamic" in by:
        return _("{times}× smaller than the float base").format(times=f"{by['quantize_dynamic']['size_ratio']:.2f}")
    return None


def _table_section(run: RunFiles) -> str:
    data = run.compress
    rows = _rows(run)
    header = [_("method"), _("test accuracy"), _("error"), _("parameters (nonzero)"), _("size (MB)"), _("latency, batch 1 (ms)"),
              _("latency, batch 64 (ms)"), _("speed-up, batch 1 / 64")]
    cells = []
    for r in rows:
        size = f"{r['size_mb']:.3f}"
        if r.get("nonzero_mb") is not None:
            size += " " + _("(nonzero: {mb})").format(mb=f"{r['nonzero_mb']:.3f}")
        count = f"{r['parameters']:,}" if r["nonzero"] == r["parameters"] else f"{r['parameters']:,} ({r['nonzero']:,})"
        cells.append([f"<b>{_e(_label(r['method']))}</b>", f"{100 * r['accuracy']:.2f}%", f"{100 * r['error']:.2f}% ({r['errors']})",
                      _e(count), _e(size), _ms(r["latency_1_ms"]), _ms(r["latency_64_ms"]),
                      f"{r['speedup_1']:.2f}× / {r['speedup_64']:.2f}×"])
    by = {r["method"]: r for r in rows}
    anchors = [[_e(_(text)), _e(_anchor_here(method, by) or _("not run"))] for method, text in ANCHORS]
    how = _("Every method starts from the same trained base model and is measured on the same {n} test samples of {dataset} "
            "({threads} CPU threads). Size is the serialized state dict; latency the median time of one forward pass; "
            "speed-up is the base's latency divided by the method's, the two timed in alternating rounds so that both see the same load. Unstructured pruning "
            "stores its zeros in a dense tensor, so its dense size does not shrink: the nonzero parameters (and their size, "
            "4 bytes each) are what a sparse format would keep, and dense kernels do not run faster on zeros. Channel pruning, "
            "low-rank factorisation and a smaller student really shrink the tensors; int8 stores one byte per weight.").format(
        n=f"{data.get('test_samples', 0):,}", dataset=data.get("dataset", "?"), threads=data.get("threads", "?"))
    body = _table(header, cells, "numbers")
    body += "<h3>" + _e(_("The published anchors beside this run")) + "</h3>"
    body += _table([_("anchor"), _("this run")], anchors)
    return _section("compress", _("Every compression method on one model"), how, body)


def _pareto_section(run: RunFiles) -> str:
    from ..plots.compress import accuracy_pareto

    points = [{"label": r["method"], "accuracy": r["accuracy"], "size_mb": r["size_mb"], "latency_ms": r["latency_64_ms"]}
              for r in _rows(run)]
    how = _("Each point is one method (the star: the base). A point on the green Pareto front has no other method that is both "
            "smaller (or faster) and more accurate; a point behind it is beaten on both counts by one on the front.")
    return _section("compress-pareto", _("Accuracy against size and latency"), how,
                    _img(accuracy_pareto(points), _("accuracy against size and latency")))


def _shaped(row: dict) -> str:
    """A layer's name with its weight's shape, e.g. "1 (300×784)": a Sequential's layers are only numbers."""
    return f"{row['layer']} ({'×'.join(map(str, row.get('shape') or []))})"


def _sparsity_section(run: RunFiles) -> str:
    from ..plots.compress import sparsity_bars

    details = (run.compress or {}).get("details") or {}
    layers = {_label(m): d["sparsity"] for m, d in details.items() if isinstance(d, dict) and d.get("sparsity")}
    shaped = {method: [{**r, "layer": _shaped(r)} for r in rows] for method, rows in layers.items()}
    header = [_("layer"), _("shape"), *layers]
    names = list(dict.fromkeys(r["layer"] for rows in layers.values() for r in rows))
    table = [[_e(name), _e(next((" × ".join(map(str, r["shape"])) for rows in layers.values() for r in rows if r["layer"] == name), "")),
              *(next((f"{100 * r['sparsity']:.1f}%" for r in rows if r["layer"] == name), "—") for rows in layers.values())]
             for name in names]
    how = _("The share of each layer's weights set to zero. Layer-wise pruning cuts every layer alike; a global threshold "
            "takes more from the big, redundant layers (the first fully connected layer of an MLP) and spares the small ones, "
            "as Han et al. found: the first layer tolerates the most pruning.")
    png = sparsity_bars(shaped)
    return _section("compress-sparsity", _("Sparsity per layer"), how,
                    (_img(png, _("sparsity per layer")) if png else "") + _table(header, table, "numbers"))


def _ranks_section(run: RunFiles) -> str:
    ranks = (((run.compress or {}).get("details") or {}).get("lowrank") or {}).get("ranks") or []
    header = [_("layer"), _("shape"), _("rank kept / full"), _("energy kept"), _("weights before → after")]
    rows = [[_e(r["layer"]), _e(" × ".join(map(str, r["shape"]))), f"{r['rank']} / {r['full_rank']}", f"{100 * r['energy']:.1f}%",
             _e(f"{r['parameters']:,} → {r['factorized_parameters']:,}" if r["replaced"] else _("{n:,} (left whole: not smaller)").format(
                 n=r["parameters"]))] for r in ranks]
    how = _("The rank each layer kept: the smallest whose singular values hold the asked share of Σσ² (the energy). A layer "
            "is replaced by two thin ones only when r·(m + n) is smaller than m·n, for an m × n weight.")
    return _section("compress-ranks", _("Low-rank factorisation: the rank per layer"), how, _table(header, rows, "numbers"))


def _has_details(key: str):
    def applies(run: RunFiles) -> bool:
        details = (run.compress or {}).get("details") or {}
        return any(isinstance(d, dict) and d.get(key) for d in details.values())
    return applies


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    by = {r["method"]: r for r in _rows(run)}
    stats = []
    if "base" in by:
        stats.append((f"{100 * by['base']['accuracy']:.2f}%", _("base test accuracy")))
    smallest = min((r for r in by.values() if r["method"] != "base"), key=lambda r: r["size_mb"], default=None)
    if smallest is not None:
        stats.append((f"{smallest['size_ratio']:.1f}×", _("smaller: {method}, {accuracy}").format(
            method=_label(smallest["method"]), accuracy=f"{100 * smallest['accuracy']:.2f}%")))
    return stats


REPORT = KindReport("compress", files=("compress.json",), result_file="compress.json",
                    missing={"compress.json": N_("the compression results")},
                    sections=(Section("compress", N_("Every compression method on one model"), _table_section,
                                      lambda run: run.compress is not None, order=14),
                              Section("compress-pareto", N_("Accuracy against size and latency"), _pareto_section,
                                      lambda run: bool(_rows(run)), order=15),
                              Section("compress-sparsity", N_("Sparsity per layer"), _sparsity_section, _has_details("sparsity"), order=16),
                              Section("compress-ranks", N_("Low-rank factorisation: the rank per layer"), _ranks_section,
                                      _has_details("ranks"), order=17)),
                    headline=_headline)

register(Kind("compress", run, N_("compress one trained model every way (pruning, low-rank, distillation, int8) and measure each"),
              section="compress", config=CompressConfig, report=REPORT, order=78,
              smoke=("mnist-compress", ("limit=300", "epochs=1", "compress.steps=1", "compress.finetune_epochs=1",
                                         "compress.student_epochs=1", "compress.calibration_batches=1", "compress.latency_repeats=2",
                                         "compress.student={name: mlp, hidden: [16]}")),
              smoke_needs_data=True))
