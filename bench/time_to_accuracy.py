"""Time to a target MNIST test accuracy: a tujie recipe against the same recipe written in plain PyTorch.

For each pair the model, the data (standardised pixels), the optimizer (Adam), the batch size,
the one-cycle schedule and the seed are the same; the plain-PyTorch side is the textbook loop
(`torch.optim.Adam`, `OneCycleLR`, a `randperm` index sliced into batches, no metrics), so the
difference is the training loop alone. With `--defaults`, the textbook's default settings
(Adam 1e-3, batch 32, no schedule) run as well, for what tuning buys. Test accuracy is measured
after every epoch with the clock paused; the figure is the training wall time until the target
is first reached. Targets (issue 12): 98% in <= 5 s (`mnist-mlp-fast`), 99% in <= 30 s (`mnist-cnn-fast`).

    TUJIE_DATA=../shared/data python bench/time_to_accuracy.py [--only mlp|cnn] [--threads 2] [--defaults]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

import tujie as tj
from tujie.kinds import build_model
from tujie.runner import resolve_config
from tujie.train.builders import build_learner

PAIRS = {"mlp": ("mnist-mlp-fast", 0.98), "cnn": ("mnist-cnn-fast", 0.99)}


def test_accuracy(model, data) -> float:
    model.eval()
    with torch.no_grad():
        correct = sum((model(data.test.x[i:i + 1000]).argmax(1) == data.test.y[i:i + 1000]).sum().item()
                      for i in range(0, len(data.test), 1000))
    model.train()
    return correct / len(data.test)


def plain_pytorch(config, target, epochs, *, batch_size, lr, one_cycle, seed=0, label="plain torch"):
    """The recipe (or the textbook defaults) as a hand-written loop: same model, data and seed."""
    data = tj.datasets.load("mnist", normalize=config.data.normalize)
    tj.seed_everything(seed)
    model = build_model(config, data)
    model(data.train.x[:2])  # size the lazy layers before building the optimizer
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = data.train.x, data.train.y
    steps = -(-len(x) // batch_size)
    schedule = None
    if one_cycle:
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps,
                                                       pct_start=config.scheduler.pct_start)
    generator = torch.Generator().manual_seed(seed)
    elapsed, curve = 0.0, []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        for idx in torch.randperm(len(x), generator=generator).split(batch_size):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
        elapsed += time.perf_counter() - start
        curve.append((epoch, elapsed, test_accuracy(model, data)))
        print(f"  {label:<14} epoch {epoch}: {elapsed:7.1f} s  test accuracy {curve[-1][2]:.4f}", flush=True)
        if curve[-1][2] >= target:
            break
    return curve


def tuned(config, target):
    data = tj.datasets.load("mnist", normalize=config.data.normalize)
    tj.seed_everything(config.seed)
    model = build_model(config, data)
    curve = []

    class Clock(tj.Callback):  # pause the clock while measuring test accuracy
        def on_fit_begin(self, learner):
            self.elapsed = 0.0

        def on_epoch_begin(self, learner, epoch):
            self.start = time.perf_counter()

        def on_epoch_end(self, learner, epoch, logs):
            self.elapsed += time.perf_counter() - self.start
            curve.append((epoch, self.elapsed, test_accuracy(learner.model, data)))
            print(f"  {'tujie':<14} epoch {epoch}: {self.elapsed:7.1f} s  test accuracy {curve[-1][2]:.4f}", flush=True)
            if curve[-1][2] >= target:
                learner.stop_training = True

    learner = build_learner(config, model, [Clock()])
    learner.fit(data.train, epochs=config.train.epochs, batch_size=config.train.batch_size, verbose=0)
    return curve


def first_hit(curve, target):
    return next(((e, s) for e, s, a in curve if a >= target), None)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=sorted(PAIRS))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--defaults", action="store_true", help="also run the textbook defaults (Adam 1e-3, batch 32)")
    parser.add_argument("--max-epochs", type=int, default=8, help="epochs the defaults run may take")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, (recipe, target) in PAIRS.items():
        if args.only and name != args.only:
            continue
        config = resolve_config(recipe)
        print(f"\n{name}: target test accuracy {target} ({recipe})")
        runs = {"tujie": tuned(config, target)}
        runs["plain torch"] = plain_pytorch(config, target, config.train.epochs, batch_size=config.train.batch_size,
                                            lr=config.optimizer.lr, one_cycle=True)
        if args.defaults:
            runs["defaults"] = plain_pytorch(config, target, args.max_epochs, batch_size=32, lr=1e-3, one_cycle=False,
                                             label="defaults")
        hits = {way: first_hit(curve, target) for way, curve in runs.items()}
        for way, hit in hits.items():
            curve = runs[way]
            text = (f"{hit[1]:.1f} s (epoch {hit[0]})" if hit else
                    f"not reached ({curve[-1][1]:.1f} s, best {max(a for *_, a in curve):.4f})")
            print(f"{name}: {way:<12} {text}")
        if hits["tujie"] and hits["plain torch"]:
            print(f"{name}: tujie / plain torch time: {hits['tujie'][1] / hits['plain torch'][1]:.2f}")


if __name__ == "__main__":
    main()
