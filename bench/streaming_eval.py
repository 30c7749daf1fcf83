"""Peak memory of evaluation as the dataset grows: streaming (`Learner.evaluate`, `classification_metrics`) against torch.cat.

Each (way, N) runs in a fresh interpreter. It loads MNIST, builds the walkthrough MLP
(784-128-64-10; untrained, since only memory is measured), runs the way once on two
batches as a warm-up (imports, thread pools, first-batch buffers), resets the process's
peak resident set size (`/proc/self/clear_refs`, value 5), evaluates N samples, and reads
the peak again. The growth of the peak is what evaluating N samples cost in memory.

RSS, not tracemalloc: torch allocates CPU tensors with malloc, outside Python's allocator,
so tracemalloc does not see them. The N samples are the 10,000 MNIST test images passed over
again and again, in batches that are slices of them (views, as the Batcher gives for in-memory
data), so the data themselves take the same memory whatever N.

    ways: Learner.evaluate        tujie's evaluate, metrics of the recipes (accuracy, precision,
                                  recall, f1, confusion matrix, per class)
          classification_metrics  tujie.evaluate.classification_metrics (adds ROC / PR curves on a
                                  1001-threshold grid, AUC, calibration)
          torch.cat, accuracy     non-streaming, the least it costs: collect every batch's logits,
                                  torch.cat them, then argmax and count
          torch.cat, metrics      non-streaming, as a hand-written evaluation often does: the same
                                  concatenated logits, then the metrics of Learner.evaluate in one go

The reference is what holding all logits costs: N x 10 float32 = 40 bytes per sample.

    TUJIE_DATA=../shared/data python bench/streaming_eval.py [--sizes 10000 100000 1000000] [--batch-size 1024] [--repeats 3]

Prints, per way and N, the growth of peak RSS (median over repeats, each a fresh process) and
its ratio to the reference; then per way the growth from the smallest to the largest N over
the reference's growth (streaming: about 0; the baselines: 1 or more). Where glibc happens to
place blocks moves the figures by a few MB from one process to the next, hence the medians.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import statistics
import subprocess
import sys
import time

import torch
from torch.utils.data import DataLoader, IterableDataset

WAYS = ("Learner.evaluate", "classification_metrics", "torch.cat, accuracy", "torch.cat, metrics")
METRICS = ["accuracy", "precision", "recall", "f1", "confusion_matrix", "per_class"]
BYTES_PER_SAMPLE = 10 * 4  # N x 10 float32 logits


class RepeatedBatches(IterableDataset):
    """`n` samples as `(x, y)` batches, passing over `x`, `y` again and again: memory does not grow with `n`.

    Each pass is batched as the Batcher batches an in-memory dataset: slices (views, no copy),
    the last one of each pass shorter.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, n: int, batch_size: int):
        self.x, self.y, self.n, self.batch_size = x, y, n, batch_size

    def __iter__(self):
        done = 0
        while done < self.n:
            for start in range(0, min(len(self.x), self.n - done), self.batch_size):
                stop = min(start + self.batch_size, len(self.x), start + self.n - done)
                yield self.x[start:stop], self.y[start:stop]  # (batch, 1, 28, 28), (batch,)
                done += stop - start


def status_kib(field: str) -> int:
    """VmRSS (current) or VmHWM (peak) of this process, in KiB."""
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1))


def reset_peak() -> bool:
    """Set the peak RSS (VmHWM, and getrusage's ru_maxrss) back to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def evaluate_learner(learner, loader):
    return learner.evaluate(loader, metrics=METRICS, verbose=0)


def evaluate_metrics(learner, loader):
    from tujie.evaluate import classification_metrics

    return classification_metrics(learner, loader)


@torch.no_grad()
def all_logits(learner, loader):
    """The non-streaming way: keep every batch's logits and targets, then concatenate them."""
    learner.model.eval()
    outputs, targets = [], []
    for x, y in loader:
        outputs.append(learner.model(x))  # (batch, 10)
        targets.append(y)
    return torch.cat(outputs), torch.cat(targets)  # (N, 10), (N,)


def evaluate_concat_accuracy(learner, loader):
    logits, y = all_logits(learner, loader)
    return {"accuracy": float((logits.argmax(1) == y).float().mean())}


