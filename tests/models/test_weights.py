"""Weights from disk (`models/weights.py`): torchvision, timm and tujie layouts, heads, refusals, downloads.

The foreign state dicts are built here with exactly the key names and shapes of the real
sources (random values), written down from them, not from tujie's translation tables:
- torchvision: models/resnet.py (conv1, bn1, layer1..4 of BasicBlock, downsample.0/1, fc),
  models/vgg.py (features.N in `make_layers` order, classifier.0/3/6), models/mobilenetv2.py
  (features.0 Conv2dNormActivation, InvertedResidual `conv` lists, features.18, classifier.1),
  models/vision_transformer.py (class_token, conv_proj, encoder.pos_embedding,
  encoder.layers.encoder_layer_N.{ln_1, self_attention.in_proj_*, ln_2, mlp.0, mlp.3}, encoder.ln, heads.head);
- timm: vision_transformer.py (cls_token, pos_embed, patch_embed.proj, blocks.N.{norm1, attn.qkv,
  attn.proj, norm2, mlp.fc1, mlp.fc2}, norm, head), efficientnet.py mobilenetv2_100 (conv_stem, bn1,
  blocks.S.B DepthwiseSeparableConv / InvertedResidual of _efficientnet_blocks.py, conv_head, bn2,
  classifier), vgg.py (pre_logits.fc1/fc2 ConvMlp, head.fc).
Random values are all distinct, so "every tensor landed where it should" is checked by value.
"""

import hashlib
import os

import pytest
import torch
from torch import nn

from tujie import models
from tujie.errors import ChecksumError, ConfigError, DataError, DataNotFoundError
from tujie.models import weights as W

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(prefix: str, channels: int) -> dict:
    return {f"{prefix}.{k}": (() if k == "num_batches_tracked" else (channels,)) for k in BN}


def _random(shapes: dict) -> dict:
    g = torch.Generator().manual_seed(0)
    return {k: (torch.tensor(7) if s == () else torch.randn(s, generator=g)) for k, s in shapes.items()}


def torchvision_resnet18(num_classes=1000) -> dict:
    shapes = {"conv1.weight": (64, 3, 7, 7), **_bn("bn1", 64)}
    in_planes = 64
    for layer, planes in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            p = f"layer{layer}.{block}"
            shapes[f"{p}.conv1.weight"] = (planes, in_planes, 3, 3)
            shapes.update(_bn(f"{p}.bn1", planes))
            shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
            shapes.update(_bn(f"{p}.bn2", planes))
            if block == 0 and layer > 1:
                shapes[f"{p}.downsample.0.weight"] = (planes, in_planes, 1, 1)
                shapes.update(_bn(f"{p}.downsample.1", planes))
            in_planes = planes
    shapes.update({"fc.weight": (num_classes, 512), "fc.bias": (num_classes,)})
    return _random(shapes)


def torchvision_vgg16_bn_features() -> dict:
    """features.* of torchvision's vgg16_bn (conv, bn, relu per "D" entry; a max pool per "M").

    The classifier (102M floats in classifier.0 alone) is left out to keep the test fast: the
    model is built with small_input=True, whose classifier is its own head.
    """
    shapes, index, channels = {}, 0, 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if v == "M":
            index += 1
            continue
        shapes[f"features.{index}.weight"], shapes[f"features.{index}.bias"] = (v, channels, 3, 3), (v,)
        shapes.update(_bn(f"features.{index + 1}", v))
        index, channels = index + 3, v
    return _random(shapes)


V2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def torchvision_mobilenet_v2(num_classes=1000) -> dict:
    shapes = {"features.0.0.weight": (32, 3, 3, 3), **_bn("features.0.1", 32)}
    index, cin = 1, 32
    for t, c, n, _s in V2:
        for _ in range(n):
            p, hidden, i = f"features.{index}.conv", cin * t, 0
            if t != 1:
                shapes[f"{p}.0.0.weight"] = (hidden, cin, 1, 1)
                shapes.update(_bn(f"{p}.0.1", hidden))
                i = 1
            shapes[f"{p}.{i}.0.weight"] = (hidden, 1, 3, 3)
            shapes.update(_bn(f"{p}.{i}.1", hidden))
            shapes[f"{p}.{i + 1}.weight"] = (c, hidden, 1, 1)
            shapes.update(_bn(f"{p}.{i + 2}", c))
            index, cin = index + 1, c
    shapes.update({"features.18.0.weight": (1280, 320, 1, 1), **_bn("features.18.1", 1280),
                   "classifier.1.weight": (num_classes, 1280), "classifier.1.bias": (num_classes,)})
    return _random(shapes)


