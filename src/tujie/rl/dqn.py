"""DQN (Mnih et al. 2015) with a target network, Double DQN, Huber loss and an ε schedule (chapter 16).

The Q-network maps an observation to one value per action: Q(s, ·). Each update moves Q(s, a)
towards the one-step target r + γ (1 − done) max_a' Q_target(s', a') (Double DQN: the online
network picks a', the target network values it), with the Huber loss and the gradient norm clipped.
Actions are ε-greedy with ε decaying linearly from `eps_start` to `eps_end` over the first
`exploration_fraction` of the steps. The defaults are rl-zoo's CartPole hyperparameters for
stable-baselines3's DQN (bench/rl_dqn.py runs both).

Any torch module of shape [B, obs] → [B, actions] can be the Q-network (`q_network=`); the default
is an MLP. A checkpoint (`DQNAgent.save`) keeps the online and target networks, the optimizer, the
step counter and ε in one safetensors file with JSON metadata. The replay buffer is NOT saved: a
resumed run refills it, learning again only after `learning_starts` fresh transitions.

Example:
    >>> result = train_dqn("CartPole-v1", steps=300, seed=0, learning_starts=100, train_freq=50,
    ...                    gradient_steps=5, hidden=(16,), eval_every=0)
    >>> result.steps, len(result.episode_returns) > 0, 0.04 <= result.epsilon[-1][1] <= 1.0
    (300, True, True)
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError
from .checkpoints import load_agent, save_agent
from .envs import check_discrete_actions, check_reward, make_env
from .replay import ReplayBuffer

CURVES = ("episode_returns", "epsilon", "loss", "q_values", "evaluations")  # what a checkpoint carries over


@dataclass
class DQNConfig:
    """DQN's hyperparameters (defaults: rl-zoo's CartPole-v1 settings for SB3's DQN)."""

    lr: float = 2.3e-3
    batch_size: int = 64
    buffer_size: int = 100_000
    learning_starts: int = 1000
    gamma: float = 0.99
    target_update_interval: int = 10  # env steps between target updates (SB3 counts the same way)
    tau: float = 1.0                  # 1: hard copy; < 1: soft (Polyak) update θ' ← τθ + (1 − τ)θ'
    train_freq: int = 256             # env steps between training rounds
    gradient_steps: int = 128         # gradient steps per round
    exploration_fraction: float = 0.16
    eps_start: float = 1.0
    eps_end: float = 0.04
    max_grad_norm: float = 10.0
    double: bool = False
    hidden: tuple = (256, 256)

    def check(self) -> None:
        bad = {k: v for k, v in (("lr", self.lr), ("batch_size", self.batch_size), ("buffer_size", self.buffer_size),
                                 ("train_freq", self.train_freq), ("target_update_interval", self.target_update_interval))
               if not v > 0}
        if not 0 < self.tau <= 1:
            bad["tau"] = self.tau
        if not 0 <= self.gamma <= 1:
            bad["gamma"] = self.gamma
        if bad:
            raise ConfigError("Some DQN settings are out of range.", expected="lr, batch_size, buffer_size, train_freq, "
                              "target_update_interval > 0; 0 < tau ≤ 1; 0 ≤ gamma ≤ 1",
                              received=", ".join(f"{k}={v}" for k, v in bad.items()), fix="Correct these settings.")


def agent_settings(config_class, settings: dict, what: str):
    """`config_class(**settings)` (a dataclass of an agent's settings), an unknown name refused with the closest one.

    Example:
        >>> agent_settings(DQNConfig, {"lr": 1e-3}, "DQN").lr
        0.001
    """
    from ..errors import closest

    fields = list(config_class.__dataclass_fields__)
    unknown = sorted(set(settings) - set(fields))
    if unknown:
        raise ConfigError(f"Unknown {what} setting {unknown[0]!r}. {closest(unknown[0], fields)}", expected=", ".join(fields),
                          received=", ".join(unknown), fix=f"Use the {config_class.__name__} field names.")
    return config_class(**{**settings, "hidden": tuple(settings.get("hidden", config_class.hidden))})


def mlp(in_features: int, out_features: int, hidden=(256, 256)) -> nn.Sequential:
    """Linear-ReLU layers: [B, in] → [B, out] (the default Q-network, actor and critic)."""
    layers, width = [], in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def linear_epsilon(step: int, total: int, config: DQNConfig) -> float:
    """ε at `step`: linear from eps_start to eps_end over exploration_fraction × total steps, then flat."""
    span = max(config.exploration_fraction * total, 1.0)
    progress = min(step / span, 1.0)
    return config.eps_start + progress * (config.eps_end - config.eps_start)


