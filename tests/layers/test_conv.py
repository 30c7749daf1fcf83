"""Convolution and pooling layers: equal to their torch.nn counterparts given the same weights, shapes, clear errors."""

import doctest

import pytest
import torch
from torch import nn

import tujie as tj
import tujie.layers.conv as conv_module
from tujie.errors import ConfigError, ShapeError
from tujie.layers import (AvgPool1D, Conv1D, Conv2D, Dense, DepthwiseSeparableConv2D, GlobalAvgPool1D, GlobalAvgPool2D,
                          GlobalMaxPool1D, GlobalMaxPool2D, MaxPool1D, MaxPool2D)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3),
    dict(kernel_size=5, padding="same"),
    dict(kernel_size=3, strides=2, padding=1),
    dict(kernel_size=3, dilation=2, padding="same"),
    dict(kernel_size=5, strides=3),
    dict(kernel_size=3, groups=2, use_bias=False),
])
def test_conv1d_matches_torch_conv1d_forward_and_backward(kwargs):
    torch.manual_seed(0)
    layer = Conv1D(6, activation="tanh", **kwargs)
    x = torch.randn(3, 4, 17, requires_grad=True)
    y = layer(x)
    reference = nn.Conv1d(4, 6, kwargs["kernel_size"], stride=kwargs.get("strides", 1), padding=kwargs.get("padding", 0),
                          dilation=kwargs.get("dilation", 1), groups=kwargs.get("groups", 1), bias=kwargs.get("use_bias", True))
    reference.load_state_dict(layer.state_dict())
    x_ref = x.detach().clone().requires_grad_(True)
    y_ref = torch.tanh(reference(x_ref))
    torch.testing.assert_close(y, y_ref)
    y.square().sum().backward()
    y_ref.square().sum().backward()
    torch.testing.assert_close(layer.weight.grad, reference.weight.grad)
    torch.testing.assert_close(x.grad, x_ref.grad)


def test_conv1d_is_lazy_and_init_equals_torch_for_the_same_seed():
    layer = Conv1D(5, 3)
    assert not layer.built and list(layer.parameters()) == []
    torch.manual_seed(1)
    layer(torch.zeros(1, 7, 10))
    torch.manual_seed(1)
    reference = nn.Conv1d(7, 5, 3)
    assert layer.weight.shape == (5, 7, 3)
    torch.testing.assert_close(layer.weight, reference.weight)
    torch.testing.assert_close(layer.bias, reference.bias)


def test_conv1d_strided_same_padding_and_lazy_load_from_state_dict():
    assert Conv1D(2, 3, strides=2, padding="same")(torch.zeros(1, 1, 9)).shape == (1, 2, 5)  # ceil(9 / 2), as Keras
    a = Conv1D(4, 3, groups=2)
    a(torch.randn(2, 6, 8))
    b = Conv1D(4, 3, groups=2)
    b.load_state_dict(a.state_dict())
    assert b.in_channels == 6
    x = torch.randn(2, 6, 8)
    torch.testing.assert_close(a(x), b(x))


@pytest.mark.parametrize("layer", [Conv1D, Conv2D])
@pytest.mark.parametrize("argument, value", [("kernel_size", 0), ("kernel_size", "3"), ("kernel_size", True),
                                             ("strides", 0), ("strides", -1), ("dilation", 0), ("dilation", 1.5),
                                             ("padding", "full"), ("padding", -1), ("groups", 0), ("groups", 3)])
def test_conv_bad_arguments_are_named_at_construction(layer, argument, value):
    with pytest.raises(ConfigError, match=f"`{argument}`") as e:
        layer(4, **{argument: value})
    assert f"{argument}={value!r}" in str(e.value) and "Fix:" in str(e.value)


