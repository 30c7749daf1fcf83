"""Reading a CTC model's output: greedy decoding, prefix beam search, and the error rates (jiwer).

A CTC model gives, for every output frame, a distribution over the 10 digits and the *blank*
(Graves et al. 2006). A labelling is read off a frame path by merging repeats, then dropping blanks:
`3 3 _ 3 _ _ 5` reads "3 3 5".

- **Greedy**: the most likely class at each frame, then merge and drop. Fast, but it finds the
  likeliest *path*, not the likeliest *labelling* (many paths read the same digits).
- **Prefix beam search** (Hannun et al. 2014, "First-pass large vocabulary continuous speech
  recognition using bi-directional recurrent DNNs"): keeps the `beam` likeliest prefixes, each with
  two probabilities, of its paths ending in a blank and of those ending in its last digit, and sums
  over all paths that read the same prefix. It can prefer a labelling no single path wins.

Error rates through jiwer: a transcript is the digits' English names ("three five one"); WER is
jiwer's word error rate over those names (one word per digit: the digit error rate) and CER its
character error rate over the same text. String error rate: the share of strings not read exactly.

Example:
    >>> import torch
    >>> probs = torch.tensor([[0.4, 0.6], [0.4, 0.6]])  # 2 frames; class 0 is the digit 0, class 1 the blank
    >>> greedy_decode(probs.log(), blank=1), prefix_beam_search(probs.log(), beam=4, blank=1)
    ([], [0])
    >>> rates = error_rates([[3, 5, 1]], [[3, 5]])
    >>> round(rates["wer"], 4), rates["string_error"]
    (0.3333, 1.0)
"""

from __future__ import annotations

import math

import torch

BLANK = 10  # class d is the digit d; the last class (10) is CTC's blank
NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def collapse(path, blank: int = BLANK) -> list[int]:
    """A frame path read as a labelling: repeats merged, then blanks dropped."""
    out, last = [], None
    for c in path:
        if c != last and c != blank:
            out.append(int(c))
        last = c
    return out


def greedy_decode(log_probs: torch.Tensor, blank: int = BLANK) -> list[int]:
    """The labelling of the single likeliest path: log_probs (frames, classes) -> digits."""
    return collapse(log_probs.argmax(dim=-1).tolist(), blank)


def _add(a: float, b: float) -> float:
    """log(exp(a) + exp(b)), safe at −∞."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def prefix_beam_search(log_probs: torch.Tensor, beam: int = 8, blank: int = BLANK, prune: float = -12.0) -> list[int]:
    """The likeliest labelling found by CTC prefix beam search: log_probs (frames, classes) -> digits.

    Args:
        log_probs: (frames, classes) log-probabilities of one utterance (its padding cut off).
        beam: prefixes kept after each frame.
        blank: the blank's class.
        prune: a class whose log-probability at a frame is below this is not tried there (speed).
    """
    rows = log_probs.detach().double().tolist()  # (frames, classes)
    beams = {(): (0.0, -math.inf)}  # prefix -> (log P(paths ending in blank), log P(paths ending in its last label))
    for row in rows:
        nxt: dict = {}

        def grow(prefix, in_blank=-math.inf, in_label=-math.inf):
            b, n = nxt.get(prefix, (-math.inf, -math.inf))
            nxt[prefix] = (_add(b, in_blank), _add(n, in_label))

        tried = [c for c, p in enumerate(row) if c != blank and p >= prune]
        for prefix, (p_blank, p_label) in beams.items():
            total = _add(p_blank, p_label)
            grow(prefix, in_blank=total + row[blank])  # a blank: the prefix is unchanged
            last = prefix[-1] if prefix else None
            for c in tried:
                if c == last:
                    grow(prefix, in_label=p_label + row[c])  # the same label again, no blank between: merged
                    grow(prefix + (c,), in_label=p_blank + row[c])  # after a blank: a new, repeated digit
                else:
                    grow(prefix + (c,), in_label=total + row[c])
        beams = dict(sorted(nxt.items(), key=lambda kv: -_add(*kv[1]))[:beam])
    best = max(beams.items(), key=lambda kv: _add(*kv[1]))[0]
    return list(best)


def transcript(digits) -> str:
    """Digits as the words said: [3, 5] -> "three five"."""
    return " ".join(NAMES[d] for d in digits)


def error_rates(references: list[list[int]], hypotheses: list[list[int]]) -> dict:
    """CER and WER (jiwer, over the digits' names) and the string error rate of decoded digit strings.

    An empty hypothesis counts as every word deleted; references must not be empty.
    """
    import jiwer

    if len(references) != len(hypotheses) or not references:
        raise ValueError(f"error_rates needs as many hypotheses as references (got {len(references)} and {len(hypotheses)})")
    refs = [transcript(r) for r in references]
    hyps = [transcript(h) for h in hypotheses]
    return {"cer": float(jiwer.cer(refs, hyps)), "wer": float(jiwer.wer(refs, hyps)),
            "string_error": sum(list(r) != list(h) for r, h in zip(references, hypotheses)) / len(references)}
