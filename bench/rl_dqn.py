"""tujie's DQN against stable-baselines3's DQN on CartPole-v1, same steps, same seeds, same hyperparameters.

    OMP_NUM_THREADS=1 .venv/bin/python bench/rl_dqn.py --steps 50000 --seeds 0 1 2 3 4 --episodes 100

Both use rl-zoo's published CartPole-v1 hyperparameters for SB3's DQN (rl-baselines3-zoo,
hyperparams/dqn.yml): lr 2.3e-3, batch 64, buffer 100k, learning_starts 1000, gamma 0.99,
target_update_interval 10, train_freq 256, gradient_steps 128, exploration_fraction 0.16,
exploration_final_eps 0.04, net [256, 256] (tujie's DQNConfig defaults are these). After training,
each agent's greedy policy plays `--episodes` episodes on the same evaluation seeds
(tujie.rl.envs.evaluate_policy); the table gives the mean evaluation return and the training wall
time of each, and whether the issue's target holds (mean ≥ 475). `--skip-sb3` runs tujie alone,
`--skip-tujie` SB3 alone.

`--keep-best`: both end with the network of their best periodic greedy evaluation (every 5,000
steps, 10 episodes) rather than the last one: tujie's `keep_best=True` (the cartpole-dqn recipe's
setting) and SB3's `EvalCallback(best_model_save_path=...)`, rl-zoo's way of keeping a model.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from tujie.rl.dqn import train_dqn
from tujie.rl.envs import evaluate_policy

EVAL_SEED = 100_000  # the evaluation episodes' seeds: EVAL_SEED, EVAL_SEED + 1, ...


KEEP_BEST_EVERY, KEEP_BEST_EPISODES = 5000, 10


def tujie_run(env: str, steps: int, seed: int, episodes: int, keep_best: bool = False) -> dict:
    started = time.perf_counter()
    result = train_dqn(env, steps=steps, seed=seed, eval_every=KEEP_BEST_EVERY if keep_best else 0,
                       eval_episodes=KEEP_BEST_EPISODES, keep_best=keep_best)
    wall = time.perf_counter() - started
    agent = result.agent
    returns = evaluate_policy(env, agent.greedy, episodes=episodes, seed=EVAL_SEED)
    return {"mean": sum(returns) / len(returns), "min": min(returns), "wall_s": wall, "steps_per_s": result.steps_per_second}


def sb3_run(env: str, steps: int, seed: int, episodes: int, keep_best: bool = False) -> dict:
    import tempfile

    import gymnasium
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.env_util import make_vec_env

    model = DQN("MlpPolicy", gymnasium.make(env), learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
                exploration_fraction=0.16, exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]},
                seed=seed, device="cpu", verbose=0)
    folder = tempfile.mkdtemp()
    callback = EvalCallback(make_vec_env(env, n_envs=1, seed=10_000 + seed), eval_freq=KEEP_BEST_EVERY,
                            n_eval_episodes=KEEP_BEST_EPISODES, best_model_save_path=folder, verbose=0) if keep_best else None
    started = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    wall = time.perf_counter() - started
    if keep_best:  # SB3's own zip of its own run (a bench, not a user's file)
        model = DQN.load(f"{folder}/best_model.zip", device="cpu")
    returns = evaluate_policy(env, lambda obs: int(model.predict(obs, deterministic=True)[0]), episodes=episodes,
                              seed=EVAL_SEED)
    return {"mean": sum(returns) / len(returns), "min": min(returns), "wall_s": wall, "steps_per_s": steps / wall}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--skip-sb3", action="store_true")
    parser.add_argument("--skip-tujie", action="store_true")
    parser.add_argument("--keep-best", action="store_true", help="both keep the network of their best periodic evaluation")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    print(f"{args.env}, {args.steps:,} steps, greedy evaluation over {args.episodes} episodes")
    print(f"{'seed':>4} {'agent':>6} {'mean return':>12} {'min':>6} {'train s':>8} {'steps/s':>8} {'≥ 475':>6}")
    for seed in args.seeds:
        for agent, fn in (("tujie", tujie_run), ("sb3", sb3_run)):
            if (agent == "sb3" and args.skip_sb3) or (agent == "tujie" and args.skip_tujie):
                continue
            row = {"seed": seed, "agent": agent, **fn(args.env, args.steps, seed, args.episodes, args.keep_best)}
            rows.append(row)
            print(f"{seed:>4} {agent:>6} {row['mean']:>12.1f} {row['min']:>6.0f} {row['wall_s']:>8.1f} "
                  f"{row['steps_per_s']:>8.0f} {'yes' if row['mean'] >= 475 else 'no':>6}", flush=True)
    for agent in ("tujie", "sb3"):
        own = [r for r in rows if r["agent"] == agent]
        if own:
            hits = sum(r["mean"] >= 475 for r in own)
            print(f"{agent}: mean {sum(r['mean'] for r in own) / len(own):.1f}, {hits} of {len(own)} seeds ≥ 475, "
                  f"mean train time {sum(r['wall_s'] for r in own) / len(own):.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
