"""Why did the model decide? Saliency, integrated gradients, Grad-CAM and occlusion through captum.

`explain_run(RUN_DIR)` reloads a trained image classifier from its run directory (as
`tujie.deploy.runs.load_run_model` does: config.yaml and best.safetensors), picks test images it
got right and the mistakes it was most sure of, and asks four questions of each:

- saliency (Simonyan et al. 2014): |∂ logit / ∂ pixel|, one backward pass;
- integrated gradients (Sundararajan et al. 2017): the gradient averaged along the straight path
  from a black image to the input, times the difference; the attributions sum to
  f(x) − f(black) (completeness), which is checked and written down;
- Grad-CAM (Selvaraju et al. 2017): the last convolution's feature maps weighted by their mean
  gradient, kept positive and upsampled to the image (convolutional models only);
- occlusion (Zeiler & Fergus 2014): how much the class score falls when a square is set to black.

Adebayo et al.'s sanity check (2018): the same explanations of the same model with every weight
randomised must change; the Spearman rank correlation of |map| between the trained and the
randomised model is reported per method (near 1: the method shows the image, not the model).

It writes `explain.json` and `explain.safetensors` (the maps) into the run directory; the report's
explanations section reads them (`tujie explain RUN_DIR` does all of it and rebuilds the report).

Example:
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
    ...                           torch.nn.Linear(4 * 8 * 8, 3))
    >>> maps, seconds = attribute(net, torch.rand(2, 1, 8, 8), torch.tensor([0, 2]), "gradcam")
    >>> maps.shape
    torch.Size([2, 8, 8])
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch

from .._io import write_json
from ..errors import ConfigError
from ..i18n import N_, _

EXPLAIN_FILE = "explain.json"
MAPS_FILE = "explain.safetensors"
FORMAT = "tujie-explain-1"
METHODS = ("saliency", "ig", "gradcam", "occlusion")
METHOD_NAMES = {"saliency": N_("Saliency"), "ig": N_("Integrated gradients"), "gradcam": N_("Grad-CAM"),
                "occlusion": N_("Occlusion")}
IG_STEPS = 32  # Riemann steps of the path integral; the completeness gap says whether they suffice


def last_conv(model: torch.nn.Module) -> tuple[str, torch.nn.Module] | None:
    """The model's last 2-D convolution (by registration order), Grad-CAM's layer; None for a model without one.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Conv2d(2, 2, 3), torch.nn.Flatten())
        >>> last_conv(net)[0]
        '1'
    """
    found = None
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d) or (type(module).__name__ == "Conv2D" and hasattr(module, "weight")):
            found = (name, module)
    return found


def attribute(model, x: torch.Tensor, target: torch.Tensor, method: str, *, baseline: torch.Tensor | None = None):
    """One method's attribution maps for a batch, summed over channels, and the seconds it took.

    Args:
        model: a classifier returning logits (N, K), in eval mode.
        x: inputs as the model takes them, (N, C, H, W).
        target: the class to explain per input, (N,).
        method: "saliency", "ig", "gradcam" or "occlusion".
        baseline: the "absent" input for IG and occlusion, (1, C, H, W) or like x; default zeros.

    Returns:
        (maps (N, H, W) float32 tensor, seconds).
    """
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion, Saliency

    x = x.detach().float().clone().requires_grad_(True)  # captum warns when it must switch gradients on itself
    baseline = torch.zeros_like(x[:1]) if baseline is None else baseline
    baselines = baseline.expand_as(x).contiguous()
    start = time.perf_counter()
    if method == "saliency":
        maps = Saliency(model).attribute(x, target=target, abs=True)
    elif method == "ig":
        maps = IntegratedGradients(model).attribute(x, baselines=baselines, target=target, n_steps=IG_STEPS)
    elif method == "gradcam":
        layer = last_conv(model)
        if layer is None:
            raise ConfigError("Grad-CAM needs a convolutional model, and this one has no 2-D convolution.",
                              expected="a model with a Conv2d layer (small_cnn, lenet5, resnet...)",
                              received=f"{type(model).__name__} without convolutions",
                              fix="Pass --method saliency, ig or occlusion, which work for any model.")
        cam = LayerGradCam(model, layer[1]).attribute(x, target=target, relu_attributions=True)  # (N, 1, h, w)
        maps = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    elif method == "occlusion":
        side = max(2, x.shape[-1] // 7)  # 4×4 squares on 28×28 MNIST, 2×2 on 8×8 digits
        maps = Occlusion(model).attribute(x, sliding_window_shapes=(x.shape[1], side, side),
                                          strides=(x.shape[1], max(1, side // 2), max(1, side // 2)),
                                          baselines=baselines, target=target, perturbations_per_eval=64)
    else:
        raise ConfigError(f"Unknown explanation method {method!r}.", expected=" or ".join((*METHODS, "all")),
                          received=repr(method), fix="Pass --method ig, for example, or --method all.")
    seconds = time.perf_counter() - start
    return maps.detach().float().sum(1), seconds  # (N, H, W): channels summed


def completeness_gap(model, x: torch.Tensor, target: torch.Tensor, maps: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
    """|Σ IG − (f(x) − f(baseline))| per input (N,): zero for exact integrated gradients.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> x, t = torch.rand(3, 1, 2, 2), torch.tensor([0, 1, 1])
        >>> maps, _ = attribute(net, x, t, "ig")
        >>> bool(completeness_gap(net, x, t, maps, torch.zeros(1, 1, 2, 2)).max() < 1e-4)  # exact for a linear model
        True
    """
    with torch.no_grad():
        rows = torch.arange(len(x))
        delta = model(x)[rows, target] - model(baseline.expand_as(x))[rows, target]
    return (maps.flatten(1).sum(1) - delta).abs()


def randomised(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """A copy of the model with every weight redrawn at its layer's own scale (Adebayo et al.'s full randomisation).

    Example:
        >>> net = torch.nn.Linear(3, 2)
        >>> bool(torch.equal(randomised(net).weight, net.weight))
        False
    """
    twin = copy.deepcopy(model).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in twin.parameters():
            scale = float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 0.1
            p.copy_(torch.randn(p.shape, generator=generator) * scale)
    return twin


def spearman(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """Spearman's rank correlation of |a| and |b| (flattened), as Adebayo et al. compare maps; NaN if one is constant.

    `where` (a boolean mask of a's shape) keeps only those pixels, e.g. a digit's ink.

    Example:
        >>> round(spearman(np.array([1.0, -2.0, 3.0]), np.array([0.1, 0.2, 0.3])), 3)
        1.0
        >>> round(spearman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([9.0, 0.2, 0.3, 0.4]), np.array([0, 1, 1, 1]) > 0), 3)
        1.0
    """
    from scipy.stats import spearmanr

    if where is not None:
        a, b = np.asarray(a)[where], np.asarray(b)[where]
    a, b = np.abs(np.ravel(a)), np.abs(np.ravel(b))
    if a.size < 3:
        return float("nan")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def choose(probs: torch.Tensor, labels: torch.Tensor, count: int) -> tuple[list[int], list[int]]:
    """Indices of up to `count` correct predictions (the first ones) and the `count` most confident mistakes.

    Example:
        >>> p = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
        >>> choose(p, torch.tensor([0, 0, 1, 1]), 1)
        ([0], [1])
    """
    confidence, predicted = probs.max(1)
    correct = (predicted == labels).nonzero().flatten().tolist()[:count]
    wrong = (predicted != labels).nonzero().flatten()
    wrong = wrong[confidence[wrong].argsort(descending=True)][:count].tolist()
    return correct, wrong


def _test_images(run_dir: Path, config, contract: dict, pool: int):
    """The run's test split as the model takes it (normalised as in training), and unit-scale pixels to show."""
    from .. import data as datasets

    d = config.data
    bundle = datasets.load(d.name, data_dir=d.data_dir, validation_split=d.validation_split, seed=config.seed,
                           normalize=d.normalize, limit=d.limit)
    x, y = bundle.test.x[:pool].float(), bundle.test.y[:pool].long()
    shown = x.clone()
    if contract.get("mean") is not None:  # undo the standardisation for the eye
        shape = (1, -1, 1, 1)
        shown = shown * torch.tensor(contract["std"]).reshape(shape) + torch.tensor(contract["mean"]).reshape(shape)
    if contract.get("pixel_max") is not None and contract.get("normalize") is None:
        shown = shown / float(contract["pixel_max"])
    black = torch.from_numpy(_model_input(np.zeros((1, *x.shape[1:]), np.float32), contract))
    return x, y, shown.clamp(0, 1), black


