"""MNIST walkthrough MLP, trained three ways in one run: tujie `fit`, a hand-written loop, a DataLoader loop.

The three ways alternate epoch by epoch (see `race`). All three use the walkthrough configuration (784-128-64-10, Adam 1e-3, batch 32, 5 epochs,
20% of train held out and evaluated after every epoch, then the 10,000 test images) and the
same seeds, so the models start from the same weights and see the same batches. The
hand-written loop is the textbook's own (seeds/001: running loss via `loss.item()` and
accuracy via `outputs.max(1)`), with in-memory index slicing instead of a DataLoader.

    TUJIE_DATA=../shared/data python bench/mnist_mlp.py [--seeds 0 1 2] [--epochs 5]

Prints seconds per epoch (median over seeds) for each way, the ratio tujie / hand-written
(target <= 1.05), and test accuracy per seed (target mean >= 0.975, the walkthrough's 0.9749).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import tujie as tj


def walkthrough_torch() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def evaluate(model, x, y, batch_size=1024):
    model.eval()
    correct, total_loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(x[i:i + batch_size])
            total_loss += F.cross_entropy(out, y[i:i + batch_size], reduction="sum").item()
            correct += out.argmax(1).eq(y[i:i + batch_size]).sum().item()
    model.train()
    return total_loss / len(x), correct / len(x)


def hand_written(data, seed, batch_size, loader: bool):
    """The textbook loop as a generator: each `next()` trains one epoch, validates, and yields its seconds.

    `loader=True` feeds it from a torch DataLoader instead of index slicing.
    """
    tj.seed_everything(seed)
    model = walkthrough_torch()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data.train.x, data.train.y
    generator = torch.Generator().manual_seed(seed)
    if loader:
        batches = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, generator=generator)
    while True:
        start = time.perf_counter()
        model.train()
        running_loss, correct, total = 0.0, 0, 0
        if not loader:
            order = torch.randperm(len(x), generator=generator)
            batches = ((x[idx], y[idx]) for idx in order.split(batch_size))
        for inputs, labels in batches:
            outputs = model(inputs)
            loss = F.cross_entropy(outputs, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            _, predicted = outputs.max(1)
            total += labels.size(0)
            correct += predicted.eq(labels).sum().item()
        evaluate(model, data.val.x, data.val.y)
        yield time.perf_counter() - start, lambda: evaluate(model, data.test.x, data.test.y)[1]


def race(data, seed, epochs, batch_size, ways):
    """Train tujie for `epochs`; after each of its epochs, run one epoch of every other way.

    The ways thus alternate epoch by epoch, so a slow spell of the machine hits all of them
    alike, and each epoch of tujie is paired with an epoch of the hand-written loop.
    """
    others = {name: hand_written(data, seed, batch_size, loader) for name, loader in ways.items()}
    times = {"tujie fit": [], **{name: [] for name in others}}
    test = {}

    class Race(tj.Callback):
        def on_epoch_begin(self, learner, epoch):
            self.start = time.perf_counter()

        def on_epoch_end(self, learner, epoch, logs):  # after tujie's validation, as for the others
            times["tujie fit"].append(time.perf_counter() - self.start)
            for name, way in others.items():
                seconds, test[name] = next(way)
                times[name].append(seconds)

    tj.seed_everything(seed)
    model = tj.Sequential([tj.layers.Flatten(), tj.layers.Dense(128, activation="relu"),
                           tj.layers.Dense(64, activation="relu"), tj.layers.Dense(10)])
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], seed=seed, device="cpu")
    model.fit(data.train, epochs=epochs, batch_size=batch_size, validation_data=data.val, verbose=0, callbacks=[Race()])
    accuracy = {"tujie fit": model.evaluate(data.test, verbose=0)["accuracy"], **{n: f() for n, f in test.items()}}
    return times, accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-dataloader", action="store_true")
    args = parser.parse_args()
    data = tj.datasets.load("mnist", validation_split=0.2, seed=42)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; train {len(data.train)}, val {len(data.val)}, test {len(data.test)}")

    ways = {"hand-written (index slicing)": False}
    if not args.skip_dataloader:
        ways["hand-written (DataLoader)"] = True
    names = ["tujie fit", *ways]
    times = {name: [] for name in names}
    accuracy = {name: [] for name in names}
    for seed in args.seeds:
        seed_times, seed_accuracy = race(data, seed, args.epochs, args.batch_size, ways)
        for name in names:
            times[name] += seed_times[name]
            accuracy[name].append(seed_accuracy[name])
            print(f"seed {seed} {name:<30} {statistics.median(seed_times[name]):6.3f} s/epoch  test accuracy {seed_accuracy[name]:.4f}", flush=True)

    print("\nway                             s/epoch (median)   test accuracy (mean over seeds)")
    for name in names:
        print(f"{name:<30}  {statistics.median(times[name]):8.3f}          {statistics.mean(accuracy[name]):.4f}")
    paired = [a / b for a, b in zip(times["tujie fit"], times["hand-written (index slicing)"])]
    ratio = statistics.median(times["tujie fit"]) / statistics.median(times["hand-written (index slicing)"])
    print(f"\nratio tujie / hand-written: {ratio:.3f} of medians, {statistics.median(paired):.3f} median of "
          f"{len(paired)} paired epochs (target <= 1.05)")
    if "hand-written (DataLoader)" in times:
        dl = statistics.median(times["hand-written (DataLoader)"]) / statistics.median(times["hand-written (index slicing)"])
        print(f"ratio DataLoader / index slicing: {dl:.2f}")
    print(f"tujie mean test accuracy: {statistics.mean(accuracy['tujie fit']):.4f} (target >= 0.975; walkthrough 0.9749)")


if __name__ == "__main__":
    main()
