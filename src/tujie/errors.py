"""One error template for the whole project: what was received, what was expected, how to fix it.

Every error tujie raises at a boundary (config, data, layer input, checkpoint) is a
`TujieError`, so a user can catch them all, and the command line prints them as one
paragraph instead of a traceback.

Example:
    >>> raise ConfigError("Invalid value received for `epochs`.", expected="a positive integer",
    ...                   received="epochs=-1", fix="Pass --set epochs=5.")
    Traceback (most recent call last):
    ...
    tujie.errors.ConfigError: Invalid value received for `epochs`. Expected: a positive integer. Received: epochs=-1. Fix: Pass --set epochs=5.
"""

from __future__ import annotations


def _headings(word: str) -> str:
    """The template's headings ("Expected:", "Received:", "Fix:") in the current language.

    `tujie.i18n` (which imports this module) replaces this with its catalog lookup when it loads,
    so the ground floor stays free of circles: English until then.
    """
    return word


class TujieError(Exception):
    """Base class: a one-paragraph message naming the thing, what was expected and the fix."""

    def __init__(self, what: str, *, expected: str | None = None, received: str | None = None,
                 fix: str | None = None):
        def heading(word: str) -> str:  # "Expected: " in English, "应为：" in Chinese (a full-width colon has its space)
            text = _headings(word)
            return text if text.endswith("：") else text + " "

        parts = [what.rstrip()]
        if expected:
            parts.append(f"{heading('Expected:')}{expected}.")
        if received:
            parts.append(f"{heading('Received:')}{received}.")
        if fix:
            parts.append(f"{heading('Fix:')}{fix}")
        super().__init__(" ".join(p if p.endswith((".", ":", "?", "!")) else p + "." for p in parts))
        self.what, self.expected, self.received, self.fix = what, expected, received, fix


class ConfigError(TujieError, ValueError):
    """A recipe, a `--set` override or an argument is unknown or ill-typed."""


class DataError(TujieError, ValueError):
    """A data file or array is missing, malformed or of the wrong shape."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A dataset file was found in none of the places searched, and could not be downloaded."""


class ChecksumError(DataError):
    """A data file exists but its digest differs from the published one."""


class ShapeError(TujieError, ValueError):
    """A layer or model received an input of the wrong shape."""


class CheckpointError(TujieError, ValueError):
    """A checkpoint is missing, truncated, corrupted, or belongs to another model/config."""


class OutputError(TujieError, OSError):
    """A file or folder could not be written: a full disk, a read-only place, a file where a folder should be."""


class TrainingDiverged(TujieError, RuntimeError):
    """The loss became NaN or infinite; training stopped and the last good checkpoint was kept."""


def closest(name: str, choices, n: int = 3) -> str:
    """'Did you mean ...?' text for an unknown name, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=n, cutoff=0.5)
    return f"Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