def evaluate_concat_metrics(learner, loader):
    from tujie.train.metrics import EvalMetrics

    logits, y = all_logits(learner, loader)
    metrics = EvalMetrics(METRICS, learner.kind)
    metrics.update(logits, y)
    return {"loss": float(learner.loss_fn(logits, y)), **metrics.compute()}


def worker(way: str, n: int, batch_size: int) -> dict:
    """Measure one (way, N) in this process; returns the figures as a dict."""
    import resource

    import tujie as tj

    data = tj.datasets.load("mnist", normalize="standard")
    x, y = data.test.x, data.test.y  # (10000, 1, 28, 28), (10000,)
    tj.seed_everything(0)
    model = tj.models.create("mlp", num_classes=10)
    model(x[:2])  # size the lazy layers
    learner = tj.Learner(model, loss="cross_entropy", metrics=METRICS, device="cpu")
    run = dict(zip(WAYS, (evaluate_learner, evaluate_metrics, evaluate_concat_accuracy, evaluate_concat_metrics)))[way]

    def loader(count):
        return DataLoader(RepeatedBatches(x, y, count, batch_size), batch_size=None)  # batches as they come

    run(learner, loader(2 * batch_size))  # warm-up
    gc.collect()
    reset = reset_peak()
    before_rss, before_peak = status_kib("VmRSS"), status_kib("VmHWM")
    before_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    results = run(learner, loader(n))
    seconds = time.perf_counter() - start
    after_peak = status_kib("VmHWM")
    after_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"way": way, "n": n, "reset": reset, "rss_before_kib": before_rss, "peak_growth_kib": after_peak - before_peak,
            "maxrss_growth_kib": after_maxrss - before_maxrss, "seconds": seconds, "accuracy": results["accuracy"]}


def measure(way: str, n: int, batch_size: int, threads: int | None) -> dict:
    command = [sys.executable, __file__, "--worker", way, "--sizes", str(n), "--batch-size", str(batch_size)]
    if threads:
        command += ["--threads", str(threads)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{way} N={n} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="samples evaluated")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS))
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per (way, N); the median is reported")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--worker", choices=WAYS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        print(json.dumps(worker(args.worker, args.sizes[0], args.batch_size)))
        return

    sizes = sorted(args.sizes)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; MNIST test images repeated to N, "
          f"batch {args.batch_size}; {args.repeats} fresh process(es) per (way, N), medians")
    print(f"\n{'way':<24}{'N':>11}{'peak RSS growth':>18}{'reference N x 10 fp32':>24}{'growth / reference':>21}"
          f"{'seconds':>10}{'accuracy':>10}")
    rows = {}
    for n in sizes:
        for way in args.ways:  # the ways alternate at each N
            runs = [measure(way, n, args.batch_size, args.threads) for _ in range(args.repeats)]
            r = rows[way, n] = {"peak_growth_kib": statistics.median(x["peak_growth_kib"] for x in runs),
                                "seconds": statistics.median(x["seconds"] for x in runs),
                                "reset": all(x["reset"] for x in runs), "accuracy": runs[0]["accuracy"]}
            reference = n * BYTES_PER_SAMPLE / 2**20
            growth = r["peak_growth_kib"] / 1024
            print(f"{way:<24}{n:>11,}{growth:>15.1f} MB{reference:>21.2f} MB{growth / reference:>21.2f}"
                  f"{r['seconds']:>10.1f}{r['accuracy']:>10.4f}", flush=True)
            if not r["reset"]:
                print("    (could not reset the peak RSS: the growth is over the process's earlier peak, "
                      "and may hide under the memory used to load the data)")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        reference = (large - small) * BYTES_PER_SAMPLE / 2**20
        print(f"\ngrowth of the peak from N = {small:,} to N = {large:,}; the reference (all logits held) grows by "
              f"{reference:.2f} MB")
        for way in args.ways:
            extra = (rows[way, large]["peak_growth_kib"] - rows[way, small]["peak_growth_kib"]) / 1024
            print(f"{way:<24}{extra:+10.1f} MB   ratio to the reference {extra / reference:+6.2f}")


if __name__ == "__main__":
    main()
