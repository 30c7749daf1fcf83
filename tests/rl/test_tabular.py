"""Q-learning and SARSA: the book's update on a hand-made transition, terminal vs truncated, ε, seeds, learning."""

import itertools
import math

import numpy as np
import pytest

from tujie.errors import ConfigError, DataError
from tujie.rl import tabular
from tujie.rl.tabular import EpsilonSchedule, epsilon_greedy, q_learning_update, sarsa_update, train_tabular


def test_q_learning_update_is_the_books_formula():
    q = np.array([[0.5, 1.0], [2.0, 3.0]])
    alpha, gamma, r = 0.1, 0.9, -1.0
    expected = 1.0 + alpha * (r + gamma * max(2.0, 3.0) - 1.0)  # Q(s,a) + α[r + γ max_a' Q(s',a') − Q(s,a)]
    td = q_learning_update(q, 0, 1, r, 1, terminated=False, alpha=alpha, gamma=gamma)
    assert q[0, 1] == pytest.approx(expected) and td == pytest.approx(r + gamma * 3.0 - 1.0)
    assert q[0, 0] == 0.5 and q[1].tolist() == [2.0, 3.0]  # only Q(s, a) moves


def test_sarsa_uses_the_next_chosen_action_not_the_max():
    q = np.array([[0.0, 1.0], [2.0, 3.0]])
    sarsa_update(q, 0, 1, 0.0, 1, 0, terminated=False, alpha=0.5, gamma=1.0)
    assert q[0, 1] == pytest.approx(1.0 + 0.5 * (0.0 + 2.0 - 1.0))


def test_a_terminal_state_bootstraps_zero_and_a_truncated_one_does_not():
    q = np.array([[0.0], [10.0]])
    q_learning_update(q, 0, 0, 1.0, 1, terminated=True, alpha=1.0, gamma=0.9)
    assert q[0, 0] == 1.0  # r alone: no future after the hole or the goal
    q = np.array([[0.0], [10.0]])
    q_learning_update(q, 0, 0, 1.0, 1, terminated=False, alpha=1.0, gamma=0.9)  # truncated: time ran out, s' goes on
    assert q[0, 0] == pytest.approx(1.0 + 0.9 * 10.0)


def test_truncated_episodes_still_bootstrap_in_training(monkeypatch):
    seen = []
    real = tabular.q_learning_update

    def spy(q, s, a, r, s_next, *, terminated, alpha, gamma):
        seen.append(terminated)
        return real(q, s, a, r, s_next, terminated=terminated, alpha=alpha, gamma=gamma)

    monkeypatch.setattr(tabular, "q_learning_update", spy)
    monkeypatch.setattr(tabular, "epsilon_greedy", lambda row, eps, rng: 0)
    # "left" forever from the start never terminates: the 100-step limit truncates the episode
    train_tabular("FrozenLake-v1", episodes=1, epsilon=EpsilonSchedule(0.0, 0.0), seed=0, eval_episodes=0,
                  env_kwargs={"is_slippery": False})
    assert len(seen) == 100 and not any(seen)


def test_epsilon_schedules_decay_from_start_to_end():
    linear = EpsilonSchedule(1.0, 0.1, "linear", 10)
    assert [linear.value(e) for e in (0, 5, 10, 50)] == [1.0, 0.55, 0.1, 0.1]
    exponential = EpsilonSchedule(1.0, 0.1, "exponential", 10)
    values = [exponential.value(e) for e in range(30)]
    assert values[0] == 1.0 and all(a > b for a, b in itertools.pairwise(values)) and values[-1] > 0.1
    with pytest.raises(ConfigError):
        EpsilonSchedule(1.0, 0.1, "cosine", 10)


def test_epsilon_greedy_breaks_ties_at_random_and_is_seeded():
    row = np.array([1.0, 1.0, 0.0, 1.0])
    picks = [epsilon_greedy(row, 0.0, np.random.default_rng(s)) for s in range(40)]
    assert set(picks) == {0, 1, 3}  # every best action, never the worse one
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    assert [epsilon_greedy(row, 0.5, rng_a) for _ in range(20)] == [epsilon_greedy(row, 0.5, rng_b) for _ in range(20)]


@pytest.mark.parametrize("algorithm", ["qlearning", "sarsa"])
def test_the_same_seed_gives_the_same_returns(algorithm):
    def once(seed):
        return train_tabular("FrozenLake-v1", algorithm=algorithm, episodes=150, seed=seed, eval_episodes=5)

    a, b, c = once(1), once(1), once(2)
    assert a.returns == b.returns and np.array_equal(a.q, b.q) and a.eval_returns == b.eval_returns
    assert a.returns != c.returns or not np.array_equal(a.q, c.q)


def test_q_learning_solves_the_calm_lake():
    result = train_tabular("FrozenLake-v1", episodes=300, alpha=0.5, gamma=0.95, seed=0, eval_episodes=10,
                           env_kwargs={"is_slippery": False})
    assert result.eval_success_rate == 1.0 and len(result.epsilons) == 300 and result.epsilons[0] == 1.0


def test_a_nan_reward_stops_training_at_its_step(monkeypatch):
    import gymnasium

    from tujie.rl import envs

    real = envs.make_env

    def poisoned(name, **kwargs):
        return gymnasium.wrappers.TransformReward(real(name, **kwargs), lambda r: math.nan)

    monkeypatch.setattr(tabular, "make_env", poisoned)
    with pytest.raises(DataError, match="episode 0, step 0"):
        train_tabular("FrozenLake-v1", episodes=2, seed=0, eval_episodes=0)


def test_continuous_states_and_unknown_algorithms_are_refused():
    with pytest.raises(ConfigError, match="discrete state space"):
        train_tabular("CartPole-v1", episodes=1, eval_episodes=0)
    with pytest.raises(ConfigError, match="qlearning or sarsa"):
        train_tabular("FrozenLake-v1", algorithm="td-lambda", episodes=1)


def test_a_resumed_table_gives_the_returns_of_a_run_never_stopped(tmp_path):
    from tujie.errors import CheckpointError

    class Killed(Exception):
        pass

    def kill_at_150(episode, _return, _eps):
        if episode == 150:
            raise Killed

    settings = dict(episodes=300, seed=3, eval_episodes=0)
    whole = train_tabular("FrozenLake-v1", **settings)
    path = tmp_path / "table.safetensors"
    with pytest.raises(Killed):  # killed after the checkpoint at episode 100
        train_tabular("FrozenLake-v1", **settings, checkpoint=path, checkpoint_every=100, on_episode=kill_at_150)
    resumed = train_tabular("FrozenLake-v1", **settings, resume=path)
    assert np.array_equal(resumed.q, whole.q) and resumed.returns == whole.returns and resumed.steps == whole.steps
    with pytest.raises(CheckpointError, match="sarsa"):
        train_tabular("FrozenLake-v1", algorithm="sarsa", **settings, resume=path)
