"""The docstring examples of the activations/losses, deep-gradients and optimizer-paths modules run as written
(tests/test_docstrings.py keeps a fixed list of core modules; these are checked here)."""

import doctest
import importlib

import pytest

MODULES = ["tujie.fundamentals.gallery", "tujie.fundamentals.deep_gradients", "tujie.fundamentals.surfaces",
           "tujie.plots.fundamentals_gallery"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    import torch

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch})
    assert result.attempted > 0 and result.failed == 0
