"""The `vae` kind: a variational autoencoder and its evidence lower bound in nats (book chapter 10).

Trains `tujie.models.autoencoder.VAE` on dynamically binarised images with
`tujie.generative.autoencoding.train_vae`, logging the ELBO's reconstruction and KL terms per
epoch; then the test ELBO (z sampled, `elbo_samples` draws per image), samples from the prior,
an interpolation between two test digits, the latent manifold grid (latent_dim 2), the 2-D
map of the test codes, and the classifier-feature FID of `fid_samples` prior samples
(`tujie.generative.fid`, MNIST/Fashion-MNIST only). Writes vae.json and vae.safetensors.
"""

from __future__ import annotations

import math
import time

import torch
from pydantic import Field

from .._io import write_json
from ..config import Strict
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _as_float, _e, _fmt, _img, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register
from .autoencoder import code_map_figure, image_data, strip_figure

# Published test ELBOs (nats per image, binarised MNIST) by latent size: (value, where it comes from).
PUBLISHED = {
    20: (-100.0, N_("Kingma & Welling 2014, Auto-Encoding Variational Bayes, Fig. 2 (MNIST, N_z = 20, 500 hidden units): "
                    "test lower bound about −100 nats after 10⁸ training images, read off the figure (to be checked)")),
    2: (-125.0, N_("Kingma & Welling 2014, Fig. 2 has no 2-D model; its nearest, N_z = 3, ends near −125 nats "
                   "(read off the figure, to be checked)")),
}


class VaeConfig(Strict):
    """A VAE run (`kind: vae`)."""
    latent_dim: int = Field(2, ge=1)
    hidden: list[int] = Field([400], description="encoder hidden sizes (the decoder mirrors them); 400 as in the PyTorch example")
    binarized: bool = Field(True, description="train on dynamically binarised pixels and score binarised test images "
                                              "(the setting of the published ELBOs)")
    elbo_samples: int = Field(10, ge=1, description="z drawn per test image for the final test ELBO")
    samples: int = Field(32, ge=1, le=100, description="prior samples shown")
    grid: int = Field(15, ge=2, le=30, description="side of the latent manifold grid (latent_dim 2)")
    interpolation_steps: int = Field(10, ge=3, le=20)
    fid_samples: int = Field(10_000, ge=0, description="prior samples scored by classifier-feature FID (0: no FID)")
    mapped: int = Field(3000, ge=10, description="test images on the code map")


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    from ..generative.autoencoding import (as_pixels, binarize, code_map, encode, interpolate, manifold_grid, reconstruct,
                                           train_vae, vae_elbo)
    from ..models.autoencoder import VAE
    from ..train.checkpoint import save_weights

    config = context.config
    settings = config.vae or VaeConfig()
    data, run_dir = context.open()
    x, _train_y, x_test, y_test = image_data(data, "vae")
    context.seed()
    model = VAE(tuple(data.input_shape), tuple(settings.hidden), settings.latent_dim)
    context.say(_("VAE: latent size {latent}, {n} parameters, {train} training images").format(
        latent=settings.latent_dim, n=f"{sum(p.numel() for p in model.parameters()):,}", train=f"{len(x):,}"))
    start = time.perf_counter()
    history = train_vae(model, x, x_test, epochs=config.train.epochs, batch_size=config.train.batch_size,
                        lr=config.optimizer.lr or 1e-3, seed=config.seed, binarized=settings.binarized,
                        on_epoch=lambda r: context.say(_("epoch {epoch}: ELBO {elbo} test {test} (reconstruction {recon}, KL {kl})").format(
                            epoch=r["epoch"], elbo=f"{r['elbo']:.2f}", test=f"{r['test_elbo']:.2f}", recon=f"{r['test_recon']:.2f}",
                            kl=f"{r['test_kl']:.2f}")))
    seconds = time.perf_counter() - start
    save_weights(run_dir / "vae.safetensors", model, {"latent_dim": settings.latent_dim, "hidden": settings.hidden})
    test = binarize(x_test, config.seed + 1) if settings.binarized else x_test  # the same binarisation as train_vae's
    final = vae_elbo(model, test, samples=settings.elbo_samples, seed=config.seed)
    torch.manual_seed(config.seed)
    pair = _two_digits(y_test)
    shown = x_test[:10]
    result = {"latent_dim": settings.latent_dim, "hidden": settings.hidden, "binarized": settings.binarized,
              "epochs": config.train.epochs, "train_size": len(x), "test_size": len(x_test), "seconds": seconds,
              "pixels": math.prod(data.input_shape), "history": history, "test": final, "elbo_samples": settings.elbo_samples,
              "classes": data.classes, "originals": as_pixels(shown), "reconstructions": as_pixels(reconstruct(model, shown)),
              "samples": as_pixels(model.sample(settings.samples)),
              "interpolation": {"labels": [int(y_test[i]) for i in pair],
                                "images": as_pixels(interpolate(model, x_test[pair[0]], x_test[pair[1]], settings.interpolation_steps))}}
    if settings.latent_dim == 2:
        result["grid"] = {"side": settings.grid, "images": as_pixels(manifold_grid(model, settings.grid))}
    points, how = code_map(encode(model, x_test[:settings.mapped]), seed=config.seed)
    result["map"] = {"how": how, "points": [[round(float(a), 4), round(float(b), 4)] for a, b in points],
                     "labels": y_test[:settings.mapped].long().tolist()}
    if settings.latent_dim in PUBLISHED:
        value, source = PUBLISHED[settings.latent_dim]
        result["published"] = {"elbo": value, "source": source}
    if settings.fid_samples and data.name.replace("-", "_") in ("mnist", "fashion_mnist") and tuple(data.input_shape) == (1, 28, 28):
        from ..generative.fid import classifier_fid

        context.say(_("Classifier-feature FID of {n} prior samples").format(n=f"{settings.fid_samples:,}"))
        torch.manual_seed(config.seed)
        result["fid"] = classifier_fid(model.sample(settings.fid_samples), data.name, say=context.say)
    write_json(run_dir / "vae.json", result)
    results = {"test_elbo": final["elbo"], "test_recon": final["recon"], "test_kl": final["kl"]}
    if "published" in result:
        results["elbo_gap_to_published"] = final["elbo"] - result["published"]["elbo"]
    if "fid" in result:
        results.update(classifier_fid=result["fid"]["fid"], classifier_fid_floor=result["fid"]["floor"])
    return {"vae": {"latent_dim": settings.latent_dim, **final}, "results": results}


