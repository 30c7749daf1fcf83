"""The `anomaly` kind: anomaly detection by reconstruction error (book chapter 10).

An autoencoder (`kinds.autoencoder.build_autoencoder`) is trained on normal images only:
every class of the dataset but `held_out` (or, with `outlier_dataset`, all of it). Each test
image is scored by its reconstruction error (mean squared, per image); the ROC-AUC says how
well the score tells the held-out class (or the other dataset) from the normal test images
(`tujie.generative.anomaly`). Writes anomaly.json and autoencoder weights; the report shows
the ROC curve, the two score distributions and the most and least anomalous test images.
"""

from __future__ import annotations

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
from .autoencoder import AutoencoderConfig, architecture_name, build_autoencoder, image_data, strip_figure


class AnomalyConfig(Strict):
    """An anomaly-detection run (`kind: anomaly`)."""
    held_out: int = Field(0, ge=0, description="the class left out of training: the anomalies")
    outlier_dataset: str | None = Field(None, description="instead: every image of the recipe's dataset is normal and this "
                                                          "dataset's test images are the anomalies (e.g. fashion-mnist)")
    architecture: Literal["dense", "conv"] = "dense"
    code_size: int | None = Field(8, ge=1, description="the code's size: small, so that what was never seen is rebuilt badly "
                                                       "(conv: None keeps the 32×7×7 feature map)")
    hidden: list[int] = [256, 64]
    filters: list[int] = [16, 32]
    shown: int = Field(10, ge=1, le=20, description="most and least anomalous test images shown")


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    from ..generative.anomaly import extremes, normal_mask, separation
    from ..generative.autoencoding import as_pixels, reconstruct, reconstruction_errors, train_autoencoder
    from ..train.checkpoint import save_weights

    config = context.config
    settings = config.anomaly or AnomalyConfig()
    data = context.data  # checked before the run directory is made, so a bad held_out leaves no empty folder
    x, y, x_test, y_test = image_data(data, "anomaly")
    if settings.outlier_dataset:
        outliers = _outlier_images(settings.outlier_dataset, config, data.input_shape)
        train, normal_test = x, x_test
        names = (data.name, settings.outlier_dataset)
    else:
        train, normal_test, outliers = x[normal_mask(y, settings.held_out)], x_test[y_test != settings.held_out], x_test[y_test == settings.held_out]
        names = (_("normal digits"), _("held-out class {label}").format(label=settings.held_out))
    run_dir = context.run_dir
    context.say_data_notes()
    context.say(_("Anomaly detection: {train} normal training images; test {normal} normal and {anomalies} anomalous").format(
        train=f"{len(train):,}", normal=f"{len(normal_test):,}", anomalies=f"{len(outliers):,}"))
    context.seed()
    shape_settings = AutoencoderConfig(architectures=[settings.architecture], code_size=settings.code_size or 2,
                                       hidden=settings.hidden, filters=settings.filters)
    model = build_autoencoder(settings.architecture, shape_settings, data.input_shape)
    if settings.architecture == "conv" and settings.code_size is None:
        from ..models.autoencoder import ConvAutoencoder

        model = ConvAutoencoder(data.input_shape[0], data.input_shape[1], tuple(settings.filters), None)
    start = time.perf_counter()
    history = train_autoencoder(model, train, epochs=config.train.epochs, batch_size=config.train.batch_size,
                                lr=config.optimizer.lr or 1e-3, seed=config.seed, loss="bce",
                                on_epoch=lambda r: context.say(_("epoch {epoch}: loss {loss}").format(epoch=r["epoch"], loss=f"{r['loss']:.2f}")))
    seconds = time.perf_counter() - start
    save_weights(run_dir / "anomaly.safetensors", model, {"architecture": settings.architecture})
    images = torch.cat([normal_test, outliers])  # (N, C, H, W)
    is_anomaly = torch.cat([torch.zeros(len(normal_test), dtype=torch.bool), torch.ones(len(outliers), dtype=torch.bool)])
    labels = (torch.cat([y_test[y_test != settings.held_out], y_test[y_test == settings.held_out]])
              if not settings.outlier_dataset else None)
    scores = reconstruction_errors(model, images, "mse")  # (N,)
    found = separation(scores, is_anomaly)
    most, least = extremes(scores, settings.shown)

    def chosen(index):
        picked = images[index]
        return {"images": as_pixels(picked), "reconstructions": as_pixels(reconstruct(model, picked)),
                "scores": [float(scores[i]) for i in index], "anomalous": [bool(is_anomaly[i]) for i in index],
                "labels": None if labels is None else [int(labels[i]) for i in index]}

    step = max(1, len(normal_test) // 3000)  # the histograms need no more than a few thousand scores
    write_json(run_dir / "anomaly.json", {
        "held_out": None if settings.outlier_dataset else settings.held_out, "outlier_dataset": settings.outlier_dataset,
        "dataset": data.name, "names": list(names), "architecture": settings.architecture, "code_size": settings.code_size,
        "epochs": config.train.epochs, "train_size": len(train), "normal_test": len(normal_test), "anomalous_test": len(outliers),
        "seconds": seconds, "history": history, **found,
        "normal_scores": scores[~is_anomaly][::step].tolist(), "anomaly_scores": scores[is_anomaly].tolist()[:3000],
        "most": chosen(most), "least": chosen(least)})
    return {"anomaly": {"roc_auc": found["roc_auc"]}, "results": {"roc_auc": found["roc_auc"]}}


def _outlier_images(name: str, config, input_shape) -> torch.Tensor:
    """The other dataset's test images (the anomalies), checked to be the same size as the normal ones."""
    from .. import data as datasets
    from ..errors import ConfigError

    other = datasets.load(name, data_dir=config.data.data_dir, validation_split=0.0, normalize="unit", limit=config.data.limit)
    if tuple(other.input_shape) != tuple(input_shape):
        raise ConfigError(f"The outlier dataset {name} has images of another size than {config.data.name}.",
                          expected=f"images of shape {tuple(input_shape)}", received=f"{name}: {tuple(other.input_shape)}",
                          fix="Pair mnist with fashion-mnist (both 1×28×28).")
    return other.test.x


# ----------------------------------------------------------------------------------- report
def _scores_section(run: RunFiles) -> str:
    from ..plots.autoencoders import anomaly_scores

    how = _("The autoencoder learned to rebuild normal images only. An image unlike anything it trained on is rebuilt "
            "badly, so its reconstruction error is the anomaly score. The histograms show the scores of the normal "
            "test images and of the anomalies; the less they overlap, the better the score separates them. The ROC "
            "curve shows every threshold at once: how many anomalies are caught against how many normal images are "
            "flagged. The area under it (ROC-AUC) is the chance that a random anomaly scores higher than a random "
            "normal image: 0.5 is a coin toss, 1 is perfect.")
    a = run.anomaly
    if a.get("held_out") is not None:  # named in the report's language, not the run's
        names = (_("normal digits"), _("held-out class {label}").format(label=a["held_out"]))
    else:
        names = tuple(str(n) for n in (a.get("names") or [_("normal"), _("anomalous")]))
    body = [_img(anomaly_scores(a["fpr"], a["tpr"], _as_float(a.get("roc_auc")), a["normal_scores"], a["anomaly_scores"], names),
                 _("ROC curve and score distributions"))]
    rows = [[_e(_("ROC-AUC")), _e(_fmt(_as_float(a.get("roc_auc"))))],
            [_e(_("mean score, normal test images")), _e(f"{_as_float(a.get('mean_normal')):.4f}")],
            [_e(_("mean score, anomalies")), _e(f"{_as_float(a.get('mean_anomaly')):.4f}")],
            [_e(_("normal training images")), _e(_fmt(a.get("train_size")))],
            [_e(_("test images: normal, anomalous")), _e(f"{_fmt(a.get('normal_test'))}, {_fmt(a.get('anomalous_test'))}")],
            [_e(_("model")), _e(architecture_name(a.get("architecture")))]]
    body.append(_table([_("measure"), _("value")], rows, "numbers"))
    return _section("anomaly-scores", _("Anomaly scores"), how, "".join(body))


def _extremes_section(run: RunFiles) -> str:
    how = _("The test images with the highest and the lowest reconstruction errors, each above its reconstruction. "
            "Under each image: its score, and a cross when it really is an anomaly. The most anomalous images should "
            "mostly be anomalies; normal images among them are the oddly written ones the autoencoder found hard too.")
    a = run.anomaly
    body = []
    for key, title in (("most", _("most anomalous")), ("least", _("least anomalous"))):
        part = a.get(key) or {}
        if part.get("images"):
            labels = part.get("labels") or [None] * len(part["images"])
            captions = [f"{s:.3f}{' ✗' if bad else ''}" + (f" ({label})" if label is not None else "")
                        for s, bad, label in zip(part["scores"], part["anomalous"], labels)]
            body.append(strip_figure([(title, part["images"]), (_("reconstructions"), part["reconstructions"])],
                                     [captions, []]))
    return _section("anomaly-extremes", _("Most and least anomalous"), how, "".join(body))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    a = run.anomaly
    label = (_("ROC-AUC, held-out class {label}").format(label=a["held_out"]) if a.get("held_out") is not None
             else _("ROC-AUC, {name} as anomalies").format(name=a.get("outlier_dataset")))
    return [(_fmt(_as_float(a.get("roc_auc"))), label)]


REPORT = KindReport("anomaly", files=("anomaly.json",), result_file="anomaly.json",
                    missing={"anomaly.json": N_("no anomaly scores")},
                    sections=(Section("anomaly-scores", N_("Anomaly scores"), _scores_section, lambda run: run.anomaly is not None, order=62),
                              Section("anomaly-extremes", N_("Most and least anomalous"), _extremes_section,
                                      lambda run: run.anomaly is not None, order=63)),
                    headline=_headline)
register(Kind("anomaly", run, N_("anomaly detection: an autoencoder trained on normal images, reconstruction error as the score"),
              section="anomaly", config=AnomalyConfig, report=REPORT, order=72,
              smoke=("mnist-anomaly", ("data.name=digits", "epochs=1"))))
