"""tujie's training loop against a hand-written PyTorch loop, on the seed configuration (issue 12, section 4).

The walkthrough MLP (784-128-64-10), Adam 1e-3, batch 32, the 48,000 MNIST training images left
after holding out 20% for validation. Three ways train it:

- hand-written: the lean textbook loop: `torch.optim.Adam(model.parameters())` with torch's
  defaults, a `randperm` index sliced into batches, no per-step metrics (no `.item()`);
- Learner.fit: `tj.Learner(nn.Sequential(...), optimizer="adam").fit(...)`, tujie's defaults;
- Sequential.fit: the Keras way, `tj.Sequential([Dense(128, activation="relu"), ...])`.

Two measurements, each at 1 and 2 threads:

1. Seconds per epoch, in one process: the ways take turns epoch by epoch (the order alternates
   every round), so a slow spell of a shared machine hits all of them alike. tujie's figure is
   its own `epoch_time_s` (the training loop, without validation), the hand-written loop's the
   same span. The ratio is taken of the medians and, pair by pair, of each round's epochs.
2. A whole `fit` call, each in a fresh process (so every one-time cost is paid): from building
   the optimizer (hand-written) or calling `fit` (tujie) to the end of the last epoch's
   validation, 2 epochs with validation on the 12,000 held-out images. The runs alternate way
   by way; medians over `--repeats`. The one-time set-up is measured apart in fresh processes too:
   a first `fit` of one batch with a one-batch validation, against the hand-written first step
   and first validation forward. torch's own first-step cost (importing `torch._dynamo`, about
   1 s, paid by both) is taken out by importing it before the clock starts.

    TUJIE_DATA=../shared/data python bench/fit_speed.py [--threads 1 2] [--epochs 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

import tujie as tj

WAYS = ("hand-written", "Learner.fit", "Sequential.fit")


def torch_mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def keras_mlp():
    return tj.Sequential([tj.layers.Flatten(), tj.layers.Dense(128, activation="relu"),
                          tj.layers.Dense(64, activation="relu"), tj.layers.Dense(10)])


def validate(model, x, y, batch_size=1024):
    """The hand-written validation: loss and accuracy over the held-out images."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(x[i:i + batch_size])
            loss += F.cross_entropy(out, y[i:i + batch_size], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch_size]).sum().item()
    model.train()
    return loss / len(x), correct / len(x)


class HandWritten:
    """The lean loop; `epoch()` trains one epoch and returns its seconds."""

    def __init__(self, data, seed=0):
        tj.seed_everything(seed)
        self.model, self.x, self.y = torch_mlp(), data.train.x, data.train.y
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self) -> float:
        start = time.perf_counter()
        for idx in torch.randperm(len(self.x), generator=self.generator).split(32):
            loss = F.cross_entropy(self.model(self.x[idx]), self.y[idx])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        return time.perf_counter() - start


class Tujie:
    """Learner.fit or Sequential.fit, one epoch per call (`initial_epoch` carries on the same run)."""

    def __init__(self, data, way, seed=0):
        tj.seed_everything(seed)
        if way == "Learner.fit":
            self.fit = tj.Learner(torch_mlp(), optimizer="adam", lr=1e-3, device="cpu", seed=seed).fit
        else:
            model = keras_mlp()
            model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=1e-3, device="cpu", seed=seed)
            self.fit = model.fit
        self.data, self.done = data, 0

    def epoch(self) -> float:
        self.done += 1
        history = self.fit(self.data.train, epochs=self.done, initial_epoch=self.done - 1, batch_size=32, verbose=0)
        return history.epochs[-1]["epoch_time_s"]


def epochs_race(data, epochs: int) -> dict:
    ways = {"hand-written": HandWritten(data), **{w: Tujie(data, w) for w in WAYS[1:]}}
    times = {w: [] for w in ways}
    for round_ in range(epochs):
        order = list(ways) if round_ % 2 == 0 else list(ways)[::-1]
        for name in order:
            times[name].append(ways[name].epoch())
    return times


# ---------------------------------------------------------------- fresh processes
def whole(way: str, epochs: int) -> dict:
    """One whole training in this (fresh) process: seconds from optimizer/fit to the last validation."""
    data = tj.datasets.load("mnist", validation_split=0.2, seed=42)
    tj.seed_everything(0)
    if way == "hand-written":
        model = torch_mlp()
        start = time.perf_counter()
        loop = HandWritten.__new__(HandWritten)
        loop.model, loop.x, loop.y = model, data.train.x, data.train.y
        loop.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loop.generator = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            loop.epoch()
            validate(model, data.val.x, data.val.y)
        return {"seconds": time.perf_counter() - start}
    if way == "Learner.fit":
        learner = tj.Learner(torch_mlp(), optimizer="adam", lr=1e-3, device="cpu")
        start = time.perf_counter()
        learner.fit(data.train, epochs=epochs, batch_size=32, validation_data=data.val, verbose=0)
    else:
        model = keras_mlp()
        start = time.perf_counter()
        model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=1e-3, device="cpu")
        model.fit(data.train, epochs=epochs, batch_size=32, validation_data=data.val, verbose=0)
    return {"seconds": time.perf_counter() - start}