def _two_digits(labels: torch.Tensor) -> tuple[int, int]:
    """Indices of the first test image and the first one of another class (the interpolation's ends)."""
    first = 0
    other = next((i for i in range(len(labels)) if int(labels[i]) != int(labels[first])), min(1, len(labels) - 1))
    return first, other


# ----------------------------------------------------------------------------------- report
def _elbo_section(run: RunFiles) -> str:
    from ..plots.autoencoders import elbo_curves

    how = _("The VAE is trained to maximise the evidence lower bound (ELBO), a lower bound on the log-probability "
            "log p(x) that the model gives an image. It has two terms: the reconstruction term, how many nats it costs "
            "to describe the image's pixels given a code z drawn from the encoder's distribution q(z|x), and the KL "
            "term, how far q(z|x) strays from the prior N(0, I), the price of the information the code carries. "
            "ELBO = −(reconstruction + KL); higher is better. The pixels are binarised (each pixel 1 with probability "
            "its grey value), so the reconstruction term is a Bernoulli log-likelihood and the ELBO is a proper bound "
            "in nats per image, the number the papers report.")
    vae = run.vae
    body = [_img(elbo_curves(vae.get("history") or []), _("ELBO, reconstruction and KL per epoch"))]
    test = vae.get("test") or {}
    rows = [[_e(_("this run, test set")), _e(_fmt(_as_float(test.get("elbo")))), _e(_fmt(_as_float(test.get("recon")))),
             _e(_fmt(_as_float(test.get("kl"))))]]
    published = vae.get("published") or {}
    if published:
        rows.append([_e(_(published.get("source", ""))), _e(_fmt(_as_float(published.get("elbo")))), "—", "—"])
    body.append(_table([_("ELBO of"), _("ELBO (nats)"), _("reconstruction"), _("KL")], rows, "numbers"))
    facts = _("Latent size {latent}; {epochs} epochs on {train} training images; test ELBO on {test} binarised test images, "
              "{samples} draws of z per image.").format(latent=_fmt(vae.get("latent_dim")), epochs=_fmt(vae.get("epochs")),
                                                        train=_fmt(vae.get("train_size")), test=_fmt(vae.get("test_size")),
                                                        samples=_fmt(vae.get("elbo_samples")))
    body.append(f'<p class="aside">{_e(facts)}</p>')
    return _section("elbo", _("Evidence lower bound"), how, "".join(body))


