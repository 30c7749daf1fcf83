"""The `detection` kind: a one-stage detector on the digit canvases, or on a user's COCO folder (issue 18).

The detector is `models.detector.CenterNet` (heatmap peaks at box centres, size and offset
regression; its targets, loss and decoding in `tujie.detection.centernet`), trained by
`tujie.detection.training` on canvases generated on the fly from MNIST's training digits
(`detection.canvases`), and scored by pycocotools' COCOeval (mAP@0.5 and mAP@0.5:0.95) on canvases
of MNIST's test digits. `detection.coco: PATH` trains and tests on a COCO-format folder instead
(a seeded `test_fraction` of its images held out). Writes detection.json, the test images of the
report (detection_examples.safetensors) and the weights (detection_weights.safetensors).
Recipe: digits-detection.
"""

from __future__ import annotations

import math
import time
from typing import Literal

from pydantic import Field

from .._io import write_bytes, write_json
from ..config import Strict
from ..errors import ConfigError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _fmt, _img, _note, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register


class DetectionConfig(Strict):
    coco: str | None = Field(None, description="a COCO-format folder (images + annotations JSON); none: the digit canvases")
    annotations: str | None = Field(None, description="the COCO annotations JSON, if not found in the folder")
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="share of a COCO folder's images held out for the test")
    steps: int = Field(600, ge=1, description="optimizer steps (each a batch of fresh canvases)")
    batch_size: int = Field(32, ge=1)
    lr: float = Field(3e-3, gt=0.0, description="AdamW's peak learning rate (linear warm-up, cosine decay)")
    weight_decay: float = Field(1e-4, ge=0.0)
    test_canvases: int = Field(500, ge=1, description="test canvases (MNIST's test digits)")
    size: int = Field(128, ge=32, description="canvas (or letterboxed image) side in pixels, a multiple of 16")
    digits: tuple[int, int] = Field((1, 5), description="fewest and most digits per canvas")
    train_size: int | None = Field(None, ge=32, description="side of the training canvases, if smaller than the test's "
                                   "(the detector is fully convolutional: small canvases dense with digits train faster)")
    train_digits: tuple[int, int] | None = Field(None, description="fewest and most digits per training canvas (default: digits)")
    scale: tuple[float, float] = Field((0.75, 2.0), description="smallest and largest resize factor of a 28x28 digit")
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="bfloat16 autocast (auto: where the device computes bf16 natively, e.g. a CPU with AMX)")
    examples: int = Field(8, ge=1, le=32, description="test images drawn in the report")
    score_threshold: float = Field(0.3, ge=0.0, le=1.0, description="the lowest score drawn in the report's figure")


def _datasets(section: DetectionConfig, config) -> tuple:
    """(train, test, classes, description) for the canvases or the user's COCO folder."""
    from ..detection.canvases import CLASSES, DigitCanvases

    if section.coco is None:
        common = {"scale": section.scale, "data_dir": config.data.data_dir}
        train = DigitCanvases("train", count=section.steps * section.batch_size, seed=config.seed,
                              size=section.train_size or section.size, digits=section.train_digits or section.digits, **common)
        test = DigitCanvases("test", count=section.test_canvases, seed=config.seed, size=section.size, digits=section.digits,
                             **common)
        return train, test, CLASSES, "canvases"
    from torch.utils.data import Subset

    from ..detection.coco import CocoFolder, split_folder

    channels = int(config.model.model_dump().get("in_channels", 1))  # grey unless the model takes RGB
    folder = CocoFolder(section.coco, annotations=section.annotations, size=section.size, channels=channels)
    train, held_out = split_folder(folder, section.test_fraction, config.seed)
    return Subset(folder, train), Subset(folder, held_out), folder.classes, "coco"


