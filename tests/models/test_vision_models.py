"""The classic CNN families: input errors named at the model's door, bad arguments refused, the papers' structure.

Forward/backward, summaries and the paper parameter counts of every registered builder are
checked by tests/models/test_registry.py; this file checks what is particular to these models.
Big models are built on the meta device where only their structure is looked at.
"""

import doctest
import importlib

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.errors import ConfigError, ShapeError
from tujie.models._registry import count_params
from tujie.models.googlenet import Inception
from tujie.models.mobilenet import DepthwiseSeparable, InvertedResidual
from tujie.models.resnet import BasicBlock, Bottleneck, PadShortcut

MODULES = ["lenet", "alexnet", "vgg", "googlenet", "resnet", "mobilenet"]

# name -> small builder arguments (same layers; VGG's small classifier only to keep the test fast)
SMALL = {"lenet5": {}, "alexnet_cifar": {}, "vgg11": {"num_classes": 10, "small_input": True},
         "vgg16_bn": {"num_classes": 10, "small_input": True}, "googlenet": {"num_classes": 10},
         "resnet18": {"num_classes": 10}, "resnet20": {}, "mobilenet_v1": {"num_classes": 10, "alpha": 0.25},
         "mobilenet_v2": {"num_classes": 10, "width_mult": 0.35}}

ALL = ["lenet5", "alexnet", "alexnet_cifar", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
       "vgg19_bn", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet20", "resnet56",
       "mobilenet_v1", "mobilenet_v2"]


def _meta(name, **kwargs):
    with torch.device("meta"):
        return tj.models.create(name, **kwargs)


def _count(model, kind):
    return sum(isinstance(m, kind) for m in model.modules())


def test_all_families_are_registered():
    assert set(ALL) <= set(tj.models.list())


# --- wrong inputs: a ShapeError naming the model, the expected and the received shapes --------------------------

@pytest.mark.parametrize("name", SMALL)
def test_wrong_channel_count_is_named_at_the_door(name):
    model = tj.models.create(name, **SMALL[name])
    size = 32
    with pytest.raises(ShapeError) as info:
        model(torch.zeros(2, model.in_channels + 1, size, size))
    message = str(info.value)
    assert f"'{name}'" in message
    assert f"Expected: (batch, {model.in_channels}, height, width)" in message
    assert f"Received: input of shape (2, {model.in_channels + 1}, {size}, {size})" in message
    assert "in_channels=" in message  # the fix says how to build it for these images


@pytest.mark.parametrize("name", ["resnet20", "mobilenet_v2"])
def test_in_channels_builds_a_model_for_grayscale_images(name):
    model = tj.models.create(name, in_channels=1, **SMALL[name])
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(ShapeError, match="Add the channel dimension"):
        model(torch.zeros(2, 32, 32))


@pytest.mark.parametrize("name, kwargs, smallest", [
    ("alexnet", {"num_classes": 10}, 63), ("alexnet_cifar", {}, 8), ("vgg11", SMALL["vgg11"], 32),
    ("googlenet", SMALL["googlenet"], 31),
])
def test_smallest_input_works_and_one_pixel_less_is_refused(name, kwargs, smallest):
    model = tj.models.create(name, **kwargs).eval()
    assert model(torch.zeros(1, 3, smallest, smallest)).shape == (1, 10)
    with pytest.raises(ShapeError, match=f"'{name}'.*height and width >= {smallest}.*Received: input of shape "
                                         rf"\(1, 3, {smallest - 1}, {smallest - 1}\)"):
        model(torch.zeros(1, 3, smallest - 1, smallest - 1))


