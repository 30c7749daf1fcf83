"""Seams through which a lower floor calls an upper one without importing it.

`build_report(run_dir, lang=None) -> Path` builds a run directory's `report.html`. The toolkit's
`RunDirectory` callback (`train/run_directory.py`) calls it when `fit` ends; the package root
(`tujie/__init__.py`, above every floor) fills it when `import tujie` runs, with a function that
loads `tujie.kinds` on first call. The ground names no floor above it, and `import tujie` stays free.
"""

from __future__ import annotations

build_report = None  # filled by tujie/__init__.py
