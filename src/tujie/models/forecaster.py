"""Recurrent forecaster (textbook chapter 7): read a window of a series, predict its next `horizon` values.

An LSTM (Hochreiter & Schmidhuber 1997), a GRU (Cho et al. 2014) or the vanilla tanh RNN
(Elman 1990) runs over the window; its last hidden state goes through one Linear layer to
the `horizon` next values. With `horizon=1` the model forecasts one step and longer
forecasts feed its predictions back (`tujie.timeseries.forecast_multi_step`); with
`horizon=H` it predicts H steps at once (the "direct" multi-horizon strategy).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from ._common import check_positive
from ._registry import register_model

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RNNForecaster(nn.Module):
    """A recurrent encoder over the window, then Linear(hidden → horizon) on its last hidden state.

    Args:
        cell: "lstm", "gru" or "rnn" (the vanilla tanh RNN of the exploding-gradient demo).
        hidden: hidden units of each recurrent layer.
        layers: stacked recurrent layers.
        horizon: values predicted per window.
        input_size: features per time step (1 for a univariate series).
        dropout: dropout between stacked layers and on the last hidden state.

    Input shape:
        (batch, time, input_size).

    Output shape:
        (batch, horizon).

    Example:
        >>> RNNForecaster("gru", hidden=8, horizon=3)(torch.zeros(2, 24, 1)).shape
        torch.Size([2, 3])
    """

    def __init__(self, cell: str = "lstm", hidden: int = 64, layers: int = 1, horizon: int = 1, input_size: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        self.cell, self.horizon, self.input_size = cell, horizon, input_size
        # torch applies its own dropout between stacked layers only; with one layer it would warn and do nothing
        self.rnn = CELLS[cell](input_size, hidden, num_layers=layers, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            fix = ("Add the feature dimension: x.unsqueeze(-1)." if x.ndim == 2 and self.input_size == 1
                   else f"Pass windows of shape (batch, time, {self.input_size}) (tujie.timeseries.make_windows makes them).")
            raise ShapeError("Model 'rnn_forecaster' received an input of the wrong shape.",
                             expected=f"(batch, time, {self.input_size})", received=f"input of shape {tuple(x.shape)}", fix=fix)
        _, state = self.rnn(x)  # state: (layers, B, hidden), or the pair (h, c) for an LSTM
        h = state[0] if isinstance(state, tuple) else state
        return self.head(self.dropout(h[-1]))  # (B, hidden) -> (B, horizon)


@register_model(example_input=(12, 1), output_shape=(1,), test_kwargs={"hidden": 8})
def rnn_forecaster(cell: str = "lstm", hidden: int = 64, layers: int = 1, horizon: int = 1, input_size: int = 1,
                   dropout: float = 0.0) -> RNNForecaster:
    """LSTM/GRU/tanh-RNN forecaster: a window (batch, time, input_size) → the next `horizon` values (batch, horizon).

    The recipe `sunspots-lstm` trains it on yearly sunspot numbers (see `tujie.timeseries`).

    Example:
        >>> rnn_forecaster(hidden=16, horizon=5)(torch.zeros(4, 24, 1)).shape
        torch.Size([4, 5])
    """
    if cell not in CELLS:
        from ..errors import closest

        raise ConfigError(f"Invalid value received for argument `cell` of model 'rnn_forecaster'. {closest(str(cell), CELLS)}",
                          expected=f"one of {', '.join(CELLS)}", received=f"cell={cell!r}", fix='Pass cell="lstm" or cell="gru".')
    check_positive("rnn_forecaster", hidden=hidden, layers=layers, horizon=horizon, input_size=input_size)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ConfigError("Invalid value received for argument `dropout` of model 'rnn_forecaster'.", expected="0 <= dropout < 1",
                          received=f"dropout={dropout!r}", fix="Pass a fraction such as dropout=0.1.")
    return RNNForecaster(cell, hidden, layers, horizon, input_size, float(dropout))
