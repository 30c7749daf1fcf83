"""`tujie compare` and `tj.compare_runs`: one page for several real (tiny) digits runs."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import tujie as tj
from tujie.cli import app, main
from tujie.errors import TujieError
from tujie.report.compare import config_differences


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two one-epoch digits runs (a couple of seconds each) that differ only in their seed."""
    out = tmp_path_factory.mktemp("runs")
    for name, seed in (("a", 1), ("b", 2)):
        tj.run("digits-mlp", overrides=["epochs=1", f"output_dir={out}", f"run_name={name}", f"seed={seed}"], verbose=0)
    return out


def _cells(page: str, css_class: str) -> list[str]:
    return re.findall(rf'<td class="{css_class}"><span>([^<]*)</span>', page)


def test_the_api_writes_one_page_with_curves_best_metrics_and_only_the_seed(runs, tmp_path):
    path = tj.compare_runs([runs / "a", runs / "b"], output=tmp_path / "page.html", lang="en")
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "page.html"
    assert page.count("data:image/png;base64,") == 1 and "Learning curves" in page
    assert 'class="compare-metrics"' in page and len(_cells(page, "best")) >= 3  # loss, accuracy, f1 ... each marked once
    config = page.split('id="config"')[1].split("</section>")[0]
    assert re.findall(r"<code>([^<]*)</code>", config) == ["seed"]
    assert 'id="timings"' in page and "<script" not in page


def test_the_best_is_the_lowest_loss_and_the_highest_accuracy(runs, tmp_path):
    import json

    tests = [json.loads((runs / n / "summary.json").read_text())["test"] for n in "ab"]
    page = tj.compare_runs([runs / "a", runs / "b"], output=tmp_path / "p.html").read_text(encoding="utf-8")
    rows = page.split("compare-metrics")[1].split("</table>")[0].split("<tr>")[2:]
    best_loss = min(range(2), key=lambda i: tests[i]["loss"])
    best_accuracy = max(range(2), key=lambda i: tests[i]["accuracy"])
    columns = list(tests[0])
    cells = [re.findall(r"<td[^>]*>", row)[1:] for row in rows]  # the run's name first
    assert cells[best_loss][columns.index("loss")] == '<td class="best">'
    if tests[0]["accuracy"] != tests[1]["accuracy"]:
        assert cells[best_accuracy][columns.index("accuracy")] == '<td class="best">'


def test_config_differences_keep_only_differing_keys():
    assert config_differences([{"seed": 1, "lr": 0.1, "run_name": "a"}, {"seed": 2, "lr": 0.1, "run_name": "b"}]) == {
        "seed": [1, 2]}
    assert config_differences([{"a": 1}, {}]) == {"a": [1, None]}


def test_the_cli_with_a_quoted_glob_and_in_chinese(runs, tmp_path, untranslated_english):
    output = tmp_path / "zh.html"
    result = CliRunner().invoke(app, ["compare", str(runs / "*"), "--output", str(output), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert str(output) in result.output
    page = output.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "学习曲线" in page and "配置差异" in page
    left = untranslated_english(page)
    assert not left, f"untranslated English in the Chinese comparison: {left}"


def test_default_output_is_compare_html_in_the_current_folder(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(runs / "a"), str(runs / "b")]) == 0
    assert (tmp_path / "compare.html").is_file()


@pytest.mark.parametrize("case", ["not-a-run", "one-run", "output-is-folder", "output-unwritable"])
def test_bad_input_is_a_clear_error_with_exit_code_2(case, runs, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    runs_and_output = {"not-a-run": ([runs / "a", empty], None), "one-run": ([runs / "a"], None),
                       "output-is-folder": ([runs / "a", runs / "b"], tmp_path),
                       "output-unwritable": ([runs / "a", runs / "b"], blocker / "x.html")}[case]
    args = {"not-a-run": [str(runs / "a"), str(empty)], "one-run": [str(runs / "a")],
            "output-is-folder": [str(runs / "a"), str(runs / "b"), "--output", str(tmp_path)],
            "output-unwritable": [str(runs / "a"), str(runs / "b"), "--output", str(blocker / "x.html")]}[case]
    assert main(["compare", *args]) == 2
    err = capsys.readouterr().err
    assert "Error" in err and "fix" in err.lower() and "Traceback" not in err
    with pytest.raises(TujieError):
        tj.compare_runs(runs_and_output[0], output=runs_and_output[1])