def _samples_section(run: RunFiles) -> str:
    from ..plots.autoencoders import image_mosaic

    how = _("Reconstructions sit under their originals (decoded from the code's mean). Samples are decoded from codes "
            "drawn from the prior N(0, I): images the model makes up, not copies of training images. The interpolation "
            "walks in a straight line between the codes of two test digits and decodes each step: a smooth morph "
            "means the latent space has no holes between them. With a 2-D latent space, the grid decodes the whole "
            "space at once, each cell covering the same prior probability.")
    vae = run.vae
    body = [strip_figure([(_("originals"), vae["originals"]), (_("reconstructions"), vae["reconstructions"])]),
            strip_figure([(_("samples from the prior"), vae["samples"][:16])])]
    inter = vae.get("interpolation") or {}
    if inter.get("images"):
        labels = inter.get("labels") or ["?", "?"]
        body.append(strip_figure([(_("from {a} to {b}").format(a=labels[0], b=labels[-1]), inter["images"])]))
    grid = vae.get("grid") or {}
    if grid.get("images"):
        body.append(_img(image_mosaic(grid["images"], int(grid.get("side", 15))), _("the 2-D latent manifold")))
    chart = vae.get("map") or {}
    if chart.get("points"):
        title = _("test codes (mean of q(z|x))") if chart.get("how") == "code" else _("test codes, PCA of the mean of q(z|x)")
        body.append(code_map_figure(chart["points"], chart["labels"], vae.get("classes"), chart.get("how"), title))
    return _section("vae-samples", _("Samples, interpolation and latent space"), how, "".join(body))


def _fid_section(run: RunFiles) -> str:
    how = _("How far the VAE's samples are from real digits, measured in the features of a small classifier that tujie "
            "trains on the same dataset (the Fréchet distance between two Gaussians fitted to the features). It is not "
            "the Inception FID of the papers and cannot be compared with it. The floor is real test images against "
            "real training images: no generator can do better with this many samples. Lower is better.")
    fid = run.vae.get("fid")
    if not isinstance(fid, dict):
        note = _("Not measured in this run: FID needs 28×28 MNIST or Fashion-MNIST images and vae.fid_samples above 0.")
        return _section("vae-fid", _("Sample quality (classifier FID)"), how, f'<p class="aside">{_e(note)}</p>')
    rows = [[_e(_("VAE prior samples")), _e(_fmt(_as_float(fid.get("fid")))), _e(_fmt(fid.get("n_samples")))],
            [_e(_("floor: real against real")), _e(_fmt(_as_float(fid.get("floor")))), _e(_fmt(fid.get("n_real")))]]
    body = _table([_("images"), _("classifier FID"), _("count")], rows, "numbers")
    aside = _("The classifier's test accuracy: {accuracy}.").format(accuracy=_fmt(_as_float(fid.get("classifier_accuracy")), "accuracy"))
    return _section("vae-fid", _("Sample quality (classifier FID)"), how, body + f'<p class="aside">{_e(aside)}</p>')


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    vae = run.vae
    stats = [(_fmt(_as_float((vae.get("test") or {}).get("elbo"))), _("test ELBO (nats), latent size {n}").format(n=vae.get("latent_dim")))]
    if vae.get("published"):
        stats.append((_fmt(_as_float(vae["published"].get("elbo"))), _("published for this latent size")))
    if vae.get("fid"):
        stats.append((_fmt(_as_float(vae["fid"].get("fid"))), _("classifier FID (floor {floor})").format(
            floor=_fmt(_as_float(vae["fid"].get("floor"))))))
    return stats


REPORT = KindReport("vae", files=("vae.json",), result_file="vae.json", missing={"vae.json": N_("no ELBO, samples or latent space")},
                    sections=(Section("elbo", N_("Evidence lower bound"), _elbo_section, lambda run: run.vae is not None, order=62),
                              Section("vae-samples", N_("Samples, interpolation and latent space"), _samples_section,
                                      lambda run: run.vae is not None, order=63),
                              Section("vae-fid", N_("Sample quality (classifier FID)"), _fid_section,
                                      lambda run: run.vae is not None, order=64)),
                    headline=_headline)
register(Kind("vae", run, N_("a variational autoencoder: ELBO in nats, samples, interpolation and the latent manifold"),
              section="vae", config=VaeConfig, report=REPORT, order=71,
              smoke=("mnist-vae", ("data.name=digits", "epochs=1", "vae.fid_samples=0", "vae.mapped=50", "vae.grid=4"))))
