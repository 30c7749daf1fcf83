"""Training a CTC model on digit strings, and the evaluations the report shows.

`train_ctc` is a plain loop, one batch at a time: fresh strings each epoch (`strings.make_strings`
seeded by seed + epoch), log-mel features, the model's logits, `log_softmax`, `torch.nn.CTCLoss`
(blank = class 10, `zero_infinity` so that a string too long for its frames cannot poison a batch),
AdamW with a one-cycle learning rate, gradient norm clipped. After each epoch an optional
`evaluate(model)` gives the numbers logged beside the training loss.

`transcribe` decodes waveforms (greedy or prefix beam); `evaluate_strings` gives CER / WER /
string error of a set of strings; `isolated_accuracy` decodes single recordings and counts one as
right only when the model reads exactly that one digit.

Example:
    >>> import numpy as np, torch
    >>> from tujie.models import create
    >>> from tujie.speech.audio import Recording
    >>> recs = [Recording(np.random.default_rng(d).normal(0, 0.1, 1200).astype(np.float32), d, "ann", 0) for d in range(3)]
    >>> model = create("ctc_digits", channels=8, hidden=8, layers=1)
    >>> history = train_ctc(model, recs, epochs=1, strings_per_epoch=8, batch_size=4, lr=1e-3, seed=0)
    >>> len(history), sorted(history[0])
    (1, ['epoch', 'loss', 'seconds'])
    >>> len(transcribe(model, [r.samples for r in recs]))
    3
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

import numpy as np
import torch
from torch import nn

from .decoding import error_rates, greedy_decode, prefix_beam_search
from .strings import batch_features, make_strings, single_strings


def _ctc_loss(model, strings, criterion) -> torch.Tensor:
    feats, lengths = batch_features([s.wave for s in strings])  # (batch, n_mels, frames), (batch,)
    logits = model(feats, lengths)  # (batch, frames', classes)
    log_probs = logits.log_softmax(-1).transpose(0, 1)  # (frames', batch, classes): CTCLoss's layout
    targets = torch.tensor([d for s in strings for d in s.digits])  # (sum of string lengths,)
    target_lengths = torch.tensor([len(s.digits) for s in strings])
    return criterion(log_probs, targets, model.output_lengths(lengths), target_lengths)


def train_ctc(model: nn.Module, recordings, epochs: int, strings_per_epoch: int, batch_size: int, lr: float, seed: int,
              min_digits: int = 1, max_digits: int = 5, silence=(0.05, 0.3), clip: float = 5.0, evaluate=None,
              log=None) -> list[dict]:
    """Train `model` with CTC on fresh digit strings every epoch; one record per epoch (loss, seconds, evaluate's numbers)."""
    torch.manual_seed(seed)
    criterion = nn.CTCLoss(blank=model.blank, zero_infinity=True)
    steps_per_epoch = math.ceil(strings_per_epoch / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15)
    history = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        strings = make_strings(recordings, strings_per_epoch, seed=seed * 100_003 + epoch, min_digits=min_digits,
                               max_digits=max_digits, silence=silence)
        total, count = 0.0, 0
        for i in range(0, len(strings), batch_size):
            batch = strings[i:i + batch_size]
            loss = _ctc_loss(model, batch, criterion)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            schedule.step()
            total, count = total + loss.item() * len(batch), count + len(batch)
        record = {"epoch": epoch, "loss": total / count, "seconds": time.perf_counter() - started}
        if evaluate is not None:
            record.update(evaluate(model))
        history.append(record)
        if log is not None:
            log(record)
    return history


@torch.no_grad()
def posteriors(model: nn.Module, waves: list[np.ndarray], batch_size: int = 64) -> list[torch.Tensor]:
    """Each waveform's (frames', classes) log-probabilities, padding cut off."""
    model.eval()
    out = []
    for i in range(0, len(waves), batch_size):
        feats, lengths = batch_features(waves[i:i + batch_size])
        log_probs = model(feats, lengths).log_softmax(-1)  # (batch, frames', classes)
        for row, n in zip(log_probs, model.output_lengths(lengths).tolist()):
            out.append(row[:n])
    return out


def transcribe(model: nn.Module, waves: list[np.ndarray], beam: int | None = None) -> list[list[int]]:
    """The digits read in each waveform: greedy decoding (`beam=None`) or prefix beam search of width `beam`."""
    blank = model.blank
    return [greedy_decode(p, blank) if beam is None else prefix_beam_search(p, beam, blank) for p in posteriors(model, waves)]


def evaluate_strings(model: nn.Module, strings, beam: int | None = None) -> dict:
    """CER, WER and string error of `strings` (jiwer); with `by_speaker`, the same for each speaker's strings."""
    hyps = transcribe(model, [s.wave for s in strings], beam)
    result = error_rates([s.digits for s in strings], hyps)
    groups = defaultdict(list)
    for s, h in zip(strings, hyps):
        groups[s.speaker].append((s.digits, h))
    result["by_speaker"] = {k: error_rates([r for r, _ in v], [h for _, h in v]) for k, v in sorted(groups.items())}
    result["examples"] = [{"speaker": s.speaker, "digits": s.digits, "decoded": h} for s, h in list(zip(strings, hyps))[:8]]
    return result


def isolated_accuracy(model: nn.Module, recordings, beam: int | None = None, seed: int = 0) -> dict:
    """Single recordings decoded as strings: right only when exactly their one digit is read. Overall and per speaker.

    Each recording is framed as a one-digit string (`strings.single_strings`: pauses and noise floor as in training).
    """
    hyps = transcribe(model, [s.wave for s in single_strings(recordings, seed)], beam)
    right = [h == [r.digit] for r, h in zip(recordings, hyps)]
    speakers = defaultdict(list)
    for r, ok in zip(recordings, right):
        speakers[r.speaker].append(ok)
    confusion = np.zeros((10, 11), dtype=int)  # (true digit, read digit or 10 = not one digit)
    for r, h in zip(recordings, hyps):
        confusion[r.digit, h[0] if len(h) == 1 else 10] += 1
    return {"accuracy": float(np.mean(right)), "count": len(right),
            "by_speaker": {k: {"accuracy": float(np.mean(v)), "count": len(v)} for k, v in sorted(speakers.items())},
            "confusion": confusion.tolist()}
