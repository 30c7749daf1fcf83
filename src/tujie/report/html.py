"""The illustrated run report: one self-contained HTML page built from a run directory.

`build_report(run_dir)` reads only the files the training runner wrote into `run_dir` and
writes `run_dir/report.html`. The page opens offline and can be mailed as one file: every
figure is an embedded base64 PNG, the CSS is inline, there is no JavaScript, and a
Content-Security-Policy forbids the browser from loading anything else.

The run files and the sections they feed:

- config.yaml: the configuration (and `train.clip_grad_norm`, drawn on the gradient norms);
- metrics.jsonl: one JSON object per epoch: training curves, and from its `lr`,
  `grad_norm` and `grad_norm_max` keys the learning-rate and gradient sections;
- summary.json: header, test results, model, timings and environment; its `kind`
  ("train", "cross_validation", "ensemble" or "overfitting_lab") says what sort of run it is;
- evaluation.json: classification: confusion matrix, per-class table, and when present ROC
  and precision-recall curves, calibration and the tuned decision threshold; regression
  (`"task": "regression"`): predicted versus true values and the residuals;
- samples.safetensors: test images with their predicted probabilities;
- schedule.json: the learning rate at each optimizer step (`step`, `lr`, `steps_per_epoch`);
- grad_stats.jsonl: per-layer gradient and weight norms at some optimizer steps;
- cv.json, ensemble.json, lab.json: the results of a cross-validation, an ensemble, or the
  overfitting lab (one model trained with and without each regulariser);
- text_samples.json: a text classifier's most confident mistakes and, under `attention`, the
  weight its attention gave each word of a few reviews;
- forecast.json, gradient_demo.json: a forecaster against the naive baselines, and the
  exploding-gradient demo (`tujie.timeseries`, which draws both);
- translation.json: BLEU of greedy and beam-search decoding, by sentence length, with sample
  translations and attention weights;
- embeddings.json: word vectors: training, analogies, similarity, neighbours and a 2-D map.

Every piece except the run directory itself is optional, and a section appears only when
its data exist (the original sections of a single trained model say what is missing
instead). A regression run has no confusion matrix, an interrupted run has no test
results: the page shows what exists and says, in plain words, what is missing and why that
can happen. A file that cannot be read is reported on the page rather than stopping the
report, and a section whose data are malformed is replaced by a note.
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
from .. import plots as figures

REPORT_NAME = "report.html"
RUN_FILES = ("config.yaml", "metrics.jsonl", "summary.json", "evaluation.json",
             "samples.safetensors", "schedule.json", "grad_stats.jsonl", "cv.json", "ensemble.json",
             "lab.json", "text_samples.json", "forecast.json", "gradient_demo.json", "translation.json",
             "embeddings.json")
# Runs judged by a result file of their own rather than one model's test set (several models,
# or word vectors): summary.json's "kind" -> that file.
KIND_FILES = {"cross_validation": "cv.json", "ensemble": "ensemble.json", "overfitting_lab": "lab.json",
              "embeddings": "embeddings.json"}
_MAX_GRAD_RECORDS = 5_000  # grad_stats.jsonl lines kept (evenly spread) for the per-layer plot
_MAX_CONFIG_CHARS = 100_000  # a config that large is a mistake; keep the page light anyway


class RunDirectoryError(TujieError, FileNotFoundError):
    """The folder given to `build_report` is missing or is not a run directory."""


def build_report(run_dir) -> Path:
    """Build the illustrated report of a training run and write it to `run_dir/report.html`.

    Args:
        run_dir: the run's folder, holding config.yaml and/or metrics.jsonl (or the cv.json,
            ensemble.json or lab.json of a run of several models, or the embeddings.json of
            word vectors), and optionally the other files listed in this module's docstring.

    Returns:
        The path of the written report (written atomically: never half a file).

    Raises:
        RunDirectoryError (a TujieError): `run_dir` does not exist, is not a folder, or holds
            neither config.yaml, metrics.jsonl, cv.json, ensemble.json, lab.json nor
            embeddings.json.

    Example:
        >>> import json, tempfile
        >>> run = Path(tempfile.mkdtemp())          # a run that has logged one epoch so far
        >>> _ = (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 0.3, "val_loss": 0.2}))
        >>> build_report(run).name
        'report.html'
    """
    folder = Path(run_dir)
    contents = ("config.yaml (the resolved config) and metrics.jsonl (one line per epoch), "
                "plus optionally summary.json, evaluation.json, samples.safetensors, schedule.json, "
                "grad_stats.jsonl, cv.json, ensemble.json, lab.json or embeddings.json")
    if not folder.is_dir():
        raise RunDirectoryError(
            f"Run directory '{folder}' {'is a file, not a folder' if folder.exists() else 'does not exist'}.",
            expected=f"a folder written by a training run, holding {contents}",
            received=f"run_dir={str(folder)!r}",
            fix="Pass the folder of one run (look under runs/<recipe>/), not a file inside it.")
    markers = ("config.yaml", "metrics.jsonl", *KIND_FILES.values())
    if not any((folder / name).is_file() for name in markers):
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
    schedule: dict | None = None
    grad_stats: list[dict] = field(default_factory=list)
    cv: dict | None = None
    ensemble: dict | None = None
    lab: dict | None = None
    text_samples: dict | None = None
    forecast: dict | None = None
    gradient_demo: dict | None = None
    translation: dict | None = None
    embeddings: dict | None = None
    found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _load_run(folder: Path) -> RunFiles:
    run = RunFiles(folder=folder)
    run.found = [name for name in RUN_FILES if (folder / name).is_file()]
    for name, reader in (("config.yaml", _read_config), ("metrics.jsonl", _read_history),
                         ("summary.json", _read_summary), ("evaluation.json", _read_evaluation),
                         ("samples.safetensors", _read_samples), ("schedule.json", _read_schedule),
                         ("grad_stats.jsonl", _read_grad_stats), ("cv.json", _read_cv),
                         ("ensemble.json", _read_ensemble), ("lab.json", _read_lab),
                         ("text_samples.json", _read_text_samples), ("forecast.json", _read_forecast),
                         ("gradient_demo.json", _read_gradient_demo), ("translation.json", _read_translation),
                         ("embeddings.json", _read_embeddings)):
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


def _read_jsonl(run: RunFiles, path: Path) -> list[dict]:
    """The JSON objects of a .jsonl file; a bad line is skipped with a note."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            run.problems.append(f"{path.name} line {number} is not valid JSON and was skipped.")
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            run.problems.append(f"{path.name} line {number} is not a JSON object and was skipped.")
    return records


def _read_history(run: RunFiles, path: Path) -> None:
    run.history = _read_jsonl(run, path)


def _read_grad_stats(run: RunFiles, path: Path) -> None:
    records = _read_jsonl(run, path)
    if len(records) > _MAX_GRAD_RECORDS:  # every n-th step, the last one kept
        stride = math.ceil(len(records) / _MAX_GRAD_RECORDS)
        records = records[::-1][::stride][::-1]
    run.grad_stats = records


def _read_json_object(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, found {type(data).__name__}")
    return data


def _read_summary(run: RunFiles, path: Path) -> None:
    run.summary = _read_json_object(path)


def _read_evaluation(run: RunFiles, path: Path) -> None:
    run.evaluation = _read_json_object(path)


def _read_schedule(run: RunFiles, path: Path) -> None:
    run.schedule = _read_json_object(path)


def _read_cv(run: RunFiles, path: Path) -> None:
    run.cv = _read_json_object(path)


def _read_ensemble(run: RunFiles, path: Path) -> None:
    run.ensemble = _read_json_object(path)


def _read_lab(run: RunFiles, path: Path) -> None:
    run.lab = _read_json_object(path)


def _read_text_samples(run: RunFiles, path: Path) -> None:
    run.text_samples = _read_json_object(path)


def _read_forecast(run: RunFiles, path: Path) -> None:
    run.forecast = _read_json_object(path)


def _read_gradient_demo(run: RunFiles, path: Path) -> None:
    run.gradient_demo = _read_json_object(path)


def _read_translation(run: RunFiles, path: Path) -> None:
    run.translation = _read_json_object(path)


def _read_embeddings(run: RunFiles, path: Path) -> None:
    run.embeddings = _read_json_object(path)


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
        return str(task).lower() in ("classification", "binary", "multiclass")
    evaluation_task = _evaluation(run).get("task")
    if evaluation_task is not None:
        return str(evaluation_task).lower() != "regression"
    return run.evaluation is not None or "samples.safetensors" in run.found


def _kind(run: RunFiles) -> str:
    """summary.json's "kind": "train" (or missing) for one trained model, else a KIND_FILES key."""
    kind = run.summary.get("kind")
    return str(kind) if kind is not None else "train"


def _evaluation(run: RunFiles) -> dict:
    return run.evaluation if isinstance(run.evaluation, dict) else {}


def _by_headline_order(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: (_HEADLINE_ORDER.index(n) if n in _HEADLINE_ORDER
                                        else len(_HEADLINE_ORDER), names.index(n)))


def _headline(run: RunFiles) -> str:
    """Up to four big numbers: test results, else the last epoch's validation results.

    A cross-validation shows its mean ± std (after the test results, if it has any); an
    ensemble its own score and its best member's; the overfitting lab the baseline's gap
    next to the smallest one.
    """
    test = run.summary.get("test")
    stats: list[tuple[str, str]] = []
    if isinstance(test, dict) and test:
        names = _by_headline_order(list(test))
        if isinstance(run.ensemble, dict):  # its test score is the ensemble's, shown just below
            names = [n for n in names if n != run.ensemble.get("metric", "accuracy")]
        stats = [(_fmt(test[n], n), f"test {n.replace('_', ' ')}") for n in names[:4]]
    try:
        several = _several_models_stats(run)
    except Exception:  # malformed: the section itself says so; the header must survive
        several = []
    if run.cv is not None:  # the test result first, but keep room for the folds' mean ± std
        stats = stats[:max(4 - len(several), 1)] + several
    stats = (stats if run.cv is not None else several + stats)[:4]
    if not stats and run.history:
        last = run.history[-1]
        epoch = last.get("epoch", len(run.history))
        names = _by_headline_order([k[4:] for k in last if k.startswith("val_")])
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
    try:
        facts += _several_models_facts(run)
    except Exception:  # malformed: the section itself says so
        pass
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
    try:
        learning_rates = _learning_rates(run)
    except Exception:  # malformed: the learning-rate section says so
        learning_rates = None
    if learning_rates and not _changes(learning_rates[1]):
        facts.append(f"learning rate {_finite(learning_rates[1])[0]:g} throughout")
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
        "cv.json": "no per-fold results of the cross-validation",
        "ensemble.json": "no scores of the ensemble and its members",
        "lab.json": "no variants of the overfitting lab to compare",
        "embeddings.json": "no analogies, neighbours or map of the word vectors",
        "text_samples.json": "no example texts to look at",
    }
    if _kind(run) in KIND_FILES:  # several models: no single history, test set or samples
        wanted = ["config.yaml", "summary.json", KIND_FILES[_kind(run)]]
        return [f"<code>{name}</code> is missing: {why[name]}." for name in wanted
                if name not in run.found]
    wanted = ["config.yaml", "metrics.jsonl", "summary.json"]
    if _is_classification(run):
        wanted += ["evaluation.json", "text_samples.json" if run.text_samples is not None else "samples.safetensors"]
    return [f"<code>{name}</code> is missing: {why[name]}." for name in wanted if name not in run.found]


