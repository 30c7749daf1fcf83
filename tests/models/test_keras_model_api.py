"""Keras habits on models (issue 12): save/load whole models without pickle, Input/input_shape, layers,
get_layer, count_params, history, kernel_regularizer, and a compiled model that torch.save can pickle."""

import json

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.errors import CheckpointError, ConfigError, ShapeError
from tujie.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPool2D, Regularizer, regularization_loss
from tujie.models.saving import architecture, load_model, load_weights, remember_origin, save_model, save_weights

L = tj.layers
# the training loop adds `regularization_loss(model)` to the minimised loss once its train_step calls it


def _mlp():
    torch.manual_seed(0)
    return tj.Sequential([Input((1, 4, 4)), Flatten(), Dense(8, activation="relu"), Dropout(0.3), Dense(3)])


def _cnn():
    torch.manual_seed(0)
    return tj.Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(1, 8, 8)), L.BatchNorm2D(),
                          MaxPool2D(2), Flatten(), nn.Linear(64, 6), nn.ReLU(), Dense(3, kernel_regularizer=("l2", 1e-3))])


def _same_predictions(a, b, *inputs):
    a.eval(), b.eval()
    with torch.no_grad():
        return torch.equal(a(*inputs), b(*inputs))


# ------------------------------------------------------------ whole models
@pytest.mark.parametrize("make, shape", [(_mlp, (5, 1, 4, 4)), (_cnn, (5, 1, 8, 8))], ids=["mlp", "cnn"])
@pytest.mark.parametrize("name", ["saved_folder", "saved.tujie"])
def test_sequential_round_trip_predicts_exactly_the_same(tmp_path, make, shape, name):
    model = make().compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    x, y = torch.randn(*shape), torch.randint(0, 3, (shape[0],))
    model.fit(x, y, epochs=1, batch_size=5, verbose=0)  # the batch-norm statistics move too
    path = model.save(tmp_path / name)
    loaded = tj.models.saving.load_model(path)
    assert type(loaded) is tj.Sequential and [getattr(m, "name", None) for m in loaded.layers] == [getattr(m, "name", None) for m in model.layers]
    assert _same_predictions(model, loaded, x)
    assert loaded.learner.metric_names == model.learner.metric_names  # compiled again from the saved names
    if name == "saved_folder":
        arch = json.loads((path / "architecture.json").read_text())
        assert arch["format"] == "tujie-model-1" and arch["compile"]["optimizer"] == "adam"
        assert sorted(p.name for p in path.iterdir()) == ["architecture.json", "weights.safetensors"]


def test_a_sequential_fitted_without_declared_input_keeps_its_input_shape(tmp_path):
    torch.manual_seed(0)
    model = tj.Sequential([Dense(4, activation="tanh"), L.LayerNorm(), Dense(2)]).compile(loss="mse", metrics=[])
    x = torch.randn(8, 3)
    model.fit(x, torch.randn(8, 2), epochs=1, verbose=0)
    assert architecture(model)["input_shape"] == [3]
    assert _same_predictions(model, load_model(model.save(tmp_path / "m.tujie")), x)


def test_float64_model_stays_float64(tmp_path):
    model = tj.Sequential([Dense(2, input_shape=(3,))]).double()
    loaded = load_model(model.save(tmp_path / "m.tujie"))
    x = torch.randn(4, 3, dtype=torch.float64)
    assert loaded[0].weight.dtype == torch.float64 and _same_predictions(model, loaded, x)


