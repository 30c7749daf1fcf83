"""The examples in the docstrings run (those that need the real data files are marked +SKIP)."""

import doctest

import pytest

import tujie.data
from tujie.data import _files, _registry, arrays, tabular, vision


@pytest.mark.parametrize("module", [tujie.data, _files, _registry, arrays, tabular, vision], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