def _curves_section(run: RunFiles) -> str:
    how = ('One panel per metric, epoch on the x axis: <span class="train">training</span> vs '
           '<span class="val">validation</span>. Validation loss rising while training loss keeps '
           'falling means the model has started to memorise the training set (overfitting).')
    s = run.summary
    if not run.history:
        return _section("curves", "Training curves", how,
                        _note("No training curves: <code>metrics.jsonl</code> is missing or empty, "
                              "so no epoch was recorded."))
    best = s.get("best_epoch") if isinstance(s.get("best_epoch"), (int, float)) else None
    body = []
    png = figures.training_curves(run.history, best_epoch=best, show_lr=False)
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


def _text_mistakes_section(run: RunFiles) -> str:
    how = ("The test texts the model got wrong while being most sure of itself, with the label it "
           "gave, the true one and its confidence. Sarcasm, negation (\u201cnot bad at all\u201d) and "
           "reviews that change their mind halfway are the usual suspects; a text cut at the "
           "length limit may have lost the sentence that decides it.")
    data = run.text_samples or {}
    cards = []
    for row in data.get("wrong", []):
        text = str(row.get("text", ""))
        shown = text if len(text) <= 900 else text[:900] + " …"
        cards.append(
            f'<div class="textcard"><p class="meta"><span class="bad-text">predicted {_e(row.get("predicted"))}</span> '
            f'({_e(_fmt(_as_float(row.get("confidence")), "accuracy"))} sure) · true '
            f'<span class="ok-text">{_e(row.get("label"))}</span> · {_e(_fmt(row.get("tokens")))} tokens</p>'
            f'<p class="review">{_e(shown)}</p></div>')
    if not cards:
        return _section("text-mistakes", "Most confident mistakes", how,
                        _note("Nothing to show: the model made no mistake on the test texts, or none were saved."))
    return _section("text-mistakes", "Most confident mistakes", how, "".join(cards))


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


# --------------------------------------------------------------------------------------
# Optimisation: the learning-rate schedule and the gradient norms.

_as_float = figures._as_float


def _finite(values) -> list[float]:
    return [v for v in (_as_float(x) for x in values) if math.isfinite(v)]


def _changes(values) -> bool:
    """Whether a series of numbers really varies (not just float noise around one value)."""
    finite = _finite(values)
    if len(finite) < 2:
        return False
    low, high = min(finite), max(finite)
    return high - low > 1e-9 * max(abs(low), abs(high))


def _learning_rates(run: RunFiles) -> tuple[list[float], list[float], str, str] | None:
    """(x, learning rates, x label, source file) from schedule.json, else metrics.jsonl's `lr`.

    Raises:
        ValueError: schedule.json does not hold equally long `step` and `lr` lists.
    """
    if run.schedule is not None:
        steps, rates = run.schedule.get("step"), run.schedule.get("lr")
        if not isinstance(steps, list) or not isinstance(rates, list) or len(steps) != len(rates):
            raise ValueError("schedule.json needs lists `step` and `lr` of the same length")
        per_epoch = _as_float(run.schedule.get("steps_per_epoch"))
        if math.isfinite(per_epoch) and per_epoch > 0:
            x, x_label = [_as_float(s) / per_epoch for s in steps], "epoch"
        else:
            x, x_label = [_as_float(s) for s in steps], "optimizer step"
        return x, [_as_float(r) for r in rates], x_label, "schedule.json"
    pairs = [(_as_float(r.get("epoch", i + 1)), _as_float(r.get("lr", r.get("learning_rate"))))
             for i, r in enumerate(run.history)]
    pairs = [(e, lr) for e, lr in pairs if math.isfinite(lr)]
    if not pairs:
        return None
    return [e for e, _ in pairs], [lr for _, lr in pairs], "epoch", "metrics.jsonl"


def _shows_learning_rate(run: RunFiles) -> bool:
    learning_rates = _learning_rates(run)
    return learning_rates is not None and _changes(learning_rates[1])


def _learning_rate_section(run: RunFiles) -> str:
    how = ("How big a step the optimizer takes at each point of training. A warm-up starts small "
           "so the first noisy gradients do no harm; a decay ends small so the model can settle "
           "into a minimum instead of bouncing around it.")
    x, rates, x_label, source = _learning_rates(run)
    finite = [(a, r) for a, r in zip(x, rates) if math.isfinite(r) and math.isfinite(a)]
    if not finite:
        raise ValueError(f"{source} holds no finite learning rate")
    png = figures.learning_rate_curve([a for a, _ in finite], [r for _, r in finite], x_label)
    (_, first), (x_last, last) = finite[0], finite[-1]
    x_peak, peak = max(finite, key=lambda p: p[1])
    text = f"The learning rate starts at {first:.3g}"
    if peak > first and x_peak != x_last:
        text += f", rises to {peak:.3g} at {x_label} {x_peak:.3g}"
    text += f" and ends at {last:.3g} ({x_label} {x_last:.3g})."
    if source == "schedule.json":
        where = (f"Drawn from <code>schedule.json</code>: {len(finite):,} points, one per optimizer "
                 f"step (or an even selection of them).")
    else:
        where = ("Drawn from the per-epoch <code>lr</code> of <code>metrics.jsonl</code> "
                 "(<code>schedule.json</code> is missing), so changes within an epoch do not show.")
    body = (_img(png, "learning rate over training") + f'<p class="aside">{_e(text)}</p>'
            + f'<p class="aside">{where}</p>')
    return _section("learning-rate", "Learning rate", how, body)


def _config_dict(run: RunFiles) -> dict:
    if not run.config_text:
        return {}
    try:
        import yaml

        config = yaml.safe_load(run.config_text)
    except Exception:  # shown as text in its own section anyway
        return {}
    return config if isinstance(config, dict) else {}


def _clip_grad_norm(run: RunFiles) -> float | None:
    train = _config_dict(run).get("train")
    clip = _as_float(train.get("clip_grad_norm")) if isinstance(train, dict) else math.nan
    return clip if math.isfinite(clip) and clip > 0 else None


def _has_gradients(run: RunFiles) -> bool:
    return bool(run.grad_stats) or any(
        math.isfinite(_as_float(r.get(key))) for r in run.history for key in ("grad_norm", "grad_norm_max"))


def _gradient_section(run: RunFiles) -> str:
    how = ("The size (L2 norm) of the gradient, on a log scale. Healthy training shows norms that "
           "stay within a few powers of ten and usually shrink slowly. A norm that shoots up by "
           "orders of magnitude is an exploding gradient; layers whose norm sits far below the "
           "others (often the first ones) barely learn: a vanishing gradient.")
    clip = _clip_grad_norm(run)
    png = figures.gradient_norms(run.history, run.grad_stats, clip)
    if png is None:
        raise ValueError("grad_stats.jsonl holds no layer with a gradient norm")
    body = [_img(png, "gradient norms over training")]
    epochs = [(r.get("epoch", i + 1), _as_float(r.get("grad_norm")), _as_float(r.get("grad_norm_max")))
              for i, r in enumerate(run.history)]
    means = [(e, m) for e, m, _ in epochs if math.isfinite(m)]
    if len(means) >= 2:
        (first_epoch, first), (last_epoch, last) = means[0], means[-1]
        text = (f"The mean gradient norm went from {first:.3g} in epoch {_fmt(first_epoch)} to "
                f"{last:.3g} in epoch {_fmt(last_epoch)}.")
        body.append(f'<p class="aside">{_e(text)}</p>')
    broken = [epoch for (epoch, _, _), r in zip(epochs, run.history)  # json reads NaN / Infinity as floats
              if any(isinstance(r.get(key), float) and not math.isfinite(r[key])
                     for key in ("grad_norm", "grad_norm_max"))]
    if broken:
        which = ", ".join(_fmt(e) for e in broken[:5]) + (", ..." if len(broken) > 5 else "")
        body.append(_note(f"The gradient norm was NaN or infinite in epoch{'s' if len(broken) > 1 else ''} "
                          f"{_e(which)}: the gradients exploded.", "warn"))
    if clip is not None:
        clipped = [e for e, _, top in epochs if math.isfinite(top) and top > clip]
        text = (f"Gradients with a norm above {clip:g} are scaled down to {clip:g} before each step "
                f"(<code>train.clip_grad_norm</code>); the curves show the norms before clipping, so "
                f"the red dashed line marks where clipping starts.")
        if any(math.isfinite(top) for _, _, top in epochs):
            text += (f" At least one step was clipped in {len(clipped)} of "
                     f"{sum(math.isfinite(top) for _, _, top in epochs)} epochs.")
        body.append(f'<p class="aside">{text}</p>')
    body.append(_layer_table(run.grad_stats))
    return _section("gradients", "Gradient norms", how, "".join(body))


