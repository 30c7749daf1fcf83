"""A uniform replay buffer on preallocated tensors: DQN's memory of past transitions (chapter 16).

Transitions (s, a, r, s', done) go into a ring of fixed size; `sample` draws a batch uniformly with
the caller's `torch.Generator`, so the same seed draws the same batches.

Example:
    >>> import torch
    >>> buffer = ReplayBuffer(capacity=3, obs_shape=(2,))
    >>> for i in range(5):  # the ring keeps the last 3
    ...     buffer.add([i, i], 0, 1.0, [i + 1, i + 1], False)
    >>> len(buffer), buffer.obs[:, 0].tolist()
    (3, [3.0, 4.0, 2.0])
    >>> batch = buffer.sample(2, torch.Generator().manual_seed(0))
    >>> batch["obs"].shape, batch["action"].dtype
    (torch.Size([2, 2]), torch.int64)
"""

from __future__ import annotations

import torch

from ..errors import ConfigError


class ReplayBuffer:
    """A ring of `capacity` transitions, stored as tensors made once (no per-step allocation)."""

    def __init__(self, capacity: int, obs_shape: tuple, obs_dtype: torch.dtype = torch.float32):
        if capacity < 1:
            raise ConfigError("The replay buffer needs room for at least one transition.", expected="capacity ≥ 1",
                              received=f"capacity={capacity}", fix="Set buffer_size to a positive number (e.g. 100000).")
        self.capacity = int(capacity)
        self.obs = torch.zeros((self.capacity, *obs_shape), dtype=obs_dtype)  # [N, *obs]
        self.next_obs = torch.zeros_like(self.obs)                            # [N, *obs]
        self.action = torch.zeros(self.capacity, dtype=torch.int64)           # [N]
        self.reward = torch.zeros(self.capacity, dtype=torch.float32)         # [N]
        self.done = torch.zeros(self.capacity, dtype=torch.float32)           # [N]: 1 where s' is terminal
        self.position = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action: int, reward: float, next_obs, done: bool) -> None:
        """Store one transition, overwriting the oldest once full. `done` is termination only:
        a time limit is not an end of the MDP, so s' is still bootstrapped there."""
        i = self.position
        self.obs[i] = torch.as_tensor(obs, dtype=self.obs.dtype)
        self.next_obs[i] = torch.as_tensor(next_obs, dtype=self.obs.dtype)
        self.action[i] = int(action)
        self.reward[i] = float(reward)
        self.done[i] = float(done)
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """`batch_size` transitions drawn uniformly (with replacement) from what is stored."""
        if self.size == 0:
            raise ConfigError("Cannot sample from an empty replay buffer.", expected="at least one stored transition",
                              received="0 transitions", fix="Add transitions first (learning_starts > 0).")
        index = torch.randint(0, self.size, (batch_size,), generator=generator)  # [B]
        return {"obs": self.obs[index], "action": self.action[index], "reward": self.reward[index],
                "next_obs": self.next_obs[index], "done": self.done[index]}
