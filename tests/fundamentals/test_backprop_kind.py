"""The backprop_scratch kind refuses what it cannot run before it makes a run directory."""

from __future__ import annotations

import pytest

import tujie as tj


@pytest.mark.parametrize("override,named", [("backprop.datasets=[moons, spirals]", "spirals"),
                                            ("backprop.gradcheck=[resnet]", "resnet")])
def test_unknown_point_sets_and_models_are_refused_by_the_config(override, named, tmp_path):
    with pytest.raises(tj.errors.ConfigError, match=named):
        tj.run("backprop-scratch", overrides=[override, f"output_dir={tmp_path}"], verbose=0)
    assert not any(tmp_path.iterdir())  # no run directory left behind
