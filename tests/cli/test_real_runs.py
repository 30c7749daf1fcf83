"""The shipped MNIST recipes on a slice of the real data (needs TUJIE_DATA)."""

import json

import pytest

from tujie.cli import main


@pytest.mark.data
@pytest.mark.parametrize("recipe,minimum", [("mnist-mlp", 0.85), ("mnist-cnn", 0.9)])
def test_recipe_on_a_slice_of_mnist(recipe, minimum, tmp_path, capsys):
    code = main(["run", recipe, "--set", "limit=6000", "--set", "epochs=2", "--set", f"output_dir={tmp_path}",
                 "--set", "run_name=r"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Run directory:" in out and "Epoch 2/2" in out and "val_accuracy" in out and "Report:" in out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["test"]["accuracy"] >= minimum
    assert summary["model"]["total_params"] == {"mnist-mlp": 109_386, "mnist-cnn": 225_034}[recipe]
    html = (tmp_path / "r" / "report.html").read_text()
    assert "Confusion matrix" in html and html.count("data:image/png;base64,") >= 4
