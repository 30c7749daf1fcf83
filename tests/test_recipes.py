"""Every shipped recipe is a valid config naming a registered model and dataset, and states its expected result."""

import pytest

import tujie as tj
from tujie.recipes import list_recipes
from tujie.runner import resolve_config


@pytest.mark.parametrize("name", list(list_recipes()))
def test_recipe_is_valid_and_states_its_source(name):
    config = resolve_config(name)
    assert config.recipe == name and config.description
    assert config.expected is not None and config.expected.source and config.expected.metric.startswith("test_")
    tj.models.spec(config.model.name)  # raises for an unknown model
    assert config.data.name.replace("_", "-") in [d.replace("_", "-") for d in tj.datasets.list()]
    if config.data.augment:
        from tujie.data.augment import build_augmentation

        assert build_augmentation(config.data.augment) is not None
