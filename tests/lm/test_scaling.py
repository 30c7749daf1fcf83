"""The power-law fit of the scaling kind: a known exponent comes back, inside its interval."""

import math

import numpy as np
import pytest

from tujie.errors import ConfigError
from tujie.lm.scaling import KAPLAN_ALPHA_N, SIZES, fit_power_law, kaplan_loss, non_embedding_parameters, training_flops


def test_a_known_exponent_is_recovered_within_its_interval():
    rng = np.random.default_rng(0)
    sizes = np.logspace(4.7, 7, 6)  # 0.05M to 10M, the kind's range
    loss = (2e9 / sizes) ** 0.12 * np.exp(rng.normal(0, 0.01, len(sizes)))  # 1% multiplicative noise
    fit = fit_power_law(sizes, loss)
    assert fit.alpha_low < 0.12 < fit.alpha_high
    assert abs(fit.alpha - 0.12) < 0.02 and fit.alpha_high - fit.alpha_low < 0.05
    assert fit.x_c == pytest.approx(2e9, rel=0.5) and fit.r2 > 0.98 and fit.points == 6


def test_the_interval_covers_the_true_exponent_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    sizes = np.logspace(5, 7, 5)
    hits = sum(fit.alpha_low < 0.076 < fit.alpha_high
               for fit in (fit_power_law(sizes, (8.8e13 / sizes) ** 0.076 * np.exp(rng.normal(0, 0.02, 5)))
                           for _ in range(400)))
    assert 0.91 < hits / 400 < 0.99  # a t-interval with 3 degrees of freedom: wide, but right


def test_noise_free_points_give_the_exponent_exactly_and_a_zero_width_interval():
    fit = fit_power_law([1e5, 1e6], kaplan_loss([1e5, 1e6]))
    assert fit.alpha == pytest.approx(KAPLAN_ALPHA_N) and math.isnan(fit.alpha_low)  # two points: no interval
    fit = fit_power_law([1e5, 1e6, 1e7], kaplan_loss([1e5, 1e6, 1e7]))
    assert fit.alpha_high - fit.alpha_low == pytest.approx(0, abs=1e-9)
    assert fit.predict(175e9) == pytest.approx(float(kaplan_loss(175e9)), rel=1e-6)


@pytest.mark.parametrize("sizes, losses", [([1e5], [3.0]), ([1e5, 1e6], [3.0, 0.0]), ([1e5, 1e5], [3.0, 2.9]),
                                           ([1e5, 1e6], [3.0])])
def test_too_few_or_degenerate_points_are_refused(sizes, losses):
    with pytest.raises(ConfigError):
        fit_power_law(sizes, losses)


def test_compute_and_the_size_grid():
    assert training_flops(1e6, 2e5) == 1.2e12
    counts = [non_embedding_parameters(n_layer, n_embd) for n_layer, _, n_embd in SIZES.values()]
    assert counts == sorted(counts) and 4e4 < counts[0] < 7e4 and 8e6 < counts[-1] < 1.1e7  # ≈ 0.05M to 10M
    assert all(n_embd % n_head == 0 for _, n_head, n_embd in SIZES.values())
