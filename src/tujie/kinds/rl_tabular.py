"""The `rl_tabular` kind: Q-learning or SARSA on a Q-table, over several seeds (chapter 16).

The agent is `tujie.rl.tabular.train_tabular`: the book's update Q(s,a) ← Q(s,a) + α[r + γ max_a'
Q(s',a') − Q(s,a)] (SARSA: Q(s',a') of the next chosen action), ε-greedy with a linear or
exponential decay. Every seed trains its own table; the greedy policy of each is then played for
`eval_episodes` episodes. Writes rl_tabular.json (per seed: returns, ε, evaluation), the Q-table of
the first seed (rl_tabular_q.safetensors) and the frames of one greedy episode (rl_tabular_frames.safetensors).

Report: episode returns with their moving average and the spread over seeds, the ε schedule,
the greedy evaluation per seed, the Q-table as a heatmap and (FrozenLake) the greedy policy as
arrows on the grid, a filmstrip of one greedy episode. Recipes: frozenlake-qlearning, taxi-qlearning.

Example:
    >>> from tujie import kinds
    >>> kinds.get("rl_tabular").section
    'rl_tabular'
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from .._io import write_bytes, write_json
from ..config import Float, Int, Strict
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _fmt, _img, _note, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register


class EpsilonConfig(Strict):
    start: Float = Field(1.0, ge=0.0, le=1.0)
    end: Float = Field(0.01, ge=0.0, le=1.0)
    decay: str = Field("linear", description="linear or exponential")
    decay_episodes: Int | None = Field(None, ge=1, description="episodes to reach `end`; None: half the episodes")


class RLTabularConfig(Strict):
    env: str = Field("FrozenLake-v1", description="a gymnasium environment with discrete states and actions")
    env_kwargs: dict[str, Any] = Field({}, description="the environment's options, e.g. is_slippery, map_name")
    algorithm: str = Field("qlearning", description="qlearning or sarsa")
    episodes: Int = Field(10000, ge=1)
    alpha: Float = Field(0.1, gt=0.0, le=1.0, description="the step size α of the update")
    gamma: Float = Field(0.99, ge=0.0, le=1.0, description="the discount γ")
    epsilon: EpsilonConfig = EpsilonConfig()
    seeds: Int = Field(3, ge=1, description="independent runs (seed, seed+1, ...)")
    eval_episodes: Int = Field(1000, ge=1, description="greedy episodes per seed after training")
    window: Int = Field(100, ge=1, description="the moving average's window, in episodes")


def _grid(env) -> dict | None:
    """FrozenLake's map (rows, columns, holes, goal) when the states are the cells of a grid, else None."""
    inner = env.unwrapped
    desc = getattr(inner, "desc", None)
    if desc is None or getattr(inner, "nrow", None) is None:
        return None
    nrow, ncol = int(inner.nrow), int(inner.ncol)
    if env.observation_space.n != nrow * ncol or env.action_space.n != 4:
        return None  # Taxi: 500 states on a 5×5 map
    cells = [c.decode() if isinstance(c, bytes) else str(c) for c in desc.flatten()]
    return {"nrow": nrow, "ncol": ncol, "holes": [i for i, c in enumerate(cells) if c == "H"],
            "goal": next((i for i, c in enumerate(cells) if c == "G"), None), "map": ["".join(cells[r * ncol:(r + 1) * ncol])
                                                                                   for r in range(nrow)]}


