"""The command line end to end on the embedded digits data: run, report, resume, and every bad input."""

import json

import pytest
import yaml

from tujie.cli import main


def run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No data anywhere: TUJIE_DATA and the cache point at empty folders, and downloads fail."""
    import tujie.data._files as files

    monkeypatch.setenv("TUJIE_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("TUJIE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(files, "urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("no network")), raising=False)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    code = main(["run", "digits-mlp", "--set", "epochs=2", "--set", f"output_dir={out}", "--set", "run_name=d", "-q"])
    assert code == 0
    return out / "d"


def test_recipes_lists_one_line_each(capsys):
    code, out, _ = run(["recipes"], capsys)
    lines = out.strip().splitlines()
    assert code == 0 and {line.split()[0] for line in lines} >= {"mnist-mlp", "mnist-cnn", "digits-mlp"}


def test_run_writes_a_complete_run_directory(digits_run):
    names = {p.name for p in digits_run.iterdir()}
    assert {"config.yaml", "metrics.jsonl", "history.csv", "last.safetensors", "best.safetensors", "tensorboard",
            "summary.json", "evaluation.json", "samples.safetensors", "report.html"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    summary = json.loads((digits_run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_done"] == 2 and summary["best_epoch"] in (1, 2)
    assert 0.5 < summary["test"]["accuracy"] <= 1.0
    assert summary["timings"]["samples_per_s"] > 0 and summary["environment"]["torch"]
    config = yaml.safe_load((digits_run / "config.yaml").read_text())
    assert config["train"]["epochs"] == 2 and config["recipe"] == "digits-mlp"
    evaluation = json.loads((digits_run / "evaluation.json").read_text())
    assert len(evaluation["confusion_matrix"]) == 10 and sum(map(sum, evaluation["confusion_matrix"])) == 360


def test_report_rebuilds(digits_run, capsys):
    (digits_run / "report.html").unlink()
    code, out, _ = run(["report", str(digits_run)], capsys)
    assert code == 0 and (digits_run / "report.html").stat().st_size > 10_000


def test_resume_continues_to_more_epochs(digits_run, capsys):
    code, out, _ = run(["run", "--resume", str(digits_run), "--set", "epochs=3"], capsys)
    assert code == 0 and "Resuming after epoch 2 of 3" in out
    lines = [json.loads(l) for l in (digits_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3]


def test_resume_with_a_different_config_is_refused(digits_run, capsys):
    before = (digits_run / "last.safetensors").read_bytes()
    code, _, err = run(["run", "digits-mlp", "--resume", str(digits_run), "--set", "lr=0.5"], capsys)
    assert code == 2 and "optimizer.lr" in err and "0.5" in err and "Traceback" not in err
    assert (digits_run / "last.safetensors").read_bytes() == before


def test_resume_from_a_truncated_checkpoint_is_refused(digits_run, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(digits_run, broken)
    data = (broken / "last.safetensors").read_bytes()
    (broken / "last.safetensors").write_bytes(data[:100])
    code, _, err = run(["run", "--resume", str(broken)], capsys)
    assert code == 2 and "corrupted or truncated" in err
    assert (broken / "last.safetensors").read_bytes() == data[:100]


@pytest.mark.parametrize("args,needle", [
    (["run", "mnist-mpl"], "Did you mean 'mnist-mlp'"),
    (["run", "digits-mlp", "--set", "epoch=3"], "'epochs'"),
    (["run", "digits-mlp", "--set", "epochs=many"], "train.epochs"),
    (["run", "digits-mlp", "--set", "epochs"], "key=value"),
    (["run", "digits-mlp", "--set", "model.hiden=[3]"], "hidden"),
    (["run", "digits-mlp", "--set", "device=tpu"], "tpu"),
    (["report", "/nonexistent/run"], "/nonexistent/run"),
])
def test_bad_input_gets_one_paragraph(args, needle, capsys, tmp_path):
    code, _, err = run(args + (["--set", f"output_dir={tmp_path}"] if args[0] == "run" else []), capsys)
    assert code == 2 and needle in err and "Traceback" not in err and err.count("\n") <= 2


def test_missing_data_names_the_places_searched(capsys, tmp_path, offline):
    code, _, err = run(["run", "mnist-mlp", "--set", f"output_dir={tmp_path}"], capsys)
    assert code == 2 and "TUJIE_DATA" in err and "nowhere" in err


def test_a_failed_start_leaves_no_empty_run_directory(tmp_path, offline, capsys):
    assert main(["run", "mnist-mlp", "--set", f"output_dir={tmp_path / 'runs'}"]) == 2
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_interrupted_run_keeps_its_files_and_resumes(tmp_path, monkeypatch, capsys):
    from tujie.train.loop import Learner

    original = Learner.train_step

    def interrupt_in_epoch_2(self, batch):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return original(self, batch)

    monkeypatch.setattr(Learner, "train_step", interrupt_in_epoch_2)
    code, out, _ = run(["run", "digits-mlp", "--set", "epochs=3", "--set", f"output_dir={tmp_path}", "--set", "run_name=i"], capsys)
    run_dir = tmp_path / "i"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert code == 130 and summary["status"] == "interrupted" and "--resume" in summary["message"]
    assert (run_dir / "report.html").exists() and summary["epochs_done"] == 1

    monkeypatch.setattr(Learner, "train_step", original)
    code, out, _ = run(["run", "--resume", str(run_dir)], capsys)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert code == 0 and "Resuming after epoch 1 of 3" in out
    assert summary["status"] == "finished" and summary["epochs_done"] == 3 and "accuracy" in summary["test"]


def test_models_lists_every_registered_model_with_a_description(capsys):
    import tujie as tj

    code, out, _ = run(["models"], capsys)
    lines = out.strip().splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == tj.models.list()
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)
    code, out, _ = run(["models", "*cnn*"], capsys)
    assert "small_cnn" in out and "mlp " not in out


def test_lr_find_suggests_a_rate_and_writes_the_plot(tmp_path, capsys):
    plot = tmp_path / "lr.png"
    code, out, _ = run(["lr-find", "digits-mlp", "--steps", "30", "--output", str(plot)], capsys)
    assert code == 0 and "Suggested learning rate for adam:" in out
    rate = float(out.split("adam:")[1].split()[0])
    assert 1e-7 <= rate <= 10.0 and plot.read_bytes().startswith(b"\x89PNG")


def test_malformed_yaml_in_an_override_is_a_config_error(capsys):
    code, _, err = run(["run", "digits-mlp", "--set", "train.early_stopping={patience: 3"], capsys)
    assert code == 2 and "is not valid YAML" in err and "train.early_stopping" in err