def test_conv_tuple_arguments_must_match_the_rank():
    with pytest.raises(ConfigError, match="kernel_size"):
        Conv1D(2, (3, 3))
    with pytest.raises(ConfigError, match="dilation"):
        Conv2D(2, 3, dilation=(1, 2, 3))
    with pytest.raises(ConfigError, match="filters"):
        Conv1D(0)
    assert Conv2D(2, (1, 3), padding=(0, 1))(torch.zeros(1, 1, 4, 5)).shape == (1, 2, 4, 5)


def test_conv1d_input_checks():
    with pytest.raises(ShapeError, match="3-D") as e:
        Conv1D(2, 3)(torch.zeros(4, 10))
    assert "unsqueeze(1)" in str(e.value)
    layer = Conv1D(2, 3)
    layer(torch.zeros(1, 3, 10))
    with pytest.raises(ShapeError, match="conv1d"):
        layer(torch.zeros(1, 4, 10))
    with pytest.raises(ShapeError, match="kernel size"):
        Conv1D(2, 5)(torch.zeros(1, 1, 4))


def test_kernel_larger_than_padded_or_dilated_input_is_a_shape_error():
    assert Conv1D(2, 5, padding=1)(torch.zeros(1, 1, 3)).shape == (1, 2, 1)  # 3 + 2 * 1 = 5 fits
    with pytest.raises(ShapeError, match="padding"):
        Conv1D(2, 5, padding=1)(torch.zeros(1, 1, 2))
    with pytest.raises(ShapeError, match="dilated"):
        Conv1D(2, 3, dilation=3)(torch.zeros(1, 1, 6))  # dilated span 7
    with pytest.raises(ShapeError, match="kernel size"):
        Conv2D(2, 5, padding=1)(torch.zeros(1, 1, 2, 8))
    assert Conv2D(2, 5, padding="same")(torch.zeros(1, 1, 2, 2)).shape == (1, 2, 2, 2)


def test_depthwise_separable_matches_the_torch_pair_and_its_init():
    layer = DepthwiseSeparableConv2D(5, 3, padding="same", depth_multiplier=2, activation="relu")
    x = torch.randn(2, 3, 8, 8)
    torch.manual_seed(2)
    y = layer(x)
    torch.manual_seed(2)
    depthwise = nn.Conv2d(3, 6, 3, padding="same", groups=3, bias=False)
    pointwise = nn.Conv2d(6, 5, 1)
    torch.testing.assert_close(layer.depthwise_weight, depthwise.weight)
    torch.testing.assert_close(layer.pointwise_weight, pointwise.weight)
    torch.testing.assert_close(layer.bias, pointwise.bias)
    torch.testing.assert_close(y, torch.relu(pointwise(depthwise(x))))
    assert sum(p.numel() for p in layer.parameters()) == 6 * 9 + 6 * 5 + 5


def test_depthwise_separable_strides_state_dict_and_errors():
    layer = tj.layers.SeparableConv2D(4, 3, strides=2, padding="same", use_bias=False)
    assert layer(torch.zeros(1, 2, 9, 9)).shape == (1, 4, 5, 5) and layer.bias is None
    fresh = DepthwiseSeparableConv2D(4, 3, strides=2, padding="same", use_bias=False)
    fresh.load_state_dict(layer.state_dict())
    x = torch.randn(1, 2, 9, 9)
    torch.testing.assert_close(fresh(x), layer(x))
    with pytest.raises(ConfigError, match="depth_multiplier"):
        DepthwiseSeparableConv2D(4, depth_multiplier=0)
    with pytest.raises(ShapeError, match="4-D"):
        DepthwiseSeparableConv2D(4)(torch.zeros(1, 9, 9))
    with pytest.raises(ShapeError, match="kernel size"):
        DepthwiseSeparableConv2D(4, 5)(torch.zeros(1, 2, 3, 3))
    with pytest.raises(ShapeError, match="depthwise_separable_conv2d"):
        layer(torch.zeros(1, 3, 9, 9))