@dataclass
class DQNResult:
    """What one DQN run gives: curves as [step, value] pairs, returns per finished episode."""

    env: str
    seed: int
    steps: int
    episode_returns: list = field(default_factory=list)   # [[step at the episode's end, return], ...]
    epsilon: list = field(default_factory=list)           # [[step, ε], ...]
    loss: list = field(default_factory=list)              # [[step, mean Huber loss of the round], ...]
    q_values: list = field(default_factory=list)          # [[step, mean max_a Q(s, a) over the round's batches], ...]
    evaluations: list = field(default_factory=list)       # [[step, mean greedy return], ...]
    steps_per_second: float = 0.0
    wall_seconds: float = 0.0
    config: dict = field(default_factory=dict)
    best_step: int | None = None   # keep_best: the step of the evaluation whose network was kept
    best_eval: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class DQNAgent:
    """The online and target Q-networks, their optimizer and the step counter."""

    def __init__(self, q_network: nn.Module, config: DQNConfig, n_actions: int):
        self.config, self.n_actions = config, n_actions
        self.q = q_network
        self.target = copy.deepcopy(q_network).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.q.parameters(), lr=config.lr)
        self.step = 0
        self.epsilon = config.eps_start

    @torch.no_grad()
    def greedy(self, obs) -> int:
        q = self.q(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))  # [1, A]
        return int(q.argmax(1).item())

    def act(self, obs, generator: torch.Generator) -> int:
        """ε-greedy: a uniform random action with probability ε, else argmax_a Q(s, a)."""
        if torch.rand((), generator=generator).item() < self.epsilon:
            return int(torch.randint(0, self.n_actions, (), generator=generator).item())
        return self.greedy(obs)

    def update(self, batch: dict) -> tuple[float, float]:
        """One gradient step on a batch: returns (Huber loss, mean max_a Q(s, a))."""
        c = self.config
        q_all = self.q(batch["obs"])                                          # [B, A]
        q_taken = q_all.gather(1, batch["action"].unsqueeze(1)).squeeze(1)    # [B]
        with torch.no_grad():
            next_target = self.target(batch["next_obs"])                      # [B, A]
            if c.double:  # the online network chooses a', the target network values it
                best = self.q(batch["next_obs"]).argmax(1, keepdim=True)      # [B, 1]
                next_value = next_target.gather(1, best).squeeze(1)
            else:
                next_value = next_target.max(1).values                         # [B]
            target = batch["reward"] + c.gamma * (1.0 - batch["done"]) * next_value
        loss = nn.functional.smooth_l1_loss(q_taken, target)  # Huber: a bounded gradient for large TD errors
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.q.parameters(), c.max_grad_norm)
        self.optimizer.step()
        return float(loss.item()), float(q_all.detach().max(1).values.mean().item())

    @torch.no_grad()
    def update_target(self) -> None:
        tau = self.config.tau
        for p_target, p in zip(self.target.parameters(), self.q.parameters()):
            p_target.mul_(1 - tau).add_(p, alpha=tau)

    def save(self, path, generator: torch.Generator, identity: dict, state: dict | None = None, best=None) -> Path:
        """Online and target networks (and the kept best one), optimizer, generator, step counter and ε
        (not the replay buffer: `rl.checkpoints`)."""
        state = {"step": self.step, "epsilon": self.epsilon, **(state or {})}
        modules = {"target": self.target, **({"best": best} if best is not None else {})}
        return save_agent(path, self.q, self.optimizer, generator, identity, state, modules=modules)

    def load(self, path, generator: torch.Generator, identity: dict, best=None) -> dict:
        """Restore what `save` wrote (refused if another run wrote it); returns its state (step, ε, curves)."""
        modules = {"target": self.target, **({"best": best} if best is not None else {})}
        state = load_agent(path, self.q, self.optimizer, generator, identity, modules=modules)
        self.step, self.epsilon = int(state["step"]), float(state["epsilon"])
        return state


def _open_env(env, seed: int):
    if isinstance(env, str):
        env = make_env(env, seed=seed)
    check_discrete_actions(env, "DQN")
    return env


def _env_name(env) -> str:
    return env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", type(env).__name__)


