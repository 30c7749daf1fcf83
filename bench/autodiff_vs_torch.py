"""The scratch autodiff engine against torch: random expression graphs, then whole trainings on 2-D points.

    python bench/autodiff_vs_torch.py [--graphs 1000] [--epochs 150] [--points 200]

1. `--graphs` random expression graphs (tujie.fundamentals.random_graphs: leaves of shapes (),
   (3,), (2, 3), (1, 3), (3, 2); + − × ÷ with broadcasting, matmul, sums, tanh, sigmoid, relu,
   exp, log, powers), each run forward and backward by the engine and by torch.autograd in
   float64: prints the largest difference of the output and of any leaf's gradient, how many
   graphs are within 1e-6, and how often each operation was drawn.
2. The backprop-scratch recipe's networks (a logistic neuron and a 2-16-16-1 tanh MLP) on moons,
   circles and XOR: trained by the engine and by torch from the same weights, on the same batches,
   with plain SGD; prints both accuracies, the largest weight difference and both wall times.
The reference for every number is torch on the same input, in the same run.
"""

from __future__ import annotations

import argparse
import collections
import time

import torch

from tujie.fundamentals import backprop as bp
from tujie.fundamentals.random_graphs import compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--points", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)

    start, worst_value, worst_grad, within, used = time.perf_counter(), 0.0, 0.0, 0, collections.Counter()
    for seed in range(args.graphs):
        value, grad, ops = compare(seed)
        worst_value, worst_grad = max(worst_value, value), max(worst_grad, grad)
        within += value <= 1e-6 and grad <= 1e-6
        used.update(ops)
    print(f"random graphs: {within}/{args.graphs} within 1e-6 of torch.autograd (values and every gradient); "
          f"largest value difference {worst_value:.1e}, largest gradient difference {worst_grad:.1e} "
          f"({time.perf_counter() - start:.1f} s)")
    print("operations drawn: " + ", ".join(f"{op} {n}" for op, n in used.most_common()))

    print(f"\n{'points':8} {'network':12} {'acc scratch':>11} {'acc torch':>10} {'max |Δw|':>9} {'s scratch':>10} {'s torch':>8}")
    for name in bp.DATASETS:
        x, y = bp.points_2d(name, n=args.points, noise=0.15, seed=0)
        for hidden in ([], [16, 16]):
            t0 = time.perf_counter()
            scratch = bp.train_scratch(x, y, hidden, args.epochs, lr=0.5, batch_size=32, seed=0)
            t1 = time.perf_counter()
            reference = bp.train_torch(x, y, hidden, args.epochs, lr=0.5, batch_size=32, seed=0)
            t2 = time.perf_counter()
            net = "-".join(map(str, [2, *hidden, 1]))
            print(f"{name:8} {net:12} {scratch['accuracy']:11.3f} {reference['accuracy']:10.3f} "
                  f"{bp.largest_difference(scratch['weights'], reference['weights']):9.1e} {t1 - t0:10.2f} {t2 - t1:8.2f}")


if __name__ == "__main__":
    main()
