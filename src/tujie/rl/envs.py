"""Gymnasium environments by name, seeded, and the helpers every agent shares.

`make_env` builds an environment by its registered name (an unknown name lists the close
ones), seeded so that the same seed gives the same episodes; `evaluate_policy` plays a
greedy policy for a few episodes; `record_frames` keeps the rendered frames of one of them
(for a filmstrip); `moving_average` smooths episode returns.

Example:
    >>> env = make_env("FrozenLake-v1", seed=0, is_slippery=False)
    >>> int(env.observation_space.n), int(env.action_space.n)
    (16, 4)
    >>> evaluate_policy("FrozenLake-v1", lambda s: 2, episodes=2, seed=0, is_slippery=False)
    [0.0, 0.0]
    >>> moving_average([0, 1, 2, 3], 2).tolist()
    [0.0, 0.5, 1.5, 2.5]
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable

import numpy as np

from ..errors import ConfigError
from ..i18n import _


def _registry() -> list[str]:
    import gymnasium

    return sorted(gymnasium.envs.registry.keys())


def make_env(name: str, *, seed: int | None = None, render: bool = False, **kwargs):
    """A gymnasium environment by name, reset with `seed` and its action space seeded too.

    Args:
        name: a registered id, e.g. "CartPole-v1", "FrozenLake-v1", "Taxi-v4".
        seed: seeds the first reset and `action_space.sample()`; None: unseeded.
        render: frames as arrays (render_mode="rgb_array"), for filmstrips.
        **kwargs: the environment's own options (FrozenLake: is_slippery, map_name).

    Raises:
        ConfigError: the name is not registered (the close names are listed), or an option does not fit.
    """
    import gymnasium

    known = _registry()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
        raise ConfigError(_("Unknown environment {name!r}.").format(name=name),
                          expected=_("a registered gymnasium environment, e.g. CartPole-v1, Acrobot-v1, MountainCar-v0, "
                                     "FrozenLake-v1, Taxi-v4"),
                          received=name,
                          fix=_("Did you mean: {names}?").format(names=", ".join(close)) if close
                          else _("Pick one of gymnasium's registered environments."))
    options = dict(kwargs)
    if render:
        options["render_mode"] = "rgb_array"
    try:
        env = gymnasium.make(name, **options)
    except TypeError as error:
        raise ConfigError(_("The options do not fit the environment {name}.").format(name=name),
                          expected=_("the environment's own keyword arguments"), received=str(options),
                          fix=_("Correct env_kwargs ({error}).").format(error=error)) from None
    if seed is not None:
        env.reset(seed=int(seed))
        env.action_space.seed(int(seed))
    return env


def check_discrete_actions(env, agent_name: str) -> int:
    """The number of actions; a continuous (or otherwise not discrete) action space is refused.

    Example:
        >>> check_discrete_actions(make_env("CartPole-v1"), "DQN")
        2
    """
    from gymnasium.spaces import Discrete

    space = env.action_space
    if not isinstance(space, Discrete):
        name = env.spec.id if getattr(env, "spec", None) else type(env).__name__
        raise ConfigError(_("{agent} needs a discrete action space, and {env} has {space}.").format(
                              agent=agent_name, env=name, space=space),
                          expected=_("a Discrete action space (one of n actions), e.g. CartPole-v1, Acrobot-v1, MountainCar-v0"),
                          received=str(space),
                          fix=_("Pick an environment with discrete actions, or an agent for continuous actions."))
    return int(space.n)


def check_reward(reward, *, episode: int, step: int) -> float:
    """The reward as a float; NaN or infinite stops the run, naming the episode and step.

    Example:
        >>> check_reward(1, episode=0, step=3)
        1.0
    """
    value = float(reward)
    if not math.isfinite(value):
        from ..errors import DataError

        raise DataError(_("The reward became {value} at episode {episode}, step {step}.").format(
                            value=value, episode=episode, step=step),
                        expected=_("a finite reward at every step"), received=str(value),
                        fix=_("Check the environment (its options or a wrapper); the run stopped here."))
    return value


def evaluate_policy(env_name: str, act: Callable, *, episodes: int = 10, seed: int = 0, max_steps: int | None = None,
                    **kwargs) -> list[float]:
    """Play `act(observation) -> action` for `episodes` episodes (seeds seed, seed+1, ...); the returns.

    Args:
        env_name: the environment's name; kwargs are its options.
        act: the (greedy) policy.
        max_steps: stop an episode after this many steps (besides the environment's own limit).
    """
    env = make_env(env_name, **kwargs)
    returns = []
    for episode in range(episodes):
        observation, _info = env.reset(seed=int(seed) + episode)
        total, done, steps = 0.0, False, 0
        while not done:
            observation, reward, terminated, truncated, _info = env.step(act(observation))
            total += check_reward(reward, episode=episode, step=steps)
            steps += 1
            done = terminated or truncated or (max_steps is not None and steps >= max_steps)
        returns.append(total)
    env.close()
    return returns


def record_frames(env_name: str, act: Callable, *, seed: int = 0, every: int = 1, max_frames: int = 12,
                  **kwargs) -> list[np.ndarray]:
    """The rendered frames (H, W, 3) uint8 of one episode of `act`, every `every`-th step, at most `max_frames`.

    The first and the last frame are always kept (where the episode starts and how it ends).

    Example:
        >>> frames = record_frames("FrozenLake-v1", lambda s: 1, seed=0, is_slippery=False)
        >>> len(frames) >= 2, frames[0].ndim
        (True, 3)
    """
    env = make_env(env_name, render=True, **kwargs)
    observation, _info = env.reset(seed=int(seed))
    frames = [env.render()]
    done, step = False, 0
    while not done:
        observation, _reward, terminated, truncated, _info = env.step(act(observation))
        step += 1
        done = terminated or truncated
        if step % max(1, every) == 0 or done:
            frames.append(env.render())
    env.close()
    if len(frames) > max_frames:  # keep the ends, thin the middle evenly
        keep = np.unique(np.linspace(0, len(frames) - 1, max_frames).round().astype(int))
        frames = [frames[i] for i in keep]
    return [np.asarray(f, dtype=np.uint8) for f in frames]


def moving_average(values, window: int) -> np.ndarray:
    """The mean of the last `window` values at every point (fewer at the start), as float64."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return x
    window = max(1, int(window))
    sums = np.cumsum(np.insert(x, 0, 0.0))
    index = np.arange(1, x.size + 1)
    start = np.maximum(index - window, 0)
    return (sums[index] - sums[start]) / (index - start)
