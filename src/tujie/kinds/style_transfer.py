"""The `style_transfer` kind: Gatys et al.'s neural style transfer, the picture optimised by L-BFGS (issue 18).

1. **The feature network.** No ImageNet VGG can be downloaded, so tujie pretrains one: the recipe's
   `model` (`vgg_mini`: VGG's first four blocks, a quarter of the width) as a CIFAR-10 classifier
   for `pretrain_epochs` (its weights: features.safetensors). `style_transfer.features` reuses an
   earlier run's network instead (its folder, or the recipe's name: the newest run); `model.weights`
   loads a user's file (torchvision's VGG-19: `model.name=vgg19 model.weights=vgg19.safetensors`),
   read with ImageNet's mean and std.
2. **Transfer** the content photo (`content`: a scikit-image photo or a file) into every style
   of `styles` (the bundled paintings or files) at `style_weight`, then the first style again at
   each of `style_weights` (how stylised: β/α), each for `steps` loss evaluations at `size` pixels.
3. **Report** content, style and result side by side; the style and content losses during the
   optimisation; the row of style weights; the wall time per picture.

The figure of merit: the style loss's fall, first over last (`style_loss_reduction`, ≥ 10 in
issue 18), while the content loss stays far below that of the style image itself
(`content_loss_ratio`: the result's content loss over the style image's, < 1).

Example:
    >>> from tujie import kinds
    >>> kinds.get("style_transfer").section
    'style_transfer'
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..errors import DataError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _img, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register


class StyleTransferConfig(Strict):
    content: str = Field("chelsea", description="a scikit-image photo (astronaut, chelsea, coffee, rocket) or an image file")
    styles: list[str] = Field(["vangogh_starry_night", "hokusai_great_wave"], min_length=1,
                              description="style images: the bundled paintings (style-images/) or image files")
    style_weight: Float = Field(1e4, gt=0.0, description="β, the style loss's weight (the content's is content_weight)")
    style_weights: list[Float] = Field([1e2, 1e3, 1e4, 1e5], description="the first style again at each of these weights")
    content_weight: Float = Field(1.0, gt=0.0, description="α")
    tv_weight: Float = Field(0.0, ge=0.0, description="γ, a total-variation smoothness term (0: off, as in the paper)")
    steps: Int = Field(300, ge=1, description="loss evaluations per picture (L-BFGS) or Adam steps")
    size: Int = Field(256, ge=16, description="the pictures' longer side in pixels")
    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    lr: Float = Field(0.02, gt=0.0, description="Adam's step size (L-BFGS needs none)")
    init: Literal["content", "noise"] = Field("content", description="start from the photo, or from white noise (the paper)")
    pool: Literal["avg", "max"] = Field("avg", description="the paper replaces max pooling by average pooling")
    content_layer: str | None = Field(None, description="None: relu4_2 (the paper's conv4_2, after its ReLU)")
    style_layers: list[str] | None = Field(None, description="None: relu1_1, relu2_1, ... the first ReLU of every block")
    features: str | None = Field(None, description="reuse the feature network of an earlier style_transfer run: its folder, "
                                                   "its recipe's name (the newest run), or a features.safetensors file")
    pretrain_epochs: Int = Field(5, ge=1, description="epochs of the feature network's CIFAR-10 pretraining")
    log_every: Int = Field(10, ge=1, description="loss evaluations per point of the loss curves")


def run(context: RunContext) -> dict:
    """Get the feature network, then optimise one picture per style and per style weight."""
    import torch

    from ..models.vgg import CONFIGS
    from ..style import FeatureExtractor, default_layers, load_content, load_style, save_png, transfer

    config, say = context.config, context.say
    section = config.style_transfer or StyleTransferConfig()
    started = time.perf_counter()
    # the pictures first: a style image that cannot be decoded fails before minutes of pretraining
    content = load_content(section.content, section.size)                                   # (1, 3, H, W)
    styles = [load_style(name, section.size, config.data.data_dir) for name in section.styles]
    model, network = _feature_network(context, section)
    vgg_config = CONFIGS.get(model.model_name) if hasattr(model, "model_name") else None
    if vgg_config is None:
        raise DataError(f"model.name={config.model.name!r} is not a VGG tujie can read layer by layer.",
                        expected="vgg_mini, vgg11, vgg13, vgg16 or vgg19", received=f"model.name={config.model.name!r}",
                        fix="Use model.name=vgg_mini (the recipe's) or vgg19 with torchvision's weights.")
    extractor = FeatureExtractor(model.features, vgg_config, network["mean"], network["std"], pool=section.pool)
    content_layer, style_layers = default_layers(vgg_config)
    content_layer, style_layers = section.content_layer or content_layer, section.style_layers or style_layers
    extractor.check([content_layer, *style_layers])
    network.update(content_layer=content_layer, style_layers=style_layers, pool=section.pool)

    run_dir = context.run_dir
    save_png(run_dir / "content.png", content)
    options = dict(content_layer=content_layer, style_layers=style_layers, content_weight=section.content_weight,
                   tv_weight=section.tv_weight, steps=section.steps, optimizer=section.optimizer, lr=section.lr,
                   init=section.init, log_every=section.log_every, seed=config.seed)
    done: dict[tuple[int, float], dict] = {}

    def picture(i: int, weight: float, filename: str) -> dict:
        if (i, weight) in done:
            return done[(i, weight)]
        say(_("Style transfer: {content} in the style of {style}, style weight {weight:g}, {steps} steps").format(
            content=section.content, style=section.styles[i], weight=weight, steps=section.steps))
        torch.manual_seed(config.seed)
        result = transfer(extractor, content, styles[i], style_weight=weight, **options)
        save_png(run_dir / filename, result.image)
        with torch.no_grad():  # the content loss of giving the content up: the style image, at the content's size
            resized = torch.nn.functional.interpolate(styles[i], size=content.shape[-2:], mode="bilinear", antialias=True)
            feats = extractor(torch.cat([resized, content]), [content_layer])[content_layer]
            reference = float(torch.mean((feats[0] - feats[1]) ** 2))
        first, last = result.history[0], result.history[-1]
        row = {"style": section.styles[i], "style_weight": weight, "file": filename, "seconds": result.seconds,
               "steps": last["step"], "history": result.history, "layers": result.style_layers,
               "style_first": first["style"], "style_last": last["style"], "content_last": last["content"],
               "content_reference": reference, "reduction": first["style"] / max(last["style"], 1e-30)}
        say(_("  style loss {first:.4g} → {last:.4g} ({reduction:.0f}×), content loss {content:.4g}, {seconds:.0f} s").format(
            first=row["style_first"], last=row["style_last"], reduction=row["reduction"], content=row["content_last"],
            seconds=row["seconds"]))
        done[(i, weight)] = row
        return row

    pairs = []
    for i, name in enumerate(section.styles):
        save_png(run_dir / f"style_{i}.png", styles[i])
        pairs.append(picture(i, section.style_weight, f"result_{i}.png"))
    sweep = [picture(0, w, f"weight_{j}.png") for j, w in enumerate(section.style_weights)]
    pictures = list(done.values())
    seconds = [p["seconds"] for p in pictures]
    write_json(run_dir / "style_transfer.json", {
        "content": section.content, "size": list(content.shape[-2:]), "steps": section.steps, "optimizer": section.optimizer,
        "init": section.init, "content_weight": section.content_weight, "style_weight": section.style_weight,
        "tv_weight": section.tv_weight, "network": network, "pairs": pairs, "sweep": sweep,
        "seconds_per_image": sum(seconds) / len(seconds)})
    main = pairs[0]
    results = {"style_loss_reduction": min(p["reduction"] for p in pairs),
               **{f"style_loss_reduction_{_stem(p['style'])}": p["reduction"] for p in pairs},
               "content_loss_final": main["content_last"], "content_loss_ratio": max(p["content_last"] / p["content_reference"]
                                                                                     for p in pairs)}
    return {"results": results, "timings": {"pretrain_s": network.get("seconds"), "seconds_per_image": sum(seconds) / len(seconds),
                                            "total_s": time.perf_counter() - started}}


def _stem(name: str) -> str:
    from pathlib import Path

    return Path(name).stem.replace("-", "_")


# ------------------------------------------------------------------------------- the network
def _feature_network(context: RunContext, section: StyleTransferConfig):
    """(model, what it is): an earlier run's, the user's `model.weights`, or pretrained now on the recipe's data."""
    from .. import models
    from ..style import load_feature_weights
    from ..style.features import IMAGENET_MEAN, IMAGENET_STD

    config = context.config
    kwargs = {k: v for k, v in (config.model.model_extra or {}).items() if k != "weights"}
    if section.features:
        from ..train.checkpoint import read_checkpoint

        path = _features_path(config, section.features)
        tensors, meta = read_checkpoint(path)
        model = models.create(config.model.name, **{"num_classes": meta.get("num_classes", 10), **kwargs})
        load_feature_weights(model, {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}, config.model.name)
        context.say(_("Reusing the feature network of {path}").format(path=path))
        return model, {**meta.get("network", {}), "reused_from": str(path)}
    weights = getattr(config.model, "weights", None)
    if weights:
        model = models.create(config.model.name, **kwargs)
        loaded = load_feature_weights(model, weights, config.model.name)
        context.say(_("Loaded {n} tensors of {name}'s feature layers from {path}").format(n=loaded, name=config.model.name, path=weights))
        return model, {"name": config.model.name, "source": "weights", "weights": str(weights), "tensors": loaded,
                       "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    return _pretrain(context, section, kwargs)


def _pretrain(context: RunContext, section: StyleTransferConfig, kwargs: dict):
    from ..train.builders import build_learner
    from ..train.checkpoint import save_weights
    from ._common import build_model

    config, data = context.config, context.data
    context.say(_("Pretraining the feature network {name} on {dataset} ({n} images) for {epochs} epochs").format(
        name=config.model.name, dataset=data.name, n=f"{len(data.train):,}", epochs=section.pretrain_epochs))
    began = time.perf_counter()
    context.seed()
    model = build_model(config, data)
    learner = build_learner(config, model, context.callbacks, num_classes=data.num_classes)
    history = learner.fit(data.train, epochs=section.pretrain_epochs, batch_size=config.train.batch_size, verbose=context.verbose)
    accuracy = float(learner.evaluate(data.test, verbose=0)["accuracy"]) if data.test is not None else None
    model.eval()
    network = {"name": config.model.name, "source": "pretrained", "dataset": data.name, "images": len(data.train),
               "epochs": section.pretrain_epochs, "test_accuracy": accuracy, "seconds": time.perf_counter() - began,
               "history": history.epochs, "mean": list(data.mean or (0.5, 0.5, 0.5)), "std": list(data.std or (0.25, 0.25, 0.25))}
    context.say(_("Feature network pretrained in {seconds:.0f} s: test accuracy {accuracy}").format(
        seconds=network["seconds"], accuracy="?" if accuracy is None else f"{accuracy:.1%}"))
    save_weights(context.run_dir / "features.safetensors", model,
                 {"network": {k: v for k, v in network.items() if k != "history"}, "num_classes": data.num_classes})
    return model, network


def _features_path(config, value: str):
    from pathlib import Path

    from ._common import newest_run_path

    path = newest_run_path(value, config.output_dir, "style_transfer.features", ("features.safetensors",), "a features file")
    path = path / "features.safetensors" if Path(path).is_dir() else Path(path)
    if not path.is_file():
        raise DataError(f"style_transfer.features={value!r} holds no feature network.",
                        expected="a style_transfer run's folder (with features.safetensors), its recipe's name, or that file",
                        received=str(path), fix="Run `tujie run style-transfer` once, then name its run folder.")
    return path


# ----------------------------------------------------------------------------------- report
def _picture(run: RunFiles, name: str):
    import numpy as np
    from PIL import Image

    with Image.open(run.folder / name) as image:
        return np.asarray(image.convert("RGB"))


def _pairs_section(run: RunFiles) -> str:
    from ..plots.style_transfer import side_by_side

    s = run.style_transfer
    pairs = s.get("pairs") or []
    rows = [(_picture(run, "content.png"), _picture(run, f"style_{i}.png"), _picture(run, p["file"])) for i, p in enumerate(pairs)]
    how = _("The content photo ({content}), each style image and the result: the photo's pixels optimised for {steps} "
            "loss evaluations ({optimizer}) so that the feature network sees the photo's content at {layer} and the "
            "painting's Gram matrices at {layers}. Style weight {weight:g}, content weight {alpha:g}.").format(
        content=f'<span class="mono">{_e(s.get("content", "?"))}</span>', steps=s.get("steps", "?"),
        optimizer=_e(s.get("optimizer", "?")), layer=f'<span class="mono">{_e(s["network"].get("content_layer", "?"))}</span>',
        layers=f'<span class="mono">{_e(", ".join(s["network"].get("style_layers", [])))}</span>',
        weight=s.get("style_weight", 0), alpha=s.get("content_weight", 0))
    return _section("style-pairs", _("Content, style and result"), how,
                    _img(side_by_side(rows, [p["style"] for p in pairs]), _("content, style and result")))


def _curves_section(run: RunFiles) -> str:
    from ..plots.style_transfer import loss_curves

    s = run.style_transfer
    pictures = [*(s.get("pairs") or []), *(p for p in s.get("sweep") or [] if p["file"] not in {q["file"] for q in s["pairs"]})]
    curves = [{"label": f"{p['style']} β={p['style_weight']:g}", "history": p["history"]} for p in pictures]
    rows = [[f'<span class="mono">{_e(p["style"])}</span>', f"{p['style_weight']:g}", f"{p['style_first']:.4g}",
             f"{p['style_last']:.4g}", f"{p['reduction']:.0f}×", f"{p['content_last']:.4g}", f"{p['content_reference']:.4g}",
             f"{p['seconds']:.1f} s"] for p in pictures]
    header = [_("style"), _("style weight"), _("style loss, first"), _("style loss, last"), _("fall"), _("content loss, last"),
              _("content loss of the style image"), _("wall time")]
    how = _("The style loss (mean squared difference of the Gram matrices, averaged over the style layers) and the content "
            "loss (mean squared difference of the content layer's features) at every step. Starting from the photo, the "
            "content loss starts at zero and rises while the style loss falls; it stays below the content loss the "
            "style image itself would have (last column but one), and the lower the style weight, the further below. Wall time on this machine's CPU, per picture: "
            "{seconds:.1f} s on average.").format(seconds=s.get("seconds_per_image", 0))
    return _section("style-curves", _("The losses during the optimisation"), how,
                    _img(loss_curves(curves), _("style and content loss")) + _table(header, rows, "numbers"))


def _weights_section(run: RunFiles) -> str:
    from ..plots.style_transfer import weight_row

    sweep = run.style_transfer.get("sweep") or []
    how = _("The same photo and the first style at several style weights β (content weight α fixed): the larger β/α, "
            "the more the painting's textures replace the photo's detail.")
    return _section("style-weights", _("Results at several style weights"), how,
                    _img(weight_row([_picture(run, p["file"]) for p in sweep], [p["style_weight"] for p in sweep]),
                         _("results at several style weights")))


def _network_section(run: RunFiles) -> str:
    n = run.style_transfer.get("network") or {}
    if n.get("source") == "weights":
        how = _("The feature network is {name} with the weights of {path} ({n} tensors of its feature layers), read with "
                "ImageNet's mean and standard deviation.").format(
            name=f'<span class="mono">{_e(n.get("name", "?"))}</span>', path=f'<span class="mono">{_e(n.get("weights", "?"))}</span>',
            n=n.get("tensors", "?"))
    else:
        accuracy = n.get("test_accuracy")
        how = _("No ImageNet VGG can be downloaded here, so tujie pretrained its own: {name}, VGG's first four blocks of 3×3 "
                "convolutions at a quarter of the width, trained as a {dataset} classifier on {images} images for {epochs} "
                "epochs ({seconds:.0f} s); test accuracy {accuracy}. Its max pools are replaced by average pools, as "
                "Gatys et al. advise for synthesis.").format(
            name=f'<span class="mono">{_e(n.get("name", "?"))}</span>', dataset=f'<span class="mono">{_e(n.get("dataset", "?"))}</span>',
            images=f"{n.get('images', 0):,}", epochs=n.get("epochs", "?"), seconds=n.get("seconds") or 0,
            accuracy="?" if accuracy is None else f"{accuracy:.1%}")
    if n.get("reused_from"):
        how += " " + _("This run reused the network of {path}.").format(path=f'<span class="mono">{_e(n["reused_from"])}</span>')
    rows = [[_("content layer"), f'<span class="mono">{_e(n.get("content_layer", "?"))}</span>'],
            [_("style layers"), f'<span class="mono">{_e(", ".join(n.get("style_layers", [])))}</span>'],
            [_("pooling"), _("average") if n.get("pool") == "avg" else _("maximum")]]
    return _section("style-network", _("The feature network"), how, _table([_("what"), _("value")], rows))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    s = run.style_transfer
    pairs = s.get("pairs") or []
    stats = [(f"{p['reduction']:.0f}×", _("style loss fall, {style}").format(style=p["style"])) for p in pairs[:2]]
    stats.append((f"{s.get('seconds_per_image', 0):.0f} s", _("wall time per picture")))
    accuracy = (s.get("network") or {}).get("test_accuracy")
    if accuracy is not None:
        stats.append((f"{accuracy:.1%}", _("feature network's test accuracy")))
    return stats[:4]


_HAS = (lambda run: run.style_transfer is not None)
REPORT = KindReport("style_transfer", files=("style_transfer.json",), result_file="style_transfer.json",
                    missing={"style_transfer.json": N_("the pictures and their losses")},
                    sections=(Section("style-pairs", N_("Content, style and result"), _pairs_section, _HAS, order=14),
                              Section("style-curves", N_("The losses during the optimisation"), _curves_section, _HAS, order=15),
                              Section("style-weights", N_("Results at several style weights"), _weights_section,
                                      lambda run: bool((run.style_transfer or {}).get("sweep")), order=16),
                              Section("style-network", N_("The feature network"), _network_section, _HAS, order=17)),
                    headline=_headline)
register(Kind("style_transfer", run, N_("Gatys et al.'s neural style transfer: a photo repainted in a painting's style by L-BFGS"),
              section="style_transfer", config=StyleTransferConfig, report=REPORT, order=86,
              smoke=("style-transfer", ("limit=64", "style_transfer.pretrain_epochs=1", "style_transfer.size=32",
                                        "style_transfer.steps=6", "style_transfer.style_weights=[100.0,10000.0]",
                                        "style_transfer.styles=[hokusai_great_wave]", "train.batch_size=32")),
              smoke_needs_data=True))
