"""The illustrated run report: one self-contained HTML page built from a run directory.

`build_report(run_dir)` reads only the files the training runner wrote into `run_dir`
(config.yaml, metrics.jsonl, summary.json, evaluation.json, samples.safetensors) and
writes `run_dir/report.html`. The page opens offline and can be mailed as one file: every
figure is an embedded base64 PNG, the CSS is inline, there is no JavaScript, and a
Content-Security-Policy forbids the browser from loading anything else.

Every piece except the run directory itself is optional. A regression run has no confusion
matrix, an interrupted run has no test results: the page shows what exists and says, in
plain words, what is missing and why that can happen. A file that cannot be read is
reported on the page rather than stopping the report.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .._io import write_text
from ..errors import TujieError
from . import figures

REPORT_NAME = "report.html"
RUN_FILES = ("config.yaml", "metrics.jsonl", "summary.json", "evaluation.json",
             "samples.safetensors")
_MAX_CONFIG_CHARS = 100_000  # a config that large is a mistake; keep the page light anyway


class RunDirectoryError(TujieError, FileNotFoundError):
    """The folder given to `build_report` is missing or is not a run directory."""


def build_report(run_dir) -> Path:
    """Build the illustrated report of a training run and write it to `run_dir/report.html`.

    Args:
        run_dir: the run's folder, holding config.yaml and/or metrics.jsonl, and optionally
            summary.json, evaluation.json and samples.safetensors.

    Returns:
        The path of the written report (written atomically: never half a file).

    Raises:
        RunDirectoryError (a TujieError): `run_dir` does not exist, is not a folder, or holds
            neither config.yaml nor metrics.jsonl.

    Example:
        >>> import json, tempfile
        >>> run = Path(tempfile.mkdtemp())          # a run that has logged one epoch so far
        >>> _ = (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 0.3, "val_loss": 0.2}))
        >>> build_report(run).name
        'report.html'
    """
    folder = Path(run_dir)
    contents = ("config.yaml (the resolved config) and metrics.jsonl (one line per epoch), "
                "plus optionally summary.json, evaluation.json and samples.safetensors")
    if not folder.is_dir():
        raise RunDirectoryError(
            f"Run directory '{folder}' {'is a file, not a folder' if folder.exists() else 'does not exist'}.",
            expected=f"a folder written by a training run, holding {contents}",
            received=f"run_dir={str(folder)!r}",
            fix="Pass the folder of one run (look under runs/<recipe>/), not a file inside it.")
    if not (folder / "config.yaml").is_file() and not (folder / "metrics.jsonl").is_file():
        present = sorted(p.name for p in folder.iterdir())[:8]
        raise RunDirectoryError(
            f"Folder '{folder}' is not a run directory.",
            expected=f"a run directory holding {contents}",
            received=f"a folder containing {present if present else 'nothing'}",
            fix="Pass the folder of one run (look under runs/<recipe>/); a run that was stopped "
                "before its first epoch has nothing to report.")
    run = _load_run(folder)
    return write_text(folder / REPORT_NAME, render_page(run))


# --------------------------------------------------------------------------------------
# Reading the run directory: each reader records a note instead of raising.


@dataclass
class RunFiles:
    """What was read from a run directory; None means the file is missing or unreadable."""

    folder: Path
    config_text: str | None = None
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    evaluation: dict | None = None
    samples: dict | None = None
    found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _load_run(folder: Path) -> RunFiles:
    run = RunFiles(folder=folder)
    run.found = [name for name in RUN_FILES if (folder / name).is_file()]
    for name, reader in (("config.yaml", _read_config), ("metrics.jsonl", _read_history),
                         ("summary.json", _read_summary), ("evaluation.json", _read_evaluation),
                         ("samples.safetensors", _read_samples)):
        if name not in run.found:
            continue
        try:
            reader(run, folder / name)
        except Exception as error:  # a damaged file must not cost the user the whole report
            run.problems.append(f"{name} could not be read ({type(error).__name__}: {error}).")
    return run


def _read_config(run: RunFiles, path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    if len(text) > _MAX_CONFIG_CHARS:
        text = text[:_MAX_CONFIG_CHARS] + f"\n# ... cut: the file has {len(text):,} characters\n"
    run.config_text = text


def _read_history(run: RunFiles, path: Path) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            run.problems.append(f"metrics.jsonl line {number} is not valid JSON and was skipped.")
            continue
        if isinstance(record, dict):
            run.history.append(record)
        else:
            run.problems.append(f"metrics.jsonl line {number} is not a JSON object and was skipped.")


def _read_json_object(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, found {type(data).__name__}")
    return data


def _read_summary(run: RunFiles, path: Path) -> None:
    run.summary = _read_json_object(path)


def _read_evaluation(run: RunFiles, path: Path) -> None:
    run.evaluation = _read_json_object(path)


def _read_samples(run: RunFiles, path: Path) -> None:
    try:
        from safetensors.numpy import load_file
        run.samples = load_file(str(path))
    except TypeError:  # e.g. bfloat16 tensors, which numpy cannot hold: go through torch
        from safetensors.torch import load_file as load_torch
        run.samples = {k: v.float().numpy() if v.is_floating_point() else v.numpy()
                       for k, v in load_torch(str(path)).items()}


# --------------------------------------------------------------------------------------
# Formatting helpers: every piece of text from the run goes through `_e` (html.escape).


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


# --------------------------------------------------------------------------------------
# The page.

_STATUS = {
    "finished": ("ok", "finished", "Training ran to the end and the test set was evaluated."),
    "interrupted": ("warn", "interrupted",
                    "Training was stopped before the end (e.g. Ctrl-C); the last checkpoint was kept."),
    "diverged": ("bad", "diverged",
                 "The loss became NaN or infinite, so training stopped; the last good checkpoint was kept."),
}

_METRIC_MEANINGS = {
    "loss": "The quantity training minimises, measured on the test set. Lower is better.",
    "accuracy": "Share of test examples whose predicted class is the true class.",
    "top5_accuracy": "Share of test examples whose true class is among the 5 most probable.",
    "precision": "Of the examples predicted as a class, the share that really belong to it (averaged over classes).",
    "recall": "Of the examples of a class, the share the model found (averaged over classes).",
    "f1": "Harmonic mean of precision and recall: high only when both are high.",
    "mae": "Mean absolute error: the average distance between prediction and target.",
    "mse": "Mean squared error: like MAE but large misses count much more.",
    "rmse": "Root of the MSE, in the target's own units.",
    "r2": "Share of the target's variance the model explains (1 is perfect, 0 is guessing the mean).",
    "perplexity": "exp(loss) for language models: the effective number of choices per token. Lower is better.",
}

_HEADLINE_ORDER = ("accuracy", "f1", "top5_accuracy", "r2", "mae", "rmse", "mse", "perplexity",
                   "precision", "recall", "loss")


def _is_classification(run: RunFiles) -> bool:
    task = run.summary.get("task")
    if task is not None:
        return str(task).lower() == "classification"
    return run.evaluation is not None or "samples.safetensors" in run.found


def _headline(run: RunFiles) -> str:
    """Up to four big numbers: test results, else the last epoch's validation results."""
    test = run.summary.get("test")
    stats: list[tuple[str, str]] = []
    if isinstance(test, dict) and test:
        names = sorted(test, key=lambda n: (_HEADLINE_ORDER.index(n) if n in _HEADLINE_ORDER
                                            else len(_HEADLINE_ORDER), list(test).index(n)))
        stats = [(_fmt(test[n], n), f"test {n.replace('_', ' ')}") for n in names[:4]]
    elif run.history:
        last = run.history[-1]
        epoch = last.get("epoch", len(run.history))
        names = [k[4:] for k in last if k.startswith("val_")]
        names = sorted(names, key=lambda n: (_HEADLINE_ORDER.index(n) if n in _HEADLINE_ORDER
                                             else len(_HEADLINE_ORDER), names.index(n)))
        stats = [(_fmt(last[f"val_{n}"], n), f"validation {n.replace('_', ' ')} (epoch {_fmt(epoch)})")
                 for n in names[:4]]
    if not stats:
        return _note("No test or validation results yet.")
    return '<div class="stats">' + "".join(
        f'<div class="stat"><div class="value">{_e(v)}</div><div class="label">{_e(label)}</div></div>'
        for v, label in stats) + "</div>"


