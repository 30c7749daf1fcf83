"""The `segmentation` kind: a U-Net labels every pixel of digit canvases (issue 18, semantic segmentation).

1. **Data**: `tujie.detection.canvases.DigitCanvases`: 128×128 canvases of 1–5 MNIST digits at
   random places and scales, with exact per-pixel masks (0: background, c + 1: the ink of digit c).
   Training canvases come from MNIST's training digits and are drawn anew every epoch (`fresh`);
   the validation canvases too, with another seed; the test canvases from MNIST's test digits,
   so no test digit was seen in training.
2. **Model**: the recipe's model (`unet`, `tujie.models.unet`), 11 outputs per pixel, trained
   with the per-pixel cross-entropy (plus `dice_weight` × soft Dice) by
   `tujie.detection.segmentation.train_segmenter`.
3. **Scores** over every test pixel through torchmetrics: IoU and Dice per class, their means
   (mIoU, Dice: the summary's `miou` and `dice`), and the mIoU over the ten digits alone.
4. **Report**: test canvases with the true and predicted masks, IoU and Dice per class, the
   loss and validation-mIoU curves.

Writes segmentation.json, the trained weights (unet.safetensors) and the shown canvases with
their masks (segmentation_examples.safetensors).

Example:
    >>> from tujie import kinds
    >>> kinds.get("segmentation").section
    'segmentation'
"""

from __future__ import annotations

import math
import time

from pydantic import Field

from .._io import write_bytes, write_json
from ..config import Float, Int, Strict
from ..errors import ConfigError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _img, _note, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register

EXAMPLES_FILE = "segmentation_examples.safetensors"


class SegmentationConfig(Strict):
    """A segmentation run (`kind: segmentation`): the canvases, the loss, what the report shows."""
    canvas_size: Int = Field(128, ge=32, description="canvas side in pixels (a multiple of 2**depth of the U-Net)")
    digits: list[Int] = Field([1, 5], min_length=2, max_length=2, description="fewest and most digits per canvas")
    scale: list[Float] = Field([0.75, 2.0], min_length=2, max_length=2, description="smallest and largest resize factor of a 28-px digit")
    train_canvases: Int = Field(1000, ge=1, description="training canvases per epoch")
    fresh: bool = Field(True, description="draw new training canvases every epoch (else the same ones each time)")
    crop: Int | None = Field(64, ge=8, description="train on one window of this side per canvas, around a digit (None: whole canvases)")
    validation_canvases: Int = Field(100, ge=1, description="canvases scored after every epoch (from MNIST's training digits)")
    test_canvases: Int = Field(500, ge=1, description="canvases of MNIST's test digits, scored once at the end")
    dice_weight: Float = Field(0.0, ge=0.0, description="weight of the soft Dice loss added to the cross-entropy")
    background_weight: Float = Field(1.0, gt=0.0, description="cross-entropy weight of a background pixel (a digit pixel weighs 1)")
    shown: Int = Field(6, ge=1, le=12, description="test canvases drawn in the report")
    coco: str | None = Field(None, description="a COCO-format folder (images + annotations JSON) to segment instead of the canvases")
    annotations: str | None = Field(None, description="the COCO annotations JSON, if not the folder's one")
    test_fraction: Float = Field(0.2, gt=0.0, lt=1.0, description="share of a COCO folder's images held out for the test")


# the seeds of the three sets of canvases, offsets from the run's seed: never the same canvases twice
_TRAIN_SEED, _VALIDATION_SEED, _TEST_SEED = 1_000, 500_000, 900_000


def _canvases(config, section: SegmentationConfig, split: str, count: int, seed: int, crop: int | None = None):
    """(images (N, 1, H, W) float, masks (N, H, W) int64) of `count` canvases, or of one `crop`-sided window of each."""
    from ..detection.canvases import DigitCanvases
    from ..detection.segmentation import digit_crops, stack

    canvases = DigitCanvases(split, count=count, size=section.canvas_size, digits=tuple(section.digits), scale=tuple(section.scale),
                             seed=seed, data_dir=config.data.data_dir)
    items = (canvases[i] for i in range(len(canvases)))
    return digit_crops(items, crop, seed) if crop else stack(items)


def _coco(config, section: SegmentationConfig):
    """((train images, masks), (held-out images, masks), class names with the background first) of a COCO folder."""
    from ..detection.coco import CocoFolder, split_folder
    from ..detection.segmentation import stack

    folder = CocoFolder(section.coco, annotations=section.annotations, size=section.canvas_size, channels=1)
    train, held_out = split_folder(folder, section.test_fraction, config.seed)
    return stack(folder[i] for i in train), stack(folder[i] for i in held_out), ("background", *folder.classes)