@pytest.mark.parametrize("name, kwargs, inputs", [
    ("lenet5", {}, lambda: (torch.randn(2, 1, 32, 32),)),
    ("resnet20", {"num_classes": 4}, lambda: (torch.randn(2, 3, 32, 32),)),
    ("lstm_classifier", {"vocab_size": 50, "embed_dim": 8, "hidden": 8}, lambda: (torch.randint(1, 50, (2, 7)),)),
    ("mlp", {"hidden": [16]}, lambda: (torch.randn(2, 1, 28, 28),)),
])
def test_registered_models_round_trip_by_name(tmp_path, name, kwargs, inputs):
    torch.manual_seed(0)
    model = remember_origin(tj.models.create(name, **kwargs), name, kwargs)
    x = inputs()
    model(*x)  # size lazy layers
    for path in (tmp_path / "folder", tmp_path / "one.tujie"):
        save_model(model, path)
        loaded = load_model(path)
        assert architecture(loaded) == {"format": "tujie-model-1", "kind": "registered", "name": name,
                                        "kwargs": json.loads(json.dumps(kwargs))}
        assert _same_predictions(model, loaded, *x)


def test_create_records_what_save_needs(tmp_path):
    model = tj.models.create("lenet5", num_classes=3)
    assert architecture(model)["kwargs"] == {"num_classes": 3}


def test_plain_torch_layers_are_described_by_their_arguments(tmp_path):
    torch.manual_seed(0)
    model = tj.Sequential([nn.Conv2d(1, 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2), nn.LeakyReLU(0.2),
                           nn.Flatten(), nn.Dropout(0.1), nn.Sequential(nn.Linear(8, 5), nn.GELU(approximate="tanh")),
                           nn.Linear(5, 2)])
    x = torch.randn(3, 1, 4, 4)
    loaded = load_model(model.save(tmp_path / "m.tujie"))
    assert repr(loaded) == repr(model) and _same_predictions(model, loaded, x)


