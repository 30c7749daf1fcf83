"""Normalization layers: the same numbers as torch.nn.BatchNorm1d/2d and LayerNorm in train and eval mode, lazy sizes, errors."""

import doctest

import pytest
import torch
from torch import nn

import tujie as tj
import tujie.layers.normalization as normalization_module
from tujie.errors import ConfigError, ShapeError
from tujie.layers import BatchNorm1D, BatchNorm2D, LayerNorm


def _randomize(module: nn.Module) -> None:
    """Parameters and running statistics away from their initial ones, so a wrong formula shows."""
    with torch.no_grad():
        for tensor in list(module.parameters()) + [b for b in module.buffers() if b.is_floating_point()]:
            tensor.copy_(torch.rand_like(tensor) + 0.5)


@pytest.mark.parametrize("ours, theirs, shape", [
    (BatchNorm1D, nn.BatchNorm1d, (8, 5)),
    (BatchNorm1D, nn.BatchNorm1d, (8, 5, 7)),
    (BatchNorm2D, nn.BatchNorm2d, (4, 3, 6, 6)),
])
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_matches_torch_in_train_and_eval_mode(ours, theirs, shape, momentum):
    torch.manual_seed(0)
    layer = ours(momentum=momentum, epsilon=1e-3)
    layer(torch.randn(shape))  # build
    _randomize(layer)
    reference = theirs(shape[1], momentum=momentum, eps=1e-3)
    reference.load_state_dict(layer.state_dict())
    for _ in range(3):  # training: batch statistics, running statistics updated the same way
        x = torch.randn(shape) * 3 + 1
        torch.testing.assert_close(layer(x), reference(x))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(layer, name), getattr(reference, name))
    layer.eval(), reference.eval()
    x = torch.randn(shape)
    torch.testing.assert_close(layer(x), reference(x))


def test_batchnorm_gradients_match_torch():
    x = torch.randn(6, 4, 5, 5, requires_grad=True)
    layer = BatchNorm2D()
    layer(x)
    _randomize(layer)
    reference = nn.BatchNorm2d(4)
    reference.load_state_dict(layer.state_dict())
    x_ref = x.detach().clone().requires_grad_(True)
    layer(x).pow(3).sum().backward()
    reference(x_ref).pow(3).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)
    torch.testing.assert_close(layer.weight.grad, reference.weight.grad)
    torch.testing.assert_close(layer.bias.grad, reference.bias.grad)


@pytest.mark.parametrize("center, scale", [(False, False), (True, False), (False, True)])
def test_batchnorm_without_center_or_scale(center, scale):
    layer = BatchNorm1D(center=center, scale=scale)
    x = torch.randn(10, 3)
    y = layer(x)
    assert (layer.bias is None) != center and (layer.weight is None) != scale
    assert len(list(layer.parameters())) == center + scale
    if not center and not scale:
        torch.testing.assert_close(y, nn.BatchNorm1d(3, affine=False)(x))


def test_batchnorm_is_lazy_takes_the_input_dtype_and_loads_from_either_state_dict():
    layer = BatchNorm2D()
    assert not layer.built and list(layer.parameters()) == [] and list(layer.buffers()) == []
    layer(torch.randn(2, 3, 4, 4, dtype=torch.float64))
    assert layer.num_features == 3 and layer.weight.dtype == layer.running_mean.dtype == torch.float64
    reference = nn.BatchNorm2d(5)
    _randomize(reference)
    fresh = BatchNorm2D()
    fresh.load_state_dict(reference.state_dict())  # torch -> tujie, building the lazy layer
    assert fresh.num_features == 5
    fresh.eval(), reference.eval()
    x = torch.randn(2, 5, 3, 3)
    torch.testing.assert_close(fresh(x), reference(x))
    nn.BatchNorm2d(5).load_state_dict(fresh.state_dict())  # and back, strictly