def _header(run: RunFiles) -> str:
    s = run.summary
    recipe = s.get("recipe") or _recipe_from_config(run.config_text)
    run_name = s.get("run_name") or run.folder.name
    title = f"{recipe}" if recipe else "Training run"
    status = s.get("status")
    if "summary.json" not in run.found:
        tone, label, meaning = ("muted", "no summary",
                                "summary.json is missing: the run is still going, or stopped "
                                "before it could write its summary.")
    elif status is None:
        tone, label, meaning = ("muted", "no status", "summary.json records no status.")
    else:
        tone, label, meaning = _STATUS.get(str(status), ("muted", str(status), ""))
    facts = []
    if run.history:
        facts.append(f"{len(run.history)} epoch{'s' if len(run.history) != 1 else ''}")
    if s.get("best_epoch") is not None:
        facts.append(f"best epoch {_fmt(s['best_epoch'])}")
    model = s.get("model") if isinstance(s.get("model"), dict) else {}
    if model.get("total_params") is not None:
        facts.append(f"{_fmt(model['total_params'])} parameters")
    timings = s.get("timings") if isinstance(s.get("timings"), dict) else {}
    if timings.get("total_s") is not None:
        facts.append(f"took {_fmt_seconds(timings['total_s'])}")
    environment = s.get("environment") if isinstance(s.get("environment"), dict) else {}
    if environment.get("device"):
        facts.append(f"on {environment['device']}")
    when = ""
    if s.get("started"):
        when = f"started {_fmt_time(s['started'])}"
        if s.get("finished"):
            when += f" · finished {_fmt_time(s['finished'])}"
    message = s.get("message")
    parts = [
        '<header class="card head">',
        f'<div class="kicker">tujie run report · {_e(run_name)}</div>',
        f'<h1>{_e(title)} <span class="badge badge-{tone}" title="{_e(meaning)}">{_e(label)}</span></h1>',
        f'<p class="description">{_e(s["description"])}</p>' if s.get("description") else "",
        f'<p class="when">{_e(when) if when else "date unknown (no start time recorded)"}</p>',
        _headline(run),
    ]
    if facts:
        parts.append(f'<p class="facts">{" · ".join(_e(f) for f in facts)}</p>')
    if meaning and status != "finished":
        parts.append(_note(_e(meaning), "warn" if tone in ("warn", "bad") else "missing"))
    if message:
        parts.append(f'<p class="message">{_e(message)}</p>')
    missing = _missing_pieces(run)
    if missing or run.problems:
        items = "".join(f"<li>{m}</li>" for m in missing)
        items += "".join(f"<li>{_e(p)}</li>" for p in run.problems)
        parts.append(f'<div class="missing"><strong>Not in this report</strong><ul>{items}</ul></div>')
    parts.append("</header>")
    return "".join(parts)


