"""Callbacks: what varies between runs, plugged into the fixed training loop.

The loop calls, in order: `on_fit_begin`, then per epoch `on_epoch_begin`,
`on_train_batch_end` after every optimizer step, `on_epoch_end` with the epoch's
logs (train and validation metrics), and finally `on_fit_end`. A callback may set
`learner.stop_training = True` (with `learner.stop_reason`) to end training; one that ends the run
with a verdict of its own (a hyperparameter search's pruner) also sets `learner.stop_status`
("pruned"), which a run reports as its status instead of "finished".
`state_dict`/`load_state_dict` carry a callback's counters across `--resume`.

A run directory stays consistent through a kill at any moment: the loggers write an epoch
before `ModelCheckpoint` saves it (put the checkpoint last, as `train.run_directory` does), and
each logger, at `on_fit_begin`, rewrites its file from the checkpoint's history, so a resumed
run shows every epoch exactly once and the logs end where the checkpoint ends.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

from .._io import append_jsonl, write_jsonl, write_text
from ..errors import ConfigError
from ..i18n import _
from . import distributed


class Callback:
    """Base class; override only the events you need (the loop skips the rest).

    `on_train_batch_end` gets the batch's logs as floats, which makes the step wait for the
    device to finish (a sync per step). A callback that does not read them sets
    `reads_batch_logs = False` and gets the logs as tensors, free; the loop's running means
    (`learner.running.means()`) are the cheap way to watch them.
    """

    reads_batch_logs = True

    def on_fit_begin(self, learner) -> None: ...
    def on_epoch_begin(self, learner, epoch: int) -> None: ...
    def on_train_batch_end(self, learner, step: int, logs: dict) -> None: ...
    def on_epoch_end(self, learner, epoch: int, logs: dict) -> None: ...
    def on_fit_end(self, learner) -> None: ...
    def state_dict(self) -> dict: return {}
    def load_state_dict(self, state: dict) -> None: ...


def overrides(callback: Callback, event: str) -> bool:
    """True when `callback` implements `event` itself, so the loop can skip no-op calls per batch."""
    return getattr(type(callback), event) is not getattr(Callback, event)


class History:
    """Per-epoch logs of one `fit`, Keras-compatible: `history.history["val_loss"]` is a list.

    Example:
        >>> h = History(); h.append({"epoch": 1, "loss": 0.5}); h.history["loss"]
        [0.5]
    """

    def __init__(self, epochs: list[dict] | None = None):
        self.epochs: list[dict] = list(epochs or [])
        self.stop_reason: str | None = None

    def append(self, logs: dict) -> None:
        self.epochs.append(dict(logs))

    @property
    def history(self) -> dict[str, list]:
        keys = dict.fromkeys(k for e in self.epochs for k in e if k != "epoch")
        return {k: [e.get(k) for e in self.epochs] for k in keys}

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        last = {k: round(v, 4) for k, v in (self.epochs[-1] if self.epochs else {}).items() if isinstance(v, float)}
        return f"History(epochs={len(self.epochs)}, last={last})"


def _mode(monitor: str, mode: str) -> str:
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ConfigError("Invalid value received for `mode`.", expected='"min", "max" or "auto"',
                          received=f"mode={mode!r}", fix='Use mode="auto" to infer it from the metric name.')
    return "max" if any(s in monitor for s in ("acc", "f1", "precision", "recall", "auc")) else "min"


class _Monitor:
    """Shared logic for callbacks that track the best value of one logged metric."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0):
        self.monitor, self.mode, self.min_delta = monitor, _mode(monitor, mode), abs(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None

    def value(self, logs: dict) -> float:
        if self.monitor not in logs:
            raise ConfigError(f"{type(self).__name__} monitors {self.monitor!r}, which training does not log.",
                              expected=f"one of {', '.join(k for k in logs if k != 'epoch')}", received=f"monitor={self.monitor!r}",
                              fix="Pass validation data for val_* metrics, or monitor a logged metric.")
        return logs[self.monitor]

    def improved(self, value: float) -> bool:
        if self.best is None or math.isnan(self.best):
            return not math.isnan(value)
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta


class EarlyStopping(Callback, _Monitor):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs.

    Args:
        monitor: a logged metric, e.g. "val_loss" or "val_accuracy".
        mode: "min", "max" or "auto" (max for accuracy-like names).
        patience: epochs without improvement before stopping.
        min_delta: smallest change that counts as improvement.
        restore_best_weights: reload the best epoch's weights when training ends.

    Example:
        >>> EarlyStopping(monitor="val_accuracy", patience=3).mode
        'max'
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", patience: int = 5, min_delta: float = 0.0,
                 restore_best_weights: bool = True):
        _Monitor.__init__(self, monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self.wait, self.stopped_epoch, self.best_weights = 0, None, None

    def on_epoch_end(self, learner, epoch, logs):
        value = self.value(logs)
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.detach().clone() for k, v in learner.eval_model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            learner.stop_training = True
            learner.stop_reason = (f"early stopping: {self.monitor} did not improve for {self.patience} epochs "
                                   f"(best {self.best:.4f} at epoch {self.best_epoch})")

    def on_fit_end(self, learner):
        if self.restore_best_weights and self.best_weights is not None and self.stopped_epoch is not None:
            learner.model.load_state_dict(self.best_weights)
            learner.restored_epoch = self.best_epoch

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state):
        self.best, self.best_epoch, self.wait = state.get("best"), state.get("best_epoch"), state.get("wait", 0)


