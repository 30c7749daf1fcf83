"""Reinforcement learning, chapter 16: agents, states, actions, rewards, on gymnasium's environments.

The parts, each in its own module (imported lazily: `import tujie.rl` stays light):

- `envs`: environments by name (an unknown name lists the close ones), seeded; the action-space
  check; greedy evaluation; the frames of one episode; a moving average; a NaN reward stops the run.
- `tabular`: Q-learning and SARSA on a Q-table, the update written as the book's formula
  Q(s,a) ← Q(s,a) + α[r + γ max_a' Q(s',a') − Q(s,a)], ε-greedy with linear and exponential decay.
- `replay`: the replay buffer of DQN.
- `dqn`: DQN with a target network (hard and soft updates), Double DQN, Huber loss, gradient clipping.
- `policy_gradient`: REINFORCE with a baseline and advantage actor-critic (A2C) with an entropy bonus.

Example:
    >>> from tujie.rl import envs
    >>> envs.moving_average([1, 3], 2).tolist()
    [1.0, 2.0]
"""

import importlib

__all__ = ["dqn", "envs", "policy_gradient", "replay", "tabular"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