@pytest.mark.parametrize("ours, theirs, kwargs", [
    (MaxPool1D, nn.MaxPool1d, dict(pool_size=3)),
    (MaxPool1D, nn.MaxPool1d, dict(pool_size=3, strides=1, padding=1)),
    (AvgPool1D, nn.AvgPool1d, dict(pool_size=2)),
    (AvgPool1D, nn.AvgPool1d, dict(pool_size=4, strides=2, padding=2)),
    (MaxPool2D, nn.MaxPool2d, dict(pool_size=(2, 3), strides=1)),
])
def test_pooling_matches_torch(ours, theirs, kwargs):
    x = torch.randn(2, 3, *((11,) if "1D" in ours.__name__ else (7, 9)))
    reference = theirs(kwargs["pool_size"], kwargs.get("strides"), kwargs.get("padding", 0))
    torch.testing.assert_close(ours(**kwargs)(x), reference(x))


def test_pooling_errors():
    with pytest.raises(ShapeError, match="pool size"):
        MaxPool1D(4)(torch.zeros(1, 2, 3))
    with pytest.raises(ShapeError, match="3-D"):
        AvgPool1D(2)(torch.zeros(1, 2, 3, 3))
    with pytest.raises(ConfigError, match="padding"):
        MaxPool1D(2, padding=2)  # torch allows at most half the window
    with pytest.raises(ConfigError, match="pool_size"):
        MaxPool2D(0)
    with pytest.raises(ShapeError, match="4-D"):
        MaxPool2D(2)(torch.zeros(2, 8, 8))


@pytest.mark.parametrize("ours, theirs, shape", [
    (GlobalAvgPool1D, nn.AdaptiveAvgPool1d(1), (2, 3, 10)),
    (GlobalMaxPool1D, nn.AdaptiveMaxPool1d(1), (2, 3, 10)),
    (GlobalAvgPool2D, nn.AdaptiveAvgPool2d(1), (2, 3, 5, 6)),
    (GlobalMaxPool2D, nn.AdaptiveMaxPool2d(1), (2, 3, 5, 6)),
])
def test_global_pooling_matches_torch_adaptive_pooling(ours, theirs, shape):
    x = torch.randn(shape)
    torch.testing.assert_close(ours()(x), theirs(x).flatten(1))
    torch.testing.assert_close(ours(keepdims=True)(x), theirs(x))
    with pytest.raises(ShapeError):
        ours()(torch.zeros(2, 3))


def test_keras_spellings_are_the_same_classes_and_exported():
    layers = tj.layers
    assert layers.MaxPooling1D is MaxPool1D and layers.AveragePooling1D is AvgPool1D
    assert layers.MaxPooling2D is MaxPool2D and layers.AveragePooling2D is tj.layers.AvgPool2D
    assert layers.GlobalAveragePooling1D is GlobalAvgPool1D and layers.GlobalMaxPooling1D is GlobalMaxPool1D
    assert layers.GlobalAveragePooling2D is GlobalAvgPool2D and layers.GlobalMaxPooling2D is GlobalMaxPool2D
    assert layers.SeparableConv2D is DepthwiseSeparableConv2D
    assert all(hasattr(layers, name) for name in conv_module.__all__)


def test_a_1d_convnet_builds_lazily_and_every_parameter_gets_a_gradient():
    model = tj.Sequential([Conv1D(8, 3, padding="same", activation="relu"), MaxPool1D(2),
                           Conv1D(8, 3, activation="relu"),
                           GlobalAvgPool1D(), Dense(2)])
    x = torch.randn(4, 1, 20)  # (batch, channels, length)
    nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 0, 1])).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    info = tj.summarize(model, (1, 20), print_fn=None)
    assert [row["output_shape"] for row in info["layers"]] == [[1, 8, 20], [1, 8, 10], [1, 8, 8], [1, 8], [1, 2]]


def test_docstring_examples_run():
    result = doctest.testmod(conv_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": nn})
    assert result.failed == 0 and result.attempted > 10
