"""Environments by name: seeded, close names for a typo, discrete actions only, NaN rewards stop, frames render."""

import math

import numpy as np
import pytest

from tujie.errors import ConfigError, DataError
from tujie.rl.envs import check_discrete_actions, check_reward, evaluate_policy, make_env, moving_average, record_frames


def test_an_unknown_name_lists_the_close_ones():
    with pytest.raises(ConfigError) as error:
        make_env("CartPol-v1")
    assert "CartPole-v1" in str(error.value) and "Did you mean" in str(error.value)


def test_a_bad_option_is_a_config_error_not_a_traceback():
    with pytest.raises(ConfigError, match="env_kwargs"):
        make_env("FrozenLake-v1", no_such_option=True)


def test_the_same_seed_gives_the_same_episode():
    def episode(seed):
        env = make_env("FrozenLake-v1", seed=seed)
        return [env.step(env.action_space.sample())[0] for _ in range(30)]

    assert episode(3) == episode(3)


def test_a_continuous_action_space_is_refused_clearly():
    assert check_discrete_actions(make_env("CartPole-v1"), "DQN") == 2
    with pytest.raises(ConfigError, match="discrete action space") as error:
        check_discrete_actions(make_env("Pendulum-v1"), "DQN")
    assert "Pendulum-v1" in str(error.value) and "Box" in str(error.value)


def test_a_nan_reward_names_the_episode_and_step():
    assert check_reward(np.float32(-1.0), episode=0, step=0) == -1.0
    with pytest.raises(DataError, match="episode 4, step 7"):
        check_reward(math.nan, episode=4, step=7)


def test_greedy_evaluation_is_seeded_and_reaches_the_goal_on_the_calm_lake():
    path = {0: 1, 4: 1, 8: 2, 9: 1, 13: 2, 14: 2}  # down, down, right, down, right, right: around the holes
    returns = evaluate_policy("FrozenLake-v1", lambda s: path[int(s)], episodes=3, seed=0, is_slippery=False)
    assert returns == [1.0, 1.0, 1.0]


def test_frames_of_one_episode_keep_both_ends():
    frames = record_frames("FrozenLake-v1", lambda s: 0, seed=0, max_frames=4, is_slippery=False)  # left forever: truncated at 100
    assert 2 <= len(frames) <= 4 and frames[0].dtype == np.uint8 and frames[0].shape[-1] == 3


def test_moving_average_uses_fewer_values_at_the_start():
    assert moving_average([2, 4, 6, 8], 3).tolist() == [2.0, 3.0, 4.0, 6.0]
    assert moving_average([], 5).size == 0