def _model(config, section: SegmentationConfig, num_classes: int):
    from types import SimpleNamespace

    from ._common import build_model

    if config.model.name != "unet":
        raise ConfigError("The segmentation kind trains a per-pixel classifier.", expected="model.name: unet",
                          received=f"model.name={config.model.name!r}", fix="Set model.name: unet (digits-segmentation is a working recipe).")
    model = build_model(config, SimpleNamespace(num_classes=num_classes))
    step = 2 ** getattr(model, "depth", 0)
    for key in ("canvas_size", "crop"):
        value = getattr(section, key) if key == "canvas_size" or not section.coco else None
        if value and (value % step or value > section.canvas_size):
            raise ConfigError(f"segmentation.{key}={value} does not fit a U-Net of depth {model.depth} on {section.canvas_size}-pixel canvases.",
                              expected=f"a multiple of {step} (2**depth), the crop at most canvas_size",
                              received=f"canvas_size={section.canvas_size}, crop={section.crop}, model.depth={model.depth}",
                              fix=f"Set segmentation.{key} to a multiple of {step}.")
    return model


def run(context: RunContext) -> dict:
    """Train the U-Net on fresh canvases every epoch, score it on the test canvases, keep examples for the report."""
    import torch
    from safetensors.torch import save

    from ..detection.segmentation import CLASS_NAMES, predict_masks, score_masks, train_segmenter
    from ..train.checkpoint import save_weights

    config, say = context.config, context.say
    section = config.segmentation or SegmentationConfig()
    context.seed()
    if section.coco:  # a user's folder: the same U-Net, loss and scores; the held-out images are also the curves' validation
        fixed, test, classes = _coco(config, section)
        validation = test
        say(_("COCO folder {folder}: {n} training and {test} held-out images, {k} classes").format(
            folder=section.coco, n=len(fixed[0]), test=len(test[0]), k=len(classes) - 1))
    else:
        classes = CLASS_NAMES
        validation = _canvases(config, section, "train", section.validation_canvases, config.seed + _VALIDATION_SEED)
        test = _canvases(config, section, "test", section.test_canvases, config.seed + _TEST_SEED)
    num_classes = len(classes)
    model = _model(config, section, num_classes)
    parameters = sum(p.numel() for p in model.parameters())
    run_dir = context.run_dir
    if not section.coco:
        say(_("U-Net of {n} parameters; {canvases} training canvases per epoch, {test} test canvases").format(
            n=f"{parameters:,}", canvases=f"{section.train_canvases:,}", test=f"{section.test_canvases:,}"))

    def train_set(epoch: int):
        if section.coco:
            return fixed
        seed = config.seed + _TRAIN_SEED + (epoch if section.fresh else 0) * section.train_canvases
        return _canvases(config, section, "train", section.train_canvases, seed, section.crop)

    def progress(row: dict) -> None:
        say(_("epoch {epoch}: loss {loss}, validation mIoU {miou} ({seconds} s)").format(
            epoch=row["epoch"], loss=f"{row['loss']:.4f}", miou=f"{row['val_miou']:.4f}", seconds=f"{row['seconds']:.0f}"))

    started = time.perf_counter()
    history = train_segmenter(model, train_set, validation, epochs=config.train.epochs, batch_size=config.train.batch_size,
                              lr=config.optimizer.lr or 1e-3, dice_weight=section.dice_weight,
                              background_weight=section.background_weight, num_classes=num_classes,
                              seed=config.seed, on_epoch=progress)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    predicted = predict_masks(model, test[0])  # (N, H, W)
    predict_s = time.perf_counter() - started
    scores = score_masks(predicted, test[1], num_classes)
    digits = [v for v in scores["per_class_iou"][1:] if v is not None]
    scores["miou_digits"] = sum(digits) / len(digits) if digits else math.nan
    shown = min(section.shown, len(test[0]))
    shown_scores = [score_masks(predicted[i:i + 1], test[1][i:i + 1], num_classes)["miou"] for i in range(shown)]
    say(_("Test: mIoU {miou}, Dice {dice}, pixel accuracy {accuracy}").format(
        miou=f"{scores['miou']:.4f}", dice=f"{scores['dice']:.4f}", accuracy=f"{scores['pixel_accuracy']:.4f}"))

    save_weights(run_dir / "unet.safetensors", model, {"model": config.model.name, "num_classes": num_classes})
    write_bytes(run_dir / EXAMPLES_FILE, save({
        "images": (test[0][:shown, 0] * 255).round().to(torch.uint8).contiguous(),  # (shown, H, W)
        "truth": test[1][:shown].to(torch.uint8).contiguous(), "predicted": predicted[:shown].to(torch.uint8).contiguous()}))
    write_json(run_dir / "segmentation.json", {
        "classes": list(classes), "source": "coco" if section.coco else "canvases", "coco": section.coco,
        "test_images": len(test[0]), "canvas_size": section.canvas_size, "digits": section.digits, "scale": section.scale,
        "train_canvases": section.train_canvases, "fresh": section.fresh, "crop": section.crop, "epochs": config.train.epochs,
        "validation_canvases": section.validation_canvases, "test_canvases": section.test_canvases, "dice_weight": section.dice_weight,
        "background_weight": section.background_weight,
        "model": {"name": config.model.name, "parameters": parameters,
                  **{k: v for k, v in config.model.model_dump().items() if k != "name"}},
        "history": history, "test": scores, "shown_miou": shown_scores,
        "seconds": {"train": train_s, "predict": predict_s, "per_canvas_ms": 1000 * predict_s / len(test[0])}})
    results = {"miou": scores["miou"], "dice": scores["dice"], "miou_digits": scores["miou_digits"],
               "pixel_accuracy": scores["pixel_accuracy"]}
    return {"results": results, "timings": {"train_s": train_s, "predict_s": predict_s}}


