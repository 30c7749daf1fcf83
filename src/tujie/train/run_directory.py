"""A run directory from Python: the files and the report `tujie run` leaves, from `fit(..., run_dir=...)`.

One place for what both sides write: `file_callbacks` (the loggers, then the checkpoint) is
what the `train` kind attaches, and `fit_summary` is its part of summary.json. `RunDirectory`
is the same for a model trained from Python: at the start of `fit` it writes config.yaml (the
set-up as the learner knows it), each epoch metrics.jsonl, history.csv, tensorboard/,
schedule.json and last/best.safetensors, and at the end summary.json and report.html, so
`tujie report RUN_DIR` and `tj.build_report(RUN_DIR, lang="zh")` work on it too. There is no
test phase (the recipe's test split is the runner's): the report shows what `fit` saw.

The report is the top floor's. This module reaches it through `tujie._hooks.build_report`,
which the package root fills; the toolkit imports nothing above it.

Example:
    >>> import tempfile, torch
    >>> import tujie as tj
    >>> x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    >>> learner = tj.Learner(torch.nn.Linear(4, 2), device="cpu")
    >>> run = Path(tempfile.mkdtemp()) / "linear"
    >>> _ = learner.fit(x, y, epochs=2, verbose=0, run_dir=run)
    >>> sorted(p.name for p in run.iterdir())[:4]
    ['best.safetensors', 'config.yaml', 'history.csv', 'last.safetensors']
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from .. import _hooks
from .._io import output_error, remove_leftovers, write_json, write_text
from ..errors import ConfigError
from ..i18n import _
from ..utils import environment
from .callbacks import (Callback, CSVLogger, GradientStats, LearningRateLogger, MetricsLogger, ModelCheckpoint,
                        TensorBoard)
from .summary import fit_timings, model_table


def file_callbacks(run_dir, *, monitor: str, grad_stats_every: int = 0) -> tuple[list[Callback], ModelCheckpoint]:
    """The callbacks that write a run directory's files, and among them the checkpoint.

    The loggers come first and the checkpoint last: an epoch is in every log before
    last.safetensors says it is done, so after a kill at any moment the logs hold the
    checkpoint's epochs or one more, and the resumed run's loggers cut that one away.

    Args:
        run_dir: the run directory (it exists).
        monitor: the metric that picks best.safetensors ("val_loss", "loss", ...).
        grad_stats_every: log per-layer gradient norms every this many steps (0: never).

    Returns:
        `(callbacks, checkpoint)`, the checkpoint being the list's last element.
    """
    run_dir = Path(run_dir)
    checkpoint = ModelCheckpoint(run_dir, monitor=monitor)
    callbacks = [MetricsLogger(run_dir / "metrics.jsonl"), CSVLogger(run_dir / "history.csv"),
                 TensorBoard(run_dir / "tensorboard"), LearningRateLogger(run_dir / "schedule.json")]
    if grad_stats_every:
        callbacks.append(GradientStats(run_dir / "grad_stats.jsonl", every=grad_stats_every))
    return [*callbacks, checkpoint], checkpoint


def fit_summary(learner, checkpoint: ModelCheckpoint, status: str, message: str | None, started: float) -> dict:
    """summary.json's account of one fit: status, epochs, best epoch, timings, environment, the model table.

    `started` is the `time.perf_counter()` reading when the run began.
    """
    return {
        "task": "regression" if learner.kind == "regression" else "classification",
        "status": status, "message": message,
        "epochs_done": learner.epoch, "best_epoch": checkpoint.best_epoch, "monitor": checkpoint.monitor,
        "stopped_early": bool(learner.stop_reason) and not learner.diverged, "stop_reason": learner.stop_reason,
        "restored_epoch": learner.restored_epoch,
        "timings": fit_timings(learner),
        "environment": {**environment(), "device": str(learner.device)},
        "model": model_table(learner),
        "started": dt.datetime.fromtimestamp(time.time() - (time.perf_counter() - started)).isoformat(timespec="seconds"),
        "finished": dt.datetime.now().isoformat(timespec="seconds"),
    }


class RunDirectory(Callback):
    """Leave the run directory `tujie run` writes (files, summary.json, report.html) for a `fit` from Python.

    `fit(..., run_dir=PATH)` adds one; pass it in `callbacks=` to choose the monitor or the language.

    Args:
        path: the run directory, made if missing (its parents too). A file there, or above it, is refused.
        monitor: the metric that picks best.safetensors; None: "val_loss" when there is validation data, else "loss".
        lang: the report's language ("zh", "en"; None: TUJIE_LANG, else the locale).
        report: False writes the files and summary.json but no report.html.
        grad_stats_every: also log per-layer gradient norms every this many steps (0: never).
        verbose: 1 prints where the report is.

    Example:
        >>> RunDirectory("runs/demo", monitor="val_accuracy").checkpoint.mode
        'max'
    """

    reads_batch_logs = False  # its loggers read the learner (the rate, the gradients), not the batch's numbers

    def __init__(self, path, *, monitor: str | None = None, lang: str | None = None, report: bool = True,
                 grad_stats_every: int = 0, verbose: int = 0):
        self.path = _check_path(path)
        self.monitor, self.lang, self.report, self.verbose = monitor, lang, report, verbose
        self.callbacks, self.checkpoint = file_callbacks(self.path, monitor=monitor or "val_loss",
                                                         grad_stats_every=grad_stats_every)
        self.started, self.report_path = time.perf_counter(), None

    def on_fit_begin(self, learner):
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise output_error(self.path, e) from None
        remove_leftovers(self.path)  # a write killed mid-way left its temporary file behind
        self.started, self.report_path = time.perf_counter(), None
        write_text(self.path / "config.yaml", _config_yaml(learner, self.monitor))
        for cb in self.callbacks:
            cb.on_fit_begin(learner)

    def on_epoch_begin(self, learner, epoch):
        for cb in self.callbacks:
            cb.on_epoch_begin(learner, epoch)

    def on_train_batch_end(self, learner, step, logs):
        for cb in self.callbacks:
            cb.on_train_batch_end(learner, step, logs)

    def on_epoch_end(self, learner, epoch, logs):
        if self.monitor is None and "val_loss" not in logs:  # no validation data: the training loss picks the best
            self.checkpoint.monitor = "loss"
        for cb in self.callbacks:
            cb.on_epoch_end(learner, epoch, logs)

    def on_fit_end(self, learner):
        for cb in self.callbacks:
            cb.on_fit_end(learner)
        status, message = ("diverged", learner.stop_reason) if learner.diverged else ("finished", None)
        summary = {"kind": "train", "recipe": None, "run_name": self.path.name, "description": None, "expected": None,
                   **fit_summary(learner, self.checkpoint, status, message, self.started)}
        summary["timings"]["total_s"] = time.perf_counter() - self.started
        write_json(self.path / "summary.json", summary)
        if self.report and _hooks.build_report is not None:
            self.report_path = _hooks.build_report(self.path, lang=self.lang)
            if self.verbose:
                print(_("Report: {path}").format(path=self.report_path), flush=True)

    def state_dict(self):
        return {"checkpoint": self.checkpoint.state_dict()}

    def load_state_dict(self, state):
        self.checkpoint.load_state_dict(state.get("checkpoint", {}))


def _check_path(path) -> Path:
    """The run directory, refused in the error template when a file is where it, or a folder above it, would be."""
    if isinstance(path, bool) or not isinstance(path, (str, Path)) or not str(path):
        raise ConfigError("Invalid value received for `run_dir`.", expected="a folder path (made if missing)",
                          received=f"run_dir={path!r}", fix='Pass run_dir="runs/my-model", for example.')
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"run_dir {path} is a file, not a folder.", expected="a folder (made if missing) for the run's files",
                          received=f"run_dir={str(path)!r}", fix="Pick another path, or move the file away.")
    above = next((p for p in path.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise ConfigError(f"run_dir {path} lies under a file ({above}), so it cannot be a folder.",
                          expected="a path whose parents are folders", received=f"run_dir={str(path)!r}",
                          fix="Pick another path, or move the file away.")
    return path


def _config_yaml(learner, monitor: str | None) -> str:
    """config.yaml of a run trained from Python: the set-up as the learner knows it (not a recipe to rerun)."""
    import yaml

    def plain(value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return getattr(value, "__name__", None) or type(value).__name__  # a torch object: its name

    setup = {
        "kind": "train",
        "trained_from": "python",  # `tujie run --resume` refuses it by this key (runner.read_run_config)
        "model": type(learner.model).__name__,
        "task": learner.kind,
        "loss": plain(learner.loss_fn),
        "optimizer": plain(learner._optimizer_spec),
        "optimizer_options": plain(learner._optimizer_options),
        "scheduler": plain(learner._scheduler_spec),
        "metrics": plain(learner.metric_names),
        "epochs": learner.target_epochs,
        "steps_per_epoch": learner.steps_per_epoch * learner.accumulate,
        "accumulate": learner.accumulate,
        "precision": plain(learner.precision),
        "ema": learner.ema_decay,
        "device": str(learner.device),
        "monitor": monitor or "val_loss (loss without validation data)",
    }
    head = ("# Trained from Python with fit(..., run_dir=...): the set-up as the Learner knew it.\n"
            "# It is a record, not a recipe: `tujie report` rebuilds the report; to train on, load last.safetensors\n"
            "# in Python and fit(..., initial_epoch=learner.epoch, run_dir=...) again.\n")
    return head + yaml.safe_dump(setup, sort_keys=False, allow_unicode=True)