def _recipe_from_config(config_text: str | None) -> str | None:
    """The recipe name from config.yaml, for runs that have not written summary.json yet."""
    if not config_text:
        return None
    try:
        import yaml

        config = yaml.safe_load(config_text)
    except Exception:  # a broken config is shown as text anyway; the title can do without it
        return None
    recipe = config.get("recipe") if isinstance(config, dict) else None
    return recipe if isinstance(recipe, str) else None


def _missing_pieces(run: RunFiles) -> list[str]:
    """Plain-language notes on the files that are absent (trusted HTML)."""
    why = {
        "config.yaml": "the run's settings are unknown",
        "metrics.jsonl": "no epoch finished, so there are no training curves",
        "summary.json": "no test results, model summary, timings or environment",
        "evaluation.json": "no confusion matrix or per-class table (the test set was not evaluated)",
        "samples.safetensors": "no example predictions to look at",
    }
    wanted = ["config.yaml", "metrics.jsonl", "summary.json"]
    if _is_classification(run):
        wanted += ["evaluation.json", "samples.safetensors"]
    return [f"<code>{name}</code> is missing: {why[name]}." for name in wanted if name not in run.found]


def _curves_section(run: RunFiles) -> str:
    how = (f'One panel per metric, epoch on the x axis: <span class="train">training</span> vs '
           f'<span class="val">validation</span>. Validation loss rising while training loss keeps '
           f'falling means the model has started to memorise the training set (overfitting).')
    s = run.summary
    if not run.history:
        return _section("curves", "Training curves", how,
                        _note("No training curves: <code>metrics.jsonl</code> is missing or empty, "
                              "so no epoch was recorded."))
    best = s.get("best_epoch") if isinstance(s.get("best_epoch"), (int, float)) else None
    body = []
    png = figures.training_curves(run.history, best_epoch=best)
    if png is None:
        body.append(_note("<code>metrics.jsonl</code> holds no numeric metric to plot."))
    else:
        body.append(_img(png, "training and validation curves per epoch"))
    if best is not None:
        body.append(f'<p class="aside">★ The dotted line marks the best epoch ({_e(_fmt(best))}), '
                    f'judged on the monitored validation metric.</p>')
    if isinstance(s.get("restored_epoch"), int):
        body.append(f'<p class="aside">The final model uses the weights saved at epoch '
                    f'{_e(_fmt(s["restored_epoch"]))}, not those of the last epoch.</p>')
    if s.get("stopped_early"):
        reason = s.get("stop_reason") or "no reason recorded"
        body.append(_note(f"Training stopped early after epoch {_e(_fmt(len(run.history)))}: "
                          f"{_e(reason)}.", "warn"))
    body.append(_history_table(run.history))
    return _section("curves", "Training curves", how, "".join(body))


