"""Log-mel features in plain torch: `torch.stft`, then a mel filterbank built by hand (no torchaudio, no librosa).

The mel scale is HTK's (Young et al., *The HTK Book*): `mel(f) = 2595 · log10(1 + f / 700)`, so that
1000 Hz is 1000 mel. `n_mels` triangular filters have their feet and peaks at `n_mels + 2` points
spaced evenly in mel between `fmin` and `fmax`; each filter rises linearly from 0 at its left foot to 1
at its centre and falls to 0 at its right foot, evaluated at every FFT bin's frequency `k · rate / n_fft`.
The filters are not area-normalised (librosa's `filters.mel(htk=True, norm=None)`, torchaudio's
`melscale_fbanks(mel_scale="htk", norm=None)` build the same matrix). Slaney's scale (linear below
1 kHz) is not used.

Defaults for 8 kHz speech: 25 ms Hann windows (200 samples) every 10 ms (80 samples), a 256-point FFT,
40 filters from 20 Hz to 4 kHz, `log(mel power + 1e-6)`.

Example:
    >>> import torch
    >>> round(hz_to_mel(1000.0), 2), round(mel_to_hz(hz_to_mel(440.0)), 6)
    (999.99, 440.0)
    >>> mel_filterbank(n_mels=40, n_fft=256, rate=8000).shape  # (n_mels, n_fft // 2 + 1)
    torch.Size([40, 129])
    >>> log_mel(torch.zeros(2, 8000)).shape  # (batch, n_mels, frames): 1 + 8000 // 80 frames
    torch.Size([2, 40, 101])
"""

from __future__ import annotations

import math

import torch

N_FFT, WIN, HOP, N_MELS, FMIN, FMAX, FLOOR = 256, 200, 80, 40, 20.0, 4000.0, 1e-6


def hz_to_mel(hz: float) -> float:
    """HTK's mel scale: 2595 · log10(1 + f / 700)."""
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: float) -> float:
    """The inverse: 700 · (10^(m / 2595) − 1)."""
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = 8000, fmin: float = FMIN,
                   fmax: float | None = FMAX) -> torch.Tensor:
    """Triangular HTK-mel filters over the FFT bins: (n_mels, n_fft // 2 + 1), float32, no normalisation."""
    fmax = rate / 2 if fmax is None else fmax
    low, high = hz_to_mel(fmin), hz_to_mel(fmax)
    edges = torch.tensor([mel_to_hz(low + (high - low) * i / (n_mels + 1)) for i in range(n_mels + 2)], dtype=torch.float64)
    bins = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * rate / n_fft  # (bins,) each bin's frequency in Hz
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (n_mels, 1) each
    rising = (bins - left) / (centre - left)  # (n_mels, bins)
    falling = (right - bins) / (right - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


def frames_of(samples: int | torch.Tensor, hop: int = HOP):
    """How many frames `log_mel` makes of `samples` samples (centred frames: 1 + samples // hop)."""
    return 1 + samples // hop


def log_mel(waves: torch.Tensor, rate: int = 8000, n_mels: int = N_MELS, n_fft: int = N_FFT, win: int = WIN,
            hop: int = HOP, fmin: float = FMIN, fmax: float | None = FMAX, filterbank: torch.Tensor | None = None) -> torch.Tensor:
    """Log-mel power spectrogram of a batch of waveforms.

    Args:
        waves: (batch, samples) or (samples,) float waveforms in [-1, 1].
        filterbank: a prebuilt `mel_filterbank` (else built from the other arguments).

    Returns:
        (batch, n_mels, frames) or (n_mels, frames): log(mel power + 1e-6).
    """
    single = waves.ndim == 1
    waves = waves[None] if single else waves  # (batch, samples)
    window = torch.hann_window(win, dtype=waves.dtype, device=waves.device)
    spec = torch.stft(waves, n_fft=n_fft, hop_length=hop, win_length=win, window=window, center=True,
                      pad_mode="constant", return_complex=True)  # (batch, n_fft // 2 + 1, frames)
    power = spec.real.square() + spec.imag.square()
    fb = (filterbank if filterbank is not None else mel_filterbank(n_mels, n_fft, rate, fmin, fmax)).to(power)
    mel = torch.einsum("mf,bft->bmt", fb, power)  # (batch, n_mels, frames)
    out = torch.log(mel + FLOOR)
    return out[0] if single else out
