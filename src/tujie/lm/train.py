"""Train a language model on one long stream of token ids: the loop of nanoGPT, readable in one sitting.

Each step draws `batch_size` random windows of `block_size + 1` tokens from the training stream; the model
reads the first `block_size` and is scored (cross-entropy, nats per token) on predicting each next one.
AdamW (weight decay on matrices only, as GPT-2 and nanoGPT do), a linear warm-up then a cosine decay to a
tenth of the rate, gradients clipped to norm 1. Every `eval_every` steps the model is scored on the same
fixed validation windows, so the points of the curve are comparable; bits per token = nats / ln 2 and
perplexity = exp(nats). With character tokens a token is a character: nats per character.

`max_seconds` trains to a wall-time budget instead of a step count (the LSTM baseline gets the GPT's time):
the schedule then follows the elapsed share of the budget, so the rate has decayed when the time is up.
Works for any model that maps ids (B, T) to logits (B, T, V): `gpt` and `char_lstm` alike.

Example:
    >>> import torch
    >>> from torch import nn
    >>> class Bigram(nn.Module):  # the next token from the current one alone
    ...     def __init__(self, vocab):
    ...         super().__init__()
    ...         self.table = nn.Embedding(vocab, vocab)
    ...     def forward(self, idx):  # (B, T) -> (B, T, V)
    ...         return self.table(idx)
    >>> stream = torch.arange(200) % 5  # 0 1 2 3 4 0 1 ...: each token names the next
    >>> out = train_lm(Bigram(5), stream, stream, steps=60, batch_size=8, block_size=8, lr=0.3, warmup=5,
    ...                weight_decay=0.0, eval_every=30, eval_batches=2, seed=0)
    >>> [point["step"] for point in out["history"]], out["history"][-1]["val_loss"] < 0.2
    ([0, 30, 60], True)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ..i18n import _


def lr_at(progress: float, lr: float, warmup_share: float, floor: float = 0.1) -> float:
    """The learning rate at `progress` (0 → 1 of the run): linear warm-up, then cosine down to `floor` × lr.

    Example:
        >>> [round(lr_at(p, 1.0, 0.1), 3) for p in (0.0, 0.05, 0.1, 0.55, 1.0)]
        [0.0, 0.5, 1.0, 0.55, 0.1]
    """
    if progress < warmup_share:
        return lr * progress / warmup_share
    decay = min(1.0, (progress - warmup_share) / max(1e-12, 1.0 - warmup_share))
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * decay)))


def windows(ids, starts, block_size: int):
    """Inputs and next-token targets of the windows starting at `starts`: two (B, block_size) tensors."""
    import torch

    rows = ids[starts[:, None] + torch.arange(block_size + 1)]  # (B, block_size + 1), one gather, no Python loop
    return rows[:, :-1], rows[:, 1:]


def evaluate_lm(model, ids, *, block_size: int, batch_size: int, batches: int) -> float:
    """Mean nats per token on fixed windows of `ids`, evenly spaced from start to end (the same at every call)."""
    import torch
    import torch.nn.functional as F

    last = len(ids) - block_size - 1
    if last < 0:
        return math.nan
    count = min(batches * batch_size, last + 1)
    starts = torch.linspace(0, last, count).long()
    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for chunk in starts.split(batch_size):
            x, y = windows(ids, chunk, block_size)
            logits = model(x)  # (B, T, V)
            total += float(F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum"))
            tokens += y.numel()
    model.train(was_training)
    return total / tokens


def _optimizer(model, lr: float, weight_decay: float):
    """AdamW; weight decay on weight matrices and embeddings only, never on biases and norm gains."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, betas=(0.9, 0.95))