class ModelCheckpoint(Callback, _Monitor):
    """Save `last.safetensors` (full state, for resume) every epoch and `best.safetensors` (weights) on improvement.

    Nothing is saved once the loss has diverged, so the files on disk stay the last good ones.

    Example:
        >>> ModelCheckpoint("runs/demo", monitor="val_accuracy").mode
        'max'
    """

    def __init__(self, directory, monitor: str = "val_loss", mode: str = "auto", save_best: bool = True,
                 save_last: bool = True):
        _Monitor.__init__(self, monitor, mode)
        self.directory, self.save_best, self.save_last = Path(directory), save_best, save_last

    def on_epoch_end(self, learner, epoch, logs):
        if learner.diverged:
            return
        if self.save_best and self.monitor in logs and self.improved(logs[self.monitor]):
            self.best, self.best_epoch = logs[self.monitor], epoch
            learner.save_weights(self.directory / "best.safetensors", {"epoch": epoch, self.monitor: self.best})
        if self.save_last:  # after `best` so the saved callback state already counts this epoch
            learner.save_checkpoint(self.directory / "last.safetensors")

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self.best, self.best_epoch = state.get("best"), state.get("best_epoch")


class NaNGuard(Callback):
    """Stop when a logged training value (the loss, a GAN's d_loss/g_loss...) becomes NaN or infinite.

    The batch logs are read from the device every `learner.sync_every` steps and at the end of
    each epoch, and the first bad batch is named exactly. `fit` puts the guard first, so the
    learner is marked `diverged` before any checkpoint callback runs: checkpoints are not
    overwritten with broken weights.
    """

    reads_batch_logs = False  # it reads the running means every `sync_every` steps instead

    def on_train_batch_end(self, learner, step, logs):
        # on several processes (torchrun) only at the epoch's end: one process stopping alone mid-epoch
        # would leave the others waiting forever for its gradients
        if step % learner.sync_every == 0 and distributed.world_size() == 1:
            self._check(learner, learner.epoch + 1)

    def on_epoch_end(self, learner, epoch, logs):
        if not learner.diverged:
            self._check(learner, epoch)
        loss = logs.get("loss")  # on several processes all-reduced: a NaN on one process is a NaN on all, so all stop
        if not learner.diverged and isinstance(loss, float) and not math.isfinite(loss):
            learner.diverged = learner.stop_training = True
            learner.stop_reason = (f"the training loss became {loss} at epoch {epoch}; no checkpoint is written after it. "
                                   "Try a lower learning rate, gradient clipping, or check the data for NaNs")

    @staticmethod
    def _check(learner, epoch):
        learner.running.means()  # reads what is queued; notes the first non-finite value
        if learner.running.first_non_finite is None:
            return
        name, value, step = learner.running.first_non_finite
        global_step = learner.global_step - (learner.running.batches - step)
        learner.diverged = learner.stop_training = True
        learner.stop_reason = (f"the training {name.replace('_', ' ')} became {value} at epoch {epoch}, step {step} "
                               f"(global step {global_step}); no checkpoint is written after it. "
                               "Try a lower learning rate, gradient clipping, or check the data for NaNs")


