"""Tests for tujie.plots: each drawing returns a PNG of a sensible size."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tujie import plots as figures


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_curve_panels_put_loss_first_and_skip_bookkeeping():
    history = [{"epoch": 1, "accuracy": 0.9, "val_accuracy": 0.8, "lr": 0.1, "epoch_time_s": 2.0,
                "samples_per_s": 100, "loss": 0.5, "val_loss": 0.6, "val_top5_accuracy": 0.99,
                "note": "text", "flag": True}]
    assert figures.curve_panels(history) == ["loss", "accuracy", "top5_accuracy"]


def test_training_curves_draw_one_panel_per_metric():
    history = [{"epoch": e, "loss": 1 / e, "val_loss": 1.1 / e, "accuracy": 1 - 1 / (e + 1),
                "val_accuracy": float("nan") if e == 2 else 0.5} for e in range(1, 6)]
    width, height = _size(figures.training_curves(history, best_epoch=4))
    assert width > height  # two panels side by side
    assert figures.training_curves([{"epoch": 1, "lr": 0.1}]) is None


def test_confusion_matrix_scales_to_many_classes():
    small = _size(figures.confusion_matrix([[3, 1], [0, 5]], ["cat", "dog"]))
    many = np.random.default_rng(0).integers(0, 5, size=(100, 100))
    big = _size(figures.confusion_matrix(many, [f"class {i}" for i in range(100)]))
    assert big[0] > small[0] and big[0] < 1400  # grows, but stays a page-width figure


def test_confusion_matrix_tolerates_an_empty_row():
    assert _size(figures.confusion_matrix([[0, 0], [2, 3]], ["a", "b"]))[0] > 0


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (28, 28)])
def test_prediction_grid_accepts_gray_and_colour_images(shape):
    rng = np.random.default_rng(0)
    images = rng.random((7, *shape), dtype=np.float32)
    probs = rng.dirichlet(np.ones(10), size=7)
    width, height = _size(figures.prediction_grid(images, probs, rng.integers(0, 10, 7)))
    assert width > height  # 3 rows of 3 pairs


def test_prediction_grid_draws_at_most_five_rows():
    rng = np.random.default_rng(0)
    images, probs = rng.random((40, 1, 8, 8)), rng.dirichlet(np.ones(3), size=40)
    fifteen = _size(figures.prediction_grid(images[:15], probs[:15], np.zeros(15)))
    forty = _size(figures.prediction_grid(images, probs, np.zeros(40)))
    assert fifteen == forty


def test_prediction_grid_rejects_an_empty_set():
    with pytest.raises(ValueError):
        figures.prediction_grid(np.zeros((0, 1, 8, 8)), np.zeros((0, 10)), np.zeros(0))


def test_images_given_in_0_to_255_are_rescaled_for_display():
    pixels, gray = figures._display_image(np.full((1, 2, 2), 127.5, dtype=np.float32))
    assert gray and pixels.shape == (2, 2) and np.allclose(pixels, 0.5)
    pixels, gray = figures._display_image(np.ones((3, 2, 2)))
    assert not gray and pixels.shape == (2, 2, 3) and np.allclose(pixels, 1.0)


# --- the optional sections' figures --------------------------------------------------------


def test_training_curves_leave_the_learning_rate_to_its_own_section():
    history = [{"epoch": e, "loss": 1 / e, "lr": 0.1 / e} for e in range(1, 4)]
    with_lr = _size(figures.training_curves(history))
    without = _size(figures.training_curves(history, show_lr=False))
    assert with_lr[0] > without[0]  # two panels vs one


def test_grad_norms_are_bookkeeping_for_the_curve_panels():
    history = [{"epoch": 1, "loss": 0.5, "grad_norm": 2.0, "grad_norm_max": 5.0}]
    assert figures.curve_panels(history) == ["loss"]


def test_spans_decades_decides_the_log_axis():
    assert figures.spans_decades([1e-3, 1e-1]) and not figures.spans_decades([0.01, 0.05])
    assert not figures.spans_decades([0.0, 1.0])  # zero has no place on a log axis
    assert not figures.spans_decades([float("nan")])


def test_learning_rate_curve_needs_a_finite_value():
    assert _size(figures.learning_rate_curve(range(100), [0.1 * 0.97 ** i for i in range(100)]))[0] > 300
    with pytest.raises(ValueError):
        figures.learning_rate_curve([0, 1], [None, float("nan")])


def test_labelled_layers_spread_from_first_to_last():
    names = [f"{i}.weight" for i in range(30)]
    picked = figures.labelled_layers(names)
    assert len(picked) == 12 and picked[0] == "0.weight" and picked[-1] == "29.weight"
    assert picked == sorted(picked, key=names.index)
    assert figures.labelled_layers(names[:5]) == names[:5]


def test_gradient_norms_draw_what_exists():
    history = [{"epoch": e, "grad_norm": 1.0 / e, "grad_norm_max": 4.0 / e} for e in range(1, 4)]
    layers = [{"step": s, "layers": {f"{i}.weight": {"grad_norm": 10.0 ** -i, "weight_norm": 1.0}
                                     for i in range(20)}} for s in range(0, 50, 10)]
    assert figures.gradient_norms([{"epoch": 1, "loss": 0.3}]) is None
    assert figures.gradient_norms([], [{"step": 1, "layers": {"a": {"weight_norm": 1.0}}}]) is None
    global_only = _size(figures.gradient_norms(history, clip=2.0))
    both = _size(figures.gradient_norms(history, layers, clip=2.0))
    layers_only = _size(figures.gradient_norms([], layers))
    assert both[0] > global_only[0] and both[0] > layers_only[0]


def test_roc_pr_curves_binary_multiclass_and_one_panel():
    binary = _size(figures.roc_pr_curves({"fpr": [0, 0.2, 1], "tpr": [0, 0.9, 1]},
                                         {"precision": [0.4, 0.9, 1], "recall": [1, 0.9, 0]}, auc=0.9,
                                         average_precision=0.85,
                                         operating_point={"threshold": 0.4, "fpr": 0.2, "tpr": 0.9,
                                                          "precision": 0.9, "recall": 0.9}, prevalence=0.4))
    rng = np.random.default_rng(0)
    curves = np.sort(rng.random((20, 50)), axis=1).tolist()  # 20 classes: no legend, colour ramp
    many = _size(figures.roc_pr_curves({"fpr": curves, "tpr": curves},
                                       {"precision": curves, "recall": curves}, [str(i) for i in range(20)]))
    roc_only = _size(figures.roc_pr_curves({"fpr": [0, 1], "tpr": [0, 1]}, None))
    assert binary[0] > roc_only[0] and many[0] > roc_only[0]
    with pytest.raises(ValueError):
        figures.roc_pr_curves({"fpr": [], "tpr": []}, None)


def test_reliability_diagram_skips_empty_bins_and_checks_edges():
    nan = float("nan")
    png = figures.reliability_diagram([0, 10, 30], [nan, 0.5, 0.9], [None, 0.4, 0.95],
                                      bin_edges=[0, 1 / 3, 2 / 3, 1], ece=0.05)
    width, height = _size(png)
    assert width > 400 and height > 400  # the diagram above, the counts underneath
    with pytest.raises(ValueError, match="bin edges"):
        figures.reliability_diagram([1, 2], [0.2, 0.7], [0.1, 0.8], bin_edges=[0, 1])
    with pytest.raises(ValueError):
        figures.reliability_diagram([], [], [])


def test_threshold_tradeoff_from_plain_lists():
    t = np.linspace(0, 1, 101).tolist()
    png = figures.threshold_tradeoff(t, [min(1, 0.3 + x) for x in t], [1 - x * x for x in t],
                                     [0.5] * 101, 0.4, criterion="recall", target=0.8)
    assert _size(png)[0] > 400
    with pytest.raises(ValueError):
        figures.threshold_tradeoff([], [], [], [], 0.5)


def test_predicted_vs_true_checks_its_pairs():
    rng = np.random.default_rng(0)
    true = rng.normal(size=20_000)
    pairs = np.stack([true, true + rng.normal(0, 0.1, size=20_000)], axis=1)
    width, height = _size(figures.predicted_vs_true(pairs.tolist(), r2=0.99, rmse=0.1, mae=0.08))
    assert width > height  # scatter and histogram side by side
    with pytest.raises(ValueError, match="true, predicted"):
        figures.predicted_vs_true([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError):
        figures.predicted_vs_true([[float("nan"), 1.0]])


def test_scalar_metrics_skip_text_and_flags():
    assert figures.scalar_metrics([{"name": "a", "acc": 0.9, "ok": True}, {"loss": 1, "acc": 0.8}]) == ["acc", "loss"]


def test_cross_validation_boxes_one_panel_per_metric():
    folds = [{"accuracy": 0.9 + 0.01 * i, "loss": 0.3 - 0.01 * i, "note": "x"} for i in range(5)]
    two = _size(figures.cross_validation_boxes(folds))
    one = _size(figures.cross_validation_boxes(folds, ["accuracy"]))
    assert two[0] > one[0]
    with pytest.raises(ValueError):
        figures.cross_validation_boxes([{"note": "no numbers"}])


def test_ensemble_bars_survive_identical_scores():
    assert _size(figures.ensemble_bars(["a", "b"], [0.9, 0.9], 0.9))[0] > 300
    with pytest.raises(ValueError):
        figures.ensemble_bars(["a"], [None], float("nan"))


def test_overfitting_lab_curves_wrap_after_four_variants():
    history = [{"epoch": e, "accuracy": 1 - 0.5 / e, "val_accuracy": 0.8 - 0.4 / e} for e in range(1, 5)]
    variants = [{"name": f"v{i}", "history": history, "stopped_epoch": 3 if i == 1 else None} for i in range(5)]
    four = _size(figures.overfitting_lab_curves(variants[:4]))
    five = _size(figures.overfitting_lab_curves(variants))
    assert five[1] > four[1]  # a second row
    loss_only = [{"name": "a", "history": [{"epoch": 1, "loss": 1.0, "val_loss": 1.2}]}]
    assert _size(figures.overfitting_lab_curves(loss_only))[0] > 0
    with pytest.raises(ValueError):
        figures.overfitting_lab_curves([])


def test_gap_bars_one_bar_per_variant():
    few = _size(figures.gap_bars(["baseline", "dropout"], [12.0, 4.0]))
    many = _size(figures.gap_bars([f"variant {i}" for i in range(8)], [10.0 - i for i in range(8)]))
    assert many[0] > few[0]
