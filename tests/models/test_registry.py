"""Every registered model: forward shape, finite gradients on every parameter, summary. No per-model test needed."""

import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError

# parameter counts stated by the source (paper / textbook) for the default arguments
PAPER_PARAMS = {"mlp": 109_386, "small_cnn": 225_034}


@pytest.mark.parametrize("name", tj.models.list())
def test_every_model_forward_backward_summary(name):
    torch.manual_seed(0)
    model = tj.models.create(name, num_classes=10)
    x = torch.randn(2, *tj.models.example_input(name))
    out = model(x)
    assert out.shape == (2, 10)
    out.logsumexp(-1).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
    info = tj.summarize(model, tj.models.example_input(name), print_fn=None)
    assert info["total_params"] == sum(p.numel() for p in model.parameters())
    if name in PAPER_PARAMS:
        assert info["total_params"] == PAPER_PARAMS[name]


def test_unknown_model_and_argument_are_explained():
    with pytest.raises(ConfigError, match="small_cnn"):
        tj.models.create("smal_cnn")
    with pytest.raises(ConfigError, match="hidden"):
        tj.models.create("mlp", hiden=[3])


def test_list_filters_by_pattern():
    assert tj.models.list("*cnn*") == ["small_cnn"]
