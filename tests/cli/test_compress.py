"""`tujie compress RUN_DIR --method prune` in-process, and its errors as one paragraph."""

import json

import pytest

from tujie.cli import main


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["run", "digits-mlp", "--set", "epochs=2", "--set", f"output_dir={out}", "--set", "run_name=d", "-q"]) == 0
    return out / "d"


def test_compress_a_run_with_one_method(digits_run, capsys):
    code = main(["compress", str(digits_run), "--method", "prune", "--set", "compress.steps=1",
                 "--set", "compress.latency_repeats=2", "--lang", "en"])
    out = capsys.readouterr().out
    assert code == 0 and "Report:" in out and "magnitude pruning" in out
    folder = next(p for p in digits_run.parent.iterdir() if p.name.startswith("digits-mlp-compress"))
    rows = json.loads((folder / "compress.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["base", "prune"]


def test_an_unknown_method_and_a_missing_run_are_one_paragraph(digits_run, tmp_path, capsys):
    assert main(["compress", str(digits_run), "--method", "purne", "-q"]) == 2
    err = capsys.readouterr().err
    assert "Unknown compression method 'purne'" in err and "prune" in err and "Traceback" not in err
    assert main(["compress", str(tmp_path / "nowhere"), "-q"]) == 2
    assert "not a trained run directory" in capsys.readouterr().err
