"""The textbook's exploding gradient: a tanh RNN over 200-step windows, trained with and without gradient clipping.

    python bench/exploding_gradients.py [--epochs 10] [--seeds 0 1 2] [--out runs/exploding-gradients]

A vanilla RNN (`rnn_forecaster(cell="rnn")`, 32 units, orthogonal recurrent weights) reads
200 yearly sunspot numbers (the training span, 1700-1948, standardised) and predicts the
next; plain SGD with lr 0.2. The two runs of a seed share the weights, the data and the
batch order; only `clip_grad_norm` differs (None vs 1.0). For each run this prints the
per-epoch mean and largest gradient norm (before clipping) and the loss, then the ratio of
the largest norms (unclipped / clipped) and the final losses: the reference is the same
model trained with clipping, in the same run.

Each run's metrics.jsonl, grad_stats.jsonl (every step) and report.html are written under
`OUT/seed<k>/gradient_demo/{unclipped,clipped}/`, so the report's gradient-norm section
shows the effect; `OUT/seed<k>/gradient_demo.json` holds the per-step norms that
`tujie.timeseries.gradient_demo_figure` draws (written to `OUT/seed<k>/gradient_demo.png`).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from tujie._io import write_bytes
from tujie import build_report
from tujie.timeseries import exploding_gradient_demo, gradient_demo_figure


def _fmt(value) -> str:
    return "inf" if value is None else f"{value:.3g}"


def _first_layer_to_blow_up(folder: Path, threshold: float = 1e3) -> str:
    """The weight whose gradient norm first passed `threshold` (from grad_stats.jsonl), with the step."""
    path = folder / "grad_stats.jsonl"
    if not path.is_file():
        return "-"
    for line in path.read_text().splitlines():
        record = json.loads(line)
        over = [name for name, s in record["layers"].items() if not (math.isfinite(s["grad_norm"]) and s["grad_norm"] < threshold)]
        if over:
            return f"{', '.join(over)} at step {record['step']}"
    return f"none above {threshold:g}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seq-len", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--out", default="runs/exploding-gradients")
    args = parser.parse_args()
    torch.set_num_threads(1)

    summary = []
    for seed in args.seeds:
        out = Path(args.out) / f"seed{seed}"
        start = time.perf_counter()
        demo = exploding_gradient_demo(out, epochs=args.epochs, seq_len=args.seq_len, lr=args.lr, clip=args.clip, seed=seed,
                                       keep_runs=True)
        seconds = time.perf_counter() - start
        write_bytes(out / "gradient_demo.png", gradient_demo_figure(demo))
        s = demo["settings"]
        print(f"\nseed {seed}: tanh RNN, {s['hidden']} units, {s['seq_len']}-step windows of {s['series']} ({s['windows']} windows), "
              f"SGD lr {s['lr']}, batch {s['batch_size']} ({seconds:.1f} s for both runs)")
        for name in ("unclipped", "clipped"):
            label = "no clipping" if name == "unclipped" else f"clip_grad_norm={demo['clip']:g}"
            print(f"  {label}:")
            print(f"    {'epoch':>5} {'grad_norm':>10} {'grad_norm_max':>14} {'loss':>10}")
            for e in demo["epochs"][name]:
                print(f"    {e['epoch']:>5} {_fmt(e.get('grad_norm')):>10} {_fmt(e.get('grad_norm_max')):>14} {_fmt(e.get('loss')):>10}")
            diverged = demo["diverged"][name]
            print(f"    {'diverged at step ' + str(diverged) if diverged else 'finished'}; first weight with a gradient "
                  f"norm > 1e3: {_first_layer_to_blow_up(out / 'gradient_demo' / name)}")
            report = build_report(out / "gradient_demo" / name)
            print(f"    report: {report}")
        peak = {k: max((v for v in demo[k] if v is not None), default=math.nan) for k in ("unclipped", "clipped")}
        final = {k: demo["epochs"][k][-1].get("loss") for k in ("unclipped", "clipped")}  # the last epoch's mean
        ratio = peak["unclipped"] / peak["clipped"]
        print(f"  largest finite gradient norm: {peak['unclipped']:.3g} unclipped vs {peak['clipped']:.3g} clipped "
              f"(ratio {ratio:.3g}); last epoch's training loss {_fmt(final['unclipped'])} vs {_fmt(final['clipped'])}")
        summary.append((seed, peak, ratio, demo["diverged"]["unclipped"], final))

    print("\nseed  peak unclipped  peak clipped  ratio     unclipped diverged at  last epoch loss unclipped / clipped")
    for seed, peak, ratio, diverged, final in summary:
        print(f"{seed:>4}  {peak['unclipped']:>14.3g}  {peak['clipped']:>12.3g}  {ratio:>8.3g}  "
              f"{'step ' + str(diverged) if diverged else 'never':>21}  {_fmt(final['unclipped'])} / {_fmt(final['clipped'])}")


if __name__ == "__main__":
    main()
