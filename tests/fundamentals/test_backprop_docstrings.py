"""The examples in the docstrings of the scratch engine, the gradient check, the backprop module and their plots run."""

import doctest

import pytest
import torch

from tujie.fundamentals import autodiff, backprop, gradcheck, random_graphs
from tujie.plots import boundary, graph


@pytest.mark.parametrize("module", [autodiff, gradcheck, backprop, random_graphs, graph, boundary], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": torch.nn})
    assert result.attempted > 0 and result.failed == 0
