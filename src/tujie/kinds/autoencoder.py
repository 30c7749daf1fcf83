"""The `autoencoder` kind: a dense and a convolutional autoencoder side by side (book chapter 10).

Each model squeezes the images through a small code and rebuilds them
(`tujie.generative.autoencoding.train_autoencoder`, BCE per image). Writes autoencoder.json
(loss curves, test originals and reconstructions, a 2-D map of the test codes) and each
model's weights (`<name>.safetensors`); the report shows the curves, the reconstructions
under the originals and the code map coloured by digit.
"""

from __future__ import annotations

import math
import time
from typing import Literal

import torch
from pydantic import Field

from .._io import write_json
from ..config import Strict
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _as_float, _e, _fmt, _img, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register


class AutoencoderConfig(Strict):
    """An autoencoder run (`kind: autoencoder`): which architectures, the code's size, what the report keeps."""
    architectures: list[Literal["dense", "conv"]] = Field(["dense", "conv"], min_length=1)
    code_size: int = Field(2, ge=1, description="size of the code; 2 draws the code itself as the map, more is mapped by PCA")
    hidden: list[int] = Field([256, 64], description="the dense encoder's hidden sizes (the decoder mirrors them)")
    filters: list[int] = Field([16, 32], description="the convolutional encoder's channels, each stage halving the size")
    loss: Literal["bce", "mse"] = "bce"
    shown: int = Field(10, ge=1, le=30, description="test images shown with their reconstructions")
    mapped: int = Field(3000, ge=10, description="test images placed on the code map")


def build_autoencoder(architecture: str, settings: AutoencoderConfig, input_shape) -> torch.nn.Module:
    """The dense or the convolutional autoencoder of the run's settings, for images of `input_shape` (C, H, W)."""
    from ..models.autoencoder import Autoencoder, ConvAutoencoder

    if architecture == "dense":
        return Autoencoder(tuple(input_shape), tuple(settings.hidden), settings.code_size)
    return ConvAutoencoder(input_shape[0], input_shape[1], tuple(settings.filters), settings.code_size)


def image_data(data, context_name: str = "autoencoder"):
    """The bundle's train and test images (N, C, H, W) in [0, 1] and test labels, checked for a sigmoid decoder."""
    from ..errors import ConfigError
    from ..generative.autoencoding import check_images

    if len(data.input_shape) != 3 or data.test is None:
        raise ConfigError(f"The {context_name} kind needs an image dataset with a test split.", expected="mnist, fashion_mnist, digits ...",
                          received=f"data.name={data.name!r} of input shape {data.input_shape}", fix="Set data.name: mnist.")
    train = data.train.x if data.val is None else torch.cat([data.train.x, data.val.x])  # no early stopping: use them all
    train_y = data.train.y if data.val is None else torch.cat([data.train.y, data.val.y])
    return check_images(train, "training images"), train_y, check_images(data.test.x, "test images"), data.test.y


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    from ..generative.autoencoding import as_pixels, code_map, encode, reconstruct, train_autoencoder
    from ..train.checkpoint import save_weights

    config = context.config
    settings = config.autoencoder or AutoencoderConfig()
    data, run_dir = context.open()
    x, _train_y, x_test, y_test = image_data(data)
    lr = config.optimizer.lr or 1e-3
    shown = x_test[:settings.shown]
    models, reconstructions = [], {}
    for architecture in settings.architectures:
        context.seed()
        model = build_autoencoder(architecture, settings, data.input_shape)
        parameters = sum(p.numel() for p in model.parameters())
        context.say(_("{name} autoencoder: {n} parameters, code of {size}").format(
            name=architecture, n=f"{parameters:,}", size=settings.code_size))
        start = time.perf_counter()
        history = train_autoencoder(model, x, epochs=config.train.epochs, batch_size=config.train.batch_size, lr=lr,
                                    seed=config.seed, loss=settings.loss, x_test=x_test,
                                    on_epoch=lambda r: context.say(_("epoch {epoch}: loss {loss} test {test}").format(
                                        epoch=r["epoch"], loss=f"{r['loss']:.2f}", test=f"{r['test_loss']:.2f}")))
        seconds = time.perf_counter() - start
        save_weights(run_dir / f"{architecture}.safetensors", model, {"architecture": architecture, "code_size": settings.code_size})
        points, how = code_map(encode(model, x_test[:settings.mapped]), seed=config.seed)
        reconstructions[architecture] = as_pixels(reconstruct(model, shown))
        models.append({"name": architecture, "parameters": parameters, "history": history, "seconds": seconds,
                       "test_loss": history[-1]["test_loss"],
                       "map": {"how": how, "points": [[round(float(a), 4), round(float(b), 4)] for a, b in points],
                               "labels": y_test[:settings.mapped].long().tolist()}})
    write_json(run_dir / "autoencoder.json", {
        "loss": settings.loss, "code_size": settings.code_size, "epochs": config.train.epochs, "classes": data.classes,
        "train_size": len(x), "test_size": len(x_test), "pixels": math.prod(data.input_shape),
        "models": models, "originals": as_pixels(shown), "reconstructions": reconstructions})
    results = {f"{m['name']}_test_{settings.loss}": m["test_loss"] for m in models}
    return {"autoencoder": {m["name"]: {"test_loss": m["test_loss"], "parameters": m["parameters"]} for m in models},
            "results": results}