def _history_table(history: list[dict]) -> str:
    keys: list[str] = []
    for record in history:
        keys += [k for k in record if k not in keys]
    rows = [[_e(_fmt(r.get(k), k)) for k in keys] for r in history]
    return ('<details><summary>The numbers behind the curves</summary><div class="scroll">'
            + _table([_e(k) for k in keys], rows, "numbers") + "</div></details>")


def _test_section(run: RunFiles) -> str:
    how = "How the final model does on the test set, which it never saw during training."
    test = run.summary.get("test")
    if not isinstance(test, dict) or not test:
        return _section("test", "Test results", how,
                        _note("No test results: the run stopped before the test set was evaluated."
                              if "summary.json" in run.found else
                              "No test results: <code>summary.json</code> is missing."))
    rows = [[_e(name), f'<span class="num">{_e(_fmt(value, name))}</span>',
             _e(_METRIC_MEANINGS.get(name, ""))] for name, value in test.items()]
    return _section("test", "Test results", how,
                    _table(["metric", "value", "what it means"], rows) + _expected(run.summary))


def _expected(summary: dict) -> str:
    """The recipe's promised result next to the one reached, when the runner recorded both."""
    expected = summary.get("expected")
    if not isinstance(expected, dict) or expected.get("value") is None:
        return ""
    metric = str(expected.get("metric", "result"))
    name = metric.replace("_", " ")
    target, reached = expected.get("value"), expected.get("reached")
    text = f"The recipe expects {name} {_fmt(target, metric)}"
    if expected.get("source"):
        text += f" (source: {expected['source']})"
    if isinstance(reached, (int, float)):
        text += f"; this run reached {_fmt(float(reached), metric)}."
    return f'<p class="aside">{_e(text)}</p>'



def _confusion_section(run: RunFiles) -> str:
    how = ("Rows are the true classes, columns what the model predicted; the diagonal holds the "
           "correct answers. Colour is the share of each row, so a dark cell off the diagonal "
           "is a mistake the model makes often.")
    evaluation = run.evaluation or {}
    matrix = evaluation.get("confusion_matrix")
    if not matrix:
        return _section("confusion", "Confusion matrix", how,
                        _note("No confusion matrix: <code>evaluation.json</code> is missing or has "
                              "no <code>confusion_matrix</code>."))
    classes = [str(c) for c in evaluation.get("classes") or range(len(matrix))]
    # A small matrix would be blown up to the full column width; a large one needs all of it.
    css_class = "figure confusion" if len(matrix) <= 20 else "figure"
    body = [_img(figures.confusion_matrix(matrix, classes), "confusion matrix heatmap", css_class)]
    mistakes = sorted(((count, i, j) for i, row in enumerate(matrix) for j, count in enumerate(row)
                       if i != j and isinstance(count, (int, float)) and count > 0),
                      key=lambda m: (-m[0], m[1], m[2]))[:3]
    if mistakes:
        items = "".join(f"<li>true <b>{_e(classes[i] if i < len(classes) else i)}</b> predicted as "
                        f"<b>{_e(classes[j] if j < len(classes) else j)}</b>: {_e(_fmt(count))} "
                        f"time{'s' if count != 1 else ''}</li>" for count, i, j in mistakes)
        body.append(f'<p class="aside">Most frequent mistakes:</p><ul class="mistakes">{items}</ul>')
    return _section("confusion", "Confusion matrix", how, "".join(body))