def timm_mobilenetv2_100(num_classes=1000) -> dict:
    shapes = {"conv_stem.weight": (32, 3, 3, 3), **_bn("bn1", 32)}
    cin = 32
    for stage, (t, c, n, _s) in enumerate(V2):
        for block in range(n):
            p, hidden = f"blocks.{stage}.{block}", cin * t
            if stage == 0:  # DepthwiseSeparableConv: conv_dw, bn1, conv_pw, bn2
                shapes.update({f"{p}.conv_dw.weight": (cin, 1, 3, 3), **_bn(f"{p}.bn1", cin),
                               f"{p}.conv_pw.weight": (c, cin, 1, 1), **_bn(f"{p}.bn2", c)})
            else:  # InvertedResidual: conv_pw, bn1, conv_dw, bn2, conv_pwl, bn3
                shapes.update({f"{p}.conv_pw.weight": (hidden, cin, 1, 1), **_bn(f"{p}.bn1", hidden),
                               f"{p}.conv_dw.weight": (hidden, 1, 3, 3), **_bn(f"{p}.bn2", hidden),
                               f"{p}.conv_pwl.weight": (c, hidden, 1, 1), **_bn(f"{p}.bn3", c)})
            cin = c
    shapes.update({"conv_head.weight": (1280, 320, 1, 1), **_bn("bn2", 1280),
                   "classifier.weight": (num_classes, 1280), "classifier.bias": (num_classes,)})
    return _random(shapes)


def timm_vit(d, depth, mlp, num_classes=1000, patches=196) -> dict:
    shapes = {"cls_token": (1, 1, d), "pos_embed": (1, patches + 1, d), "patch_embed.proj.weight": (d, 3, 16, 16),
              "patch_embed.proj.bias": (d,)}
    for i in range(depth):
        p = f"blocks.{i}"
        shapes.update({f"{p}.norm1.weight": (d,), f"{p}.norm1.bias": (d,), f"{p}.attn.qkv.weight": (3 * d, d),
                       f"{p}.attn.qkv.bias": (3 * d,), f"{p}.attn.proj.weight": (d, d), f"{p}.attn.proj.bias": (d,),
                       f"{p}.norm2.weight": (d,), f"{p}.norm2.bias": (d,), f"{p}.mlp.fc1.weight": (mlp, d),
                       f"{p}.mlp.fc1.bias": (mlp,), f"{p}.mlp.fc2.weight": (d, mlp), f"{p}.mlp.fc2.bias": (d,)})
    shapes.update({"norm.weight": (d,), "norm.bias": (d,), "head.weight": (num_classes, d), "head.bias": (num_classes,)})
    return _random(shapes)


def torchvision_vit(d, depth, mlp, num_classes=1000, patches=196) -> dict:
    shapes = {"class_token": (1, 1, d), "conv_proj.weight": (d, 3, 16, 16), "conv_proj.bias": (d,),
              "encoder.pos_embedding": (1, patches + 1, d)}
    for i in range(depth):
        p = f"encoder.layers.encoder_layer_{i}"
        shapes.update({f"{p}.ln_1.weight": (d,), f"{p}.ln_1.bias": (d,),
                       f"{p}.self_attention.in_proj_weight": (3 * d, d), f"{p}.self_attention.in_proj_bias": (3 * d,),
                       f"{p}.self_attention.out_proj.weight": (d, d), f"{p}.self_attention.out_proj.bias": (d,),
                       f"{p}.ln_2.weight": (d,), f"{p}.ln_2.bias": (d,), f"{p}.mlp.0.weight": (mlp, d),
                       f"{p}.mlp.0.bias": (mlp,), f"{p}.mlp.3.weight": (d, mlp), f"{p}.mlp.3.bias": (d,)})
    shapes.update({"encoder.ln.weight": (d,), "encoder.ln.bias": (d,), "heads.head.weight": (num_classes, d),
                   "heads.head.bias": (num_classes,)})
    return _random(shapes)


