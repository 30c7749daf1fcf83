"""Every docstring example in every module of tujie runs and prints what it says (modules are found, not listed)."""

import doctest
import importlib
import pkgutil

import pytest

import tujie

MODULES = ["tujie", *sorted(m.name for m in pkgutil.walk_packages(tujie.__path__, "tujie."))]  # every module, found


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    import torch

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": torch.nn})
    assert result.failed == 0
