"""Issue 4's recipes end to end on tiny settings: binary with a tuned threshold, regression, CV, ensemble, the lab."""

import json

import pytest

import tujie as tj
from tujie.errors import ConfigError


def run(recipe, tmp_path, *overrides):
    return tj.run(recipe, overrides=[f"output_dir={tmp_path}", "run_name=r", *overrides], verbose=0)


def read(result, name):
    return json.loads((result.run_dir / name).read_text())


def test_breast_cancer_tunes_the_threshold_on_validation_and_reports_it_on_test(tmp_path):
    result = run("breast-cancer-mlp", tmp_path, "epochs=15")
    evaluation = read(result, "evaluation.json")
    assert evaluation["task"] == "binary" and evaluation["classes"] == ["benign", "malignant"]
    assert result.summary["test"]["auc"] > 0.95 and 0 < result.summary["test"]["ece"] < 0.5
    threshold = evaluation["threshold"]
    assert threshold["chosen_on"] == "validation" and threshold["criterion"] == "recall" and threshold["target"] == 0.98
    assert threshold["validation"]["recall"] >= 0.98  # the rule holds where it was tuned
    (tn, fp), (fn, tp) = threshold["confusion_matrix"]
    assert tn + fp + fn + tp == evaluation["num_samples"] and threshold["recall"] == pytest.approx(tp / (tp + fn))
    assert len(evaluation["roc"]["fpr"]) == len(evaluation["roc"]["tpr"]) > 100
    html = result.report.read_text()
    assert "ROC and precision" in html and "Decision threshold" in html and "Calibration" in html


def test_threshold_tuning_on_a_multiclass_recipe_is_refused_before_training(tmp_path):
    with pytest.raises(ConfigError, match="Threshold tuning needs a binary classifier"):
        run("digits-mlp", tmp_path, "evaluate.threshold={criterion: recall, target: 0.9}")
    assert not (tmp_path / "r" / "metrics.jsonl").exists()


def test_diabetes_regression_writes_the_scatter_pairs(tmp_path):
    result = run("diabetes-regression", tmp_path, "epochs=30")
    evaluation = read(result, "evaluation.json")
    assert evaluation["task"] == "regression" and evaluation["rmse"] == pytest.approx(evaluation["mse"] ** 0.5)
    assert len(evaluation["pairs"]) == evaluation["num_samples"] and "r2" in result.summary["test"]
    assert "Predicted versus true" in result.report.read_text()


def test_digits_cross_validation_reports_mean_and_std_per_fold(tmp_path):
    result = run("digits-cv", tmp_path, "epochs=3", "k=3")
    cv = read(result, "cv.json")
    assert cv["k"] == 3 and len(cv["folds"]) == 3 and sum(te for _, te in cv["fold_sizes"]) == 1437
    accuracies = [fold["accuracy"] for fold in cv["folds"]]
    assert cv["mean"]["accuracy"] == pytest.approx(sum(accuracies) / 3)
    assert result.summary["kind"] == "cross_validation" and result.summary["results"]["cv_accuracy"] > 0.7
    assert result.summary["expected"]["reached"] == result.summary["results"]["cv_accuracy"]
    assert "Cross-validation" in result.report.read_text()


def test_stratified_cv_with_more_folds_than_the_smallest_class_is_refused(tmp_path):
    with pytest.raises(tj.errors.DataError, match="fewer than the 50 folds"):
        run("digits-cv", tmp_path, "epochs=1", "k=50", "limit=300")


def test_ensemble_trains_members_and_scores_their_average(tmp_path):
    result = run("digits-mlp", tmp_path, "kind=ensemble", "ensemble.members=3", "epochs=4")
    ensemble = read(result, "ensemble.json")
    assert [m["name"] for m in ensemble["members"]] == ["member 1", "member 2", "member 3"]
    assert len({m["seed"] for m in ensemble["members"]}) == 3  # different starts
    members = [m["accuracy"] for m in ensemble["members"]]
    # averaging probabilities is never far below the mean member, and usually above it
    assert ensemble["ensemble"]["accuracy"] >= sum(members) / 3 - 0.01
    assert (result.run_dir / "ensemble.safetensors").is_file() and (result.run_dir / "member-3.safetensors").is_file()
    assert "Ensemble" in result.report.read_text()


def test_overfitting_lab_runs_every_variant_on_the_same_subset(tmp_path):
    variants = ("lab.variants=[{name: baseline}, {name: dropout, set: ['model.dropout=0.5']},"
                " {name: stopping, set: ['train.early_stopping={patience: 1}']}]")
    result = run("digits-mlp", tmp_path, "kind=overfitting_lab", "lab.train_size=200", variants, "epochs=6")
    lab = read(result, "lab.json")
    assert [v["name"] for v in lab["variants"]] == ["baseline", "dropout", "stopping"] and lab["train_size"] == 200
    for v in lab["variants"]:
        assert v["gap"] == pytest.approx(v["train_accuracy"] - v["test_accuracy"])
        assert v["loss_gap"] == pytest.approx(v["test_loss"] - v["train_loss"])
    assert len(lab["variants"][0]["history"]) == 6
    assert result.summary["results"]["lab_baseline_gap"] == lab["variants"][0]["gap"]
    assert "Overfitting lab" in result.report.read_text()


def test_a_lab_variant_with_a_bad_override_names_it(tmp_path):
    with pytest.raises(ConfigError, match="Unknown config key 'train.l3'"):
        run("digits-mlp", tmp_path, "kind=overfitting_lab", "lab.variants=[{name: bad, set: ['train.l3=1']}]")


def test_experiment_runs_cannot_be_resumed(tmp_path):
    result = run("digits-cv", tmp_path, "epochs=1", "k=2")
    with pytest.raises(ConfigError, match="cannot be resumed"):
        tj.run(resume=result.run_dir, verbose=0)
