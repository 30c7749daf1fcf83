"""Spoken digit strings: 1–5 recordings of one speaker joined with short random silences, new every epoch.

FSDD holds isolated digits; a CTC model should learn to read a *string* of them without being told
where one ends. `make_strings` draws, for each string, a speaker, a length (uniform in
`min_digits..max_digits`), that many of the speaker's recordings, and a silence before, between and
after them (uniform in `silence` seconds, with a faint noise floor so that the log-mel of a pause is
not −∞). Each recording is scaled to the same peak (FSDD's speakers record at very different
levels), times a random gain in [0.5, 1]. The draw is seeded by `seed`: a training run passes
`seed + epoch`, so every epoch hears new strings and a run is reproducible.

`single_strings` frames each recording alone the same way (a one-digit string), for isolated-digit tests.
`batch_features` turns waveforms into the model's input: log-mel (`features.log_mel`), each string
normalised to zero mean and unit variance over its own frames, zero-padded; and the frame counts.

Example:
    >>> import numpy as np
    >>> from tujie.speech.audio import Recording
    >>> recs = [Recording(np.ones(800, np.float32) * 0.1, d, "ann", 0) for d in range(10)]
    >>> strings = make_strings(recs, count=3, seed=0)
    >>> [len(s.digits) for s in strings], strings[0].wave.dtype
    ([5, 4, 1], dtype('float32'))
    >>> feats, lengths = batch_features([s.wave for s in strings])
    >>> feats.shape[:2], lengths.tolist() == [1 + len(s.wave) // 80 for s in strings]
    (torch.Size([3, 40]), True)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DataError
from .features import frames_of, log_mel, mel_filterbank

NOISE_FLOOR = 1e-3  # the silences' noise level (and the whole string's), against a peak of 0.9


@dataclass
class DigitString:
    """One generated utterance: its waveform (float32, 8 kHz), the digits said, the speaker, and where each digit starts."""

    wave: np.ndarray
    digits: list[int]
    speaker: str
    starts: list[int]  # sample where each recording begins


def make_strings(recordings, count: int, seed: int, min_digits: int = 1, max_digits: int = 5,
                 silence: tuple[float, float] = (0.05, 0.3), rate: int = 8000) -> list[DigitString]:
    """`count` strings drawn from `recordings` (each string from one speaker's recordings), seeded.

    Args:
        recordings: `audio.Recording`s (samples at `rate`).
        count: how many strings.
        seed: the draw's seed (pass seed + epoch for a new set each epoch).
        min_digits, max_digits: the length range, both included.
        silence: (shortest, longest) pause in seconds before, between and after the recordings.
    """
    if not recordings:
        raise DataError("No recordings to make digit strings from.", expected="at least one recording",
                        received="an empty list", fix="Check the speakers and the data folder.")
    if not 1 <= min_digits <= max_digits:
        raise DataError("The digit-string lengths are not a range.", expected="1 <= min_digits <= max_digits",
                        received=f"min_digits={min_digits}, max_digits={max_digits}", fix="Set e.g. min_digits=1, max_digits=5.")
    by_speaker = defaultdict(list)
    for r in recordings:
        by_speaker[r.speaker].append(r)
    speakers = sorted(by_speaker)
    rng = np.random.default_rng(seed)
    strings = []
    for _ in range(count):
        speaker = speakers[rng.integers(len(speakers))]
        pool = by_speaker[speaker]
        chosen = [pool[i] for i in rng.integers(len(pool), size=rng.integers(min_digits, max_digits + 1))]
        pauses = rng.uniform(*silence, size=len(chosen) + 1) * rate
        pieces, starts, at = [], [], 0
        for pause, rec in zip(pauses, chosen):
            pieces.append(np.zeros(int(pause), np.float32))
            at += int(pause)
            starts.append(at)
            peak = float(np.abs(rec.samples).max()) or 1.0
            pieces.append(rec.samples * (0.9 * rng.uniform(0.5, 1.0) / peak))
            at += len(rec.samples)
        pieces.append(np.zeros(int(pauses[-1]), np.float32))
        wave = np.concatenate(pieces)
        wave = (wave + rng.normal(0.0, NOISE_FLOOR, size=wave.shape)).astype(np.float32)
        strings.append(DigitString(wave, [r.digit for r in chosen], speaker, starts))
    return strings


def single_strings(recordings, seed: int, silence: tuple[float, float] = (0.05, 0.3)) -> list[DigitString]:
    """Each recording alone as a one-digit string: scaled, paused and noised as `make_strings` does.

    An isolated recording is read by the string model as the string it would be in training (FSDD's files
    are cut tight; without the pauses the model meets an utterance unlike any it learned on).
    """
    rng = np.random.default_rng(seed)
    out = []
    for rec in recordings:
        before, after = (int(p) for p in rng.uniform(*silence, size=2) * RATE)
        peak = float(np.abs(rec.samples).max()) or 1.0
        wave = np.concatenate([np.zeros(before, np.float32), rec.samples * (0.9 * rng.uniform(0.5, 1.0) / peak),
                               np.zeros(after, np.float32)])
        wave = (wave + rng.normal(0.0, NOISE_FLOOR, size=wave.shape)).astype(np.float32)
        out.append(DigitString(wave, [rec.digit], rec.speaker, [before]))
    return out


RATE = 8000
_FILTERBANK = mel_filterbank()


def batch_features(waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (batch, n_mels, frames), frame counts (batch,)): log-mel, each normalised over its own frames, zero-padded."""
    longest = max(len(w) for w in waves)
    batch = torch.zeros(len(waves), longest)  # (batch, samples)
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
    lengths = torch.tensor([frames_of(len(w)) for w in waves])  # (batch,)
    feats = log_mel(batch, filterbank=_FILTERBANK)  # (batch, n_mels, frames)
    mask = (torch.arange(feats.shape[-1])[None, :] < lengths[:, None])[:, None, :]  # (batch, 1, frames)
    count = mask.sum(dim=(1, 2), keepdim=True) * feats.shape[1]
    mean = (feats * mask).sum(dim=(1, 2), keepdim=True) / count
    var = (((feats - mean) * mask) ** 2).sum(dim=(1, 2), keepdim=True) / count
    feats = (feats - mean) / var.clamp_min(1e-8).sqrt() * mask  # padding stays 0 (the mean)
    return feats, lengths
