"""Formatting helpers of the report page: every piece of text from the run goes through `_e` (html.escape)."""

from __future__ import annotations

import base64
import html
import math
from datetime import datetime

from ..plots import _as_float  # noqa: F401  (re-exported: the sections read numbers with it)


def _e(value) -> str:
    return html.escape(str(value), quote=True)


_FRACTION_HINTS = ("acc", "precision", "recall", "f1", "auc", "iou", "dice")


def _is_fraction(name: str, value) -> bool:
    return (isinstance(value, float) and 0.0 <= value <= 1.0
            and any(hint in name.lower() for hint in _FRACTION_HINTS))


def _fmt(value, name: str = "") -> str:
    """A number as a person reads it: percentages for rates, separators for counts."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if _is_fraction(name, value):
            return f"{100 * value:.2f}%"
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


def _fmt_seconds(seconds) -> str:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds):
        return _fmt(seconds)
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _fmt_time(text) -> str:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(text)


def _img(png: bytes, alt: str, css_class: str = "figure") -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{css_class}" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _note(text: str, kind: str = "missing") -> str:
    """A calm grey (or amber) box saying what is not there. `text` is trusted HTML."""
    return f'<p class="note note-{kind}">{text}</p>'


def _table(header: list[str], rows: list[list[str]], css_class: str = "",
           row_classes: list[str] | None = None, footer: list[str] | None = None) -> str:
    """An HTML table; cells are trusted HTML (callers escape)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    foot = ("<tfoot><tr>" + "".join(f"<td>{c}</td>" for c in footer) + "</tr></tfoot>") if footer else ""
    return (f'<table class="{css_class}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody>{foot}</table>')


def _section(anchor: str, title: str, how_to_read: str, body: str) -> str:
    return (f'<section class="card" id="{anchor}"><h2>{title}</h2>'
            f'<p class="how">{how_to_read}</p>{body}</section>')


def _finite(values) -> list[float]:
    return [v for v in (_as_float(x) for x in values) if math.isfinite(v)]


def _changes(values) -> bool:
    """Whether a series of numbers really varies (not just float noise around one value)."""
    finite = _finite(values)
    if len(finite) < 2:
        return False
    low, high = min(finite), max(finite)
    return high - low > 1e-9 * max(abs(low), abs(high))


_LOWER_IS_BETTER = ("loss", "mae", "mse", "rmse", "perplexity", "error", "ece")


def _lower_is_better(name: str) -> bool:
    return any(hint in name.lower() for hint in _LOWER_IS_BETTER)


def _fmt_pm(mean, std, name: str) -> str:
    """mean ± std: "97.50 ± 0.40%" for a rate, "0.0812 ± 0.012" otherwise."""
    mean, std = _as_float(mean), _as_float(std)
    if _is_fraction(name, mean):
        return f"{100 * mean:.2f} ± {100 * std:.2f}%"
    return f"{mean:.4g} ± {std:.2g}"


def _difference(value: float, name: str) -> str:
    """A difference of scores: "1.20 points" for a rate, "0.0123" otherwise (no sign)."""
    if any(hint in name.lower() for hint in _FRACTION_HINTS):
        return f"{100 * abs(value):.2f} points"
    return f"{abs(value):.3g}"


def _object(data: dict, key: str, file: str) -> dict | None:
    """`data[key]` when it is an object, None when it is absent; anything else is malformed."""
    value = data.get(key)
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"{file}'s {key} is a {type(value).__name__}, not an object")
    return value


def _list(data: dict, key: str, file: str) -> list:
    """`data[key]` when it is a list, [] when it is absent; anything else is malformed."""
    value = data.get(key)
    if value is not None and not isinstance(value, list):
        raise ValueError(f"{file}'s {key} is a {type(value).__name__}, not a list")
    return value or []


def _score(scores: dict, key: str, metric: str) -> float:
    entry = scores.get(key)
    return _as_float(entry.get(metric)) if isinstance(entry, dict) else math.nan


def _versus(setting: str, model: float, baselines: list[tuple[float, str]]) -> str | None:
    """e.g. "One step ahead, the model's MAE is 10.8 against 24.4 for last value, the better baseline: 56% lower."."""
    baselines = [(value, name) for value, name in baselines if math.isfinite(value)]
    if not math.isfinite(model) or not baselines:
        return None
    best, name = min(baselines)
    text = f"{setting}, the model's MAE is {model:.3g} against {best:.3g} for {name}"
    if len(baselines) > 1:
        text += ", the better baseline"
    if best <= 0:
        return text + "."
    change = (model - best) / best
    if change < 0:
        return text + f": {-change:.0%} lower."
    return text + f": {change:.0%} higher, so the model does not beat it."
