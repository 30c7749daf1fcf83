"""The `gan` kind: a GAN (the book's fully connected one, or DCGAN) trained per generator loss, side by side (chapter 10).

The training is `tujie.generative.gan_run.run_gan`; this module registers it, its `gan:` section
(`GANConfig`) and its report: samples from fixed noise every few epochs, D and G losses with
mean D(x) and D(G(z)), the classifier-feature FID per variant beside the real-versus-real floor,
and a note when the discriminator has won (collapse). Recipes: mnist-gan (both generator
losses), fashion-dcgan (DCGAN at 28 px; CIFAR-10 at 32 px with `--set data.name=cifar10`).
A GAN run resumes: `tujie run --resume RUN_DIR --set epochs=N`.
"""

from __future__ import annotations

import math

from ..generative.gan_run import GANConfig
from ..i18n import N_, _, ngettext
from ..plots import gan as gan_figures
from ..report import KindReport, Section
from ..report.format import _as_float, _e, _fmt, _img, _note, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register
from ._common import check_epoch_checkpoint


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    """Train the recipe's GAN once per generator loss (tujie.generative.gan_run.run_gan)."""
    from ..generative.gan_run import run_gan

    data, run_dir = context.open()
    return run_gan(context.config, data, run_dir, context.say, resume=context.resume is not None)


# ----------------------------------------------------------------------------------- report
_VARIANTS = {"non_saturating": N_("non-saturating: G minimises −log D(G(z))"),
             "minimax": N_("minimax: G minimises log(1 − D(G(z)))")}
_SHORT = {"non_saturating": N_("non-saturating"), "minimax": N_("minimax")}


def _short(name: str) -> str:
    return _(_SHORT[name]) if name in _SHORT else name


def _variants(run: RunFiles) -> dict:
    variants = run.gan.get("variants")
    if not isinstance(variants, dict) or not variants:
        raise ValueError("gan.json's variants must be a non-empty object")
    return variants


def _samples_section(run: RunFiles) -> str:
    from safetensors.torch import load

    how = _("Each row is the generator's output for the same fixed noise vectors, after the epoch on the left "
            "(epoch 0: the untrained generator). Good training turns blobs into digits (or clothes) "
            "that stay recognisably the same from row to row; a row of near-identical images is mode collapse.")
    path = run.folder / "gan_strips.safetensors"
    if not path.is_file():
        return _section("gan-samples", _("Samples from fixed noise"), how, _note(_e(_("The sample strips file is missing."))))
    strips = load(path.read_bytes())
    body = []
    for name in _variants(run):
        epochs = sorted(int(k.rsplit(".", 1)[1]) for k in strips if k.rsplit(".", 1)[0] == name)
        if len(epochs) > 12:  # the first, the last and evenly spaced ones between: a strip stays readable
            step = math.ceil(len(epochs) / 11)
            epochs = sorted(set(epochs[::step]) | {epochs[-1]})
        rows = [(_("epoch {n}").format(n=e), (strips[f"{name}.{e}"].float() / 255).numpy()) for e in epochs]
        if rows:
            label = _(_VARIANTS[name]) if name in _VARIANTS else name
            body.append(f"<h3>{_e(label)}</h3>")
            body.append(_img(gan_figures.sample_strips(rows), _("samples from fixed noise")))
    return _section("gan-samples", _("Samples from fixed noise"), how, "".join(body))


def _training_section(run: RunFiles) -> str:
    how = _("Through training (means over every few dozen batches; x in epochs), the mean discriminator and generator losses and D's mean probability that real images "
            "(D(x), solid) and generated ones (D(G(z)), dashed) are real. At the ideal equilibrium both are 0.5. "
            "When D(G(z)) sinks towards 0 while D(x) rises towards 1, the discriminator has won: the generator "
            "no longer fools it, and with the minimax loss its gradient vanishes. The last panel is the size of "
            "G's gradient: the minimax loss gives a far smaller one while D rejects the fakes, which Adam partly "
            "hides by rescaling every step.")
    variants = _variants(run)
    threshold = _as_float(run.gan.get("collapse_threshold", 0.05))
    # the within-epoch trace where there is one: the two generator losses part in the first few hundred steps
    histories = {_short(name): v.get("trace") or v.get("history") or [] for name, v in variants.items()}
    collapsed = {_short(name): v.get("collapse_epoch") for name, v in variants.items()}
    body = [_img(gan_figures.gan_curves(histories, collapsed), _("discriminator and generator losses per epoch"))]
    rows = []
    for name, v in variants.items():
        last = (v.get("history") or [{}])[-1]
        epoch = v.get("collapse_epoch")
        rows.append([_e(_short(name)), _e(_fmt(_as_float(last.get("d_loss")))), _e(_fmt(_as_float(last.get("g_loss")))),
                     _e(_fmt(_as_float(last.get("d_real")))), _e(_fmt(_as_float(last.get("d_fake")))),
                     _e(_("from epoch {n}").format(n=epoch) if epoch else _("no"))])
    body.append(_table([_("generator loss"), _("D loss"), _("G loss"), "D(x)", "D(G(z))", _("discriminator won")], rows,
                       "numbers"))
    rule = _("Collapse rule: the discriminator has won when, over a whole epoch, mean D(G(z)) < {low} and mean D(x) > "
             "{high}, and it stays so to the end of training.").format(low=f"{threshold:g}", high=f"{1 - threshold:g}")
    body.append(f'<p class="aside">{_e(rule)}</p>')
    for name, v in variants.items():
        if v.get("collapse_epoch"):
            body.append(_note(_e(_("{variant}: the discriminator won from epoch {n} (D(G(z)) → 0): the generator's "
                                   "samples no longer improve.").format(variant=_short(name), n=v["collapse_epoch"])),
                              "warning"))
    return _section("gan-training", _("Discriminator against generator"), how, "".join(body))