def _model_input(x, contract):
    from ..deploy.runs import model_input

    return model_input(x, contract)


def explain_run(run_dir, *, methods=METHODS, images: int = 6, pool: int = 2000, seed: int = 0, say=None) -> dict:
    """Explain a trained image classifier's test predictions; write explain.json and explain.safetensors into the run.

    Args:
        run_dir: a run directory of an image classifier (config.yaml, best.safetensors).
        methods: any of "saliency", "ig", "gradcam", "occlusion" (Grad-CAM is skipped, with a note,
            for a model without convolutions).
        images: how many correct predictions and how many mistakes to explain (each).
        pool: how many test images to search for them.
        seed: seeds the randomised model of the sanity check.
        say: a function for progress lines (None: silent).

    Returns:
        explain.json's content.
    """
    from safetensors.torch import save_file

    from .._io import atomic_path
    from ..deploy.runs import load_run_model, read_run_config

    methods = _methods(methods)
    if images < 1:
        raise ConfigError("Invalid value received for --images.", expected="an integer >= 1", received=f"--images {images}",
                          fix="Pass --images 6, for example.")
    run = load_run_model(run_dir)
    if run.task == "text":
        return explain_text_run(run, images=images, pool=pool, seed=seed, say=say)
    if run.task != "image":
        raise ConfigError(f"{run.run_dir.name} is a {run.task} classifier; `tujie explain` explains image and text classifiers.",
                          expected="a run of an image dataset (mnist, fashion_mnist, cifar10, digits) or of a text one (imdb, sst2)",
                          received=f"data.name={run.contract.get('dataset')!r} ({run.task})",
                          fix="Pass the run directory of an image classifier, e.g. one of `tujie run mnist-cnn-fast`.")
    model, config = run.model.eval(), read_run_config(run.run_dir)
    x, y, shown, black = _test_images(run.run_dir, config, run.contract, pool)
    with torch.no_grad():
        probs = torch.cat([model(chunk).softmax(-1) for chunk in x.split(512)])  # (pool, K)
    correct, wrong = choose(probs, y, images)
    picked = correct + wrong
    xs, targets = x[picked], probs[picked].argmax(1)  # explain the class the model chose
    twin, notes = randomised(model, seed), []
    if "gradcam" in methods and last_conv(model) is None:
        methods = tuple(m for m in methods if m != "gradcam")
        notes.append("gradcam: no convolution")
    tensors = {"images": shown[picked].contiguous()}
    result = {"format": FORMAT, "run": run.run_dir.name, "model": run.model_name, "dataset": run.contract.get("dataset"),
              "classes": [str(c) for c in run.contract["classes"]], "methods": list(methods), "notes": notes,
              "examples": [{"index": int(i), "label": int(y[i]), "predicted": int(probs[i].argmax()),
                            "confidence": float(probs[i].max()), "group": "correct" if k < len(correct) else "mistake"}
                           for k, i in enumerate(picked)],
              "seconds_per_image": {}, "spearman": {}, "spearman_ink": {}, "randomisation": "all layers", "baseline": "black image",
              "ig_steps": IG_STEPS, "gradcam_layer": (last_conv(model) or ("",))[0] or None}
    for method in methods:
        if say:
            say(_("Explaining {count} test images with {method}").format(count=len(picked), method=_(METHOD_NAMES[method])))
        maps, seconds = attribute(model, xs, targets, method, baseline=black)
        noise, _seconds = attribute(twin, xs, targets, method, baseline=black)
        tensors[f"map_{method}"], tensors[f"random_{method}"] = maps.contiguous(), noise.contiguous()
        result["seconds_per_image"][method] = seconds / len(picked)
        rhos = [spearman(a, b) for a, b in zip(maps.numpy(), noise.numpy())]
        result["spearman"][method] = _mean(rhos)
        # the same on the pixels that are not black: there IG and occlusion are zero whatever the weights
        ink = (tensors["images"].amax(1) > 0.1).numpy()  # (N, H, W)
        result["spearman_ink"][method] = _mean([spearman(a, b, m) for a, b, m in zip(maps.numpy(), noise.numpy(), ink)])
        if method == "ig":
            result["ig_gap"] = float(completeness_gap(model, xs, targets, maps, black).mean())
            with torch.no_grad():
                spread = (model(xs)[torch.arange(len(xs)), targets] - model(black)[0, targets]).abs().mean()
            result["ig_gap_relative"] = float(result["ig_gap"] / max(float(spread), 1e-12))
    folder = Path(run.run_dir)
    with atomic_path(folder / MAPS_FILE) as tmp:
        save_file(tensors, str(tmp))
    write_json(folder / EXPLAIN_FILE, result)
    return result