def test_unknown_torch_layer_is_refused_with_the_fix(tmp_path):
    class Mine(nn.Module):
        def forward(self, x):
            return x * 2

    model = tj.Sequential([Dense(2, input_shape=(3,)), Mine()])
    with pytest.raises(ConfigError, match=r"Layer model\[1\] .*Mine.*save_weights"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()
    with pytest.raises(ConfigError, match="callable|cannot be written down"):
        tj.Sequential([Dense(2, activation=lambda t: t * 2, input_shape=(3,))]).save(tmp_path / "n")
    with pytest.raises(ConfigError, match="Net.*save_weights"):
        save_model(type("Net", (nn.Module,), {})(), tmp_path / "o")


def test_weights_only_round_trip_and_shape_check(tmp_path):
    model, other = _mlp(), _mlp()
    torch.nn.init.zeros_(other.get_layer("dense").weight)
    path = model.save_weights(tmp_path / "w.safetensors")
    assert other.load_weights(path) is other and _same_predictions(model, other, torch.randn(2, 1, 4, 4))
    lazy = tj.Sequential([nn.Identity(), Flatten(), Dense(8, activation="relu"), Dropout(0.3), Dense(3)])  # sized by the weights
    load_weights(lazy, path)
    assert _same_predictions(model, lazy, torch.randn(2, 1, 4, 4))
    wrong = tj.Sequential([Input((1, 4, 4)), Flatten(), Dense(9), Dropout(0.3), Dense(3)])
    with pytest.raises(CheckpointError, match=r"(?s)weight: model \(9, 16\) vs checkpoint \(8, 16\).*Fix:"):
        wrong.load_weights(path)
    save_weights(model, tmp_path / "w2.safetensors")
    with pytest.raises(CheckpointError, match="weights but no architecture.*load_weights"):
        load_model(tmp_path / "w2.safetensors")


@pytest.mark.parametrize("content", [b"", b"\x00" * 7, b"not a model at all, just text", None], ids=["empty", "short", "text", "truncated"])
def test_damaged_or_foreign_files_are_refused(tmp_path, content):
    path = tmp_path / "m.tujie"
    if content is None:
        data = _mlp().save(tmp_path / "good.tujie").read_bytes()
        content = data[: len(data) // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="Expected:.*Fix:"):
        load_model(path)


def test_broken_folders_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "missing.tujie")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no architecture.json"):
        load_model(tmp_path / "empty")
    folder = _mlp().save(tmp_path / "m")
    (folder / "architecture.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(folder)
    (folder / "architecture.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match="does not describe a tujie model"):
        load_model(folder)
    (folder / "architecture.json").write_text(json.dumps({"format": "tujie-model-1", "kind": "registered", "name": "nosuch", "kwargs": {}}))
    with pytest.raises(CheckpointError, match="cannot be rebuilt.*nosuch"):
        load_model(folder)
    (folder / "architecture.json").write_text(json.dumps({"format": "tujie-model-1", "kind": "registered", "name": "lenet5", "kwargs": {}}))
    with pytest.raises(CheckpointError, match="does not fit"):
        load_model(folder)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="it is a file"):
        _mlp().save(tmp_path / "file")


def test_compiled_model_can_be_pickled_by_torch_save(tmp_path):
    model = _mlp().compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    x = torch.randn(4, 1, 4, 4)
    model.fit(x, torch.randint(0, 3, (4,)), epochs=1, verbose=0)
    torch.save(model, tmp_path / "m.pt")
    again = torch.load(tmp_path / "m.pt", weights_only=False)
    assert "_learner" in model.__dict__ and "_learner" not in again.__dict__  # the original keeps its learner
    assert _same_predictions(model, again, x)


# ------------------------------------------------------------ Input, layers, get_layer, count_params, history
def test_input_and_input_shape_build_at_once_so_summary_works_before_data():
    for model in (tj.Sequential([Input((784,)), Dense(32, activation="relu"), Dense(10)]),
                  tj.Sequential([Dense(32, activation="relu", input_shape=(784,)), Dense(10)]),
                  tj.Sequential().add(Dense(32, activation="relu", input_shape=(784,))).add(Dense(10))):
        assert model.count_params() == 784 * 32 + 32 + 32 * 10 + 10
        assert model.summary(print_fn=None)["total_params"] == 25450
    cnn = tj.Sequential([Conv2D(8, 3, input_shape=(1, 28, 28)), Flatten(), Dense(10)])
    assert cnn.input_shape == (1, 28, 28) and cnn.count_params() == 8 * 9 + 8 + 8 * 26 * 26 * 10 + 10


def test_input_refuses_bad_shapes():
    model = tj.Sequential([Input((4,)), Dense(2)])
    with pytest.raises(ShapeError, match=r"Layer 'input'.*\(batch, 4\)"):
        model(torch.zeros(3, 5))
    with pytest.raises(ConfigError, match="input shape of Input"):
        Input((0, 3))
    with pytest.raises(ConfigError, match="input shape of Dense"):
        Dense(3, input_shape="784")
    with pytest.raises(ConfigError, match="dtype"):
        Input((3,), dtype="nosuch")
    ids = tj.Sequential([Input((None,), dtype="int64"), L.Embedding(20, 4), Flatten()])
    assert ids(torch.randint(0, 20, (2, 6))).shape == (2, 24)


def test_layers_get_layer_and_count_params():
    model = _mlp()
    assert [layer.name for layer in model.layers] == ["flatten", "dense", "dropout", "dense_1"]
    assert model.get_layer("dense_1") is model.layers[3] is model.get_layer(index=3) is model.get_layer(-1)
    with pytest.raises(ConfigError, match=r"no layer named 'dense_2'.*'flatten', 'dense', 'dropout', 'dense_1'"):
        model.get_layer("dense_2")
    with pytest.raises(ConfigError, match="index 7"):
        model.get_layer(index=7)
    assert model.count_params() == 16 * 8 + 8 + 8 * 3 + 3
    with pytest.raises(ConfigError, match="no weights yet.*Input"):
        tj.Sequential([Dense(3)]).count_params()
    torch_layers = tj.Sequential([nn.Linear(2, 3)])
    assert torch_layers.get_layer("0") is torch_layers[0]


def test_history_is_the_last_fit():
    model = _mlp()
    assert model.history is None
    model.compile(loss="cross_entropy")
    x, y = torch.randn(6, 1, 4, 4), torch.randint(0, 3, (6,))
    first = model.fit(x, y, epochs=2, verbose=0)
    assert model.history is first and len(model.history.history["loss"]) == 2
    assert model.fit(x, y, epochs=1, verbose=0) is model.history and len(model.history) == 1


# ------------------------------------------------------------ kernel_regularizer
@pytest.mark.parametrize("spec, l1, l2", [("l2", 0, 0.01), ("l1", 0.01, 0), ("l1_l2", 0.01, 0.01), (1e-3, 0, 1e-3),
                                          (("l2", 0.5), 0, 0.5), ({"l1": 0.1, "l2": 0.2}, 0.1, 0.2),
                                          (Regularizer(l1=0.3), 0.3, 0)])
def test_kernel_regularizer_penalty_value(spec, l1, l2):
    torch.manual_seed(0)
    model = tj.Sequential([Conv2D(2, 3, kernel_regularizer=spec, input_shape=(1, 5, 5)), Flatten(), Dense(2),
                           Dense(3, kernel_regularizer=spec)])
    expected = sum(l1 * w.abs().sum() + l2 * w.pow(2).sum() for w in (model[0].weight, model[3].weight))
    assert torch.allclose(model.regularization_loss(), expected) and torch.allclose(regularization_loss(model), expected)
    model.regularization_loss().backward()  # the penalty reaches the weights it is on
    assert model[0].weight.grad is not None and model[2].weight.grad is None


def test_kernel_regularizer_callable_and_bad_values():
    layer = Dense(2, kernel_regularizer=lambda w: w.detach().sum() * 0 + 7.0)
    assert layer.regularization_loss() == 0.0  # not built yet
    layer(torch.zeros(1, 3))
    assert float(layer.regularization_loss()) == 7.0
    assert tj.Sequential([Dense(2, input_shape=(3,))]).regularization_loss() == 0.0
    for bad in ("l3", -1.0, ("l2",), {"l4": 1}, {"l2": "x"}, True):
        with pytest.raises(ConfigError, match="kernel_regularizer.*Fix:"):
            Conv2D(2, 3, kernel_regularizer=bad)


def test_kernel_regularizer_shrinks_the_weights_in_training():
    x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))

    def trained(spec):
        torch.manual_seed(0)
        model = tj.Sequential([Dense(2, kernel_regularizer=spec, input_shape=(4,))])
        model.compile(optimizer="sgd", lr=0.1, loss="cross_entropy", seed=0).fit(x, y, epochs=5, batch_size=32, verbose=0)
        return model[0].weight.detach().pow(2).sum()

    assert trained(("l2", 1.0)) < 0.5 * trained(None)


@pytest.mark.parametrize("name", ["gan", "gcn", "neumf", "seq2seq_gru_attention", "transformer_classifier", "textcnn",
                                  "rnn_forecaster", "conv_autoencoder", "small_cnn"])
def test_more_model_families_round_trip_by_name(tmp_path, name):
    """One small model per family (all 49 registered models passed this check by hand; the large ones take minutes)."""
    from tujie.models._registry import example_batch, spec

    torch.manual_seed(0)
    kwargs = spec(name).test_kwargs
    model = remember_origin(tj.models.create(name, **kwargs), name, kwargs).eval()
    inputs = example_batch(name, 2)
    with torch.no_grad():
        before = model(*inputs)
        after = load_model(save_model(model, tmp_path / "m.tujie"))(*inputs)

    def tensors(out):
        return [out] if torch.is_tensor(out) else [t for o in (out.values() if isinstance(out, dict) else out) for t in tensors(o)]

    assert all(torch.equal(a, b) for a, b in zip(tensors(before), tensors(after), strict=True))
