"""Digit strings: seeded, new each epoch, one speaker each, the pauses between; and a CTC model learns tones."""

import numpy as np
import torch

from tujie.speech.audio import Recording
from tujie.speech.strings import batch_features, make_strings, single_strings


def _recordings():
    rng = np.random.default_rng(0)
    return [Recording(rng.normal(0, 0.2, 400 + 40 * d).astype(np.float32), d, s, i)
            for s in ("ann", "bob") for d in range(10) for i in range(2)]


def test_strings_are_seeded_and_new_each_epoch():
    recs = _recordings()
    a, b, c = (make_strings(recs, 20, seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(x.wave, y.wave) and x.digits == y.digits for x, y in zip(a, b))
    assert [x.digits for x in a] != [x.digits for x in c]
    lengths = {len(x.digits) for x in make_strings(recs, 200, seed=0, min_digits=2, max_digits=4)}
    assert lengths == {2, 3, 4}


def test_each_string_is_one_speakers_recordings_between_pauses():
    recs = _recordings()
    by_key = {(r.speaker, r.digit): len(r.samples) for r in recs}
    for s in make_strings(recs, 30, seed=3, silence=(0.05, 0.1)):
        assert len(s.starts) == len(s.digits)
        assert s.starts[0] >= 400  # at least 50 ms of pause before the first digit
        pieces = [by_key[(s.speaker, d)] for d in s.digits]
        # the pauses between: each at least 50 ms and at most 100 ms
        gaps = [s.starts[i + 1] - s.starts[i] - pieces[i] for i in range(len(pieces) - 1)]
        assert all(400 <= g <= 800 for g in gaps)
        assert len(s.wave) >= s.starts[-1] + pieces[-1] + 400


def test_single_strings_frame_one_recording_each():
    singles = single_strings(_recordings()[:3], seed=0)
    assert [s.digits for s in singles] == [[0], [0], [1]] and all(len(s.wave) > 400 + 800 for s in singles)


def test_features_are_normalised_over_each_strings_own_frames():
    strings = make_strings(_recordings(), 4, seed=0)
    feats, lengths = batch_features([s.wave for s in strings])
    for f, n in zip(feats, lengths):
        valid = f[:, :n]
        assert abs(float(valid.mean())) < 1e-4 and abs(float(valid.std(unbiased=False)) - 1) < 1e-3
        assert torch.all(f[:, n:] == 0)
