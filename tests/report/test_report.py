"""Tests for tujie.report.build_report on synthetic run directories (no training, no browser)."""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from _fake_run import CLASSIFICATION_FILES

from tujie.errors import TujieError
from tujie.kinds import build_report
from tujie.report import RunDirectoryError

SECTION_IDS = ("curves", "test", "confusion", "per-class", "predictions", "wrong", "model",
               "config", "run")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """Collects the tags, attributes, ids and text of an HTML page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False if tag == "style" else self._in_style

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)

    @property
    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.tags if "id" in attrs}

    @property
    def images(self) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == "img"]

    @property
    def plain_text(self) -> str:
        return " ".join(self.text)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC, "not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # IHDR comes first in every PNG
    return width, height


def _section_text(page: str, anchor: str) -> str:
    match = re.search(rf'<section class="card" id="{anchor}">(.*?)</section>', page, flags=re.DOTALL)
    assert match, f"no section {anchor!r}"
    return match.group(1)


# ---------------------------------------------------------------------------------------


def test_report_is_written_into_the_run_directory(make_run):
    run_dir = make_run(skip=("samples.safetensors",))
    path = build_report(run_dir)
    assert path == run_dir / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    leftovers = [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [], "the atomic write left a temporary file behind"


def test_report_has_every_section_in_reading_order(full_report):
    _, page = full_report
    assert set(SECTION_IDS) <= _Page(page).ids
    positions = [page.index(f'id="{anchor}"') for anchor in SECTION_IDS]
    assert positions == sorted(positions), "sections are out of the documented order"
    for anchor in SECTION_IDS:  # every section tells a learner how to read it
        assert '<p class="how">' in _section_text(page, anchor)


def test_header_shows_recipe_status_and_headline_numbers(full_report):
    _, page = full_report
    header = page[page.index("<header"):page.index("</header>")]
    assert "mnist-mlp" in header and "2024-05-01_1403" in header
    assert "badge-ok" in header and "finished" in header
    assert "97.50%" in header and "test accuracy" in header  # accuracy is the first big number
    assert "2024-05-01 14:03" in header


def test_report_loads_nothing_from_outside(full_report):
    _, page = full_report
    parsed = _Page(page)
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            value = (value or "").strip().lower()
            if name in ("src", "href", "srcset", "action", "data", "poster", "background"):
                assert value.startswith(("data:image/png;base64,", "#")), (tag, name, value[:60])
    assert not re.search(r"url\(\s*['\"]?(?!data:)", page), "CSS loads an external url()"
    assert 'src="/' not in page and "@import" not in page
    assert "<script" not in page.lower(), "the report needs no JavaScript"
    assert "default-src 'none'" in page  # the browser is told to refuse any other load
    # The only URL on the page is the one in the config, shown as plain text.
    outside_text = page.replace("https://example.com/mnist.npz", "")
    assert "http://" not in outside_text and "https://" not in outside_text
    assert "https://example.com/mnist.npz" in parsed.plain_text


def test_every_image_is_an_embedded_png_that_decodes(full_report):
    _, page = full_report
    images = _Page(page).images
    assert len(images) == 5  # curves, learning rate, confusion matrix, predictions, mistakes
    for attrs in images:
        prefix = "data:image/png;base64,"
        assert attrs["src"].startswith(prefix)
        data = base64.b64decode(attrs["src"][len(prefix):], validate=True)
        width, height = _png_size(data)
        assert width > 100 and height > 100
        assert attrs.get("alt"), "every figure needs alt text"


def test_text_from_the_run_is_escaped(make_run):
    run_dir = make_run(skip=("samples.safetensors",),
                       summary_overrides={"recipe": "<script>alert('x')</script>",
                                          "message": 'a "quoted" <b>bold</b> & more'})
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt; &amp; more" in page


def test_size_of_a_realistic_report_is_under_two_megabytes(make_run):
    # Random pixels compress worse than real digits: this is a pessimistic MNIST report.
    run_dir = make_run(epochs=20, num_classes=10, n_images=15, n_wrong=10)
    size = build_report(run_dir).stat().st_size
    assert size < 2_000_000, f"report is {size / 1e6:.2f} MB"


def test_recipe_name_comes_from_the_config_before_the_summary_exists(make_run):
    run_dir = make_run(recipe="fashion-mlp", skip=("summary.json", "evaluation.json",
                                                   "samples.safetensors"))
    assert "<h1>fashion-mlp " in build_report(run_dir).read_text(encoding="utf-8")


@pytest.mark.parametrize("missing", CLASSIFICATION_FILES)
def test_each_missing_file_still_gives_a_report_that_says_so(make_run, missing):
    run_dir = make_run(skip=(missing,))
    page = build_report(run_dir).read_text(encoding="utf-8")
    header = page[page.index("<header"):page.index("</header>")]
    assert f"<code>{missing}</code> is missing" in header
    assert set(SECTION_IDS) - {"confusion", "per-class", "predictions", "wrong"} <= _Page(page).ids


def test_run_interrupted_before_testing(make_run):
    run_dir = make_run(skip=("evaluation.json", "samples.safetensors"),
                       summary_overrides={"status": "interrupted", "test": None,
                                          "message": "Stopped by Ctrl-C at epoch 3."})
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "badge-warn" in page and "interrupted" in page
    assert "Stopped by Ctrl-C at epoch 3." in page
    assert "the run stopped before the test set was evaluated" in _section_text(page, "test")
    assert "validation accuracy (epoch 3)" in page  # headline falls back to the last epoch
    assert "No confusion matrix" in _section_text(page, "confusion")
    assert len(_Page(page).images) == 2  # only the curves and the learning rate exist


def test_run_with_only_metrics_so_far(make_run):
    run_dir = make_run(skip=("summary.json", "evaluation.json", "samples.safetensors", "config.yaml"),
                       task="regression")
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "no summary" in page and "badge-muted" in page
    assert "date unknown" in page
    assert "<h1>Training run " in page  # no summary.json and no config.yaml: no recipe name
    assert len(_Page(page).images) == 2  # curves and learning rate


def test_regression_run_has_no_classification_sections(make_run):
    run_dir = make_run(task="regression", recipe="california-housing")
    page = build_report(run_dir).read_text(encoding="utf-8")
    ids = _Page(page).ids
    assert {"curves", "test", "model", "config", "run"} <= ids
    assert not ids & {"confusion", "per-class", "predictions", "wrong"}
    assert "evaluation.json" not in page[page.index("<header"):page.index("</header>")]
    assert "Mean absolute error" in _section_text(page, "test")


def test_damaged_files_are_reported_not_fatal(make_run):
    run_dir = make_run()
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"epoch": 4, "loss": 0.1')  # a line cut short
    (run_dir / "evaluation.json").write_text("{not json", encoding="utf-8")
    (run_dir / "samples.safetensors").write_bytes(b"\x00" * 40)
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "metrics.jsonl line 4 is not valid JSON" in page
    assert "evaluation.json could not be read" in page
    assert "samples.safetensors could not be read" in page
    assert len(_Page(page).images) == 2  # curves and learning rate


def test_malformed_section_data_costs_only_that_section(make_run):
    run_dir = make_run(skip=("samples.safetensors",),
                       summary_overrides={"model": {"name": "Net", "layers": "not a list",
                                                    "total_params": "many"}})
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["model"]["layers"] = [{"name": "x", "params": {"odd": 1}}]
    (run_dir / "summary.json").write_text(json.dumps(summary))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert set(SECTION_IDS) <= _Page(page).ids


def test_best_epoch_and_early_stopping_are_explained(make_run):
    run_dir = make_run(epochs=5, skip=("samples.safetensors", "evaluation.json"), summary_overrides={
        "best_epoch": 3, "stopped_early": True,
        "stop_reason": "val_loss did not improve for 2 epochs"})
    curves = _section_text(build_report(run_dir).read_text(encoding="utf-8"), "curves")
    assert "best epoch (3)" in curves
    assert "stopped early after epoch 5" in curves
    assert "val_loss did not improve for 2 epochs" in curves


def test_weakest_class_is_highlighted(make_run):
    run_dir = make_run(skip=("samples.safetensors",))
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    evaluation["per_class"][7].update({"precision": 0.5, "recall": 0.4, "f1": 0.44})
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation))
    table = _section_text(build_report(run_dir).read_text(encoding="utf-8"), "per-class")
    weak_rows = re.findall(r'<tr class="weak"><td>(.*?)</td>', table)
    assert len(weak_rows) == 1 and weak_rows[0].startswith("7 ")


def test_model_table_lists_layers_and_totals(full_report):
    _, page = full_report
    model = _section_text(page, "model")
    for text in ("dense_1", "Dense", "(32, 128)", "100,480", "109,386", "frozen 8,256"):
        assert text in model
    assert model.count('<tr class="frozen">') == 1


def test_config_is_shown_verbatim(full_report):
    run_dir, page = full_report
    config = _section_text(page, "config")
    assert "batch_size: 32" in config and "hidden: [128, 64]" in config


def test_missing_run_directory_raises_a_tujie_error(tmp_path):
    missing = tmp_path / "runs" / "nope"
    with pytest.raises(RunDirectoryError) as caught:
        build_report(missing)
    assert isinstance(caught.value, TujieError) and isinstance(caught.value, FileNotFoundError)
    message = str(caught.value)
    assert str(missing) in message and "config.yaml" in message and "metrics.jsonl" in message
    assert "Fix:" in message


def test_folder_without_config_or_metrics_is_not_a_run(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(TujieError, match="is not a run directory.*notes.txt"):
        build_report(tmp_path)
    with pytest.raises(TujieError, match="is a file"):
        build_report(tmp_path / "notes.txt")
    assert not (tmp_path / "report.html").exists()


def test_rebuilding_replaces_the_report(make_run):
    run_dir = make_run(skip=("samples.safetensors",))
    first = build_report(run_dir).read_text(encoding="utf-8")
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["recipe"] = "renamed-recipe"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    second = build_report(run_dir).read_text(encoding="utf-8")
    assert "renamed-recipe" in second and "renamed-recipe" not in first


def test_building_leaves_pyplot_alone(make_run):
    import matplotlib
    import matplotlib.pyplot as plt

    backend, figures_before = matplotlib.get_backend(), plt.get_fignums()
    build_report(make_run())
    assert plt.get_fignums() == figures_before, "a figure leaked into pyplot"
    assert matplotlib.get_backend() == backend, "the user's backend was switched"


def test_importing_the_package_stays_light():
    code = ("import sys, tujie, tujie.report; "
            "print(sorted(m for m in ('matplotlib', 'numpy', 'torch', 'yaml', 'safetensors') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_output_is_reproducible(make_run):
    run_dir = make_run(n_images=3, n_wrong=1)
    assert build_report(run_dir).read_bytes() == build_report(run_dir).read_bytes()


def test_a_section_that_cannot_be_drawn_says_why(make_run):
    run_dir = make_run()
    save_file({"images": np.zeros((3, 1, 8, 8), np.float32), "probs": np.zeros(3, np.float32),
               "labels": np.zeros(3, np.int64)}, str(run_dir / "samples.safetensors"))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "This section could not be drawn" in _section_text(page, "predictions")
    assert set(SECTION_IDS) <= _Page(page).ids



def test_a_run_with_no_wrong_examples_says_so(make_run):
    run_dir = make_run()
    tensors = load_file(str(run_dir / "samples.safetensors"))
    for key in ("wrong_images", "wrong_probs", "wrong_labels"):  # empty, as the runner writes them
        tensors[key] = tensors[key][:0]
    save_file(tensors, str(run_dir / "samples.safetensors"))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "made no mistakes on the sampled test examples" in _section_text(page, "wrong")
    assert len(_Page(page).images) == 4  # curves, learning rate, confusion matrix, predictions


def test_recipe_promise_description_and_restored_weights_are_shown(make_run):
    run_dir = make_run(skip=("samples.safetensors",), summary_overrides={
        "description": "A small MLP on MNIST.", "restored_epoch": 2,
        "expected": {"metric": "test_accuracy", "value": 0.98, "source": "Keras example", "reached": 0.975}})
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "A small MLP on MNIST." in page
    assert "The recipe expects test accuracy 98.00% (source: Keras example); this run reached 97.50%." in page
    assert "weights saved at epoch 2" in _section_text(page, "curves")


def test_layers_without_weights_are_not_shown_as_frozen(make_run):
    run_dir = make_run(skip=("samples.safetensors",))
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["model"]["layers"][0]["trainable"] = False  # Flatten: 0 parameters
    (run_dir / "summary.json").write_text(json.dumps(summary))
    model = _section_text(build_report(run_dir).read_text(encoding="utf-8"), "model")
    assert model.count('<tr class="frozen">') == 1  # still only dense_1
