"""Weights from disk: load a state dict saved by torchvision, timm or tujie into a zoo model.

A user who downloaded ImageNet weights elsewhere passes the file to `create`:

    tj.models.create("resnet18", num_classes=10, weights="resnet18-f37072fd.pth")

`read_state_dict` reads safetensors files, `weights_only` torch files (.pt/.pth/.bin: tensors
only, never pickled code), tujie run directories and `tj.save_model` folders, and unwraps the
usual wrappers ({"state_dict": ...}, DataParallel's "module.", tujie's "model." prefix).
`translate_keys` renames the keys of the torchvision and timm layouts of ResNet, VGG, MobileNet
and ViT into tujie's, with one small table of rename rules per layout (below), and converts the
tensors whose storage differs (timm's fused `qkv` split into q/k/v, its VGG classifier stored as
convolutions, a position embedding with a batch axis). `load_weights_into` then loads every
tensor whose name and shape agree: a classifier head of another size is left newly initialised
("replaced"), and a file of another architecture is refused with the first mismatched keys.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import ChecksumError, ConfigError, DataError, DataNotFoundError
from ..i18n import _

# A rule is (regex, replacement); a layout's rules are applied in order to every key (re.sub),
# so later rules see the result of earlier ones. A replacement may be a function of the match.
Rules = tuple[tuple[str, object], ...]


def _shift(offset: int):
    """A replacement naming a stage `offset` below the matched number (torchvision's layer1 is tujie's stages.0)."""
    return lambda m: f"{m[1]}{int(m[2]) + offset}."


# ResNet: torchvision and timm share one layout (conv1, bn1, layer1..4, downsample, fc)
RESNET: Rules = (
    (r"^conv1\.", "stem.0."),
    (r"^bn1\.", "stem.1."),
    (r"^(layer)([1-4])\.", lambda m: f"stages.{int(m[2]) - 1}."),
    (r"\.downsample\.", ".shortcut."),
)

# VGG: torchvision's layout is tujie's; timm keeps the two hidden dense layers as convolutions
VGG_TIMM: Rules = (
    (r"^pre_logits\.fc1\.", "classifier.0."),   # Conv2d(512, 4096, 7): reshaped to Linear(25088, 4096)
    (r"^pre_logits\.fc2\.", "classifier.3."),   # Conv2d(4096, 4096, 1): reshaped to Linear(4096, 4096)
    (r"^head\.fc\.", "classifier.6."),
)


def _flat_blocks(stages: tuple[int, ...], inner: dict[str, str]):
    """timm's `blocks.<stage>.<block>.<layer>.` → tujie's `features.<running block number>.<inner[layer]>.`."""
    starts = [1 + sum(stages[:i]) for i in range(len(stages))]  # features.0 is the stem

    def rename(m):
        return f"features.{starts[int(m[1])] + int(m[2])}.{inner[m[3]]}."
    return rename


# MobileNet v2: torchvision's layout is tujie's; timm's mobilenetv2_100 (efficientnet.py): a stem,
# one depthwise-separable block then 16 inverted residuals in 6 stages, a 1×1 head convolution
_V2_STAGES = (1, 2, 3, 4, 3, 3, 1)
_V2_DS = {"conv_dw": "conv.0.0", "bn1": "conv.0.1", "conv_pw": "conv.1", "bn2": "conv.2"}
_V2_IR = {"conv_pw": "conv.0.0", "bn1": "conv.0.1", "conv_dw": "conv.1.0", "bn2": "conv.1.1", "conv_pwl": "conv.2",
          "bn3": "conv.3"}
MOBILENET_V2_TIMM: Rules = (
    (r"^blocks\.(0)\.(0)\.(\w+)\.", _flat_blocks(_V2_STAGES, _V2_DS)),
    (r"^blocks\.(\d+)\.(\d+)\.(\w+)\.", _flat_blocks(_V2_STAGES, _V2_IR)),
    (r"^conv_stem\.", "features.0.0."),
    (r"^bn1\.", "features.0.1."),
    (r"^conv_head\.", "features.18.0."),
    (r"^bn2\.", "features.18.1."),
    (r"^classifier\.", "classifier.1."),
)

# MobileNet v1: torchvision has none; timm's mobilenetv1_100 (mobilenetv3.py, no head convolution):
# 13 depthwise-separable blocks in 5 stages
MOBILENET_V1_TIMM: Rules = (
    (r"^blocks\.(\d+)\.(\d+)\.(\w+)\.", _flat_blocks((1, 2, 2, 6, 2), {"conv_dw": "0.0", "bn1": "0.1", "conv_pw": "1.0",
                                                                        "bn2": "1.1"})),
    (r"^conv_stem\.", "features.0.0."),
    (r"^bn1\.", "features.0.1."),
    (r"^classifier\.", "classifier.1."),
)

# ViT, timm (vision_transformer.py): blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}
VIT_TIMM: Rules = (
    (r"^patch_embed\.proj\.", "patch_embed."),
    (r"^pos_embed$", "pos_embed.weight"),        # (1, 1 + patches, d) → (1 + patches, d)
    (r"^blocks\.", "encoder.layers."),
    (r"\.attn\.qkv\.", ".self_attn.qkv."),       # fused (3d, d): split into q_proj, k_proj, v_proj
    (r"\.attn\.proj\.", ".self_attn.out_proj."),
    (r"\.mlp\.fc1\.", ".feed_forward.linear1."),
    (r"\.mlp\.fc2\.", ".feed_forward.linear2."),
    (r"^norm\.", "encoder.norm."),
)

# ViT, torchvision (vision_transformer.py): encoder.layers.encoder_layer_N.{ln_1, self_attention, ln_2, mlp.0/3}
VIT_TORCHVISION: Rules = (
    (r"^class_token$", "cls_token"),
    (r"^conv_proj\.", "patch_embed."),
    (r"^encoder\.pos_embedding$", "pos_embed.weight"),
    (r"^encoder\.layers\.encoder_layer_(\d+)\.", r"encoder.layers.\1."),
    (r"\.ln_1\.", ".norm1."),
    (r"\.ln_2\.", ".norm2."),
    (r"\.self_attention\.in_proj_(weight|bias)$", r".self_attn.qkv.\1"),  # fused (3d, d), as timm's
    (r"\.self_attention\.out_proj\.", ".self_attn.out_proj."),
    (r"\.mlp\.(0|linear_1)\.", ".feed_forward.linear1."),  # linear_1: torchvision's names before 0.13
    (r"\.mlp\.(3|linear_2)\.", ".feed_forward.linear2."),
    (r"^encoder\.ln\.", "encoder.norm."),
    (r"^heads\.head\.", "head."),
)

# family (the model's class) -> {layout name: rules}; tujie's own layout is always tried first
LAYOUTS: dict[str, dict[str, Rules]] = {
    "ResNet": {"torchvision/timm": RESNET},
    "VGG": {"timm": VGG_TIMM},
    "MobileNetV1": {"timm": MOBILENET_V1_TIMM},
    "MobileNetV2": {"timm": MOBILENET_V2_TIMM},
    "VisionTransformer": {"timm": VIT_TIMM, "torchvision": VIT_TORCHVISION},
}

WEIGHT_SUFFIXES = (".safetensors", ".tujie", ".pt", ".pth", ".bin", ".ckpt")
RUN_FILES = ("best.safetensors", "last.safetensors", "weights.safetensors")  # a run directory, then a save_model folder


@dataclass
class LoadReport:
    """What `load_weights_into` did.

    Attributes:
        layout: the key layout the file was read in ("tujie", "torchvision/timm", "timm", ...).
        loaded: model keys whose tensors came from the file.
        skipped: {key: (shape in the file, shape in the model)} left newly initialised (a head of another size).
        missing: model keys the file does not have, left newly initialised.
        unused: keys of the file no model tensor took.
    """

    layout: str
    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, tuple] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    def summary(self, source: str = "") -> str:
        """A short block for the terminal: loaded, skipped (shape), newly initialised, unused."""
        lines = [_("Weights {source} ({layout} layout): loaded {n} tensors.").format(source=source, layout=self.layout,
                                                                                   n=len(self.loaded)).replace("  ", " ")]
        if self.skipped:
            shapes = ", ".join(f"{k} {tuple(a)} → {tuple(b)}" for k, (a, b) in self.skipped.items())
            lines.append("  " + _("skipped (another shape): {keys}").format(keys=shapes))
        fresh = [*self.skipped, *(k for k in self.missing if not k.endswith("num_batches_tracked"))]
        if fresh:
            lines.append("  " + _("newly initialised: {keys}").format(keys=_few(fresh)))
        if self.unused:
            lines.append("  " + _("unused keys of the file: {keys}").format(keys=_few(self.unused)))
        return "\n".join(lines)


def _few(keys, n: int = 6) -> str:
    keys = list(keys)
    return ", ".join(keys[:n]) + (f" … (+{len(keys) - n})" if len(keys) > n else "")


def read_state_dict(path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file or folder, unwrapped (see `unwrap_state_dict`); never unpickles code.

    Reads `.safetensors`/`.tujie` with safetensors, `.pt`/`.pth`/`.bin`/`.ckpt` with
    `torch.load(weights_only=True)`, and a folder through its `best.safetensors`, else
    `last.safetensors` (a run directory), else `weights.safetensors` (a `tj.save_model` folder).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.pt")
        >>> torch.save({"state_dict": {"module.fc.weight": torch.ones(2, 3)}}, path)
        >>> {k: tuple(v.shape) for k, v in read_state_dict(path).items()}
        {'fc.weight': (2, 3)}
    """
    path = Path(path).expanduser()
    if path.is_dir():
        found = next((path / name for name in RUN_FILES if (path / name).is_file()), None)
        if found is None:
            raise DataNotFoundError(f"The folder {path} holds no weights.",
                                    expected=f"a run directory or tj.save_model folder with one of {', '.join(RUN_FILES)}",
                                    received=f"{', '.join(sorted(p.name for p in path.iterdir())[:8]) or 'an empty folder'}",
                                    fix="Point model.weights at a finished run's folder or at a weights file.")
        path = found
    if not path.is_file():
        raise DataNotFoundError(f"The weights file {path} does not exist.",
                                expected="a .safetensors, .pt, .pth or .bin file, a run directory, or an https:// URL",
                                received=f"weights={str(path)!r}", fix="Check the path (relative paths start in the current folder).")
    suffix = path.suffix.lower()
    if suffix not in WEIGHT_SUFFIXES:
        raise ConfigError(f"{path} is not a weights file tujie reads.", expected=f"a file ending in {', '.join(WEIGHT_SUFFIXES)}",
                          received=f"a {suffix or 'suffix-less'} file",
                          fix="Convert it to safetensors, or save `model.state_dict()` with torch.save to a .pt file.")
    try:
        if suffix in (".safetensors", ".tujie"):
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:  # tensors and plain containers only: a pickled model (code) is refused by torch itself
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any reader failure is the same user problem: this file is not readable weights
        raise DataError(f"{path} could not be read as weights ({type(e).__name__}: {str(e).splitlines()[0][:200]}).",
                        expected="a safetensors file, or a torch file holding only tensors (a state dict)",
                        received=f"{path.stat().st_size:,} bytes",
                        fix="Save the weights with `torch.save(model.state_dict(), path)` (not the whole model), "
                            "or download the file again if it is truncated.") from None
    return unwrap_state_dict(state, source=str(path))


