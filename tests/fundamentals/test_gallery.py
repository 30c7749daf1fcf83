"""The activations-and-losses gallery: curves are tujie's own functions, derivatives agree with finite differences,
saturation lands where the algebra says, and the pairing table tells sigmoid+MSE from sigmoid+cross-entropy."""

import math

import pytest
import torch

from tujie.fundamentals import gallery
from tujie.layers.activations import ACTIVATIONS


@pytest.mark.parametrize("name", [n for n, _ in gallery.ACTIVATIONS])
def test_activation_derivative_matches_finite_differences(name):
    curve = gallery.activation_curves([name], lo=-5.0, hi=5.0, points=201)[0]
    x, f, d = curve["x"], curve["value"], curve["derivative"]
    h = x[1] - x[0]
    for i in range(1, len(x) - 1):
        if name in ("relu", "leaky_relu", "elu") and abs(x[i]) < 2 * h:  # pieces meet at 0: no (or no smooth) derivative there
            continue
        central = (f[i + 1] - f[i - 1]) / (2 * h)
        assert d[i] == pytest.approx(central, abs=2e-3), (name, x[i])


def test_every_drawn_activation_is_tujies_own():
    assert {n for n, _ in gallery.ACTIVATIONS} <= set(ACTIVATIONS)
    relu = gallery.activation_curves(["relu"], points=5, lo=-2, hi=2)[0]
    assert relu["value"] == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_saturation_where_the_algebra_says():
    curves = {c["name"]: c for c in gallery.activation_curves(threshold=0.01, points=801)}
    # σ'(x) = σ(1−σ) < 0.01 beyond |x| ≈ 4.59; tanh' = 1 − tanh² < 0.01 beyond |x| ≈ 2.99
    (left, right) = curves["sigmoid"]["saturated"]
    assert left[1] == pytest.approx(-4.59, abs=0.03) and right[0] == pytest.approx(4.59, abs=0.03)
    assert curves["tanh"]["saturated"][1][0] == pytest.approx(2.99, abs=0.03)
    assert curves["relu"]["saturated"] == [[-8.0, pytest.approx(0.0, abs=0.03)]]  # dead for every negative input
    assert curves["leaky_relu"]["saturated"] == []  # slope 0.01 is not below the threshold
    assert curves["gelu"]["saturated"][0][0] == -8.0 and len(curves["gelu"]["saturated"]) == 1  # its minimum is no plateau
    assert curves["sigmoid"]["max_derivative"] == pytest.approx(0.25)
    # softmax over (x, 0) is the sigmoid
    assert curves["softmax"]["value"] == pytest.approx(curves["sigmoid"]["value"])


def test_loss_curves_are_the_formulas():
    losses = {c["name"]: c for c in gallery.loss_curves(points=13)}
    x = losses["mse"]["x"]
    assert losses["mse"]["value"] == pytest.approx([v * v for v in x])
    assert losses["mae"]["derivative"][0] == -1.0
    p = losses["bce"]["x"]
    assert losses["bce"]["value"] == pytest.approx([-math.log(v) for v in p], rel=1e-6)
    z = losses["bce_with_logits"]["x"]
    assert losses["bce_with_logits"]["derivative"] == pytest.approx([1 / (1 + math.exp(-v)) - 1 for v in z])
    assert losses["hinge"]["value"] == pytest.approx([max(0.0, 1 - v) for v in losses["hinge"]["x"]])
    ce = losses["cross_entropy"]
    assert ce["value"][0] == pytest.approx(-math.log(math.exp(-6) / (math.exp(-6) + 2)))


def test_sigmoid_with_mse_hardly_learns_when_confidently_wrong():
    rows = {(r["output"], r["loss"]): r for r in gallery.pairing_table()}
    bce, mse = rows[("sigmoid", "bce")], rows[("sigmoid", "mse")]
    assert bce["learns_when_wrong"] and not mse["learns_when_wrong"]
    assert abs(bce["gradient_when_wrong"]) > 100 * abs(mse["gradient_when_wrong"])
    # BCE on a sigmoid and BCE-with-logits send back the same σ(z) − y
    assert bce["gradient_when_wrong"] == pytest.approx(rows[("linear", "bce_with_logits")]["gradient_when_wrong"])
    z = torch.tensor(-6.0, dtype=torch.float64)
    assert bce["gradient_when_wrong"] == pytest.approx(float(torch.sigmoid(z) - 1))
