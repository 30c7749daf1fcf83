"""Formatting helpers of the report page: every piece of text from the run goes through `_e` (html.escape)."""

from __future__ import annotations

import base64
import html
import math
from datetime import datetime

from ..i18n import N_, _, current_language, translated
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
        return _("yes") if value else _("no")
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


def _fixed(value, digits: int = 3) -> str:
    """A number with `digits` decimals (losses, exponents), or — when it is missing or not finite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "—"
    return f"{value:.{digits}f}" if math.isfinite(value) else "—"


def _fmt_seconds(seconds) -> str:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds):
        return _fmt(seconds)
    if seconds < 60:
        return _("{seconds} s").format(seconds=f"{seconds:.3g}")
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=f"{secs:02d}")
    hours, minutes = divmod(minutes, 60)
    return _("{hours} h {minutes} min").format(hours=hours, minutes=f"{minutes:02d}")


def _fmt_time(text) -> str:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(text)


_t = translated  # `_(text)` for text that is data (a recipe's words); "" stays ""


# Readable names of the metrics the runs record (the key is the identifier, e.g. "top5_accuracy").
_METRIC_LABELS = {
    "loss": N_("loss"),
    "accuracy": N_("accuracy"),
    "top5_accuracy": N_("top5 accuracy"),
    "precision": N_("precision"),
    "recall": N_("recall"),
    "f1": N_("f1"),
    "mae": N_("mae"),
    "mse": N_("mse"),
    "rmse": N_("rmse"),
    "r2": N_("r2"),
    "perplexity": N_("perplexity"),
    "auc": N_("auc"),
    "average_precision": N_("average precision"),
    "ece": N_("ece"),
    "bleu": N_("bleu"),
    "bleu_greedy": N_("bleu greedy"),
    "sentences_per_s": N_("sentences per s"),
    "multi_step_mae": N_("multi step mae"),
    "multi_step_rmse": N_("multi step rmse"),
    "token_accuracy": N_("token accuracy"),
    "seasonal_naive_mae": N_("seasonal naive mae"),
    "seasonal_naive_rmse": N_("seasonal naive rmse"),
    "last_value_mae": N_("last value mae"),
    "last_value_rmse": N_("last value rmse"),
    "seasonal_naive_one_step_mae": N_("seasonal naive one step mae"),
    "seasonal_naive_one_step_rmse": N_("seasonal naive one step rmse"),
    "last_value_one_step_mae": N_("last value one step mae"),
    "last_value_one_step_rmse": N_("last value one step rmse"),
}


def metric_label(name) -> str:
    """A metric's name as a person reads it: "top5_accuracy" -> "top5 accuracy" (Chinese: "top-5 准确率")."""
    name = str(name)
    if name.startswith("test_") and name[5:].replace(" ", "_") in _METRIC_LABELS:  # the expected result's key
        return _("test {metric}").format(metric=metric_label(name[5:]))
    label = _METRIC_LABELS.get(name.replace(" ", "_"))
    return _(label) if label else name.replace("_", " ")


# metrics.jsonl's bookkeeping columns, as a person reads them
_COLUMNS = {"epoch": N_("epoch"), "epoch_time_s": N_("epoch time (s)"), "samples_per_s": N_("samples/s"),
            "lr": N_("learning rate"), "grad_norm": N_("gradient norm"), "grad_norm_max": N_("largest gradient norm")}


def key_label(key: str) -> str:
    """A metric's or column's key in a table header or first column (HTML).

    English shows the key itself, as metrics.jsonl, history.csv and summary.json name it; Chinese
    shows a readable name with the key in small type under it, so the reader can still find it
    in those files.
    """
    if current_language() == "en":
        return _e(key)
    if key in _COLUMNS:
        label = _(_COLUMNS[key])
    elif key.startswith("val_"):
        label = _("validation {metric}").format(metric=metric_label(key[4:]))
    else:
        label = metric_label(key)
    return f'{_e(label)}<div class="sub mono">{_e(key)}</div>'


def _data(value) -> str:
    """Text the run recorded (a run name, a sentence, a word, a variant's name), escaped and marked
    as data: it is shown as written, in whatever language it was written, never translated."""
    return f'<span class="data">{_e(value)}</span>'


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
        return _("{points} points").format(points=f"{100 * abs(value):.2f}")
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
    if len(baselines) > 1:
        text = _("{setting}, the model's MAE is {model} against {best} for {baseline}, the better baseline")
    else:
        text = _("{setting}, the model's MAE is {model} against {best} for {baseline}")
    text = text.format(setting=setting, model=f"{model:.3g}", best=f"{best:.3g}", baseline=_t(name))
    if best <= 0:
        return _("{text}.").format(text=text)
    change = (model - best) / best
    if change < 0:
        return _("{text}: {change} lower.").format(text=text, change=f"{-change:.0%}")
    return _("{text}: {change} higher, so the model does not beat it.").format(text=text, change=f"{change:.0%}")