def _landed(model, state: dict, pairs: dict) -> None:
    own = model.state_dict()
    for source, target in pairs.items():
        assert torch.equal(own[target], state[source]), f"{source} did not land in {target}"


def _every_float_landed(model, state: dict, skip=()) -> None:
    """Each float tensor of the file is found, by value, in the model (values are random, so unique)."""
    own = [v for v in model.state_dict().values() if v.is_floating_point()]
    for key, value in state.items():
        if value.is_floating_point() and key not in skip:
            assert any(o.shape == value.shape and torch.equal(o, value) for o in own), f"{key} was not loaded"


def test_torchvision_resnet18_lands_in_place_and_a_new_head_is_replaced():
    state = torchvision_resnet18()
    model = models.create("resnet18", num_classes=10)
    report = W.load_weights_into(model, state)
    assert report.layout == "torchvision/timm"
    assert list(report.skipped) == ["fc.weight", "fc.bias"] and report.skipped["fc.weight"] == ((1000, 512), (10, 512))
    assert len(report.loaded) == len(state) - 2 and not report.unused and report.missing == []
    _landed(model, state, {"conv1.weight": "stem.0.weight", "bn1.running_var": "stem.1.running_var",
                           "layer1.1.conv2.weight": "stages.0.1.conv2.weight", "layer3.1.bn1.bias": "stages.2.1.bn1.bias",
                           "layer2.0.downsample.0.weight": "stages.1.0.shortcut.0.weight",
                           "layer4.0.downsample.1.running_mean": "stages.3.0.shortcut.1.running_mean"})
    _every_float_landed(model, state, skip={"fc.weight", "fc.bias"})


def test_same_head_size_loads_everything_and_the_model_computes_with_it(capsys, tmp_path):
    state = torchvision_resnet18(num_classes=5)
    torch.save(state, tmp_path / "resnet18.pth")
    model = models.create("resnet18", num_classes=5, weights=tmp_path / "resnet18.pth")
    printed = capsys.readouterr().out
    assert f"loaded {len(state)} tensors" in printed and "skipped" not in printed
    assert torch.equal(model.fc.weight, state["fc.weight"])
    assert model.__dict__["_tujie_origin"] == {"name": "resnet18", "kwargs": {"num_classes": 5}}  # the path is no builder argument


def test_torchvision_vgg16_bn_features_and_the_small_input_head():
    state = torchvision_vgg16_bn_features()
    model = models.create("vgg16_bn", num_classes=10, small_input=True)
    report = W.load_weights_into(model, state)
    assert report.layout == "tujie" and sorted(report.missing) == ["classifier.bias", "classifier.weight"]
    _landed(model, state, {k: k for k in ("features.0.weight", "features.1.running_mean", "features.40.weight")})
    _every_float_landed(model, state)


def test_timm_vgg_classifier_convolutions_become_the_linear_layers():
    """timm's ConvMlp stores fc1 as Conv2d(512, 4096, 7): flattened, it must compute the same as the conv."""
    conv = torch.randn(4, 512, 7, 7)  # (out, c, h, w), 4 instead of 4096 outputs keeps it small
    state = W.translate_keys({"pre_logits.fc1.weight": conv, "pre_logits.fc2.weight": torch.randn(4, 4, 1, 1),
                              "head.fc.weight": torch.randn(10, 4), "features.0.weight": torch.randn(1)}, W.VGG_TIMM)
    assert sorted(state) == ["classifier.0.weight", "classifier.3.weight", "classifier.6.weight", "features.0.weight"]
    x = torch.randn(2, 512, 7, 7)  # (batch, 512, 7, 7), what the pool hands the classifier
    as_conv = nn.functional.conv2d(x, conv).flatten(1)                        # (2, 4)
    as_linear = torch.flatten(x, 1) @ state["classifier.0.weight"].T            # (2, 4)
    assert torch.allclose(as_conv, as_linear, atol=1e-4) and state["classifier.3.weight"].shape == (4, 4)


def test_torchvision_mobilenet_v2_is_tujies_layout():
    state = torchvision_mobilenet_v2()
    model = models.create("mobilenet_v2")
    report = W.load_weights_into(model, state)
    assert report.layout == "tujie" and len(report.loaded) == len(state) and not report.skipped and not report.unused


