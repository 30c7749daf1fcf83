"""Time to a target MNIST test accuracy: a tuned tujie recipe against the hand-written loop with defaults.

For each pair the model is the same; the hand-written reference is the textbook loop with
its default settings (Adam 1e-3, batch 32, pixels / 255) and the tuned side is a tujie recipe
(`mnist-mlp-fast`, `mnist-cnn-fast`: batch 128, one-cycle learning rate, standardised pixels).
Test accuracy is measured after every epoch with the clock paused; the figure is the
training wall time until the target is first reached.

    TUJIE_DATA=../shared/data python bench/time_to_accuracy.py [--only mlp|cnn] [--max-epochs 8]
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


def reference(config, target, max_epochs, seed=0):
    """The textbook loop, default settings, same architecture as the recipe."""
    data = tj.datasets.load("mnist", normalize="unit")
    tj.seed_everything(seed)
    model = build_model(config, data)
    model(data.train.x[:2])  # size the lazy layers before building the optimizer
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    x, y = data.train.x, data.train.y
    elapsed, curve = 0.0, []
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        for idx in torch.randperm(len(x), generator=generator).split(32):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        elapsed += time.perf_counter() - start
        curve.append((epoch, elapsed, test_accuracy(model, data)))
        print(f"  reference epoch {epoch}: {elapsed:7.1f} s  test accuracy {curve[-1][2]:.4f}", flush=True)
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
            print(f"  tujie     epoch {epoch}: {self.elapsed:7.1f} s  test accuracy {curve[-1][2]:.4f}", flush=True)
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
    parser.add_argument("--max-epochs", type=int, default=8)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, (recipe, target) in PAIRS.items():
        if args.only and name != args.only:
            continue
        config = resolve_config(recipe)
        print(f"\n{name}: target test accuracy {target}")
        ours = first_hit(tuned(config, target), target)
        ref_curve = reference(config, target, args.max_epochs)
        ref = first_hit(ref_curve, target)
        ours_txt = f"{ours[1]:.1f} s (epoch {ours[0]})" if ours else "not reached"
        ref_txt = f"{ref[1]:.1f} s (epoch {ref[0]})" if ref else f"not reached in {args.max_epochs} epochs ({ref_curve[-1][1]:.1f} s, best {max(a for *_, a in ref_curve):.4f})"
        print(f"{name}: tujie {recipe}: {ours_txt}; hand-written defaults: {ref_txt}")
        if ours and ref:
            print(f"{name}: speed-up {ref[1] / ours[1]:.2f}x")


if __name__ == "__main__":
    main()
