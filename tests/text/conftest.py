"""Unit tests of tujie.text run in isolation: no TUJIE_DATA, a private cache, and no network."""

import urllib.error
import urllib.request

import pytest


def _no_network(url, *args, **kwargs):
    raise urllib.error.URLError("network disabled in unit tests")


@pytest.fixture(autouse=True)
def isolated(request, monkeypatch, tmp_path):
    if request.node.get_closest_marker("data"):
        return
    monkeypatch.delenv("TUJIE_DATA", raising=False)
    monkeypatch.setenv("TUJIE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