def unwrap_state_dict(state, source: str = "the weights") -> dict[str, torch.Tensor]:
    """The plain `{name: tensor}` inside the usual wrappers.

    Unwraps {"state_dict"|"model_state_dict"|"model"|"module": ...}, keeps a tujie checkpoint's
    `model.` tensors (without the prefix; its optimizer and RNG state are dropped), and removes
    the "module." that DataParallel and DistributedDataParallel put before every name.

    Example:
        >>> unwrap_state_dict({"model.fc.bias": torch.zeros(2), "optimizer.0.exp_avg": torch.zeros(2)})
        {'fc.bias': tensor([0., 0.])}
    """
    for key in ("state_dict", "model_state_dict", "model", "module"):
        while isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        kinds = sorted({type(v).__name__ for v in state.values()}) if isinstance(state, Mapping) else [type(state).__name__]
        raise DataError(f"{source} holds no state dict of tensors.", expected="a mapping of parameter names to tensors",
                        received=f"{'an empty mapping' if isinstance(state, Mapping) and not state else ', '.join(kinds)}",
                        fix="Save `model.state_dict()` (a dict of tensors), e.g. torch.save(model.state_dict(), 'w.pt').")
    state = dict(state)
    if any(k.startswith("model.") for k in state) and any(k.startswith(("optimizer.", "rng.")) for k in state) \
            or all(k.startswith("model.") for k in state):  # a tujie checkpoint or save_weights file
        state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def translate_keys(state: Mapping[str, torch.Tensor], rules: Rules) -> dict[str, torch.Tensor]:
    """Rename every key by the rules, in order, then convert what is stored differently (see the module docstring).

    Example:
        >>> sorted(translate_keys({"layer2.0.downsample.0.weight": torch.zeros(1), "conv1.weight": torch.zeros(1)}, RESNET))
        ['stages.1.0.shortcut.0.weight', 'stem.0.weight']
    """
    renamed = {}
    for key, value in state.items():
        for pattern, replacement in rules:
            key = re.sub(pattern, replacement, key)
        renamed[key] = value
    return _convert(renamed)