def test_lenet_takes_32x32_or_28x28_padded_like_a_padding_of_2_on_c1():
    model = tj.models.create("lenet5")
    for bad in [(2, 1, 36, 36), (2, 1, 30, 30), (2, 1, 32, 28)]:
        with pytest.raises(ShapeError, match=r"'lenet5'.*Expected: \(batch, 1, 32, 32\) or \(batch, 1, 28, 28\)"):
            model(torch.zeros(*bad))
    with pytest.raises(ShapeError, match=r"'lenet5'.*height and width >= 28"):
        model(torch.zeros(2, 1, 24, 24))
    digits = torch.randn(2, 1, 28, 28)
    padded_c1 = nn.functional.conv2d(digits, model.features[0].weight, model.features[0].bias, padding=2)
    assert torch.allclose(model.features[:1](nn.functional.pad(digits, (2, 2, 2, 2))), padded_c1, atol=1e-6)
    assert torch.allclose(model(digits), model(nn.functional.pad(digits, (2, 2, 2, 2))))


# --- bad arguments: a ConfigError at construction ----------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_num_classes_zero_is_refused_at_construction(name):
    with pytest.raises(ConfigError, match=f"`num_classes` of model '{name}'.*Received: num_classes=0"):
        tj.models.create(name, num_classes=0)
    with pytest.raises(ConfigError, match="in_channels=-3"):
        tj.models.create(name, in_channels=-3)


@pytest.mark.parametrize("name, kwargs, argument", [
    ("mobilenet_v1", {"alpha": -0.5}, "alpha"), ("mobilenet_v1", {"alpha": 0}, "alpha"),
    ("mobilenet_v2", {"width_mult": -1.0}, "width_mult"), ("mobilenet_v2", {"width_mult": float("nan")}, "width_mult"),
    ("alexnet_cifar", {"hidden": -1024}, "hidden"), ("lenet5", {"activation": "sigmoid"}, "activation"),
    ("lenet5", {"pooling": "mean"}, "pooling"),
    ("resnet20", {"shortcut": "C"}, "shortcut"),
])
def test_invalid_sizes_and_choices_are_refused_at_construction(name, kwargs, argument):
    with pytest.raises(ConfigError, match=f"`{argument}` of model '{name}'.*Received: {argument}="):
        tj.models.create(name, **kwargs)


def test_unknown_argument_is_named():
    with pytest.raises(ConfigError, match="width_mult"):
        tj.models.create("mobilenet_v1", width_mult=0.5)  # v1 calls it alpha, as its paper does


# --- structure: what the papers draw -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, convs", [("vgg11", 8), ("vgg13", 10), ("vgg16", 13), ("vgg19", 16), ("vgg16_bn", 13)])
def test_vgg_has_the_papers_convolutions_and_three_dense_layers(name, convs):
    model = _meta(name)
    assert _count(model, nn.Conv2d) == convs
    assert all(m.kernel_size == (3, 3) for m in model.modules() if isinstance(m, nn.Conv2d))
    assert _count(model, nn.Linear) == 3 and _count(model, nn.MaxPool2d) == 5
    assert _count(model, nn.BatchNorm2d) == (convs if name.endswith("_bn") else 0)


@pytest.mark.parametrize("name, block, blocks", [("resnet18", BasicBlock, 8), ("resnet34", BasicBlock, 16),
                                                 ("resnet50", Bottleneck, 16), ("resnet101", Bottleneck, 33),
                                                 ("resnet20", BasicBlock, 9), ("resnet56", BasicBlock, 27)])
def test_resnet_depth_is_its_name(name, block, blocks):
    model = _meta(name)
    assert _count(model, block) == blocks
    main_path = [m for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and "shortcut" not in n]
    assert len(main_path) == int(name[len("resnet"):])  # ResNet-50 has 50 weighted layers on its main path


def test_cifar_resnet_option_a_shortcuts_have_no_parameters_and_option_b_projects():
    model = tj.models.create("resnet20")
    assert _count(model, PadShortcut) == 2 and _count(model, nn.Linear) == 1
    assert count_params("resnet20", shortcut="B") == 272_474 and count_params("resnet56", shortcut="B") == 855_770
    assert count_params("resnet20") == 269_722 and count_params("resnet56") == 853_018
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(PadShortcut(16, 32, 2)(x)[:, 8:24], x[:, :, ::2, ::2])  # the old channels, zeros around them