def _per_class_section(run: RunFiles) -> str:
    how = ("For each class: precision (when the model says this class, how often it is right), "
           "recall (how many of this class it finds), F1 (both at once) and support (how many "
           "test examples the class has). The weakest class is highlighted.")
    per_class = (run.evaluation or {}).get("per_class")
    if not per_class:
        return _section("per-class", "Per-class results", how,
                        _note("No per-class results: <code>evaluation.json</code> is missing or has "
                              "no <code>per_class</code> list."))
    entries = [e for e in per_class if isinstance(e, dict)]

    def score(entry):
        for key in ("f1", "recall", "precision"):
            if isinstance(entry.get(key), (int, float)) and math.isfinite(entry[key]):
                return entry[key]
        return math.inf

    supported = [e for e in entries if (e.get("support") or 0) > 0] or entries
    weakest = min(supported, key=score) if supported else None
    metrics = ["precision", "recall", "f1"]
    rows, classes = [], []
    for entry in entries:
        cells = [_e(entry.get("class", "?"))]
        for key in metrics:
            value = entry.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
                cells.append(f'<span class="meter" style="--w:{100 * value:.1f}%">'
                             f'{_e(_fmt(float(value), key))}</span>')
            else:
                cells.append(_e(_fmt(value, key)))
        cells.append(_e(_fmt(entry.get("support"))))
        if entry is weakest and score(entry) != math.inf:
            cells[0] += ' <span class="badge badge-bad small">weakest</span>'
        rows.append(cells)
        classes.append("weak" if entry is weakest else "")
    table = _table(["class", "precision", "recall", "F1", "support"], rows, "per-class", classes)
    if len(rows) <= 25:
        return _section("per-class", "Per-class results", how, table)
    # A long table scrolls, which could hide the weakest class: name it above the table.
    lead = ""
    if weakest is not None and score(weakest) != math.inf:
        lead = (f'<p class="aside">Weakest class: <b>{_e(weakest.get("class", "?"))}</b> '
                f'(F1 {_e(_fmt(float(score(weakest)), "f1"))}).</p>')
    return _section("per-class", "Per-class results", how, f'{lead}<div class="scroll tall">{table}</div>')


def _samples_arrays(run: RunFiles, prefix: str):
    samples = run.samples or {}
    images, probs, labels = (samples.get(f"{prefix}{k}") for k in ("images", "probs", "labels"))
    if images is None or probs is None or labels is None or len(images) == 0:
        return None
    return images, probs, labels


def _class_names(run: RunFiles) -> list[str] | None:
    classes = (run.evaluation or {}).get("classes")
    return [str(c) for c in classes] if classes else None


def _legend_predictions() -> str:
    return ('<p class="legend"><span class="ok-text">blue caption</span> = correct, '
            '<span class="bad-text">red caption</span> = wrong. In the bars, the '
            '<span class="bad-text">red bar</span> is the predicted class and the '
            '<span class="ok-text">blue bar</span> the true class.</p>')


def _predictions_section(run: RunFiles) -> str:
    how = ('Test images with the model\'s answer under each one: "predicted class, its '
           'probability, (true class)". Beside each image, the probability the model gives to '
           'every class; a confident model puts almost all of it on one bar.')
    arrays = _samples_arrays(run, "")
    if arrays is None:
        why = ("<code>samples.safetensors</code> is missing" if "samples.safetensors" not in run.found
               else "<code>samples.safetensors</code> holds no images")
        return _section("predictions", "Predictions on test images", how,
                        _note(f"No example predictions: {why}."))
    images, probs, labels = arrays
    shown = min(len(images), 15)
    png = figures.prediction_grid(images, probs, labels, _class_names(run), columns=3, max_rows=5)
    body = _legend_predictions() + _img(png, f"{shown} test images with predicted probabilities")
    return _section("predictions", "Predictions on test images", how, body)


def _wrong_section(run: RunFiles) -> str:
    how = ("The test images the model got wrong while being most sure of itself. They often show "
           "ambiguous or mislabelled examples, or a pattern the model has not learned.")
    arrays = _samples_arrays(run, "wrong_")
    if arrays is None:
        has_samples = run.samples is not None
        why = ("the model made no mistakes on the sampled test examples, or none were saved"
               if has_samples else "<code>samples.safetensors</code> is missing")
        return _section("wrong", "Most confident mistakes", how, _note(f"Nothing to show: {why}."))
    images, probs, labels = arrays
    png = figures.prediction_grid(images, probs, labels, _class_names(run), columns=3, max_rows=5)
    more = (f'<p class="aside">Showing the 15 most confident of {len(images)} saved mistakes.</p>'
            if len(images) > 15 else "")
    body = _legend_predictions() + _img(png, "the most confidently wrong test predictions") + more
    return _section("wrong", "Most confident mistakes", how, body)


