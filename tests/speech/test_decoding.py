"""CTC decoding: collapse rules, greedy against prefix beam search on hand-made posteriors, error rates by jiwer."""

import math

import pytest
import torch

from tujie.speech.decoding import collapse, error_rates, greedy_decode, prefix_beam_search, transcript


def test_collapse_merges_repeats_then_drops_blanks():
    assert collapse([3, 3, 10, 3, 10, 10, 5], blank=10) == [3, 3, 5]
    assert collapse([10, 10], blank=10) == [] and collapse([7, 7, 7], blank=10) == [7]


def test_beam_search_finds_the_labelling_greedy_misses():
    # classes: 0 = the digit 0, 1 = the digit 1, 2 = blank. Greedy takes blank, blank ("", p = 0.36), but the
    # labelling "0" has three paths: 0 0, 0 _, _ 0 with p = 0.16 + 0.24 + 0.24 = 0.64.
    probs = torch.tensor([[0.4, 0.0, 0.6], [0.4, 0.0, 0.6]])
    log_probs = probs.clamp_min(1e-12).log()
    assert greedy_decode(log_probs, blank=2) == []
    assert prefix_beam_search(log_probs, beam=4, blank=2) == [0]


def test_beam_search_sums_paths_over_three_frames():
    # blank is the likeliest class at every frame, so greedy reads nothing (p = 0.4^3 = 0.064); but the paths of
    # only 0s and blanks that read [0] (0 0 0, 0 _ _, _ 0 _, 0 0 _, ...) add up to about 0.31
    probs = torch.tensor([[0.35, 0.25, 0.4]] * 3)
    log_probs = probs.log()
    labellings = {}
    import itertools

    for path in itertools.product(range(3), repeat=3):  # brute force: every path's probability to its labelling
        p = math.prod(float(probs[t, c]) for t, c in enumerate(path))
        key = tuple(collapse(path, blank=2))
        labellings[key] = labellings.get(key, 0.0) + p
    best = list(max(labellings, key=labellings.get))
    assert greedy_decode(log_probs, blank=2) == [] != best == [0]
    assert prefix_beam_search(log_probs, beam=16, blank=2) == best


def test_repeated_digits_need_a_blank_between():
    p = torch.full((5, 11), 1e-6)
    for t, c in enumerate([4, 10, 4, 4, 10]):
        p[t, c] = 1.0
    log_probs = (p / p.sum(1, keepdim=True)).log()
    assert greedy_decode(log_probs) == [4, 4] == prefix_beam_search(log_probs, beam=4)


def test_error_rates_by_jiwer():
    rates = error_rates([[1, 2], [3]], [[1], [3]])
    # WER: one of three digit-words deleted; CER: "two" and the space before it, 4 of the references' 12 characters
    assert rates["wer"] == pytest.approx(1 / 3)
    assert rates["cer"] == pytest.approx(4 / 12)
    assert rates["string_error"] == 0.5
    assert transcript([0, 9]) == "zero nine"
    with pytest.raises(ValueError):
        error_rates([[1]], [])
