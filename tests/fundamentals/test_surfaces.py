"""Optimizers on a loss surface: torch's optimizers, built by tujie's names, reach what they should."""

import math

import pytest

from tujie.errors import ConfigError
from tujie.fundamentals.surfaces import OPTIMIZERS, contour_grid, optimizer_path, rosenbrock, saddle


def test_surfaces_have_their_minima():
    assert rosenbrock(1.0, 1.0) == 0.0 and rosenbrock(0.0, 0.0) == 1.0
    assert saddle(0.0, math.sqrt(2)) == pytest.approx(-1.0) and saddle(0.0, 0.0) == 0.0
    _xs, _ys, z = contour_grid("rosenbrock", points=9)
    assert z.shape == (9, 9) and z.min() >= 0


def test_adam_reaches_rosenbrocks_minimum_where_sgd_does_not():
    adam = optimizer_path("rosenbrock", "adam", lr=0.05, steps=1000)
    sgd = optimizer_path("rosenbrock", "sgd", lr=0.001, steps=1000)
    assert adam["steps_to_reach"] is not None and adam["distance"] < 0.1
    assert sgd["steps_to_reach"] is None and sgd["distance"] > 0.5 and not sgd["diverged"]
    # plain SGD at Adam's learning rate is thrown off the valley's steep walls
    assert optimizer_path("rosenbrock", "sgd", lr=0.05, steps=50)["diverged"]


def test_momentum_and_nesterov_beat_plain_sgd_at_the_same_rate():
    plain = optimizer_path("rosenbrock", "sgd", lr=0.001, steps=800)["distance"]
    for name in ("momentum", "nesterov"):
        assert optimizer_path("rosenbrock", name, lr=0.001, steps=800)["distance"] < plain / 10


def test_adaptive_methods_leave_the_saddle_sooner():
    steps = {name: optimizer_path("saddle", name, lr=lr, steps=600, start=(1.5, 1e-3))["steps_to_reach"]
             for name, lr in (("sgd", 0.01), ("adam", 0.05), ("adagrad", 0.5))}
    assert steps["adam"] < steps["sgd"] / 3 and steps["adagrad"] < steps["sgd"] / 3


def test_every_listed_optimizer_runs_and_a_path_is_kept_short():
    for name in OPTIMIZERS:
        path = optimizer_path("saddle", name, lr=0.01, steps=900, keep=30)
        assert len(path["x"]) <= 32 and math.isfinite(path["loss"])


def test_unknown_names_are_refused():
    with pytest.raises(ConfigError, match="rosenbrock"):
        optimizer_path("himmelblau", "adam", lr=0.1)
    with pytest.raises(ConfigError, match="nesterov"):
        optimizer_path("saddle", "lbfgs", lr=0.1)


def test_a_recipe_naming_an_unknown_surface_or_optimizer_is_refused():
    from tujie import kinds

    for surface, match in (({"name": "himmelblau", "learning_rates": {"adam": 0.1}}, "rosenbrock, saddle"),
                           ({"name": "saddle", "learning_rates": {"lbfgs": 0.1}}, "lbfgs"),
                           ({"name": "saddle", "learning_rates": {"adam": -1.0}}, "positive")):
        with pytest.raises(ConfigError, match=match):
            kinds.validate({"recipe": "x", "kind": "optimizer_paths", "optimizer_paths": {"surfaces": [surface]}})
