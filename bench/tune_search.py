"""`tujie tune` on digits-mlp: what pruning saves, and what a second worker process buys on this machine (issue 14).

1. Pruners: the same TPE study (sampler seed 0, 40 trials of the recipe's 30 epochs) with no
   pruner, the median pruner and Hyperband. For each: wall time, the best validation accuracy
   found, the best trial's test accuracy, trials pruned, epochs skipped and the study's own
   estimate of the time pruning saved.
2. Workers: 20 random-search trials with no pruner: one worker with one thread, one worker with
   two threads, and two worker processes (`--workers 2`: one thread each). The same amount of
   work (20 trials of 30 epochs), so the wall times compare.

Each study writes into a temporary folder; the storage is the default SQLite file. A one-trial
study first pays the imports and first-call costs, so the first row is not charged for them.

    python bench/tune_search.py [--trials 40] [--worker-trials 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from tujie.runner.tuning import tune


def one_study(trials: int, **options) -> dict:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = tune("digits-mlp", [f"output_dir={out}"], trials=trials, verbose=0, report=False, seed=0, **options)
        wall = time.perf_counter() - started
    rows = result.rows
    return {"wall_s": wall, "best": rows["best"]["value"], "best_test": (rows["best"].get("test") or {}).get("accuracy"),
            "pruned": rows["counts"]["pruned"], "complete": rows["counts"]["complete"], **rows["pruning"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--worker-trials", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    one_study(1, sampler="random", pruner="none")  # warm-up: the first study pays imports and first-call costs

    print(f"Pruners: TPE, {args.trials} trials of digits-mlp (30 epochs each), sampler seed 0\n")
    print("| pruner | wall time (against none) | best val_accuracy | its test accuracy | complete / pruned | epochs skipped | saved (study's estimate) |")
    print("|---|---|---|---|---|---|---|")
    base = None
    for pruner in ("none", "median", "hyperband"):
        r = one_study(args.trials, sampler="tpe", pruner=pruner)
        base = base if pruner != "none" else r["wall_s"]
        print(f"| {pruner} | {r['wall_s']:.0f} s ({base - r['wall_s']:.0f} s less) | {r['best']:.4f} | {r['best_test']:.4f} | "
              f"{r['complete']} / {r['pruned']} | {r['epochs_skipped']} | {r['seconds_saved']:.0f} s ({r['fraction_saved']:.0%}) |",
              flush=True)

    print(f"\nWorkers: random search, {args.worker_trials} trials, no pruner\n")
    print("| workers × threads | wall time | trials/min | best val_accuracy |")
    print("|---|---|---|---|")
    base = None
    for workers, threads in ((1, 1), (1, 2), (2, 1)):
        torch.set_num_threads(threads)
        r = one_study(args.worker_trials, sampler="random", pruner="none", workers=workers)
        base = base or r["wall_s"]
        print(f"| {workers} × {threads} | {r['wall_s']:.0f} s ({base / r['wall_s']:.2f}×) | {60 * args.worker_trials / r['wall_s']:.1f} | "
              f"{r['best']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
