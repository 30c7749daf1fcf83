"""Tabular agents: Q-learning and SARSA on a Q-table, with ε-greedy exploration and its decay.

The update is the book's formula, written as it is printed (chapter 16):

    Q(s,a) ← Q(s,a) + α [r + γ max_a' Q(s',a') − Q(s,a)]        (Q-learning, off-policy)
    Q(s,a) ← Q(s,a) + α [r + γ Q(s',a') − Q(s,a)]               (SARSA, a' the next action chosen)

At a terminal state (gymnasium's `terminated`: the hole, the goal, the passenger delivered) there
is no future, so the target is r alone. An episode cut by the time limit (`truncated`) did not
end in s': its target still bootstraps from Q(s', ·).

Exploration is ε-greedy: a random action with probability ε, else the best one, ties broken at
random (seeded: without it, a fresh all-zero table would always pick action 0). ε decays per
episode from `start` to `end`, linearly or exponentially.

Example:
    >>> import numpy as np
    >>> q = np.zeros((2, 2))
    >>> q_learning_update(q, 0, 1, 1.0, 1, terminated=False, alpha=0.5, gamma=0.9)  # the TD error
    1.0
    >>> float(q[0, 1])
    0.5
    >>> EpsilonSchedule(1.0, 0.1, "linear", 10).value(5)
    0.55
    >>> result = train_tabular("FrozenLake-v1", episodes=200, seed=0, eval_episodes=5, env_kwargs={"is_slippery": False})
    >>> len(result.returns), result.q.shape
    (200, (16, 4))
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..i18n import _
from .envs import check_discrete_actions, check_reward, evaluate_policy, make_env

ALGORITHMS = ("qlearning", "sarsa")
DECAYS = ("linear", "exponential")


def q_learning_update(q: np.ndarray, s: int, a: int, r: float, s_next: int, *, terminated: bool, alpha: float,
                      gamma: float) -> float:
    """One Q-learning step on `q` (states × actions), in place; returns the TD error r + γ max Q(s',·) − Q(s,a)."""
    future = 0.0 if terminated else gamma * np.max(q[s_next])  # a terminal state has no future
    td_error = r + future - q[s, a]
    q[s, a] = q[s, a] + alpha * td_error
    return float(td_error)


def sarsa_update(q: np.ndarray, s: int, a: int, r: float, s_next: int, a_next: int, *, terminated: bool, alpha: float,
                 gamma: float) -> float:
    """One SARSA step on `q`, in place: the target uses Q(s', a') of the action a' actually chosen next."""
    future = 0.0 if terminated else gamma * q[s_next, a_next]
    td_error = r + future - q[s, a]
    q[s, a] = q[s, a] + alpha * td_error
    return float(td_error)


def greedy_action(row: np.ndarray, rng: np.random.Generator | None = None) -> int:
    """argmax_a Q(s, a); ties broken at random with `rng` (without one: the first best action).

    Example:
        >>> greedy_action(np.array([0.0, 2.0, 1.0]))
        1
    """
    if rng is None:
        return int(np.argmax(row))
    best = np.flatnonzero(row == row.max())
    return int(best[0] if best.size == 1 else rng.choice(best))


def epsilon_greedy(row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """A random action with probability ε, else the greedy one (random among ties)."""
    if rng.random() < epsilon:
        return int(rng.integers(row.shape[0]))
    return greedy_action(row, rng)


@dataclass
class EpsilonSchedule:
    """ε per episode: from `start` to `end` over `decay_episodes`, linearly, or exponentially.

    Exponential: ε = end + (start − end)·exp(−5·episode / decay_episodes), so ε is within 1% of
    the way to `end` after `decay_episodes` (linear: exactly `end` there).

    Example:
        >>> schedule = EpsilonSchedule(1.0, 0.0, "exponential", 100)
        >>> round(schedule.value(0), 3), round(schedule.value(100), 3)
        (1.0, 0.007)
    """

    start: float = 1.0
    end: float = 0.05
    decay: str = "linear"
    decay_episodes: int = 1000

    def __post_init__(self):
        if self.decay not in DECAYS or not 0 <= self.end <= 1 or not 0 <= self.start <= 1 or self.decay_episodes < 1:
            raise ConfigError(_("The ε schedule is not valid."),
                              expected=_("start and end in [0, 1], decay linear or exponential, decay_episodes ≥ 1"),
                              received=f"start={self.start}, end={self.end}, decay={self.decay!r}, "
                                       f"decay_episodes={self.decay_episodes}",
                              fix=_("Correct the epsilon settings."))

    def value(self, episode: int) -> float:
        if self.decay == "linear":
            share = min(1.0, episode / self.decay_episodes)
            return round(self.start + share * (self.end - self.start), 12)
        return self.end + (self.start - self.end) * math.exp(-5.0 * episode / self.decay_episodes)


@dataclass
class TabularResult:
    """One training run: per-episode returns, lengths and ε, the Q-table, the greedy evaluation."""

    env: str
    algorithm: str
    seed: int
    q: np.ndarray                        # (states, actions)
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    epsilons: list[float] = field(default_factory=list)
    eval_returns: list[float] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0

    @property
    def eval_mean_return(self) -> float:
        return float(np.mean(self.eval_returns)) if self.eval_returns else math.nan

    @property
    def eval_success_rate(self) -> float:
        """The share of evaluation episodes with a positive return (FrozenLake: the goal reached)."""
        return float(np.mean([r > 0 for r in self.eval_returns])) if self.eval_returns else math.nan

    def to_dict(self) -> dict:
        return {"env": self.env, "algorithm": self.algorithm, "seed": self.seed, "returns": self.returns,
                "lengths": self.lengths, "epsilons": self.epsilons, "eval_returns": self.eval_returns,
                "eval_mean_return": self.eval_mean_return, "eval_success_rate": self.eval_success_rate,
                "steps": self.steps, "seconds": self.seconds}


def eval_seed(seed: int) -> int:
    """The first environment seed of a run's greedy evaluation: apart from the seeds training used."""
    return 1_000_000 + 10_000 * int(seed)


def train_tabular(env_name: str, *, algorithm: str = "qlearning", episodes: int = 1000, alpha: float = 0.1,
                  gamma: float = 0.99, epsilon: EpsilonSchedule | None = None, seed: int = 0, eval_episodes: int = 100,
                  env_kwargs: dict | None = None, on_episode: Callable[[int, float, float], None] | None = None,
                  checkpoint=None, checkpoint_every: int = 0, resume=None) -> TabularResult:
    """Train a Q-table with Q-learning or SARSA; the same seed gives the same returns.

    Args:
        env_name: an environment with discrete states and actions (FrozenLake-v1, Taxi-v4, CliffWalking-v1).
        algorithm: "qlearning" or "sarsa".
        episodes: training episodes.
        alpha, gamma: the step size α and the discount γ of the update.
        epsilon: the ε schedule per episode (default: 1.0 → 0.05 linearly over half the episodes).
        seed: seeds the environment (first reset), its action space and the agent's choices.
        eval_episodes: greedy episodes after training (seeds `eval_seed(seed)`, +1, ...).
        env_kwargs: the environment's options (e.g. is_slippery, map_name).
        on_episode: called with (episode, return, ε) after every episode.
        checkpoint: where to save the table (safetensors) at the end, and every `checkpoint_every` episodes.
        resume: a checkpoint of an earlier run with the same environment, algorithm and seed to continue
            from. It holds the Q-table, the episode counter, the curves and both random streams (the
            agent's and the environment's), so the resumed run gives the same returns as one never stopped.
    """
    from gymnasium.spaces import Discrete

    if algorithm not in ALGORITHMS:
        raise ConfigError(_("Unknown tabular algorithm {name!r}.").format(name=algorithm),
                          expected=", ".join(ALGORITHMS), received=str(algorithm), fix=_("Use qlearning or sarsa."))
    kwargs = dict(env_kwargs or {})
    schedule = epsilon or EpsilonSchedule(1.0, 0.05, "linear", max(1, episodes // 2))
    env = make_env(env_name, seed=seed, **kwargs)
    agent = _("tabular {algorithm}").format(algorithm=algorithm)
    actions = check_discrete_actions(env, agent)
    if not isinstance(env.observation_space, Discrete):
        raise ConfigError(_("{agent} needs a discrete state space, and {env} has {space}.").format(
                              agent=agent, env=env_name, space=env.observation_space),
                          expected=_("a Discrete observation space (a table has one row per state), e.g. FrozenLake-v1, Taxi-v4"),
                          received=str(env.observation_space), fix=_("Use DQN for environments with continuous states."))
    q = np.zeros((int(env.observation_space.n), actions))  # (S, A), all zero: no state is preferred
    rng = np.random.default_rng(seed)
    result = TabularResult(env_name, algorithm, int(seed), q)
    first = _restore_table(resume, result, rng, env, alpha, gamma) if resume is not None else 0
    started = time.perf_counter()
    for episode in range(first, episodes):
        eps = schedule.value(episode)
        state, _info = env.reset(seed=int(seed) if episode == 0 else None)  # later resets continue the seeded stream
        action = epsilon_greedy(q[state], eps, rng)
        total, length, done = 0.0, 0, False
        while not done:
            next_state, reward, terminated, truncated, _info = env.step(action)
            reward = check_reward(reward, episode=episode, step=length)
            next_action = epsilon_greedy(q[next_state], eps, rng)
            if algorithm == "qlearning":
                q_learning_update(q, state, action, reward, next_state, terminated=terminated, alpha=alpha, gamma=gamma)
            else:
                sarsa_update(q, state, action, reward, next_state, next_action, terminated=terminated, alpha=alpha, gamma=gamma)
            state, action = next_state, next_action
            total += reward
            length += 1
            done = terminated or truncated
        result.returns.append(total)
        result.lengths.append(length)
        result.epsilons.append(eps)
        result.steps += length
        if on_episode is not None:
            on_episode(episode, total, eps)
        if checkpoint is not None and checkpoint_every and (episode + 1) % checkpoint_every == 0:
            save_table(checkpoint, result, episode + 1, rng, env, alpha, gamma)
    if checkpoint is not None:
        save_table(checkpoint, result, max(episodes, first), rng, env, alpha, gamma)
    env.close()
    result.seconds = time.perf_counter() - started
    if eval_episodes:
        result.eval_returns = evaluate_policy(env_name, lambda s: greedy_action(q[s]), episodes=eval_episodes,
                                              seed=eval_seed(seed), **kwargs)
    return result


def save_table(path, result: TabularResult, episodes_done: int, rng: np.random.Generator, env, alpha: float, gamma: float):
    """The Q-table and everything a resume needs (curves, counters, both random streams), as safetensors + JSON."""
    import torch

    from ..train.checkpoint import save_state

    meta = {"env": result.env, "algorithm": result.algorithm, "seed": result.seed, "alpha": alpha, "gamma": gamma,
            "episode": episodes_done, "steps": result.steps, "returns": result.returns, "lengths": result.lengths,
            "epsilons": result.epsilons, "rng": rng.bit_generator.state,
            "env_rng": env.unwrapped.np_random.bit_generator.state}
    return save_state(path, {"q": torch.from_numpy(result.q)}, meta)


def _restore_table(path, result: TabularResult, rng: np.random.Generator, env, alpha: float, gamma: float) -> int:
    """Fill `result`, `rng` and the environment's random stream from a `save_table` file; the next episode's index."""
    from ..errors import CheckpointError
    from ..train.checkpoint import read_checkpoint

    tensors, meta = read_checkpoint(path)
    saved = (meta.get("env"), meta.get("algorithm"), meta.get("seed"), meta.get("alpha"), meta.get("gamma"))
    now = (result.env, result.algorithm, result.seed, alpha, gamma)
    q = tensors.get("q")
    if saved != now or q is None or tuple(q.shape) != result.q.shape:
        raise CheckpointError(
            _("Cannot resume from {path}: it was saved by another tabular run.").format(path=path),
            expected=_("environment, algorithm, seed, α, γ = {now}, a Q-table of shape {shape}").format(
                now=now, shape=result.q.shape),
            received=_("{saved}, a Q-table of shape {shape}").format(
                saved=saved, shape=None if q is None else tuple(q.shape)),
            fix=_("Resume with the settings the checkpoint was saved with, or start without resume."))
    result.q[...] = q.numpy()
    result.returns, result.lengths, result.epsilons = list(meta["returns"]), list(meta["lengths"]), list(meta["epsilons"])
    result.steps = int(meta["steps"])
    rng.bit_generator.state = meta["rng"]
    env.unwrapped.np_random.bit_generator.state = meta["env_rng"]
    return int(meta["episode"])
