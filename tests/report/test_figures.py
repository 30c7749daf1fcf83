"""Tests for tujie.report.figures: each drawing returns a PNG of a sensible size."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tujie.report import figures


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
