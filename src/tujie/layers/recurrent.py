"""Recurrent layers (textbook chapter 7): SimpleRNN, LSTM and GRU, batch-first, sized on first call.

Each layer holds torch's fused `nn.RNN` / `nn.LSTM` / `nn.GRU` (cuDNN on a GPU) as `.rnn`,
created by the first batch with torch's own initialisation. The same equations, written
out one step at a time, are in `recurrent_reference.py`; the tests check that the two agree.

A padded batch of variable-length sequences goes in with its `lengths`: padding never reaches
a state, and the "last output" of each sequence is the one at its own last true step. A stacked
layer, or one asked for its state, packs the batch (`pack_padded_sequence`). A single layer on
the CPU gets the same numbers faster from the fused padded kernel: the forward direction reads
the right-padded batch (its outputs at true steps never see the padding after them) and the
backward direction reads the batch left-padded, so it starts at each sequence's last true step.
torch's packed backward pass on the CPU runs step by step and is about 10x slower
(bench/text.py measures both).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import ConfigError, ShapeError
from ._base import Layer

__all__ = ["SimpleRNN", "LSTM", "GRU"]


class _Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: arguments, lazy build, packing, return modes, errors."""

    _torch_class: type[nn.RNNBase] = nn.RNN
    _has_cell_state = False  # LSTM: its state is the pair (h, c)
    fast_padded = True  # one layer on the CPU with lengths: padded fused kernels instead of packing (same numbers)

    def __init__(self, units: int, num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False, name: str | None = None):
        super().__init__(name)
        kind = type(self).__name__
        for arg, value, fix in (("units", units, f"Pass the hidden size, e.g. {kind}(64)."),
                                ("num_layers", num_layers, "Pass how many layers to stack, e.g. num_layers=2.")):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"Invalid value received for argument `{arg}` of {kind}.", expected="a positive integer",
                                  received=f"{arg}={value!r}", fix=fix)
        for arg, value in (("bidirectional", bidirectional), ("return_sequences", return_sequences), ("return_state", return_state)):
            if not isinstance(value, bool):
                raise ConfigError(f"Invalid value received for argument `{arg}` of {kind}.", expected="True or False",
                                  received=f"{arg}={value!r}", fix=f"Pass {arg}=True or {arg}=False.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"Invalid value received for argument `dropout` of {kind}.", expected="0 <= dropout < 1",
                              received=f"dropout={dropout!r}", fix="Pass a fraction such as dropout=0.2.")
        if dropout and num_layers == 1:
            # torch's dropout acts between stacked layers only: with one layer it would silently do nothing
            raise ConfigError(f"Invalid value received for argument `dropout` of {kind}: it acts between stacked layers.",
                              expected="dropout=0 when num_layers=1", received=f"dropout={dropout!r}, num_layers=1",
                              fix="Use num_layers >= 2, or put a Dropout layer after this one.")
        self.units, self.num_layers, self.bidirectional, self.dropout = units, num_layers, bidirectional, float(dropout)
        self.return_sequences, self.return_state = return_sequences, return_state
        self.directions = 2 if bidirectional else 1
        self.input_size: int | None = None

    def _torch_kwargs(self) -> dict:
        return {}

    def build(self, x: torch.Tensor) -> None:
        self._check_rank(x)
        self._create(x.shape[-1], x.device, x.dtype)

    def _create(self, input_size: int, device=None, dtype=None) -> None:
        self.input_size = input_size
        # torch's init: every weight and bias U(-1/sqrt(units), 1/sqrt(units)), as nn.LSTM(input_size, units) itself
        self.rnn = self._torch_class(input_size, self.units, num_layers=self.num_layers, batch_first=True,
                                     dropout=self.dropout, bidirectional=self.bidirectional, device=device, dtype=dtype,
                                     **self._torch_kwargs())
        self.built = True

    def _check_rank(self, x: torch.Tensor) -> None:
        if x.ndim == 3 and x.is_floating_point():
            return
        fix = ("Token ids need an embedding first: nn.Embedding(vocab_size, dim) turns (batch, seq) ids into (batch, seq, dim)."
               if not x.is_floating_point() else
               "Add a feature axis to a univariate series: x.unsqueeze(-1) makes (batch, seq, 1)." if x.ndim == 2 else
               "Reshape the input to (batch, seq, features), batch first.")
        raise self.shape_error(x, "a 3-D float batch (batch, seq, features)", fix)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None, initial_state=None):
        """Run over `x` (batch, seq, features); `lengths` (batch,) gives each padded sequence's true length."""
        if not self.built:
            self.build(x)
        else:
            self._check_rank(x)
            if x.shape[-1] != self.input_size:
                raise self.shape_error(x, f"(batch, seq, {self.input_size}): {self.input_size} features per step",
                                       "Feed the features this layer was built with, or create a new layer.")
        hx = self._check_initial_state(initial_state, x)
        if lengths is None:
            out, state = self.rnn(x, hx)  # out: (batch, seq, units * directions)
        elif self.num_layers == 1 and not self.return_state and x.device.type == "cpu" and self.fast_padded:
            lengths = self._check_lengths(lengths, x)
            out = self._padded_exact(x, lengths, hx)  # (batch, seq, units * directions)
            if not self.return_sequences:  # each direction's final state: forward at the last true step, backward at step 0
                last = (lengths - 1).to(x.device)  # (batch,)
                forward_last = out[torch.arange(x.shape[0], device=x.device), last, :self.units]  # (batch, units)
                return torch.cat([forward_last, out[:, 0, self.units:]], dim=-1) if self.bidirectional else forward_last
            return out
        else:
            packed = pack_padded_sequence(x, self._check_lengths(lengths, x), batch_first=True, enforce_sorted=False)
            out, state = self.rnn(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])  # zeros at padded steps
        if self.return_sequences:
            y = out  # (batch, seq, units * directions)
        else:
            # h_n holds each direction's final state, the top layer's last: the forward direction's output at each
            # sequence's last true step and the backward direction's output at step 0
            h_n = state[0] if isinstance(state, tuple) else state  # (layers * directions, batch, units)
            y = torch.cat(list(h_n[-self.directions:]), dim=-1)  # (batch, units * directions)
        return (y, state) if self.return_state else y

    def _padded_exact(self, x: torch.Tensor, lengths: torch.Tensor, hx) -> torch.Tensor:
        """What packing gives for one layer, from padded runs: (batch, seq, units * directions), zeros at padding."""
        batch, steps = x.shape[:2]
        t = torch.arange(steps, device=x.device)
        lengths = lengths.to(x.device)
        if not self.bidirectional:
            out, _ = self.rnn(x, hx)  # (batch, seq, units): true steps never see the padding after them
        else:
            shift = (steps - lengths)[:, None]  # (batch, 1): padding steps of each sequence
            to_left = ((t[None, :] - shift) % steps)[..., None]  # (batch, seq, 1): left-padded step s holds step s - shift
            x_left = x.gather(1, to_left.expand_as(x))  # (batch, seq, features), each sequence rolled to the right end
            if hx is not None:  # the same initial state for both copies of the batch
                hx = tuple(torch.cat([h, h], dim=1) for h in hx) if isinstance(hx, tuple) else torch.cat([hx, hx], dim=1)
            both, _ = self.rnn(torch.cat([x, x_left]), hx)  # (2 * batch, seq, 2 * units), one fused call
            backward_left = both[batch:, :, self.units:]  # (batch, seq, units): backward direction on the left-padded copy
            back = ((t[None, :] + shift) % steps)[..., None].expand(-1, -1, self.units)  # roll it back to the left
            out = torch.cat([both[:batch, :, :self.units], backward_left.gather(1, back)], dim=-1)  # (batch, seq, 2 * units)
        return out * (t[None, :] < lengths[:, None])[..., None].to(out.dtype)  # zeros at padded steps, as pad_packed_sequence

    def _check_lengths(self, lengths, x: torch.Tensor) -> torch.Tensor:
        # pack_padded_sequence wants the lengths on the CPU, as int64
        lengths = torch.as_tensor(lengths).detach().to("cpu")
        batch, steps = x.shape[:2]
        if lengths.ndim != 1 or len(lengths) != batch or lengths.is_floating_point():
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) received `lengths` of the wrong shape.",
                             expected=f"a 1-D integer tensor of {batch} lengths, one per sequence",
                             received=f"lengths of shape {tuple(lengths.shape)} and dtype {lengths.dtype}",
                             fix="Pass the true length of each padded sequence, e.g. lengths=torch.tensor([5, 3]).")
        if len(lengths) and (lengths.min() < 1 or lengths.max() > steps):
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) received `lengths` outside the padded sequence.",
                             expected=f"1 <= length <= {steps} (the padded length)",
                             received=f"lengths from {int(lengths.min())} to {int(lengths.max())}",
                             fix="Drop empty sequences, and pad every sequence to the longest one.")
        return lengths.long()

    def _check_initial_state(self, initial_state, x: torch.Tensor):
        if initial_state is None:
            return None
        expected = (self.num_layers * self.directions, x.shape[0], self.units)
        names = "(h_0, c_0)" if self._has_cell_state else "h_0"
        states = initial_state if self._has_cell_state else (initial_state,)
        if not isinstance(states, (tuple, list)):
            states = (states,)  # an LSTM given h_0 alone: reported below
        if len(states) != len(names.split(",")) or any(not torch.is_tensor(s) or tuple(s.shape) != expected for s in states):
            received = ", ".join(str(tuple(s.shape)) if torch.is_tensor(s) else type(s).__name__ for s in states)
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) received an `initial_state` of the wrong shape.",
                             expected=f"{names}, each of shape {expected} (layers * directions, batch, units)",
                             received=f"initial_state of shape {received}",
                             fix="Pass the state this layer returns with return_state=True, or None for zeros.")
        return tuple(states) if self._has_cell_state else states[0]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A fresh lazy layer learns its input size from the checkpoint, so loading needs no dummy batch.
        weight = state_dict.get(prefix + "rnn.weight_ih_l0")
        if not self.built and weight is not None:
            self._create(weight.shape[1], weight.device, weight.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (f"input_size={self.input_size}, units={self.units}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, return_sequences={self.return_sequences}, return_state={self.return_state}")


class SimpleRNN(_Recurrent):
    """The plain (Elman) recurrent layer, `h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`, over a batch-first sequence.

    Args:
        units: size of the hidden state h.
        num_layers: recurrent layers stacked, each reading the previous one's outputs.
        bidirectional: also run the sequence backwards and concatenate both directions' outputs.
        dropout: dropout on the outputs of each layer but the last (needs num_layers >= 2).
        return_sequences: return the output at every step instead of the last one only.
        return_state: also return the final state h_n.
        activation: "tanh" or "relu".

    Call: `layer(x, lengths=None, initial_state=None)`; `lengths` (batch,) are the true lengths of
    a padded batch; `initial_state` is h_0 (num_layers * directions, batch, units), zeros if None.

    Input shape: (batch, seq, features).
    Output shape: (batch, units * directions), the last true step's output (for the backward
    direction, its output at step 0: both are h_n); with return_sequences, (batch, seq, units * directions);
    with return_state, (output, h_n) with h_n of shape (num_layers * directions, batch, units).

    Weights start as in `torch.nn.RNN`, which the layer runs (`.rnn`).

    Example:
        >>> layer = SimpleRNN(16)
        >>> layer(torch.randn(4, 10, 8)).shape
        torch.Size([4, 16])
    """

    def __init__(self, units: int, num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False, activation: str = "tanh",
                 name: str | None = None):
        super().__init__(units, num_layers, bidirectional, dropout, return_sequences, return_state, name)
        if activation not in ("tanh", "relu"):
            raise ConfigError("Invalid value received for argument `activation` of SimpleRNN.", expected='"tanh" or "relu"',
                              received=f"activation={activation!r}", fix='Pass activation="tanh" (torch.nn.RNN has only these two).')
        self.activation = activation

    def _torch_kwargs(self) -> dict:
        return {"nonlinearity": self.activation}


class LSTM(_Recurrent):
    """Long short-term memory over a batch-first sequence: input, forget and output gates around a cell state.

    Args:
        units: size of the hidden state h and the cell state c.
        num_layers: LSTM layers stacked, each reading the previous one's outputs.
        bidirectional: also run the sequence backwards and concatenate both directions' outputs.
        dropout: dropout on the outputs of each layer but the last (needs num_layers >= 2).
        return_sequences: return the output at every step instead of the last one only.
        return_state: also return the final states (h_n, c_n).

    Call: `layer(x, lengths=None, initial_state=None)`; `lengths` (batch,) are the true lengths of
    a padded batch; `initial_state` is (h_0, c_0), each (num_layers * directions, batch, units).

    Input shape: (batch, seq, features).
    Output shape: (batch, units * directions), the last true step's output (for the backward
    direction, its output at step 0: both are h_n); with return_sequences, (batch, seq, units * directions);
    with return_state, (output, (h_n, c_n)), each state (num_layers * directions, batch, units).

    Weights start as in `torch.nn.LSTM`, which the layer runs (`.rnn`); gate order i, f, g, o.

    Example:
        >>> x = torch.randn(4, 10, 8)                      # (batch, seq, features)
        >>> LSTM(16, bidirectional=True)(x).shape          # last step, both directions
        torch.Size([4, 32])
        >>> LSTM(16, return_sequences=True)(x).shape
        torch.Size([4, 10, 16])
        >>> y, (h, c) = LSTM(16, num_layers=2, return_state=True)(x, lengths=torch.tensor([10, 7, 3, 1]))
        >>> y.shape, h.shape, c.shape
        (torch.Size([4, 16]), torch.Size([2, 4, 16]), torch.Size([2, 4, 16]))
    """

    _torch_class = nn.LSTM
    _has_cell_state = True


class GRU(_Recurrent):
    """Gated recurrent unit over a batch-first sequence: reset and update gates, no separate cell state.

    Args:
        units: size of the hidden state h.
        num_layers: GRU layers stacked, each reading the previous one's outputs.
        bidirectional: also run the sequence backwards and concatenate both directions' outputs.
        dropout: dropout on the outputs of each layer but the last (needs num_layers >= 2).
        return_sequences: return the output at every step instead of the last one only.
        return_state: also return the final state h_n.

    Call: `layer(x, lengths=None, initial_state=None)` as `LSTM`, with initial_state h_0 alone.

    Input shape: (batch, seq, features).
    Output shape: (batch, units * directions); with return_sequences, (batch, seq, units * directions);
    with return_state, (output, h_n) with h_n of shape (num_layers * directions, batch, units).

    Weights start as in `torch.nn.GRU`, which the layer runs (`.rnn`): torch's convention,
    h' = (1 - z) * n + z * h with the reset applied after the recurrent matrix (see `GRUCellReference`).

    Example:
        >>> y, h = GRU(16, return_sequences=True, return_state=True)(torch.randn(4, 10, 8))
        >>> y.shape, h.shape
        (torch.Size([4, 10, 16]), torch.Size([1, 4, 16]))
    """

    _torch_class = nn.GRU