def _model_section(run: RunFiles) -> str:
    how = ("The layers in order, the shape of what each one outputs (the first number is the "
           "batch size) and how many weights it learns.")
    model = run.summary.get("model")
    if not isinstance(model, dict) or not model:
        return _section("model", "Model", how,
                        _note("No model summary: <code>summary.json</code> is missing or has no "
                              "<code>model</code> entry."))
    rows, row_classes = [], []
    for layer in model.get("layers") or []:
        if not isinstance(layer, dict):
            continue
        shape = layer.get("output_shape")
        rows.append([_e(layer.get("name", "")), _e(layer.get("type", "")),
                     f'<span class="mono">{_e(_fmt(shape) if shape is not None else "—")}</span>',
                     f'<span class="num">{_e(_fmt(layer.get("params")))}</span>'])
        # A layer without weights (Flatten, ReLU) has nothing to freeze: only grey real frozen ones.
        frozen = layer.get("trainable") is False and isinstance(layer.get("params"), int) and layer["params"] > 0
        row_classes.append("frozen" if frozen else "")
    total, trainable = model.get("total_params"), model.get("trainable_params")
    footer = None
    if total is not None:
        frozen = (total - trainable) if isinstance(total, int) and isinstance(trainable, int) else None
        size = f" · {total * 4 / 1e6:.2f} MB as float32" if isinstance(total, int) else ""
        footer = ["total", "", "",
                  f'<span class="num">{_e(_fmt(total))}</span>'
                  f'<div class="sub">trainable {_e(_fmt(trainable))} · frozen {_e(_fmt(frozen))}'
                  f"{_e(size)}</div>"]
    title = f'<p class="aside">Model: <b>{_e(model.get("name", "?"))}</b></p>'
    legend = ('<p class="aside">Greyed rows are frozen (not trained).</p>'
              if "frozen" in row_classes else "")
    return _section("model", "Model", how,
                    title + _table(["layer", "type", "output shape", "parameters"], rows,
                                   "model", row_classes, footer) + legend)


def _config_section(run: RunFiles) -> str:
    how = "Every setting this run used, after defaults and command-line overrides were applied."
    if run.config_text is None:
        return _section("config", "Configuration", how,
                        _note("No configuration: <code>config.yaml</code> is missing."))
    return _section("config", "Configuration", how, f'<pre class="yaml">{_e(run.config_text)}</pre>')


def _run_section(run: RunFiles) -> str:
    how = "How long the run took and on what, so results can be compared and reproduced."
    s = run.summary
    timings = s.get("timings") if isinstance(s.get("timings"), dict) else {}
    environment = s.get("environment") if isinstance(s.get("environment"), dict) else {}
    if not timings and not environment:
        return _section("run", "Timings and environment", how,
                        _note("No timings or environment: <code>summary.json</code> is missing or "
                              "does not record them."))
    rows = []
    labels = {"total_s": "total", "train_s": "training", "test_s": "testing",
              "samples_per_s": "throughput"}
    for key, value in timings.items():
        if key == "epoch_s" and isinstance(value, list) and value:
            numbers = [v for v in value if isinstance(v, (int, float))]
            if numbers:
                text = (f"{_fmt_seconds(sum(numbers) / len(numbers))} on average "
                        f"(fastest {_fmt_seconds(min(numbers))}, slowest {_fmt_seconds(max(numbers))}, "
                        f"{len(numbers)} epochs)")
                rows.append(["per epoch", _e(text)])
        elif key == "samples_per_s":
            finite = isinstance(value, (int, float)) and math.isfinite(value)
            rate = f"{value:,.0f}" if finite else _fmt(value)
            rows.append([labels[key], _e(f"{rate} examples/s")])
        elif key.endswith("_s"):
            rows.append([_e(labels.get(key, key[:-2].replace("_", " "))), _e(_fmt_seconds(value))])
        else:
            rows.append([_e(key), _e(_fmt(value))])
    for key in ("started", "finished"):
        if s.get(key):
            rows.append([key, _e(_fmt_time(s[key]))])
    env_rows = [[_e(key), f'<span class="mono">{_e(_fmt(value))}</span>']
                for key, value in environment.items()]

    def half(title, table_rows):
        table = _table(["", ""], table_rows, "kv") if table_rows else _note("Not recorded.")
        return f"<div><h3>{title}</h3>{table}</div>"

    body = f'<div class="two">{half("Timings", rows)}{half("Environment", env_rows)}</div>'
    return _section("run", "Timings and environment", how, body)


