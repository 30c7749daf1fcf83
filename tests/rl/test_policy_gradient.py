"""REINFORCE and A2C: returns, shared and separate actor-critic, determinism, refusals."""

import pytest
import torch

from tujie.errors import ConfigError
from tujie.rl.policy_gradient import ActorCritic, discounted_returns, train_policy_gradient

TINY = dict(hidden=(8,), n_envs=2, eval_every=0)


def test_discounted_returns_with_a_bootstrap():
    assert discounted_returns([1.0, 2.0], 0.5, bootstrap=4.0) == [3.0, 4.0]


@pytest.mark.parametrize("agent", ["reinforce", "a2c"])
def test_same_seed_same_returns(agent):
    a = train_policy_gradient("CartPole-v1", agent, steps=300, seed=1, batch_episodes=2, **TINY)
    b = train_policy_gradient("CartPole-v1", agent, steps=300, seed=1, batch_episodes=2, **TINY)
    assert a.episode_returns == b.episode_returns and a.loss == b.loss and a.loss
    assert all(r >= 1 for _s, r in a.episode_returns) and a.steps >= 300


def test_shared_and_separate_actor_critic():
    shared, separate = ActorCritic(4, 2, (8, 8), shared=True), ActorCritic(4, 2, (8, 8))
    for net in (shared, separate):
        logits, value = net(torch.zeros(3, 4))
        assert logits.shape == (3, 2) and value.shape == (3,)
    assert sum(p.numel() for p in shared.parameters()) < sum(p.numel() for p in separate.parameters())
    result = train_policy_gradient("CartPole-v1", "a2c", steps=100, seed=0, shared=True, **TINY)
    assert result.network.shared


def test_steps_to_target_is_recorded_when_reached():
    result = train_policy_gradient("CartPole-v1", "a2c", steps=200, seed=0, target=1.0, target_window=2, **TINY)
    assert result.steps_to_target is not None and result.steps_to_target <= 200


def test_unknown_agent_setting_and_continuous_actions_are_refused():
    with pytest.raises(ConfigError, match="a2c"):
        train_policy_gradient("CartPole-v1", "a3c", steps=10)
    with pytest.raises(ConfigError, match="entropy_coef"):
        train_policy_gradient("CartPole-v1", "a2c", steps=10, entropy=0.1)
    with pytest.raises(ConfigError, match="discrete"):
        train_policy_gradient("Pendulum-v1", "a2c", steps=10)


@pytest.mark.parametrize("agent", ["reinforce", "a2c"])
def test_checkpoint_every_and_resume_carry_the_network_optimizer_and_curves_on(agent, tmp_path):
    from tujie.errors import CheckpointError

    path = tmp_path / "agent.safetensors"
    first = train_policy_gradient("CartPole-v1", agent, steps=300, seed=2, batch_episodes=2, checkpoint=path,
                                  checkpoint_every=100, **TINY)
    resumed = train_policy_gradient("CartPole-v1", agent, steps=600, seed=2, batch_episodes=2, resume=path, **TINY)
    assert resumed.steps >= 600 and resumed.loss[:len(first.loss)] == first.loss
    assert resumed.episode_returns[:len(first.episode_returns)] == first.episode_returns
    assert len(resumed.loss) > len(first.loss) and resumed.loss[len(first.loss)][0] > first.steps
    with pytest.raises(CheckpointError, match="lr"):  # saved with other settings: refused, naming them
        train_policy_gradient("CartPole-v1", agent, steps=600, seed=2, batch_episodes=2, lr=0.5, resume=path, **TINY)