# ----------------------------------------------------------------------------------- report
_BACKGROUND = N_("background")


def _class_name(name: str) -> str:
    return _(_BACKGROUND) if name == "background" else name


def _has(run: RunFiles) -> bool:
    return run.segmentation is not None


def _masks_section(run: RunFiles) -> str:
    from safetensors.numpy import load

    from ..plots.segmentation import mask_overlays

    s = run.segmentation
    how = _("Test canvases the model never trained on (their digits come from MNIST's test images). Top: the canvas; "
            "middle: the true mask, each digit's ink coloured by its class; bottom: the model's mask, every pixel coloured by "
            "the class it chose (uncoloured: background). A digit tinted in two colours is one the model was unsure of; "
            "under each prediction, that canvas's mIoU.")
    if s.get("source") == "coco":
        how = _("Held-out images of the COCO folder {folder}, which the model never trained on. Top: the image; middle: the "
                "true mask from its annotations (the polygons, or the box where there is none), each object coloured by its "
                "class; bottom: the model's mask. Under each prediction, that image's mIoU.").format(
            folder=f'<span class="mono">{_e(s.get("coco"))}</span>')
    path = run.folder / EXAMPLES_FILE
    if not path.is_file():
        return _section("segmentation-masks", _("Predicted masks"), how, _note(_e(_("The examples file is missing."))))
    examples = load(path.read_bytes())
    captions = [_("mIoU {value}").format(value=f"{v:.2f}") for v in s.get("shown_miou") or []]
    png = mask_overlays(examples["images"] / 255.0, examples["truth"].astype("int64"), examples["predicted"].astype("int64"),
                        [str(c) for c in (s.get("classes") or [])[1:]], captions)
    return _section("segmentation-masks", _("Predicted masks"), how, _img(png, _("test canvases with true and predicted masks")))


def _classes_section(run: RunFiles) -> str:
    from ..plots.segmentation import class_scores

    s = run.segmentation
    test = s.get("test") or {}
    names = [_class_name(c) for c in s.get("classes") or []]
    iou, dice = test.get("per_class_iou") or [], test.get("per_class_dice") or []
    how = _("Over all {pixels} pixels of the {n} test canvases: for each class, IoU = |predicted ∩ true| / |predicted ∪ true| "
            "and Dice = 2|predicted ∩ true| / (|predicted| + |true|) (torchmetrics' Jaccard index and F1 score per pixel). "
            "Their means over the classes are the mIoU ({miou}) and the mean Dice ({dice}); over the ten digits alone the mIoU "
            "is {digits}. The background is easy (most pixels are blank); a digit's IoU falls when its ink is given to a "
            "look-alike digit or its thin edges are missed.").format(
        pixels=f"{test.get('pixels', 0):,}", n=f"{s.get('test_canvases', 0):,}", miou=_number(test.get("miou")),
        dice=_number(test.get("dice")), digits=_number(test.get("miou_digits")))
    if s.get("source") == "coco":
        how = _("Over all {pixels} pixels of the {n} held-out images: for each class, IoU = |predicted ∩ true| / "
                "|predicted ∪ true| and Dice = 2|predicted ∩ true| / (|predicted| + |true|) (torchmetrics' Jaccard index and "
                "F1 score per pixel). Their means over the classes are the mIoU ({miou}) and the mean Dice ({dice}); "
                "without the background the mIoU is {digits}.").format(
            pixels=f"{test.get('pixels', 0):,}", n=f"{s.get('test_images', 0):,}", miou=_number(test.get("miou")),
            dice=_number(test.get("dice")), digits=_number(test.get("miou_digits")))
    rows = [[f'<span class="mono">{_e(name)}</span>', _e(_number(i)), _e(_number(d))] for name, i, d in zip(names, iou, dice)]
    body = _img(class_scores(names, iou, dice), _("IoU and Dice per class")) + _table([_("class"), _("IoU"), _("Dice")], rows, "numbers")
    return _section("segmentation-classes", _("IoU and Dice per class"), how, body)


