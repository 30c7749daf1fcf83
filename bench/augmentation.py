"""Cost of the cifar10-cnn recipe's augmentation: none, kornia on whole batches, kornia once per image.

Three learners train the recipe's SimpleCNN (Adam 1e-3, batch 128) on the CIFAR-10 training
images present, in one process, with the conditions alternating epoch by epoch (and the order
rotating each round) so a slow spell of the machine hits all of them alike:

    none        no augmentation
    per batch   the recipe's kornia module (flip + crop 32 with padding 4) on the (128, 3, 32, 32)
                batch, one call per training step: what `tujie run cifar10-cnn` does
    per sample  the same kornia module called once per (3, 32, 32) image and the results stacked,
                as a torchvision-style Dataset transform would call it

Every augmentation call is timed as well, to give its share of the epoch. Before timing, a
check confirms that both augmented modes really flip and crop: each output must equal one of
the 2 x 81 flips/crops of its zero-padded input, with about half flipped.

    TUJIE_DATA=../shared/data python bench/augmentation.py [--epochs 5] [--limit 10000] [--threads 2]

Prints seconds per epoch (median) for each condition, the overhead of per-batch augmentation
over none (target <= 15%), and the ratio per sample / per batch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import tujie as tj
from tujie.data.augment import build_augmentation
from tujie.kinds import build_model
from tujie.runner import resolve_config
from tujie.train.builders import build_learner

CONDITIONS = ("none", "per batch", "per sample")


class PerSample:
    """Apply a kornia module to one image at a time, as a Dataset transform would, and stack the results."""

    def __init__(self, augment):
        self.augment = augment

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # (batch, C, H, W)
        return torch.stack([self.augment(image)[0] for image in x])  # one call per (C, H, W) image


class Timed:
    """Wrap an augmentation callable and add up the seconds spent in it."""

    def __init__(self, augment):
        self.augment, self.seconds = augment, 0.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        out = self.augment(x)
        self.seconds += time.perf_counter() - start
        return out


def check_transforms(augment, x: torch.Tensor, padding: int = 4) -> dict:
    """Which flip and crop offset produced each output of `augment(x)`; counts outputs matching none.

    The candidates are every (flip, offset) window of the zero-padded input (kornia pads with 0):
    2 x (2 * padding + 1)^2 of them.
    """
    out = augment(x)  # (N, C, H, W)
    n, _, h, w = x.shape
    best = torch.full((n,), float("inf"))
    flipped = torch.zeros(n, dtype=torch.bool)
    offsets = torch.zeros(n, 2, dtype=torch.long)
    for flip in (False, True):
        padded = F.pad(x.flip(-1) if flip else x, (padding,) * 4)  # (N, C, H + 2p, W + 2p)
        for i in range(2 * padding + 1):
            for j in range(2 * padding + 1):
                error = (padded[:, :, i:i + h, j:j + w] - out).abs().amax(dim=(1, 2, 3))  # (N,)
                better = error < best
                best = torch.where(better, error, best)
                flipped[better] = flip
                offsets[better] = torch.tensor([i, j])
    matched = best < 1e-5
    return {"matched": int(matched.sum()), "n": n, "flipped": float(flipped[matched].float().mean()),
            "offsets": len({tuple(o) for o in offsets[matched].tolist()}),
            "uncropped": float((offsets[matched] == padding).all(1).float().mean())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per condition")
    parser.add_argument("--limit", type=int, help="training images (default: all present, 10,000 with one CIFAR batch)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = resolve_config("cifar10-cnn", ["device=cpu"])
    data = tj.datasets.load(config.data.name, data_dir=config.data.data_dir, normalize=config.data.normalize,
                            seed=args.seed, limit=args.limit)
    batch_size = config.train.batch_size
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; cifar10-cnn ({config.model.name}), "
          f"{len(data.train):,} training images, batch {batch_size}, augmentation {config.data.augment}")

    padding = next(item["random_crop"].get("padding", 0) for item in config.data.augment
                   if isinstance(item, dict) and "random_crop" in item)
    sample = data.train.x[:256]  # (256, 3, 32, 32)
    torch.manual_seed(args.seed)
    for name, augment in (("per batch", build_augmentation(config.data.augment)),
                          ("per sample", PerSample(build_augmentation(config.data.augment)))):
        c = check_transforms(augment, sample, padding)
        print(f"check {name:<10}: {c['matched']}/{c['n']} outputs are a flip/crop of their input; "
              f"{c['flipped']:.0%} flipped, {c['offsets']} distinct crop offsets, {c['uncropped']:.0%} at the centre")
        if c["matched"] != c["n"] or not 0.3 < c["flipped"] < 0.7 or c["offsets"] < 20:
            raise SystemExit(f"The {name} augmentation does not apply the recipe's flip and crop.")

    learners, timers = {}, {}
    for name in CONDITIONS:
        tj.seed_everything(args.seed)  # same initial weights for the three
        learner = build_learner(config, build_model(config, data))
        if name == "none":
            learner.augment = None
        else:
            kornia = build_augmentation(config.data.augment)
            timers[name] = learner.augment = Timed(kornia if name == "per batch" else PerSample(kornia))
        learner.fit(data.train.subset(slice(0, 2 * batch_size)), epochs=1, batch_size=batch_size, verbose=0)  # warm-up
        learners[name] = learner

    times = {name: [] for name in CONDITIONS}
    augment_times = {name: [] for name in timers}
    for round_ in range(args.epochs):
        order = CONDITIONS[round_ % 3:] + CONDITIONS[:round_ % 3]  # rotate: no condition always runs first
        for name in order:
            timer = timers.get(name)
            if timer:
                timer.seconds = 0.0
            history = learners[name].fit(data.train, epochs=1, batch_size=batch_size, verbose=0)
            logs = history.epochs[-1]
            times[name].append(logs["epoch_time_s"])
            if timer:
                augment_times[name].append(timer.seconds)
            print(f"epoch {round_ + 1} {name:<10} {logs['epoch_time_s']:7.2f} s"
                  + (f"  (augmentation {timer.seconds:6.2f} s)" if timer else "")
                  + f"  train loss {logs['loss']:.3f} accuracy {logs['accuracy']:.3f}", flush=True)

    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"\ncondition     s/epoch (median of {args.epochs})   augmentation s/epoch   share of epoch   ms per batch")
    for name in CONDITIONS:
        if name in augment_times:
            aug = statistics.median(augment_times[name])
            steps = -(-len(data.train) // batch_size)
            extra = f"{aug:14.3f}          {aug / median[name]:8.1%}      {1000 * aug / steps:9.2f}"
        else:
            extra = f"{'-':>14}          {'-':>8}      {'-':>9}"
        print(f"{name:<12}  {median[name]:12.3f}            {extra}")

    def paired(a, b):
        return statistics.median(x / y for x, y in zip(times[a], times[b]))

    overhead = median["per batch"] / median["none"] - 1
    print(f"\noverhead per batch / none: {overhead:+.1%} of medians, {paired('per batch', 'none') - 1:+.1%} median of "
          f"{args.epochs} paired epochs (target <= +15%)")
    print(f"ratio per sample / per batch: {median['per sample'] / median['per batch']:.2f} of medians, "
          f"{paired('per sample', 'per batch'):.2f} median of paired epochs (whole epoch)")
    alone = statistics.median(augment_times["per batch"]) / median["none"]
    print(f"per-batch augmentation calls alone: {alone:.1%} of an epoch without augmentation "
          "(the overhead less the machine's noise)")
    aug_ratio = statistics.median(augment_times["per sample"]) / statistics.median(augment_times["per batch"])
    print(f"ratio per sample / per batch, augmentation alone: {aug_ratio:.1f} "
          f"({batch_size} kornia calls per step against 1)")


if __name__ == "__main__":
    main()
