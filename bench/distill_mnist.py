"""Distillation on MNIST (Hinton, Vinyals & Dean 2015, section 3), scaled to a small shared CPU.

    OMP_NUM_THREADS=1 TUJIE_DATA=/work/shared/data .venv/bin/python bench/distill_mnist.py --seeds 0 1

A teacher (`--teacher mlp`: 1200-1200 ReLU with dropout, the paper's shape; `--teacher lenet5`:
LeNet-5 with ReLU and max-pooling, stronger for the same minutes of CPU) is trained on the 60,000
training images; then, with the same seed, epochs, optimizer, schedule and batches, the same small
student (default 800-800, the paper's) is trained twice: alone on the labels, and distilled from
the teacher's soft targets (T, alpha). The figures are test errors out of 10,000.

The paper's anchor: the 800-800 student makes 146 errors alone and 74 distilled at T = 20 from a
1200-1200 teacher (67 errors) trained with dropout and jittered inputs for far longer (its Table
of section 3). Our nets train for a few epochs without jitter, so the absolute numbers differ;
what is compared is the gap between the two students, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

import tujie as tj
from tujie.compress.distill import distill

PAPER = {"teacher": 67, "student alone": 146, "student distilled": 74}


def errors(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(x[i:i + 2000]).argmax(-1) for i in range(0, len(x), 2000)])
    return int((predictions != y).sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teacher", choices=("mlp", "lenet5"), default="mlp")
    parser.add_argument("--scheduler", default=None, help="e.g. cosine: the rate decays to 0 for teacher and students")
    parser.add_argument("--teacher-hidden", type=int, nargs="+", default=[1200, 1200])
    parser.add_argument("--teacher-dropout", type=float, default=0.3)
    parser.add_argument("--teacher-epochs", type=int, default=8)
    parser.add_argument("--student-hidden", type=int, nargs="+", default=[800, 800])
    parser.add_argument("--epochs", type=int, default=8, help="the students' epochs (the same for both)")
    parser.add_argument("--temperature", type=float, default=20.0)
    parser.add_argument("--alpha", type=float, default=0.9)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = tj.datasets.load("mnist", validation_split=0.0)
    train, (x_test, y_test) = (data.train.x, data.train.y), (data.test.x, data.test.y)

    tj.seed_everything(0)
    if args.teacher == "mlp":
        teacher = tj.models.create("mlp", hidden=tuple(args.teacher_hidden), dropout=args.teacher_dropout)
        teacher_name = f"MLP {'-'.join(map(str, args.teacher_hidden))} dropout {args.teacher_dropout}"
    else:
        teacher, teacher_name = tj.models.create("lenet5", activation="relu", pooling="max"), "LeNet-5 (ReLU, max-pool)"
    start = time.perf_counter()
    tj.Learner(teacher, optimizer="adam", lr=args.lr, seed=0, scheduler=args.scheduler).fit(
        train, epochs=args.teacher_epochs, batch_size=args.batch_size, verbose=0)
    teacher_seconds = time.perf_counter() - start
    teacher_errors = errors(teacher, x_test, y_test)
    print(f"teacher {teacher_name} ({args.teacher_epochs} epochs, {teacher_seconds:.0f} s): {teacher_errors} test errors", flush=True)

    rows = []
    for seed in args.seeds:
        row = {"seed": seed}
        for name, alpha in (("alone", 0.0), ("distilled", args.alpha)):
            start = time.perf_counter()
            tj.seed_everything(seed)  # the same initial student weights for both
            student = tj.models.create("mlp", hidden=tuple(args.student_hidden))
            if alpha == 0.0:  # the baseline: the same loop on the labels alone, no teacher at all
                tj.Learner(student, optimizer="adam", lr=args.lr, seed=seed, scheduler=args.scheduler).fit(
                    train, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
            else:
                distill(teacher, student, train, temperature=args.temperature, alpha=alpha, epochs=args.epochs,
                        batch_size=args.batch_size, lr=args.lr, seed=seed, learner_options={"scheduler": args.scheduler})
            row[name] = errors(student, x_test, y_test)
            row[f"{name}_s"] = round(time.perf_counter() - start, 1)
        rows.append(row)
        print(f"seed {seed}: student {'-'.join(map(str, args.student_hidden))} alone {row['alone']} errors ({row['alone_s']} s), "
              f"distilled {row['distilled']} errors ({row['distilled_s']} s)", flush=True)

    alone = statistics.mean(r["alone"] for r in rows)
    distilled = statistics.mean(r["distilled"] for r in rows)
    print(f"\nteacher {teacher_name}; student {'-'.join(map(str, args.student_hidden))}, {args.epochs} epochs, "
          f"T = {args.temperature}, alpha = {args.alpha}, seeds {args.seeds}")
    print(f"{'':28}{'ours':>10}{'Hinton et al. 2015':>22}")
    print(f"{'teacher':28}{teacher_errors:>10}{PAPER['teacher']:>22}")
    print(f"{'student alone (mean)':28}{alone:>10.1f}{PAPER['student alone']:>22}")
    print(f"{'student distilled (mean)':28}{distilled:>10.1f}{PAPER['student distilled']:>22}")
    print(f"errors removed by distillation: {alone - distilled:.1f} of {alone:.1f} ({(alone - distilled) / alone:.0%}); "
          f"paper: 72 of 146 (49%)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "teacher": teacher_name, "teacher_errors": teacher_errors, "teacher_s": teacher_seconds, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