def test_resnet_zero_init_residual_starts_every_block_as_the_identity():
    model = tj.models.create("resnet18", num_classes=10, zero_init_residual=True)
    assert all(torch.all(b.bn2.weight == 0) for b in model.modules() if isinstance(b, BasicBlock))
    model = _meta("resnet50", zero_init_residual=True)
    assert _count(model, Bottleneck) == 16


def test_mobilenet_v2_depthwise_convolutions_have_one_group_per_channel():
    model = _meta("mobilenet_v2")
    depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) and m.groups > 1]
    assert len(depthwise) == _count(model, InvertedResidual) == 17
    assert all(m.groups == m.in_channels == m.out_channels for m in depthwise)
    # the only other 3×3 convolution is the stem; every other convolution is pointwise
    assert [m.kernel_size for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups == 1].count((3, 3)) == 1
    assert _count(model, nn.ReLU6) == 35 and _count(model, nn.ReLU) == 0
    residual = [b.use_residual for b in model.modules() if isinstance(b, InvertedResidual)]
    assert sum(residual) == 10  # repeats after the first of each group of Table 2: 1+2+3+2+2


def test_mobilenet_v1_blocks_are_depthwise_separable_and_alpha_thins_them():
    model = _meta("mobilenet_v1")
    assert _count(model, DepthwiseSeparable) == 13
    assert all(b[0][0].groups == b[0][0].in_channels and b[1][0].kernel_size == (1, 1)
               for b in model.modules() if isinstance(b, DepthwiseSeparable))
    assert model.classifier[-1].in_features == 1024 and _meta("mobilenet_v1", alpha=0.5).classifier[-1].in_features == 512
    assert count_params("mobilenet_v1", alpha=0.5) < count_params("mobilenet_v1") / 3


def test_googlenet_aux_heads_return_three_outputs_in_training_and_one_in_eval():
    model = tj.models.create("googlenet", num_classes=10, aux_logits=True)
    x = torch.randn(2, 3, 32, 32)
    logits, aux1, aux2 = model(x)
    assert logits.shape == aux1.shape == aux2.shape == (2, 10)
    (logits.square().mean() + 0.3 * (aux1.square().mean() + aux2.square().mean())).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert model.eval()(x).shape == (2, 10)


def test_googlenet_follows_the_paper_and_batch_norm_is_torchvisions_count_plus_the_5x5_kernels():
    model = _meta("googlenet")
    modules = [m for m in model.modules() if isinstance(m, Inception)]
    assert len(modules) == 9 and [m.out_channels for m in modules] == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    assert all(m.branch3[1][0].kernel_size == (5, 5) for m in modules)
    assert _count(model, nn.LocalResponseNorm) == 2 and _count(model, nn.BatchNorm2d) == 0
    # torchvision's googlenet (6,624,904) is this BN form with 3×3 kernels in the "5×5" branches
    assert count_params("googlenet", batch_norm=True) == 6_624_904 + 380_928


def test_lenet_layer_sizes_and_activation_choice():
    model = tj.models.create("lenet5", activation="relu", pooling="max")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == [6, 16, 120] and all(m.kernel_size == (5, 5) for m in convs)
    assert [m.out_features for m in model.modules() if isinstance(m, nn.Linear)] == [84, 10]
    assert _count(model, nn.ReLU) == 4 and _count(model, nn.Tanh) == 0 and _count(model, nn.MaxPool2d) == 2


def test_lenet_learns_a_tiny_batch():
    torch.manual_seed(0)
    model = tj.models.create("lenet5")
    x, y = torch.randn(16, 1, 28, 28), torch.arange(16) % 10
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        loss = nn.functional.cross_entropy(model(x), y)
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.2 * first


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "mobilenet_v2"])
def test_paper_initialisation_uses_kaiming_normal_for_convolutions(name):
    torch.manual_seed(0)
    kwargs = {"num_classes": 10, "small_input": True} if name.startswith("vgg") else {"num_classes": 10}
    model = tj.models.create(name, **kwargs)
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) and m.groups == 1
                and m.out_channels >= 32)
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
    assert conv.weight.std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.1)


# --- docstring examples --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(f"tujie.models.{module}"),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": nn})
    assert result.attempted > 0 and result.failed == 0