def train_dqn(env, *, steps: int, seed: int = 0, q_network: nn.Module | None = None, eval_every: int = 5000,
              eval_episodes: int = 10, resume=None, checkpoint=None, checkpoint_every: int = 0, keep_best: bool = False,
              log=None, **settings) -> DQNResult:
    """Train DQN for `steps` environment steps.

    Args:
        env: an environment name (`tujie.rl.envs.make_env`) or a gymnasium environment with discrete actions.
        steps: environment steps of this run (a resumed run continues up to `steps` in all).
        seed: seeds the network's initialisation, the environment, ε-greedy and the replay sampling.
        q_network: any module [B, obs] → [B, actions]; default `mlp(obs, actions, hidden)`.
        eval_every: greedy evaluation every so many steps (`eval_episodes` episodes; 0: none).
        resume: a checkpoint of the same run (environment, seed, settings) to continue from, up to `steps`
            (which may be larger than the first run's); its replay buffer is refilled (`rl.checkpoints`).
        checkpoint: where to save the agent at the end (safetensors with JSON metadata), or None.
        checkpoint_every: also save it every so many steps (0: only at the end).
        keep_best: end with the Q-network of the best periodic evaluation (the later one on a tie)
            rather than the last one, as stable-baselines3's EvalCallback keeps `best_model`: DQN's
            greedy policy can drop from 500 to a few dozen between two training rounds.
        log: called with a line of progress now and then, or None.
        **settings: DQNConfig fields (lr, batch_size, double, tau, ...).
    """
    config = agent_settings(DQNConfig, settings, "DQN")
    config.check()
    name = _env_name(env)
    env = _open_env(env, seed)
    obs_shape = env.observation_space.shape
    n_actions = int(env.action_space.n)
    torch.manual_seed(seed)  # the network's initial weights
    if q_network is None:
        q_network = mlp(int(torch.tensor(obs_shape).prod()), n_actions, config.hidden)
    agent = DQNAgent(q_network, config, n_actions)
    result = DQNResult(env=name, seed=seed, steps=steps, config={**asdict(config), "hidden": list(config.hidden)})
    generator = torch.Generator().manual_seed(seed)
    # `steps` is not part of it: a resumed run may train on to a larger total
    identity = {"env": name, "agent": "dqn", "seed": seed, "settings": asdict(config)}
    best = copy.deepcopy(q_network).requires_grad_(False) if keep_best else None  # the best evaluation's network
    start_step = 0
    if resume is not None:
        state = agent.load(resume, generator, identity, best)
        start_step = agent.step
        for key in CURVES:
            setattr(result, key, list(state["curves"][key]))
        result.best_step, result.best_eval = state.get("best_step"), state.get("best_eval")

    def save() -> None:
        agent.save(checkpoint, generator, identity, {"curves": {key: getattr(result, key) for key in CURVES},
                                                     "best_step": result.best_step, "best_eval": result.best_eval}, best)

    buffer = ReplayBuffer(config.buffer_size, obs_shape)
    env.action_space.seed(seed)
    obs, _info = env.reset(seed=seed + start_step)
    episode_return, fresh = 0.0, 0
    started = time.perf_counter()
    for step in range(start_step + 1, steps + 1):
        agent.step = step
        agent.epsilon = linear_epsilon(step, steps, config)
        action = agent.act(obs, generator)
        next_obs, reward, terminated, truncated, _info = env.step(action)
        reward = check_reward(reward, episode=len(result.episode_returns), step=step)
        buffer.add(obs, action, reward, next_obs, terminated)
        fresh += 1
        episode_return += reward
        obs = next_obs
        if terminated or truncated:
            result.episode_returns.append([step, episode_return])
            episode_return = 0.0
            obs, _info = env.reset()
        if fresh >= config.learning_starts and step % config.train_freq == 0:
            losses, qs = zip(*(agent.update(buffer.sample(config.batch_size, generator)) for _ in range(config.gradient_steps)))
            result.loss.append([step, sum(losses) / len(losses)])
            result.q_values.append([step, sum(qs) / len(qs)])
        if step % config.target_update_interval == 0:
            agent.update_target()
        if step % max(steps // 200, 1) == 0 or step == steps:
            result.epsilon.append([step, agent.epsilon])
        if eval_every and (step % eval_every == 0 or step == steps):
            mean = evaluate_greedy(agent, name, result, step, eval_episodes, seed, log)
            if best is not None and (result.best_eval is None or mean >= result.best_eval):
                best.load_state_dict(agent.q.state_dict())
                result.best_step, result.best_eval = step, mean
        if checkpoint is not None and checkpoint_every and step % checkpoint_every == 0 and step != steps:
            save()
    env.close()
    result.wall_seconds = time.perf_counter() - started
    result.steps_per_second = (steps - start_step) / max(result.wall_seconds, 1e-9)
    if best is not None and result.best_step is not None:
        agent.q.load_state_dict(best.state_dict())
    result.agent = agent  # the trained agent, for the caller (not part of to_dict)
    if checkpoint is not None:
        save()
    return result


def evaluate_greedy(agent: DQNAgent, env_name: str, result: DQNResult, step: int, episodes: int, seed: int, log=None) -> float:
    """Mean return of the greedy policy (no ε) over `episodes` episodes on their own seeds."""
    from .envs import evaluate_policy

    agent.q.eval()
    returns = evaluate_policy(env_name, agent.greedy, episodes=episodes, seed=10_000 + seed)
    agent.q.train()
    mean = sum(returns) / len(returns)
    result.evaluations.append([step, mean])
    if log is not None:
        log(step, mean)
    return mean