def _fid_section(run: RunFiles) -> str:
    how = _("Classifier FID: the Fréchet distance between Gaussians fitted to the features of generated and of real "
            "test images, lower is better. The features are the penultimate layer of a small CNN that tujie trains "
            "on the same dataset, not Inception-v3's, so these numbers compare only with each other, never with "
            "published FIDs. The floor is real against real: training images scored against the test images.")
    fid = run.gan.get("fid") or {}
    variants = _variants(run)
    curves = {_short(name): [(p[0], p[1]) for p in v.get("fid") or []] for name, v in variants.items()}
    floor = _as_float(fid.get("floor"))
    body = [_img(gan_figures.fid_curves(curves, floor if math.isfinite(floor) else None), _("classifier FID per epoch"))]
    rows = [[_e(_short(name)), _e(_fmt(_as_float(v["fid"][-1][1]) if v.get("fid") else None)), _e(_fmt(floor))]
            for name, v in variants.items()]
    body.append(_table([_("generator loss"), _("final FID"), _("real vs real (floor)")], rows, "numbers"))
    facts = _("{samples} generated against {real} real test images; the classifier's test accuracy is {accuracy}.").format(
        samples=_fmt(fid.get("n_samples")), real=_fmt(fid.get("n_real")), accuracy=_fmt(_as_float(fid.get("classifier_accuracy")),
                                                                                       "accuracy"))
    body.append(f'<p class="aside">{_e(facts)}</p>')
    return _section("gan-fid", _("Sample quality (classifier FID)"), how, "".join(body))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    stats = []
    for name, v in _variants(run).items():
        if v.get("fid"):
            stats.append((_fmt(_as_float(v["fid"][-1][1])), _("FID, {variant}").format(variant=_short(name))))
    floor = (run.gan.get("fid") or {}).get("floor")
    if floor is not None:
        stats.append((_fmt(_as_float(floor)), _("FID floor (real vs real)")))
    return stats + [(v, label) for _metric, v, label in test_stats]


def _facts(run: RunFiles) -> list[str]:
    n = len(_variants(run))
    architecture = _("DCGAN") if run.gan.get("architecture") == "dcgan" else _("fully connected GAN")
    return [ngettext("{architecture}, {n} generator loss, {epochs} epochs", "{architecture}, {n} generator losses, {epochs} epochs",
                     n).format(architecture=architecture, n=n, epochs=_fmt(run.gan.get("epochs")))]


def _has_gan(run: RunFiles) -> bool:
    return run.gan is not None


REPORT = KindReport("gan", files=("gan.json",), result_file="gan.json",
                    missing={"gan.json": N_("no GAN training record")},
                    sections=(Section("gan-samples", N_("Samples from fixed noise"), _samples_section, _has_gan, order=61),
                              Section("gan-training", N_("Discriminator against generator"), _training_section, _has_gan, order=62),
                              Section("gan-fid", N_("Sample quality (classifier FID)"), _fid_section,
                                      lambda run: run.gan is not None and bool(run.gan.get("fid")), order=63)),
                    headline=_headline, facts=_facts)
register(Kind("gan", run, N_("a GAN (fully connected or DCGAN) per generator loss, side by side: samples, losses, classifier FID"),
              section="gan", config=GANConfig, report=REPORT, resumable=True, order=45,
              check_resume=check_epoch_checkpoint, resumable_changes=("train.epochs",),
              smoke=("mnist-gan", ("epochs=1", "limit=256", "batch_size=64", "gan.fid_samples=256", "gan.fid_classifier_epochs=1",
                                   "gan.generator_hidden=[32]", "gan.discriminator_hidden=[32]")),
              smoke_needs_data=True))