def _layer_table(records: list[dict]) -> str:
    """The last recorded step's per-layer norms, and a sentence on their spread."""
    last = next((r for r in reversed(records) if isinstance(r.get("layers"), dict) and r["layers"]), None)
    if last is None:
        return ""
    rows, norms = [], []
    for name, stats in last["layers"].items():
        stats = stats if isinstance(stats, dict) else {}
        grad, weight = _as_float(stats.get("grad_norm")), _as_float(stats.get("weight_norm"))
        ratio = grad / weight if math.isfinite(grad) and math.isfinite(weight) and weight > 0 else math.nan
        if math.isfinite(grad) and grad > 0:
            norms.append((grad, str(name)))
        rows.append([f'<span class="mono">{_e(name)}</span>', _e(_fmt(grad)), _e(_fmt(weight)),
                     _e(_fmt(ratio))])
    lead = ""
    if len(norms) >= 2:
        (low, low_name), (high, high_name) = min(norms), max(norms)
        lead = (f"At step {_fmt(last.get('step', '?'))} the layers' gradient norms range from "
                f"{low:.3g} ({low_name}) to {high:.3g} ({high_name})")
        lead += (f", a factor of {high / low:,.0f}: the gradient hardly reaches {low_name}, which "
                 f"therefore learns slowly." if high / low > 1000 else ".")
        lead = f'<p class="aside">{_e(lead)}</p>'
    table = _table(["layer", "gradient norm", "weight norm", "gradient / weight"], rows, "numbers")
    return (lead + f'<details><summary>Per-layer norms at step {_e(_fmt(last.get("step", "?")))} '
            f'(the last recorded)</summary><div class="scroll tall">{table}</div></details>')


# --------------------------------------------------------------------------------------
# A classifier beyond accuracy: ROC and precision-recall, calibration, decision threshold.


def _has_curves(run: RunFiles) -> bool:
    evaluation = _evaluation(run)
    return evaluation.get("roc") is not None or evaluation.get("pr_curve") is not None


def _threshold(run: RunFiles) -> dict | None:
    threshold = _evaluation(run).get("threshold")
    return threshold if isinstance(threshold, dict) else None


def _binary_counts(matrix) -> tuple[float, float, float, float] | None:
    """(tn, fp, fn, tp) of a 2 x 2 confusion matrix [[tn, fp], [fn, tp]], else None."""
    if (isinstance(matrix, list) and len(matrix) == 2
            and all(isinstance(row, list) and len(row) == 2 for row in matrix)):
        (tn, fp), (fn, tp) = ((_as_float(v) for v in row) for row in matrix)
        if all(math.isfinite(v) for v in (tn, fp, fn, tp)):
            return tn, fp, fn, tp
    return None


def _operating_point(run: RunFiles) -> dict | None:
    threshold = _threshold(run)
    if threshold is None:
        return None
    point = {key: threshold.get(key) for key in ("threshold", "precision", "recall")}
    point["tpr"] = threshold.get("recall")
    counts = _binary_counts(threshold.get("confusion_matrix"))
    if counts is not None:
        tn, fp, fn, tp = counts
        point["fpr"] = fp / (fp + tn) if fp + tn > 0 else None
    return point


def _roc_pr_section(run: RunFiles) -> str:
    how = ("Both curves sweep the decision threshold from high to low. ROC: how many of the "
           "positives are found (up) against how many negatives are wrongly flagged (right); "
           "the dashed diagonal is guessing, and the area under the curve (AUC) is 1 for a "
           "perfect ranking. Precision–recall: how trustworthy the flagged examples are (up) "
           "against how many positives are found (right); it tells more than ROC when positives "
           "are rare.")
    evaluation = _evaluation(run)
    classes = [str(c) for c in evaluation.get("classes") or []]
    counts = _binary_counts(evaluation.get("confusion_matrix"))
    prevalence = (counts[2] + counts[3]) / sum(counts) if counts and sum(counts) > 0 else None
    roc, pr_curve = evaluation.get("roc"), evaluation.get("pr_curve")
    for name, value in (("roc", roc), ("pr_curve", pr_curve)):
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"evaluation.json's {name} is a {type(value).__name__}, not an object")
    png = figures.roc_pr_curves(roc, pr_curve, classes, evaluation.get("auc"),
                                evaluation.get("average_precision"), _operating_point(run), prevalence)
    multiclass = str(evaluation.get("task", "")).lower() == "multiclass" or (
        isinstance(roc, dict) and isinstance((roc.get("fpr") or [None])[0], list))
    body = [_img(png, "ROC and precision-recall curves")]
    auc = _as_float(evaluation.get("auc"))
    if math.isfinite(auc):
        if multiclass:
            text = (f"Macro AUC {auc:.3f}: averaged over the classes, each class against the rest, a "
                    f"random example of the class gets a higher score for it than a random example "
                    f"of another class {auc:.1%} of the time.")
        else:
            text = (f"AUC {auc:.3f}: a random positive example gets a higher score than a random "
                    f"negative one {auc:.1%} of the time (50% is guessing).")
        body.append(f'<p class="aside">{_e(text)}</p>')
    if _threshold(run) is not None:
        body.append('<p class="aside">The red dot is the tuned decision threshold '
                    '(see <a href="#threshold">Decision threshold</a>).</p>')
    return _section("roc-pr", "ROC and precision–recall", how, "".join(body))


def _has_calibration(run: RunFiles) -> bool:
    return _evaluation(run).get("reliability") is not None


def _calibration_section(run: RunFiles) -> str:
    evaluation = _evaluation(run)
    binary = str(evaluation.get("task", "")).lower() == "binary"
    how = ("Are the model's probabilities honest? Examples are grouped by the probability the model "
           "gave; each bar is how often it was really right in that group"
           + (" (for a binary model: how often the example was positive)" if binary else "")
           + ". On the dashed diagonal, \u201c80% sure\u201d means right 80% of the time. Bars below "
           "the diagonal: overconfident; above: underconfident. The grey histogram shows how many "
           "examples each bar rests on; a bar on a handful of examples says little.")
    reliability = evaluation["reliability"]
    if not isinstance(reliability, dict):
        raise ValueError(f"evaluation.json's reliability is a {type(reliability).__name__}, not an object")
    count, confidence, accuracy = (reliability[k] for k in ("count", "confidence", "accuracy"))
    ece = _as_float(evaluation.get("ece"))
    png = figures.reliability_diagram(count, confidence, accuracy, reliability.get("bin_edges"),
                                      ece, binary=binary)
    body = [_img(png, "reliability diagram", "figure confusion")]
    if math.isfinite(ece):
        text = (f"Expected calibration error (ECE) {ece:.3f}: weighted by how many examples each bar "
                f"holds, the probability the model gives is {100 * ece:.1f} points away from how "
                f"often it is right.")
        weights = [(_as_float(n), _as_float(c) - _as_float(a)) for n, c, a in zip(count, confidence, accuracy)]
        weights = [(n, gap) for n, gap in weights if math.isfinite(n) and n > 0 and math.isfinite(gap)]
        total = sum(n for n, _ in weights)
        if total > 0 and not binary:
            mean_gap = sum(n * gap for n, gap in weights) / total
            if abs(mean_gap) >= 0.005:
                text += (f" On average it is {'over' if mean_gap > 0 else 'under'}confident by "
                         f"{100 * abs(mean_gap):.1f} points.")
        body.append(f'<p class="aside">{_e(text)}</p>')
    return _section("calibration", "Calibration", how, "".join(body))


def _threshold_words(threshold: dict) -> str:
    """e.g. "recall ≥ 0.98 → threshold 0.40: recall 0.984, precision 0.940"."""
    criterion = str(threshold.get("criterion") or "f1")
    value = _as_float(threshold.get("threshold"))
    scores = {name: _as_float(threshold.get(name)) for name in ("precision", "recall", "f1")}
    target = _as_float(threshold.get("target"))
    goal = "best F1" if criterion == "f1" or not math.isfinite(target) else f"{criterion} ≥ {target:g}"
    order = [criterion] + [n for n in ("recall", "precision", "f1") if n != criterion]
    parts = [f"{'F1' if name == 'f1' else name} {scores[name]:.3f}" for name in order
             if name in scores and math.isfinite(scores[name])]
    return f"{goal} → threshold {value:.2f}: " + ", ".join(parts)