def _safe(render, run: RunFiles, anchor: str, title: str) -> str:
    """Render one section; if its data is malformed, say so instead of losing the whole page."""
    try:
        return render(run)
    except Exception as error:
        return _section(anchor, _e(title), "",
                        _note(f"This section could not be drawn from the run's files "
                              f"({_e(type(error).__name__)}: {_e(error)}).", "warn"))


def render_page(run: RunFiles) -> str:
    """The report as one HTML string (see `build_report`, which reads the files and writes it).

    Args:
        run: what `_load_run` read from a run directory.

    Returns:
        A complete, self-contained HTML document.

    Example:
        >>> page = render_page(RunFiles(folder=Path("runs/demo")))
        >>> page.startswith("<!DOCTYPE html>")
        True
    """
    sections = [("curves", "Training curves", _curves_section),
                ("test", "Test results", _test_section)]
    if _is_classification(run):
        sections += [("confusion", "Confusion matrix", _confusion_section),
                     ("per-class", "Per-class results", _per_class_section),
                     ("predictions", "Predictions", _predictions_section),
                     ("wrong", "Mistakes", _wrong_section)]
    sections += [("model", "Model", _model_section), ("config", "Configuration", _config_section),
                 ("run", "Timings and environment", _run_section)]
    nav = "".join(f'<a href="#{anchor}">{_e(title)}</a>' for anchor, title, _ in sections)
    body = [_safe(lambda r: _header(r), run, "top", "Header")]
    body.append(f'<nav class="toc">{nav}</nav>')
    body += [_safe(render, run, anchor, title) for anchor, title, render in sections]
    found = ", ".join(run.found) or "none"
    body.append(f'<footer>Made by tujie from the files in <code>{_e(run.folder.name)}</code> '
                f'({_e(found)}). Self-contained: it opens offline.</footer>')
    title = " · ".join(str(x) for x in (run.summary.get("recipe"), run.summary.get("run_name")) if x)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        # No network, no scripts: the browser itself enforces that the page is self-contained.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title or 'tujie run report')}</title><style>{_CSS}</style></head>"
        f'<body><main>{"".join(body)}</main></body></html>\n'
    )


