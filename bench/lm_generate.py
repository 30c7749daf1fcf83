"""GPT speed on this CPU: generation with and without the KV cache, and training throughput.

    OMP_NUM_THREADS=1 .venv/bin/python bench/lm_generate.py [--new 256] [--prompt 16] [--steps 4]

Generation: greedy decoding of `--new` tokens after a `--prompt`-token prompt, batch 1, a
6,000-token vocabulary (about the Tang poems' characters), micro and mini GPTs. With the cache each
step feeds one token; without it each step feeds the whole window again (the head too, as
`model(idx)` does). Both must write the same tokens (checked). Block 512 keeps the whole text inside
one window; block 128 shows the sliding regime, where the cache is rebuilt at every step past the
block (tujie.lm.generate's documented choice) and wins nothing there.

Training: forward + backward + AdamW step on random windows, batch 32, blocks 64 and 128, for
nano, micro and mini: tokens per second = batch × block / seconds per step (median of `--steps`
after one warm-up step). One thread throughout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

import tujie as tj
from tujie.lm import generate_ids

VOCAB = 6000


def generation(size: str, block: int, prompt_len: int, new: int) -> dict:
    torch.manual_seed(0)
    model = tj.models.create("gpt", vocab_size=VOCAB, block_size=block, size=size).eval()
    prompt = torch.randint(4, VOCAB, (1, prompt_len))
    row = {"size": size, "block": block, "params": model.num_parameters()}
    outputs = {}
    for use_cache in (True, False):
        start = time.perf_counter()
        outputs[use_cache] = generate_ids(model, prompt, max_new=new, temperature=0, use_cache=use_cache)
        seconds = time.perf_counter() - start
        row["cache" if use_cache else "recompute"] = new / seconds  # tokens/s
    row["same"] = torch.equal(outputs[True], outputs[False])
    return row


def training(size: str, block: int, batch: int, steps: int) -> dict:
    torch.manual_seed(0)
    model = tj.models.create("gpt", vocab_size=VOCAB, block_size=block, size=size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, fused=False)
    data = torch.randint(4, VOCAB, (batch, block + 1))
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        logits = model(data[:, :-1])  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), data[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step:  # the first step allocates the optimizer's state
            times.append(time.perf_counter() - start)
    return {"size": size, "block": block, "params": model.num_parameters(), "tokens_s": batch * block / statistics.median(times)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--new", type=int, default=256)
    parser.add_argument("--prompt", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)
    training("nano", 64, 4, 1)  # warm up the kernels once, so the first size measured pays no start-up cost
    print(f"Load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows every column alike)\n")

    print(f"## Generation: {args.new} new tokens after a {args.prompt}-token prompt, batch 1, greedy, vocabulary {VOCAB:,}\n")
    print("| GPT | non-embedding params | block | with KV cache (tokens/s) | recomputing (tokens/s) | cache / recompute | same tokens |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for size, block in (("micro", 512), ("mini", 512), ("mini", 128)):
        r = generation(size, block, args.prompt, args.new)
        print(f"| {size} | {r['params']:,} | {block} | {r['cache']:,.0f} | {r['recompute']:,.0f} | "
              f"{r['cache'] / r['recompute']:.1f}× | {'yes' if r['same'] else 'NO'} |", flush=True)

    print(f"\n## Training throughput: forward + backward + AdamW, batch {args.batch_size}, vocabulary {VOCAB:,}\n")
    print("| GPT | non-embedding params | block 64 (tokens/s) | block 128 (tokens/s) |")
    print("|---|---:|---:|---:|")
    for size in ("nano", "micro", "mini"):
        rows = [training(size, block, args.batch_size, args.steps) for block in (64, 128)]
        print(f"| {size} | {rows[0]['params']:,} | {rows[0]['tokens_s']:,.0f} | {rows[1]['tokens_s']:,.0f} |", flush=True)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
