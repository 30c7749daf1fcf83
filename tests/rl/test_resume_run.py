"""`tujie run --resume` of an rl_deep run: finished seeds are kept, the interrupted one goes on from its last save."""

import json

import pytest

import tujie as tj
import tujie.rl.dqn as dqn_module
from tujie.errors import ConfigError

TINY = ["rl_deep.steps=300", "rl_deep.seeds=[0, 1]", "rl_deep.eval_episodes=2", "rl_deep.eval_every=0",
        "rl_deep.checkpoint_every=100",
        "rl_deep.hyperparameters={learning_starts: 50, train_freq: 25, gradient_steps: 2, hidden: [8]}"]


def test_an_interrupted_run_resumes_where_it_was_saved(tmp_path, monkeypatch):
    whole = tj.run("cartpole-dqn", overrides=[*TINY, f"output_dir={tmp_path}", "run_name=whole"], verbose=0, report=False)
    real_check = dqn_module.check_reward
    starts = []

    def interrupt(reward, *, episode, step):  # Ctrl-C during the second seed, after its save at step 200
        starts.append(step) if step == 1 else None
        if len(starts) == 2 and step == 250:
            raise KeyboardInterrupt
        return real_check(reward, episode=episode, step=step)

    monkeypatch.setattr(dqn_module, "check_reward", interrupt)
    cut = tj.run("cartpole-dqn", overrides=[*TINY, f"output_dir={tmp_path}", "run_name=cut"], verbose=0, report=False)
    monkeypatch.setattr(dqn_module, "check_reward", real_check)
    assert cut.summary["status"] == "interrupted" and "--resume" in cut.summary["message"]
    assert [r["seed"] for r in json.loads((cut.run_dir / "rl_deep_progress.json").read_text())] == [0]

    resumed = tj.run(resume=cut.run_dir, verbose=0)
    assert resumed.summary["status"] == "finished" and resumed.report is not None
    runs = json.loads((cut.run_dir / "rl_deep.json").read_text())["runs"]
    first, second = runs
    whole_runs = json.loads((whole.run_dir / "rl_deep.json").read_text())["runs"]
    assert first["episode_returns"] == whole_runs[0]["episode_returns"] and first["resumed_from_step"] is None
    assert second["resumed_from_step"] == 200 and second["steps"] == 300
    # up to the save, the second seed's curves are those of the run never stopped
    saved_part = [p for p in second["loss"] if p[0] <= 200]
    assert saved_part == [p for p in whole_runs[1]["loss"] if p[0] <= 200] and len(second["loss"]) > len(saved_part)

    with pytest.raises(ConfigError, match="Nothing to resume"):
        tj.run(resume=cut.run_dir, verbose=0)
