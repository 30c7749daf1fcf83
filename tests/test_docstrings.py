"""Every docstring example in the core modules runs and prints what it says."""

import doctest
import importlib

import pytest

MODULES = ["tujie", "tujie.models._common", "tujie.errors", "tujie._io", "tujie.utils", "tujie.config", "tujie.recipes", "tujie.runner",
           "tujie.layers.activations", "tujie.layers.core", "tujie.layers.conv", "tujie.models._registry",
           "tujie.models.sequential", "tujie.models.mlp", "tujie.models.cnn", "tujie.train.loop",
           "tujie.train.callbacks", "tujie.train.losses", "tujie.train.optimizers", "tujie.train.metrics",
           "tujie.train.checkpoint", "tujie.train.summary", "tujie.train.builders", "tujie.kinds", "tujie.i18n",
           "tujie.plots", "tujie.report.page", "tujie.models.saving", "tujie.layers._base", "tujie.callbacks",
           "tujie.optimizers", "tujie.losses"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    import torch

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": torch.nn})
    assert result.failed == 0
