"""The finite-difference gradient check on tujie zoo models, and on a deliberately broken backward it must catch."""

from __future__ import annotations

import pytest
import torch

import tujie as tj
from tujie.fundamentals.gradcheck import SlippedModel, gradcheck


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


def test_a_broken_backward_is_caught_and_named():
    torch.manual_seed(0)
    result = gradcheck(SlippedModel(), torch.randn(3, 3))
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


def test_a_kink_within_the_step_is_skipped_not_reported_as_an_error():
    model = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU())
    with torch.no_grad():
        model[0].weight.fill_(1.0), model[0].bias.fill_(0.0)
    result = gradcheck(model, torch.tensor([[1e-7]]), check_inputs=False)  # the pre-activation sits 1e-7 from ReLU's kink
    assert result.skipped == {"0.bias": 1} and result.checked["0.bias"] == 0
    assert result.ok and result.checked["0.weight"] == 1