def _mean(values) -> float | None:
    return float(np.nanmean(values)) if len(values) and not all(np.isnan(values)) else None


def _methods(methods) -> tuple[str, ...]:
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    if "all" in methods or not methods:
        return METHODS
    for method in methods:
        if method not in METHODS:
            raise ConfigError(f"Unknown explanation method {method!r}.", expected=" or ".join((*METHODS, "all")),
                              received=f"--method {method}", fix="Pass --method ig, for example, or --method all.")
    return tuple(dict.fromkeys(methods))


# ------------------------------------------------------------------ text classifiers
def _two_columns(model, takes_lengths: bool):
    """The model as (tokens, lengths) → (N, K) logits; one binary logit z becomes the columns (0, z), so softmax = sigmoid."""
    def forward(tokens, lengths):
        out = model(tokens, lengths) if takes_lengths else model(tokens)
        return torch.cat([torch.zeros_like(out), out], -1) if out.shape[-1] == 1 else out
    return forward


def token_attributions(model, embedding: torch.nn.Module, ids: list[int], target: int, *, takes_lengths: bool = True):
    """Integrated gradients over the embedding layer (captum's LayerIntegratedGradients), one number per token.

    The baseline is the same text made of padding ids (id 0): the attributions sum to the class
    score's change from that empty text to this one.

    Returns:
        ((T,) float32 tensor, seconds).
    """
    from captum.attr import LayerIntegratedGradients

    tokens = torch.tensor([ids], dtype=torch.long)  # (1, T)
    lengths = torch.tensor([len(ids)], dtype=torch.long)
    start = time.perf_counter()
    attr = LayerIntegratedGradients(_two_columns(model, takes_lengths), embedding).attribute(
        tokens, baselines=torch.zeros_like(tokens), target=int(target), additional_forward_args=(lengths,), n_steps=IG_STEPS)
    return attr.detach().float().sum(-1)[0], time.perf_counter() - start  # (T,): the embedding dimensions summed


