"""How much `import tujie` adds over `import torch` (target: at most 0.3 s).

    python bench/import_time.py [--repeats 7]

Each import runs in a fresh interpreter; the figure is the median over repeats.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys


def seconds(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-c", "import tujie, torch"], check=True)  # warm the file cache
    torch_s, both_s, use_s = [], [], []
    for _ in range(args.repeats):
        torch_s.append(seconds("import torch"))
        both_s.append(seconds("import torch, tujie"))
        use_s.append(seconds("import torch, tujie; tujie.Sequential; tujie.layers.Dense; tujie.Learner"))
    torch_m, both_m, use_m = map(statistics.median, (torch_s, both_s, use_s))
    print(f"import torch:                       {torch_m:.3f} s")
    print(f"import torch, tujie:                {both_m:.3f} s  (tujie adds {both_m - torch_m:.3f} s; target <= 0.300)")
    print(f"... + Sequential, layers, Learner:  {use_m:.3f} s  (adds {use_m - torch_m:.3f} s)")


if __name__ == "__main__":
    main()
