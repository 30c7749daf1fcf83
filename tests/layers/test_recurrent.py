"""Recurrent layers: equal to torch and to the textbook's step-by-step cells, padding-proof, shapes, errors."""

import doctest

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.errors import ConfigError, ShapeError
from tujie.layers import GRU, LSTM, SimpleRNN, recurrent, recurrent_reference
from tujie.layers.recurrent_reference import GRUCellReference, RecurrentReference

LAYERS = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _padded_batch(lengths, features=3, steps=6, pad_value=1e3):
    x = torch.randn(len(lengths), steps, features, dtype=torch.float64)
    for i, n in enumerate(lengths):
        x[i, n:] = pad_value  # loud padding: any leak shows
    return x, torch.tensor(lengths)


def _final_h(state):
    return state[0] if isinstance(state, tuple) else state


def _tensors(value):
    """The tensors in an output, a state, or (output, state), flattened in order."""
    return [value] if torch.is_tensor(value) else [t for v in value for t in _tensors(v)]


@pytest.mark.parametrize("mode", ["rnn", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("packed", [False, True], ids=["full", "packed"])
def test_reference_torch_and_tujie_agree_on_outputs_and_every_gradient(mode, packed):
    torch.manual_seed(0)
    kind = mode.split("_")[0]
    extra = {"nonlinearity": "relu"} if mode == "rnn_relu" else {}
    theirs = TORCH[kind](3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64, **extra)
    ours = LAYERS[kind](4, num_layers=2, bidirectional=True, return_sequences=True, return_state=True,
                        **({"activation": "relu"} if extra else {}))
    ours(torch.zeros(1, 1, 3, dtype=torch.float64))
    ours.rnn.load_state_dict(theirs.state_dict())
    reference = RecurrentReference.from_torch(theirs)
    x, lengths = _padded_batch([6, 2, 5], steps=6, pad_value=0.5)
    lengths = lengths if packed else None
    names = [name for name, _ in reference.named_torch_parameters()]
    assert len(names) == len(list(theirs.parameters())) == 16

    def run(call, params):
        x_ = x.clone().requires_grad_(True)
        tensors = _tensors(call(x_))
        weights = [torch.randn(t.shape, dtype=t.dtype, generator=torch.Generator().manual_seed(i)) for i, t in enumerate(tensors)]
        loss = sum((t * w).sum() for t, w in zip(tensors, weights))
        return tensors, torch.autograd.grad(loss, [x_, *params])

    def run_torch(x_):
        if lengths is None:
            return theirs(x_)
        out, state = theirs(nn.utils.rnn.pack_padded_sequence(x_, lengths, batch_first=True, enforce_sorted=False))
        return nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0], state

    expected, expected_grads = run(run_torch, [getattr(theirs, n) for n in names])
    candidates = {"reference": (lambda x_: reference(x_, lengths), [p for _, p in reference.named_torch_parameters()]),
                  "tujie": (lambda x_: ours(x_, lengths=lengths), [getattr(ours.rnn, n) for n in names])}
    for who, (call, params) in candidates.items():
        got, grads = run(call, params)
        for a, b in zip(got, expected, strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
        for name, a, b in zip(["input", *names], grads, expected_grads, strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5, msg=lambda m, name=name, who=who: f"{who}, gradient of {name}: {m}")

def test_reference_cells_load_torch_cell_weights_directly():
    torch.manual_seed(1)
    x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    for ours, theirs, state in ((recurrent_reference.RNNCellReference(3, 4), nn.RNNCell(3, 4), h),
                                (recurrent_reference.LSTMCellReference(3, 4), nn.LSTMCell(3, 4), (h, c)),
                                (GRUCellReference(3, 4), nn.GRUCell(3, 4), h)):
        ours.load_state_dict(theirs.state_dict())
        for a, b in zip(_tensors(ours(x, state)), _tensors(theirs(x, state)), strict=True):
            torch.testing.assert_close(a, b)


def test_gru_reset_before_the_matrix_is_the_textbooks_other_function():
    torch.manual_seed(2)
    after, before = GRUCellReference(3, 4), GRUCellReference(3, 4, reset_after=False)
    with torch.no_grad():
        after.bias_hh[8:] = 0  # b_hn, which torch's form also resets
    before.load_state_dict(after.state_dict())
    x, h = torch.randn(5, 3), torch.randn(5, 4)
    torch.testing.assert_close(after(x), before(x))  # from a zero state the reset has nothing to act on
    assert not torch.allclose(after(x, h), before(x, h))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_init_equals_torch_for_the_same_seed(kind):
    torch.manual_seed(3)
    ours = LAYERS[kind](5, num_layers=2, bidirectional=True)
    ours(torch.zeros(1, 1, 7))
    torch.manual_seed(3)
    theirs = TORCH[kind](7, 5, num_layers=2, bidirectional=True, batch_first=True)
    for (name, a), b in zip(ours.rnn.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_padding_never_reaches_the_last_state(kind):
    torch.manual_seed(4)
    layer = LAYERS[kind](4, num_layers=2, bidirectional=True, return_state=True).double()
    sequences = LAYERS[kind](4, num_layers=2, bidirectional=True, return_sequences=True).double()
    x, lengths = _padded_batch([5, 2, 4, 6])
    last, state = layer(x, lengths=lengths)
    sequences(x[:1])
    sequences.load_state_dict(layer.state_dict())
    outputs = sequences(x, lengths=lengths)  # (batch, seq, 8)
    for i, n in enumerate(lengths.tolist()):
        alone, alone_state = layer(x[i:i + 1, :n])  # the sequence by itself, no padding at all
        torch.testing.assert_close(last[i:i + 1], alone)
        for s, s_alone in zip(_tensors(state), _tensors(alone_state)):
            torch.testing.assert_close(s[:, i:i + 1], s_alone)
        torch.testing.assert_close(outputs[i:i + 1, :n], sequences(x[i:i + 1, :n]))
        assert (outputs[i, n:] == 0).all()
        # "last" is the forward direction's last true step and the backward direction's step 0: the top layer's h_n
        torch.testing.assert_close(last[i], torch.cat([outputs[i, n - 1, :4], outputs[i, 0, 4:]]))
        torch.testing.assert_close(last[i], torch.cat(list(_final_h(state)[-2:, i])))
    leaked = layer(x)[0]  # without lengths the padding is read as data
    assert not torch.allclose(leaked, last)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
def test_shapes_of_every_return_mode(kind, bidirectional, return_sequences, return_state):
    layer = LAYERS[kind](6, num_layers=3, bidirectional=bidirectional, return_sequences=return_sequences,
                         return_state=return_state)
    directions = 2 if bidirectional else 1
    for lengths in (None, torch.tensor([7, 1])):
        result = layer(torch.randn(2, 7, 5), lengths=lengths)
        output, state = result if return_state else (result, None)
        assert output.shape == ((2, 7, 6 * directions) if return_sequences else (2, 6 * directions))
        if return_state:
            states = state if kind == "lstm" else (state,)
            assert isinstance(state, tuple) == (kind == "lstm")
            assert all(s.shape == (3 * directions, 2, 6) for s in states)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_initial_state_carries_a_sequence_on(kind):
    torch.manual_seed(5)
    layer = LAYERS[kind](4, num_layers=2, return_sequences=True, return_state=True)
    x = torch.randn(3, 8, 2)
    whole, whole_state = layer(x)
    first, state = layer(x[:, :5])
    rest, rest_state = layer(x[:, 5:], initial_state=state)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), whole)
    for a, b in zip(_tensors(rest_state), _tensors(whole_state)):
        torch.testing.assert_close(a, b)


def test_lazy_layer_builds_from_state_dict_and_works_in_sequential():
    a = LSTM(5, num_layers=2, bidirectional=True)
    x = torch.randn(2, 4, 3)
    a(x)
    b = LSTM(5, num_layers=2, bidirectional=True)
    b.load_state_dict(a.state_dict())
    assert b.input_size == 3
    torch.testing.assert_close(a(x), b(x))
    model = tj.Sequential([GRU(8, return_sequences=True), SimpleRNN(4), tj.layers.Dense(2)])
    assert model(x).shape == (2, 2)
    assert [layer.name for layer in model][:2] == ["gru", "simple_rnn"]


def test_dropout_between_layers_acts_in_training_only():
    torch.manual_seed(6)
    layer = LSTM(16, num_layers=2, dropout=0.5)
    x = torch.randn(4, 5, 3)
    assert not torch.allclose(layer(x), layer(x))
    layer.eval()
    torch.testing.assert_close(layer(x), layer(x))


def test_wrong_inputs_are_explained():
    layer = LSTM(4)
    with pytest.raises(ShapeError, match=r"'lstm'.*\(batch, seq, features\).*\(2, 5\).*unsqueeze\(-1\)"):
        layer(torch.randn(2, 5))
    with pytest.raises(ShapeError, match="Embedding"):
        layer(torch.randint(0, 9, (2, 5)))
    layer(torch.randn(2, 5, 3))
    with pytest.raises(ShapeError, match=r"\(batch, seq, 3\).*\(2, 5, 7\)"):
        layer(torch.randn(2, 5, 7))
    with pytest.raises(ShapeError, match=r"1 <= length <= 5"):
        layer(torch.randn(2, 5, 3), lengths=torch.tensor([6, 2]))
    with pytest.raises(ShapeError, match=r"1 <= length"):
        layer(torch.randn(2, 5, 3), lengths=torch.tensor([0, 2]))
    with pytest.raises(ShapeError, match="2 lengths"):
        layer(torch.randn(2, 5, 3), lengths=torch.tensor([5, 2, 1]))
    with pytest.raises(ShapeError, match=r"\(h_0, c_0\).*\(1, 2, 4\)"):
        layer(torch.randn(2, 5, 3), initial_state=torch.zeros(1, 2, 4))
    with pytest.raises(ShapeError, match=r"h_0.*\(2, 2, 4\).*\(1, 2, 4\)"):
        GRU(4, num_layers=2)(torch.randn(2, 5, 3), initial_state=torch.zeros(1, 2, 4))


@pytest.mark.parametrize("kwargs, match", [
    ({"units": 0}, "units"), ({"units": 4.0}, "units"), ({"units": 4, "num_layers": 0}, "num_layers"),
    ({"units": 4, "dropout": 1.5}, "dropout"), ({"units": 4, "dropout": 0.2}, "num_layers >= 2"),
    ({"units": 4, "bidirectional": "yes"}, "bidirectional"), ({"units": 4, "return_sequences": 1}, "return_sequences"),
])
def test_bad_arguments_are_config_errors(kwargs, match):
    for layer in (SimpleRNN, LSTM, GRU):
        with pytest.raises(ConfigError, match=match):
            layer(**kwargs)
    with pytest.raises(ConfigError, match="activation"):
        SimpleRNN(4, activation="sigmoid")


@pytest.mark.parametrize("module", [recurrent, recurrent_reference], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": nn})
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_padded_fast_path_equals_packing_in_outputs_and_gradients(cls, bidirectional, return_sequences):
    # one layer on the CPU runs padded fused kernels instead of packing; every number must be the packed one
    torch.manual_seed(0)
    layer = cls(5, bidirectional=bidirectional, return_sequences=return_sequences).double()
    x, lengths = _padded_batch([6, 2, 1, 4], steps=6)
    x.requires_grad_(True)
    layer(x)
    results = []
    for fast in (True, False):
        layer.fast_padded = fast
        x.grad = None
        layer.zero_grad()
        y = layer(x, lengths=lengths)
        (y * torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=y.dtype)).sum().backward()
        results.append([y.detach(), x.grad.clone()] + [p.grad.clone() for p in layer.parameters()])
    for fast, packed in zip(*results):
        torch.testing.assert_close(fast, packed, atol=1e-10, rtol=1e-10)
    if return_sequences:  # padding steps come out as zeros, as pad_packed_sequence gives them
        assert results[0][0][1, 2:].abs().max() == 0