TerminateOnNaN = NaNGuard  # Keras' name for the same guard (`fit` always adds one; naming it changes nothing)


def _set_lr(learner, lr: float) -> None:
    for group in learner.optimizer.param_groups:  # Keras has one rate: every group gets it
        group["lr"] = lr


class ReduceLROnPlateau(Callback, _Monitor):
    """Multiply the learning rate by `factor` when `monitor` has not improved for `patience` epochs (Keras' callback).

    Args:
        monitor: a logged metric, e.g. "val_loss".
        factor: the rate is multiplied by this (0 < factor < 1).
        patience: epochs without improvement before the rate drops.
        mode: "min", "max" or "auto" (max for accuracy-like names).
        min_delta: smallest change that counts as improvement (Keras' 1e-4).
        cooldown: epochs to wait after a drop before counting again.
        min_lr: the rate never goes below this.
        verbose: 1 prints a line at each drop.

    The new rate is written into every parameter group of the optimizer and holds from the next epoch.
    Use it without a `scheduler=`: a scheduler that sets the rate itself (one-cycle, warm-up) overrides it.

    Example:
        >>> ReduceLROnPlateau(factor=0.5, patience=2).mode
        'min'
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0):
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0.0 < factor < 1.0:
            raise ConfigError("Invalid value received for `factor`.", expected="a number between 0 and 1 (the rate is multiplied by it)",
                              received=f"factor={factor!r}", fix="Pass factor=0.1, for example.")
        _Monitor.__init__(self, monitor, mode, min_delta)
        self.factor, self.patience, self.verbose = float(factor), patience, verbose
        self.cooldown, self.min_lr = cooldown, float(min_lr)
        self.wait = self.cooldown_counter = 0

    def on_epoch_end(self, learner, epoch, logs):
        value = self.value(logs)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return
        if self.cooldown_counter > 0 or learner.optimizer is None:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old = learner.optimizer.param_groups[0]["lr"]
        if old > self.min_lr:
            new = max(old * self.factor, self.min_lr)
            _set_lr(learner, new)
            if self.verbose:
                print(_("Epoch {epoch}: ReduceLROnPlateau reducing learning rate to {lr}.").format(epoch=epoch, lr=f"{new:.4g}"),
                      flush=True)
        self.cooldown_counter, self.wait = self.cooldown, 0

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state):
        self.best, self.best_epoch = state.get("best"), state.get("best_epoch")
        self.wait, self.cooldown_counter = state.get("wait", 0), state.get("cooldown_counter", 0)


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch to `schedule(epoch, lr)` (Keras' callback).

    Args:
        schedule: `schedule(epoch, lr) -> new lr`, with `epoch` counted from 0 as in Keras and `lr` the
            current rate; a one-argument `schedule(epoch)` works too.
        verbose: 1 prints the rate each epoch.

    Example:
        >>> halve = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
        >>> halve.schedule(3, 0.1)
        0.05
    """

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise ConfigError("Invalid value received for `schedule`.", expected="a function schedule(epoch, lr) -> lr",
                              received=f"schedule={schedule!r}", fix="Pass lambda epoch, lr: lr * 0.9, for example.")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, learner, epoch):
        if learner.optimizer is None:
            return
        lr = learner.optimizer.param_groups[0]["lr"]
        try:
            new = self.schedule(epoch - 1, lr)  # the loop counts epochs from 1, Keras from 0
        except TypeError:  # a one-argument schedule(epoch)
            new = self.schedule(epoch - 1)
        try:
            rate = None if isinstance(new, bool) else float(new)  # a float, an int or a one-element tensor
        except (TypeError, ValueError):
            rate = None
        if rate is None or not math.isfinite(rate) or rate < 0:
            raise ConfigError("The learning-rate schedule returned an invalid rate.", expected="a finite number >= 0",
                              received=f"schedule({epoch - 1}, {lr}) = {new!r}", fix="Return a float from the schedule.")
        new = rate
        _set_lr(learner, new)
        if self.verbose:
            print(_("Epoch {epoch}: LearningRateScheduler setting learning rate to {lr}.").format(epoch=epoch, lr=f"{new:.4g}"),
                  flush=True)