def _matrix_table(counts, title: str, classes: list[str]) -> str:
    tn, fp, fn, tp = (int(v) for v in counts)
    negative, positive = (classes + ["0", "1"])[:2] if len(classes) >= 2 else ("0", "1")
    rows = [[f"true <b>{_e(negative)}</b>", f'<span class="num">{tn:,}</span> <span class="sub">correctly left</span>',
             f'<span class="num">{fp:,}</span> <span class="sub">false alarms</span>'],
            [f"true <b>{_e(positive)}</b>", f'<span class="num">{fn:,}</span> <span class="sub">missed</span>',
             f'<span class="num">{tp:,}</span> <span class="sub">found</span>']]
    table = _table(["", f"predicted {_e(negative)}", f"predicted {_e(positive)}"], rows, "matrix")
    return f"<div><h3>{title}</h3>{table}</div>"


def _threshold_provenance(threshold: dict) -> list[str]:
    """Where the threshold was chosen, and whether the test set still meets the target."""
    parts = []
    chosen_on = threshold.get("chosen_on")
    if chosen_on:
        parts.append(f'<p class="aside">The threshold was chosen on the {_e(chosen_on)} split; the '
                     f'scores above and the matrices below are on the test set.</p>')
    criterion, target = str(threshold.get("criterion") or ""), _as_float(threshold.get("target"))
    reached = _as_float(threshold.get(criterion)) if criterion in ("recall", "precision") else math.nan
    if math.isfinite(target) and math.isfinite(reached) and reached < target:
        parts.append(_note(_e(f"On the test set {criterion} is {reached:.3f}, below the target {target:g}: "
                              f"a threshold tuned on other data does not carry over exactly."), "warn"))
    return parts


def _threshold_section(run: RunFiles) -> str:
    how = ("A binary model outputs a score; the threshold decides from which score on an example "
           "counts as positive. Lowering it finds more positives (recall up) but raises more false "
           "alarms (precision down). The threshold was tuned on held-out data for the goal below; "
           "the curves show every threshold it could have picked.")
    threshold = _threshold(run)
    if not math.isfinite(_as_float(threshold.get("threshold"))):
        raise ValueError("evaluation.json's threshold holds no number `threshold`")
    evaluation = _evaluation(run)
    classes = [str(c) for c in evaluation.get("classes") or []]
    body = [f'<p class="lead">{_e(_threshold_words(threshold))}</p>']
    body += _threshold_provenance(threshold)
    series = [threshold.get(k) for k in ("thresholds", "precisions", "recalls", "f1s")]
    if all(isinstance(v, list) and v for v in series):
        png = figures.threshold_tradeoff(*series, threshold.get("threshold"),
                                         str(threshold.get("criterion") or "f1"), threshold.get("target"))
        body.append(_img(png, "precision, recall and F1 against the decision threshold"))
    tables = []
    chosen = _binary_counts(threshold.get("confusion_matrix"))
    if chosen is not None:
        value = _as_float(threshold.get("threshold"))
        tables.append(_matrix_table(chosen, f"At the tuned threshold {value:.2f}", classes))
    default = _binary_counts(evaluation.get("confusion_matrix"))
    if default is not None:
        tables.append(_matrix_table(default, "At the default threshold 0.50", classes))
    if tables:
        body.append(f'<div class="two">{"".join(tables)}</div>')
    return _section("threshold", "Decision threshold", how, "".join(body))


# --------------------------------------------------------------------------------------
# Regression: predicted against true values.


def _has_regression_pairs(run: RunFiles) -> bool:
    evaluation = _evaluation(run)
    return str(evaluation.get("task", "")).lower() == "regression" and evaluation.get("pairs") is not None


def _regression_section(run: RunFiles) -> str:
    how = ("Each dot is a test example: its true value across, the model's prediction up. On the "
           "dashed line y = x the prediction is perfect; the further a dot sits from it, the larger "
           "the error. The histogram shows the errors (residuals): centred on zero and narrow is "
           "good; shifted to one side means the model is biased, a long tail means some examples "
           "are badly missed.")
    evaluation = _evaluation(run)
    pairs = evaluation["pairs"]
    png = figures.predicted_vs_true(pairs, evaluation.get("r2"), evaluation.get("rmse"), evaluation.get("mae"))
    rows = [[_e(name), f'<span class="num">{_e(_fmt(evaluation[name], name))}</span>',
             _e(_METRIC_MEANINGS.get(name, ""))]
            for name in ("r2", "rmse", "mae", "mse") if name in evaluation]
    count = evaluation.get("num_samples", len(pairs) if isinstance(pairs, list) else None)
    body = [_img(png, "predicted against true values and the residual histogram")]
    if count is not None:
        shown = len(pairs) if isinstance(pairs, list) else 0
        text = f"{_fmt(count)} test examples" + (f", {shown:,} of them drawn" if shown and shown != count else "") + "."
        body.append(f'<p class="aside">{_e(text)}</p>')
    if rows:
        body.append(_table(["metric", "value", "what it means"], rows))
    return _section("predicted", "Predicted versus true", how, "".join(body))


# --------------------------------------------------------------------------------------
# Runs of several models: cross-validation, ensemble, overfitting lab.

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


def _cv_metrics(cv: dict) -> tuple[list[dict], list[str], dict, dict]:
    """(folds, metric names, means, stds) of cv.json; means and stds computed when missing."""
    folds = cv["folds"]
    if not isinstance(folds, list) or not folds or not all(isinstance(f, dict) for f in folds):
        raise ValueError("cv.json's folds must be a non-empty list of objects")
    means = cv.get("mean") if isinstance(cv.get("mean"), dict) else {}
    stds = cv.get("std") if isinstance(cv.get("std"), dict) else {}
    names = [n for n in figures.scalar_metrics(folds) if n in means] or figures.scalar_metrics(folds)
    for name in names:
        values = _finite(f.get(name) for f in folds)
        if name not in means and values:
            means[name] = sum(values) / len(values)
        if name not in stds and values:
            mean = sum(values) / len(values)
            stds[name] = math.sqrt(sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1))
    return folds, names, means, stds


def _lab_scale(variants: list[dict]) -> float:
    """100 when the accuracies are fractions (gaps are then shown in points), else 1."""
    values = _finite(v.get(k) for v in variants for k in ("train_accuracy", "test_accuracy"))
    return 100.0 if all(abs(v) <= 1.0 for v in values) else 1.0


def _lab_gaps(variants: list[dict]) -> list[float]:
    gaps = []
    for variant in variants:
        gap = _as_float(variant.get("gap"))
        if not math.isfinite(gap):
            gap = _as_float(variant.get("train_accuracy")) - _as_float(variant.get("test_accuracy"))
        gaps.append(gap)
    return gaps


def _lab_variants(lab: dict) -> list[dict]:
    variants = lab["variants"]
    if not isinstance(variants, list) or not variants or not all(isinstance(v, dict) for v in variants):
        raise ValueError("lab.json's variants must be a non-empty list of objects")
    return variants


def _ensemble_scores(ensemble: dict) -> tuple[str, list[dict], list[float], float]:
    metric = str(ensemble.get("metric") or "accuracy")
    members = ensemble["members"]
    if not isinstance(members, list) or not members or not all(isinstance(m, dict) for m in members):
        raise ValueError("ensemble.json's members must be a non-empty list of objects")
    combined = ensemble["ensemble"]
    if not isinstance(combined, dict):
        raise ValueError("ensemble.json's ensemble must be an object of scores")
    return metric, members, [_as_float(m.get(metric)) for m in members], _as_float(combined.get(metric))


def _best_member(members: list[dict], scores: list[float], metric: str) -> tuple[str, float]:
    ranked = [(s, str(m.get("name", f"member {i + 1}"))) for i, (m, s) in enumerate(zip(members, scores))
              if math.isfinite(s)]
    if not ranked:
        raise ValueError(f"no member has a finite {metric}")
    score, name = (min if _lower_is_better(metric) else max)(ranked, key=lambda p: p[0])
    return name, score


def _several_models_stats(run: RunFiles) -> list[tuple[str, str]]:
    """Headline numbers of a cross-validation, an ensemble, the overfitting lab or word vectors."""
    stats = []
    if run.cv is not None:
        folds, names, means, stds = _cv_metrics(run.cv)
        for name in _by_headline_order(names)[:2]:
            stats.append((_fmt_pm(means[name], stds.get(name), name),
                          f"{name.replace('_', ' ')}, mean ± std over {len(folds)} folds"))
    if run.ensemble is not None:
        metric, members, scores, combined = _ensemble_scores(run.ensemble)
        best_name, best = _best_member(members, scores, metric)
        method = run.ensemble.get("method")
        stats.append((_fmt(combined, metric), f"ensemble {metric.replace('_', ' ')}"
                      + (f" ({method})" if method else "")))
        stats.append((_fmt(best, metric), f"best member {metric.replace('_', ' ')} ({best_name})"))
    if run.lab is not None:
        variants = _lab_variants(run.lab)
        scale, gaps = _lab_scale(variants), _lab_gaps(variants)
        unit = " pts" if scale == 100 else ""
        name = str(variants[0].get("name", "baseline"))
        stats.append((f"{scale * gaps[0]:.1f}{unit}", "baseline gap (train − test accuracy)" if name == "baseline"
                      else f"baseline gap ({name}, train − test accuracy)"))
        candidates = [(g, str(v.get("name", "?"))) for g, v in zip(gaps[1:], variants[1:]) if math.isfinite(g)]
        if candidates:
            gap, name = min(candidates, key=lambda p: p[0])
            stats.append((f"{scale * gap:.1f}{unit}", f"smallest gap ({name})"))
    if run.embeddings is not None:
        analogies = _object(run.embeddings, "analogies", "embeddings.json") or {}
        similarity = _object(run.embeddings, "similarity", "embeddings.json") or {}
        accuracy, coverage = _as_float(analogies.get("accuracy")), _as_float(analogies.get("coverage"))
        if math.isfinite(accuracy):
            stats.append((_fmt(accuracy, "accuracy"), "analogy accuracy"
                          + (f" ({coverage:.0%} of the questions covered)" if math.isfinite(coverage) else "")))
        rho = _as_float(similarity.get("spearman"))
        if math.isfinite(rho):
            stats.append((f"{rho:.3f}", "word similarity (Spearman)"))
    return stats


