"""DQN: replay buffer, ε schedule, target updates, Double DQN, determinism, checkpoint/resume, refusals."""

import dataclasses
import math

import gymnasium
import pytest
import torch

from tujie.errors import CheckpointError, ConfigError, DataError
from tujie.rl.dqn import DQNAgent, DQNConfig, linear_epsilon, mlp, train_dqn
from tujie.rl.replay import ReplayBuffer

TINY = dict(learning_starts=50, train_freq=25, gradient_steps=2, hidden=(8,), eval_every=0, batch_size=16)


def test_replay_buffer_wraps_and_samples_the_same_with_the_same_generator():
    buffer = ReplayBuffer(4, (2,))
    for i in range(6):
        buffer.add([i, -i], i % 2, float(i), [i + 1, 0], i == 5)
    assert len(buffer) == 4 and buffer.reward.tolist() == [4.0, 5.0, 2.0, 3.0] and buffer.done.tolist() == [0, 1, 0, 0]
    a = buffer.sample(8, torch.Generator().manual_seed(3))
    b = buffer.sample(8, torch.Generator().manual_seed(3))
    assert torch.equal(a["obs"], b["obs"]) and a["obs"].shape == (8, 2) and a["action"].dtype == torch.int64
    with pytest.raises(ConfigError):
        ReplayBuffer(0, (2,))
    with pytest.raises(ConfigError):
        ReplayBuffer(3, (2,)).sample(1)


def test_epsilon_decays_linearly_then_stays():
    config = DQNConfig(exploration_fraction=0.5, eps_start=1.0, eps_end=0.1)
    assert linear_epsilon(0, 100, config) == 1.0
    assert math.isclose(linear_epsilon(25, 100, config), 0.55)
    assert linear_epsilon(50, 100, config) == pytest.approx(0.1) == linear_epsilon(99, 100, config)


def _batch():
    return {"obs": torch.randn(8, 4), "action": torch.randint(0, 2, (8,)), "reward": torch.ones(8),
            "next_obs": torch.randn(8, 4), "done": torch.zeros(8)}


def test_hard_and_soft_target_updates():
    torch.manual_seed(0)
    hard = DQNAgent(mlp(4, 2, (8,)), DQNConfig(), 2)
    hard.update(_batch())
    assert not all(torch.equal(p, q) for p, q in zip(hard.q.parameters(), hard.target.parameters()))
    hard.update_target()
    assert all(torch.equal(p, q) for p, q in zip(hard.q.parameters(), hard.target.parameters()))
    soft = DQNAgent(mlp(4, 2, (8,)), DQNConfig(tau=0.25), 2)
    before = [p.clone() for p in soft.target.parameters()]
    soft.update(_batch())
    soft.update_target()
    for old, new, online in zip(before, soft.target.parameters(), soft.q.parameters()):
        assert torch.allclose(new, 0.75 * old + 0.25 * online)


def test_double_dqn_target_takes_the_online_argmax():
    torch.manual_seed(0)
    agent = DQNAgent(torch.nn.Linear(4, 2), DQNConfig(double=True, gamma=1.0, lr=1e-9), 2)
    with torch.no_grad():
        agent.q.weight.copy_(torch.tensor([[0.0, 0, 0, 0], [1, 0, 0, 0]])), agent.q.bias.zero_()
        agent.target.weight.copy_(torch.tensor([[5.0, 0, 0, 0], [0, 0, 0, 0]])), agent.target.bias.zero_()
    batch = {"obs": torch.zeros(1, 4), "action": torch.zeros(1, dtype=torch.int64), "reward": torch.zeros(1),
             "next_obs": torch.tensor([[1.0, 0, 0, 0]]), "done": torch.zeros(1)}
    # online picks action 1 (value 1), the target values it at 0: target 0, so the loss is 0; plain DQN would use 5
    loss, _q = agent.update(batch)
    assert loss == pytest.approx(0.0)
    agent.config.double = False
    assert agent.update(batch)[0] == pytest.approx(4.5)  # Huber of a TD error of 5


def test_same_seed_same_returns_and_curves_are_recorded():
    a = train_dqn("CartPole-v1", steps=200, seed=3, **TINY)
    b = train_dqn("CartPole-v1", steps=200, seed=3, **TINY)
    c = train_dqn("CartPole-v1", steps=200, seed=4, **TINY)
    assert a.episode_returns == b.episode_returns and a.loss == b.loss and a.loss
    assert a.episode_returns != c.episode_returns
    assert a.epsilon[-1][0] == 200 and a.q_values and a.steps_per_second > 0


def test_any_module_is_the_q_network_and_evaluations_run():
    net = torch.nn.Sequential(torch.nn.Linear(4, 2))
    result = train_dqn("CartPole-v1", steps=100, seed=0, q_network=net,
                       **{**TINY, "eval_every": 50}, eval_episodes=1)
    assert result.agent.q is net and [s for s, _v in result.evaluations] == [50, 100]


def test_checkpoint_and_resume(tmp_path):
    path = tmp_path / "dqn.safetensors"
    first = train_dqn("CartPole-v1", steps=120, seed=0, checkpoint=path, **TINY)
    resumed = train_dqn("CartPole-v1", steps=240, seed=0, resume=path, **TINY)
    assert resumed.agent.step == 240
    assert resumed.episode_returns[:len(first.episode_returns)] == first.episode_returns
    settings = {k: v for k, v in TINY.items() if k != "eval_every"}
    config = DQNConfig(**settings)
    agent = DQNAgent(mlp(4, 2, config.hidden), config, 2)
    identity = {"env": "CartPole-v1", "agent": "dqn", "seed": 0, "settings": dataclasses.asdict(config)}
    state = agent.load(path, torch.Generator(), identity)
    assert agent.step == 120 and agent.epsilon == pytest.approx(first.epsilon[-1][1])
    assert state["curves"]["episode_returns"] == first.episode_returns
    for p, q in zip(agent.q.parameters(), first.agent.q.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(CheckpointError, match="seed"):  # another run's checkpoint
        train_dqn("CartPole-v1", steps=240, seed=1, resume=path, **TINY)


def test_continuous_actions_unknown_settings_and_bad_values_are_refused():
    with pytest.raises(ConfigError, match="discrete"):
        train_dqn("Pendulum-v1", steps=10, seed=0)
    with pytest.raises(ConfigError, match="gradient_steps"):
        train_dqn("CartPole-v1", steps=10, seed=0, gradient_step=3)
    with pytest.raises(ConfigError, match="tau"):
        train_dqn("CartPole-v1", steps=10, seed=0, tau=0.0)


def test_a_nan_reward_stops_with_its_step():
    env = gymnasium.wrappers.TransformReward(gymnasium.make("CartPole-v1"), lambda r: math.nan)
    with pytest.raises(DataError, match="step 1"):
        train_dqn(env, steps=50, seed=0, **TINY)


def test_keep_best_ends_with_the_network_of_the_best_evaluation(tmp_path):
    result = train_dqn("CartPole-v1", steps=300, seed=0, keep_best=True, eval_episodes=2,
                       **{**TINY, "eval_every": 100}, checkpoint=tmp_path / "dqn.safetensors")
    best_step, best_value = max(result.evaluations, key=lambda e: (e[1], e[0]))
    assert (result.best_step, result.best_eval) == (best_step, best_value)
    from tujie.rl.envs import evaluate_policy

    # the kept network plays its evaluation's episodes again with the same returns
    again = evaluate_policy("CartPole-v1", result.agent.greedy, episodes=2, seed=10_000)
    assert sum(again) / 2 == pytest.approx(best_value)
