"""What a report is made of: `Section`s, and what a kind of run tells the page (`KindReport`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Section:
    """One card of the report.

    Args:
        anchor: its id on the page (the table of contents links to it), e.g. "curves".
        title: its name in the table of contents (English; translated when the page is drawn).
        render: `render(run) -> str`, the card's HTML.
        applies: `applies(run) -> bool`, whether the run has its data (when deciding fails, the
            section is shown: it will say why).
        order: where it goes; the shared sections use 10 (curves) ... 180 (timings).
    """

    anchor: str
    title: str
    render: Callable[..., str]
    applies: Callable[..., bool] = lambda run: True
    order: float = 100


@dataclass
class KindReport:
    """What the page needs to know of a kind of run: its files, its sections, its headline.

    Args:
        name: the kind's name, as summary.json's "kind" says it ("train", "translation", ...).
        files: result files of its own (JSON objects), read into `RunFiles.extra` by file stem:
            a section reads `run.extra["cv"]`, or simply `run.cv`.
        result_file: for a kind judged by a file of its own rather than one model's test set
            (several models, or word vectors): that file. The sections of one trained model
            (curves, confusion, samples) then appear only when their data exist.
        missing: file -> what the reader loses without it, for the header's "Not in this report".
        sections: the kind's own sections (`Section`), placed among the shared ones by `order`.
        headline: `headline(run, test_stats) -> [(value, label), ...]`, the big numbers at the
            top; `test_stats` are the test results as (metric, value, label). None: test results.
        facts: `facts(run) -> [str, ...]`, short facts under the headline ("5-fold cross-validation").
    """

    name: str = "train"
    files: tuple[str, ...] = ()
    result_file: str | None = None
    missing: dict = field(default_factory=dict)
    sections: tuple = ()
    headline: object = None
    facts: object = None
