"""The illustrated run report: one self-contained HTML page per run, in English or Chinese.

    page        the engine: `render_report(run_dir, kind, sections)`, layout, navigation
    css         the style sheet (inline in every page)
    run_files   reading a run directory (`RunFiles`, `KindReport`), a note for every damaged file
    format      numbers, tables, notes and cards as HTML
    sections/   the sections every kind shares, one file per topic

A kind of run (`tujie.kinds`) brings its own sections and result files in a `KindReport`;
`tujie.build_report(run_dir)` finds the run's kind and calls the engine with them.
matplotlib is imported only when a report is built, so importing this package is cheap.

Example:
    >>> import tujie as tj
    >>> tj.build_report("runs/mnist-mlp-20261123-101500", lang="zh")   # doctest: +SKIP
    PosixPath('runs/mnist-mlp-20261123-101500/report.html')
"""

from .page import render_page, render_report
from .run_files import REPORT_NAME, SHARED_FILES, RunDirectoryError, RunFiles
from .spec import KindReport, Section

__all__ = ["render_report", "render_page", "Section", "KindReport", "RunFiles", "RunDirectoryError", "REPORT_NAME",
           "SHARED_FILES"]