def run(context: RunContext) -> dict:
    """Train one Q-table per seed, evaluate each greedily, keep the first seed's table and one episode's frames."""
    import numpy as np
    from safetensors.numpy import save

    from ..rl.envs import make_env, record_frames
    from ..rl.tabular import EpsilonSchedule, greedy_action, train_tabular

    config, say = context.config, context.say
    section = config.rl_tabular or RLTabularConfig()
    e = section.epsilon
    schedule = EpsilonSchedule(e.start, e.end, e.decay, e.decay_episodes or max(1, section.episodes // 2))
    started = time.perf_counter()
    runs = []
    for i in range(section.seeds):
        seed = int(config.seed) + i
        result = train_tabular(section.env, algorithm=section.algorithm, episodes=section.episodes, alpha=section.alpha,
                               gamma=section.gamma, epsilon=schedule, seed=seed, eval_episodes=section.eval_episodes,
                               env_kwargs=section.env_kwargs)
        say(_("Seed {seed}: {episodes} episodes ({steps} steps) in {seconds:.1f} s; greedy: mean return {mean:.3f}, "
              "success rate {rate:.1%}").format(seed=seed, episodes=section.episodes, steps=f"{result.steps:,}",
                                                  seconds=result.seconds, mean=result.eval_mean_return, rate=result.eval_success_rate))
        runs.append(result)
    first = runs[0]
    env = make_env(section.env, **section.env_kwargs)
    grid = _grid(env)
    env.close()
    run_dir = context.run_dir
    write_bytes(run_dir / "rl_tabular_q.safetensors", save({"q": first.q.astype(np.float32)},
                                                            metadata={"env": section.env, "seed": str(first.seed)}))
    frames = record_frames(section.env, lambda s: greedy_action(first.q[s]), seed=first.seed, max_frames=10, **section.env_kwargs)
    step = -(-max(f.shape[0] for f in frames) // 128)  # every step-th pixel, at most 128 rows: the file stays small
    write_bytes(run_dir / "rl_tabular_frames.safetensors", save({"frames": np.stack([f[::step, ::step] for f in frames])}))
    results = {"eval_success_rate": float(np.mean([r.eval_success_rate for r in runs])),
               "eval_mean_return": float(np.mean([r.eval_mean_return for r in runs]))}
    write_json(run_dir / "rl_tabular.json", {
        "env": section.env, "env_kwargs": section.env_kwargs, "algorithm": section.algorithm, "episodes": section.episodes,
        "alpha": section.alpha, "gamma": section.gamma, "epsilon": e.model_dump(), "window": section.window,
        "eval_episodes": section.eval_episodes, "grid": grid, "states": int(first.q.shape[0]), "actions": int(first.q.shape[1]),
        "runs": [r.to_dict() for r in runs], "results": results})
    return {"results": results, "timings": {"total_s": time.perf_counter() - started}}


# ----------------------------------------------------------------------------------- report
_ALGORITHMS = {"qlearning": N_("Q-learning"), "sarsa": N_("SARSA")}


def _mono(text) -> str:
    return f'<span class="mono">{_e(text)}</span>'


def _returns_section(run: RunFiles) -> str:
    from ..plots.rl import curve, episode_returns

    t = run.rl_tabular
    runs = t.get("runs") or []
    window = int(t.get("window") or 100)
    how = _("Return of every training episode: each seed faint, the moving average over {window} episodes (mean over "
            "{seeds} seeds) bold, the band between the lowest and the highest seed's moving average shaded. The returns "
            "are those of the ε-greedy agent while it explores; the ε curve below shows how much of each episode was "
            "random.").format(window=window, seeds=len(runs))
    body = _img(episode_returns([r.get("returns") or [] for r in runs], window), _("episode return"))
    if runs:
        eps = runs[0].get("epsilons") or []
        body += _img(curve(range(1, len(eps) + 1), eps, N_("exploration ε per episode"), "ε", xlabel=N_("episode")),
                     _("exploration ε per episode"))
    name = _(_ALGORITHMS.get(t.get("algorithm"), "Q-learning"))
    facts = _("{algorithm} on {env}, α = {alpha}, γ = {gamma}, {episodes} episodes per seed.").format(
        algorithm=name, env=_mono(t.get("env")), alpha=_fmt(t.get("alpha")), gamma=_fmt(t.get("gamma")),
        episodes=_fmt(t.get("episodes")))
    return _section("rl-tabular-returns", _("Episode returns while learning"), how, body + f'<p class="aside">{facts}</p>')


def _eval_section(run: RunFiles) -> str:
    t = run.rl_tabular
    how = _("After training, every seed's greedy policy (always the action with the highest Q-value, no exploration) "
            "plays {n} episodes on fresh environment seeds. The success rate is the share of episodes with a positive "
            "return (FrozenLake: the goal reached; on the slippery 4×4 lake the best possible policy succeeds about 74% "
            "of the time).").format(n=_fmt(t.get("eval_episodes")))
    rows = [[_e(r.get("seed")), _e(_fmt(r.get("eval_success_rate"), "accuracy")), _e(_fmt(r.get("eval_mean_return"))),
             _e(_fmt(r.get("steps"))), _e(f"{r.get('seconds', 0):.1f}")] for r in t.get("runs") or []]
    results = t.get("results") or {}
    mean = _("mean")
    rows.append([f"<b>{_e(mean)}</b>", _e(_fmt(results.get("eval_success_rate"), "accuracy")),
                 _e(_fmt(results.get("eval_mean_return"))), "", ""])
    header = [_("seed"), _("success rate"), _("mean greedy return"), _("environment steps"), _("seconds")]
    return _section("rl-tabular-eval", _("Greedy evaluation"), how, _table(header, rows, "numbers"))


def _q_section(run: RunFiles) -> str:
    from safetensors.numpy import load

    from ..plots.rl import policy_arrows, q_table_heatmap

    t = run.rl_tabular
    how = _("The first seed's Q-table: one row per state, one column per action, the colour the learned value Q(s, a) "
            "(the expected discounted return of taking a in s and acting greedily after). The ringed cell of each row "
            "is the greedy action.")
    path = run.folder / "rl_tabular_q.safetensors"
    if not path.is_file():
        return _section("rl-tabular-q", _("The Q-table and the greedy policy"), how, _note(_e(_("The Q-table file is missing."))))
    q = load(path.read_bytes())["q"]
    body = _img(q_table_heatmap(q), _("Q-table heatmap"))
    grid = t.get("grid")
    if grid:
        body += _img(policy_arrows(q, grid["nrow"], grid["ncol"], holes=grid.get("holes") or [], goal=grid.get("goal")),
                     _("greedy policy on the grid"))
        legend = _("Arrows: the greedy action in each cell; dark squares are holes, green the goal, the red outline the "
                   "start. The colour is the best Q-value of the cell.")
        body += f'<p class="aside">{_e(legend)}</p>'
    else:
        note = _("{states} states are too many to draw as a grid of arrows: the heatmap shows the whole table.").format(
            states=t.get("states"))
        body += f'<p class="aside">{_e(note)}</p>'
    return _section("rl-tabular-q", _("The Q-table and the greedy policy"), how, body)


def _film_section(run: RunFiles) -> str:
    from ._common import filmstrip_section

    return filmstrip_section(run, "rl_tabular_frames.safetensors", "rl-tabular-film", _(
        "Frames of one greedy episode of the first seed's policy, left to right in time (the first and the last frame "
        "always shown, the steps between thinned evenly)."))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    results = (run.rl_tabular or {}).get("results") or {}
    stats = []
    if results.get("eval_success_rate") is not None:
        stats.append((_fmt(results["eval_success_rate"], "accuracy"), _("greedy success rate, mean over seeds")))
    if results.get("eval_mean_return") is not None:
        stats.append((_fmt(results["eval_mean_return"]), _("greedy mean return, mean over seeds")))
    return stats


def _has(run: RunFiles) -> bool:
    return run.rl_tabular is not None


REPORT = KindReport("rl_tabular", files=("rl_tabular.json",), result_file="rl_tabular.json",
                    missing={"rl_tabular.json": N_("the tabular agent's training record")},
                    sections=(Section("rl-tabular-returns", N_("Episode returns while learning"), _returns_section, _has, order=15),
                              Section("rl-tabular-eval", N_("Greedy evaluation"), _eval_section, _has, order=16),
                              Section("rl-tabular-q", N_("The Q-table and the greedy policy"), _q_section, _has, order=17),
                              Section("rl-tabular-film", N_("One greedy episode"), _film_section, _has, order=18)),
                    headline=_headline)
register(Kind("rl_tabular", run, N_("tabular Q-learning or SARSA over seeds: returns, ε, the Q-table, the greedy policy"),
              section="rl_tabular", config=RLTabularConfig, report=REPORT, order=90,
              smoke=("frozenlake-qlearning", ("rl_tabular.episodes=50", "rl_tabular.seeds=2", "rl_tabular.eval_episodes=5"))))
