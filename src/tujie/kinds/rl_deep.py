"""The `rl_deep` kind: DQN, REINFORCE or A2C on a gymnasium environment, over several seeds (chapter 16).

The agents are `tujie.rl.dqn.train_dqn` and `tujie.rl.policy_gradient.train_policy_gradient`;
this module registers the kind, its `rl_deep:` section and its report: episode returns with a
moving average and the spread over seeds, greedy evaluations against steps, ε, loss and Q-value
curves (DQN; loss and entropy for the policy gradients), and a filmstrip of one greedy episode.
Writes rl_deep.json, the first seed's network weights (rl_deep_weights.safetensors), the
filmstrip's frames (rl_deep_frames.safetensors), and for `tujie run --resume` each seed's agent
(rl_deep_seed<N>.safetensors) and the finished seeds (rl_deep_progress.json). Recipes: cartpole-dqn, cartpole-reinforce,
cartpole-a2c, acrobot-dqn. Reads no data.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from .._io import write_bytes, write_json
from ..config import Strict
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _fmt, _img, _note, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register


class RLDeepConfig(Strict):
    env: str = Field("CartPole-v1", description="a gymnasium environment with discrete actions")
    agent: Literal["dqn", "reinforce", "a2c"] = "dqn"
    steps: int = Field(50_000, ge=1, le=10_000_000, description="environment steps per seed")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    eval_episodes: int = Field(100, ge=1, description="episodes of the final greedy evaluation")
    eval_every: int = Field(5000, ge=0, description="steps between greedy evaluations during training (0: none)")
    eval_every_episodes: int = Field(10, ge=1, description="episodes of each evaluation during training")
    target: float = Field(475.0, description="the return whose first step is recorded (steps_to_475)")
    keep_best: bool = Field(False, description="DQN: end with the network of the best periodic evaluation (SB3's EvalCallback best_model)")
    checkpoint_every: int = Field(10_000, ge=0, description="steps between saves of the agent (`tujie run --resume`); 0: at each seed's end only")
    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="DQNConfig or PGConfig fields")


FINAL_EVAL_SEED = 100_000  # the final evaluation's episodes: seeds 100000, 100001, ... (never a training seed)


def _train_one(section: RLDeepConfig, seed: int, say, checkpoint: Path, resume: Path | None) -> tuple[dict, object]:
    """One seed: train (saving to `checkpoint`, continuing from `resume`), then evaluate the greedy policy; (its record, its network)."""
    from ..rl.envs import evaluate_policy

    def log(step, mean):
        say(_("seed {seed}, step {step}: greedy return {value}").format(seed=seed, step=f"{step:,}", value=f"{mean:.1f}"))

    settings = dict(section.hyperparameters)
    saving = {"checkpoint": checkpoint, "checkpoint_every": section.checkpoint_every, "resume": resume}
    if section.agent == "dqn":
        from ..rl.dqn import train_dqn

        result = train_dqn(section.env, steps=section.steps, seed=seed, eval_every=section.eval_every,
                           eval_episodes=section.eval_every_episodes, keep_best=section.keep_best, log=log, **saving, **settings)
        network, record = result.agent.q, result.to_dict()
        if section.keep_best and result.best_step not in (None, section.steps):
            say(_("seed {seed}: kept the network of step {step} (greedy return {value})").format(
                seed=seed, step=f"{result.best_step:,}", value=f"{result.best_eval:.1f}"))
    else:
        from ..rl.policy_gradient import train_policy_gradient

        if section.keep_best:
            from ..errors import ConfigError

            raise ConfigError(_("rl_deep.keep_best is for DQN, and this run's agent is {agent}.").format(agent=section.agent),
                              expected="rl_deep.agent: dqn", received=f"rl_deep.agent: {section.agent}",
                              fix=_("Remove rl_deep.keep_best, or train DQN."))

        settings.setdefault("target", section.target)
        result = train_policy_gradient(section.env, section.agent, steps=section.steps, seed=seed, eval_every=section.eval_every,
                                       eval_episodes=section.eval_every_episodes, log=log, **saving, **settings)
        network, record = result.network, result.to_dict()
        # its own count: the first step where the last target_window training returns (sampled actions) average the target
        record["steps_to_target_training"] = record.pop("steps_to_target")
    # for every agent alike: the first periodic greedy evaluation at the target or above
    reached = [s for s, v in result.evaluations if v >= section.target]
    record["steps_to_target"] = reached[0] if reached else None
    network.eval()
    greedy = result.agent.greedy if section.agent == "dqn" else network.greedy
    returns = evaluate_policy(section.env, greedy, episodes=section.eval_episodes, seed=FINAL_EVAL_SEED)
    record["final_eval_returns"] = returns
    record["final_eval_mean"] = sum(returns) / len(returns)
    say(_("seed {seed}: mean greedy return {value} over {n} episodes, {speed} environment steps per second").format(
        seed=seed, value=f"{record['final_eval_mean']:.1f}", n=len(returns), speed=f"{record['steps_per_second']:,.0f}"))
    return record, (network, greedy)


PROGRESS = "rl_deep_progress.json"  # the seeds finished so far: what `tujie run --resume` keeps


def _checkpoint(run_dir: Path, seed: int) -> Path:
    return run_dir / f"rl_deep_seed{seed}.safetensors"


def run(context: RunContext) -> dict:
    """Train the agent once per seed; write rl_deep.json, the first seed's weights and one greedy episode's frames.

    Each seed's agent is saved every `checkpoint_every` steps and at its end, and each finished seed's
    record goes to rl_deep_progress.json: `tujie run --resume RUN_DIR` keeps the finished seeds and
    continues the interrupted one from its last save.
    """
    import json

    from ..rl.checkpoints import saved_identity

    section = context.config.rl_deep or RLDeepConfig()
    run_dir = context.run_dir
    runs = json.loads((run_dir / PROGRESS).read_text(encoding="utf-8")) if context.resume and (run_dir / PROGRESS).is_file() else []
    runs = [r for r in runs if r["steps"] >= section.steps]  # a seed trained for fewer steps goes on (steps raised)
    done = {r["seed"] for r in runs}
    if done:
        context.say(_("Resuming: seeds {seeds} are finished.").format(seeds=", ".join(str(s) for s in sorted(done))))
    try:
        with one_thread():  # small networks, one step at a time: threads cost more than they give
            for seed in section.seeds:
                if seed in done:
                    continue
                path = _checkpoint(run_dir, seed)
                resume = path if context.resume and path.is_file() else None
                resumed_at = saved_identity(resume)[1].get("step") if resume is not None else None
                if resume is not None:
                    context.say(_("Resuming seed {seed} from step {step}.").format(seed=seed, step=f"{resumed_at:,}"))
                record, network = _train_one(section, seed, context.say, path, resume)
                record["resumed_from_step"] = resumed_at
                runs.append(record)
                write_json(run_dir / PROGRESS, runs)
                if seed == section.seeds[0]:
                    _write_first_seed(run_dir, section, network)
    except KeyboardInterrupt:
        return {"status": "interrupted", "message": _("interrupted after {n} of {total} seeds; continue with: "
                                                      "tujie run --resume {run_dir}").format(
            n=len(runs), total=len(section.seeds), run_dir=run_dir)}
    runs.sort(key=lambda r: section.seeds.index(r["seed"]))
    means = [r["final_eval_mean"] for r in runs]
    reached = [r["steps_to_target"] for r in runs]
    write_json(run_dir / "rl_deep.json", {"env": section.env, "agent": section.agent, "steps": section.steps,
                                          "target": section.target, "eval_episodes": section.eval_episodes, "runs": runs})
    results = {"eval_mean_return": sum(means) / len(means),
               "seeds_at_target": sum(m >= section.target for m in means),
               # the slowest seed's steps, only when every seed got there
               "steps_to_target": max(reached) if all(s is not None for s in reached) else None,
               "steps_per_second": sum(r["steps_per_second"] for r in runs) / len(runs)}
    if section.target == 475:  # the CartPole number, under its own name
        results["steps_to_475"] = results["steps_to_target"]
    return {"results": results}


def _write_first_seed(run_dir: Path, section: RLDeepConfig, network) -> None:
    """The first seed's weights and the frames of one of its greedy episodes (the report's filmstrip)."""
    import numpy as np
    import torch
    from safetensors.torch import save

    from ..rl.envs import record_frames
    from ..train.checkpoint import save_weights

    frames = record_frames(section.env, network[1], seed=FINAL_EVAL_SEED, max_frames=10)
    save_weights(run_dir / "rl_deep_weights.safetensors", network[0], {"env": section.env, "agent": section.agent,
                                                                       "seed": section.seeds[0]})
    write_bytes(run_dir / "rl_deep_frames.safetensors", save({"frames": torch.from_numpy(np.stack(frames))}))


def check_resume(run_dir: Path, config, saved_config: dict) -> None:
    """Refuse `--resume` of a run with nothing saved, or one whose every seed is finished."""
    from ..errors import ConfigError

    import json

    section = config.rl_deep or RLDeepConfig()
    finished = run_dir / "rl_deep.json"
    if finished.is_file() and all(r.get("steps", 0) >= section.steps
                                  for r in json.loads(finished.read_text(encoding="utf-8")).get("runs", [])):
        raise ConfigError(_("Nothing to resume: {run_dir} finished all its seeds.").format(run_dir=run_dir),
                          expected=_("a run directory of an interrupted rl_deep run, or more steps (--set rl_deep.steps=N)"),
                          fix=_("Open its report (tujie report {run_dir}), or start a new run.").format(run_dir=run_dir))
    if not (run_dir / PROGRESS).is_file() and not any(_checkpoint(run_dir, s).is_file() for s in section.seeds):
        raise ConfigError(_("Cannot resume from {run_dir}: it holds no saved agent.").format(run_dir=run_dir),
                          expected=_("rl_deep_progress.json or rl_deep_seed<N>.safetensors, written during training"),
                          fix=_("Start the run again without --resume."))


# ----------------------------------------------------------------------------------- report
_AGENTS = {"dqn": N_("DQN"), "reinforce": N_("REINFORCE with a value baseline"), "a2c": N_("advantage actor-critic (A2C)")}
_TITLE_RETURNS = N_("training episode returns")
_TITLE_EVAL = N_("greedy evaluation return")
_TITLE_EPS = N_("exploration rate ε")
_TITLE_LOSS = N_("training loss")
_TITLE_Q = N_("mean max Q(s, a) on the replay batches")
_TITLE_ENTROPY = N_("policy entropy")
_X_STEP = N_("environment step")
_Y_RETURN = N_("mean return")


def _runs(run: RunFiles) -> list:
    runs = run.rl_deep.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ValueError("rl_deep.json's runs must be a non-empty list")
    return runs


def _mean_curve(runs: list, key: str) -> tuple[list, list]:
    """The steps of the first seed and the mean over the seeds that share them."""
    curves = [r.get(key) or [] for r in runs]
    length = min(len(c) for c in curves)
    if not length:
        return [], []
    return [p[0] for p in curves[0][:length]], [sum(c[i][1] for c in curves) / len(curves) for i in range(length)]


def _returns_section(run: RunFiles) -> str:
    from ..plots.rl import episode_returns

    how = _("Every finished training episode's return (faint: each seed), the moving average over the last "
            "episodes (bold: mean over the seeds) and its spread over the seeds (shaded, min to max). Training "
            "returns include exploration, so they lie below what the greedy policy earns. The table gives "
            "the final greedy evaluation of each seed and the first step at which the target return was reached.")
    runs = _runs(run)
    target = run.rl_deep.get("target", 475)
    body = [_img(episode_returns([[p[1] for p in r.get("episode_returns") or []] for r in runs], window=20,
                                 title=_TITLE_RETURNS), _("episode returns over seeds"))]
    rows = [[_e(r.get("seed")), _e(_fmt(len(r.get("episode_returns") or []))), _e(f"{r.get('final_eval_mean', math.nan):.1f}"),
             _e(_fmt(r.get("steps_to_target"))), _e(f"{r.get('steps_per_second', math.nan):,.0f}")] for r in runs]
    body.append(_table([_("seed"), _("episodes"), _("greedy return ({n} episodes)").format(n=run.rl_deep.get("eval_episodes")),
                        _("steps to {target}").format(target=_fmt(target)), _("environment steps per second")], rows, "numbers"))
    return _section("rl-deep-returns", _("Episode returns"), how, "".join(body))


def _evaluation_section(run: RunFiles) -> str:
    from ..plots.rl import curve

    how = _("The greedy policy (always the best action, no exploration) played for a few episodes every so many "
            "environment steps; the line is the mean over the seeds.")
    steps, values = _mean_curve(_runs(run), "evaluations")
    if not steps:
        return _section("rl-deep-evaluation", _("Greedy evaluation"), how, _note(_e(_("No evaluation during training."))))
    return _section("rl-deep-evaluation", _("Greedy evaluation"), how,
                    _img(curve(steps, values, _TITLE_EVAL, _Y_RETURN, xlabel=_X_STEP), _("greedy evaluation returns")))


def _training_section(run: RunFiles) -> str:
    from ..plots.rl import curve

    runs = _runs(run)
    if run.rl_deep.get("agent") == "dqn":
        how = _("DQN's exploration rate ε (linear decay, then flat), the Huber loss of each training round and the "
                "mean of max_a Q(s, a) over its batches (the first seed). On CartPole the Q-values should approach "
                "1/(1 − γ) = 100 for a policy that never falls; Q-values far above that are overestimation.")
        keys = (("epsilon", _TITLE_EPS, "ε"), ("loss", _TITLE_LOSS, N_("loss")), ("q_values", _TITLE_Q, "Q"))
    else:
        how = _("The loss of each update (policy, value and entropy terms together) and the entropy of the "
                "policy (the first seed): the entropy falls as the policy becomes sure of its actions.")
        keys = (("loss", _TITLE_LOSS, N_("loss")), ("entropy", _TITLE_ENTROPY, N_("entropy")))
    body = []
    for key, title, ylabel in keys:
        points = runs[0].get(key) or []
        if points:
            body.append(_img(curve([p[0] for p in points], [p[1] for p in points], title, ylabel, xlabel=_X_STEP), _(title)))
    return _section("rl-deep-training", _("Training curves"), how, "".join(body) or _note(_e(_("No training update was made."))))


def _filmstrip_section(run: RunFiles) -> str:
    from ._common import filmstrip_section

    return filmstrip_section(run, "rl_deep_frames.safetensors", "rl-deep-filmstrip", _(
        "Frames of one episode of the first seed's greedy policy, left to right in time (the first and last frames always shown)."))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    runs = _runs(run)
    means = [r.get("final_eval_mean", math.nan) for r in runs]
    stats = [(f"{sum(means) / len(means):.1f}", _("mean greedy return over {n} seeds").format(n=len(runs)))]
    speed = sum(r.get("steps_per_second", 0) for r in runs) / len(runs)
    stats.append((f"{speed:,.0f}", _("environment steps per second")))
    return stats + [(v, label) for _metric, v, label in test_stats]


def _facts(run: RunFiles) -> list[str]:
    agent = run.rl_deep.get("agent")
    name = _(_AGENTS[agent]) if agent in _AGENTS else str(agent)
    return [_("{agent} on {env}, {steps} environment steps per seed").format(
        agent=name, env=run.rl_deep.get("env"), steps=_fmt(run.rl_deep.get("steps")))]


def _has(run: RunFiles) -> bool:
    return run.rl_deep is not None


REPORT = KindReport("rl_deep", files=("rl_deep.json",), result_file="rl_deep.json",
                    missing={"rl_deep.json": N_("the agent's training record")},
                    sections=(Section("rl-deep-returns", N_("Episode returns"), _returns_section, _has, order=61),
                              Section("rl-deep-evaluation", N_("Greedy evaluation"), _evaluation_section, _has, order=62),
                              Section("rl-deep-training", N_("Training curves"), _training_section, _has, order=63),
                              Section("rl-deep-filmstrip", N_("One greedy episode"), _filmstrip_section, _has, order=64)),
                    headline=_headline, facts=_facts)
register(Kind("rl_deep", run, N_("deep reinforcement learning (DQN, REINFORCE, A2C) on a gymnasium environment, over seeds"),
              section="rl_deep", config=RLDeepConfig, report=REPORT, order=74, resumable=True, check_resume=check_resume,
              resumable_changes=("rl_deep.steps",),
              smoke=("cartpole-dqn", ("rl_deep.steps=300", "rl_deep.seeds=[0, 1]", "rl_deep.eval_episodes=2",
                                      "rl_deep.eval_every=150", "rl_deep.eval_every_episodes=1",
                                      "rl_deep.hyperparameters={learning_starts: 100, train_freq: 50, gradient_steps: 4, "
                                      "hidden: [16]}"))))