def test_timm_mobilenetv2_blocks_are_renumbered():
    state = timm_mobilenetv2_100(num_classes=1000)
    model = models.create("mobilenet_v2", num_classes=3)
    report = W.load_weights_into(model, state)
    assert report.layout == "timm" and list(report.skipped) == ["classifier.1.weight", "classifier.1.bias"]
    assert not report.unused and not report.missing
    _landed(model, state, {"conv_stem.weight": "features.0.0.weight", "bn1.weight": "features.0.1.weight",
                           "blocks.0.0.conv_dw.weight": "features.1.conv.0.0.weight",
                           "blocks.0.0.bn2.running_var": "features.1.conv.2.running_var",
                           "blocks.1.1.conv_dw.weight": "features.3.conv.1.0.weight",
                           "blocks.3.3.conv_pwl.weight": "features.10.conv.2.weight",
                           "blocks.6.0.bn3.bias": "features.17.conv.3.bias",
                           "conv_head.weight": "features.18.0.weight", "bn2.running_mean": "features.18.1.running_mean"})
    _every_float_landed(model, state, skip={"classifier.weight", "classifier.bias"})


def test_timm_mobilenetv1_blocks_are_renumbered():
    shapes, cin = {"conv_stem.weight": (32, 3, 3, 3), **_bn("bn1", 32)}, 32
    for stage, (c, n) in enumerate([(64, 1), (128, 2), (256, 2), (512, 6), (1024, 2)]):
        for block in range(n):
            p = f"blocks.{stage}.{block}"
            shapes.update({f"{p}.conv_dw.weight": (cin, 1, 3, 3), **_bn(f"{p}.bn1", cin),
                           f"{p}.conv_pw.weight": (c, cin, 1, 1), **_bn(f"{p}.bn2", c)})
            cin = c
    state = _random({**shapes, "classifier.weight": (1000, 1024), "classifier.bias": (1000,)})
    model = models.create("mobilenet_v1")
    report = W.load_weights_into(model, state)
    assert report.layout == "timm" and len(report.loaded) == len(state)
    _landed(model, state, {"blocks.3.5.conv_pw.weight": "features.11.1.0.weight", "classifier.bias": "classifier.1.bias"})


def test_timm_vit_tiny_qkv_is_split_into_q_k_v():
    state = timm_vit(192, 12, 768, num_classes=1000)
    model = models.create("vit_tiny", num_classes=10)
    report = W.load_weights_into(model, state)
    assert report.layout == "timm" and list(report.skipped) == ["head.weight", "head.bias"]
    assert not report.missing and not report.unused
    own, qkv = model.state_dict(), state["blocks.4.attn.qkv.weight"]                # (576, 192)
    assert torch.equal(own["encoder.layers.4.self_attn.q_proj.weight"], qkv[:192])
    assert torch.equal(own["encoder.layers.4.self_attn.k_proj.weight"], qkv[192:384])
    assert torch.equal(own["encoder.layers.4.self_attn.v_proj.bias"], state["blocks.4.attn.qkv.bias"][384:])
    assert torch.equal(own["pos_embed.weight"], state["pos_embed"][0])
    _landed(model, state, {"cls_token": "cls_token", "patch_embed.proj.weight": "patch_embed.weight",
                           "blocks.11.mlp.fc2.weight": "encoder.layers.11.feed_forward.linear2.weight",
                           "blocks.0.attn.proj.bias": "encoder.layers.0.self_attn.out_proj.bias",
                           "blocks.7.norm2.weight": "encoder.layers.7.norm2.weight", "norm.bias": "encoder.norm.bias"})


def test_torchvision_vit_small_layout_loads():
    state = torchvision_vit(384, 2, 1536, num_classes=10)
    model = models.create("vit_small", num_classes=10, depth=2)
    report = W.load_weights_into(model, state)
    assert report.layout == "torchvision" and len(report.loaded) == 4 + 2 * 16 + 2 + 2 and not report.unused
    own = model.state_dict()
    assert torch.equal(own["encoder.layers.1.self_attn.k_proj.bias"], state["encoder.layers.encoder_layer_1.self_attention.in_proj_bias"][384:768])
    _landed(model, state, {"class_token": "cls_token", "encoder.layers.encoder_layer_1.mlp.0.weight":
                           "encoder.layers.1.feed_forward.linear1.weight", "encoder.ln.weight": "encoder.norm.weight",
                           "heads.head.weight": "head.weight"})


