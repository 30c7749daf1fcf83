"""Vanishing gradients: a deep sigmoid MLP's first layer gets orders of magnitude less gradient than ReLU+He's."""

import pytest
import torch

from tujie.errors import ConfigError
from tujie.fundamentals.deep_gradients import compare, layer_gradient_norms


@pytest.fixture(scope="module")
def batch():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data[:128] / 16.0, dtype=torch.float32)  # (128, 64) real images
    y = torch.tensor(digits.target[:128])
    return x, y


def test_sigmoid_vanishes_and_relu_he_does_not(batch):
    x, y = batch
    variants = [{"name": "sigmoid", "activation": "sigmoid"}, {"name": "relu + he", "activation": "relu", "init": "he"},
                {"name": "sigmoid + bn", "activation": "sigmoid", "batch_norm": True}]
    result = {v["name"]: v for v in compare(x, y, variants, depth=20, width=32, repeats=1)}
    sigmoid, relu, bn = result["sigmoid"], result["relu + he"], result["sigmoid + bn"]
    assert len(sigmoid["norms"]) == 20
    assert sigmoid["ratio"] < 1e-8  # twenty layers of σ′ ≤ 1/4
    assert 0.05 < relu["ratio"] < 20  # He keeps the gradient level
    assert relu["first"] > 1e6 * sigmoid["first"]
    assert bn["ratio"] > 1e-2  # batch norm rescues even the sigmoid
    # the sigmoid's norms shrink layer after layer towards the input
    falls = sum(a < b for a, b in zip(sigmoid["norms"][:-1], sigmoid["norms"][1:]))
    assert falls >= 17


def test_norms_are_the_gradients_of_the_weights(batch):
    x, y = batch
    norms = layer_gradient_norms(x[:16], y[:16], activation="tanh", depth=3, width=8, seed=3)
    from tujie.models.mlp import mlp

    torch.manual_seed(3)
    model = mlp(num_classes=10, hidden=[8, 8], activation="tanh")
    model(x[:2])
    torch.nn.functional.cross_entropy(model(x[:16]), y[:16]).backward()
    expected = [p.grad.norm().item() for n, p in model.named_parameters() if p.ndim == 2]
    assert norms == pytest.approx(expected, rel=1e-5)


def test_an_unknown_initialisation_is_refused(batch):
    x, y = batch
    with pytest.raises(ConfigError, match="xavier"):
        layer_gradient_norms(x, y, init="glorot")


def test_a_misspelt_activation_is_refused_with_the_config_key():
    from tujie import kinds

    with pytest.raises(ConfigError, match="deep_gradients.variants.0.activation"):
        kinds.validate({"recipe": "x", "kind": "deep_gradients",
                        "deep_gradients": {"variants": [{"name": "x", "activation": "sigmod"}]}})
