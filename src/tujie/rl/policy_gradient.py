"""Policy gradients (chapter 16): REINFORCE with a learned value baseline, and advantage actor-critic (A2C).

Both learn a stochastic policy π(a|s) (a softmax over the actor's logits) by the policy-gradient
theorem, ∇J = E[∇ log π(a|s) · A], with a critic V(s) that lowers the variance:

- REINFORCE: A = G_t − V(s_t), G_t the discounted return to the episode's end; updates after
  `batch_episodes` whole episodes.
- A2C: A = (r_t + γ r_{t+1} + … + γ^n V(s_{t+n})) − V(s_t), the n-step return bootstrapped by the
  critic; updates every `n_steps` steps of `n_envs` environments run side by side
  (gymnasium.vector.SyncVectorEnv), plus an entropy bonus that keeps the policy exploring.
  Actor and critic share their hidden layers (`shared=True`) or not.

Each run records every finished episode's return and the step at which the mean return of the last
`target_window` training episodes first reached `target` (475 on CartPole-v1), greedy evaluations
every `eval_every` steps, and environment steps per second. Same seed, same returns.

Example:
    >>> result = train_policy_gradient("CartPole-v1", "a2c", steps=400, seed=0, hidden=(16,), eval_every=0)
    >>> result.steps >= 400, len(result.episode_returns) > 0
    (True, True)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, closest
from .checkpoints import load_agent, save_agent
from .dqn import agent_settings, mlp
from .envs import check_discrete_actions, check_reward, make_env

AGENTS = ("reinforce", "a2c")
CURVES = ("episode_returns", "loss", "entropy", "evaluations")  # what a checkpoint carries over


@dataclass
class PGConfig:
    """Hyperparameters of REINFORCE and A2C (defaults suit CartPole-v1)."""

    lr: float = 1e-3
    gamma: float = 0.99
    hidden: tuple = (64, 64)
    n_envs: int = 8               # environments side by side
    n_steps: int = 5              # A2C: steps per environment per update
    batch_episodes: int = 8       # REINFORCE: whole episodes per update
    entropy_coef: float = 0.01    # the entropy bonus's weight
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    shared: bool = False          # A2C: one trunk for actor and critic
    normalize_advantages: bool = True  # REINFORCE: advantages scaled to unit variance per batch
    target: float = 475.0
    target_window: int = 20


class ActorCritic(nn.Module):
    """Policy logits [B, A] and value [B] from observations [B, obs], with a shared trunk or two networks."""

    def __init__(self, obs_size: int, n_actions: int, hidden=(64, 64), shared: bool = False):
        super().__init__()
        self.shared = shared
        if shared:
            self.trunk = mlp(obs_size, hidden[-1], hidden[:-1])
            self.policy_head = nn.Linear(hidden[-1], n_actions)
            self.value_head = nn.Linear(hidden[-1], 1)
        else:
            self.actor = mlp(obs_size, n_actions, hidden)
            self.critic = mlp(obs_size, 1, hidden)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.shared:
            h = torch.relu(self.trunk(obs))  # [B, H]
            return self.policy_head(h), self.value_head(h).squeeze(-1)
        return self.actor(obs), self.critic(obs).squeeze(-1)

    @torch.no_grad()
    def greedy(self, obs) -> int:
        logits, _value = self(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))
        return int(logits.argmax(1).item())


@dataclass
class PGResult:
    """One run: returns per finished episode as [step, return], losses per update, evaluations."""

    env: str
    agent: str
    seed: int
    steps: int
    episode_returns: list = field(default_factory=list)   # [[step, return], ...]
    loss: list = field(default_factory=list)              # [[step, total loss], ...]
    entropy: list = field(default_factory=list)           # [[step, mean policy entropy], ...]
    evaluations: list = field(default_factory=list)       # [[step, mean greedy return], ...]
    steps_to_target: int | None = None
    steps_per_second: float = 0.0
    wall_seconds: float = 0.0
    config: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items()}


def _vector_env(env_name: str, n_envs: int, seed: int):
    from gymnasium.vector import AutoresetMode, SyncVectorEnv

    probe = make_env(env_name)
    check_discrete_actions(probe, "policy gradient")
    probe.close()
    # SAME_STEP: a finished environment is reset within the step, its last observation in info["final_obs"]
    envs = SyncVectorEnv([lambda: make_env(env_name) for _ in range(n_envs)], autoreset_mode=AutoresetMode.SAME_STEP)
    obs, _info = envs.reset(seed=seed)  # environment i gets seed + i
    envs.action_space.seed(seed)
    return envs, obs


def discounted_returns(rewards: list[float], gamma: float, bootstrap: float = 0.0) -> list[float]:
    """G_t = r_t + γ G_{t+1}, from the end backwards (G_T = bootstrap).

    Example:
        >>> discounted_returns([1.0, 1.0, 1.0], 0.5)
        [1.75, 1.5, 1.0]
    """
    out, g = [], bootstrap
    for r in reversed(rewards):
        g = r + gamma * g
        out.append(g)
    return out[::-1]


def train_policy_gradient(env_name: str, agent: str = "a2c", *, steps: int, seed: int = 0, eval_every: int = 10_000,
                          eval_episodes: int = 10, log=None, checkpoint=None, checkpoint_every: int = 0, resume=None,
                          **settings) -> PGResult:
    """Train REINFORCE (`agent="reinforce"`) or A2C (`"a2c"`) for at least `steps` environment steps (all envs together).

    `settings` are PGConfig fields. The trained network is `result.network` (an ActorCritic).
    `checkpoint`: where to save the agent (`rl.checkpoints`) at the end and, with `checkpoint_every`,
    after the first update past every so many steps; `resume`: such a file of the same run to
    continue from (the episodes in progress at the save start over).
    """
    if agent not in AGENTS:
        raise ConfigError(f"Unknown policy-gradient agent {agent!r}. {closest(agent, list(AGENTS))}",
                          expected="reinforce or a2c", received=repr(agent), fix="Set agent to reinforce or a2c.")
    config = agent_settings(PGConfig, settings, "policy-gradient")
    envs, obs = _vector_env(env_name, config.n_envs, seed)
    obs_size = int(np.prod(envs.single_observation_space.shape))
    n_actions = int(envs.single_action_space.n)
    torch.manual_seed(seed)
    net = ActorCritic(obs_size, n_actions, config.hidden, shared=config.shared and agent == "a2c")
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(seed)
    result = PGResult(env=env_name, agent=agent, seed=seed, steps=steps, config={**asdict(config), "hidden": list(config.hidden)})
    running = np.zeros(config.n_envs)        # each environment's return so far
    trajectories = [[] for _ in range(config.n_envs)]  # REINFORCE: (obs, action, reward) of the current episodes
    finished: list = []                      # REINFORCE: whole episodes waiting for the update
    rollout: list = []                       # A2C: (obs, actions, rewards, terminated, bootstrap obs, done) per step
    step, next_eval = 0, eval_every
    identity = {"env": env_name, "agent": agent, "seed": seed, "settings": asdict(config)}  # `steps` may grow on resume
    if resume is not None:
        state = load_agent(resume, net, optimizer, generator, identity)
        step, next_eval = int(state["step"]), int(state["next_eval"])
        result.steps_to_target = state.get("steps_to_target")
        for key in CURVES:
            setattr(result, key, list(state["curves"][key]))
        obs, _info = envs.reset(seed=seed + step)  # fresh episodes, on seeds of their own
    next_save = (step // checkpoint_every + 1) * checkpoint_every if checkpoint_every else None
    started, first_step = time.perf_counter(), step

    def save() -> None:
        save_agent(checkpoint, net, optimizer, generator, identity,
                   {"step": step, "next_eval": next_eval, "steps_to_target": result.steps_to_target,
                    "curves": {key: getattr(result, key) for key in CURVES}})

    def sample(observation):
        with torch.no_grad():
            logits, _value = net(torch.as_tensor(observation, dtype=torch.float32))  # [E, A]
        probs = torch.softmax(logits, -1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(1).numpy()  # [E]

    def step_update(loss: torch.Tensor, entropy: torch.Tensor) -> None:
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), config.max_grad_norm)
        optimizer.step()
        result.loss.append([step, float(loss.item())])
        result.entropy.append([step, float(entropy.item())])

    while step < steps:
        actions = sample(obs)
        next_obs, rewards, terminated, truncated, info = envs.step(actions)
        step += config.n_envs
        done = terminated | truncated
        for i in range(config.n_envs):
            reward = check_reward(rewards[i], episode=len(result.episode_returns), step=step)
            running[i] += reward
            if agent == "reinforce":
                trajectories[i].append((obs[i], int(actions[i]), reward))
            if done[i]:
                result.episode_returns.append([step, float(running[i])])
                running[i] = 0.0
                if agent == "reinforce":
                    finished.append(trajectories[i])
                    trajectories[i] = []
                recent = [r for _s, r in result.episode_returns[-config.target_window:]]
                if (result.steps_to_target is None and len(recent) >= config.target_window
                        and sum(recent) / len(recent) >= config.target):
                    result.steps_to_target = step
        if agent == "a2c":
            # the state to bootstrap from: s_{t+1}, or the last observation where the episode was cut (time limit)
            final = np.array(next_obs, copy=True)
            for i in np.flatnonzero(done):
                final[i] = info["final_obs"][i]
            rollout.append((obs, actions, rewards.astype(np.float32), terminated, final, done))
            if len(rollout) == config.n_steps:
                step_update(*_a2c_loss(net, rollout, config))
                rollout = []
        elif len(finished) >= config.batch_episodes:
            step_update(*_reinforce_loss(net, finished, config))
            finished = []
        obs = next_obs
        if eval_every and step >= next_eval:
            _evaluate(net, env_name, result, step, eval_episodes, seed, log)
            next_eval += eval_every
        # right after an update, so that no collected experience is lost with the save
        if next_save is not None and checkpoint is not None and step >= next_save and not rollout and not finished:
            save()
            next_save += checkpoint_every
    envs.close()
    result.steps = step
    result.wall_seconds = time.perf_counter() - started
    result.steps_per_second = (step - first_step) / max(result.wall_seconds, 1e-9)
    if eval_every and (not result.evaluations or result.evaluations[-1][0] != step):
        _evaluate(net, env_name, result, step, eval_episodes, seed, log)
    if checkpoint is not None:
        save()
    result.network = net
    return result


def _reinforce_loss(net: ActorCritic, episodes: list, config: PGConfig):
    obs = torch.as_tensor(np.array([o for ep in episodes for o, _a, _r in ep]), dtype=torch.float32)  # [T, obs]
    actions = torch.tensor([a for ep in episodes for _o, a, _r in ep])                                 # [T]
    returns = torch.tensor([g for ep in episodes for g in discounted_returns([r for _o, _a, r in ep], config.gamma)],
                           dtype=torch.float32)                                                        # [T]
    logits, values = net(obs)
    log_probs = torch.log_softmax(logits, -1)                                                          # [T, A]
    advantages = returns - values.detach()  # the baseline: it shifts the gradient's mean by nothing, its variance down
    if config.normalize_advantages and len(advantages) > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
    policy_loss = -(log_probs.gather(1, actions.unsqueeze(1)).squeeze(1) * advantages).mean()
    value_loss = nn.functional.mse_loss(values, returns)
    return policy_loss + config.value_coef * value_loss - config.entropy_coef * entropy, entropy


def _a2c_loss(net: ActorCritic, rollout: list, config: PGConfig):
    obs = torch.as_tensor(np.array([r[0] for r in rollout]), dtype=torch.float32)        # [N, E, obs]
    actions = torch.as_tensor(np.array([r[1] for r in rollout]), dtype=torch.int64)      # [N, E]
    rewards = torch.as_tensor(np.array([r[2] for r in rollout]))                         # [N, E]
    terminated = torch.as_tensor(np.array([r[3] for r in rollout]), dtype=torch.float32)
    done = torch.as_tensor(np.array([r[5] for r in rollout]), dtype=torch.float32)
    final = torch.as_tensor(np.array([r[4] for r in rollout]), dtype=torch.float32)      # [N, E, obs]
    n, e = actions.shape
    logits, values = net(obs.reshape(n * e, -1))
    with torch.no_grad():
        _l, final_values = net(final.reshape(n * e, -1))
    final_values = final_values.reshape(n, e) * (1 - terminated)  # V(s') where the episode went on or was only cut
    # n-step targets backwards: where an episode ended at t, its value is r_t + γ V(final_t); else r_t + γ G_{t+1}
    targets = torch.zeros(n, e)
    g = final_values[-1]
    for t in reversed(range(n)):
        g = rewards[t] + config.gamma * torch.where(done[t].bool() | (t == n - 1), final_values[t], g)
        targets[t] = g
    values = values.reshape(n, e)
    log_probs = torch.log_softmax(logits, -1)                                            # [N·E, A]
    advantages = (targets - values).detach().reshape(-1)
    entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
    policy_loss = -(log_probs.gather(1, actions.reshape(-1, 1)).squeeze(1) * advantages).mean()
    value_loss = nn.functional.mse_loss(values, targets)
    return policy_loss + config.value_coef * value_loss - config.entropy_coef * entropy, entropy


def _evaluate(net: ActorCritic, env_name: str, result: PGResult, step: int, episodes: int, seed: int, log=None) -> None:
    from .envs import evaluate_policy

    returns = evaluate_policy(env_name, net.greedy, episodes=episodes, seed=10_000 + seed)
    mean = sum(returns) / len(returns)
    result.evaluations.append([step, mean])
    if log is not None:
        log(step, mean)
