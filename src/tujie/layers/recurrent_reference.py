"""The textbook's recurrent cells (chapter 7: RNN, LSTM, GRU) written from their equations, one step at a time.

These are for reading and for checking, not for speed: `tujie.layers.LSTM` and friends run
torch's fused kernels, and the tests check that they and this file agree to 1e-5, outputs
and gradients, given the same weights.

Each cell keeps torch's parameter names and layout (`weight_ih`, `weight_hh`, `bias_ih`,
`bias_hh`, the gates stacked row-wise in torch's order), so weights copied from
`torch.nn.LSTM`/`nn.LSTMCell` fit as they are. Where the textbook writes one matrix on
the concatenation, `W · [h_{t-1}, x_t] + b`, torch (and cuDNN) split it in two,
`W_ih x_t + b_ih + W_hh h_{t-1} + b_hh`: the same function, with two biases that only
ever appear as their sum.

`RecurrentReference` runs the cells over a batch-first sequence: stacked layers, both
directions, and `lengths` for padded batches, returning what `torch.nn.LSTM(batch_first=True)`
returns.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError

__all__ = ["RNNCellReference", "LSTMCellReference", "GRUCellReference", "RecurrentReference"]


class _CellReference(nn.Module):
    """Shared parameters of the cells: `gates` blocks of `hidden_size` rows each, initialised as torch does."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(self.gates * hidden_size, input_size))  # (gates*hidden, in)
        self.weight_hh = nn.Parameter(torch.empty(self.gates * hidden_size, hidden_size))  # (gates*hidden, hidden)
        self.bias_ih = nn.Parameter(torch.empty(self.gates * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(self.gates * hidden_size))
        bound = 1 / math.sqrt(hidden_size)  # torch.nn.RNNBase.reset_parameters: U(-1/sqrt(hidden), 1/sqrt(hidden))
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def zero_state(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.hidden_size)  # (batch, hidden)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class RNNCellReference(_CellReference):
    """The plain recurrent cell: `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)` (textbook 7.1, σ = tanh).

    Args:
        input_size: features per step; hidden_size: units.
        activation: "tanh" (the default, as Elman's network and torch) or "relu".

    Input: x (batch, input_size) and h (batch, hidden_size) or None for zeros. Output: h' (batch, hidden_size).

    Example:
        >>> cell = RNNCellReference(3, 4)
        >>> cell(torch.randn(2, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(self, input_size: int, hidden_size: int, activation: str = "tanh"):
        super().__init__(input_size, hidden_size)
        if activation not in ("tanh", "relu"):
            raise ConfigError("Invalid value received for argument `activation` of RNNCellReference.",
                              expected='"tanh" or "relu"', received=f"activation={activation!r}", fix='Pass activation="tanh".')
        self.activation = activation

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        h = self.zero_state(x) if h is None else h
        # textbook: h_t = σ(U x_t + W h_{t-1} + b), with U = W_ih, W = W_hh, b = b_ih + b_hh
        pre = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh  # (batch, hidden)
        return torch.tanh(pre) if self.activation == "tanh" else torch.relu(pre)


class LSTMCellReference(_CellReference):
    """Long short-term memory (textbook 7.2): three gates decide what the cell state forgets, takes in and shows.

    The four row blocks of the weights are, in torch's order, i (input gate), f (forget gate),
    g (the new candidate values, the textbook's g_t / C̃_t) and o (output gate).

    Input: x (batch, input_size) and (h, c), each (batch, hidden_size), or None for zeros.
    Output: (h', c'), each (batch, hidden_size).

    Example:
        >>> cell = LSTMCellReference(3, 4)
        >>> h, c = cell(torch.randn(2, 3))
        >>> h.shape, c.shape
        (torch.Size([2, 4]), torch.Size([2, 4]))
    """

    gates = 4

    def zero_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return super().zero_state(x), super().zero_state(x)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        h, c = self.zero_state(x) if state is None else state  # (batch, hidden) each
        pre = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh  # (batch, 4*hidden)
        pre_i, pre_f, pre_g, pre_o = pre.chunk(4, dim=1)  # (batch, hidden) each
        i = torch.sigmoid(pre_i)  # input gate   i_t = σ(W_i·[h_{t-1}, x_t] + b_i): how much new content to write
        f = torch.sigmoid(pre_f)  # forget gate  f_t = σ(W_f·[h_{t-1}, x_t] + b_f): how much of C_{t-1} to keep
        g = torch.tanh(pre_g)     # candidate    g_t = tanh(W_g·[h_{t-1}, x_t] + b_g): the new content
        o = torch.sigmoid(pre_o)  # output gate  o_t = σ(W_o·[h_{t-1}, x_t] + b_o): how much of the cell to show
        c_next = f * c + i * g            # C_t = f_t ⊙ C_{t-1} + i_t ⊙ g_t
        h_next = o * torch.tanh(c_next)   # h_t = o_t ⊙ tanh(C_t)
        return h_next, c_next


class GRUCellReference(_CellReference):
    """Gated recurrent unit (textbook 7.3): a reset gate r and an update gate z, no separate cell state.

    The three row blocks of the weights are, in torch's order, r (reset), z (update) and n
    (the candidate state, the textbook's h̃_t). Torch's convention, followed here:

        r  = σ(W_ir x + b_ir + W_hr h + b_hr)
        z  = σ(W_iz x + b_iz + W_hz h + b_hz)
        n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h' = (1 - z) ⊙ n + z ⊙ h

    Two details differ between write-ups. (1) Which side z weighs: seeds/002 writes
    h_t = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ h̃_t, as torch; chapter 7.3 writes z on the new state,
    h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t. The two are the same model with z ↔ 1 - z
    (negate W_z and b_z). (2) Where the reset applies: the textbook resets h before the
    matrix, h̃_t = tanh(W_h·[x_t, r_t ⊙ h_{t-1}] + b_h) (Cho et al. 2014); cuDNN and torch
    reset after it, r ⊙ (W_hn h + b_hn). These are different functions; `reset_after=False`
    gives the textbook's form (as Keras' `GRU(reset_after=False)`), for reading only, since
    torch's weights are trained for the other.

    Input: x (batch, input_size) and h (batch, hidden_size) or None. Output: h' (batch, hidden_size).

    Example:
        >>> cell = GRUCellReference(3, 4)
        >>> cell(torch.randn(2, 3)).shape
        torch.Size([2, 4])
    """

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, reset_after: bool = True):
        super().__init__(input_size, hidden_size)
        self.reset_after = reset_after

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        h = self.zero_state(x) if h is None else h  # (batch, hidden)
        w_ir, w_iz, w_in = self.weight_ih.chunk(3, dim=0)  # (hidden, in) each
        w_hr, w_hz, w_hn = self.weight_hh.chunk(3, dim=0)  # (hidden, hidden) each
        b_ir, b_iz, b_in = self.bias_ih.chunk(3)
        b_hr, b_hz, b_hn = self.bias_hh.chunk(3)
        r = torch.sigmoid(x @ w_ir.T + b_ir + h @ w_hr.T + b_hr)  # reset gate: how much of h the candidate may use
        z = torch.sigmoid(x @ w_iz.T + b_iz + h @ w_hz.T + b_hz)  # update gate: how much of h to keep as it is
        if self.reset_after:
            n = torch.tanh(x @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))  # torch / cuDNN
        else:
            n = torch.tanh(x @ w_in.T + b_in + (r * h) @ w_hn.T + b_hn)  # textbook: tanh(W_h·[x_t, r_t ⊙ h_{t-1}] + b_h)
        return (1 - z) * n + z * h  # (batch, hidden)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, reset_after={self.reset_after}"


_CELLS = {"rnn": RNNCellReference, "lstm": LSTMCellReference, "gru": GRUCellReference}


class RecurrentReference(nn.Module):
    """A stack of reference cells run over a batch-first sequence, step by step: torch.nn.RNN/LSTM/GRU, readable.

    Args:
        mode: "rnn", "lstm" or "gru".
        input_size, hidden_size, num_layers, bidirectional: as in `torch.nn.LSTM`.
        activation: for mode="rnn", "tanh" or "relu".

    forward(x, lengths=None, initial_state=None) returns (output, state) as
    `torch.nn.LSTM(batch_first=True)` does:
        output: (batch, seq, hidden * directions), zeros at padded steps when `lengths` is given;
        state: h_n, or (h_n, c_n) for LSTM, each (num_layers * directions, batch, hidden).

    With `lengths`, each sequence's forward direction stops at its last true step and its
    backward direction starts there: padding never touches a state, as with packed sequences.
    There is no dropout between layers; compare with torch in eval mode or with dropout=0.

    Example:
        >>> torch_lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
        >>> reference = RecurrentReference.from_torch(torch_lstm)
        >>> x = torch.randn(2, 5, 3)
        >>> torch.allclose(reference(x)[0], torch_lstm(x)[0], atol=1e-6)
        True
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                 activation: str = "tanh"):
        super().__init__()
        if mode not in _CELLS:
            raise ConfigError("Invalid value received for argument `mode` of RecurrentReference.", expected='"rnn", "lstm" or "gru"',
                              received=f"mode={mode!r}", fix='Pass mode="lstm".')
        self.mode, self.hidden_size, self.num_layers = mode, hidden_size, num_layers
        self.directions = 2 if bidirectional else 1
        extra = {"activation": activation} if mode == "rnn" else {}
        # cells[layer * directions + direction], the same order as torch's h_n
        self.cells = nn.ModuleList(
            _CELLS[mode](input_size if layer == 0 else hidden_size * self.directions, hidden_size, **extra)
            for layer in range(num_layers) for _ in range(self.directions))

    @classmethod
    def from_torch(cls, module: nn.Module) -> RecurrentReference:
        """A reference with the sizes and a copy of the weights of a `torch.nn.RNN/LSTM/GRU` (or a tujie recurrent layer)."""
        module = getattr(module, "rnn", module)  # a tujie layer holds its torch module as `.rnn`
        mode = {"RNN_TANH": "rnn", "RNN_RELU": "rnn", "LSTM": "lstm", "GRU": "gru"}[module.mode]
        if getattr(module, "proj_size", 0) or not module.bias or not module.batch_first:
            raise ConfigError("RecurrentReference mirrors batch-first recurrent modules with biases and no projection.",
                              received=repr(module), fix="Use batch_first=True, bias=True, proj_size=0.")
        reference = cls(mode, module.input_size, module.hidden_size, module.num_layers, module.bidirectional,
                        activation="relu" if module.mode == "RNN_RELU" else "tanh")
        p = next(module.parameters())
        reference.to(device=p.device, dtype=p.dtype)
        reference.load_torch_weights(module)
        return reference

    def named_torch_parameters(self):
        """(torch name, parameter) pairs: ("weight_ih_l0", cells[0].weight_ih), ("bias_hh_l1_reverse", ...), ..."""
        for index, cell in enumerate(self.cells):
            layer, direction = divmod(index, self.directions)
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                yield name + suffix, getattr(cell, name)

    @torch.no_grad()
    def load_torch_weights(self, module: nn.Module) -> RecurrentReference:
        """Copy `weight_ih_l0`, `weight_hh_l0`, `bias_*`, and the `_reverse` ones from a torch recurrent module."""
        module = getattr(module, "rnn", module)
        for name, param in self.named_torch_parameters():
            param.copy_(getattr(module, name))
        return self

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None, initial_state=None):
        batch, steps, _ = x.shape  # (batch, seq, features)
        lengths = torch.full((batch,), steps) if lengths is None else torch.as_tensor(lengths).cpu()
        real = (torch.arange(steps)[None, :] < lengths[:, None]).to(x.device)  # (batch, seq): True at true steps
        layer_input, finals = x, []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.directions):
                index = layer * self.directions + direction
                state = self._initial(initial_state, index)
                out, state = self._run(self.cells[index], layer_input, state, real, reverse=direction == 1)
                outputs.append(out)  # (batch, seq, hidden)
                finals.append(state)
            layer_input = torch.cat(outputs, dim=-1)  # (batch, seq, hidden * directions): the next layer's input
        if self.mode == "lstm":
            return layer_input, (torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals]))
        return layer_input, torch.stack(finals)  # state: (layers * directions, batch, hidden)

    def _initial(self, initial_state, index: int):
        if initial_state is None:
            return None
        if self.mode == "lstm":
            return initial_state[0][index], initial_state[1][index]
        return initial_state[index]

    @staticmethod
    def _run(cell: nn.Module, x: torch.Tensor, state, real: torch.Tensor, reverse: bool):
        """One direction of one layer over the sequence; at padded steps the state is carried through unchanged."""
        state = cell.zero_state(x[:, 0]) if state is None else state
        outputs = [None] * x.shape[1]
        for t in (reversed(range(x.shape[1])) if reverse else range(x.shape[1])):
            new = cell(x[:, t], state)
            keep = real[:, t, None]  # (batch, 1)
            if isinstance(state, tuple):  # LSTM: (h, c)
                state = tuple(torch.where(keep, n, s) for n, s in zip(new, state))
                h = state[0]
            else:
                state = h = torch.where(keep, new, state)
            outputs[t] = h * keep  # (batch, hidden); zero at padding, as pad_packed_sequence writes
        return torch.stack(outputs, dim=1), state  # (batch, seq, hidden)