def test_a_file_of_another_architecture_is_refused_with_the_first_mismatched_keys():
    with pytest.raises(ConfigError) as e:
        W.load_weights_into(models.create("resnet50"), torchvision_resnet18())
    message = str(e.value)
    assert "not for model 'ResNet'" in message and "stages.0.0.conv1.weight: file (64, 64, 3, 3), model (64, 64, 1, 1)" in message
    assert "partial=True" in message
    with pytest.raises(ConfigError, match="not for model 'vgg11'"):  # nothing fits at all
        models.create("vgg11", small_input=True, weights=_saved(torchvision_mobilenet_v2(), "mnv2.pt"))


def test_partial_loads_a_backbone_into_a_deeper_model():
    model = models.create("resnet34")
    report = W.load_weights_into(model, torchvision_resnet18(), partial=True)
    assert "stages.0.2.conv1.weight" in report.missing and "stages.0.0.conv1.weight" in report.loaded


def _saved(state, name):
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), name)
    torch.save(state, path)
    return path


def test_tujie_run_directory_checkpoint_and_save_model_files_load(tmp_path, capsys):
    from tujie.models.saving import save_model
    from tujie.train.checkpoint import save_checkpoint

    trained = models.create("resnet20")
    optimizer = torch.optim.SGD(trained.parameters(), lr=0.1)
    run = tmp_path / "cifar-run"
    save_checkpoint(run / "last.safetensors", trained, optimizer)
    model = models.create("resnet20", weights=run)  # a run directory: best, else last
    assert torch.equal(model.stem[0].weight, trained.stem[0].weight)
    save_model(trained, tmp_path / "r20.tujie")
    model = models.create("resnet20", num_classes=4, weights=tmp_path / "r20.tujie")
    assert torch.equal(model.stages[2][0].conv1.weight, trained.stages[2][0].conv1.weight)
    assert "newly initialised: fc.weight, fc.bias" in capsys.readouterr().out


def test_wrappers_are_unwrapped():
    state = {"module.fc.weight": torch.ones(2, 2)}
    assert list(W.unwrap_state_dict({"state_dict": state})) == ["fc.weight"]
    assert list(W.unwrap_state_dict({"model": {"a": torch.ones(1)}, "epoch": 3})) == ["a"]


def test_bad_files_are_refused_clearly(tmp_path):
    torch.save(nn.Linear(2, 2), tmp_path / "whole_model.pt")  # a pickled module: code, not a state dict
    with pytest.raises(DataError, match="could not be read as weights"):
        W.read_state_dict(tmp_path / "whole_model.pt")
    (tmp_path / "w.h5").write_bytes(b"x")
    with pytest.raises(ConfigError, match="not a weights file"):
        W.read_state_dict(tmp_path / "w.h5")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        models.create("resnet20", weights=tmp_path / "nope.safetensors")
    with pytest.raises(DataNotFoundError, match="holds no weights"):
        W.read_state_dict(tmp_path)
    torch.save({"epoch": 3}, tmp_path / "meta.pt")
    with pytest.raises(DataError, match="no state dict of tensors"):
        W.read_state_dict(tmp_path / "meta.pt")


