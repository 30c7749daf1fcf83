"""tujie's DQN against stable-baselines3's DQN on CartPole-v1, same steps, same seeds, same hyperparameters.

    OMP_NUM_THREADS=1 .venv/bin/python bench/rl_dqn.py --steps 50000 --seeds 0 1 2 3 4 --episodes 100

Both use rl-zoo's published CartPole-v1 hyperparameters for SB3's DQN (rl-baselines3-zoo,
hyperparams/dqn.yml): lr 2.3e-3, batch 64, buffer 100k, learning_starts 1000, gamma 0.99,
target_update_interval 10, train_freq 256, gradient_steps 128, exploration_fraction 0.16,
exploration_final_eps 0.04, net [256, 256] (tujie's DQNConfig defaults are these). After training,
each agent's greedy policy plays `--episodes` episodes on the same evaluation seeds
(tujie.rl.envs.evaluate_policy); the table gives the mean evaluation return and the training wall
time of each, and whether the issue's target holds (mean ≥ 475). `--skip-sb3` runs tujie alone.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from tujie.rl.dqn import train_dqn
from tujie.rl.envs import evaluate_policy

EVAL_SEED = 100_000  # the evaluation episodes' seeds: EVAL_SEED, EVAL_SEED + 1, ...


def tujie_run(env: str, steps: int, seed: int, episodes: int) -> dict:
    started = time.perf_counter()
    result = train_dqn(env, steps=steps, seed=seed, eval_every=0)
    wall = time.perf_counter() - started
    agent = result.agent
    returns = evaluate_policy(env, agent.greedy, episodes=episodes, seed=EVAL_SEED)
    return {"mean": sum(returns) / len(returns), "min": min(returns), "wall_s": wall, "steps_per_s": result.steps_per_second}


def sb3_run(env: str, steps: int, seed: int, episodes: int) -> dict:
    import gymnasium
    from stable_baselines3 import DQN

    model = DQN("MlpPolicy", gymnasium.make(env), learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
                exploration_fraction=0.16, exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]},
                seed=seed, device="cpu", verbose=0)
    started = time.perf_counter()
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - started
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
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    print(f"{args.env}, {args.steps:,} steps, greedy evaluation over {args.episodes} episodes")
    print(f"{'seed':>4} {'agent':>6} {'mean return':>12} {'min':>6} {'train s':>8} {'steps/s':>8} {'≥ 475':>6}")
    for seed in args.seeds:
        for agent, fn in (("tujie", tujie_run), ("sb3", sb3_run)):
            if agent == "sb3" and args.skip_sb3:
                continue
            row = {"seed": seed, "agent": agent, **fn(args.env, args.steps, seed, args.episodes)}
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
