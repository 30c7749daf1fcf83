"""The rnn_forecaster model: shapes for each cell, errors at its door (the zoo test covers forward/backward)."""

import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError, ShapeError


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_each_cell_maps_windows_to_the_horizon(cell):
    model = tj.models.create("rnn_forecaster", cell=cell, hidden=8, layers=2, horizon=4, dropout=0.1)
    assert model(torch.randn(3, 20, 1)).shape == (3, 4)


def test_two_features_per_step():
    assert tj.models.create("rnn_forecaster", hidden=4, input_size=2)(torch.randn(2, 5, 2)).shape == (2, 1)


def test_errors_name_the_argument_and_the_fix():
    with pytest.raises(ConfigError, match="gru"):
        tj.models.create("rnn_forecaster", cell="gr")
    with pytest.raises(ConfigError, match="hidden"):
        tj.models.create("rnn_forecaster", hidden=0)
    with pytest.raises(ShapeError, match="unsqueeze"):
        tj.models.create("rnn_forecaster", hidden=4)(torch.zeros(2, 10))