def _several_models_facts(run: RunFiles) -> list[str]:
    facts = []
    if run.cv is not None:
        folds = run.cv.get("folds")
        k = run.cv.get("k", len(folds) if isinstance(folds, list) else "?")
        facts.append(f"{k}-fold cross-validation" + (", stratified" if run.cv.get("stratified") else ""))
    if run.ensemble is not None:
        members = run.ensemble.get("members")
        count = len(members) if isinstance(members, list) else "?"
        facts.append(f"ensemble of {count} members" + (f" ({run.ensemble['method']})"
                                                       if run.ensemble.get("method") else ""))
    if run.lab is not None:
        variants = run.lab.get("variants")
        count = len(variants) if isinstance(variants, list) else "?"
        fact = f"overfitting lab: {count} variants"
        if isinstance(run.lab.get("train_size"), int):
            fact += f" on {run.lab['train_size']:,} training examples"
        facts.append(fact)
    if run.embeddings is not None:
        emb = run.embeddings
        fact = f"{emb.get('method') or 'word'} vectors" + (f" on {emb['corpus']}" if emb.get("corpus") else "")
        if isinstance(emb.get("vocab_size"), int):
            fact += f", {emb['vocab_size']:,} words"
        facts.append(fact)
    return facts


def _cv_section(run: RunFiles) -> str:
    how = ("The data were split into k parts (folds); k models were trained, each with one fold held "
           "out for testing and the rest for training, so every example is tested exactly once. "
           "Each dot is one fold's score; the box spans the middle half of the folds. A wide spread "
           "means the score depends a lot on which examples land in the test fold, so a single "
           "train/test split would have been luck.")
    folds, names, means, stds = _cv_metrics(run.cv)
    png = figures.cross_validation_boxes(folds, names)
    sizes = run.cv.get("fold_sizes") if isinstance(run.cv.get("fold_sizes"), list) else []
    header = ["fold", "train", "held out"] + [_e(n.replace("_", " ")) for n in names]
    rows = []
    for i, fold in enumerate(folds):
        size = sizes[i] if i < len(sizes) and isinstance(sizes[i], list) and len(sizes[i]) == 2 else [None, None]
        rows.append([str(i + 1), _e(_fmt(size[0])), _e(_fmt(size[1]))]
                    + [_e(_fmt(_as_float(fold.get(n)), n)) for n in names])
    footer = ["mean ± std", "", ""] + [_e(_fmt_pm(means.get(n), stds.get(n), n)) for n in names]
    k = run.cv.get("k", len(folds))
    kind = ("stratified: every fold keeps the class proportions of the whole data set"
            if run.cv.get("stratified") else "not stratified: folds are random slices")
    body = (_img(png, "cross-validation scores per fold")
            + f'<p class="aside">{_e(f"{k} folds, {kind}.")}</p>'
            + f'<div class="scroll">{_table(header, rows, "numbers", footer=footer)}</div>')
    return _section("cross-validation", "Cross-validation", how, body)


def _ensemble_section(run: RunFiles) -> str:
    how = ("Several models trained separately vote together. Grey bars are the members, the "
           "coloured bar the ensemble, the dashed line the average member. The y axis is zoomed in, "
           "so small differences look large: read the numbers. An ensemble helps when its members "
           "make different mistakes.")
    metric, members, scores, combined = _ensemble_scores(run.ensemble)
    names = [str(m.get("name", f"member {i + 1}")) for i, m in enumerate(members)]
    png = figures.ensemble_bars(names, scores, combined, metric)
    finite = _finite(scores)
    body = [_img(png, f"{metric} of each ensemble member and of the ensemble")]
    methods = {"average": "averages the members' predicted probabilities",
               "vote": "takes a majority vote of the members' predicted classes",
               "weighted": "takes a weighted average of the members' predicted probabilities"}
    method = run.ensemble.get("method")
    if finite and math.isfinite(combined):
        mean = sum(finite) / len(finite)
        best_name, best = _best_member(members, scores, metric)
        sign = -1.0 if _lower_is_better(metric) else 1.0

        def relation(delta):  # "better" is up for accuracy, down for a loss
            if delta == 0:
                return "level with"
            return ("above" if delta > 0 else "below") if sign > 0 else ("below" if delta < 0 else "above")

        text = (f"The ensemble scores {_fmt(combined, metric)}, {_difference(combined - mean, metric)} "
                f"{relation(combined - mean)} its average member and {_difference(combined - best, metric)} "
                f"{relation(combined - best)} its best ({best_name}).")
        if method in methods:
            text += f" It {methods[method]}."
        body.append(f'<p class="lead">{_e(text)}</p>')
    columns = figures.scalar_metrics(members + [run.ensemble["ensemble"]])
    rows = [[_e(name)] + [_e(_fmt(_as_float(m.get(c)), c)) for c in columns] for name, m in zip(names, members)]
    rows.append(["<b>ensemble</b>"] + [_e(_fmt(_as_float(run.ensemble["ensemble"].get(c)), c)) for c in columns])
    body.append(_table(["model"] + [_e(c.replace("_", " ")) for c in columns], rows, "numbers",
                       [""] * (len(rows) - 1) + ["highlight"]))
    return _section("ensemble", "Ensemble", how, "".join(body))


def _lab_section(run: RunFiles) -> str:
    how = ("The same model, trained on the same deliberately small training set, once plainly (the "
           "baseline) and once with each remedy against overfitting. In each panel, the distance "
           'between the <span class="train">training</span> and <span class="val">validation</span> '
           "curves is overfitting: the model learns its training examples by heart. A remedy works "
           "when it narrows the gap (train minus test accuracy) without lowering test accuracy.")
    variants = _lab_variants(run.lab)
    scale, gaps = _lab_scale(variants), _lab_gaps(variants)
    unit = "points" if scale == 100 else "units"
    names = [str(v.get("name", f"variant {i + 1}")) for i, v in enumerate(variants)]
    body = [_img(figures.overfitting_lab_curves(variants), "training and validation accuracy of each variant")]
    facts = [f"{_fmt(run.lab[key])} {label}" for key, label in
             (("train_size", "training examples"), ("validation_size", "validation examples"),
              ("test_size", "test examples"), ("epochs", "epochs at most"))
             if run.lab.get(key) is not None]
    if facts:
        body.append(f'<p class="aside">{_e(", ".join(facts))}; the first variant is the baseline.</p>')
    rows, with_loss = [], all("loss_gap" in v for v in variants)
    for i, (variant, gap) in enumerate(zip(variants, gaps)):
        if i == 0:
            change = '<span class="sub">baseline</span>'
        elif math.isfinite(gap) and math.isfinite(gaps[0]):
            delta = scale * (gap - gaps[0])
            css = "narrower" if delta < 0 else ("wider" if delta > 0 else "")
            change = f'<span class="{css}">{delta:+.1f}</span>'.replace("-", "−")
        else:
            change = "—"
        row = [f"<b>{_e(names[i])}</b>", _e(variant.get("description") or ""),
               _e(_fmt(_as_float(variant.get("train_accuracy")), "accuracy")),
               _e(_fmt(_as_float(variant.get("test_accuracy")), "accuracy")),
               _e(f"{scale * gap:.1f}" if math.isfinite(gap) else "—"), change]
        if with_loss:  # test loss minus train loss: a memorising model is confidently wrong, which accuracy hides
            row += [_e(_fmt(_as_float(variant.get("test_loss")))), _e(_fmt(_as_float(variant.get("loss_gap"))))]
        rows.append(row)
    header = ["variant", "what changes", "train accuracy", "test accuracy", f"gap ({unit})", "gap vs baseline"]
    body.append(_table(header + (["test loss", "loss gap"] if with_loss else []), rows, "numbers"))
    finite_gaps = [(g, n) for g, n in zip(gaps, names) if math.isfinite(g)]
    tests = [(_as_float(v.get("test_accuracy")), n) for v, n in zip(variants, names)]
    tests = [(t, n) for t, n in tests if math.isfinite(t)]
    if finite_gaps and tests:
        gap, gap_name = min(finite_gaps, key=lambda p: p[0])  # ties: the first listed
        test, test_name = max(tests, key=lambda p: p[0])
        baseline = f"{scale * gaps[0]:.1f}" if math.isfinite(gaps[0]) else "—"
        if gap_name == test_name:
            text = (f"{gap_name} has both the smallest gap ({scale * gap:.1f} {unit}, baseline "
                    f"{baseline}) and the best test accuracy ({_fmt(test, 'accuracy')}).")
        else:
            text = (f"Smallest gap: {gap_name} ({scale * gap:.1f} {unit}, baseline {baseline}). "
                    f"Best test accuracy: {test_name} ({_fmt(test, 'accuracy')}).")
        body.append(f'<p class="lead">{_e(text)}</p>')
    body.append(_img(figures.gap_bars(names, [scale * g for g in gaps], unit), "overfitting gap per variant"))
    return _section("overfitting-lab", "Overfitting lab", how, "".join(body))


# --------------------------------------------------------------------------------------
# Sequences and words: forecasts, the exploding-gradient demo, translation, word vectors,
# and a text classifier's attention.

# (row name, key of its one-step score, key of its multi-step score) in forecast.json's metrics
_FORECASTERS = (("model", "model_one_step", "model_multi_step"),
                ("seasonal naive", "seasonal_naive_one_step", "seasonal_naive"),
                ("last value", "last_value_one_step", "last_value"))


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