def test_batchnorm_errors():
    with pytest.raises(ConfigError, match="Keras' momentum=m is momentum=1-m") as e:
        BatchNorm1D(momentum=1.5)
    assert "momentum=1.5" in str(e.value)
    with pytest.raises(ConfigError, match="epsilon"):
        BatchNorm2D(epsilon=0)
    with pytest.raises(ShapeError, match="4-D"):
        BatchNorm2D()(torch.zeros(4, 3))
    with pytest.raises(ShapeError, match="2-D"):
        BatchNorm1D()(torch.zeros(4, 3, 2, 2))
    layer = BatchNorm1D()
    layer(torch.randn(4, 3))
    with pytest.raises(ShapeError, match="batch_norm1d") as e:
        layer(torch.randn(4, 5))
    assert "3 channels" in str(e.value)
    with pytest.raises(ShapeError, match="at least 2 samples"):
        layer(torch.randn(1, 3))
    assert layer.eval()(torch.randn(1, 3)).shape == (1, 3)  # evaluation uses the running statistics


@pytest.mark.parametrize("axis, shape", [(-1, (4, 7)), (-1, (2, 5, 7)), ((-2, -1), (2, 5, 7)), ((1, 2, 3), (2, 3, 4, 5)),
                                         ([2, 3], (2, 3, 4, 5))])
def test_layernorm_matches_torch_in_train_and_eval_mode(axis, shape):
    layer = LayerNorm(axis=axis, epsilon=1e-4)
    x = torch.randn(shape) * 2 + 3
    layer(x)
    _randomize(layer)
    k = 1 if isinstance(axis, int) else len(axis)
    reference = nn.LayerNorm(shape[-k:], eps=1e-4)
    reference.load_state_dict(layer.state_dict())
    assert layer.normalized_shape == shape[-k:]
    for mode in (True, False):
        layer.train(mode), reference.train(mode)
        torch.testing.assert_close(layer(x), reference(x))


def test_layernorm_gradients_and_no_affine_match_torch():
    x = torch.randn(3, 4, 6, requires_grad=True)
    layer = LayerNorm()
    layer(x)
    _randomize(layer)
    reference = nn.LayerNorm(6)
    reference.load_state_dict(layer.state_dict())
    x_ref = x.detach().clone().requires_grad_(True)
    layer(x).pow(3).sum().backward()
    reference(x_ref).pow(3).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)
    torch.testing.assert_close(layer.weight.grad, reference.weight.grad)
    plain = LayerNorm(center=False, scale=False)
    torch.testing.assert_close(plain(x), nn.LayerNorm(6, elementwise_affine=False)(x))
    assert list(plain.parameters()) == []
    no_bias = LayerNorm(center=False)
    no_bias(x)
    assert no_bias.bias is None and nn.LayerNorm(6, bias=False).load_state_dict(no_bias.state_dict())


def test_layernorm_lazy_load_and_errors():
    trained = LayerNorm(axis=(-2, -1))
    trained(torch.randn(2, 3, 4))
    fresh = LayerNorm(axis=(-2, -1))
    fresh.load_state_dict(trained.state_dict())
    assert fresh.normalized_shape == (3, 4)
    with pytest.raises(ShapeError, match=r"\(batch, \.\.\., 3, 4\)"):
        fresh(torch.randn(2, 4, 3))
    for axis in (-2, (-3, -1), (), "last", (-1, -1)):
        with pytest.raises(ConfigError, match="axis"):
            LayerNorm(axis=axis)
    with pytest.raises(ShapeError, match="last dimensions"):
        LayerNorm(axis=1)(torch.randn(2, 3, 4))  # not the last dimension
    with pytest.raises(ShapeError, match="batch dimension"):
        LayerNorm(axis=(0, 1))(torch.randn(2, 3))  # would normalize across the batch
    with pytest.raises(ConfigError, match="epsilon"):
        LayerNorm(epsilon=-1)


def test_normalization_in_a_sequential_model():
    model = tj.Sequential([tj.layers.Dense(8), BatchNorm1D(), tj.layers.Activation("relu"), LayerNorm(), tj.layers.Dense(2)])
    assert model(torch.randn(4, 3)).shape == (4, 2)
    info = tj.summarize(model, (3,), print_fn=None)
    assert info["total_params"] == (3 * 8 + 8) + 2 * 8 + 2 * 8 + (8 * 2 + 2)
    assert tj.layers.LayerNormalization is LayerNorm


def test_docstring_examples_run():
    result = doctest.testmod(normalization_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": nn})
    assert result.failed == 0 and result.attempted >= 6
