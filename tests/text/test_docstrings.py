"""The examples in the docstrings of tujie.text run and print what they say."""

import doctest

import pytest
import torch

import tujie.text
from tujie.text import corpus, data, tokenizers


@pytest.mark.parametrize("module", [tujie.text, tokenizers, data, corpus], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": torch.nn})
    assert result.attempted > 0 and result.failed == 0