def _forecast_section(run: RunFiles) -> str:
    how = ("The black line is the series. The model learned from the first shaded span, its training was "
           "checked on the second (validation), and after the dashed line comes the test span it never saw. "
           "One step ahead, each test value is forecast from the true values before it; multi-step, the whole "
           "span is forecast from the end of validation with the model feeding on its own predictions, so "
           "errors compound. A forecaster is worth its training only if it beats the baselines that cost "
           "nothing: repeating the last value, or the last season. MAE is the average miss in the series' own "
           "units; RMSE weighs large misses more.")
    from ..timeseries import forecast_figure

    forecast = run.forecast
    scores = forecast.get("metrics")
    if not isinstance(scores, dict):
        raise ValueError("forecast.json's metrics must be an object of {mae, rmse} scores")
    body = [_img(forecast_figure(forecast), "the series with the model's and the baselines' forecasts")]
    steps = forecast.get("steps")
    for setting, column in (("One step ahead", 1), (f"{_fmt(steps)} steps ahead" if steps else "Multi-step", 2)):
        text = _versus(setting, _score(scores, _FORECASTERS[0][column], "mae"),
                       [(_score(scores, keys[column], "mae"), keys[0]) for keys in _FORECASTERS[1:]])
        if text:
            body.append(f'<p class="lead">{_e(text)}</p>')
    rows, row_classes = [], []
    for name, one, multi in _FORECASTERS:
        if one in scores or multi in scores:
            rows.append([f"<b>{_e(name)}</b>" if name == "model" else _e(name)]
                        + [_e(_fmt(_score(scores, key, metric))) if key in scores else "—"
                           for key, metric in ((one, "mae"), (one, "rmse"), (multi, "mae"), (multi, "rmse"))])
            row_classes.append("highlight" if name == "model" else "")
    if rows:
        ahead = f"{_e(_fmt(steps))} steps" if steps else "multi-step"
        body.append(_table(["forecast", "MAE one step", "RMSE one step", f"MAE {ahead}", f"RMSE {ahead}"],
                           rows, "numbers", row_classes))
    facts = []
    unit = forecast.get("unit")
    facts.append(f"Errors on the test span{f', in {unit}' if unit else ''}; lower is better.")
    split = forecast.get("split") if isinstance(forecast.get("split"), dict) else {}
    if split:
        frequency = f" ({forecast['frequency']})" if forecast.get("frequency") else ""
        facts.append(f"Split by time: {_fmt(split.get('train'))} training, {_fmt(split.get('val'))} validation and "
                     f"{_fmt(split.get('test'))} test steps{frequency}.")
    if forecast.get("input_len") is not None:
        facts.append(f"Each forecast reads the {_fmt(forecast['input_len'])} values before it.")
    if steps and forecast.get("strategy"):
        facts.append(f"The {_fmt(steps)}-step forecast is {forecast['strategy']}.")
    if forecast.get("period") is not None:
        facts.append(f"The seasonal baseline repeats the last {_fmt(forecast['period'])} values.")
    body.append(f'<p class="aside">{_e(" ".join(facts))}</p>')
    notes = _list(forecast, "notes", "forecast.json")
    if notes:
        items = "".join(f"<li>{_e(note)}</li>" for note in notes)
        body.append(f'<p class="aside">About the data:</p><ul class="notes">{items}</ul>')
    return _section("forecast", "Forecast", how, "".join(body))


def _gradient_demo_section(run: RunFiles) -> str:
    how = ("The textbook's exploding gradient, reproduced: a plain (tanh) recurrent network reads 200 steps of the "
           "series and is trained twice, with the same weights, data and batch order; only gradient clipping "
           "differs. Backpropagating through 200 steps multiplies the gradient by the recurrent weights 200 times, "
           'so it can grow exponentially: the <span class="bad-text">red</span> run (no clipping) climbs by orders '
           "of magnitude until it overflows, and its loss with it. Clipping scales every gradient whose norm is "
           "above the threshold (dashed line) down to it before the step, so no single step can throw the weights "
           'away, and the <span class="train">indigo</span> run keeps learning. The y axes are logarithmic: each '
           "grid line is ten times the one below.")
    from ..timeseries import gradient_demo_figure

    demo = run.gradient_demo
    for key in ("unclipped", "clipped"):
        if not isinstance(demo.get(key), list):
            raise ValueError(f"gradient_demo.json's {key} must be a list of gradient norms, one per step")
    body = [_img(gradient_demo_figure(demo), "gradient norm per step with and without gradient clipping")]
    peaks = {key: max(_finite(demo[key]), default=math.nan) for key in ("unclipped", "clipped")}
    diverged = demo.get("diverged") if isinstance(demo.get("diverged"), dict) else {}
    clip = _as_float(demo.get("clip"))
    if math.isfinite(peaks["unclipped"]) and math.isfinite(peaks["clipped"]):
        text = f"Without clipping the largest finite gradient norm was {peaks['unclipped']:.3g}"
        if diverged.get("unclipped") is not None:
            text += f" and training broke down (infinite norm or loss) at step {_fmt(diverged['unclipped'])}"
        text += (f"; with clip_grad_norm = {clip:g}" if math.isfinite(clip) else "; with clipping")
        text += f" the norm peaked at {peaks['clipped']:.3g}"
        text += (f" and broke down at step {_fmt(diverged['clipped'])}." if diverged.get("clipped") is not None
                 else f" and all {len(demo['clipped']):,} steps trained.")
        text += " Norms are measured before clipping."
        body.append(f'<p class="aside">{_e(text)}</p>')
    settings = _object(demo, "settings", "gradient_demo.json") or {}
    if settings:
        shown = ", ".join(f"{key.replace('_', ' ')} {_fmt(value)}" for key, value in settings.items())
        body.append(f'<p class="aside small">Settings: {_e(shown)}.</p>')
    return _section("gradient-demo", "Exploding gradients", how, "".join(body))


def _fmt_bleu(value) -> str:
    value = _as_float(value)
    return f"{value:.2f}" if math.isfinite(value) else "—"


def _decodings(translation: dict) -> list[tuple[str, dict]]:
    """[(name, result)] of greedy decoding and, when it was run, beam search."""
    greedy = _object(translation, "greedy", "translation.json")
    beam = _object(translation, "beam", "translation.json")
    if greedy is None and beam is None:
        raise ValueError("translation.json holds neither greedy nor beam results")
    width = beam.get("beam", translation.get("beam_width")) if beam else None
    decodings = [("greedy", greedy)] if greedy is not None else []
    if beam is not None and (greedy is None or (isinstance(width, int) and width > 1)):
        decodings.append((f"beam {width}" if isinstance(width, int) else "beam", beam))
    return decodings


def _translation_section(run: RunFiles) -> str:
    how = ("How well the model translates sentences it never saw. BLEU (0 to 100) measures how many of the "
           "translation's word sequences (one to four words long) also occur in the reference translation, with "
           "a penalty for translations that are too short: above 30 is usually understandable, below 10 mostly "
           "wrong. Greedy decoding writes the most probable word at each step; beam search keeps the few best "
           "partial translations and picks the best whole one. Long sentences are harder, hence the scores by "
           "source length. In the attention maps each row is a word the model wrote and each column a source "
           "word: a dark cell is where the model looked when it wrote that word, and a model that has learned "
           "to align the two languages draws a rough diagonal.")
    translation = run.translation
    decodings = _decodings(translation)
    width = translation.get("beam_width")
    scores = [f"{_fmt_bleu(result.get('bleu'))} with {'greedy decoding' if name == 'greedy' else 'beam search'}"
              for name, result in decodings]
    text = "BLEU " + " and ".join(scores)
    if len(decodings) > 1 and translation.get("length_penalty") is not None:
        text += f" (width {_fmt(width)}, length penalty {_fmt(translation['length_penalty'])})"
    count = decodings[0][1].get("count", translation.get("test_pairs"))
    if count is not None:
        text += f", on {_fmt(count)} test pairs"
    body = [f'<p class="lead">{_e(text + ".")}</p>']
    facts = [f"{translation[key]}" for key in ("corpus", "direction") if translation.get(key)]
    if translation.get("train_pairs") is not None:
        facts.append(f"{_fmt(translation['train_pairs'])} training pairs")
    if translation.get("train_s") is not None:
        facts.append(f"trained in {_fmt_seconds(translation['train_s'])}")
    if facts:
        body.append(f'<p class="aside">{_e(", ".join(facts))}.</p>')
    rows = []
    for name, result in decodings:
        bleu, unknown = result.get("bleu"), _as_float(result.get("unknown_rate"))
        rows.append([_e(name), f'<span class="num">{_fmt_bleu(bleu)}</span>',
                     _e(_fmt(_as_float(result.get("sentences_per_s")))),
                     f"{100 * unknown:.1f}%" if math.isfinite(unknown) else "—", _e(_fmt(result.get("truncated")))])
    body.append(_table(["decoding", "BLEU", "sentences / s", "unknown source words", "sources cut"], rows, "numbers"))
    signatures = list(dict.fromkeys(str(r["signature"]) for _, r in decodings if r.get("signature")))
    if signatures:
        body.append(f'<p class="aside small">sacreBLEU signature: '
                    + " · ".join(f"<code>{_e(s)}</code>" for s in signatures) + "</p>")
    by_length = {name: result["by_length"] for name, result in decodings if isinstance(result.get("by_length"), list)}
    if any(by_length.values()):
        from . import figures as F

        body.append(_img(F.bleu_by_length(by_length), "BLEU by source sentence length"))
    body.append(_translation_samples(decodings))
    body.append(_attention_maps(translation))
    notes = _list(translation, "notes", "translation.json")
    if notes:
        items = "".join(f"<li>{_e(note)}</li>" for note in notes)
        body.append(f'<details><summary>About the data</summary><ul class="notes">{items}</ul></details>')
    return _section("translation", "Translation", how, "".join(body))


