"""Layers: lazy sizing, shapes, equality with torch.nn, and clear shape errors."""

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.errors import ConfigError, ShapeError
from tujie.layers import Activation, AvgPool2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, Reshape


def test_dense_is_lazy_and_matches_linear():
    layer = Dense(5, activation="tanh")
    assert not layer.built and list(layer.parameters()) == []
    x = torch.randn(4, 3)
    y = layer(x)
    assert layer.built and layer.weight.shape == (5, 3) and y.shape == (4, 5)
    reference = nn.Linear(3, 5)
    reference.load_state_dict({"weight": layer.weight, "bias": layer.bias})
    torch.testing.assert_close(y, torch.tanh(reference(x)))


def test_dense_init_equals_torch_linear_for_the_same_seed():
    torch.manual_seed(3)
    ours = Dense(7)
    ours(torch.zeros(1, 11))
    torch.manual_seed(3)
    theirs = nn.Linear(11, 7)
    torch.testing.assert_close(ours.weight, theirs.weight)
    torch.testing.assert_close(ours.bias, theirs.bias)


def test_dense_wrong_input_names_layer_and_shapes():
    model = tj.Sequential([Flatten(), Dense(8), Dense(3)])
    model(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ShapeError) as e:
        model[1](torch.zeros(2, 10))
    msg = str(e.value)
    assert "'dense'" in msg and "16" in msg and "(2, 10)" in msg and "Fix:" in msg


def test_dense_bad_units_rejected():
    with pytest.raises(ConfigError, match="units"):
        Dense(0)


def test_unknown_activation_suggests_close_name():
    with pytest.raises(ConfigError, match="relu"):
        Dense(3, activation="rleu")


def test_lazy_layer_builds_from_state_dict():
    a = Dense(4)
    a(torch.randn(2, 6))
    b = Dense(4)
    b.load_state_dict(a.state_dict())
    assert b.in_features == 6
    x = torch.randn(3, 6)
    torch.testing.assert_close(a(x), b(x))


def test_conv2d_matches_torch_and_checks_channels():
    layer = Conv2D(4, 3, padding="same", activation="relu")
    x = torch.randn(2, 3, 9, 9)
    y = layer(x)
    reference = nn.Conv2d(3, 4, 3, padding="same")
    reference.load_state_dict({"weight": layer.weight, "bias": layer.bias})
    torch.testing.assert_close(y, torch.relu(reference(x)))
    with pytest.raises(ShapeError, match="conv2d"):
        layer(torch.randn(2, 5, 9, 9))


def test_conv2d_strided_same_padding_and_too_small_input():
    assert Conv2D(2, 3, strides=2, padding="same")(torch.zeros(1, 1, 8, 8)).shape == (1, 2, 4, 4)
    with pytest.raises(ShapeError, match="kernel size"):
        Conv2D(2, 5)(torch.zeros(1, 1, 3, 3))
    with pytest.raises(ShapeError, match="4-D"):
        Conv2D(2, 3)(torch.zeros(1, 8, 8))


def test_pooling_flatten_reshape_dropout_activation():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert MaxPool2D(2)(x).flatten().tolist() == [5.0, 7.0, 13.0, 15.0]
    assert AvgPool2D(2)(x).flatten().tolist() == [2.5, 4.5, 10.5, 12.5]
    assert Flatten()(x).shape == (1, 16)
    assert Reshape((4, 4))(x.flatten(1)).shape == (1, 4, 4)
    with pytest.raises(ShapeError):
        Reshape((3, 3))(x.flatten(1))
    drop = Dropout(0.5)
    assert (drop(torch.ones(1000)) == 0).float().mean().item() == pytest.approx(0.5, abs=0.08)
    assert drop.eval()(torch.ones(5)).tolist() == [1.0] * 5
    assert Activation("softmax")(torch.zeros(1, 4)).tolist() == [[0.25] * 4]
    with pytest.raises(ConfigError):
        Dropout(1.5)


def test_sequential_names_are_unique_and_it_is_an_nn_sequential():
    model = tj.Sequential([Dense(3), Dense(3), Dense(2)], input_shape=(4,))
    assert isinstance(model, nn.Sequential) and isinstance(model, nn.Module)
    assert [layer.name for layer in model] == ["dense", "dense_1", "dense_2"]
    assert sum(p.numel() for p in model.parameters()) == (4 * 3 + 3) + (3 * 3 + 3) + (3 * 2 + 2)
