"""Forward+backward throughput (samples/s) of every registered vision model at batch 64 on the CPU.

For each model: eager with the default (NCHW) memory format, eager with channels_last, and
(with --compile) torch.compile of the faster of the two. Input size: each model's example
input from the registry (32x32 or 64x64 small-input variants; `--size 224` for ImageNet size,
slow on a CPU). One SGD step per iteration; the median of `--steps` timed steps after 2 warm-up steps.

    python bench/zoo.py [--models resnet20 vgg11 ...] [--batch 64] [--steps 3] [--compile] [--bf16]
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import time

import torch
import torch.nn.functional as F

import tujie as tj
from tujie.models import spec
from tujie.train.loop import needs_build


def vision_models() -> list[str]:
    """Image classifiers: an image example input and a `num_classes` argument (not autoencoders or GANs)."""
    return [n for n in tj.models.list() if isinstance(spec(n).example_input, tuple) and len(spec(n).example_input) == 3
            and "num_classes" in inspect.signature(spec(n).builder).parameters]


def build(name: str, size: int):
    entry = spec(name)
    params = inspect.signature(entry.builder).parameters
    kwargs = {"num_classes": 10} if "num_classes" in params else {}
    if "image_size" in params:  # models whose layout depends on the input size (ViT, SimpleCNN)
        kwargs["image_size"] = size
        if "patch_size" in entry.test_kwargs:
            kwargs["patch_size"] = entry.test_kwargs["patch_size"]
    return entry.builder(**kwargs)


def throughput(model, x, y, steps: int, channels_last: bool, bf16: bool = False) -> float:
    memory = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory)
    x = x.contiguous(memory_format=memory)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
            out = out[0] if isinstance(out, tuple) else out
            loss = F.cross_entropy(out.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return len(x) / statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--size", type=int, help="input height/width (default: each model's example size)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile on a CPU)")
    parser.add_argument("--bf16", action="store_true", help="also time bf16 autocast")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    header = f"{'model':<20}{'input':>12}{'params':>12}{'NCHW':>10}{'NHWC':>10}{'NHWC/NCHW':>11}"
    header += f"{'compiled':>10}" if args.compile else ""
    header += f"{'bf16':>10}" if args.bf16 else ""
    print(header + "   (samples/s, forward+backward+SGD step)")
    for name in args.models or vision_models():
        channels, height, _ = spec(name).example_input
        size = args.size or height
        torch.manual_seed(0)
        model = build(name, size).train()
        x = torch.randn(args.batch, channels, size, size)
        if needs_build(model):  # lazy Keras-style layers (mlp) take their sizes from a first batch
            model(x[:2])
        y = torch.randint(0, 10, (args.batch,))
        nchw = throughput(model, x, y, args.steps, channels_last=False)
        nhwc = throughput(model, x, y, args.steps, channels_last=True)
        row = (f"{name:<20}{f'{channels}x{size}x{size}':>12}{sum(p.numel() for p in model.parameters()):>12,}"
               f"{nchw:>10.0f}{nhwc:>10.0f}{nhwc / nchw:>11.2f}")
        if args.compile:
            fresh = build(name, size).train()
            if needs_build(fresh):
                fresh(x[:2])
            compiled = torch.compile(fresh)
            row += f"{throughput(compiled, x, y, args.steps, channels_last=nhwc > nchw):>10.0f}"
        if args.bf16:
            row += f"{throughput(model, x, y, args.steps, channels_last=nhwc > nchw, bf16=True):>10.0f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