class LambdaCallback(Callback):
    """A callback made of plain functions, with Keras' signatures (epochs and batches counted from 0).

    Args:
        on_epoch_begin: `f(epoch, logs)`.
        on_epoch_end: `f(epoch, logs)`, logs being the epoch's metrics.
        on_train_begin: `f(logs)`.
        on_train_end: `f(logs)`, logs being the last epoch's metrics.
        on_train_batch_end: `f(batch, logs)` after every optimizer step (`on_batch_end` is the same).

    Example:
        >>> seen = []
        >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
        >>> cb.on_epoch_end(None, 1, {}); seen
        [0]
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_end=None, on_batch_end=None, **unsupported):
        if unsupported:
            raise ConfigError(f"LambdaCallback has no event {next(iter(unsupported))!r}.",
                              expected="on_epoch_begin, on_epoch_end, on_train_begin, on_train_end, on_train_batch_end",
                              received=", ".join(unsupported), fix="Use one of the events the loop calls.")
        self.epoch_begin, self.epoch_end = on_epoch_begin, on_epoch_end
        self.train_begin, self.train_end = on_train_begin, on_train_end
        self.batch_end = on_train_batch_end or on_batch_end
        self.reads_batch_logs = self.batch_end is not None  # no per-batch function: no wait for the device per step

    def on_fit_begin(self, learner):
        if self.train_begin is not None:
            self.train_begin({})

    def on_epoch_begin(self, learner, epoch):
        if self.epoch_begin is not None:
            self.epoch_begin(epoch - 1, {})

    def on_train_batch_end(self, learner, step, logs):
        if self.batch_end is not None:
            self.batch_end(step - 1, logs)

    def on_epoch_end(self, learner, epoch, logs):
        if self.epoch_end is not None:
            self.epoch_end(epoch - 1, logs)

    def on_fit_end(self, learner):
        if self.train_end is not None:
            self.train_end(dict(learner.history.epochs[-1]) if learner.history.epochs else {})


class LearningRateLogger(Callback):
    """Record the learning rate of every optimizer step and write it to `schedule.json` each epoch.

    Warm-up, one-cycle and restarts change the rate inside an epoch, which a per-epoch `lr`
    column cannot show. The file holds `{"step": [...], "lr": [...], "steps_per_epoch": n}`,
    thinned to at most `max_points` evenly spaced steps. A resumed run keeps the steps up to
    the checkpoint's global step and drops those a killed run logged after it.

    Example:
        >>> LearningRateLogger("runs/demo/schedule.json").path.name
        'schedule.json'
    """

    def __init__(self, path, max_points: int = 2000):
        self.path, self.max_points = Path(path), max_points
        self.steps: list[int] = []
        self.lrs: list[float] = []

    def on_fit_begin(self, learner):
        if self.path.exists():  # a resumed run: keep the steps up to the checkpoint's, now (a kill may come next)
            import json

            saved = json.loads(self.path.read_text())
            keep = [i for i, step in enumerate(saved.get("step", [])) if step <= learner.global_step]
            self.steps, self.lrs = [saved["step"][i] for i in keep], [saved["lr"][i] for i in keep]
            self._write(learner)

    def on_train_batch_end(self, learner, step, logs):
        if learner.optimizer is not None:
            self.steps.append(learner.global_step)
            self.lrs.append(learner.optimizer.param_groups[0]["lr"])

    def on_epoch_end(self, learner, epoch, logs):
        self._write(learner)

    def _write(self, learner):
        from .._io import write_json

        stride = max(1, -(-len(self.steps) // self.max_points))
        write_json(self.path, {"step": self.steps[::stride], "lr": self.lrs[::stride],
                               "steps_per_epoch": max(learner.steps_per_epoch * learner.accumulate, 1)})


class GradientStats(Callback):
    """Every `every` optimizer steps, log each weight's gradient norm and weight norm to a JSON-lines file.

    Gradients that shrink layer after layer towards the input (vanishing) or blow up
    (exploding, the textbook's RNN problem) show as diverging lines in the report.
    One line: `{"step": 120, "epoch": 1.5, "layers": {"0.weight": {"grad_norm": ..., "weight_norm": ...}}}`.
    Only weight matrices and kernels are logged (biases add lines, not insight).

    Example:
        >>> GradientStats("runs/demo/grad_stats.jsonl", every=50).every
        50
    """

    def __init__(self, path, every: int = 50):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError("Invalid value received for `every`.", expected="an integer >= 1 (optimizer steps)",
                              received=f"every={every!r}", fix="Pass every=50, for example.")
        self.path, self.every = Path(path), every

    def on_fit_begin(self, learner):
        if self.path.exists() and learner.epoch == 0:
            self.path.unlink()  # a fresh fit starts a fresh file; a resumed one appends
        elif self.path.exists():  # resumed: drop the lines a killed run wrote after the checkpoint's step
            import json

            kept = [line for line in self.path.read_text().splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= learner.global_step]
            write_text(self.path, "".join(line + "\n" for line in kept))

    def on_train_batch_end(self, learner, step, logs):
        if learner.global_step % self.every or learner._micro_steps:
            return
        import torch

        named = [(n, p) for n, p in learner.model.named_parameters() if p.ndim > 1 and p.grad is not None]
        if not named:
            return
        grads = torch.stack(torch._foreach_norm([p.grad.detach() for _, p in named])).tolist()
        weights = torch.stack(torch._foreach_norm([p.detach() for _, p in named])).tolist()
        layers = {n: {"grad_norm": g, "weight_norm": w} for (n, _), g, w in zip(named, grads, weights)}
        epoch = learner.epoch + step / max(learner.steps_per_epoch * learner.accumulate, 1)
        append_jsonl(self.path, {"step": learner.global_step, "epoch": round(epoch, 4), "layers": layers})


class MetricsLogger(Callback):
    """Append each epoch's logs as one JSON line (`metrics.jsonl`).

    At the start of `fit` the file is rewritten from the learner's history: empty for a fresh
    fit; for a resumed one, exactly the checkpoint's epochs (a line a killed run wrote after the
    checkpoint is dropped, one it never wrote is restored).
    """

    def __init__(self, path):
        self.path = Path(path)

    def on_fit_begin(self, learner):
        if self.path.exists() or learner.history.epochs:
            write_jsonl(self.path, learner.history.epochs)

    def on_epoch_end(self, learner, epoch, logs):
        append_jsonl(self.path, logs)


class CSVLogger(Callback):
    """Write the per-epoch logs as a CSV table (rewritten atomically each epoch).

    At the start of `fit` the table is rewritten from the learner's history, so a resumed run's
    table holds exactly the checkpoint's epochs before it grows again.

    Example:
        >>> CSVLogger("runs/demo/history.csv").path.name
        'history.csv'
    """

    def __init__(self, path):
        self.path, self.rows = Path(path), []

    def on_fit_begin(self, learner):
        self.rows = [dict(e) for e in learner.history.epochs]
        if self.path.exists() or self.rows:
            self._write()

    def on_epoch_end(self, learner, epoch, logs):
        self.rows.append(dict(logs))
        self._write()

    def _write(self):
        keys = list(dict.fromkeys(k for row in self.rows for k in row))
        lines = [",".join(keys)] + [",".join("" if r.get(k) is None else str(r[k]) for k in keys) for r in self.rows]
        write_text(self.path, "\n".join(lines) + "\n")


class TensorBoard(Callback):
    """Log every epoch metric to TensorBoard, train and validation on the same chart.

    Open with `tensorboard --logdir RUN_DIR/tensorboard`. A resumed fit writes a fresh event
    file that supersedes the old ones: it starts with a purge from step 1 (TensorBoard then
    hides every older event) and the checkpoint's epochs again, and the older files are
    deleted, so each epoch is shown once whatever a killed run had logged past its checkpoint.
    """

    def __init__(self, log_dir):
        self.log_dir, self.writer = Path(log_dir), None

    def on_fit_begin(self, learner):
        from torch.utils.tensorboard import SummaryWriter  # imported only when used: it is slow to import

        resumed = learner.epoch > 0
        older = sorted(self.log_dir.glob("events.out.tfevents.*")) if resumed else []
        self.writer = SummaryWriter(str(self.log_dir), purge_step=1 if resumed else None)
        for number, logs in enumerate(learner.history.epochs if resumed else (), 1):
            self._log(logs.get("epoch", number), logs)
        self.writer.flush()
        for path in older:  # superseded: the new file holds all they showed, up to the checkpoint
            path.unlink(missing_ok=True)

    def on_epoch_end(self, learner, epoch, logs):
        self._log(epoch, logs)
        self.writer.flush()

    def _log(self, epoch, logs):
        for key, value in logs.items():
            if key == "epoch" or not isinstance(value, (int, float)):
                continue
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self.writer.add_scalar(f"{name}/{split}", value, epoch)

    def on_fit_end(self, learner):
        if self.writer is not None:
            self.writer.close()


def interactive() -> bool:
    """Draw live progress bars only on a real terminal, and never under CI."""
    return sys.stdout.isatty() and not os.environ.get("CI")


class EpochLines(Callback):
    """One line per epoch, Keras' `verbose=2`: what logs and CI output show."""

    def on_fit_begin(self, learner):
        self.total_epochs = learner.target_epochs

    def on_epoch_end(self, learner, epoch, logs):
        heading = _("Epoch {epoch}/{epochs}").format(epoch=epoch, epochs=self.total_epochs)
        print(f"{heading} - {logs.get('epoch_time_s', 0):.1f}s - {_format(_shown(logs))}", flush=True)

    def on_fit_end(self, learner):
        if learner.stop_reason:
            print(_("Stopped: {reason}.").format(reason=learner.stop_reason), flush=True)


