"""The page engine: one self-contained HTML page from a run directory and a list of sections.

`render_report(run_dir, kind)` reads only the files a run wrote into `run_dir` and writes
`run_dir/report.html`. The page opens offline and can be mailed as one file: every figure
is an embedded base64 PNG, the CSS is inline, there is no JavaScript, and a
Content-Security-Policy forbids the browser from loading anything else.

What goes on the page is a list of `Section`s: the shared ones (`report.sections.SHARED`:
curves, test results, confusion, ..., model, config, timings) and the kind's own
(`KindReport.sections`), ordered by `Section.order`. Each section declares when it applies;
one whose data are malformed is replaced by a note instead of costing the whole page.
The kinds (`tujie.kinds`) hand their `KindReport` in: this engine knows no kind by name.
"""

from __future__ import annotations

from pathlib import Path

from .._io import write_text
from ..i18n import _, current_language, language
from .css import CSS
from .format import _data, _e, _note, _section
from .run_files import REPORT_NAME, KindReport, RunDirectoryError, RunFiles, _load_run


def render_report(run_dir, kind: KindReport | None = None, sections=None, *, markers=(), lang: str | None = None) -> Path:
    """Build the illustrated report of a run and write it to `run_dir/report.html`.

    Most callers want `tujie.build_report(run_dir)`, which finds the run's kind and its sections.

    Args:
        run_dir: the run's folder, holding config.yaml and/or metrics.jsonl (or its kind's result
            file), and optionally the other files the sections read.
        kind: what the page needs to know of the run's kind (`KindReport`); None: one trained model.
        sections: the `Section`s to draw; None: the shared ones and the kind's own.
        markers: more file names that make a folder a run directory (the kinds' result files).
        lang: "en" or "zh"; None: the current language (`tujie.i18n`).

    Returns:
        The path of the written report (written atomically: never half a file).

    Raises:
        RunDirectoryError (a TujieError): `run_dir` does not exist, is not a folder, or holds
            none of config.yaml, metrics.jsonl and the markers.

    Example:
        >>> import json, tempfile
        >>> run = Path(tempfile.mkdtemp())          # a run that has logged one epoch so far
        >>> _ = (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 0.3, "val_loss": 0.2}))
        >>> render_report(run).name
        'report.html'
    """
    folder = Path(run_dir)
    kind = kind or KindReport()
    markers = ("config.yaml", "metrics.jsonl", *markers, *((kind.result_file,) if kind.result_file else ()))
    contents = ("config.yaml (the resolved config) and metrics.jsonl (one line per epoch), "
                "plus optionally summary.json, evaluation.json, samples.safetensors, schedule.json, "
                f"grad_stats.jsonl, or a result file of its kind ({', '.join(dict.fromkeys(markers[2:]))})")
    if not folder.is_dir():
        raise RunDirectoryError(
            f"Run directory '{folder}' {'is a file, not a folder' if folder.exists() else 'does not exist'}.",
            expected=f"a folder written by a training run, holding {contents}",
            received=f"run_dir={str(folder)!r}",
            fix="Pass the folder of one run (look under runs/<recipe>/), not a file inside it.")
    if not any((folder / name).is_file() for name in markers):
        present = sorted(p.name for p in folder.iterdir())[:8]
        raise RunDirectoryError(
            f"Folder '{folder}' is not a run directory.",
            expected=f"a run directory holding {contents}",
            received=f"a folder containing {present if present else 'nothing'}",
            fix="Pass the folder of one run (look under runs/<recipe>/); a run that was stopped "
                "before its first epoch has nothing to report.")
    if sections is None:
        from .sections import SHARED

        sections = [*SHARED, *kind.sections]
    run = _load_run(folder, kind)
    with language(lang):
        page = render_page(run, sections)
    return write_text(folder / REPORT_NAME, page)


def _safe(render, run: RunFiles, anchor: str, title: str) -> str:
    """Render one section; if its data is malformed, say so instead of losing the whole page."""
    try:
        return render(run)
    except Exception as error:
        return _section(anchor, _e(title), "",
                        _note(_("This section could not be drawn from the run's files ({error}).").format(
                            error=f"{_e(type(error).__name__)}: {_e(error)}"), "warn"))


def _applies(applies, run: RunFiles) -> bool:
    """Whether a section has data to show; when deciding fails, show it (it will say why)."""
    try:
        return bool(applies(run))
    except Exception:
        return True


def render_page(run: RunFiles, sections=None) -> str:
    """The report as one HTML string (see `render_report`, which reads the files and writes it).

    Args:
        run: what `_load_run` read from a run directory.
        sections: the `Section`s to consider; None: the shared ones and the run's kind's.

    Returns:
        A complete, self-contained HTML document.

    Example:
        >>> page = render_page(RunFiles(folder=Path("runs/demo")))
        >>> page.startswith("<!DOCTYPE html>")
        True
    """
    from .sections import SHARED
    from .sections.header import _header

    if sections is None:
        sections = [*SHARED, *run.kind.sections]
    shown = [s for s in sorted(sections, key=lambda s: s.order) if _applies(s.applies, run)]
    nav = "".join(f'<a href="#{s.anchor}">{_e(_(s.title))}</a>' for s in shown)
    body = [_safe(lambda r: _header(r), run, "top", _("Header"))]
    body.append(f'<nav class="toc">{nav}</nav>')
    body += [_safe(s.render, run, s.anchor, _(s.title)) for s in shown]
    found = ", ".join(run.found) or _("none")
    body.append("<footer>" + _("Made by tujie from the files in {folder} ({found}). Self-contained: it opens offline.").format(
        folder=f"<code>{_e(run.folder.name)}</code>", found=_data(found)) + "</footer>")
    title = " · ".join(str(x) for x in (run.summary.get("recipe"), run.summary.get("run_name")) if x) or _("tujie run report")
    return (
        f"<!DOCTYPE html>\n<html lang=\"{'zh-CN' if current_language() == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">"
        # No network, no scripts: the browser itself enforces that the page is self-contained.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f'<body><main>{"".join(body)}</main></body></html>\n'
    )