def _training_section(run: RunFiles) -> str:
    from ..plots.segmentation import training_curves

    s = run.segmentation
    m = s.get("model") or {}
    seconds = s.get("seconds") or {}
    how = _("The training loss (per-pixel cross-entropy) and the mIoU on {val} validation canvases after every epoch. "
            "Every epoch trains on {n} new canvases, so the model never sees the same canvas twice and the two curves "
            "measure the same thing: how well it segments digits it has not seen in that place. The U-Net has {params} "
            "parameters; training took {train}, and segmenting one test canvas takes {ms} ms.").format(
        val=f"{s.get('validation_canvases', 0):,}", n=f"{s.get('train_canvases', 0):,}", params=f"{m.get('parameters', 0):,}",
        train=_("{minutes:.1f} min").format(minutes=(seconds.get("train") or 0) / 60), ms=f"{seconds.get('per_canvas_ms', 0):.1f}")
    if s.get("source") == "coco":
        how = _("The training loss (per-pixel cross-entropy) and the mIoU on the {n} held-out images after every epoch "
                "(they are also the test: no choice is made on them). The U-Net has {params} parameters; training took "
                "{train}, and segmenting one image takes {ms} ms.").format(
            n=f"{s.get('test_images', 0):,}", params=f"{m.get('parameters', 0):,}",
            train=_("{minutes:.1f} min").format(minutes=(seconds.get("train") or 0) / 60), ms=f"{seconds.get('per_canvas_ms', 0):.1f}")
    elif s.get("crop"):
        how += " " + _("Each training canvas is seen through one {crop}×{crop} window around one of its digits, which skips most "
                       "of the blank background; validation and test use whole canvases.").format(crop=s["crop"])
    return _section("segmentation-training", _("Training curves"), how, _img(training_curves(s.get("history") or []),
                                                                               _("loss and validation mIoU per epoch")))


def _number(value) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) and math.isfinite(value) else "—"


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    test = run.segmentation.get("test") or {}
    if run.segmentation.get("source") == "coco":
        return [(_number(test.get("miou")), _("test mIoU ({n} classes)").format(n=len(run.segmentation.get("classes") or []))),
                (_number(test.get("dice")), _("test mean Dice")), (_number(test.get("miou_digits")), _("test mIoU without the background"))]
    return [(_number(test.get("miou")), _("test mIoU (11 classes)")), (_number(test.get("dice")), _("test mean Dice")),
            (_number(test.get("miou_digits")), _("test mIoU of the ten digits"))]


def _facts(run: RunFiles) -> list[str]:
    s = run.segmentation
    if s.get("source") == "coco":
        return [_("U-Net on the COCO folder {folder}: {n} held-out images").format(folder=s.get("coco"), n=s.get("test_images"))]
    return [_("U-Net on {size}×{size} canvases of {lo}–{hi} MNIST digits; {n} test canvases").format(
        size=s.get("canvas_size"), lo=(s.get("digits") or ["?"])[0], hi=(s.get("digits") or ["?", "?"])[-1], n=s.get("test_canvases"))]


REPORT = KindReport("segmentation", files=("segmentation.json",), result_file="segmentation.json",
                    missing={"segmentation.json": N_("the segmentation scores and curves")},
                    sections=(Section("segmentation-masks", N_("Predicted masks"), _masks_section, _has, order=15),
                              Section("segmentation-classes", N_("IoU and Dice per class"), _classes_section, _has, order=16),
                              Section("segmentation-training", N_("Training curves"), _training_section, _has, order=17)),
                    headline=_headline, facts=_facts)
register(Kind("segmentation", run, N_("a U-Net labels every pixel of MNIST digit canvases: mIoU and Dice per class"),
              section="segmentation", config=SegmentationConfig, report=REPORT, order=81,
              smoke=("digits-segmentation", ("epochs=1", "segmentation.train_canvases=8", "segmentation.validation_canvases=2",
                                             "segmentation.test_canvases=3", "segmentation.shown=2", "segmentation.canvas_size=32",
                                             "segmentation.scale=[0.5, 1.0]", "segmentation.crop=16", "model.base=4", "model.depth=2", "batch_size=4")),
              smoke_needs_data=True))
