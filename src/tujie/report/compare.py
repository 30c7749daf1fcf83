"""One self-contained HTML page comparing several runs: curves overlaid, test metrics side by side,
only the config keys that differ, and the timings.

It reads only the files each run wrote (`RunFiles`, as the single-run report does), so any old
runs can be compared; like the report, the page embeds its figures and loads nothing.
"""

from __future__ import annotations

import csv
import glob
import json
import math
import os
from pathlib import Path

from .._io import check_output_file, write_text
from ..errors import ConfigError
from ..i18n import _, current_language, language
from .css import CSS
from .format import _as_float, _e, _fmt, _fmt_seconds, _img, _lower_is_better, _note, _section, _table, key_label
from .run_files import RunDirectoryError, RunFiles, _load_run

COMPARE_NAME = "compare.html"
_MARKERS = ("summary.json", "config.yaml", "metrics.jsonl", "history.csv")
# They name the run rather than set it up, so they differ between any two runs and say nothing.
_IDENTITY_KEYS = {"run_name", "output_dir"}
_TIMINGS = ("total_s", "train_s", "samples_per_s")
# Marks the best cell beside the shared style sheet (kept here: only this page has it).
_CSS = "td.best { background: #ecfdf5; font-weight: 650; } td.best::after { content: ' ★'; color: #15803d; }"


def compare_runs(run_dirs, output=None, lang: str | None = None) -> Path:
    """Write one HTML page comparing two or more run directories.

    Args:
        run_dirs: the runs' folders; a quoted glob ("runs/digits-mlp-*") is expanded here.
        output: the page's path; None: compare.html in the current folder.
        lang: "en" or "zh"; None: the current language (`tujie.i18n`).

    Returns:
        The path of the written page (written atomically).

    Raises:
        RunDirectoryError: a path is not a run directory.
        ConfigError: fewer than two runs, or `output` is a folder or cannot be written.

    Example:
        >>> import json, tempfile
        >>> runs = [Path(tempfile.mkdtemp()) for _ in range(2)]
        >>> for i, run in enumerate(runs):
        ...     _ = (run / "summary.json").write_text(json.dumps({"test": {"accuracy": 0.9 + i / 100}}))
        >>> compare_runs(runs, output=runs[0] / "compare.html").name
        'compare.html'
    """
    folders = _expand(run_dirs)
    if len(folders) < 2:
        raise ConfigError(f"Comparing runs needs at least two run directories; received {len(folders)}.",
                          expected="two or more run directories, e.g. runs/digits-mlp-*",
                          received=f"run_dirs={[str(f) for f in folders]}",
                          fix="Pass two or more run folders (a glob such as 'runs/digits-mlp-*' is expanded).")
    for folder in folders:
        _check_run(folder)
    target = Path(output) if output is not None else Path.cwd() / COMPARE_NAME
    check_output_file(target, COMPARE_NAME)
    runs = [_load(folder) for folder in folders]
    with language(lang):
        page = render_comparison(runs)
    return write_text(target, page)


def _expand(run_dirs) -> list[Path]:
    """The folders, each quoted glob expanded (sorted) when the shell did not do it."""
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    out: list[Path] = []
    for item in run_dirs:
        text = str(item)
        matches = sorted(glob.glob(text)) if any(c in text for c in "*?[") and not Path(text).exists() else []
        out += [Path(m) for m in matches] or [Path(text)]
    return list(dict.fromkeys(out))  # a run named twice is one run


def _check_run(folder: Path) -> None:
    if not folder.is_dir() or not any((folder / name).is_file() for name in _MARKERS):
        why = "does not exist" if not folder.exists() else "is not a folder" if not folder.is_dir() else "is not a run directory"
        raise RunDirectoryError(
            f"'{folder}' {why}.",
            expected=f"a run directory written by `tujie run`, holding {', '.join(_MARKERS)}",
            received=f"run_dir={str(folder)!r}",
            fix="Pass the folders of finished runs (look under runs/), not a file inside one.")


def _load(folder: Path) -> RunFiles:
    run = _load_run(folder)
    if not run.history and (folder / "history.csv").is_file():  # a run that kept only the CSV log
        try:
            with open(folder / "history.csv", encoding="utf-8", newline="") as f:
                run.history = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]
        except (OSError, csv.Error) as error:
            run.problems.append(f"history.csv could not be read ({error}).")
    return run


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def _names(runs: list[RunFiles]) -> list[str]:
    """Each run's name (summary.json's run_name, else its folder's), the folder's when two share one."""
    names = [str(r.summary.get("run_name") or r.folder.name) for r in runs]
    if len(set(names)) < len(names):
        names = [str(r.folder) for r in runs]
    return names


def _flatten(data, prefix: str = "") -> dict:
    """{"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}; lists stay values."""
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    out = {}
    for key, value in data.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _config(run: RunFiles) -> dict:
    import yaml

    try:
        return _flatten(yaml.safe_load(run.config_text or "") or {})
    except yaml.YAMLError:
        return {}


def config_differences(configs: list[dict]) -> dict[str, list]:
    """The keys whose values are not the same in every flattened config (a missing key counts as different).

    Example:
        >>> config_differences([{"seed": 1, "lr": 0.1}, {"seed": 2, "lr": 0.1}])
        {'seed': [1, 2]}
    """
    keys = [k for k in dict.fromkeys(k for c in configs for k in c) if k not in _IDENTITY_KEYS]
    missing = object()
    out = {}
    for key in keys:
        values = [c.get(key, missing) for c in configs]
        if len({json.dumps(v, sort_keys=True, default=str) if v is not missing else "\0" for v in values}) > 1:
            out[key] = [None if v is missing else v for v in values]
    return out


