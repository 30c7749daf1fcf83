"""Every registered model: forward shape, finite gradients on every parameter, summary, paper parameter count.

No per-model test is needed: registering a model is enough for it to be checked here.
"""

import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError
from tujie.models._registry import count_params, example_batch, spec


def _tensors(out):
    if torch.is_tensor(out):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    return [t for o in out for t in _tensors(o)]


@pytest.mark.parametrize("name", tj.models.list())
def test_every_model_forward_backward_summary(name):
    entry = spec(name)
    torch.manual_seed(0)
    model = tj.models.create(name, **entry.test_kwargs)
    inputs = example_batch(name, 2)
    out = model(*inputs)
    outputs = _tensors(out)
    if entry.output_shape is not None:
        assert tuple(outputs[0].shape) == (2, *entry.output_shape)
    sum(o.float().pow(2).mean() for o in outputs if o.is_floating_point()).backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"{name}: no gradient reaches {pname}"
            assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient in {pname}"
    info = tj.summarize(model, example=inputs, print_fn=None)
    assert info["total_params"] == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", [n for n in tj.models.list() if spec(n).paper_params])
def test_parameter_count_matches_the_paper(name):
    entry = spec(name)
    count = count_params(name, **entry.paper_kwargs)
    assert abs(count - entry.paper_params) <= entry.tolerance * entry.paper_params, f"{name}: {count:,} vs {entry.paper_params:,}"


def test_unknown_model_and_argument_are_explained():
    with pytest.raises(ConfigError, match="small_cnn"):
        tj.models.create("smal_cnn")
    with pytest.raises(ConfigError, match="hidden"):
        tj.models.create("mlp", hiden=[3])


def test_list_filters_by_pattern():
    assert "small_cnn" in tj.models.list("*cnn*") and "mlp" not in tj.models.list("*cnn*")
