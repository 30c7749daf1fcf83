"""Int8 quantization on the CPU: size, latency at batch 1 and 64, and accuracy before and after.

    OMP_NUM_THREADS=1 TUJIE_DATA=/work/shared/data .venv/bin/python bench/quantize.py

Three models, each trained briefly here (the point is the change, not the float accuracy):
LeNet-300-100 (`mlp`, hidden 300-100) and LeNet-5 on MNIST, ResNet-20 on a slice of CIFAR-10
(`--models lenet5-relu`: LeNet-5 with ReLU and max-pooling, whose int8 kernels are fast, unlike
the paper's tanh and average pooling).
Each is measured as float32, then after dynamic int8 (Linear layers only), static int8 (calibrated
on `--calibration` training images) and quantization-aware training (`--qat-epochs` of fake-quant
fine-tuning on `--qat-train` images), with `tujie.compress.measure` on the same test images.
Latencies are medians of 30 passes on one thread of a shared machine; compare the ratios within
one run. Anchor: dynamic int8 makes Linear weights about 4× smaller (int8 instead of float32).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import tujie as tj
from tujie.compress.measure import accuracy, latency_ms, size_mb
from tujie.compress.quantize import quantization_aware_training, quantize_dynamic, quantize_static


def train_float(name: str, data, epochs: int, train_size: int, seed: int = 0) -> torch.nn.Module:
    kwargs = {"mlp": {"hidden": (300, 100)}, "lenet5-relu": {"activation": "relu", "pooling": "max"}}.get(name, {})
    tj.seed_everything(seed)
    model = tj.models.create(name.split("-")[0], **kwargs)
    x, y = data.train.x[:train_size], data.train.y[:train_size]
    tj.Learner(model, optimizer="adam", lr=1e-3, seed=seed).fit((x, y), epochs=epochs, batch_size=128, verbose=0)
    return model.eval()


VARIANTS = ("float32", "dynamic int8", "static int8", "QAT int8")


def make(variant: str, model, calibration, example, qat_data, qat_epochs: int):
    if variant == "dynamic int8":
        return quantize_dynamic(model)
    if variant == "static int8":
        return quantize_static(model, calibration, example_input=example)
    if variant == "QAT int8":
        return quantization_aware_training(model, qat_data, example_input=example, epochs=qat_epochs, lr=1e-4, batch_size=128)
    return model


def measure(model, example, test) -> dict:
    times = latency_ms(model, example, batch_sizes=(1, 64), repeats=30, warmup=5)
    return {"size_mb": size_mb(model), "ms_b1": times[1], "ms_b64": times[64], "accuracy": accuracy(model, test)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["mlp", "lenet5", "resnet20"])
    parser.add_argument("--epochs", type=int, default=2, help="float training epochs (MNIST models)")
    parser.add_argument("--resnet-epochs", type=int, default=2)
    parser.add_argument("--resnet-train", type=int, default=10000, help="CIFAR-10 training images for ResNet-20")
    parser.add_argument("--test", type=int, default=10000, help="test images measured")
    parser.add_argument("--calibration", type=int, default=1000, help="training images for static calibration")
    parser.add_argument("--qat-epochs", type=int, default=1)
    parser.add_argument("--qat-train", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    for name in args.models:
        data = tj.datasets.load("cifar10" if name == "resnet20" else "mnist", validation_split=0.0)
        start = time.perf_counter()
        train_size = args.resnet_train if name == "resnet20" else len(data.train.x)
        model = train_float(name, data, args.resnet_epochs if name == "resnet20" else args.epochs, train_size)
        trained_s = time.perf_counter() - start
        test = (data.test.x[:args.test], data.test.y[:args.test])
        example = data.test.x[:64]
        calibration = [data.train.x[i:i + 100] for i in range(0, args.calibration, 100)]
        qat_data = (data.train.x[:args.qat_train], data.train.y[:args.qat_train])
        rows = {}
        print(f"\n{name} (float trained {trained_s:.0f} s on {train_size} images; {len(test[0])} test images)", flush=True)
        print(f"{'':16}{'MB':>8}{'×smaller':>10}{'ms b=1':>9}{'ms b=64':>9}{'speed-up 64':>13}{'accuracy':>10}{'made in s':>11}")
        for variant in VARIANTS:
            start = time.perf_counter()
            quantized = make(variant, model, calibration, example[:1], qat_data, args.qat_epochs)
            made_s = time.perf_counter() - start
            row = measure(quantized, example, test)
            row["made_s"] = made_s
            row["blocks"] = getattr(quantized, "report", None)
            base = rows.get("float32", row)
            row["size_ratio"] = base["size_mb"] / row["size_mb"]
            row["speedup_b64"] = base["ms_b64"] / row["ms_b64"]
            row["speedup_b1"] = base["ms_b1"] / row["ms_b1"]
            rows[variant] = row
            print(f"{variant:16}{row['size_mb']:>8.3f}{row['size_ratio']:>10.2f}{row['ms_b1']:>9.3f}{row['ms_b64']:>9.2f}"
                  f"{row['speedup_b64']:>13.2f}{row['accuracy']:>10.4f}{made_s:>11.1f}", flush=True)
        blocks = rows["static int8"]["blocks"]
        print(f"static int8 blocks: {blocks['quantized']}; left float: {[b['block'] for b in blocks['float']]}")
        results[name] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