def _translation_samples(decodings: list[tuple[str, dict]]) -> str:
    """The first test sentences: source, reference and each decoding's translation."""
    columns = [(name, {str(s.get("source")): s.get("translation") for s in _list(result, "samples", "translation.json")
                       if isinstance(s, dict)}) for name, result in decodings]
    first = next((_list(result, "samples", "translation.json") for _, result in decodings if result.get("samples")), [])
    rows = []
    for sample in first[:10]:
        if not isinstance(sample, dict):
            continue
        source = str(sample.get("source"))
        rows.append([_e(source), _e(sample.get("reference", "—"))]
                    + [_e(translations.get(source, "—")) for _, translations in columns])
    if not rows:
        return ""
    header = ["source", "reference"] + [f"translation ({_e(name)})" for name, _ in columns]
    return "<h3>Sample translations</h3>" + f'<div class="scroll">{_table(header, rows, "samples")}</div>'


def _attention_maps(translation: dict) -> str:
    """Up to four attention heatmaps, or a note when the model has no attention."""
    items = _list(translation, "attention", "translation.json")
    drawn = [item for item in items if isinstance(item, dict) and item.get("weights") is not None][:4]
    if not drawn:
        return "<h3>Attention</h3>" + _note(
            "No attention maps: this model has no attention (a plain encoder-decoder squeezes the whole source "
            "sentence into one vector), or none were saved.")
    from ..text.translation import attention_heatmap

    cells = []
    for item in drawn:
        source, output = str(item.get("source", "")), str(item.get("translation", ""))
        try:
            png = attention_heatmap([figures.plain_text(t) for t in item["source_tokens"]],
                                    [figures.plain_text(t) for t in item["target_tokens"]], item["weights"])
        except Exception as error:  # one damaged example costs only its own map
            cells.append(_note(f"The attention of \u201c{_e(source)}\u201d could not be drawn "
                               f"({_e(type(error).__name__)}: {_e(error)}).", "warn"))
            continue
        cells.append(f'<figure class="attention">{_img(png, f"attention weights while translating {source!r}")}'
                     f"<figcaption>{_e(source)} → {_e(output)}</figcaption></figure>")
    return "<h3>Attention</h3>" + f'<div class="maps">{"".join(cells)}</div>'


def _analogy_kind(section: str) -> str:
    """The Google analogy set's syntactic sections are named gram1-... to gram9-...; the rest are semantic."""
    name = section.lower()
    return "syntactic" if name.startswith("gram") or "syntactic" in name else "semantic"


def _analogy_row(name: str, entry: dict) -> list[str]:
    accuracy = _as_float(entry.get("accuracy"))
    if not math.isfinite(accuracy):
        correct, covered = _as_float(entry.get("correct")), _as_float(entry.get("covered"))
        accuracy = correct / covered if covered > 0 else math.nan
    cell = (f'<span class="meter" style="--w:{100 * accuracy:.1f}%">{_e(_fmt(accuracy, "accuracy"))}</span>'
            if 0 <= accuracy <= 1 else "—")
    return [name, cell] + [_e(_fmt(entry.get(key))) for key in ("correct", "covered", "total")]


def _analogies(analogies: dict) -> str:
    overall = _as_float(analogies.get("accuracy"))
    text = "Analogy accuracy " + (_fmt(overall, "accuracy") if math.isfinite(overall) else "unknown")
    if analogies.get("covered") is not None and analogies.get("total") is not None:
        text += (f" on the {_fmt(analogies['covered'])} of {_fmt(analogies['total'])} questions whose words are all "
                 f"in the vocabulary")
        coverage = _as_float(analogies.get("coverage"))
        if math.isfinite(coverage):
            text += f" (coverage {coverage:.0%})"
    body = [f'<p class="lead">{_e(text + ".")}</p>']
    sections = _object(analogies, "by_section", "embeddings.json") or {}
    rows, row_classes = [], []
    totals = {kind: {"correct": 0, "covered": 0, "total": 0} for kind in ("semantic", "syntactic")}
    for kind in ("semantic", "syntactic"):
        for name, entry in sections.items():
            if _analogy_kind(str(name)) != kind or not isinstance(entry, dict):
                continue
            rows.append(_analogy_row(_e(name), entry))
            row_classes.append("")
            for key in totals[kind]:
                value = entry.get(key)
                totals[kind][key] += value if isinstance(value, int) and not isinstance(value, bool) else 0
    for kind, total in totals.items():
        if total["total"]:
            rows.append(_analogy_row(f"all {kind}", {**total, "accuracy": None}))
            row_classes.append("highlight")
    if rows:
        footer = _analogy_row("all", analogies)
        table = _table(["section", "accuracy", "correct", "covered", "total"], rows, "numbers", row_classes, footer)
        body.append(f'<div class="scroll tall">{table}</div>')
    examples = [e for e in _list(analogies, "examples", "embeddings.json") if isinstance(e, dict)][:20]
    if examples:
        example_rows = []
        for example in examples:
            question = example.get("question")
            a, b, c = (question + ["?"] * 3)[:3] if isinstance(question, list) else ("?", "?", "?")
            right = example.get("correct") is True
            answer = f'<span class="{"ok-text" if right else "bad-text"}">{_e(example.get("predicted", "—"))}</span>'
            example_rows.append([f"{_e(a)} : {_e(b)} :: {_e(c)} : ?", _e(example.get("expected", "—")), answer])
        body.append("<details><summary>Examples of analogy questions (a is to b as c is to ?)</summary>"
                    + _table(["question", "expected", "the vectors' answer"], example_rows) + "</details>")
    return "<h3>Analogies</h3>" + "".join(body)


def _embeddings_section(run: RunFiles) -> str:
    how = ("Word vectors place words that appear in similar contexts close together; they are judged without "
           "labels. An analogy (\u201cman is to king as woman is to ?\u201d) is answered by the word nearest to "
           "king \u2212 man + woman: right answers mean that directions in the space carry meaning, semantic "
           "(capitals, currencies, family) or syntactic (plurals, tenses, comparatives). Accuracy counts only the "
           "questions whose words are all in the vocabulary, so read it next to the coverage. Similarity compares "
           "the cosine of word pairs with how similar people rated them (Spearman rank correlation: 1 is the same "
           "order). The neighbours and the map show what the model puts together; on the map, only the groups "
           "and their neighbours mean something, not the axes.")
    emb = run.embeddings
    method, corpus = emb.get("method"), emb.get("corpus")
    text = f"{method or 'Word'} vectors" + (f" trained on {corpus}" if corpus else "")
    facts = [f"{_fmt(emb[key])} {label}" for key, label in (("vocab_size", "words in the vocabulary"),
                                                          ("tokens", "tokens of text")) if emb.get(key) is not None]
    if emb.get("train_s") is not None:
        facts.append(f"trained in {_fmt_seconds(emb['train_s'])}")
    rate = _as_float(emb.get("words_per_s"))
    if math.isfinite(rate):
        facts.append(f"{rate:,.0f} words/s")
    body = [f'<p class="lead">{_e(text + (": " + ", ".join(facts) if facts else "") + ".")}</p>']
    settings = _object(emb, "settings", "embeddings.json") or {}
    history = [r for r in _list(emb, "history", "embeddings.json") if isinstance(r, dict)]
    halves = []
    if settings:
        rows = [[_e(key), f'<span class="mono">{_e(_fmt(value))}</span>'] for key, value in settings.items()]
        halves.append(f'<div><h3>Settings</h3>{_table(["", ""], rows, "kv")}</div>')
    if history:
        rows = []
        for i, record in enumerate(history):
            speed = _as_float(record.get("words_per_s"))
            rows.append([_e(_fmt(record.get("epoch", i + 1))), _e(_fmt(_as_float(record.get("loss")))),
                         _e(_fmt_seconds(record.get("seconds"))), f"{speed:,.0f}" if math.isfinite(speed) else "—"])
        halves.append(f'<div><h3>Training</h3><div class="scroll tall">'
                      f'{_table(["epoch", "loss", "time", "words / s"], rows, "numbers")}</div></div>')
    if halves:
        body.append(f'<div class="two">{"".join(halves)}</div>')
    analogies = _object(emb, "analogies", "embeddings.json")
    if analogies:
        body.append(_analogies(analogies))
    similarity = _object(emb, "similarity", "embeddings.json")
    if similarity:
        rho = _as_float(similarity.get("spearman"))
        text = "Word similarity: Spearman correlation " + (f"{rho:.3f}" if math.isfinite(rho) else "unknown")
        if similarity.get("covered") is not None and similarity.get("total") is not None:
            text += f" on {_fmt(similarity['covered'])} of {_fmt(similarity['total'])} rated word pairs"
        body.append(f'<h3>Similarity</h3><p class="lead">{_e(text + ".")}</p>')
    neighbours = _object(emb, "neighbours", "embeddings.json") or {}
    if neighbours:
        rows = []
        for word, near in neighbours.items():
            pairs = [p for p in near if isinstance(p, (list, tuple)) and len(p) == 2] if isinstance(near, list) else []
            cells = " · ".join(f'{_e(w)} <span class="sub">{_e(f"{_as_float(c):.2f}")}</span>' for w, c in pairs[:10])
            rows.append([f"<b>{_e(word)}</b>", cells or "—"])
        body.append("<h3>Nearest neighbours</h3>" + _table(["word", "nearest words (cosine similarity)"], rows))
    projection = _object(emb, "projection", "embeddings.json")
    if projection:
        png = figures.embedding_projection(_list(projection, "words", "embeddings.json"),
                                           _list(projection, "xy", "embeddings.json"),
                                           projection.get("groups"), str(projection.get("method") or "pca"))
        body.append("<h3>Map</h3>" + _img(png, "two-dimensional map of word vectors, coloured by group"))
        tsne = str(projection.get("method", "")).lower().replace("-", "") == "tsne"
        body.append('<p class="aside">' + (
            "t-SNE keeps near neighbours near but bends large distances: read the clusters, not the gaps between them."
            if tsne else "PCA keeps the two directions along which the vectors spread most: distances are honest "
            "but much of the structure lives in the other dimensions.") + "</p>")
    return _section("embeddings", "Word embeddings", how, "".join(body))


