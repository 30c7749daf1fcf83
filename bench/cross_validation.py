"""5-fold cross-validation on scikit-learn's digits: folds one after another vs in 2 processes.

    python bench/cross_validation.py [--epochs 150] [--k 5]

Prints both wall times and the speed-up (issue 4 target: >= 1.6x on 2 cores) and checks
that both give the same per-fold accuracy. The parallel run includes starting its processes
(forked on Linux); both runs come after one warm-up so neither pays the first imports.
"""

from __future__ import annotations

import argparse
import functools
import time

import torch

import tujie as tj


def build(seed: int = 0):  # module level, so worker processes can unpickle it
    model = tj.Sequential([tj.layers.Flatten(), tj.layers.Dense(64, activation="relu"), tj.layers.Dense(10)])
    return tj.Learner(model, optimizer="adam", lr=3e-3, device="cpu", seed=seed)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    data = tj.datasets.load("digits", test_split=0.2)
    xy = (data.train.x, data.train.y)
    torch.set_num_threads(1)  # one thread per fold, as each worker process uses
    times, results = {}, {}
    # warm-up: the first fold imports torchmetrics and scikit-learn (~3 s); forked workers inherit them,
    # so without it the sequential run would pay that once-only cost and flatter the parallel one
    tj.cross_validate(functools.partial(build), xy, k=2, epochs=1)
    for processes in (1, 2):
        start = time.perf_counter()
        results[processes] = tj.cross_validate(functools.partial(build), xy, k=args.k, epochs=args.epochs, processes=processes)
        times[processes] = time.perf_counter() - start
        print(f"processes={processes}: {times[processes]:.1f} s, accuracy {results[processes].mean['accuracy']:.4f} "
              f"± {results[processes].std['accuracy']:.4f}", flush=True)
    same = all(abs(a["accuracy"] - b["accuracy"]) < 1e-6 for a, b in zip(results[1].folds, results[2].folds))
    print(f"speed-up with 2 processes: {times[1] / times[2]:.2f}x (target >= 1.6); identical folds: {same}")


if __name__ == "__main__":
    main()
