"""`tujie export` in-process: a real run from `tujie run`, exported, checked and served from the folder."""

from __future__ import annotations

import json

import numpy as np

import tujie as tj
from tujie.cli import main
from tujie.deploy.runs import load_servable


def test_run_then_export_onnx_from_the_command_line(tmp_path, capsys):
    assert main(["run", "digits-mlp", "--set", "epochs=1", "--set", f"output_dir={tmp_path}", "--set", "run_name=d",
                 "--set", "limit=400", "-q"]) == 0
    run_dir = tmp_path / "d"
    contract = json.loads((run_dir / "data.json").read_text())  # the train kind writes the data contract
    assert contract["dataset"] == "digits" and contract["input_shape"] == [1, 8, 8] and contract["pixel_max"] == 16.0
    capsys.readouterr()

    assert main(["export", str(run_dir), "--output", str(tmp_path / "onnx")]) == 0
    out = capsys.readouterr().out
    assert "model.onnx" in out and "Parity with torch on 360 inputs" in out and "Latency at batch 1:" in out
    servable = load_servable(tmp_path / "onnx", backend="onnxruntime")
    x = tj.data.load("digits").test.x[:4].numpy()
    np.testing.assert_allclose(servable.predict_proba(x), load_servable(run_dir).predict_proba(x), atol=1e-5)

    assert main(["export", str(run_dir), "--format", "safetensors", "--no-check"]) == 0
    assert (run_dir / "export-safetensors" / "weights.safetensors").is_file()  # the default folder: RUN_DIR/export-FORMAT
    assert "Parity" not in capsys.readouterr().out


def test_export_errors_are_one_paragraph_and_exit_2(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "is not a folder" in err and "tujie run" in err and "Traceback" not in err
    assert main(["export", str(tmp_path), "--format", "tflite"]) == 2
    assert "onnx or torchscript or safetensors" in capsys.readouterr().err
