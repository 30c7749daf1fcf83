"""Low-rank factorisation: exact at full rank, smaller below it, the rank rules, and bad input."""

import pytest
import torch
from torch import nn

from tujie.compress import lowrank, measure
from tujie.errors import ConfigError


def test_a_linear_layer_at_full_rank_computes_the_same():
    torch.manual_seed(0)
    layer = nn.Linear(40, 24)
    pair = lowrank.factorize_linear(layer, rank=24)
    x = torch.randn(8, 40)
    assert torch.allclose(pair(x), layer(x), atol=1e-5)


def test_a_tujie_dense_layer_keeps_its_activation():
    from tujie import layers

    torch.manual_seed(0)
    dense = layers.Dense(12, activation="relu")
    x = torch.randn(5, 20)
    expected = dense(x)
    pair = lowrank.factorize_linear(dense, rank=12)
    assert torch.allclose(pair(x), expected, atol=1e-5) and (pair(x) >= 0).all()


@pytest.mark.parametrize("stride,padding,bias", [(1, 1, True), (2, 0, False)])
def test_a_conv_at_full_rank_computes_the_same(stride, padding, bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 10, 3, stride=stride, padding=padding, bias=bias)
    pair = lowrank.factorize_conv2d(conv, rank=10)
    x = torch.randn(2, 6, 9, 9)
    assert torch.allclose(pair(x), conv(x), atol=1e-5)
    assert pair[0].weight.shape == (10, 6, 3, 3) and pair[1].weight.shape == (10, 10, 1, 1)


def test_below_full_rank_the_layer_is_smaller_and_the_error_falls_as_the_rank_grows():
    torch.manual_seed(0)
    layer = nn.Linear(64, 64)
    x = torch.randn(32, 64)
    errors = []
    for rank in (4, 16, 48):
        pair = lowrank.factorize_linear(layer, rank=rank)
        assert measure.parameter_count(pair) == rank * 128 + 64
        errors.append(float((pair(x) - layer(x)).norm()))
    assert errors[0] > errors[1] > errors[2]
    assert measure.parameter_count(lowrank.factorize_linear(layer, rank=16)) < measure.parameter_count(layer)


def test_the_energy_rule_keeps_the_asked_share_of_the_squared_singular_values():
    values = torch.tensor([4.0, 2.0, 1.0, 1.0])  # squares 16, 4, 1, 1 of 22
    assert lowrank.choose_rank(values, (4, 4), energy=0.7) == 1    # 16/22 = 0.727
    assert lowrank.choose_rank(values, (4, 4), energy=0.9) == 2    # 20/22 = 0.909
    assert lowrank.choose_rank(values, (4, 4), energy=1.0) == 4


def test_factorizing_a_model_replaces_only_layers_that_get_smaller():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 4 * 4, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    x = torch.randn(2, 3, 4, 4)
    before = measure.parameter_count(model)
    rows = lowrank.factorize(model, share=0.25)
    replaced = {r["layer"]: r["replaced"] for r in rows}
    assert replaced["3"] and type(model[3]).__name__ == "LowRankLinear"
    assert model(x).shape == (2, 10) and measure.parameter_count(model) < before
    for r in rows:
        assert r["replaced"] == (r["factorized_parameters"] < r["parameters"])


def test_bad_input_is_refused():
    with pytest.raises(ConfigError, match="one rule"):
        lowrank.choose_rank(torch.ones(3), (3, 3))
    with pytest.raises(ConfigError, match="energy"):
        lowrank.choose_rank(torch.ones(3), (3, 3), energy=1.5)
    with pytest.raises(ConfigError, match="groups=1"):
        lowrank.factorize_conv2d(nn.Conv2d(4, 4, 3, groups=4), rank=2)