def explain_text_run(run, *, images: int = 6, pool: int = 500, seed: int = 0, say=None) -> dict:
    """Token attributions (integrated gradients over the embedding) for a text classifier's test texts; writes explain.json."""
    from ..deploy.onnx_graph import takes_lengths
    from ..deploy.runs import _tokenizer
    from ..text.corpus import load_imdb, load_sst2

    dataset = run.contract.get("dataset")
    if dataset not in ("imdb", "sst2"):
        raise ConfigError(f"{run.run_dir.name} was trained on {dataset}, whose test texts `tujie explain` cannot load.",
                          expected="a text run on imdb or sst2", received=f"data.name={dataset!r}",
                          fix="Pass the run directory of an imdb or sst2 classifier (e.g. `tujie run sst2-lstm`).")
    embedding = next((m for m in run.model.modules() if isinstance(m, torch.nn.Embedding)), None)
    if embedding is None:
        raise ConfigError(f"{run.model_name} has no embedding layer to attribute to.", expected="a model with nn.Embedding",
                          received=run.model_name, fix="Pass a run of an embedding-based text classifier (sst2-lstm, imdb-lstm).")
    model, lengths_too = run.model.eval(), takes_lengths(run.model)
    corpus = (load_sst2 if dataset == "sst2" else load_imdb)()
    pool = min(pool, 500)  # one text per forward pass (no padding to attribute): keep the search short
    order = torch.randperm(len(corpus.test), generator=torch.Generator().manual_seed(seed))[:pool].tolist()  # IMDB is sorted
    tokenizer = _tokenizer(run.run_dir, run.contract)
    texts = [corpus.test[i] for i in order]
    ids = [seq[: int(run.contract["max_len"])] or [tokenizer.unk_id] for seq in tokenizer.encode_batch([t for t, _l in texts])]
    forward = _two_columns(model, lengths_too)
    with torch.no_grad():
        probs = torch.cat([forward(torch.tensor([seq]), torch.tensor([len(seq)])).softmax(-1) for seq in ids])  # (pool, K)
    labels = torch.tensor([int(label) for _t, label in texts])
    correct, wrong = choose(probs, labels, images)
    twin = randomised(model, seed)
    twin_embedding = next(m for m in twin.modules() if isinstance(m, torch.nn.Embedding))
    examples, seconds, rhos = [], 0.0, []
    if say:
        say(_("Explaining {count} test images with {method}").format(count=len(correct) + len(wrong),
                                                                     method=_(METHOD_NAMES["ig"])))
    for k, i in enumerate(correct + wrong):
        target = int(probs[i].argmax())
        values, took = token_attributions(model, embedding, ids[i], target, takes_lengths=lengths_too)
        noise, _took = token_attributions(twin, twin_embedding, ids[i], target, takes_lengths=lengths_too)
        seconds += took
        rhos.append(spearman(values.numpy(), noise.numpy()))
        examples.append({"index": int(order[i]), "label": int(labels[i]), "predicted": target, "confidence": float(probs[i].max()),
                         "group": "correct" if k < len(correct) else "mistake", "tokens": tokenizer.tokens(ids[i]),
                         "attributions": [float(v) for v in values], "random": [float(v) for v in noise]})
    count = max(1, len(examples))
    result = {"format": FORMAT, "task": "text", "run": run.run_dir.name, "model": run.model_name, "dataset": dataset,
              "classes": [str(c) for c in run.contract["classes"]], "methods": ["ig"], "notes": [], "examples": examples,
              "seconds_per_image": {"ig": seconds / count},
              "spearman": {"ig": float(np.nanmean(rhos)) if rhos and not all(np.isnan(rhos)) else None},
              "randomisation": "all layers", "baseline": "padding tokens", "ig_steps": IG_STEPS}
    stale = Path(run.run_dir) / MAPS_FILE
    if stale.is_file():
        stale.unlink()  # an earlier image explanation's maps would not match this file
    write_json(Path(run.run_dir) / EXPLAIN_FILE, result)
    return result
