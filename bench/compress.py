"""Structured pruning and low-rank factorisation: smaller AND faster? Parameters and latency before/after, in one process.

    OMP_NUM_THREADS=1 .venv/bin/python bench/compress.py --threads 1 --repeats 50

For ResNet-20 (CIFAR input 3×32×32) and LeNet-300-100 (MNIST 784): channel pruning at several
ratios (torch-pruning, dependency-aware; ResNet-20's option-A residual stream kept whole) and SVD
factorisation (rank = share of the weights) of the same model. Latency is the median of
`--repeats` forward passes at batch 1 and 64; every ratio (base ms / pruned ms) is measured in this
process, the base and the smaller model timed in alternating rounds so both see the same load. Weights are random: speed and size do not depend on
training (accuracy does: see the compress recipes, docs/benchmarks.md §22.3).
"""

from __future__ import annotations

import argparse
import copy

import torch

from tujie.compress import lowrank, measure, pruning
from tujie.models import create


def models():
    resnet = create("resnet20").eval()
    mlp = create("mlp", hidden=(300, 100))
    mlp(torch.zeros(1, 1, 28, 28))
    return [("resnet20", resnet, torch.randn(64, 3, 32, 32)), ("lenet-300-100", mlp.eval(), torch.randn(64, 1, 28, 28))]


def paired(model, base, example, repeats, rounds=5):
    """Median ms at batch 1 and 64 of `model` and `base`, timed in alternating rounds (both see the same load)."""
    own, theirs = {1: [], 64: []}, {1: [], 64: []}
    for _ in range(rounds):
        for times, timed in ((own, model), (theirs, base)):
            for batch, ms in measure.latency_ms(timed, example, repeats=max(1, repeats // rounds), warmup=2).items():
                times[batch].append(ms)
    return ({b: sorted(v)[len(v) // 2] for b, v in own.items()}, {b: sorted(v)[len(v) // 2] for b, v in theirs.items()})


def row(name, model, example, base, repeats):
    times, base_times = paired(model, base, example, repeats)
    print(f"| {name} | {measure.parameter_count(model):,} | {measure.size_mb(model):.3f} | {base_times[1]:.3f} → {times[1]:.3f} | "
          f"{base_times[64]:.2f} → {times[64]:.2f} | {base_times[1] / times[1]:.2f}× / {base_times[64] / times[64]:.2f}× |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--ratios", type=float, nargs="*", default=[0.25, 0.5, 0.75])
    parser.add_argument("--shares", type=float, nargs="*", default=[0.5, 0.25])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), median of {args.repeats} passes")
    print("| model | parameters | size (MB) | batch 1: base → this (ms) | batch 64: base → this (ms) | speed-up, batch 1 / 64 |")
    print("|---|---|---|---|---|---|")
    for name, model, example in models():
        print(f"| {name} base | {measure.parameter_count(model):,} | {measure.size_mb(model):.3f} | | | 1.00× / 1.00× |")
        for ratio in args.ratios:
            pruned = pruning.prune_channels(copy.deepcopy(model), example[:2], ratio)
            row(f"{name} channels −{ratio:.0%}", pruned, example, model, args.repeats)
        for share in args.shares:
            factorized = copy.deepcopy(model)
            lowrank.factorize(factorized, share=share)
            row(f"{name} low-rank, {share:.0%} of each layer's weights", factorized, example, model, args.repeats)


if __name__ == "__main__":
    main()
