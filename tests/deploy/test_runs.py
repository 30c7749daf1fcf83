"""`load_servable`: a run directory as something that answers raw input with the run's own preprocessing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import tujie as tj
from tujie import config as cfg
from tujie._io import write_text
from tujie.deploy.runs import DATA_FILE, Servable, load_servable, model_input, probabilities, write_data_contract
from tujie.errors import ConfigError, DataError, ShapeError
from tujie.train.builders import build_model
from tujie.train.checkpoint import save_weights


def make_run(folder, *, dataset="digits", normalize="unit", model=None, loss="cross_entropy", steps=60, contract=True):
    """A run directory as `tujie run` leaves it (config.yaml, best.safetensors, data.json), trained a few steps."""
    model = model or {"name": "mlp", "hidden": [32]}
    config = cfg.RunConfig(recipe="test", data={"name": dataset, "normalize": normalize, "validation_split": 0.0},
                           model=model, train={"loss": loss})
    bundle = tj.data.load(dataset, normalize=normalize)
    net = build_model(config, bundle)
    torch.manual_seed(0)
    net(bundle.train.x[:2])  # lazy layers take their sizes
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    loss_fn = tj.train.losses.get_loss(loss)
    y = bundle.train.y.float()[:, None] if loss == "bce_with_logits" else bundle.train.y
    for step in range(steps):  # a few full-batch steps: well above chance, in a fraction of a second
        optimizer.zero_grad()
        loss_fn(net(bundle.train.x), y).backward()
        optimizer.step()
    folder.mkdir(parents=True)
    write_text(folder / "config.yaml", cfg.to_yaml(config))
    save_weights(folder / "best.safetensors", net.eval())
    if contract:
        write_data_contract(folder, bundle)
    return folder, net, bundle


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("runs") / "digits-standard", normalize="standard")


def test_servable_takes_unit_pixels_and_applies_the_runs_own_standardisation(digits_run):
    run_dir, net, standard = digits_run
    servable = load_servable(run_dir)
    unit = tj.data.load("digits", normalize="unit").test.x  # pixels in [0, 1]: what a person hands in
    probs = servable.predict_proba(unit.numpy())
    with torch.no_grad():
        expected = net(standard.test.x).softmax(-1).numpy()  # the model on the inputs it was trained on
    assert probs.shape == (len(unit), 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert (probs.argmax(1) == standard.test.y.numpy()).mean() > 0.8  # trained, and fed correctly
    assert servable.name == run_dir.name and servable.task == "image" and servable.input_shape == (1, 8, 8)
    assert servable.classes == [str(i) for i in range(10)] and servable.backend == "torch"


def test_metadata_names_model_classes_shape_and_versions(digits_run):
    meta = load_servable(digits_run[0]).metadata()
    assert {"name", "task", "classes", "input_shape", "model", "parameters", "backend", "versions", "run_dir"} <= set(meta)
    assert meta["model"] == "mlp" and meta["input_shape"] == [1, 8, 8] and meta["versions"]["torch"] == torch.__version__
    assert meta["parameters"] == sum(p.numel() for p in digits_run[1].parameters())
    json.dumps(meta)  # served as JSON as it is


def test_onnxruntime_backend_exports_on_the_fly_and_agrees_with_torch(digits_run):
    x = tj.data.load("digits").test.x[:7].numpy()
    on_torch, on_ort = load_servable(digits_run[0]), load_servable(digits_run[0], backend="onnxruntime")
    assert on_ort.backend == "onnxruntime" and "onnxruntime" in on_ort.metadata()["versions"]
    np.testing.assert_allclose(on_ort.predict_proba(x), on_torch.predict_proba(x), atol=1e-5)
    np.testing.assert_allclose(on_ort.predict_proba(x[:1]), on_torch.predict_proba(x[:1]), atol=1e-5)  # any batch size


def test_tabular_runs_take_raw_feature_values(tmp_path):
    run_dir, net, standardised = make_run(tmp_path / "wine", dataset="wine", model={"name": "mlp", "hidden": [16]})
    raw = tj.data.load("wine", normalize=None).test.x  # the table's own units (alcohol %, magnesium mg ...)
    servable = load_servable(run_dir)
    with torch.no_grad():
        expected = net(standardised.test.x).softmax(-1).numpy()
    assert servable.task == "tabular" and servable.input_shape == (13,)
    np.testing.assert_allclose(servable.predict_proba(raw.numpy()), expected, atol=1e-5)


def test_a_binary_classifier_with_one_logit_answers_two_columns(tmp_path):
    run_dir, net, bundle = make_run(tmp_path / "cancer", dataset="breast_cancer", loss="bce_with_logits",
                                    model={"name": "mlp", "hidden": [8]})
    servable = load_servable(run_dir)
    raw = tj.data.load("breast_cancer", normalize=None).test.x[:5].numpy()
    probs = servable.predict_proba(raw)
    with torch.no_grad():
        p = net(bundle.test.x[:5]).sigmoid().numpy().ravel()
    assert probs.shape == (5, 2)
    np.testing.assert_allclose(probs[:, 1], p, atol=1e-6)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)


def test_an_older_run_without_data_json_rebuilds_its_contract_from_the_data(tmp_path, digits_run):
    run_dir, net, standard = make_run(tmp_path / "old", normalize="standard", contract=False)
    servable = load_servable(run_dir)
    assert not (run_dir / DATA_FILE).exists() and any("data.json" in note for note in servable.notes)
    assert servable.contract["mean"] == pytest.approx(load_servable(digits_run[0]).contract["mean"])
    unit = tj.data.load("digits").test.x[:4].numpy()
    with torch.no_grad():
        expected = net(standard.test.x[:4]).softmax(-1).numpy()
    np.testing.assert_allclose(servable.predict_proba(unit), expected, atol=1e-5)


def test_last_checkpoint_serves_when_no_best_weights(tmp_path, digits_run):
    import shutil

    run_dir = tmp_path / "only-last"
    shutil.copytree(digits_run[0], run_dir)
    (run_dir / "best.safetensors").rename(run_dir / "last.safetensors")
    assert load_servable(run_dir).predict_proba(np.zeros((1, 1, 8, 8))).shape == (1, 10)


@pytest.mark.parametrize("bad, fix", [
    ([[0.0] * 64], "Reshape each sample"),  # a flat vector for an (1, 8, 8) image
    (np.zeros((1, 8, 8)), "Add the batch axis"),  # one sample without the batch axis
])
def test_wrong_shapes_are_refused_with_the_expected_shape(digits_run, bad, fix):
    with pytest.raises(ShapeError, match=r"\(N, 1, 8, 8\)") as info:
        load_servable(digits_run[0]).predict_proba(bad)
    assert fix in str(info.value)


def test_non_numbers_and_nan_are_refused(digits_run):
    servable = load_servable(digits_run[0])
    with pytest.raises(DataError, match="takes numbers"):
        servable.predict_proba([[["a"] * 8] * 8])
    with pytest.raises(DataError, match="NaN"):
        servable.predict_proba(np.full((1, 1, 8, 8), np.nan))


def test_bad_paths_say_what_is_missing_and_how_to_make_it(tmp_path, digits_run):
    with pytest.raises(DataError, match="not a folder.*tujie run") as info:
        load_servable(tmp_path / "nowhere")
    assert "no such path" in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no config.yaml"):
        load_servable(tmp_path / "empty")
    run_dir = tmp_path / "no-weights"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text((digits_run[0] / "config.yaml").read_text())
    with pytest.raises(DataError, match="holds no weights.*best.safetensors or last.safetensors"):
        load_servable(run_dir)
    with pytest.raises(ConfigError, match="backend"):
        load_servable(digits_run[0], backend="tensorflow")


def test_damaged_weights_and_onnx_files_are_data_errors(tmp_path, digits_run):
    import shutil

    run_dir = tmp_path / "damaged"
    shutil.copytree(digits_run[0], run_dir)
    (run_dir / "best.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match="corrupted or truncated"):
        load_servable(run_dir)
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(digits_run[0] / "data.json", folder / "data.json")
    (folder / "export.json").write_text(json.dumps({"format": "onnx", "run": "x", "model": "mlp"}))
    (folder / "model.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(DataError, match="ONNX Runtime cannot read.*tujie export RUN_DIR"):
        load_servable(folder, backend="onnxruntime")


def test_a_run_trained_from_python_is_refused_with_the_way_out(tmp_path, digits_run):
    run_dir = tmp_path / "python"  # what fit(..., run_dir=...) leaves: its config.yaml is a record, not a recipe
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("kind: train\ntrained_from: python\nmodel: Linear\n")
    (run_dir / "best.safetensors").write_bytes((digits_run[0] / "best.safetensors").read_bytes())
    with pytest.raises(DataError, match="trained from Python.*tj.save_model"):
        load_servable(run_dir)


def test_model_input_and_probabilities_follow_the_contract():
    raw = np.array([[[[0.0, 1.0]]]], np.float32)  # (1, 1, 1, 2) pixels in [0, 1]
    assert model_input(raw, {"pixel_max": 255.0, "normalize": None}).ravel().tolist() == [0.0, 255.0]
    assert model_input(raw, {"pixel_max": 255.0, "normalize": "unit"}).ravel().tolist() == [0.0, 1.0]
    table = np.array([[10.0, 4.0]], np.float32)
    assert model_input(table, {"mean": [8.0, 4.0], "std": [2.0, 1.0]}).tolist() == [[1.0, 0.0]]
    np.testing.assert_allclose(probabilities(np.array([[0.2, 0.8]]), "probabilities"), [[0.2, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(probabilities(np.array([[0.3]]), "binary_probabilities"), [[0.7, 0.3]], rtol=1e-6)
    assert probabilities(np.array([[1000.0, 0.0]]), "logits").tolist() == [[1.0, 0.0]]  # stable softmax


def test_servable_is_the_documented_dataclass():
    fields = Servable.__dataclass_fields__
    assert list(fields)[:6] == ["name", "task", "classes", "input_shape", "run_dir", "backend"]


@pytest.mark.data
def test_a_text_run_answers_texts_on_both_backends(tmp_path):
    result = tj.run("sst2-lstm", overrides=["limit=200", "epochs=1", "batch_size=32", "text.max_len=32", "run_name=r",
                                            f"output_dir={tmp_path}", "model.embed_dim=8", "model.hidden=8"], verbose=0)
    contract = json.loads((result.run_dir / DATA_FILE).read_text())
    assert contract["task"] == "text" and contract["max_len"] == 32 and contract["tokenizer"] == "tokenizer.json"
    texts = ["A wonderful, moving film.", "Dull.", "an utterly forgettable , tedious mess of a movie"]
    on_torch, on_ort = load_servable(result.run_dir), load_servable(result.run_dir, backend="onnxruntime")
    expected = tj.text.classification.TextClassifier.from_run(result.run_dir).predict_proba(texts).numpy()
    assert on_torch.task == "text" and on_torch.input_shape is None and on_torch.classes == ["negative", "positive"]
    np.testing.assert_allclose(on_torch.predict_proba(texts), expected, atol=1e-6)
    np.testing.assert_allclose(on_ort.predict_proba(texts), expected, atol=1e-5)
    with pytest.raises(DataError, match="Empty text"):
        on_ort.predict_proba([""])
