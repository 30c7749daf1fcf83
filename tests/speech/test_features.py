"""Log-mel features: the HTK mel scale and filterbank against hand computation, the STFT against numpy."""

import math

import numpy as np
import torch

from tujie.speech.features import hz_to_mel, log_mel, mel_filterbank, mel_to_hz


def test_htk_mel_scale_matches_its_published_values():
    # HTK: 1000 Hz is (nearly) 1000 mel; 700 Hz is 2595 log10(2) = 781.17 mel (librosa.hz_to_mel(700, htk=True))
    assert math.isclose(hz_to_mel(1000.0), 999.9855371, rel_tol=1e-9)
    assert math.isclose(hz_to_mel(700.0), 781.1728387, rel_tol=1e-9)
    assert math.isclose(mel_to_hz(hz_to_mel(3210.0)), 3210.0, rel_tol=1e-12)


def test_one_filter_matches_the_hand_computed_triangle():
    # 8 kHz, 8-point FFT: bins at 0, 1000, 2000, 3000, 4000 Hz. One filter from 0 to 4000 Hz: its peak sits at
    # mel(4000) / 2 = 1073.03 mel = 1113.83 Hz; rising 1000 / 1113.83, falling (4000 - f) / (4000 - 1113.83).
    peak = 700 * (10 ** (2595 * math.log10(1 + 4000 / 700) / 2 / 2595) - 1)
    assert abs(peak - 1113.83) < 0.01
    expected = [0.0, 1000 / peak, 2000 / (4000 - peak), 1000 / (4000 - peak), 0.0]
    got = mel_filterbank(n_mels=1, n_fft=8, rate=8000, fmin=0.0, fmax=4000.0)[0].tolist()
    assert np.allclose(got, expected, atol=1e-6) and np.allclose(got, [0.0, 0.8978, 0.6930, 0.3465, 0.0], atol=1e-4)


def test_filters_tile_the_band_and_peak_in_order():
    fb = mel_filterbank(n_mels=40, n_fft=256, rate=8000).numpy()  # (40, 129)
    assert fb.min() >= 0 and fb.max() <= 1
    peaks = fb.argmax(1)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > peaks[0]
    assert (fb.sum(0)[2:-1] > 0).all()  # every bin between 20 Hz and 4 kHz is covered by some filter


def test_log_mel_equals_a_numpy_stft_reference():
    rng = np.random.default_rng(0)
    wave = rng.normal(0, 0.1, 1000).astype(np.float32)
    n_fft, win, hop = 256, 200, 80
    padded = np.pad(wave.astype(np.float64), n_fft // 2)  # centred frames, zero padding (pad_mode="constant")
    window = np.zeros(n_fft)
    window[(n_fft - win) // 2:(n_fft - win) // 2 + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)  # periodic Hann
    frames = np.stack([padded[i * hop:i * hop + n_fft] * window for i in range(1 + len(wave) // hop)])  # (frames, n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (frames, bins)
    reference = np.log(mel_filterbank().double().numpy() @ power.T + 1e-6)  # (40, frames)
    got = log_mel(torch.from_numpy(wave)).double().numpy()
    assert got.shape == reference.shape == (40, 13)
    assert np.allclose(got, reference, atol=1e-3)


def test_a_tone_lights_the_filter_around_its_frequency():
    t = np.arange(8000) / 8000
    feats = log_mel(torch.from_numpy(np.sin(2 * np.pi * 1000 * t).astype(np.float32)))  # (40, frames)
    centres = [mel_to_hz(hz_to_mel(20.0) + (hz_to_mel(4000.0) - hz_to_mel(20.0)) * (i + 1) / 41) for i in range(40)]
    assert int(feats.mean(1).argmax()) == int(np.argmin([abs(c - 1000) for c in centres]))
