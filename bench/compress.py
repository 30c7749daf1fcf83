"""Structured pruning and low-rank factorisation: smaller AND faster? Parameters and latency before/after, in one process.

    OMP_NUM_THREADS=1 .venv/bin/python bench/compress.py --threads 1 --repeats 50

For ResNet-20 (CIFAR input 3×32×32) and LeNet-300-100 (MNIST 784): channel pruning at several
ratios (torch-pruning, dependency-aware; ResNet-20's option-A residual stream kept whole) and SVD
factorisation (rank = share of the weights) of the same model. Latency is the median of
`--repeats` forward passes at batch 1 and 64; every ratio (base ms / pruned ms) is measured in this
process against the base timed just before it. Weights are random: speed and size do not depend on
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


def row(name, model, example, base, repeats):
    times = measure.latency_ms(model, example, repeats=repeats)
    base_times = base["times"] if base else times
    params = measure.parameter_count(model)
    print(f"| {name} | {params:,} | {measure.size_mb(model):.3f} | {times[1]:.3f} | {times[64]:.2f} | "
          f"{base_times[1] / times[1]:.2f}× / {base_times[64] / times[64]:.2f}× |", flush=True)
    return {"times": times}


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
    print("| model | parameters | size (MB) | batch 1 (ms) | batch 64 (ms) | speed-up vs base, batch 1 / 64 |")
    print("|---|---|---|---|---|---|")
    for name, model, example in models():
        for ratio in args.ratios:
            base = row(f"{name} base", model, example, None, args.repeats)
            pruned = pruning.prune_channels(copy.deepcopy(model), example[:2], ratio)
            row(f"{name} channels −{ratio:.0%}", pruned, example, base, args.repeats)
        for share in args.shares:
            base = row(f"{name} base", model, example, None, args.repeats)
            factorized = copy.deepcopy(model)
            lowrank.factorize(factorized, share=share)
            row(f"{name} low-rank, {share:.0%} of each layer's weights", factorized, example, base, args.repeats)


if __name__ == "__main__":
    main()
