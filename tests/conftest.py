"""Shared test setup: tests marked `data` need the real datasets and skip without TUJIE_DATA."""

import os

import pytest


@pytest.fixture(autouse=True)
def _skip_data_tests_without_data(request):
    if request.node.get_closest_marker("data") and not os.environ.get("TUJIE_DATA"):
        pytest.skip("needs the real datasets: run with TUJIE_DATA=/path/to/data")