def setup(way: str) -> dict:
    """The first call's cost on one batch and a one-batch validation, in this fresh process."""
    import torch._dynamo  # noqa: F401 -- torch's own first-step cost (~1 s, both sides pay it): taken out of the timing

    data = tj.datasets.load("mnist", validation_split=0.2, seed=42)
    x, y, vx, vy = data.train.x[:32], data.train.y[:32], data.val.x[:32], data.val.y[:32]
    tj.seed_everything(0)
    model = torch_mlp()
    start = time.perf_counter()
    if way == "hand-written":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        validate(model, vx, vy)
    else:
        tj.Learner(model, optimizer="adam", lr=1e-3, device="cpu").fit((x, y), epochs=1, batch_size=32,
                                                                       validation_data=(vx, vy), verbose=0)
    return {"seconds": time.perf_counter() - start}


def in_fresh_process(mode: str, way: str, threads: int, epochs: int) -> float:
    command = [sys.executable, __file__, f"--{mode}", way, "--threads", str(threads), "--epochs", str(epochs)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["seconds"]


def fresh_race(mode: str, ways, threads: int, epochs: int, repeats: int) -> dict:
    seconds = {w: [] for w in ways}
    for r in range(repeats):
        for way in (ways if r % 2 == 0 else ways[::-1]):
            seconds[way].append(in_fresh_process(mode, way, threads, epochs))
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the per-epoch race (the whole fit runs 2)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per way for the whole fit and set-up")
    parser.add_argument("--whole", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--setup", choices=("hand-written", "Learner.fit"), help=argparse.SUPPRESS)
    parser.add_argument("--only-setup", action="store_true", help="measure the one-time set-up alone")
    args = parser.parse_args()
    if args.whole or args.setup:  # a child process: one measurement, printed as JSON
        torch.set_num_threads(args.threads[0])
        print(json.dumps(whole(args.whole, args.epochs) if args.whole else setup(args.setup)))
        return

    data = tj.datasets.load("mnist", validation_split=0.2, seed=42)
    print(f"torch {torch.__version__}; train {len(data.train)}, val {len(data.val)}; Adam 1e-3, batch 32")
    for threads in args.threads:
        torch.set_num_threads(threads)
        print(f"\n== {threads} thread{'s' if threads > 1 else ''} ==")
        if args.only_setup:
            first = fresh_race("setup", ["hand-written", "Learner.fit"], threads, 1, args.repeats)
            extra = statistics.median(a - b for a, b in zip(first["Learner.fit"], first["hand-written"]))
            print(f"first call: hand-written {statistics.median(first['hand-written']):.3f} s, fit "
                  f"{statistics.median(first['Learner.fit']):.3f} s; fit's one-time set-up {extra:+.3f} s (target < 0.2 s)")
            continue
        times = epochs_race(data, args.epochs)
        base = statistics.median(times["hand-written"])
        print(f"{'way':<16} s/epoch (median of {args.epochs})  ratio to hand-written (of medians; median of pairs)")
        for name, values in times.items():
            pairs = statistics.median(a / b for a, b in zip(values, times["hand-written"]))
            print(f"{name:<16} {statistics.median(values):8.3f}              {statistics.median(values) / base:.3f}; {pairs:.3f}")
        fits = fresh_race("whole", list(WAYS), threads, 2, args.repeats)
        base = statistics.median(fits["hand-written"])
        print(f"{'whole fit':<16} seconds (median of {args.repeats} fresh processes, 2 epochs + validation)  "
              "ratio (of medians; median of the rounds' ratios)")
        for name, values in fits.items():
            rounds = statistics.median(a / b for a, b in zip(values, fits["hand-written"]))
            print(f"{name:<16} {statistics.median(values):8.3f}   {statistics.median(values) / base:.3f}; {rounds:.3f}   "
                  f"{[round(v, 2) for v in values]}")
        first = fresh_race("setup", ["hand-written", "Learner.fit"], threads, 1, args.repeats)
        hand, ours = statistics.median(first["hand-written"]), statistics.median(first["Learner.fit"])
        extra = statistics.median(a - b for a, b in zip(first["Learner.fit"], first["hand-written"]))
        print(f"first call (1 batch + 1 validation batch): hand-written {hand:.3f} s, fit {ours:.3f} s, "
              f"fit's one-time set-up {ours - hand:+.3f} s (median of the rounds' differences {extra:+.3f} s; target < 0.2 s)")


if __name__ == "__main__":
    main()
