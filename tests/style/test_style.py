"""Style transfer: the Gram matrix and losses against the paper's formula, the feature network's layers and
weights (torchvision's VGG-19 key layout), the optimisation, and bad pictures refused with the file named."""

import numpy as np
import pytest
import torch

import tujie as tj
from tujie.models.vgg import CONFIGS, vgg_mini
from tujie.style import FeatureExtractor, default_layers, gram_matrix, layer_names, load_feature_weights, transfer
from tujie.style.gatys import StyleLoss
from tujie.style.images import STYLE_IMAGES, load_content, read_image, style_path, to_tensor

# torchvision's vgg19().features: the index of every convolution (Simonyan & Zisserman's configuration E)
TORCHVISION_VGG19_CONVS = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]


def test_gram_matrix_matches_numpy():
    features = torch.randn(2, 3, 4, 5)
    flat = features.numpy().reshape(2, 3, 20)
    expected = np.einsum("bcp,bdp->bcd", flat, flat) / 20
    np.testing.assert_allclose(gram_matrix(features).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_style_loss_is_four_times_the_papers_layer_loss():
    # Gatys et al. eq. 4: E_l = Σ (G − A)² / (4 N² M²) with the raw Gram F Fᵀ (N channels, M positions)
    torch.manual_seed(0)
    net = FeatureExtractor(vgg_mini().features, CONFIGS["vgg_mini"])
    image, style = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    loss = StyleLoss(net, image, style, "relu1_2", ["relu1_1"])
    _c, s, _layers = loss(image)
    fx, fa = (net(x, ["relu1_1"])["relu1_1"][0].reshape(32, -1) for x in (image, style))
    n, m = fx.shape
    paper = float(((fx @ fx.T - fa @ fa.T) ** 2).sum() / (4 * n ** 2 * m ** 2))
    assert float(s) == pytest.approx(4 * paper, rel=1e-4)


def test_layer_names_follow_the_paper_and_torchvision_indices():
    names = layer_names(CONFIGS["vgg19"])
    assert [i for i, n in enumerate(names) if n.startswith("conv")] == TORCHVISION_VGG19_CONVS
    assert [names.index(f"conv{b}_1") for b in range(1, 6)] == [0, 5, 10, 19, 28] and names.index("conv4_2") == 21
    assert default_layers(CONFIGS["vgg19"]) == ("relu4_2", ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"])


def test_vgg19_features_have_torchvisions_keys():
    from tujie.models.vgg import VGG

    # VGG-19's layout at a sixteenth of its width: the same modules, so the same keys, without 20M weights to draw
    narrow = [c if c == "M" else c // 16 for c in CONFIGS["vgg19"]]
    keys = [k for k in VGG(narrow, small_input=True).state_dict() if k.startswith("features.")]
    assert sorted(keys) == sorted(f"features.{i}.{p}" for i in TORCHVISION_VGG19_CONVS for p in ("weight", "bias"))


def test_a_torchvision_layout_file_loads_the_features_and_a_wrong_one_is_refused(tmp_path):
    from safetensors.torch import save_file

    source = vgg_mini(num_classes=1000)  # another head: its classifier must not matter
    path = tmp_path / "vgg_mini_torchvision.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    model = vgg_mini()
    assert load_feature_weights(model, str(path), "vgg_mini") == 16
    assert torch.equal(model.features[17].weight, source.features[17].weight)
    wrong = {k: v for k, v in source.state_dict().items() if k != "features.17.weight"}
    with pytest.raises(tj.errors.ConfigError, match="features.17.weight"):
        load_feature_weights(vgg_mini(), wrong, "vgg_mini")


def test_extractor_stops_at_the_deepest_layer_and_refuses_unknown_ones():
    net = FeatureExtractor(vgg_mini().features, CONFIGS["vgg_mini"], pool="avg")
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.layers)
    out = net(torch.rand(1, 3, 32, 32), ["relu2_1"])
    assert list(out) == ["relu2_1"] and out["relu2_1"].shape == (1, 64, 16, 16)
    with pytest.raises(tj.errors.ConfigError, match="relu5_1"):
        net(torch.rand(1, 3, 32, 32), ["relu5_1"])


def test_transfer_moves_the_picture_towards_the_style():
    torch.manual_seed(0)
    net = FeatureExtractor(vgg_mini().features, CONFIGS["vgg_mini"])
    content, style = torch.rand(1, 3, 16, 16) * 0.5, torch.rand(1, 3, 16, 16)
    result = transfer(net, content, style, content_layer="relu2_2", style_layers=["relu1_1", "relu2_1"], style_weight=1e4,
                      steps=15)
    first, last = result.history[0], result.history[-1]
    assert first["content"] == 0.0 and last["style"] < first["style"] / 5 and 15 <= last["step"] <= 15 + 25  # the last line search may overrun by its trials
    assert result.image.min() >= 0 and result.image.max() <= 1 and result.image.shape == content.shape


def test_pictures_resize_to_their_longer_side():
    assert to_tensor(np.zeros((30, 60, 3), np.uint8), 20).shape == (1, 3, 10, 20)
    assert load_content("coffee", 40).shape[-1] == 40
    with pytest.raises(tj.errors.ConfigError, match="no_such_photo"):
        load_content("no_such_photo", 40)


def test_an_undecodable_style_image_names_the_file(tmp_path):
    bad = tmp_path / "torn_painting.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(tj.errors.DataError, match="torn_painting.jpg could not be decoded"):
        read_image(bad, "style image")
    # through the kind: refused before any pretraining, and no run directory left behind
    with pytest.raises(tj.errors.DataError, match="torn_painting.jpg"):
        tj.run("style-transfer", overrides=[f"style_transfer.styles=[{bad}]", f"output_dir={tmp_path / 'runs'}"], verbose=0)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.data
def test_the_bundled_paintings_are_verified():
    for name in STYLE_IMAGES:
        assert read_image(style_path(name), "style image").shape[-1] == 3


def test_the_kind_reads_a_users_vgg_weights_and_skips_pretraining(tmp_path):
    import json

    from PIL import Image
    from safetensors.torch import save_file

    weights = tmp_path / "vgg_mini_torchvision.safetensors"  # torchvision's layout, another head
    save_file({k: v.contiguous() for k, v in vgg_mini(num_classes=1000).state_dict().items()}, str(weights))
    style = tmp_path / "my_painting.png"
    Image.fromarray((np.random.default_rng(0).random((24, 24, 3)) * 255).astype(np.uint8)).save(style)
    result = tj.run("style-transfer", overrides=[f"model.weights={weights}", f"style_transfer.styles=[{style}]",
                                                 "style_transfer.size=24", "style_transfer.steps=3",
                                                 "style_transfer.style_weights=[1000.0]", f"output_dir={tmp_path / 'runs'}",
                                                 "run_name=w"], verbose=0)
    network = json.loads((result.run_dir / "style_transfer.json").read_text())["network"]
    assert network["source"] == "weights" and network["tensors"] == 16 and network["mean"] == [0.485, 0.456, 0.406]
    assert not (result.run_dir / "features.safetensors").exists()  # nothing was pretrained
    assert "style_loss_reduction_my_painting" in result.summary["results"]


def test_the_kind_reuses_an_earlier_feature_network(tmp_path):
    import json

    from PIL import Image

    from tujie.train.checkpoint import save_weights

    network = vgg_mini()
    saved = save_weights(tmp_path / "features.safetensors", network,
                         {"network": {"name": "vgg_mini", "source": "pretrained", "mean": [0.4, 0.4, 0.4], "std": [0.2, 0.2, 0.2]},
                          "num_classes": 10})
    style = tmp_path / "my_painting.png"
    Image.fromarray((np.random.default_rng(1).random((24, 24, 3)) * 255).astype(np.uint8)).save(style)
    result = tj.run("style-transfer", overrides=[f"style_transfer.features={saved}", f"style_transfer.styles=[{style}]",
                                                 "style_transfer.size=24", "style_transfer.steps=3", "style_transfer.style_weights=[]",
                                                 f"output_dir={tmp_path / 'runs'}", "run_name=reuse"], verbose=0)
    used = json.loads((result.run_dir / "style_transfer.json").read_text())["network"]
    assert used["reused_from"] == str(saved) and used["mean"] == [0.4, 0.4, 0.4]
