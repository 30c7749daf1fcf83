"""Fixtures for the report tests: synthetic run directories and a headless Chromium."""

from __future__ import annotations

import pytest

from _browser import require_chromium
from _fake_run import write_fake_run

from tujie.kinds import build_report

# A URL in plain text (a config value) is fine; the report must not *load* it.
CONFIG_WITH_URL = "data:\n  source: https://example.com/mnist.npz\n"


@pytest.fixture
def make_run(tmp_path):
    """Factory: make_run(name="run", **write_fake_run kwargs) -> a fresh run directory.

    Fewer sample images than a real run (6 + 3) by default: drawing the prediction grids is
    most of a report's build time, and most tests are about something else.
    """

    def make(name: str = "run", **kwargs):
        kwargs = {"n_images": 6, "n_wrong": 3, **kwargs}
        return write_fake_run(tmp_path / name, **kwargs)

    return make


@pytest.fixture(scope="session")
def full_report(tmp_path_factory):
    """(run_dir, html text) of a complete MNIST-like run: 3 epochs, 10 classes, 15 + 10 images."""
    run_dir = write_fake_run(tmp_path_factory.mktemp("full") / "run", config_extra=CONFIG_WITH_URL)
    path = build_report(run_dir)
    return run_dir, path.read_text(encoding="utf-8")


CLIP_CONFIG = "train:\n  clip_grad_norm: 5.0\n"
# Every optional piece of a binary classifier's run: one page holding every section but the
# regression one.
ALL_PIECES = {"num_classes": 2, "schedule": True, "grad_norms": True, "grad_layers": 16,
              "curves": True, "threshold": True, "cv": True, "ensemble": True, "lab": True,
              "config_extra": CLIP_CONFIG}


@pytest.fixture(scope="session")
def all_sections_report(tmp_path_factory):
    """(run_dir, html text) of a binary classifier's run with every optional file and key."""
    run_dir = write_fake_run(tmp_path_factory.mktemp("all") / "run", n_images=6, n_wrong=3, **ALL_PIECES)
    return run_dir, build_report(run_dir).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def regression_report(tmp_path_factory):
    """(run_dir, html text) of a regression run with its evaluation.json and schedule.json."""
    run_dir = write_fake_run(tmp_path_factory.mktemp("regression") / "run", task="regression",
                             recipe="california-housing", regression_evaluation=True, schedule=True,
                             grad_norms=True)
    return run_dir, build_report(run_dir).read_text(encoding="utf-8")


@pytest.fixture
def chromium():
    """Path of headless Chromium; skips without it, fails without it when $CI is set."""
    return require_chromium()