def _best_index(values: list, name: str) -> int | None:
    finite = [(i, _as_float(v)) for i, v in enumerate(values) if math.isfinite(_as_float(v))]
    if len(finite) < 2:
        return None
    pick = min if _lower_is_better(name) else max
    return pick(finite, key=lambda pair: pair[1])[0]


def _curves(runs, names) -> str:
    from ..plots.comparison import runs_curves

    png = runs_curves({name: run.history for name, run in zip(names, runs)})
    body = _img(png, _("Learning curves of the runs")) if png else _note(_("None of the runs logged a loss or accuracy per epoch."))
    return _section("curves", _("Learning curves"),
                    _("One colour per run; training solid, validation dashed. Curves that part early show runs "
                      "that learn at different speeds; a lower dashed loss at the end is the better model."), body)


def _metrics(runs, names) -> str:
    tests = [r.summary.get("test") if isinstance(r.summary.get("test"), dict) else {} for r in runs]
    columns = [k for k in dict.fromkeys(k for t in tests for k in t) if all(
        isinstance(t.get(k), (int, float, type(None))) and not isinstance(t.get(k), bool) for t in tests)]
    if not columns:
        return _section("metrics", _("Test results"), "", _note(_("None of the runs has test results (summary.json \"test\").")))
    best = {c: _best_index([t.get(c) for t in tests], c) for c in columns}
    rows = []
    for i, (name, test) in enumerate(zip(names, tests)):
        cells = [f'<span class="data">{_e(name)}</span>']
        for c in columns:
            mark = ' class="best"' if best[c] == i else ""
            cells.append(f"<span{mark}>{_e(_fmt(test.get(c), c))}</span>")
        rows.append(cells)
    table = _table([_("run"), *(key_label(c) for c in columns)], rows, "compare-metrics")
    # _table writes plain <td>; move the mark onto the cell so the whole cell is highlighted
    table = table.replace('<td><span class="best">', '<td class="best"><span>')
    return _section("metrics", _("Test results"),
                    _("Each run's scores on the test set; ★ marks the best of each column (lower is better for "
                      "loss and errors, higher for accuracy, F1 and AUC)."), table)


def _differences(runs, names) -> str:
    diff = config_differences([_config(r) for r in runs])
    if not diff:
        body = _note(_("The runs' configs are the same (apart from their names)."))
    else:
        rows = [[f'<code>{_e(key)}</code>', *(f'<span class="mono">{_e(_fmt(v))}</span>' for v in values)]
                for key, values in diff.items()]
        body = _table([_("setting"), *(f'<span class="data">{_e(n)}</span>' for n in names)], rows)
    return _section("config", _("Config differences"),
                    _("Only the config keys whose values differ between the runs (config.yaml, flattened)."), body)


def _timings(runs, names) -> str:
    timings = [r.summary.get("timings") if isinstance(r.summary.get("timings"), dict) else {} for r in runs]
    labels = {"total_s": _("whole run"), "train_s": _("training"), "samples_per_s": _("samples/s")}
    rows = []
    for name, t in zip(names, timings):
        epochs = t.get("epoch_s") if isinstance(t.get("epoch_s"), list) else []
        per_epoch = sum(map(_as_float, epochs)) / len(epochs) if epochs else None
        rows.append([f'<span class="data">{_e(name)}</span>', _e(_fmt_seconds(t.get("total_s"))),
                     _e(_fmt_seconds(t.get("train_s"))), _e(_fmt_seconds(per_epoch)),
                     _e(_fmt(round(t["samples_per_s"]) if isinstance(t.get("samples_per_s"), (int, float)) else None))])
    header = [_("run"), labels["total_s"], labels["train_s"], _("per epoch"), labels["samples_per_s"]]
    return _section("timings", _("Timings"), _("Wall-clock time of each run (summary.json \"timings\")."),
                    _table(header, rows))


def render_comparison(runs: list[RunFiles]) -> str:
    """The comparison page as one HTML string (see `compare_runs`, which checks, reads and writes).

    Example:
        >>> page = render_comparison([RunFiles(folder=Path("a")), RunFiles(folder=Path("b"))])
        >>> page.startswith("<!DOCTYPE html>")
        True
    """
    names = _names(runs)
    parts = [_curves(runs, names), _metrics(runs, names), _differences(runs, names), _timings(runs, names)]
    nav = "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t in (
        ("curves", _("Learning curves")), ("metrics", _("Test results")), ("config", _("Config differences")),
        ("timings", _("Timings"))))
    title = _("Comparing {count} runs").format(count=len(runs))  # outside the f-strings: babel reads no f-string
    listed = ", ".join(f'<span class="data">{_e(n)}</span>' for n in names)
    header = (f'<header><h1>{_e(title)}</h1>'
              f'<p class="lead">{listed}</p></header><nav class="toc">{nav}</nav>')
    problems = [f"{_e(r.folder.name)}: {_e(p)}" for r in runs for p in r.problems]
    notes = _note("<br>".join(problems), "warn") if problems else ""
    return (
        f"<!DOCTYPE html>\n<html lang=\"{'zh-CN' if current_language() == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">"
        # No network, no scripts: the browser itself enforces that the page is self-contained.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}{_CSS}</style></head>"
        f'<body><main>{header}{notes}{"".join(parts)}</main></body></html>\n'
    )
