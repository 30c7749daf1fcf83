"""The compress kind end to end on the embedded digits: every method in compress.json and the report in both languages,
`tj.compress_run` on a trained run, and its bad input."""

import json

import pytest
import yaml

import tujie as tj
from tujie.errors import ConfigError
from tujie.kinds.compress import METHODS

SMALL = {"steps": 2, "finetune_epochs": 1, "student": {"name": "mlp", "hidden": [8]}, "student_epochs": 2,
         "calibration_batches": 2, "qat_epochs": 1, "latency_repeats": 2, "sparsity": 0.8}


def recipe(tmp_path, **compress):
    path = tmp_path / "digits-compress.yaml"
    path.write_text(yaml.safe_dump({
        "description": "digits compressed", "kind": "compress", "output_dir": str(tmp_path / "runs"),
        "data": {"name": "digits", "validation_split": 0.0}, "model": {"name": "mlp", "hidden": [32]},
        "optimizer": {"name": "adam", "lr": 0.01}, "train": {"epochs": 4, "batch_size": 64},
        "compress": {**SMALL, **compress}}))
    return str(path)


@pytest.fixture(scope="module")
def compressed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compress")
    return tj.run(recipe(tmp), verbose=0, report=False)


def test_every_method_has_a_row_measured_alike(compressed):
    data = json.loads((compressed.run_dir / "compress.json").read_text())
    rows = {r["method"]: r for r in data["rows"]}
    assert set(rows) == {"base", "student", *METHODS}
    for r in rows.values():
        assert {"accuracy", "error", "parameters", "nonzero", "size_mb", "latency_1_ms", "latency_64_ms",
                "speedup_1", "speedup_64"} <= set(r) and 0 <= r["accuracy"] <= 1
    base = rows["base"]
    assert rows["prune"]["nonzero"] < 0.3 * base["nonzero"] and rows["prune"]["size_mb"] == pytest.approx(base["size_mb"], rel=0.05)
    assert rows["channels"]["parameters"] < base["parameters"] and rows["channels"]["size_mb"] < base["size_mb"]
    assert rows["quantize_dynamic"]["size_mb"] < 0.6 * base["size_mb"]  # 4x on the weights; the tiny model's overhead stays
    assert rows["student"]["parameters"] == rows["distill"]["parameters"] < base["parameters"]
    sparsity = data["details"]["prune"]["sparsity"]
    assert [round(s["sparsity"], 2) for s in sparsity] == [0.8, 0.8]  # every layer, layer-wise
    saved = {r["method"] for r in data["rows"] if r.get("saved")}
    assert saved == {"prune", "prune_global", "channels", "lowrank", "student", "distill"}
    assert all((compressed.run_dir / f"compressed-{m}.safetensors").is_file() for m in saved)
    assert (compressed.run_dir / "base.safetensors").is_file()


@pytest.mark.parametrize("lang,words", [("en", ["Every compression method on one model", "Han et al. 2015", "Pareto",
                                                 "Sparsity per layer", "Low-rank factorisation"]),
                                        ("zh", ["同一个模型上的每种压缩方法", "Han 等人 2015", "帕累托", "每层稀疏度", "低秩分解"])])
def test_the_report_has_its_sections_in_both_languages(compressed, lang, words):
    html = tj.build_report(compressed.run_dir, lang=lang).read_text(encoding="utf-8")
    for word in words:
        assert word in html


def test_compress_run_starts_from_a_trained_run_with_its_weights(tmp_path):
    trained = tj.run("digits-mlp", overrides=["epochs=3", f"output_dir={tmp_path}", "run_name=base"], verbose=0, report=False)
    result = tj.compress_run(trained.run_dir, ["prune"], ["compress.steps=1", "compress.latency_repeats=2"], verbose=0)
    assert result.run_dir.parent == tmp_path and result.run_dir.name.startswith("digits-mlp-compress")
    data = json.loads((result.run_dir / "compress.json").read_text())
    assert [r["method"] for r in data["rows"]] == ["base", "prune"] and data["base"] == str(trained.run_dir)
    # the base row is the trained run's own model: its test accuracy
    assert data["rows"][0]["accuracy"] == pytest.approx(trained.summary["test"]["accuracy"], abs=1e-6)
    assert result.report.is_file() and json.loads((result.run_dir / "summary.json").read_text())["kind"] == "compress"


def test_an_unknown_method_is_refused_with_the_valid_ones_listed(tmp_path):
    with pytest.raises(ConfigError, match="prune_global.*quantize_dynamic"):
        tj.run(recipe(tmp_path, methods=["prnue"]), verbose=0)
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_a_sparsity_out_of_range_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="sparsity"):
        tj.run(recipe(tmp_path, sparsity=1.0), verbose=0)


def test_a_base_run_that_is_not_there_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not a trained run directory"):
        tj.compress_run(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="not a trained run directory"):
        tj.run(recipe(tmp_path, base=str(tmp_path / "nowhere")), verbose=0)
