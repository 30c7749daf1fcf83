"""ROC-AUC of reconstruction-error anomaly detection on MNIST, each digit held out in turn (and Fashion-MNIST as outliers).

    TUJIE_DATA=/work/shared/data .venv/bin/python bench/anomaly_auc.py --held-out 0 1 2 3 4 5 6 7 8 9 --epochs 5

By default the mnist-anomaly recipe's model (a convolutional autoencoder, filters 16-32, a
32-number code; `--architecture dense --code-size 8` for the dense 784-256-64-8 one), BCE, Adam 1e-3, batch 128, trained on the training images of every digit but one; the score is
each test image's mean squared reconstruction error; the ROC-AUC is over the held-out digit's
test images against all the others. `--fashion` adds: trained on all digits, Fashion-MNIST's
10,000 test images as the anomalies. Target (issue 13): ROC-AUC >= 0.90.
"""

from __future__ import annotations

import argparse
import time

import torch

import tujie as tj
from tujie.generative.anomaly import normal_mask, separation
from tujie.generative.autoencoding import reconstruction_errors, train_autoencoder
from tujie.models.autoencoder import Autoencoder, ConvAutoencoder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--held-out", type=int, nargs="*", default=list(range(10)))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--fashion", action="store_true")
    parser.add_argument("--architecture", choices=("dense", "conv"), default="conv")
    parser.add_argument("--code-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = tj.datasets.load("mnist", validation_split=0.0)
    x, y, x_test, y_test = data.train.x, data.train.y, data.test.x, data.test.y
    cases = [(k, x[normal_mask(y, k)], x_test, y_test == k) for k in args.held_out]
    if args.fashion:
        fashion = tj.datasets.load("fashion-mnist", validation_split=0.0).test.x
        cases.append(("fashion-mnist", x, torch.cat([x_test, fashion]),
                      torch.cat([torch.zeros(len(x_test), dtype=torch.bool), torch.ones(len(fashion), dtype=torch.bool)])))
    for name, train, test, is_anomaly in cases:
        tj.seed_everything(0)
        model = (ConvAutoencoder(1, 28, (16, 32), args.code_size) if args.architecture == "conv"
                 else Autoencoder((1, 28, 28), (256, 64), args.code_size))
        start = time.perf_counter()
        train_autoencoder(model, train, epochs=args.epochs, batch_size=128, lr=1e-3, seed=0, loss="bce")
        found = separation(reconstruction_errors(model, test, "mse"), is_anomaly)
        print(f"held out {name}: ROC-AUC {found['roc_auc']:.4f}  (mean score normal {found['mean_normal']:.4f}, "
              f"anomalous {found['mean_anomaly']:.4f}; {args.architecture} code {args.code_size}, {args.epochs} epochs, {time.perf_counter() - start:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
