"""The finite-difference gradient check on tujie zoo models, and on a deliberately broken backward it must catch."""

from __future__ import annotations

import pytest
import torch

import tujie as tj
from tujie.fundamentals.gradcheck import gradcheck


@pytest.mark.parametrize("name,kwargs,shape", [("mlp", {"hidden": [8], "num_classes": 3}, (2, 1, 6, 6)),
                                               ("small_cnn", {}, None),
                                               ("rnn_forecaster", {"hidden": 4}, (2, 5, 1))])
def test_zoo_models_pass(name, kwargs, shape):
    torch.manual_seed(0)
    model = tj.models.create(name, **kwargs)
    inputs = torch.randn(shape) if shape else tj.models.example_batch(name, 2)[0]
    with torch.no_grad():
        model(inputs)  # lazy layers take their sizes (the check itself works on a copy, lazy or not)
    before = [p.detach().clone() for p in model.parameters()]
    result = gradcheck(model, inputs, entries=4)
    assert result.ok, result.errors
    assert result.worst[1] < 1e-6 and len(result.errors) >= 2 and "input[0]" in result.errors
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # the model is left as it was
    assert next(model.parameters()).dtype == torch.float32


class _WrongSquare(torch.autograd.Function):
    """x² with a slip in its backward: 1·x instead of 2·x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


class _Broken(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.second(_WrongSquare.apply(self.first(x)))


def test_a_broken_backward_is_caught_and_named():
    torch.manual_seed(0)
    result = gradcheck(_Broken(), torch.randn(3, 3))
    assert not result.ok
    # the layer after the slip is right; everything before it (and the input) gets half its gradient
    assert "second.weight" not in result.failing()
    assert {"first.weight", "first.bias", "input[0]"} <= set(result.failing())
    assert result.errors["first.weight"] > 0.3


def test_integer_inputs_check_the_weights_and_refuse_what_cannot_be_checked():
    embedding = torch.nn.Sequential(torch.nn.Embedding(10, 3), torch.nn.Flatten(), torch.nn.Linear(6, 2))
    tokens = torch.tensor([[1, 2], [3, 4]])
    result = gradcheck(embedding, tokens)
    assert result.ok and "input[0]" not in result.errors and "0.weight" in result.errors
    with pytest.raises(tj.errors.ConfigError, match="check_inputs=False"):
        gradcheck(embedding, tokens, check_inputs=True)
    frozen = torch.nn.Embedding(10, 3).requires_grad_(False)
    with pytest.raises(tj.errors.ConfigError, match="nothing a gradient check can differentiate"):
        gradcheck(frozen, tokens)
    with pytest.raises(tj.errors.DataError, match="torch tensors"):
        gradcheck(embedding, [[1, 2]])
