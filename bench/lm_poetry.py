"""GPT against the character LSTM on the Tang quatrains, at equal parameters and equal wall time, over seeds.

    TUJIE_DATA=/work/shared/data .venv/bin/python bench/lm_poetry.py --seeds 0 1 2 --seconds 600 --figure docs/lm-poetry-time.png

Runs the recipes tang-poetry-gpt (a GPT of 3 layers, 96 wide: 842,016 parameters) and tang-poetry-lstm (a 2-layer
LSTM: 834,044) once per seed, each with `lm.max_seconds` of one CPU thread; the GPT and the LSTM of one seed train
at the same time (two processes), so both see the same load on a shared machine. Prints and writes (--out) the validation
loss in nats per character, mean ± std over the seeds, the steps each reached, and the share of quatrains
written at temperature 0.8 that keep the five-character form. Target (issue 20): the GPT's validation loss
below the LSTM's over ≥ 3 seeds; ≥ 80% of its quatrains keep the form. For orientation, nanoGPT's baby GPT
reaches about 1.88 nats per character on Shakespeare (65 characters, not comparable: thousands here).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RECIPES = {"gpt": "tang-poetry-gpt", "lstm": "tang-poetry-lstm"}


def one_run(recipe: str, seed: int, seconds: float, output: str) -> dict:
    """One recipe run in this process (one thread): its summary's results and training record."""
    import torch

    import tujie as tj

    torch.set_num_threads(1)
    result = tj.run(recipe, overrides=[f"seed={seed}", f"lm.max_seconds={seconds}", f"output_dir={output}",
                                       f"run_name={recipe}-seed{seed}"], verbose=0)
    lm = json.loads((result.run_dir / "lm.json").read_text(encoding="utf-8"))
    return {"recipe": recipe, "seed": seed, "run_dir": str(result.run_dir), **result.summary["results"],
            "steps": lm["training"]["steps"], "seconds": lm["training"]["seconds"], "parameters": lm["model"]["parameters"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--seconds", type=float, default=480.0)
    parser.add_argument("--output", default="runs/bench-lm-poetry")
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    parser.add_argument("--figure", default=None, help="also draw the validation curves against time (PNG) here")
    parser.add_argument("--one", nargs=2, metavar=("RECIPE", "SEED"), help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one[0], int(args.one[1]), args.seconds, args.output)))
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rows, started = [], time.perf_counter()
    for seed in args.seeds:
        children = [subprocess.Popen([sys.executable, __file__, "--one", recipe, str(seed), "--seconds", str(args.seconds),
                                      "--output", args.output], stdout=subprocess.PIPE, env=env, text=True)
                    for recipe in RECIPES.values()]
        for child in children:
            out, _ = child.communicate()
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(f"{rows[-1]['recipe']} seed {seed}: val {rows[-1]['val_loss']:.4f} nats/char, {rows[-1]['steps']} steps, "
                  f"form {rows[-1].get('lm_form_share', float('nan')):.0%}", flush=True)
    lines = ["| model | parameters | seeds | steps (mean) | validation nats/char | bits/char | form kept (T 0.8) | memorised lines |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, recipe in RECIPES.items():
        mine = [r for r in rows if r["recipe"] == recipe]
        losses = [r["val_loss"] for r in mine]
        std = statistics.stdev(losses) if len(losses) > 1 else 0.0
        form = [r.get("lm_form_share", float("nan")) for r in mine]
        memo = [r.get("lm_memorised_share", float("nan")) for r in mine]
        lines.append(f"| {name} ({recipe}) | {mine[0]['parameters']['total']:,} | {len(mine)} | "
                     f"{statistics.fmean(r['steps'] for r in mine):,.0f} | {statistics.fmean(losses):.3f} ± {std:.3f} | "
                     f"{statistics.fmean(losses) / 0.6931471805599453:.3f} | {statistics.fmean(form):.0%} | {statistics.fmean(memo):.1%} |")
    gpt = [r["val_loss"] for r in rows if r["recipe"] == RECIPES["gpt"]]
    lstm = [r["val_loss"] for r in rows if r["recipe"] == RECIPES["lstm"]]
    wins = sum(g < s for g, s in zip(gpt, lstm))
    lines += ["", (f"GPT below the LSTM in {wins} of {len(gpt)} seeds; {args.seconds:.0f} s per model and seed "
                   f"(one thread each, the two models of a seed side by side); total {(time.perf_counter() - started) / 60:.1f} min."),
              "Per seed: " + "; ".join(f"{r['recipe']} seed {r['seed']} {r['val_loss']:.4f} ({r['steps']} steps)" for r in rows)]
    table = "\n".join(lines)
    print(table)
    if args.figure:
        from tujie.plots.lm import validation_against_time

        curves = {f"{r['recipe'].removeprefix('tang-poetry-')} seed {r['seed']}":
                  json.loads((Path(r["run_dir"]) / "lm.json").read_text(encoding="utf-8"))["history"] for r in rows}
        Path(args.figure).write_bytes(validation_against_time(curves))
    if args.out:
        Path(args.out).write_text(f"Command: `TUJIE_DATA=/work/shared/data .venv/bin/python bench/lm_poetry.py --seeds "
                                  f"{' '.join(map(str, args.seeds))} --seconds {args.seconds:g}`\n\n{table}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