class ProgressBar(EpochLines):
    """A live rich progress bar per epoch, redrawn at most every `refresh_s` seconds.

    Redraws are time-based, so the cost per step is one clock read.
    """

    def __init__(self, refresh_s: float = 0.1):
        self.refresh_s, self.progress, self.task = refresh_s, None, None

    def on_fit_begin(self, learner):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.total_epochs = learner.target_epochs
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[metrics]}"), auto_refresh=False)
        self.progress.start()

    def on_epoch_begin(self, learner, epoch):
        self.next_draw = time.perf_counter() + self.refresh_s
        self.task = self.progress.add_task(_("Epoch {epoch}/{epochs}").format(epoch=epoch, epochs=self.total_epochs),
                                           total=learner.steps_per_epoch, metrics="")

    def on_train_batch_end(self, learner, step, logs):
        if time.perf_counter() >= self.next_draw:
            self.progress.update(self.task, completed=step, metrics=_format(learner.running.means()))
            self.progress.refresh()
            self.next_draw = time.perf_counter() + self.refresh_s

    def on_epoch_end(self, learner, epoch, logs):
        # the bar keeps the train figures (it must fit a narrow terminal); the full line goes above it
        train = {k: v for k, v in _shown(logs).items() if not k.startswith("val_")}
        self.progress.update(self.task, completed=learner.steps_per_epoch, metrics=_format(train))
        self.progress.refresh()
        self.progress.console.print(f"  {_format(_shown(logs))}", highlight=False, soft_wrap=True)

    def on_fit_end(self, learner):
        self.progress.stop()
        super().on_fit_end(learner)


def progress_callbacks(verbose: int) -> list[Callback]:
    """verbose 0: nothing; 1: a live bar on a terminal, else a line per epoch; 2: a line per epoch."""
    if not verbose:
        return []
    return [ProgressBar()] if verbose == 1 and interactive() else [EpochLines()]


def _shown(logs: dict) -> dict:
    return {k: v for k, v in logs.items() if k not in ("epoch", "lr", "epoch_time_s", "samples_per_s")}


def _format(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if isinstance(v, float))
