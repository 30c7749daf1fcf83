"""Every docstring example of tujie.evaluate runs and prints what it says; the package imports cheaply."""

import doctest
import importlib
import subprocess
import sys

import pytest

MODULES = ["tujie.evaluate", "tujie.evaluate._common", "tujie.evaluate.classification",
           "tujie.evaluate.regression", "tujie.evaluate.threshold"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    import torch

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": torch.nn})
    assert result.failed == 0


def test_import_is_lazy():
    code = "import sys, tujie.evaluate; print(any(m.split('.')[0] in ('torchmetrics', 'matplotlib') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
