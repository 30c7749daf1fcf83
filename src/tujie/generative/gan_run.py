"""A GAN run from a recipe (book chapter 10): the `gan:` section, training, sample strips, FID, checkpoints.

`run_gan` trains one GAN (the fully connected one of the book, or DCGAN) once per generator
loss in `gan.generator_losses`, all from the same initial weights, epoch by epoch side by side
(`GANPack`). After every `strip_every` epochs it keeps each variant's images for the same fixed
noise; every `fid_every` epochs and at the end it scores `fid_samples` generated images with the
classifier-feature FID (`generative.fid`). It writes

    gan.json                 per variant: D/G losses, mean D(x), D(G(z)) per epoch, FID points, collapse
    gan_strips.safetensors   the fixed-noise images, uint8 (n, C, H, W) per variant and epoch
    last.safetensors         every variant's G, D, both Adam optimizers and random streams (resume)

Collapse rule (`gan_training.collapse_epoch`): D has won when, over a whole epoch, mean
D(G(z)) < 0.05 while mean D(x) > 0.95, and stays so to the end of training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field

from .._io import write_bytes, write_json
from ..config import Strict
from ..errors import ConfigError
from ..i18n import _
from ..models.gan import GAN, DCGANDiscriminator, DCGANGenerator, Discriminator, Generator
from .fid import fid_scorer
from .gan_training import COLLAPSE_THRESHOLD, GANPack, collapse_epoch, to_unit


class GANConfig(Strict):
    """The recipe's `gan:` section. Epochs and batch size are the base `train:` section's."""

    architecture: Literal["gan", "dcgan"] = Field("gan", description="gan: the book's fully connected GAN; dcgan: Radford 2015")
    latent_dim: int = Field(100, ge=1)
    generator_hidden: list[int] = Field([256, 512, 1024], description="gan: the generator's hidden layer sizes")
    discriminator_hidden: list[int] = Field([512, 256], description="gan: the discriminator's hidden layer sizes")
    discriminator_dropout: float = Field(0.0, ge=0, lt=1, description="gan: dropout after D's hidden layers (the GAN paper's D used it)")
    features: int = Field(64, ge=1, description="dcgan: channels of the last generator / first discriminator stage")
    lr: float = Field(2e-4, gt=0)
    beta1: float = Field(0.5, ge=0, lt=1)
    generator_losses: list[Literal["non_saturating", "minimax"]] = Field(
        ["non_saturating"], min_length=1, description="one variant per loss, trained side by side from the same weights")
    strip_every: int = Field(1, ge=1, description="epochs between sample strips from the fixed noise")
    strip_size: int = Field(10, ge=1, le=32)
    fid_every: int = Field(0, ge=0, description="epochs between FID scores (0: only at the end)")
    fid_samples: int = Field(10_000, ge=2, description="generated images per FID score")
    fid_classifier_epochs: int = Field(2, ge=1, description="epochs of the FID classifier's training (cached)")
    collapse_threshold: float = Field(COLLAPSE_THRESHOLD, gt=0, lt=0.5)
    trace_every: int = Field(50, ge=0, description="batches per point of the within-epoch trace (0: none)")


def build_template(gan: GANConfig, image_shape: tuple[int, int, int]) -> GAN:
    """The GAN all variants start from, for images of `image_shape` (C, H, W)."""
    betas = (gan.beta1, 0.999)
    if gan.architecture == "dcgan":
        channels, size = image_shape[0], image_shape[-1]
        if image_shape[1] != image_shape[2]:
            raise ConfigError("DCGAN needs square images.", expected="(C, S, S) with S = 28, 32 or 64",
                              received=f"images of shape {image_shape}", fix="Use gan.architecture: gan for these images.")
        return GAN(DCGANGenerator(gan.latent_dim, size, channels, gan.features), DCGANDiscriminator(size, channels, gan.features),
                   lr=gan.lr, betas=betas)
    return GAN(Generator(gan.latent_dim, image_shape, tuple(gan.generator_hidden)),
               Discriminator(image_shape, tuple(gan.discriminator_hidden), gan.discriminator_dropout), lr=gan.lr, betas=betas)


def _uint8(images: torch.Tensor) -> torch.Tensor:
    return (to_unit(images) * 255).round().to(torch.uint8)  # (n, C, H, W)


def _save_strips(path: Path, strips: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save

    write_bytes(path, save({k: v.contiguous() for k, v in strips.items()}))


def _load_strips(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load

    return dict(load(path.read_bytes())) if path.is_file() else {}


def run_gan(config, data, run_dir: Path, say, *, resume: bool = False) -> dict:
    """Train the recipe's GAN variants side by side; write gan.json, the strips and checkpoints; return summary parts."""
    gan = config.gan or GANConfig()
    epochs, batch_size = config.train.epochs, config.train.batch_size
    images = data.train.x * 2 - 1  # (n, C, H, W): [0, 1] → [-1, 1], the generator's tanh range
    if data.normalize != "unit" or images.ndim != 4:
        raise ConfigError("A GAN run needs images scaled to [0, 1].", expected="data.normalize: unit, image data (C, H, W)",
                          received=f"data.normalize={data.normalize!r}, inputs of shape {tuple(data.train.x.shape[1:])}",
                          fix="Set data.normalize: unit and an image dataset (mnist, fashion_mnist, cifar10).")
    torch.manual_seed(config.seed)
    template = build_template(gan, tuple(images.shape[1:]))
    pack = GANPack.from_template(template, gan.generator_losses, seed=config.seed)
    z_fixed = torch.randn(gan.strip_size, gan.latent_dim, generator=torch.Generator().manual_seed(config.seed + 1))
    strips_path, record_path = run_dir / "gan_strips.safetensors", run_dir / "gan.json"

    record = {"dataset": data.name, "architecture": gan.architecture, "image_shape": list(images.shape[1:]),
              "train_size": len(images), "batch_size": batch_size, "epochs": epochs, "latent_dim": gan.latent_dim,
              "parameters": {"generator": sum(p.numel() for p in template.generator.parameters()),
                             "discriminator": sum(p.numel() for p in template.discriminator.parameters())},
              "collapse_threshold": gan.collapse_threshold, "strip_epochs": [], "seconds": 0.0,
              "variants": {name: {"history": [], "fid": [], "collapse_epoch": None} for name in gan.generator_losses}}
    strips: dict[str, torch.Tensor] = {}
    start_epoch = 0
    if resume:
        state = pack.load(run_dir / "last.safetensors")
        start_epoch = int(state.get("epoch", 0))
        saved = json.loads(record_path.read_text(encoding="utf-8"))
        record.update({k: saved[k] for k in ("strip_epochs", "seconds", "variants", "fid") if k in saved})
        for variant in record["variants"].values():  # what the checkpoint has not seen is redone
            variant["history"] = [r for r in variant["history"] if r["epoch"] <= start_epoch]
            variant["fid"] = [p for p in variant["fid"] if p[0] <= start_epoch]
            variant["trace"] = [p for p in variant.get("trace", []) if p["epoch"] <= start_epoch]
        record["strip_epochs"] = [e for e in record["strip_epochs"] if e <= start_epoch]
        strips = _load_strips(strips_path)
        say(_("Resuming after epoch {epoch} of {epochs}.").format(epoch=start_epoch, epochs=epochs))
    else:
        for name, fakes in pack.samples(z_fixed).items():  # epoch 0: the untrained generator
            strips[f"{name}.0"] = _uint8(fakes)
        record["strip_epochs"] = [0]

    scorer = None

    def score(epoch: int) -> None:
        nonlocal scorer
        if scorer is None:
            scorer = fid_scorer(data.name, epochs=gan.fid_classifier_epochs, seed=config.seed, limit=config.data.limit,
                                data_dir=config.data.data_dir, say=say)
            record["fid"] = {"floor": scorer.floor(), "classifier_accuracy": scorer.accuracy, "n_real": scorer.n_real,
                             "n_samples": gan.fid_samples, "classifier_epochs": gan.fid_classifier_epochs,
                             "features": "tujie small_cnn penultimate layer (64 units), not Inception-v3"}
        for name in gan.generator_losses:
            value = scorer.score(to_unit(pack.many_samples(name, gan.fid_samples, seed=config.seed + 2)))
            record["variants"][name]["fid"].append([epoch, value])
            say(_("{variant}: classifier FID {fid} (real vs real {floor})").format(
                variant=name, fid=f"{value:.2f}", floor=f"{record['fid']['floor']:.2f}"))

    for epoch in range(start_epoch + 1, epochs + 1):
        started = time.perf_counter()
        logs = pack.train_epoch(images, batch_size, trace_every=gan.trace_every)
        record["seconds"] += time.perf_counter() - started
        steps = -(-len(images) // batch_size)  # batches per epoch, for the trace's x axis in epochs
        for name, values in logs.items():
            trace = values.pop("trace", [])
            record["variants"][name].setdefault("trace", []).extend(
                {"epoch": epoch - 1 + point.pop("batch") / steps, **point} for point in trace)
            record["variants"][name]["history"].append({"epoch": epoch, **values})
            say(_("epoch {epoch}/{epochs} {variant}: D loss {d_loss} G loss {g_loss} D(x) {d_real} D(G(z)) {d_fake}").format(
                epoch=epoch, epochs=epochs, variant=name, d_loss=f"{values['d_loss']:.3f}", g_loss=f"{values['g_loss']:.3f}",
                d_real=f"{values['d_real']:.3f}", d_fake=f"{values['d_fake']:.3f}"))
        if epoch % gan.strip_every == 0 or epoch == epochs:
            for name, fakes in pack.samples(z_fixed).items():
                strips[f"{name}.{epoch}"] = _uint8(fakes)
            record["strip_epochs"].append(epoch)
        if epoch == epochs or (gan.fid_every and epoch % gan.fid_every == 0):
            score(epoch)
        for variant in record["variants"].values():
            variant["collapse_epoch"] = collapse_epoch(variant["history"], gan.collapse_threshold)
        # the strips and the record first, then the checkpoint: after a kill the files never lag it
        _save_strips(strips_path, strips)
        write_json(record_path, record)
        pack.save(run_dir / "last.safetensors", epoch)

    results, table = {}, []
    floor = (record.get("fid") or {}).get("floor")
    for name, variant in record["variants"].items():
        last = variant["history"][-1] if variant["history"] else {}
        fid = variant["fid"][-1][1] if variant["fid"] else None
        table.append({"variant": name, "fid": fid, "d_real": last.get("d_real"), "d_fake": last.get("d_fake"),
                      "collapse_epoch": variant["collapse_epoch"]})
        if fid is not None:
            results[f"fid_{name}"] = fid
    if table and table[0]["fid"] is not None:
        results["fid"] = table[0]["fid"]
    if floor is not None:
        results["fid_floor"] = floor
    return {"gan": table, "results": results,
            "timings": {"train_s": record["seconds"]}}
