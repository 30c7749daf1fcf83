"""Training throughput on 1 and 2 processes (`tujie run --nproc N`, DDP over gloo), same global batch (issue 14).

Each configuration is a whole `tujie run` command in a fresh process tree, on the same recipe
with the same global batch (the per-process `batch_size` is the global batch divided by the
processes). The figure is the training samples per second of the run's epochs (history.csv
`samples_per_s`: all processes' samples over rank 0's epoch time, validation excluded), the
median over the epochs after the first (warm-up) and over the rounds. The configurations take
turns round by round, so a slow spell of a shared machine hits all of them alike.

    1 process, T threads    the plain path, the whole machine (T = the cores)
    1 process, 1 thread     one core: what each of the 2 processes has
    2 processes, 1 thread   DDP: each process a core, gradients all-reduced every step

The ratios are against "1 process, T threads", the way one would train without --nproc, and
against "1 process, 1 thread", the same cores per process. The machine's load average is printed
before and after: on a shared machine, T threads in one process suffer most from another user.

    TUJIE_DATA=../shared/data python bench/ddp_throughput.py [--recipes digits-mlp mnist-mlp] [--rounds 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

EPOCHS = {"digits-mlp": 8, "mnist-mlp": 3}


def run_once(recipe: str, nproc: int, threads: int, global_batch: int, epochs: int, out: Path) -> list[float]:
    """One `tujie run`; the samples/s of its epochs after the first."""
    name = f"{recipe}-{nproc}x{threads}-{len(list(out.iterdir()))}"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "tujie.cli", "run", recipe, "--nproc", str(nproc), "-q", "--no-report",
               "--set", f"epochs={epochs}", "--set", f"batch_size={global_batch // nproc}",
               "--set", f"output_dir={out}", "--set", f"run_name={name}"]
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    with open(out / name / "history.csv") as f:
        rows = list(csv.DictReader(f))
    return [float(r["samples_per_s"]) for r in rows[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["digits-mlp", "mnist-mlp"])
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    configs = [(1, cores), (1, 1), (2, 1)]
    print(f"{cores} CPU cores; global batch {args.global_batch}; {args.rounds} rounds; torch gloo backend; "
          f"load average before: {os.getloadavg()[0]:.2f}\n")
    print(f"| recipe | processes × threads | batch per process | samples/s (median) | vs 1 × {cores} | vs 1 × 1 |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for recipe in args.recipes:
            epochs = EPOCHS.get(recipe, 3)
            seen = {c: [] for c in configs}
            for r in range(args.rounds):
                for c in (configs if r % 2 == 0 else configs[::-1]):
                    seen[c] += run_once(recipe, *c, args.global_batch, epochs, out)
            base, one = statistics.median(seen[(1, cores)]), statistics.median(seen[(1, 1)])
            for nproc, threads in configs:
                rate = statistics.median(seen[(nproc, threads)])
                print(f"| {recipe} | {nproc} × {threads} | {args.global_batch // nproc} | {rate:,.0f} | {rate / base:.2f} "
                      f"| {rate / one:.2f} |", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