def _has_text_attention(run: RunFiles) -> bool:
    return isinstance(run.text_samples, dict) and bool(run.text_samples.get("attention"))


_ATTENTION_RGB = "245, 158, 11"  # amber: black text stays readable on it at full strength
_MAX_ATTENTION_TOKENS = 600


def _text_attention_section(run: RunFiles) -> str:
    how = ("Where the classifier's attention went while it read a few test reviews. The darker a word's "
           "background, the more weight the model gave it (the darkest word had the most; hover over a word to "
           "see its weight); the weights add up to 1 over the review. Attention shows what the model looked "
           "at, not why it decided: weight on \u201cnot\u201d and \u201cbad\u201d together is a good sign, weight on "
           "punctuation, names or the padding suggests a shortcut.")
    items = run.text_samples["attention"]
    if not isinstance(items, list):
        raise ValueError(f"text_samples.json's attention is a {type(items).__name__}, not a list")
    cards = []
    for number, item in enumerate(items[:4], 1):
        tokens = item.get("tokens") if isinstance(item, dict) else None
        weights = item.get("weights") if isinstance(item, dict) else None
        if not isinstance(tokens, list) or not isinstance(weights, list) or not tokens or len(tokens) != len(weights):
            raise ValueError(f"text_samples.json's attention item {number} needs lists tokens and weights of the "
                             f"same, non-zero, length")
        values = [_as_float(w) for w in weights]
        top = max(_finite(values), default=0.0)
        spans = []
        for token, weight in zip(tokens[:_MAX_ATTENTION_TOKENS], values):
            strength = weight / top if top > 0 and math.isfinite(weight) and weight > 0 else 0.0
            spans.append(f'<span style="background: rgba({_ATTENTION_RGB}, {strength:.3f})" '
                         f'title="weight {_e(_fmt(weight))}">{_e(token)}</span>')
        if len(tokens) > _MAX_ATTENTION_TOKENS:
            spans.append(f'<span class="sub">… {len(tokens) - _MAX_ATTENTION_TOKENS:,} more words</span>')
        right = str(item.get("predicted")) == str(item.get("label"))
        heaviest = tokens[values.index(top)] if top > 0 else None
        meta = (f'<span class="{"ok-text" if right else "bad-text"}">predicted {_e(item.get("predicted"))}</span> '
                f'({_e(_fmt(_as_float(item.get("confidence")), "accuracy"))} sure) · true '
                f'<span class="ok-text">{_e(item.get("label"))}</span> · {len(tokens):,} words'
                + (f' · most weight on <b>{_e(heaviest)}</b> ({_e(_fmt(top))})' if heaviest is not None else ""))
        cards.append(f'<div class="textcard"><p class="meta">{meta}</p>'
                     f'<p class="review attention">{" ".join(spans)}</p></div>')
    legend = ('<p class="legend">Background: <span class="swatch" style="background: rgba('
              f'{_ATTENTION_RGB}, 0.15)">little weight</span> <span class="swatch" style="background: '
              f'rgba({_ATTENTION_RGB}, 1)">the most weight in the review</span></p>')
    return _section("text-attention", "Attention over the words", how, legend + "".join(cards))


def _safe(render, run: RunFiles, anchor: str, title: str) -> str:
    """Render one section; if its data is malformed, say so instead of losing the whole page."""
    try:
        return render(run)
    except Exception as error:
        return _section(anchor, _e(title), "",
                        _note(f"This section could not be drawn from the run's files "
                              f"({_e(type(error).__name__)}: {_e(error)}).", "warn"))


def _applies(applies, run: RunFiles) -> bool:
    """Whether a section has data to show; when deciding fails, show it (it will say why)."""
    try:
        return bool(applies(run))
    except Exception:
        return True


def _one_model(run: RunFiles) -> bool:
    """A run that trained one model (not a cross-validation, ensemble or overfitting lab)."""
    return _kind(run) not in KIND_FILES


def _has_test(run: RunFiles) -> bool:
    test = run.summary.get("test")
    return _one_model(run) or (isinstance(test, dict) and bool(test))


def _has_matrix(run: RunFiles) -> bool:
    return _is_classification(run) and (_one_model(run) or bool(_evaluation(run).get("confusion_matrix")))


def _has_per_class(run: RunFiles) -> bool:
    return _is_classification(run) and (_one_model(run) or bool(_evaluation(run).get("per_class")))


def _has_samples(run: RunFiles) -> bool:
    # a text run shows its examples as text (text_samples.json), never as images
    return _is_classification(run) and run.text_samples is None and (_one_model(run) or run.samples is not None)


def _has_model(run: RunFiles) -> bool:
    return _one_model(run) or isinstance(run.summary.get("model"), dict)


# (anchor, title in the table of contents, renderer, whether the run has its data), in page
# order. The sections of one trained model always appear for such a run (saying what is
# missing, which is news there); every other section appears only when its data exist.
_SECTIONS = (
    ("curves", "Training curves", _curves_section, lambda run: _one_model(run) or run.history),
    ("learning-rate", "Learning rate", _learning_rate_section, _shows_learning_rate),
    ("gradients", "Gradient norms", _gradient_section, _has_gradients),
    ("test", "Test results", _test_section, _has_test),
    ("predicted", "Predicted vs true", _regression_section, _has_regression_pairs),
    ("cross-validation", "Cross-validation", _cv_section, lambda run: run.cv is not None),
    ("ensemble", "Ensemble", _ensemble_section, lambda run: run.ensemble is not None),
    ("overfitting-lab", "Overfitting lab", _lab_section, lambda run: run.lab is not None),
    ("forecast", "Forecast", _forecast_section, lambda run: run.forecast is not None),
    ("gradient-demo", "Exploding gradients", _gradient_demo_section, lambda run: run.gradient_demo is not None),
    ("translation", "Translation", _translation_section, lambda run: run.translation is not None),
    ("embeddings", "Word embeddings", _embeddings_section, lambda run: run.embeddings is not None),
    ("confusion", "Confusion matrix", _confusion_section, _has_matrix),
    ("per-class", "Per-class results", _per_class_section, _has_per_class),
    ("roc-pr", "ROC and precision–recall", _roc_pr_section, _has_curves),
    ("calibration", "Calibration", _calibration_section, _has_calibration),
    ("threshold", "Decision threshold", _threshold_section, lambda run: _threshold(run) is not None),
    ("predictions", "Predictions", _predictions_section, _has_samples),
    ("wrong", "Mistakes", _wrong_section, _has_samples),
    ("text-mistakes", "Mistakes", _text_mistakes_section, lambda run: run.text_samples is not None),
    ("text-attention", "Attention", _text_attention_section, _has_text_attention),
    ("model", "Model", _model_section, _has_model),
    ("config", "Configuration", _config_section, lambda run: True),
    ("run", "Timings and environment", _run_section, lambda run: True),
)


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
    sections = [(anchor, title, render) for anchor, title, render, applies in _SECTIONS
                if _applies(applies, run)]
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
tr.highlight td {{ background: #eef2ff; font-weight: 600; }}
.narrower {{ color: {figures.BETTER_COLOR}; font-weight: 600; }}
.wider {{ color: var(--bad); font-weight: 600; }}
.lead {{ font-size: 15px; margin: 10px 0 8px; font-weight: 600; }}
table.matrix td:not(:first-child), table.matrix th:not(:first-child) {{ text-align: right; }}
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
.textcard {{ border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; margin: 0 0 10px; }}
.textcard .meta {{ margin: 0 0 6px; font-size: 13px; color: var(--muted); }}
.textcard .review {{ margin: 0; font-size: 14px; white-space: pre-wrap; }}
.review.attention {{ line-height: 1.9; }}
.review.attention span, .swatch {{ border-radius: 3px; padding: 1px 1px; }}
.swatch {{ padding: 1px 6px; }}
.aside.small {{ font-size: 12px; }}
ul.notes {{ margin: 2px 0 8px; padding-left: 20px; font-size: 13px; color: var(--muted); }}
.maps {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px 20px; }}
figure.attention {{ margin: 0; }}
figure.attention figcaption {{ font-size: 13px; color: var(--muted); text-align: center; }}
table.samples td {{ font-size: 13px; }}
ul.mistakes {{ margin: 2px 0 0; padding-left: 20px; font-size: 14px; }}
.two {{ display: grid; grid-template-columns: 1fr 1fr; gap: 28px; }}
@media (max-width: 720px) {{ .two {{ grid-template-columns: 1fr; }} .card {{ padding: 16px; }} }}
footer {{ color: var(--muted); font-size: 13px; text-align: center; margin-top: 24px; }}
@media print {{ html {{ background: white; }} .card {{ box-shadow: none; break-inside: avoid; }}
  nav.toc {{ display: none; }} }}
"""
