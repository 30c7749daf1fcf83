"""Reading a run directory for its report: each reader records a note instead of raising."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TujieError
from .spec import KindReport

REPORT_NAME = "report.html"
# The files every kind of run may leave; a kind names its own result files besides these
# (`KindReport.files`), and each of those JSON objects is read into `RunFiles.extra`.
SHARED_FILES = ("config.yaml", "metrics.jsonl", "summary.json", "evaluation.json", "samples.safetensors",
                "schedule.json", "grad_stats.jsonl", "text_samples.json", "explain.json")
_MAX_GRAD_RECORDS = 5_000  # grad_stats.jsonl lines kept (evenly spread) for the per-layer plot
_MAX_CONFIG_CHARS = 100_000  # a config that large is a mistake; keep the page light anyway


class RunDirectoryError(TujieError, FileNotFoundError):
    """The folder given to `build_report` is missing or is not a run directory."""


@dataclass
class RunFiles:
    """What was read from a run directory; None means the file is missing or unreadable."""

    folder: Path
    kind: KindReport = field(default_factory=KindReport)
    config_text: str | None = None
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    evaluation: dict | None = None
    samples: dict | None = None
    schedule: dict | None = None
    grad_stats: list[dict] = field(default_factory=list)
    text_samples: dict | None = None
    extra: dict = field(default_factory=dict)  # a kind's result files by stem: {"cv": {...}}
    found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __getattr__(self, name: str):
        """`run.translation` is `run.extra.get("translation")`: a kind's result file, or None."""
        if name.startswith("__") or name == "extra":
            raise AttributeError(name)
        return self.__dict__.get("extra", {}).get(name)


def _load_run(folder: Path, kind: KindReport | None = None) -> RunFiles:
    run = RunFiles(folder=folder, kind=kind or KindReport())
    names = SHARED_FILES + tuple(f for f in run.kind.files if f not in SHARED_FILES)
    run.found = [name for name in names if (folder / name).is_file()]
    readers = {"config.yaml": _read_config, "metrics.jsonl": _read_history, "summary.json": _read_summary,
               "evaluation.json": _read_evaluation, "samples.safetensors": _read_samples,
               "schedule.json": _read_schedule, "grad_stats.jsonl": _read_grad_stats,
               "text_samples.json": _read_text_samples}
    for name in run.found:
        try:
            readers.get(name, _read_extra)(run, folder / name)
        except Exception as error:  # a damaged file must not cost the user the whole report
            run.problems.append(f"{name} could not be read ({type(error).__name__}: {error}).")
    return run


def _one_model(run: RunFiles) -> bool:
    """A run that trained one model (not a cross-validation, ensemble, overfitting lab or word vectors)."""
    return run.kind.result_file is None


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


def _read_text_samples(run: RunFiles, path: Path) -> None:
    run.text_samples = _read_json_object(path)


def _read_extra(run: RunFiles, path: Path) -> None:
    run.extra[path.stem] = _read_json_object(path)


def _read_samples(run: RunFiles, path: Path) -> None:
    try:
        from safetensors.numpy import load_file
        run.samples = load_file(str(path))
    except TypeError:  # e.g. bfloat16 tensors, which numpy cannot hold: go through torch
        from safetensors.torch import load_file as load_torch
        run.samples = {k: v.float().numpy() if v.is_floating_point() else v.numpy()
                       for k, v in load_torch(str(path)).items()}