_CSS = f"""
:root {{
  --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f4f5f7; --card: #ffffff;
  --train: {figures.TRAIN_COLOR}; --val: {figures.VAL_COLOR};
  --ok: {figures.CORRECT_COLOR}; --bad: {figures.WRONG_COLOR};
}}
* {{ box-sizing: border-box; }}
html {{ background: var(--bg); }}
body {{ margin: 0; color: var(--ink); line-height: 1.55; font-size: 15px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue",
    Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }}
main {{ max-width: 1040px; margin: 0 auto; padding: 28px 20px 48px; }}
.card {{ background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 22px 26px; margin: 0 0 18px; box-shadow: 0 1px 2px rgba(16,24,40,.04); }}
h1 {{ font-size: 28px; line-height: 1.25; margin: 2px 0 4px; font-weight: 650; }}
h2 {{ font-size: 19px; margin: 0 0 2px; font-weight: 650; }}
h3 {{ font-size: 14px; margin: 4px 0 8px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; font-weight: 600; }}
.kicker {{ color: var(--muted); font-size: 13px; letter-spacing: .02em; }}
.description {{ margin: 0 0 2px; color: #374151; }}
.when, .facts {{ color: var(--muted); margin: 0 0 10px; font-size: 14px; }}
.facts {{ margin: 14px 0 0; }}
.how {{ color: var(--muted); margin: 0 0 16px; font-size: 14px; max-width: 78ch; }}
.aside {{ color: var(--muted); font-size: 14px; margin: 10px 0 4px; }}
.legend {{ font-size: 14px; margin: 0 0 10px; }}
.train {{ color: var(--train); font-weight: 600; }} .val {{ color: var(--val); font-weight: 600; }}
.ok-text {{ color: var(--ok); font-weight: 600; }} .bad-text {{ color: var(--bad); font-weight: 600; }}
.badge {{ display: inline-block; vertical-align: middle; font-size: 13px; font-weight: 600;
  padding: 2px 10px; border-radius: 999px; position: relative; top: -3px; }}
.badge.small {{ font-size: 11px; padding: 0 7px; top: -1px; }}
.badge-ok {{ background: #dcfce7; color: #166534; }}
.badge-warn {{ background: #fef3c7; color: #92400e; }}
.badge-bad {{ background: #fee2e2; color: #991b1b; }}
.badge-muted {{ background: #e5e7eb; color: #374151; }}
.stats {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 14px 0 0; }}
.stat {{ flex: 1 1 150px; background: #f8fafc; border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 16px; }}
.stat .value {{ font-size: 30px; font-weight: 650; letter-spacing: -.01em;
  font-variant-numeric: tabular-nums; }}
.stat .label {{ color: var(--muted); font-size: 13px; }}
.message {{ background: #f8fafc; border-left: 3px solid var(--muted); padding: 8px 12px;
  margin: 12px 0 0; white-space: pre-wrap; }}
.note {{ background: #f3f4f6; color: #4b5563; border-radius: 8px; padding: 10px 14px;
  margin: 8px 0; font-size: 14px; }}
.note-warn {{ background: #fffbeb; color: #92400e; border: 1px solid #fde68a; }}
.missing {{ margin: 14px 0 0; font-size: 14px; color: #4b5563; background: #f9fafb;
  border: 1px dashed #d1d5db; border-radius: 8px; padding: 10px 14px; }}
.missing ul {{ margin: 4px 0 0; padding-left: 20px; }}
nav.toc {{ display: flex; flex-wrap: wrap; gap: 6px 8px; margin: 0 0 18px; font-size: 14px; }}
nav.toc a {{ color: #374151; text-decoration: none; background: var(--card);
  border: 1px solid var(--line); border-radius: 999px; padding: 3px 12px; }}
nav.toc a:hover {{ border-color: #9ca3af; }}
img.figure {{ display: block; max-width: 100%; height: auto; margin: 4px auto; }}
img.confusion {{ max-width: min(100%, 640px); }}
table.model td:last-child, table.model th:last-child {{ text-align: right; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px;
  font-variant-numeric: tabular-nums; }}
th {{ text-align: left; font-weight: 600; color: var(--muted); font-size: 12px;
  text-transform: uppercase; letter-spacing: .04em; border-bottom: 1px solid var(--line);
  padding: 6px 10px; }}
td {{ border-bottom: 1px solid #f0f1f3; padding: 6px 10px; vertical-align: top; }}
tfoot td {{ border-top: 2px solid var(--line); border-bottom: 0; font-weight: 600; }}
.sub {{ font-weight: 400; color: var(--muted); font-size: 12px; }}
tr.weak td {{ background: #fff1f2; }}
tr.frozen td {{ color: #9ca3af; }}
table.kv td:first-child {{ color: var(--muted); width: 34%; }}
table.kv thead {{ display: none; }}
.num {{ font-variant-numeric: tabular-nums; font-weight: 600; }}
.mono, code, pre {{ font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas,
  "DejaVu Sans Mono", monospace; }}
code {{ font-size: .92em; background: #f3f4f6; border-radius: 4px; padding: 0 4px; }}
.meter {{ display: inline-block; min-width: 86px; padding: 0 6px; border-radius: 4px;
  background: linear-gradient(90deg, #dbe7fb var(--w), transparent var(--w)); }}
pre.yaml {{ background: #f8fafc; border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; overflow-x: auto; font-size: 13px; line-height: 1.5; margin: 0;
  max-height: 640px; }}
.scroll {{ overflow-x: auto; }}
.scroll.tall {{ max-height: 560px; overflow-y: auto; }}
details {{ margin: 12px 0 0; font-size: 14px; }}
summary {{ cursor: pointer; color: #374151; }}
details table {{ margin-top: 8px; font-size: 13px; }}
ul.mistakes {{ margin: 2px 0 0; padding-left: 20px; font-size: 14px; }}
.two {{ display: grid; grid-template-columns: 1fr 1fr; gap: 28px; }}
@media (max-width: 720px) {{ .two {{ grid-template-columns: 1fr; }} .card {{ padding: 16px; }} }}
footer {{ color: var(--muted); font-size: 13px; text-align: center; margin-top: 24px; }}
@media print {{ html {{ background: white; }} .card {{ box-shadow: none; break-inside: avoid; }}
  nav.toc {{ display: none; }} }}
"""
