"""The illustrated run report: one self-contained HTML page per training run.

`build_report(run_dir)` turns the files a training run leaves behind (config.yaml,
metrics.jsonl, summary.json, evaluation.json, samples.safetensors) into
`run_dir/report.html`: curves, test results, confusion matrix, per-class table,
walkthrough-style prediction grids, model summary, config, timings and environment.
matplotlib is imported only when a report is built, so importing this package is cheap.

Example:
    >>> from tujie.report import build_report
    >>> build_report("runs/mnist-mlp/2024-05-01_1403")   # doctest: +SKIP
    PosixPath('runs/mnist-mlp/2024-05-01_1403/report.html')
"""

from .html import REPORT_NAME, RunDirectoryError, build_report

__all__ = ["build_report", "RunDirectoryError", "REPORT_NAME"]