def run(context: RunContext) -> dict:
    """Train the detector, score it by COCOeval, keep a few test images with their detections."""
    import torch
    from safetensors.torch import save

    from ..detection.canvases import collate
    from ..detection.training import evaluate_detector, predict, train_detector
    from ..detection.training import bf16_is_fast
    from ..train.checkpoint import save_weights
    from ..utils import select_device
    from ._common import build_model

    config = context.config
    section = config.detection or DetectionConfig()
    for key, side in (("size", section.size), ("train_size", section.train_size or 16)):
        if side % 16:
            raise ConfigError(_("The detector needs an image side that is a multiple of 16."), expected="e.g. 128",
                              received=f"detection.{key}={side}", fix=_("Set detection.size and detection.train_size to "
                                                                         "multiples of 16."))
    train, test, classes, source = _datasets(section, config)
    context.seed()
    from types import SimpleNamespace

    model = build_model(config, SimpleNamespace(num_classes=len(classes)))
    if not hasattr(model, "stride") or getattr(model, "num_classes", None) != len(classes):
        raise ConfigError(_("Model '{name}' is not a detector for {n} classes.").format(name=config.model.name, n=len(classes)),
                          expected="model.name: centernet_digits (a registered CenterNet detector)",
                          received=f"model.name={config.model.name!r}", fix=_("Set model.name to centernet_digits."))
    device = select_device(config.device)
    model.to(device)
    bf16 = section.precision == "bfloat16" or (section.precision == "auto" and bf16_is_fast(device))
    run_dir = context.run_dir
    context.say(_("Training the detector: {steps} steps of {batch} images").format(steps=section.steps, batch=section.batch_size))

    def log(step, record):
        context.say(_("step {step}: loss {loss} (heatmap {heatmap}, size {size}, offset {offset})").format(
            step=step, **{k: f"{record[k]:.3f}" for k in ("loss", "heatmap", "size", "offset")}))

    start = time.perf_counter()
    with one_thread():  # small convolutions on a CPU: threads cost more than they give
        history = train_detector(model, train, steps=section.steps, batch_size=section.batch_size, lr=section.lr,
                                 weight_decay=section.weight_decay, warmup=min(50, max(1, section.steps // 10)),
                                 seed=config.seed, log=log, log_every=max(1, min(25, section.steps // 10)),
                                 bf16=bf16, device=device)
        train_seconds = time.perf_counter() - start
        result = evaluate_detector(model, test, num_classes=len(classes), bf16=bf16, device=device)
        shown = [test[i] for i in range(min(section.examples, len(test)))]
        found, _truth, _seconds = predict(model, shown, bf16=bf16, device=device)
    context.say(_("Test: mAP@0.5 {map50}, mAP@0.5:0.95 {map}").format(map50=f"{result['map_50']:.3f}",
                                                                      map=f"{result['map_50_95']:.3f}"))
    images = collate(shown)["image"]  # (n, C, H, W) in [0, 1]
    write_bytes(run_dir / "detection_examples.safetensors",
                save({"images": (images * 255).round().to(torch.uint8).contiguous()}))
    save_weights(run_dir / "detection_weights.safetensors", model.cpu(), {"model": config.model.name, "classes": ",".join(classes)})
    examples = [{"boxes": f["boxes"].round(decimals=1).tolist(), "labels": f["labels"].tolist(),
                 "scores": f["scores"].round(decimals=3).tolist(), "true_boxes": t["boxes"].tolist(),
                 "true_labels": t["labels"].tolist()} for f, t in zip(found, shown)]
    write_json(run_dir / "detection.json", {
        "source": source, "coco": section.coco, "classes": list(classes), "steps": section.steps,
        "batch_size": section.batch_size, "train_images": len(train), "train_size": section.train_size or section.size, "train_seconds": train_seconds,
        "size": section.size, "precision": "bfloat16" if bf16 else "float32", "device": str(device),
        "score_threshold": section.score_threshold, "history": history,
        "test": result, "examples": examples})
    results = {"map_50": result["map_50"], "map_50_95": result["map_50_95"], "train_seconds": round(train_seconds, 1),
               "ms_per_image": round(1000 * result["seconds_per_image"], 2)}
    return {"results": results}


# ----------------------------------------------------------------------------------- report
_TITLE_PR = N_("precision–recall at IoU 0.5, per class")
_TITLE_LOSS = N_("training loss")


def _mono(text) -> str:
    return f'<span class="mono">{_e(text)}</span>'


def _examples_section(run: RunFiles) -> str:
    from safetensors.numpy import load

    from ..plots.detection import detections_grid

    how = _("Test images the detector never saw: the true boxes dashed green, each detection scoring at least "
            "{threshold} solid, in its class's colour, with its class and score. A detection counts as found "
            "at IoU 0.5 when it overlaps a true box of its class by at least half of their union.").format(
                threshold=run.detection.get("score_threshold", 0.3))
    path = run.folder / "detection_examples.safetensors"
    examples = run.detection.get("examples") or []
    if not path.is_file() or not examples:
        return _section("detection-examples", _("Detections on test images"), how, _note(_e(_("The example images are missing."))))
    images = load(path.read_bytes())["images"]  # (n, C, H, W) uint8
    pictures = [(im[0] if im.shape[0] == 1 else im.transpose(1, 2, 0)) / 255.0 for im in images]
    truths = [{"boxes": e["true_boxes"], "labels": e["true_labels"]} for e in examples]
    png = detections_grid(pictures, examples, truths, run.detection.get("classes") or [],
                          score_threshold=run.detection.get("score_threshold", 0.3))
    return _section("detection-examples", _("Detections on test images"), how, _img(png, _("test images with boxes")))


def _precision_section(run: RunFiles) -> str:
    from ..plots.detection import pr_curves

    how = _("COCOeval's precision–recall curve of each class at IoU 0.5 (precision at 101 recall points, made "
            "monotone as COCO does); its mean is the class's average precision, and the mean over classes is "
            "mAP@0.5. mAP@0.5:0.95 averages the same over the IoU thresholds 0.50, 0.55 … 0.95, so it also "
            "asks for tight boxes.")
    test = run.detection.get("test") or {}
    classes = run.detection.get("classes") or []
    curves = test.get("pr_curves") or []
    body = [_img(pr_curves(curves, classes, title=_TITLE_PR), _("precision–recall curves"))] if curves else []
    aps = test.get("per_class_ap_50") or []
    rows = [[_mono(name), _e("–" if ap is None or (isinstance(ap, float) and math.isnan(ap)) else f"{ap:.3f}")]
            for name, ap in zip(classes, aps)]
    body.append(_table([_("class"), _("AP@0.5")], rows, "numbers"))
    body.append(_table([_("mAP@0.5"), _("mAP@0.5:0.95"), _("test images"), _("true boxes"), _("detections kept")],
                       [[_e(f"{test.get('map_50', math.nan):.3f}"), _e(f"{test.get('map_50_95', math.nan):.3f}"),
                         _e(_fmt(test.get("images"))), _e(_fmt(test.get("objects"))), _e(_fmt(test.get("detections")))]],
                       "numbers"))
    return _section("detection-precision", _("Precision and recall per class"), how, "".join(body))


def _loss_section(run: RunFiles) -> str:
    from ..plots.detection import loss_curves

    how = _("The loss per object, averaged over the steps between points: the focal loss of the centre heatmaps, "
            "the L1 error of the box sizes (in grid cells, weighted 0.1 in the total) and of the centre offsets.")
    history = run.detection.get("history") or []
    if not history:
        return _section("detection-loss", _("Training loss"), how, _note(_e(_("No training step was recorded."))))
    steps = [h["step"] for h in history]
    series = {N_("total"): [h["loss"] for h in history], N_("heatmap"): [h["heatmap"] for h in history],
              N_("size"): [h["size"] for h in history], N_("offset"): [h["offset"] for h in history]}
    return _section("detection-loss", _("Training loss"), how,
                    _img(loss_curves(steps, series, title=_TITLE_LOSS), _("training loss curves")))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    test = run.detection.get("test") or {}
    return [(f"{test.get('map_50', math.nan):.3f}", _("mAP@0.5 on the test images")),
            (f"{test.get('map_50_95', math.nan):.3f}", _("mAP@0.5:0.95")),
            (f"{1000 * test.get('seconds_per_image', math.nan):.1f} ms", _("per test image"))]


def _facts(run: RunFiles) -> list[str]:
    d = run.detection
    if d.get("source") == "coco":
        data = _("the COCO folder {folder}").format(folder=d.get("coco"))
    else:
        data = _("digit canvases of MNIST digits (test canvases from MNIST's test digits)")
    return [_("a CenterNet-style detector on {data}: {steps} steps of {batch} images, {seconds} s of training").format(
        data=data, steps=_fmt(d.get("steps")), batch=_fmt(d.get("batch_size")), seconds=f"{d.get('train_seconds', 0):.0f}")]


def _has(run: RunFiles) -> bool:
    return run.detection is not None


REPORT = KindReport("detection", files=("detection.json",), result_file="detection.json",
                    missing={"detection.json": N_("the detector's training record and test scores")},
                    sections=(Section("detection-examples", N_("Detections on test images"), _examples_section, _has, order=61),
                              Section("detection-precision", N_("Precision and recall per class"), _precision_section, _has,
                                      order=62),
                              Section("detection-loss", N_("Training loss"), _loss_section, _has, order=63)),
                    headline=_headline, facts=_facts)
register(Kind("detection", run, N_("object detection: a CenterNet-style detector on digit canvases or a COCO folder, mAP by COCOeval"),
              section="detection", config=DetectionConfig, report=REPORT, order=80,
              smoke=("digits-detection", ("detection.steps=2", "detection.batch_size=2", "detection.test_canvases=3",
                                          "detection.examples=2", "model.width=4")),
              smoke_needs_data=True))