def train_lm(model, train_ids, val_ids, *, steps: int, batch_size: int, block_size: int, lr: float, warmup: int,
             weight_decay: float = 0.1, eval_every: int = 100, eval_batches: int = 20, sample_every: int | None = None,
             sample_fn: Callable | None = None, seed: int = 0, say: Callable = lambda *a: None,
             max_seconds: float | None = None, clip: float = 1.0) -> dict:
    """Train `model` to predict the next token of `train_ids`; score it on `val_ids` along the way.

    Args:
        model: maps ids (B, T) to logits (B, T, V); trained in place.
        train_ids, val_ids: 1-D LongTensors, each a whole corpus split as one stream.
        steps: optimizer steps (the most: `max_seconds` may stop it sooner).
        batch_size, block_size: windows per step and tokens per window.
        lr, warmup, weight_decay: AdamW's peak rate, the warm-up steps, the decay of the matrices.
        eval_every, eval_batches: steps between validation points; batches of fixed windows each.
        sample_every, sample_fn: call `sample_fn(step)` every `sample_every` steps and at the end (model in
            eval mode, no gradients) and keep what it returns (the samples at several temperatures).
        seed: the windows drawn (the weights are seeded by whoever built the model).
        say: prints a progress line.
        max_seconds: stop at this wall-time budget (training time, evaluations included).
        clip: the gradients' global norm is clipped to this.

    Returns:
        {"history": [{step, tokens, seconds, lr, train_loss, val_loss, val_bpc, val_ppl}], "samples": [{step, ...}],
         "steps", "tokens", "seconds", "tokens_per_second", "stopped": "steps" or "time", "val_loss", "val_bpc",
         "val_ppl"}: losses in nats per token.
    """
    import torch
    import torch.nn.functional as F

    if len(train_ids) <= block_size + 1:
        from ..errors import DataError

        raise DataError("The training text is shorter than one window.", expected=f"more than {block_size + 1} tokens",
                        received=f"{len(train_ids)} tokens", fix="Train on more text, or lower the block size.")
    generator = torch.Generator().manual_seed(seed)
    optimizer = _optimizer(model, lr, weight_decay)
    warmup_share = min(0.5, warmup / max(1, steps))
    history, samples = [], []
    running, tokens, step, compute_seconds = [], 0, 0, 0.0
    started = time.perf_counter()

    def point():
        val = evaluate_lm(model, val_ids, block_size=block_size, batch_size=batch_size, batches=eval_batches)
        train = sum(running) / len(running) if running else None  # none yet before the first step
        history.append({"step": step, "tokens": tokens, "seconds": time.perf_counter() - started, "lr": current_lr,
                        "train_loss": train, "val_loss": val, "val_bpc": val / math.log(2), "val_ppl": math.exp(min(val, 50))})
        if running:
            say(_("step {step}: training loss {train:.3f}, validation loss {val:.3f} nats ({bpc:.2f} bits) per token").format(
                step=step, train=train, val=val, bpc=val / math.log(2)))
        else:  # before the first step there is no training loss yet
            say(_("step {step}: validation loss {val:.3f} nats ({bpc:.2f} bits) per token").format(
                step=step, val=val, bpc=val / math.log(2)))
        running.clear()

    def sample():
        model.eval()
        with torch.no_grad():
            samples.append({"step": step, **sample_fn(step)})
        model.train()

    current_lr = 0.0
    model.train()
    point()
    stopped = "steps"
    while step < steps:
        progress = step / steps
        if max_seconds:
            progress = max(progress, (time.perf_counter() - started) / max_seconds)
            if progress >= 1.0:
                stopped = "time"
                break
        current_lr = lr_at(progress, lr, warmup_share)
        for group in optimizer.param_groups:
            group["lr"] = current_lr
        tick = time.perf_counter()
        starts = torch.randint(0, len(train_ids) - block_size - 1, (batch_size,), generator=generator)
        x, y = windows(train_ids, starts, block_size)  # (B, T), (B, T)
        logits = model(x)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        compute_seconds += time.perf_counter() - tick
        step += 1
        tokens += x.numel()
        running.append(float(loss.detach()))
        if step % eval_every == 0 and step < steps:
            point()
        if sample_fn and sample_every and step % sample_every == 0 and step < steps:
            sample()
    if not history or history[-1]["step"] != step:
        point()
    if sample_fn:
        sample()
    final = history[-1]
    if stopped == "time":
        say(_("Stopped at the time budget of {seconds:.0f} s after {steps} steps").format(seconds=max_seconds, steps=step))
    return {"history": history, "samples": samples, "steps": step, "tokens": tokens,
            "seconds": time.perf_counter() - started, "train_seconds": compute_seconds,
            "tokens_per_second": tokens / compute_seconds if compute_seconds else math.nan, "stopped": stopped,
            "val_loss": final["val_loss"], "val_bpc": final["val_bpc"], "val_ppl": final["val_ppl"]}
