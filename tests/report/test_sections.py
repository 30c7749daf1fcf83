"""Tests for the report's optional sections: learning rate, gradient norms, ROC / precision-recall,
calibration, decision threshold, regression, cross-validation, ensemble and overfitting lab.

Each one must appear when its data exist, be absent (also from the table of contents) when
they do not, and turn malformed data into a note instead of a crash.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import CLIP_CONFIG
from test_report import SECTION_IDS, _Page, _section_text

from tujie.kinds import build_report

NEW_SECTION_IDS = ("learning-rate", "gradients", "predicted", "cross-validation", "ensemble",
                   "overfitting-lab", "roc-pr", "calibration", "threshold")
# The page order of every section id (regression's "predicted" never shares a page with the
# classification sections, so it is checked on its own).
PAGE_ORDER = ("curves", "learning-rate", "gradients", "test", "cross-validation", "ensemble",
              "overfitting-lab", "confusion", "per-class", "roc-pr", "calibration", "threshold",
              "predictions", "wrong", "model", "config", "run")


def _nav(page: str) -> list[str]:
    nav = re.search(r'<nav class="toc">(.*?)</nav>', page, flags=re.DOTALL).group(1)
    return re.findall(r'<a href="#([^"]+)">', nav)


def _header(page: str) -> str:
    return page[page.index("<header"):page.index("</header>")]


def _rewrite_json(path, change):
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _rewrite_metrics(run_dir, change):
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:
        change(record)
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


# ---------------------------------------------------------------------------------------
# The whole page.


def test_a_run_with_every_piece_shows_every_section_in_order(all_sections_report):
    _, page = all_sections_report
    ids = _Page(page).ids
    assert set(PAGE_ORDER) <= ids and "predicted" not in ids
    positions = [page.index(f'<section class="card" id="{anchor}">') for anchor in PAGE_ORDER]
    assert positions == sorted(positions), "sections are out of the documented order"
    assert _nav(page) == list(PAGE_ORDER)  # the table of contents lists exactly what is there
    for anchor in NEW_SECTION_IDS:
        if anchor != "predicted":
            text = _section_text(page, anchor)
            assert '<p class="how">' in text and "<img " in text, anchor
            assert "could not be drawn" not in text, anchor
    assert "could not be read" not in page


def test_a_plain_run_has_none_of_the_new_sections_but_the_learning_rate(make_run):
    # The default fake run logs a decaying per-epoch lr: the only new piece it has.
    page = build_report(make_run(n_images=3, n_wrong=1)).read_text(encoding="utf-8")
    ids = _Page(page).ids
    assert "learning-rate" in ids
    assert not ids & (set(NEW_SECTION_IDS) - {"learning-rate"})
    assert _nav(page) == [a for a in PAGE_ORDER if a in ids]


def test_every_image_of_the_full_page_is_a_decodable_png(all_sections_report):
    import base64

    from test_report import _png_size

    _, page = all_sections_report
    images = _Page(page).images
    # curves, learning rate, gradients, cv, ensemble, lab (2), confusion, ROC, calibration,
    # threshold, predictions, mistakes
    assert len(images) == 13
    for attrs in images:
        width, height = _png_size(base64.b64decode(attrs["src"].split(",", 1)[1], validate=True))
        assert width > 200 and height > 150 and attrs.get("alt")


def test_full_page_stays_light(all_sections_report):
    run_dir, _ = all_sections_report
    size = (run_dir / "report.html").stat().st_size
    assert size < 2_500_000, f"report is {size / 1e6:.2f} MB"


# ---------------------------------------------------------------------------------------
# Learning rate.


def test_learning_rate_comes_from_schedule_json(make_run):
    run_dir = make_run(schedule=True, skip=("samples.safetensors",))
    schedule = json.loads((run_dir / "schedule.json").read_text())
    section = _section_text(build_report(run_dir).read_text(encoding="utf-8"), "learning-rate")
    assert "Drawn from <code>schedule.json</code>" in section
    assert f"{len(schedule['step']):,} points" in section
    assert "rises to 0.1 at epoch 0.98" in section  # the warm-up's peak, in epochs (step / 50)


def test_learning_rate_falls_back_to_the_metrics_of_each_epoch(make_run):
    section = _section_text(build_report(make_run(skip=("samples.safetensors",))).read_text(encoding="utf-8"),
                            "learning-rate")
    assert "per-epoch <code>lr</code> of <code>metrics.jsonl</code>" in section
    assert "starts at 0.001" in section and "ends at 0.00025 (epoch 3)" in section


def test_a_constant_learning_rate_is_one_fact_not_a_section(make_run):
    run_dir = make_run(skip=("samples.safetensors",))
    _rewrite_metrics(run_dir, lambda r: r.update(lr=0.001))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "learning-rate" not in _Page(page).ids and "learning-rate" not in _nav(page)
    assert "learning rate 0.001 throughout" in _header(page)


def test_a_constant_schedule_wins_over_the_per_epoch_lr(make_run):
    run_dir = make_run(schedule=True, skip=("samples.safetensors",))
    _rewrite_json(run_dir / "schedule.json", lambda s: s.update(lr=[0.01] * len(s["lr"])))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "learning-rate" not in _Page(page).ids
    assert "learning rate 0.01 throughout" in _header(page)


def test_no_learning_rate_anywhere_means_no_section_and_no_fact(make_run):
    run_dir = make_run(skip=("samples.safetensors",))
    _rewrite_metrics(run_dir, lambda r: r.pop("lr"))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "learning-rate" not in _Page(page).ids and "throughout" not in page


# ---------------------------------------------------------------------------------------
# Gradient norms.


@pytest.mark.parametrize("pieces", [{"grad_norms": True}, {"grad_layers": 3}])
def test_gradient_section_appears_with_either_source(make_run, pieces):
    page = build_report(make_run(skip=("samples.safetensors",), **pieces)).read_text(encoding="utf-8")
    assert "gradients" in _Page(page).ids and "gradients" in _nav(page)


def test_gradient_section_is_absent_without_gradient_norms(make_run):
    page = build_report(make_run(skip=("samples.safetensors",))).read_text(encoding="utf-8")
    assert "gradients" not in _Page(page).ids and "gradients" not in _nav(page)


def test_gradient_norms_are_not_drawn_as_training_curves(all_sections_report):
    from tujie.plots import curve_panels

    run_dir, page = all_sections_report
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert "grad_norm" in history[0] and "grad_norm_max" in history[0]
    assert curve_panels(history) == ["loss", "accuracy"]


def test_gradient_section_reads_clipping_and_vanishing_layers(all_sections_report):
    _, page = all_sections_report
    section = _section_text(page, "gradients")
    # grad_norm_max is 12 / epoch: above the clip of 5 in epochs 1 and 2, not in epoch 3
    assert "<code>train.clip_grad_norm</code>" in section and "clipped in 2 of 3 epochs" in section
    assert "went from 3 in epoch 1 to 1 in epoch 3" in section
    # the fake norms halve at every layer towards the input: 0.weight hardly learns
    assert "the gradient hardly reaches 0.weight" in section
    assert "Per-layer norms at step 140" in section and section.count("<tr>") == 16 + 1


def test_gradient_section_without_clipping_says_nothing_about_it(make_run):
    section = _section_text(build_report(make_run(grad_norms=True, skip=("samples.safetensors",)))
                            .read_text(encoding="utf-8"), "gradients")
    assert "clip_grad_norm" not in section


def test_a_nan_gradient_norm_is_flagged(make_run):
    run_dir = make_run(grad_norms=True, skip=("samples.safetensors",))
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    lines[-1] = lines[-1].replace('"grad_norm": 1.0', '"grad_norm": NaN')  # json.dumps(nan) writes NaN
    (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    section = _section_text(build_report(run_dir).read_text(encoding="utf-8"), "gradients")
    assert "NaN or infinite in epoch 3" in section


# ---------------------------------------------------------------------------------------
# ROC / precision-recall, calibration, decision threshold.


def test_binary_curves_calibration_and_threshold(all_sections_report):
    run_dir, page = all_sections_report
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    roc = _section_text(page, "roc-pr")
    assert f"AUC {evaluation['auc']:.3f}: a random positive example" in roc
    assert "The red dot is the tuned decision threshold" in roc
    calibration = _section_text(page, "calibration")
    assert f"Expected calibration error (ECE) {evaluation['ece']:.3f}" in calibration
    assert "how often the example was positive" in calibration  # binary wording

    chosen = evaluation["threshold"]
    threshold = _section_text(page, "threshold")
    words = (f"recall ≥ 0.95 → threshold {chosen['threshold']:.2f}: recall {chosen['recall']:.3f}, "
             f"precision {chosen['precision']:.3f}, F1 {chosen['f1']:.3f}")
    assert words in threshold
    (tn, fp), (fn, tp) = chosen["confusion_matrix"]
    for count, meaning in ((tn, "correctly left"), (fp, "false alarms"), (fn, "missed"), (tp, "found")):
        assert f'<span class="num">{count:,}</span> <span class="sub">{meaning}</span>' in threshold
    assert "At the default threshold 0.50" in threshold  # next to the 2 x 2 matrix at 0.5


def test_a_threshold_chosen_on_validation_that_misses_its_target_on_test_is_flagged(make_run):
    run_dir = make_run(num_classes=2, threshold=True, skip=("samples.safetensors",))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "below the target" not in _section_text(page, "threshold")  # the fake meets recall >= 0.95
    _rewrite_json(run_dir / "evaluation.json",
                  lambda e: e["threshold"].update(recall=0.9, chosen_on="validation"))
    section = _section_text(build_report(run_dir).read_text(encoding="utf-8"), "threshold")
    assert "chosen on the validation split" in section
    assert "On the test set recall is 0.900, below the target 0.95" in section


def test_multiclass_curves_and_calibration_without_threshold(make_run):
    run_dir = make_run(curves=True, n_images=3, n_wrong=1)
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert evaluation["task"] == "multiclass" and len(evaluation["roc"]["fpr"]) == 10
    reliability = evaluation["reliability"]  # top-class confidence is >= 1/10: the first bin is empty
    assert reliability["count"][0] == 0 and reliability["accuracy"][0] is None
    page = build_report(run_dir).read_text(encoding="utf-8")
    ids = _Page(page).ids
    assert {"roc-pr", "calibration"} <= ids and "threshold" not in ids
    assert f"Macro AUC {evaluation['auc']:.3f}" in _section_text(page, "roc-pr")
    assert "red dot" not in _section_text(page, "roc-pr")
    assert "confident by" in _section_text(page, "calibration")


def test_plain_evaluation_json_has_no_curve_sections(full_report):
    _, page = full_report
    assert not _Page(page).ids & {"roc-pr", "calibration", "threshold"}


# ---------------------------------------------------------------------------------------
# Regression.


def test_regression_evaluation_draws_predicted_versus_true(regression_report):
    run_dir, page = regression_report
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    ids = _Page(page).ids
    assert {"curves", "learning-rate", "gradients", "test", "predicted", "model"} <= ids
    assert not ids & {"confusion", "per-class", "predictions", "wrong", "roc-pr", "calibration"}
    assert page.index('id="test"') < page.index('id="predicted"') < page.index('id="model"')
    section = _section_text(page, "predicted")
    assert "<img " in section and "300 test examples." in section
    assert f"{evaluation['r2']:.4g}" in section and "Share of the target" in section
    assert "evaluation.json" not in _header(page)


def test_a_regression_run_without_evaluation_json_has_no_scatter(make_run):
    page = build_report(make_run(task="regression")).read_text(encoding="utf-8")
    assert "predicted" not in _Page(page).ids


def test_regression_evaluation_is_not_mistaken_for_classification(make_run):
    # No summary.json, so no "task" there: evaluation.json's own task decides.
    run_dir = make_run(task="regression", regression_evaluation=True, skip=("summary.json",))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "predicted" in _Page(page).ids and "confusion" not in _Page(page).ids
    assert "samples.safetensors" not in _header(page)


# ---------------------------------------------------------------------------------------
# Cross-validation, ensemble, overfitting lab.

_SEVERAL = {"cross_validation": ("cv", "cross-validation", "cv.json"),
            "ensemble": ("ensemble", "ensemble", "ensemble.json"),
            "overfitting_lab": ("lab", "overfitting-lab", "lab.json")}


@pytest.mark.parametrize("kind", list(_SEVERAL))
def test_a_run_of_several_models_shows_its_section_and_does_not_miss_single_model_files(make_run, kind):
    option, anchor, name = _SEVERAL[kind]
    run_dir = make_run(**{option: True}, summary_overrides={"kind": kind, "test": None, "model": None},
                       skip=("metrics.jsonl", "evaluation.json", "samples.safetensors"))
    page = build_report(run_dir).read_text(encoding="utf-8")
    ids = _Page(page).ids
    assert anchor in ids and anchor in _nav(page)
    # no history, test set, evaluation or samples: those sections are left out, not complained about
    assert not ids & {"curves", "test", "confusion", "per-class", "predictions", "wrong", "model"}
    assert "is missing" not in _header(page) and "No test or validation results" not in page
    assert {"config", "run"} <= ids

    (run_dir / name).unlink()
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert anchor not in _Page(page).ids
    assert f"<code>{name}</code> is missing" in _header(page)


def test_a_folder_with_only_a_lab_file_is_a_run(make_run):
    run_dir = make_run(lab=True, skip=("config.yaml", "metrics.jsonl", "summary.json", "evaluation.json",
                                       "samples.safetensors"))
    assert "overfitting-lab" in _Page(build_report(run_dir).read_text(encoding="utf-8")).ids


def test_cross_validation_headline_table_and_box_plot(make_run):
    run_dir = make_run(cv=True, summary_overrides={"kind": "cross_validation", "test": None},
                       skip=("metrics.jsonl", "evaluation.json", "samples.safetensors"))
    cv = json.loads((run_dir / "cv.json").read_text())
    page = build_report(run_dir).read_text(encoding="utf-8")
    accuracy = f"{100 * cv['mean']['accuracy']:.2f} ± {100 * cv['std']['accuracy']:.2f}%"
    header = _header(page)
    assert accuracy in header and "accuracy, mean ± std over 5 folds" in header
    assert "5-fold cross-validation, stratified" in header
    section = _section_text(page, "cross-validation")
    assert section.count("<tr>") == 1 + 5 + 1  # header, 5 folds, mean ± std
    assert f"<td>mean ± std</td><td></td><td></td><td>{accuracy}</td>" in section
    assert f"{100 * cv['folds'][2]['accuracy']:.2f}%" in section and "<td>800</td><td>200</td>" in section


def test_cross_validation_headline_follows_the_test_results(make_run):
    page = build_report(make_run(cv=True, summary_overrides={"kind": "cross_validation"},
                                 skip=("samples.safetensors",))).read_text(encoding="utf-8")
    labels = re.findall(r'<div class="label">(.*?)</div>', _header(page))
    assert labels[0] == "test accuracy" and "mean ± std over 5 folds" in labels[-1]


def test_ensemble_sentence_headline_and_table(make_run):
    run_dir = make_run(ensemble=True, summary_overrides={"kind": "ensemble", "test": None},
                       skip=("metrics.jsonl", "evaluation.json", "samples.safetensors"))
    data = json.loads((run_dir / "ensemble.json").read_text())
    scores = [m["accuracy"] for m in data["members"]]
    mean, best = sum(scores) / len(scores), max(scores)
    best_name = data["members"][scores.index(best)]["name"]
    page = build_report(run_dir).read_text(encoding="utf-8")
    section = _section_text(page, "ensemble")
    sentence = (f"The ensemble scores 97.20%, {100 * (0.972 - mean):.2f} points above its average member "
                f"and {100 * (0.972 - best):.2f} points above its best ({best_name}). It averages the "
                f"members&#x27; predicted probabilities.")
    assert sentence in section
    assert section.count('<tr class="highlight">') == 1 and "<b>ensemble</b>" in section
    header = _header(page)
    assert "ensemble accuracy (average)" in header and f"best member accuracy ({best_name})" in header


def test_an_ensemble_with_test_results_does_not_repeat_its_score(make_run):
    # The experiment runner tests the ensemble like a model: summary.json's test is the ensemble's.
    run_dir = make_run(ensemble=True, summary_overrides={"kind": "ensemble", "test": {"accuracy": 0.972, "loss": 0.11}})
    labels = re.findall(r'<div class="label">(.*?)</div>', _header(build_report(run_dir).read_text(encoding="utf-8")))
    assert labels[0] == "ensemble accuracy (average)" and labels[1].startswith("best member accuracy")
    assert labels[2:] == ["test loss"]


def test_an_ensemble_below_its_best_member_says_so(make_run):
    run_dir = make_run(ensemble=True, skip=("samples.safetensors",))
    _rewrite_json(run_dir / "ensemble.json", lambda d: d["ensemble"].update(accuracy=0.9))
    section = _section_text(build_report(run_dir).read_text(encoding="utf-8"), "ensemble")
    assert re.search(r"The ensemble scores 90\.00%, [\d.]+ points below its average member and "
                     r"[\d.]+ points below its best", section)


def test_an_ensemble_judged_by_a_loss_prefers_lower_values(make_run):
    run_dir = make_run(ensemble=True, skip=("samples.safetensors",))
    _rewrite_json(run_dir / "ensemble.json", lambda d: d.update(metric="loss"))
    data = json.loads((run_dir / "ensemble.json").read_text())
    best = min(m["loss"] for m in data["members"])
    section = _section_text(build_report(run_dir).read_text(encoding="utf-8"), "ensemble")
    # 0.11 is lower than every member's loss: better, which for a loss is "below"
    assert f"{best - 0.11:.3g} below its best" in section


def test_overfitting_lab_table_sentence_and_headline(make_run):
    run_dir = make_run(lab=True, summary_overrides={"kind": "overfitting_lab", "test": None},
                       skip=("metrics.jsonl", "evaluation.json", "samples.safetensors"))
    page = build_report(run_dir).read_text(encoding="utf-8")
    section = _section_text(page, "overfitting-lab")
    assert section.count("<img ") == 2  # small multiples and the gap bars
    rows = re.findall(r'<tr><td><b><span class="data">(.*?)</span></b></td>.*?</tr>', section)
    assert rows == ["baseline", "dropout", "weight decay", "early stopping"]  # in the order given
    assert '<span class="narrower">−12.0</span>' in section  # dropout: gap 7 vs 19 points
    assert '<span class="narrower">−8.0</span>' in section
    assert ("dropout has both the smallest gap (7.0 points, baseline 19.0) and the best test "
            "accuracy (86.00%).") in section
    assert "1,000 training examples, 10,000 test examples, 4 epochs at most" in section
    header = _header(page)
    assert "19.0 pts" in header and "7.0 pts" in header and "smallest gap (dropout)" in header


def test_overfitting_lab_marks_a_wider_gap_red(make_run):
    run_dir = make_run(lab=True, skip=("samples.safetensors",))

    def widen(lab):
        lab["variants"][2].update(train_accuracy=1.0, test_accuracy=0.7, gap=0.3)

    _rewrite_json(run_dir / "lab.json", widen)
    section = _section_text(build_report(run_dir).read_text(encoding="utf-8"), "overfitting-lab")
    assert '<span class="wider">+11.0</span>' in section
    assert section.count('class="narrower"') == 2 and section.count('class="wider"') == 1


# ---------------------------------------------------------------------------------------
# Malformed files: a note, never a crash.

_BROKEN_CONTENT = {
    "schedule.json": ({"step": [0, 1, 2], "lr": [0.1, 0.2]}, "learning-rate"),
    "cv.json": ({"k": 5, "folds": 3}, "cross-validation"),
    "ensemble.json": ({"method": "average", "members": []}, "ensemble"),
    "lab.json": ({"variants": "baseline"}, "overfitting-lab"),
}


@pytest.mark.parametrize("name", list(_BROKEN_CONTENT))
def test_a_file_with_the_wrong_shape_costs_only_its_section(make_run, name):
    content, anchor = _BROKEN_CONTENT[name]
    run_dir = make_run(skip=("samples.safetensors",), summary_overrides={
        "kind": {"cv.json": "cross_validation", "ensemble.json": "ensemble",
                 "lab.json": "overfitting_lab"}.get(name, "train")})
    (run_dir / name).write_text(json.dumps(content), encoding="utf-8")
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "This section could not be drawn" in _section_text(page, anchor)
    assert anchor in _nav(page)
    assert "<h1>mnist-mlp " in page  # the header survived the malformed headline data
    assert {"config", "run"} <= _Page(page).ids


@pytest.mark.parametrize("name", ["schedule.json", "cv.json", "ensemble.json", "lab.json"])
def test_a_file_that_is_not_json_is_named_in_the_header(make_run, name):
    run_dir = make_run(skip=("samples.safetensors",))
    (run_dir / name).write_text("{not json", encoding="utf-8")
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert f"{name} could not be read" in _header(page)
    assert set(SECTION_IDS) - {"predictions", "wrong"} <= _Page(page).ids
    if name == "schedule.json":  # the per-epoch lr is still there to draw
        assert "per-epoch <code>lr</code>" in _section_text(page, "learning-rate")


def test_grad_stats_lines_that_are_broken_or_empty(make_run):
    run_dir = make_run(skip=("samples.safetensors",))
    (run_dir / "grad_stats.jsonl").write_text('{"step": 1, "layers": "none"}\n{"step": 2,\n', encoding="utf-8")
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "grad_stats.jsonl line 2 is not valid JSON" in _header(page)
    assert "This section could not be drawn" in _section_text(page, "gradients")


@pytest.mark.parametrize("key, value, anchor", [
    ("roc", "not a curve", "roc-pr"),
    ("reliability", {"count": [1, 2]}, "calibration"),
    ("threshold", {"criterion": "recall", "threshold": "high"}, "threshold"),
])
def test_malformed_classifier_keys_give_a_note(make_run, key, value, anchor):
    run_dir = make_run(num_classes=2, curves=True, threshold=True, skip=("samples.safetensors",))
    _rewrite_json(run_dir / "evaluation.json", lambda e: e.update({key: value}))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "This section could not be drawn" in _section_text(page, anchor)
    others = {"roc-pr", "calibration", "threshold"} - {anchor}
    for other in others:
        assert "could not be drawn" not in _section_text(page, other)


def test_malformed_regression_pairs_give_a_note(make_run):
    run_dir = make_run(task="regression", regression_evaluation=True)
    _rewrite_json(run_dir / "evaluation.json", lambda e: e.update(pairs=[[1.0, 2.0, 3.0]]))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "This section could not be drawn" in _section_text(page, "predicted")


def test_new_sections_escape_text_from_the_run(make_run):
    run_dir = make_run(lab=True, ensemble=True, skip=("samples.safetensors",))
    _rewrite_json(run_dir / "lab.json", lambda d: d["variants"][1].update(
        name="<script>x</script>", description="a <b>bold</b> move"))
    _rewrite_json(run_dir / "ensemble.json", lambda d: d["members"][0].update(name="<i>m1</i>"))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<b>bold</b>" not in page and "<i>m1</i>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in _section_text(page, "overfitting-lab")
    assert "&lt;i&gt;m1&lt;/i&gt;" in _section_text(page, "ensemble")


def test_clip_line_is_read_from_the_train_block_only(make_run):
    from tujie.report.run_files import _load_run
    from tujie.report.sections.training import _clip_grad_norm

    assert _clip_grad_norm(_load_run(make_run("a", config_extra=CLIP_CONFIG))) == 5.0
    assert _clip_grad_norm(_load_run(make_run("b"))) is None
    assert _clip_grad_norm(_load_run(make_run("c", config_extra="train:\n  clip_grad_norm: null\n"))) is None
