"""Per-step overhead: `Learner.train_step` against the hand-written step, on one fixed MNIST-sized batch.

    python bench/train_step.py [--steps 500] [--rounds 10] [--batch-size 32]

Whole epochs (bench/mnist_mlp.py) swing by ±20% on a shared machine; timing the step alone,
in alternating blocks of the same batch, isolates what the loop adds: the options of issue 4
(penalties, clipping, accumulation, autocast, EMA) are all off here, as in a plain `fit`, and
must cost nothing. The walkthrough MLP (784-128-64-10), Adam, batch 32, one thread.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import tujie as tj


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = torch.randn(args.batch_size, 784), torch.randint(0, 10, (args.batch_size,))

    reference = mlp()
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3)

    def hand_written():  # the textbook step, with the loss and accuracy read back as .item() does
        out = reference(x)
        loss = F.cross_entropy(out, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item(), (out.argmax(-1) == y).sum().item()

    learner = tj.Learner(mlp(), optimizer="adam", lr=1e-3, device="cpu")
    learner._setup((x[:2], y[:2]))  # build the optimizer as fit would

    def tujie_step():  # what fit does per batch: train_step, then float() of each log
        return {k: float(v) for k, v in learner.train_step((x, y)).items()}

    times = {"hand-written": [], "tujie": []}
    for r in range(args.rounds):
        order = (("hand-written", hand_written), ("tujie", tujie_step))
        for name, step in (order if r % 2 else order[::-1]):  # alternate who goes first
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[name].append((time.perf_counter() - start) / args.steps * 1e6)
    for name, values in times.items():
        print(f"{name:<13} {statistics.median(values):8.1f} us/step (median of {args.rounds} blocks of {args.steps})")
    ratio = statistics.median(times["tujie"]) / statistics.median(times["hand-written"])
    print(f"ratio tujie / hand-written: {ratio:.3f} (issue 4: <= 1.05; issue 12, per epoch against the lean loop: <= 0.8)")


if __name__ == "__main__":
    main()
