"""The `search_compare` kind: samplers compared at one budget; curves that only improve; bad settings refused."""

from __future__ import annotations

import json

import pytest

import tujie as tj
from tujie.errors import ConfigError

TINY = ["search_compare.trials=4", "search_compare.seeds=2", "epochs=2", "limit=300"]


def test_each_sampler_gets_the_same_budget_and_its_best_only_improves(tmp_path):
    result = tj.run("digits-search-compare", [*TINY, f"output_dir={tmp_path}"], verbose=0, report=False)
    data = json.loads((result.run_dir / "search_compare.json").read_text())
    assert set(data["curves"]) == {"grid", "random", "tpe"}
    for runs in data["curves"].values():
        assert len(runs) == 2 and all(len(r) == 4 for r in runs)
        assert all(a <= b for r in runs for a, b in zip(r, r[1:]))  # best so far, maximised
    for name, studies in data["studies"].items():
        for curve, trials in zip(data["curves"][name], studies):
            assert curve[-1] == max(t["value"] for t in trials)
    # random and TPE draw the same first trials with the same seed (TPE starts at random): a paired comparison
    assert data["studies"]["random"][0][0]["params"] == data["studies"]["tpe"][0][0]["params"]
    assert result.summary["results"]["tpe_best_mean"] == pytest.approx(data["summary"]["tpe"]["final_mean"])


@pytest.mark.parametrize("overrides, words", [
    (["search_compare.samplers=[grid, annealing]"], "Unknown sampler 'annealing'"),
    (["tune=null"], "needs the recipe's tune: section"),
    (["tune.space={train.batch_size: {choice: [0]}}"], "does not fit the config"),
])
def test_bad_settings_are_refused_before_training(tmp_path, overrides, words):
    with pytest.raises(ConfigError, match=words):
        tj.run("digits-search-compare", [*TINY, f"output_dir={tmp_path}", *overrides], verbose=0)
    assert not list(tmp_path.iterdir())  # no run directory left behind