def test_download_checks_the_sha256_and_caches(tmp_path):
    source = tmp_path / "resnet20.pt"
    torch.save(models.create("resnet20").state_dict(), source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    path = W.download(source.as_uri(), sha256=digest, cache_dir=cache)
    assert path == cache / "resnet20.pt" and path.read_bytes() == source.read_bytes()
    with pytest.raises(ChecksumError, match="do not match their checksum"):
        W.download(source.as_uri(), sha256="0" * 64, cache_dir=tmp_path / "other")
    assert not (tmp_path / "other" / "resnet20.pt").exists()  # a bad copy is not kept
    named = tmp_path / f"resnet20-{digest[:8]}.pt"  # torch.hub's convention: a sha256 prefix in the name
    named.write_bytes(source.read_bytes())
    assert W.download(named.as_uri(), cache_dir=cache).is_file()


def test_download_fails_fast_and_clearly_without_a_server(tmp_path):
    with pytest.raises(DataNotFoundError, match="could not be downloaded") as e:
        W.download("http://127.0.0.1:9/resnet18.pth", cache_dir=tmp_path)  # port 9 (discard): refused at once
    assert "pass its path as weights=" in str(e.value)


def test_recipe_weights_name_a_run_directory_or_a_recipes_newest_run(tmp_path):
    from tujie.config import RunConfig
    from tujie.kinds._common import _weights_path, build_model
    from tujie.recipes import list_recipes
    from tujie.train.checkpoint import save_weights

    recipe = min(list_recipes())
    config = RunConfig(recipe="demo", output_dir=str(tmp_path), model={"name": "resnet20", "weights": recipe})
    with pytest.raises(DataNotFoundError, match=f"model.weights names the recipe '{recipe}'"):
        _weights_path(config)
    trained = models.create("resnet20")
    save_weights(tmp_path / f"{recipe}-20260101-000000" / "best.safetensors", trained)
    assert _weights_path(config) == tmp_path / f"{recipe}-20260101-000000"

    class Data:
        num_classes = 10
    model = build_model(config, Data())
    assert torch.equal(model.fc.weight, trained.fc.weight)


def test_a_model_not_built_yet_takes_its_sizes_from_the_file_or_refuses_it():
    trained = models.create("mlp", hidden=[16], num_classes=3)
    trained(torch.zeros(2, 1, 8, 8))  # the first batch builds the lazy layers
    model = models.create("mlp", hidden=[16], num_classes=3)
    report = W.load_weights_into(model, trained.state_dict())
    assert len(report.loaded) == 4 and torch.equal(model[1].weight, trained[1].weight)
    with pytest.raises(ConfigError, match="whose layers are not built yet"):
        W.load_weights_into(models.create("mlp", hidden=[32], num_classes=3), trained.state_dict())


def _timm_vit_forward(state: dict, x: torch.Tensor, depth: int, heads: int) -> torch.Tensor:
    """timm's VisionTransformer.forward (vision_transformer.py: Block = x + attn(norm1(x)), x + mlp(norm2(x))), in plain torch."""
    F = nn.functional
    d = state["cls_token"].shape[-1]

    def norm(h, p):
        return F.layer_norm(h, (d,), state[f"{p}.weight"], state[f"{p}.bias"], eps=1e-6)

    def linear(h, p):
        return F.linear(h, state[f"{p}.weight"], state[f"{p}.bias"])

    x = F.conv2d(x, state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=16)   # (B, d, 14, 14)
    x = x.flatten(2).transpose(1, 2)                                                                # (B, 196, d)
    x = torch.cat([state["cls_token"].expand(len(x), -1, -1), x], dim=1) + state["pos_embed"]      # (B, 197, d)
    B, N, _ = x.shape
    for i in range(depth):
        qkv = linear(norm(x, f"blocks.{i}.norm1"), f"blocks.{i}.attn.qkv")                          # (B, N, 3d)
        q, k, v = qkv.reshape(B, N, 3, heads, d // heads).permute(2, 0, 3, 1, 4)                    # 3 × (B, H, N, hd)
        attn = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, N, d)            # (B, N, d)
        x = x + linear(attn, f"blocks.{i}.attn.proj")
        x = x + linear(F.gelu(linear(norm(x, f"blocks.{i}.norm2"), f"blocks.{i}.mlp.fc1")), f"blocks.{i}.mlp.fc2")
    return linear(norm(x, "norm")[:, 0], "head")                                                     # (B, classes)


def test_timm_vit_weights_compute_what_timm_computes():
    state = {k: v if "norm" in k else v * 0.2 for k, v in timm_vit(192, 2, 768, num_classes=7).items()}  # softmax not saturated
    model = models.create("vit_tiny", num_classes=7, depth=2).eval()
    W.load_weights_into(model, state)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(model(x), _timm_vit_forward(state, x, depth=2, heads=3), atol=1e-4)


def test_vit_weights_for_another_image_size_are_refused_with_the_sizes_to_use():
    with pytest.raises(ConfigError) as e:
        models.create("vit_tiny", num_classes=10, image_size=32, patch_size=8, depth=2,
                      weights=_saved(timm_vit(192, 2, 768), "vit.pt"))
    message = str(e.value)
    assert "pos_embed.weight: file (197, 192), model (17, 192)" in message and "cover 196 patches" in message
    assert "image_size=224, patch_size=16" in message
