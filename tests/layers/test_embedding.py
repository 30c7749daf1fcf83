"""Embedding: the same lookup and init as torch.nn.Embedding, pretrained and frozen tables, clear errors."""

import doctest

import numpy as np
import pytest
import torch
from torch import nn

import tujie as tj
import tujie.layers.embedding as embedding_module
from tujie.errors import ConfigError, ShapeError
from tujie.layers import Embedding


def test_embedding_shape_and_init_equal_torch_for_the_same_seed():
    torch.manual_seed(4)
    layer = Embedding(50, 8, padding_idx=1)
    torch.manual_seed(4)
    reference = nn.Embedding(50, 8, padding_idx=1)
    torch.testing.assert_close(layer.weight, reference.weight)
    ids = torch.randint(0, 50, (3, 7))  # (batch, seq)
    y = layer(ids)
    assert y.shape == (3, 7, 8)
    torch.testing.assert_close(y, reference(ids))


def test_padding_row_starts_at_zero_and_gets_no_gradient():
    layer = Embedding(10, 4, padding_idx=-1)  # negative counts from the end, as in torch
    assert layer.padding_idx == 9 and layer.weight[9].abs().sum() == 0
    layer(torch.tensor([[9, 2, 9]])).sum().backward()
    assert layer.weight.grad[9].abs().sum() == 0 and layer.weight.grad[2].abs().sum() > 0


def test_pretrained_weights_from_numpy_and_tensor_are_copied():
    table = np.arange(12, dtype=np.float64).reshape(4, 3)
    layer = Embedding(4, 3, weights=table)
    assert layer.weight.dtype == torch.float32 and layer.weight.requires_grad
    assert layer(torch.tensor([3, 0])).tolist() == [[9.0, 10.0, 11.0], [0.0, 1.0, 2.0]]
    tensor = torch.randn(4, 3, dtype=torch.float64)
    layer = Embedding(4, 3, weights=tensor, padding_idx=0)
    with torch.no_grad():
        layer.weight.add_(1)
    assert layer.weight.dtype == torch.float64 and not torch.equal(layer.weight, tensor)  # the original is untouched
    torch.testing.assert_close(layer.weight[0], tensor[0] + 1)  # a pretrained padding row is kept, as from_pretrained does


def test_frozen_table_gets_no_gradient_and_counts_as_non_trainable():
    model = tj.Sequential([Embedding(5, 2, weights=torch.eye(5, 2), trainable=False), tj.layers.Flatten(), tj.layers.Dense(1)])
    model(torch.tensor([[1, 2, 3]])).sum().backward()
    assert model[0].weight.grad is None and model[2].weight.grad is not None
    info = tj.summarize(model, example=torch.tensor([[1, 2, 3]]), print_fn=None)
    assert info["total_params"] - info["trainable_params"] == 10


def test_state_dict_round_trip_and_integer_dtypes():
    a, b = Embedding(6, 3), Embedding(6, 3)
    b.load_state_dict(a.state_dict())
    for dtype in (torch.int64, torch.int32, torch.uint8):
        ids = torch.tensor([[0, 5, 2]], dtype=dtype)
        torch.testing.assert_close(a(ids), b(ids))


def test_wrong_weights_shape_is_a_config_error():
    with pytest.raises(ConfigError, match=r"\(10, 4\)") as e:
        Embedding(10, 4, weights=np.zeros((4, 10)))
    assert "(4, 10)" in str(e.value) and "Fix:" in str(e.value)
    with pytest.raises(ConfigError, match="input_dim"):
        Embedding(0, 4)
    with pytest.raises(ConfigError, match="output_dim"):
        Embedding(10, 2.5)
    with pytest.raises(ConfigError, match="padding_idx"):
        Embedding(10, 4, padding_idx=10)


def test_ids_out_of_range_are_a_shape_error_naming_the_vocabulary():
    layer = Embedding(100, 4)
    with pytest.raises(ShapeError, match="input_dim=100") as e:
        layer(torch.tensor([[3, 100, 7]]))
    assert "id 100" in str(e.value) and "input_dim >= 101" in str(e.value)
    with pytest.raises(ShapeError, match="id -1"):
        layer(torch.tensor([[-1, 3]]))
    assert layer(torch.zeros(2, 0, dtype=torch.long)).shape == (2, 0, 4)  # an empty batch is fine


def test_float_ids_are_refused():
    with pytest.raises(ShapeError, match="torch.float32") as e:
        Embedding(10, 4)(torch.tensor([[1.0, 2.0]]))
    assert ".long()" in str(e.value)


def test_docstring_examples_run():
    result = doctest.testmod(embedding_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": nn})
    assert result.failed == 0 and result.attempted >= 4