def _convert(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        if ".self_attn.qkv." in key:  # (3d, d) rows are q, then k, then v (timm and nn.MultiheadAttention alike)
            for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                out[key.replace(".qkv.", f".{name}.")] = part.contiguous()
        elif key == "pos_embed.weight" and value.ndim == 3:
            out[key] = value[0]                                     # (1 + patches, d)
        elif re.fullmatch(r"classifier\.[03]\.weight", key) and value.ndim == 4:
            out[key] = value.flatten(1)  # (4096, 512·7·7): the conv's (c, h, w) order is torch.flatten's
        else:
            out[key] = value
    return out


def head_keys(model: nn.Module) -> list[str]:
    """The state-dict keys of the model's last linear layer: the classifier head a new task replaces.

    Example:
        >>> head_keys(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
        ['2.weight', '2.bias']
    """
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        return []
    return [f"{last}.{p}" if last else p for p, _t in model.get_submodule(last).named_parameters(recurse=False)]


def _candidates(model: nn.Module, state: dict) -> dict[str, dict]:
    layouts = {"tujie": state}
    for layout, rules in LAYOUTS.get(type(model).__name__, {}).items():
        layouts[layout] = translate_keys(state, rules)
    return layouts


def load_weights_into(model: nn.Module, source, *, name: str | None = None, partial: bool = False) -> LoadReport:
    """Load the tensors of `source` whose names and shapes fit `model`; refuse a file of another architecture.

    Args:
        model: a built model (a zoo model gets the torchvision/timm key translation).
        source: a path (file, run directory, save_model folder) or a state dict.
        name: the model's name for messages (default: its class name).
        partial: load whatever fits even when tensors beyond the classifier head are missing or of
            another shape (a backbone into a deeper model); off by default, so a wrong file is refused.

    Returns:
        A `LoadReport`: loaded, skipped (the head, another shape), missing (newly initialised), unused.

    Raises:
        ConfigError: the file is for another architecture: the first mismatched keys, both shapes.

    Example:
        >>> source = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 10))
        >>> target = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))   # another head
        >>> report = load_weights_into(target, source.state_dict())
        >>> report.loaded, list(report.skipped), torch.equal(target[0].weight, source[0].weight)
        (['0.weight', '0.bias'], ['2.weight', '2.bias'], True)
    """
    from ..train.loop import needs_build

    name = name or type(model).__name__
    state = source if isinstance(source, Mapping) else read_state_dict(source)
    state = unwrap_state_dict(state, source=str(source) if not isinstance(source, Mapping) else "the state dict")
    if needs_build(model):
        return _load_into_unbuilt(model, state, name, source, partial)
    own = model.state_dict()
    layouts = _candidates(model, state)
    layout, state = max(layouts.items(), key=lambda item: sum(k in own for k in item[1]))  # the layout naming most keys
    head = set(head_keys(model))
    report = LoadReport(layout, unused=[k for k in state if k not in own])
    for key, tensor in own.items():
        if key not in state:
            report.missing.append(key)
        elif tuple(state[key].shape) != tuple(tensor.shape):
            report.skipped[key] = (tuple(state[key].shape), tuple(tensor.shape))
        else:
            report.loaded.append(key)
    wrong = [k for k in report.skipped if k not in head]
    absent = [k for k in report.missing if k not in head and not k.endswith("num_batches_tracked")]
    if not report.loaded or ((wrong or absent) and not partial):
        raise _another_architecture(name, source, layout, report, wrong, absent, state, own)
    with torch.no_grad():
        model.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    return report


def _load_into_unbuilt(model: nn.Module, state: dict, name: str, source, partial: bool) -> LoadReport:
    """A model whose lazy layers wait for their first batch: the file's shapes build them, so it must fit whole."""
    from ..train.loop import needs_build

    where = "the state dict" if isinstance(source, Mapping) else str(source)
    try:
        with torch.no_grad():
            result = model.load_state_dict(state, strict=False)  # lazy layers take their sizes from the file
    except (RuntimeError, ValueError) as e:
        problems = [line.strip() for line in str(e).splitlines() if "size mismatch" in line or "Error" in line][1:4]
        raise ConfigError(f"The weights in {where} do not fit model {name!r}, whose layers are not built yet.",
                          expected=f"a state dict of {name!r} with the same layer sizes (a model not built yet cannot "
                                   "have its head replaced: its sizes come from the file)",
                          received="; ".join(problems) or str(e)[:300],
                          fix="Build the model with the sizes the file was trained with (the same model arguments), or "
                              "give the model its input shape so it is built when made.") from None
    report = LoadReport("tujie", loaded=[k for k in state if k not in result.unexpected_keys],
                        missing=list(result.missing_keys), unused=list(result.unexpected_keys))
    if (report.unused or report.missing or needs_build(model)) and not partial:
        raise ConfigError(f"The weights in {where} are not for model {name!r}.",
                          expected=f"a state dict of {name!r}: every layer in the file, none left unbuilt",
                          received=f"unused keys of the file: {_few(report.unused, 4) or 'none'}; "
                                   f"missing: {_few(report.missing, 4) or 'none'}",
                          fix="Build the model with the arguments the file was trained with (the same hidden sizes).")
    return report


def _another_architecture(name, source, layout, report, wrong, absent, state, own) -> ConfigError:
    lines = [f"{k}: file {tuple(state[k].shape)}, model {tuple(own[k].shape)}" for k in wrong[:5]]
    lines += [f"{k}: not in the file" for k in absent[:max(0, 5 - len(lines))]]
    where = "the state dict" if isinstance(source, Mapping) else str(source)
    if "pos_embed.weight" in wrong:  # a ViT of another image or patch size: the rest may well fit
        patches = state["pos_embed.weight"].shape[0] - 1
        lines.insert(0, f"the file's position embeddings cover {patches} patches (224×224 images of 16×16 patches: 196)")
    return ConfigError(
        f"The weights in {where} are not for model {name!r}: {len(wrong)} tensors have another shape and "
        f"{len(absent)} are missing (read in the {layout} layout; {len(report.loaded)} of {len(own)} fit).",
        expected=f"a state dict of {name!r} (tujie, torchvision or timm key names); only the classifier head may differ",
        received="; ".join(lines) + (f"; unused keys of the file: {_few(report.unused, 4)}" if report.unused else ""),
        fix=("Build the ViT with the file's image_size and patch_size (e.g. image_size=224, patch_size=16) and resize "
             "the images to it. " if "pos_embed.weight" in wrong else "") +
            "Pick the model the file was trained for (a resnet50 file needs model resnet50), or load only the tensors "
            "that fit with tujie.models.weights.load_weights_into(model, path, partial=True).")


def download(url: str, sha256: str | None = None, cache_dir=None) -> Path:
    """A weights file from `url`, kept in the cache (`$TUJIE_CACHE/weights`, default `~/.cache/tujie/weights`).

    The digest is checked when `sha256` is given, or taken from the URL: a `#sha256=<hex>`
    fragment, or the hex after the last `-` of the file name (`resnet18-f37072fd.pth`, as
    torch.hub does: a prefix of the sha256). The download is written atomically; with no
    network it fails within seconds with one clear paragraph.

    Example:
        >>> download("https://download.pytorch.org/models/resnet18-f37072fd.pth")  # doctest: +SKIP
        PosixPath('/home/me/.cache/tujie/weights/resnet18-f37072fd.pth')
    """
    import urllib.parse

    from ..data._files import _download, _hash_file
    from ..data._files import cache_dir as default_cache

    parsed = urllib.parse.urlsplit(url)
    fragment = dict(urllib.parse.parse_qsl(parsed.fragment))
    sha256 = (sha256 or fragment.get("sha256") or "").lower() or None
    filename = Path(urllib.parse.unquote(parsed.path)).name or "weights.bin"
    prefix = None if sha256 else (re.search(r"-([0-9a-f]{8,64})\.[a-z]+$", filename) or [None, None])[1]
    target = Path(cache_dir or default_cache() / "weights") / filename
    if not target.is_file():
        try:  # a 10 s timeout: with no network this fails in seconds, not minutes
            _download(url, target, {})
        except Exception as e:  # noqa: BLE001 - DNS, refused, HTTP 404, timeout: all "could not download"
            raise DataNotFoundError(f"The weights at {url} could not be downloaded ({type(e).__name__}: {e}).",
                                    expected=f"a reachable URL (the file is then kept in {target})",
                                    received="no network, or the server refused" if isinstance(e, OSError) else str(e)[:200],
                                    fix=f"Download the file yourself and pass its path as weights=..., or copy it to {target}.") from None
    if sha256 or prefix:
        actual = _hash_file(target, ["sha256"])["sha256"]
        if not actual.startswith(sha256 or prefix):
            target.unlink(missing_ok=True)  # a bad copy is not kept: the next try downloads afresh
            raise ChecksumError(f"The weights downloaded from {url} do not match their checksum (the file was removed).",
                                expected=f"sha256 {'starting with ' + prefix if prefix else sha256}", received=f"sha256 {actual}",
                                fix="Try again (a download cut short), or check the URL and its published sha256.")
    return target


def resolve_source(weights):
    """A local path for `weights`: a path as given, or a URL downloaded into the cache first (a state dict stays one)."""
    if isinstance(weights, Mapping):
        return weights
    text = os.fspath(weights) if not isinstance(weights, str) else weights
    if re.match(r"^(https?|file)://", text):
        return download(text)
    return Path(text).expanduser()