# ----------------------------------------------------------------------------------- report
_ARCHITECTURES = {"dense": N_("dense"), "conv": N_("convolutional")}
_LOSSES = {"bce": N_("binary cross-entropy per image (nats)"), "mse": N_("squared error per image")}


def architecture_name(name) -> str:
    return _(_ARCHITECTURES[name]) if name in _ARCHITECTURES else str(name)


def strip_figure(rows, captions=None) -> str:
    """An image strip (`plots.autoencoders.image_rows`) as an <img>, alt text from the first row's label."""
    from ..plots.autoencoders import image_rows

    return _img(image_rows(rows, captions), rows[0][0])


def _models(run: RunFiles) -> list[dict]:
    models = run.autoencoder.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, dict) for m in models):
        raise ValueError("autoencoder.json's models must be a non-empty list of objects")
    return models


def _reconstruction_section(run: RunFiles) -> str:
    from ..plots.autoencoders import loss_curves

    how = _("Each model squeezes every image through a code of a few numbers and rebuilds it from that code alone. "
            "The top row holds test images the models never trained on; each row below is one model's reconstruction. "
            "What survives the squeeze is what the code keeps: the digit's shape; what is lost is the detail. "
            "The curves show the reconstruction error per epoch on the training images and on the test images; "
            "lower is better, and a test curve close to the training curve means the model did not memorise.")
    ae, models = run.autoencoder, _models(run)
    loss_name = _(_LOSSES[ae["loss"]]) if ae.get("loss") in _LOSSES else str(ae.get("loss"))
    body = [_img(loss_curves({architecture_name(m.get("name")): m.get("history") or [] for m in models}, loss_name),
                 _("reconstruction error per epoch"))]
    rows = [(_("originals"), ae["originals"])]
    for m in models:
        images = (ae.get("reconstructions") or {}).get(m.get("name"))
        if images:
            rows.append((_("{name} reconstruction").format(name=architecture_name(m.get("name"))), images))
    body.append(strip_figure(rows))
    table = [[f"<b>{_e(architecture_name(m.get('name')))}</b>", _e(_fmt(m.get("parameters"))), _e(_fmt(ae.get("code_size"))),
              _e(_fmt(_as_float(m.get("test_loss")))), _e(f"{_as_float(m.get('seconds')):.1f}")] for m in models]
    body.append(_table([_("model"), _("parameters"), _("code size"), _("test error ({loss})").format(loss=loss_name),
                        _("seconds")], table, "numbers"))
    return _section("reconstructions", _("Reconstructions"), how, "".join(body))


def code_map_figure(points, labels, classes, how: str, title: str) -> str:
    from ..plots.autoencoders import code_scatter

    axes = ("z1", "z2") if how == "code" else (_("principal component 1"), _("principal component 2"))
    return _img(code_scatter(points, labels, classes, axes, title), title)


def _code_map_section(run: RunFiles) -> str:
    how = _("Every test image placed at its code, coloured by the digit it shows. The models never saw a label: "
            "digits that look alike land near each other because similar images need similar codes to be rebuilt. "
            "With a code of two numbers the map is the code itself; a longer code is flattened to two dimensions "
            "by principal component analysis (PCA), which keeps the two directions along which the codes vary most.")
    ae = run.autoencoder
    body = []
    for m in _models(run):
        chart = m.get("map") or {}
        if chart.get("points"):
            how_mapped = _("the code itself") if chart.get("how") == "code" else _("PCA of the code")
            title = _("{name}: {how}").format(name=architecture_name(m.get("name")), how=how_mapped)
            body.append(code_map_figure(chart["points"], chart["labels"], ae.get("classes"), chart.get("how"), title))
    return _section("code-map", _("Code map"), how, "".join(body))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    return [(_fmt(_as_float(m.get("test_loss"))), _("test error, {name}").format(name=architecture_name(m.get("name"))))
            for m in _models(run)]


REPORT = KindReport("autoencoder", files=("autoencoder.json",), result_file="autoencoder.json",
                    missing={"autoencoder.json": N_("no reconstructions or code map")},
                    sections=(Section("reconstructions", N_("Reconstructions"), _reconstruction_section,
                                      lambda run: run.autoencoder is not None, order=62),
                              Section("code-map", N_("Code map"), _code_map_section, lambda run: run.autoencoder is not None, order=63)),
                    headline=_headline)
register(Kind("autoencoder", run, N_("a dense and a convolutional autoencoder: reconstructions and a 2-D map of the codes"),
              section="autoencoder", config=AutoencoderConfig, report=REPORT, order=70,
              smoke=("mnist-autoencoder", ("data.name=digits", "epochs=1", "autoencoder.mapped=50"))))
