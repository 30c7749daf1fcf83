"""The training loop: `Learner` trains, evaluates and predicts with any `torch.nn.Module`.

Read `fit` top to bottom to follow one batch from data to optimizer step:
batches come from `_batches` (an index-slicing `Batcher` for in-memory tensors, or
your `DataLoader`), `train_step` does forward, loss, backward and step, the running
means collect the batch logs, and callbacks see every batch and every epoch.

A model may bring its own `train_step(batch, learner)` / `eval_step(batch, learner)`
(GANs, seq2seq, RL): the loop then calls those and averages whatever they return.

The training options of the textbook's chapters on generalisation are keyword arguments
of `Learner`, each off by default so the plain loop stays as cheap as a hand-written one:
L1/L2 penalties, label smoothing, max-norm, batch augmentation and mixup/cutmix, gradient
clipping (norm or value) and accumulation, mixed precision (bf16, fp16 with a scaler) and
an exponential moving average (EMA) of the weights.

Example:
    >>> import torch, tujie as tj
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    >>> learner = tj.Learner(model, loss="cross_entropy", optimizer="sgd", lr=0.1)
    >>> x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> history = learner.fit((x, y), epochs=2, batch_size=16, verbose=0)
    >>> sorted(learner.evaluate((x, y), verbose=0))
    ['accuracy', 'loss']
"""

from __future__ import annotations

import contextlib
import math
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data.arrays import ArrayDataset, Batcher, as_tensor
from ..errors import ConfigError, DataError
from ..layers import regularization_loss
from ..utils import select_device
from . import _habits as habits
from . import checkpoint as ckpt
from . import distributed, transfer
from .callbacks import Callback, History, NaNGuard, overrides, progress_callbacks
from .losses import get_loss, loss_kind
from .metrics import EvalMetrics, batch_accuracy, check_fits_task, normalize_names
from .optimizers import check_optimizer_name, get_optimizer, get_scheduler


class RunningMeans:
    """Sample-weighted running means of the per-batch logs of one epoch (and the maximum gradient norm).

    The logs of a batch are tensors still on the device (the loss, the accuracy): `add` only queues
    them, so the step never waits for the device to finish. `means()` reads everything queued in
    one transfer; the loop calls it every `Learner.sync_every` steps, the progress bar at each redraw.
    A key missing from some batches (the gradient norm, logged only on optimizer steps when
    gradients are accumulated) is averaged over the batches that have it.
    """

    MAX_KEYS = ("grad_norm",)  # also reported as `<key>_max`: one exploding step hides in a mean

    def __init__(self):
        self.queued: list[tuple[dict, int]] = []
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.maxima: dict[str, float] = {}
        self.count = self.batches = 0
        self.first_non_finite: tuple[str, float, int] | None = None  # (key, value, batch number), seen when read

    def add(self, logs: dict, n: int) -> None:
        self.queued.append((logs, n))
        self.count += n
        self.batches += 1

    def means(self) -> dict[str, float]:
        self._flush()
        means = {k: s / max(self.counts[k], 1) for k, s in self.sums.items()}
        return {**means, **{f"{k}_max": v for k, v in self.maxima.items()}}

    def _flush(self) -> None:
        """Fold the queued logs into the sums: one read from the device for all of them."""
        if not self.queued:
            return
        queued, self.queued = self.queued, []
        tensors = [v for logs, _ in queued for v in logs.values() if torch.is_tensor(v)]
        if tensors and len({t.device for t in tensors}) == 1:  # (T,) on the device, then one copy to the host
            with torch.no_grad():
                if not all(t.ndim == 0 and t.dtype == torch.float32 for t in tensors):  # the usual case needs no op per value
                    tensors = [t.reshape(()).float() for t in tensors]
                read = iter(torch.stack(tensors).tolist())
        else:
            read = iter([float(t) for t in tensors])
        first_batch = self.batches - len(queued) + 1
        for number, (logs, n) in enumerate(queued, first_batch):
            for key, value in logs.items():
                value = next(read) if torch.is_tensor(value) else float(value)
                if self.first_non_finite is None and not math.isfinite(value):
                    self.first_non_finite = (key, value, number)
                self.sums[key] = self.sums.get(key, 0.0) + value * n
                self.counts[key] = self.counts.get(key, 0) + n
                if key in self.MAX_KEYS:
                    self.maxima[key] = max(self.maxima.get(key, -math.inf), value)


class Learner:
    """Train, evaluate and predict with a model, a loss, an optimizer and metrics.

    Args:
        model: any `nn.Module` (tujie layers may be lazy: they are sized by the first batch).
        loss: a name ("cross_entropy", "mse", "bce_with_logits", ...), a torch loss module or a callable.
        optimizer: a name ("adam", "sgd", ...), a `{"name": ..., **options}` dict, a factory
            `params -> Optimizer`, or an optimizer object.
        lr: learning rate for a named optimizer (default: the optimizer's usual one).
        metrics: names reported during training ("accuracy") and on evaluation (all of them);
            None picks the task's usual one: accuracy for classifiers, mae for regression.
        scheduler: a learning-rate scheduler name/dict/factory/object (see `get_scheduler`).
        device: "auto", "cpu", "cuda", "cuda:1" or "mps".
        callbacks: callbacks used by every `fit`.
        seed: seeds the shuffling order (use `tj.seed_everything` for weights and dropout).
        optimizer_options: extra optimizer keywords (momentum, nesterov, weight_decay, ...).
        augment: a callable applied to each training batch's inputs in `train_step` (e.g. kornia
            augmentations from `tujie.data.augment.build_augmentation`); never to validation or test.
        mixing: a callable `(x, y) -> (x, soft_y)` applied after `augment` (`tujie.data.mixing.MixUp`
            or `CutMix`); the loss then sees probability targets (cross-entropy accepts them).
        l1, l2: penalties `l1 * sum|w|` and `l2 * sum w^2` over the weight matrices and kernels
            (parameters with 2+ dimensions; biases and norm scales are left alone), added to the loss
            that is minimised. The logged `loss` is the data loss alone, comparable with `val_loss`.
            (Decoupled weight decay is `optimizer="adamw", optimizer_options={"weight_decay": ...}`.)
        label_smoothing: the cross-entropy target mass spread over all classes (Szegedy et al. 2016).
        max_norm: after every step, rescale each unit's incoming weight vector (each row of a
            weight matrix, each output filter of a kernel) to an L2 norm of at most this (Srivastava et al. 2014).
        clip_grad_norm: rescale the gradients so their global L2 norm is at most this.
        clip_grad_value: clamp every gradient element to [-value, value].
        accumulate: add up the gradients of this many batches before each optimizer step
            (an effective batch of `accumulate * batch_size` with the memory of one batch).
        precision: "32" (default), "bf16" (autocast to bfloat16, CPU or GPU) or "fp16" (autocast to
            float16 with a gradient scaler, for GPUs).
        ema: decay of an exponential moving average of the weights (e.g. 0.999). Validation and
            test use the averaged weights, and they replace the model's at the end of `fit`.
        track_grad_norm: log the global gradient norm (`grad_norm`, `grad_norm_max` per epoch);
            always on when `clip_grad_norm` is set, since clipping computes it anyway.
        task: what the outputs are, when the loss does not say (a callable loss such as `F.nll_loss`):
            "multiclass_logits", "multiclass_log_probs", "multiclass_probs", "binary_logits",
            "binary_probs" or "regression". None: taken from the loss, else read from the first batch
            (integer targets and (N, C) outputs are a classification) and printed once.
        output_index, output_key: for a model returning a tuple or dict (a VAE's `(recon, mu, logvar)`),
            the output metrics and named losses read (default: the first). A callable loss gets the whole output.

    A softmax (sigmoid) last layer trained with a loss for logits (`cross_entropy`, `bce_with_logits`)
    is not squashed twice: as Keras does, its outputs are taken as probabilities (the log of the clamped
    probabilities), with a warning naming the layer. A model with its own `train_step` and no `eval_step`
    is evaluated by the default step (forward, then the loss on `(inputs..., y)` batches).
    """

    sync_every = 64  # steps between reads of the batch logs from the device (the NaN check); the progress bar reads at each redraw

    def __init__(self, model: nn.Module, loss="cross_entropy", optimizer="adam", *, lr: float | None = None,
                 metrics=None, scheduler=None, device="auto", callbacks=(), seed: int | None = 0,
                 optimizer_options: dict | None = None, augment=None, mixing=None, l1: float = 0.0, l2: float = 0.0,
                 label_smoothing: float = 0.0, max_norm: float | None = None, clip_grad_norm: float | None = None,
                 clip_grad_value: float | None = None, accumulate: int = 1, precision="32", ema: float | None = None,
                 track_grad_norm: bool = False, task: str | None = None, output_index: int | None = None,
                 output_key: str | None = None):
        self.model = model
        self.augment, self.mixing = augment, mixing
        self.loss_fn = habits.with_label_smoothing(get_loss(loss), label_smoothing)
        self.task = habits.check_task(task) or getattr(self.loss_fn, "task", None)  # Keras losses say what they read
        guarded = habits.guard_squashed_output(model, self.loss_fn) if task is None else None
        if guarded is not None:  # a softmax last layer and a loss for logits: take the outputs as probabilities
            self.loss_fn, self.task = guarded
        self.kind = habits.TASK_KIND[self.task] if self.task else loss_kind(self.loss_fn)
        self.output_index, self.output_key = output_index, output_key
        self._whole_output = self.loss_fn is not None and not isinstance(self.loss_fn, nn.modules.loss._Loss)
        self._metrics_asked, self._task_note, self._closure = metrics, None, False
        self._regularized, self._penalize = False, bool(l1 or l2)
        self.l1, self.l2 = habits.nonnegative("l1", l1), habits.nonnegative("l2", l2)
        self.max_norm = habits.positive_or_none("max_norm", max_norm)
        self.clip_grad_norm = habits.positive_or_none("clip_grad_norm", clip_grad_norm)
        self.clip_grad_value = habits.positive_or_none("clip_grad_value", clip_grad_value)
        self.track_grad_norm = bool(track_grad_norm) or self.clip_grad_norm is not None
        if isinstance(accumulate, bool) or not isinstance(accumulate, int) or accumulate < 1:
            raise ConfigError("Invalid value received for `accumulate`.", expected="an integer >= 1 (batches per optimizer step)",
                              received=f"accumulate={accumulate!r}", fix="Pass accumulate=4, for example, or 1 for no accumulation.")
        self.accumulate = accumulate
        if ema is not None and not 0.0 < ema < 1.0:
            raise ConfigError("Invalid value received for `ema`.", expected="a decay between 0 and 1, e.g. 0.999",
                              received=f"ema={ema!r}", fix="Pass ema=0.999, or None for no weight averaging.")
        self.ema_decay, self.ema = ema, None
        self.precision = habits.check_precision(precision)
        if metrics is None:  # the task's usual metric: accuracy for classifiers, MAE for regression
            metrics = {"regression": ["mae"], "other": []}.get(self.kind, ["accuracy"])
        self.metric_names = normalize_names(metrics)
        check_fits_task(self.metric_names, self.kind)
        check_optimizer_name(optimizer)  # an unknown name is refused now, not at the first batch
        self.optimizer = optimizer if isinstance(optimizer, torch.optim.Optimizer) else None
        self._optimizer_spec, self._optimizer_options = optimizer, {"lr": lr, **(optimizer_options or {})}
        self._scheduler_spec, self.scheduler, self.scheduler_interval = scheduler, None, "epoch"
        self.device = select_device(device)
        self.callbacks: list[Callback] = list(callbacks)
        self.generator = torch.Generator()
        self.generator.manual_seed(0 if seed is None else seed)
        self._batch_accuracy = batch_accuracy(self.kind) if "accuracy" in self.metric_names else None
        self.history = History()
        self.epoch = 0  # epochs completed
        self.global_step = 0
        self.target_epochs = self.steps_per_epoch = 0
        self._trained: list[torch.Tensor] = []  # the optimizer's parameters, for the cheap zero_grad
        self._trained_groups = 0  # how many param groups `_trained` was read from
        self.stop_training, self.stop_reason, self.diverged, self.restored_epoch = False, None, False, None
        self.stop_status: str | None = None  # a callback that stops the run with a verdict of its own ("pruned")
        self.input_shape: tuple | None = None  # one sample's shape, seen on the first batch
        self.example: tuple | None = None
        self.running = RunningMeans()
        self.device_autocast = self._autocast()
        self.scaler = torch.amp.GradScaler(self.device.type) if self.precision == "fp16" else None
        self._micro_steps = 0  # batches whose gradients are waiting for the next optimizer step
        self._penalized: list[torch.Tensor] = []  # weight matrices/kernels for l1, l2 and max_norm
        self.ddp_model: nn.Module | None = None  # the model in DistributedDataParallel under torchrun (training forward only)

    # ------------------------------------------------------------------ training
    def fit(self, x, y=None, *, epochs: int = 1, batch_size: int = 32, validation_data=None,
            validation_split: float = 0.0, shuffle: bool = True, callbacks=(), verbose: int = 1,
            initial_epoch: int = 0, steps_per_epoch: int | None = None, class_weight: dict | None = None,
            sample_weight=None, run_dir=None) -> History:
        """Train for `epochs` epochs (epoch numbers `initial_epoch + 1 .. epochs`).

        Args:
            x: training data: a `(x, y)` tuple of arrays/tensors (`(x1, x2, ..., y)` for a model with
                several inputs), `x` with `y` given (`fit([x1, x2], y)` for several inputs), an `ArrayDataset`,
                a dataset bundle from `tj.datasets.load` (its validation split is used), a torch `Dataset`,
                a `DataLoader`, or a generator / iterable yielding `(x, y)` batches; inputs alone for a
                model that brings its own `train_step` (GAN, VAE).
            batch_size: samples per step; under torchrun, per process (`train.distributed`: 2 processes of 32 step on 64).
            validation_data: the same kinds; evaluated after every epoch (metrics prefixed `val_`).
            validation_split: hold out this fraction of in-memory training data (seeded) instead.
            verbose: 0 silent, 1 progress bar (a line per epoch when not on a terminal), 2 a line per epoch.
            initial_epoch: epochs already done (set by resume).
            steps_per_epoch: end each epoch after this many batches (a generator is drawn on across
                epochs; a one-shot generator needs it when `epochs > 1`).
            class_weight: `{class id: weight}` multiplying each sample's training loss (Keras' habit).
            sample_weight: one weight per training sample (in-memory data), multiplying its loss.
                Weighted losses are `sum(w_i * loss_i) / batch size`, as in Keras; validation is unweighted.
            run_dir: leave the run directory `tujie run` writes there (checkpoints, logs, summary.json, report.html).

        Returns:
            History with one dict of logs per epoch.
        """
        if not isinstance(epochs, int) or epochs < 1:
            raise ConfigError("Invalid value received for `epochs`.", expected="an integer >= 1",
                              received=f"epochs={epochs!r}", fix="Pass epochs=5, for example.")
        if steps_per_epoch is not None and (not isinstance(steps_per_epoch, int) or isinstance(steps_per_epoch, bool) or steps_per_epoch < 1):
            raise ConfigError("Invalid value received for `steps_per_epoch`.", expected="an integer >= 1, or None for whole passes",
                              received=f"steps_per_epoch={steps_per_epoch!r}", fix="Pass steps_per_epoch=100, for example.")
        train, bundle_val = self._as_dataset(x, y)
        if self._custom("train_step") is None:
            habits.check_one_dimensional(train)
        validation_data = validation_data if validation_data is not None else bundle_val
        weighted = class_weight is not None or sample_weight is not None
        if weighted:
            per_sample_loss = habits.unreduced(None if self._custom("train_step") else self.loss_fn)  # or a clear error
            train, class_table = habits.weighted_data(train, class_weight, sample_weight, validation_split)
        if validation_split:
            train, validation_data = self._split(train, validation_split)
        batches = self._batches(train, batch_size, shuffle, steps_per_epoch, epochs, shard=True)
        val_batches = None if validation_data is None else self._batches(self._as_dataset(validation_data)[0], max(batch_size, 1024), False)
        habits.check_not_empty(train, batches)
        steps = steps_per_epoch or len(batches)
        sample = _first_batch(batches)
        self._setup(sample, epochs=epochs, steps_per_epoch=-(-steps // self.accumulate))
        if self._custom("train_step") is None:  # once per fit, on the first batch: no cost per step
            first = habits.first_inputs(batches, batch_size) or (tuple(self._to_device(sample)) if isinstance(sample, (tuple, list)) else None)
            habits.check_labels(self, first)
            habits.warn_non_finite(first)
        if verbose and self._task_note:  # the task read for a callable loss, said once
            print(self._task_note, flush=True)
            self._task_note = ""

        if initial_epoch == 0:
            self.history, self.epoch = History(), 0
        # the NaN guard first: at an epoch's end it marks a divergence before any checkpoint is written
        callbacks = [NaNGuard(), *self.callbacks, *callbacks, *progress_callbacks(verbose if distributed.is_main() else 0)]
        if run_dir is not None and distributed.is_main():  # last: its summary and report after every other callback's end
            from .run_directory import RunDirectory

            callbacks.append(RunDirectory(run_dir, verbose=verbose))
        per_batch = [cb for cb in callbacks if overrides(cb, "on_train_batch_end")]
        reads_floats = any(cb.reads_batch_logs for cb in per_batch)  # a callback that reads every batch's numbers
        own_step = self._custom("train_step")
        step_fn = own_step or self.train_step
        self.stop_training, self.stop_reason, self.diverged, self.restored_epoch = False, None, False, None
        self.stop_status = None
        self.target_epochs = epochs

        for cb in callbacks:
            cb.on_fit_begin(self)
        for epoch in range(initial_epoch + 1, epochs + 1):
            for cb in callbacks:
                cb.on_epoch_begin(self, epoch)
            self.model.train()
            self.running = RunningMeans()
            start = time.perf_counter()
            for step, batch in enumerate(batches, 1):
                batch = self._to_device(batch)
                try:
                    if weighted:  # the sample weights travel as the batch's last tensor; class weights come from y
                        logs = self.train_step(*habits.split_weights(batch, class_table, sample_weight is not None), per_sample_loss)
                    else:
                        logs = step_fn(batch)
                except (IndexError, RuntimeError, ValueError):  # e.g. a label out of range deep in a loader: say which batch
                    habits.explain_failed_batch(self, batch, epoch, step)
                    raise
                if own_step is not None:  # a model's own step may hand back a loss still holding its graph
                    logs = {k: v.detach() if torch.is_tensor(v) else v for k, v in logs.items()}
                self.running.add(logs, _batch_len(batch))  # queued on the device: no wait here
                self.global_step += 1
                if reads_floats:  # the numbers a callback reads cost one wait for the device per step
                    logs = {k: float(v) for k, v in logs.items()}
                for cb in per_batch:  # before the scheduler steps: callbacks see the rate this batch used
                    cb.on_train_batch_end(self, step, logs)
                if self.scheduler is not None and self.scheduler_interval == "step" and self._micro_steps == 0:
                    self.scheduler.step()
                if self.stop_training or step == steps_per_epoch:
                    break
            if self._micro_steps:  # the epoch ended inside an accumulation group: use those gradients too
                self.optimizer_step()
            seconds = time.perf_counter() - start
            means, count = distributed.average_logs(self.running.means(), self.running.count)  # over all processes
            logs = {"epoch": epoch, **means}
            if val_batches is not None and not self.diverged:
                logs.update({f"val_{k}": v for k, v in self.evaluate(val_batches, verbose=0).items()})
            logs.update(lr=self.optimizer.param_groups[0]["lr"] if self.optimizer else None,
                        epoch_time_s=seconds, samples_per_s=count / max(seconds, 1e-9))
            self._epoch_scheduler_step(logs)
            self.epoch = epoch
            self.history.append(logs)
            for cb in callbacks:
                cb.on_epoch_end(self, epoch, logs)
            if self.stop_training:
                break
        self.history.stop_reason = self.stop_reason
        if self.ema is not None and not self.diverged:  # from here on the model *is* the averaged model
            self.model.load_state_dict(self.ema.module.state_dict())
        for cb in callbacks:
            cb.on_fit_end(self)
        return self.history

    def train_step(self, batch, sample_weight=None, per_sample_loss=None) -> dict:
        """One optimisation step on `(x, y)`: forward, loss, backward, update. Returns the batch logs.

        `sample_weight` (N,) weighs each sample's loss, computed by `per_sample_loss` (reduction="none").
        """
        *inputs, y = batch  # (x, y), or (x1, x2, ..., y) for models with several inputs
        if self.augment is not None:
            inputs[0] = self.augment(inputs[0])  # flips, crops, ... on the whole batch at once
        if self.mixing is not None:
            inputs[0], y = self.mixing(inputs[0], y)  # mixup/cutmix: y becomes soft targets (batch, classes)
        if self._closure:  # LBFGS and friends evaluate the loss themselves, several times per step
            return habits.closure_step(self, inputs, y, sample_weight, per_sample_loss)
        with self.device_autocast:  # a no-op at full precision
            output = (self.ddp_model or self.model)(*inputs)  # DDP averages the gradients in backward
            loss = self.compute_loss(output, y, sample_weight, per_sample_loss)
        objective = loss + self.penalty() if self._penalize else loss
        logs = self.backward(objective)
        logs["loss"] = loss.detach()
        if self._batch_accuracy is not None:
            logs["accuracy"] = self._batch_accuracy(self.select(output), y)  # a tensor (argmax needs no detach): read later
        return logs

    def compute_loss(self, output, y, sample_weight=None, per_sample_loss=None) -> torch.Tensor:
        """The batch loss: a callable loss sees the whole output (a tuple, a dict), a named one the selected output."""
        if self._whole_output:
            return self.loss_fn(output, y)
        output = self.select(output)
        if sample_weight is None:
            return self.loss_fn(output, y)
        return habits.weighted_mean(per_sample_loss(output, y), sample_weight)  # sum(w_i * loss_i) / N

    def select(self, output):
        """The output that metrics read: a plain tensor as it is, else `output_key` / `output_index` (default the first)."""
        return output if torch.is_tensor(output) else habits.select_output(output, self.output_index, self.output_key)

    def penalty(self) -> torch.Tensor:
        """The L1/L2 penalty on the weights, `l1 * sum|w| + l2 * sum w^2`, plus the layers' own `kernel_regularizer`s."""
        total = regularization_loss(self.model) if self._regularized else 0.0
        if self.l1:
            total = total + self.l1 * sum(w.abs().sum() for w in self._penalized)
        if self.l2:
            total = total + self.l2 * sum(w.pow(2).sum() for w in self._penalized)
        return total

    def backward(self, loss: torch.Tensor) -> dict:
        """Backpropagate `loss`; every `accumulate` batches, take the optimizer step. Returns logs (grad_norm)."""
        if self._micro_steps == 0:  # zeroed here, not after the step, so callbacks can still read the gradients
            self._zero_grad()
        if self.accumulate > 1:
            loss = loss / self.accumulate  # the accumulated gradient is then the mean over the group
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        self._micro_steps += 1
        if self._micro_steps < self.accumulate:
            return {}
        return self.optimizer_step()

    def optimizer_step(self) -> dict:
        """Clip, step (through the fp16 scaler if any), apply max-norm and update the EMA weights."""
        self._micro_steps = 0
        logs = {}
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
        if self.clip_grad_value is not None:
            nn.utils.clip_grad_value_(self._trained_params(), self.clip_grad_value)
        if self.track_grad_norm:  # the norm before clipping: what the model really produced
            logs["grad_norm"] = nn.utils.clip_grad_norm_(self._trained_params(), self.clip_grad_norm or math.inf, foreach=True)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)  # skipped when the fp16 gradients overflowed
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.max_norm is not None:
            with torch.no_grad():
                for w in self._penalized:  # each row (unit) or output filter at most `max_norm` long
                    w.copy_(torch.renorm(w, p=2, dim=0, maxnorm=self.max_norm))
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return logs

    def _trained_params(self) -> list:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def _zero_grad(self) -> None:
        """`optimizer.zero_grad(set_to_none=True)`, as a plain loop when the optimizer keeps torch's own."""
        if type(self.optimizer).zero_grad is not torch.optim.Optimizer.zero_grad or not self._trained \
                or len(self.optimizer.param_groups) != self._trained_groups:  # a custom zero_grad, or groups added since
            self.optimizer.zero_grad(set_to_none=True)
            return
        for p in self._trained:
            p.grad = None

    @property
    def eval_model(self) -> nn.Module:
        """The model used for validation, test and prediction: the EMA weights when `ema` is on."""
        return self.ema.module if self.ema is not None else self.model

    # ---------------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self, x, y=None, *, batch_size: int = 1024, metrics=None, verbose: int = 1) -> dict:
        """Loss and metrics over a whole dataset, streamed batch by batch.

        Args:
            metrics: names to compute instead of the learner's own, e.g. ["accuracy", "f1",
                "confusion_matrix", "per_class"] (matrices come back as tensors).

        Returns:
            {"loss": ..., "accuracy": ..., ...}.
        """
        batches = x if isinstance(x, (Batcher, habits.BatchStream)) or _is_batch_source(x) else self._batches(self._as_dataset(x, y)[0], batch_size, False)
        self._setup(None)
        model = self.eval_model
        was_training = model.training
        model.eval()
        custom = self._custom("eval_step", model)  # the EMA copy's own step when EMA is on
        if custom is None and self.loss_fn is None and self._custom("train_step") is not None:
            raise ConfigError(f"{type(self.model).__name__} has its own train_step but no eval_step, and no loss to evaluate with.",
                              expected="an `eval_step(batch, learner)` method returning a dict of logs, or a loss",
                              received=f"{type(self.model).__name__}.train_step only, loss=None",
                              fix="Add `def eval_step(self, batch, learner): return {'loss': ...}` to the model, "
                                  "or pass loss=... so the default eval (forward, then the loss) can run.")
        running, measured = RunningMeans(), EvalMetrics(self.metric_names if metrics is None else metrics, self.kind)
        for batch in batches:
            batch = self._to_device(batch)
            if custom is not None:
                running.add({k: float(v) for k, v in custom(batch).items()}, _batch_len(batch))
                continue
            *inputs, yb = batch
            with self.device_autocast:
                output = _full_precision(model(*inputs))
            if self.loss_fn is not None:
                running.add({"loss": float(self.compute_loss(output, yb))}, len(yb))
            if measured.names:
                measured.update(self.select(output), yb)
        model.train(was_training)
        results = {**running.means(), **measured.compute()}
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in results.items() if isinstance(v, float)), flush=True)
        return results

    @torch.no_grad()
    def predict(self, x, *, batch_size: int = 1024):
        """The model's raw outputs (e.g. logits) for every sample, concatenated on the CPU.

        `x` holds inputs only: a tensor or array, a tuple of input tensors for a model with several
        inputs, an `ArrayDataset` (its `x`), or a `DataLoader` (the first element of each batch).
        A model returning a tuple gives a tuple of concatenated outputs.
        """
        if isinstance(x, ArrayDataset):
            x = x.x
        if isinstance(x, DataLoader):
            batches = ((b[0],) if isinstance(b, (tuple, list)) else (b,) for b in x)
        else:
            inputs = tuple(x) if isinstance(x, (tuple, list)) else (x,)
            batches = Batcher(*(ArrayDataset(t, float_dtype=self._float_dtype()).x for t in inputs), batch_size=batch_size)
        self._setup(None)
        if not isinstance(x, DataLoader) and all(torch.is_tensor(t) for t in batches.tensors) and batches.num_samples == 0:
            return habits.empty_prediction(self, batches.tensors)
        model = self.eval_model
        was_training = model.training
        model.eval()
        with self.device_autocast:
            outputs = [_to_cpu(_full_precision(model(*self._to_device(b)))) for b in batches]
        model.train(was_training)
        if isinstance(outputs[0], tuple):
            return tuple(torch.cat(parts) for parts in zip(*outputs))
        return torch.cat(outputs)

    def predict_proba(self, x, *, batch_size: int = 1024) -> torch.Tensor:
        """Probabilities: softmax of logits, exp of log-probabilities, sigmoid of binary logits; probabilities as they are."""
        out = self.select(self.predict(x, batch_size=batch_size))
        task = self.task or {"multiclass": "multiclass_logits"}.get(self.kind, self.kind)
        if task == "multiclass_logits":
            return out.softmax(-1)
        if task == "multiclass_log_probs":
            return out.exp()
        return out.sigmoid() if task == "binary_logits" else out

    # --------------------------------------------------------------- checkpoints
    def save_weights(self, path, metadata: dict | None = None):
        """Save the weights used for evaluation (the EMA weights when `ema` is on) as safetensors."""
        return ckpt.save_weights(path, self.eval_model, metadata)

    def save_checkpoint(self, path):
        """Save weights, optimizer, scheduler, RNG, history, callback, EMA and fp16-scaler state for `resume`."""
        state = {"epoch": self.epoch, "global_step": self.global_step, "history": self.history.epochs,
                 "callbacks": {type(cb).__name__: cb.state_dict() for cb in self.callbacks}}
        if self.scaler is not None:
            state["grad_scaler"] = self.scaler.state_dict()
        return ckpt.save_checkpoint(path, self.model, self.optimizer, self.scheduler, state, {"shuffle": self.generator},
                                    modules=self._extra_modules(), optimizers=self._extra_optimizers())

    def load_checkpoint(self, path, sample=None, *, epochs: int = 1, steps_per_epoch: int = 1) -> dict:
        """Restore a `save_checkpoint` file. The model is sized from `sample` (a batch) if it is still lazy."""
        if sample is not None:
            self._setup(sample, epochs=epochs, steps_per_epoch=steps_per_epoch)
        state = ckpt.load_checkpoint(path, self.model, self.optimizer, self.scheduler, {"shuffle": self.generator},
                                     modules=self._extra_modules(), optimizers=self._extra_optimizers())
        if self.scaler is not None and "grad_scaler" in state:
            self.scaler.load_state_dict(state["grad_scaler"])
        self.epoch, self.global_step = state.get("epoch", 0), state.get("global_step", 0)
        self.history = History(state.get("history"))
        for cb in self.callbacks:
            cb.load_state_dict(state.get("callbacks", {}).get(type(cb).__name__, {}))
        return state

    def summary(self, input_shape=None, print_fn=print):
        """Print (and return) the layer table; see `tujie.train.summary.summarize`."""
        from .summary import summarize

        if input_shape is None and self.example is not None and any(not t.is_floating_point() for t in self.example):
            return summarize(self.model, example=self.example, device=self.device, print_fn=print_fn)  # token ids, lengths
        return summarize(self.model, input_shape or self.input_shape, device=self.device, print_fn=print_fn)

    # ------------------------------------------------------------------ plumbing
    def _setup(self, sample, *, epochs: int = 1, steps_per_epoch: int = 1) -> None:
        """Move the model to the device, size lazy layers from `sample`, then build optimizer and scheduler."""
        self.model.to(self.device)
        if isinstance(self.augment, nn.Module):
            self.augment.to(self.device)
        if sample is not None:
            sample = self._to_device(sample)
            parts = tuple(sample) if isinstance(sample, (tuple, list)) else (sample,)
            inputs = parts[:-1] if len(parts) > 1 else parts  # the last element is the target
            if all(torch.is_tensor(t) for t in inputs):
                self.input_shape = tuple(inputs[0].shape[1:])
                self.example = tuple(t[:1].detach() for t in inputs)  # one real sample (dtype too: token ids) for summary()
                if needs_build(self.model):
                    with torch.no_grad():
                        was_training = self.model.training
                        self.model.eval()
                        self.model(*(t[:2] for t in inputs))
                        self.model.train(was_training)
        if sample is None:
            return
        if self.kind == "other" and self.loss_fn is not None and self._task_note is None and self._custom("train_step") is None:
            self._infer_task(sample)
        if self.optimizer is None and self._optimizer_spec is not None:
            options = dict(self._optimizer_options)
            params = transfer.optimizer_params(self.model, self._optimizer_spec, options)  # frozen ones too; lr_mult groups
            if params:  # a model with its own train_step may hold no parameters of its own
                if habits.has_sparse_gradients(self.model):  # torch's fused kernels take dense gradients only
                    options.setdefault("fused", False)
                self.optimizer = get_optimizer(self._optimizer_spec, params, **options)
        self._closure = self.optimizer is not None and habits.needs_closure(self.optimizer)
        self._trained = self._trained_params() if self.optimizer is not None else []
        self._trained_groups = len(self.optimizer.param_groups) if self.optimizer is not None else 0
        self._penalized = [p for p in self.model.parameters() if p.requires_grad and p.ndim > 1]
        self._regularized = any(m.__dict__.get("_kernel_penalty") is not None for m in self.model.modules())
        self._penalize = bool(self.l1 or self.l2 or self._regularized)  # off: the step adds nothing
        if self.ema_decay is not None and self.ema is None:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

            # use_buffers: batch-norm statistics are averaged too, so the EMA model is complete on its own
            self.ema = AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(self.ema_decay), use_buffers=True)
        self.steps_per_epoch = steps_per_epoch
        if self.ddp_model is None:  # several processes: wrapped once, after lazy layers are built
            self.ddp_model = distributed.wrap(self.model, self.device)
        if self.scheduler is None and self._scheduler_spec is not None and self.optimizer is not None:
            self.scheduler, self.scheduler_interval = get_scheduler(self._scheduler_spec, self.optimizer,
                                                                    epochs=epochs, steps_per_epoch=steps_per_epoch)

    def _infer_task(self, sample) -> None:
        """A callable loss says nothing of the task: read it from one batch's targets and outputs (once)."""
        *inputs, y = sample
        with torch.no_grad():
            was_training = self.model.training
            self.model.eval()
            output = self.select(self.model(*inputs))
            self.model.train(was_training)
        task, why = habits.infer_task(self.loss_fn, output, y)
        if task is None:
            self._task_note = f"Task: not recognised ({why}); pass task=... to Learner for metrics."
            if self.metric_names:
                self._task_note += f" Metrics {self.metric_names} are not computed."
                self.metric_names = []
            return
        self.task, self.kind = task, habits.TASK_KIND[task]
        if self._metrics_asked is None:
            self.metric_names = {"regression": ["mae"]}.get(self.kind, ["accuracy"])
        check_fits_task(self.metric_names, self.kind)
        self._batch_accuracy = batch_accuracy(self.kind) if "accuracy" in self.metric_names else None
        self._task_note = f"Task: {task} ({why}), read from the first batch; pass task=... to Learner to choose another."

    def _float_dtype(self) -> torch.dtype:
        """The model's floating dtype: float64 models get float64 data, everything else float32 as before."""
        return next((p.dtype for p in self.model.parameters() if p.dtype == torch.float64), torch.float32)

    def _convert_batch(self, batch):
        return habits.flatten_batch(batch, lambda a: as_tensor(a, "batch", self._float_dtype()))

    def _autocast(self):
        if self.precision == "32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _extra_modules(self) -> dict:
        return {"ema": self.ema} if self.ema is not None else {}

    def _extra_optimizers(self) -> dict:
        """Optimizers a model keeps for its own `train_step` (a GAN's two Adams), saved with checkpoints."""
        own = getattr(self.model, "own_optimizers", None)
        return own() if callable(own) else {}

    def _epoch_scheduler_step(self, logs: dict) -> None:
        if self.scheduler is None or self.scheduler_interval != "epoch":
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(logs.get("val_loss", logs.get("loss")))
        else:
            self.scheduler.step()

    def _custom(self, name: str, model: nn.Module | None = None):
        method = getattr(self.model if model is None else model, name, None)
        return None if method is None else (lambda batch: method(batch, self))

    def _to_device(self, batch):
        if self.device.type == "cpu":
            return batch  # in-memory CPU tensors: nothing to move
        if torch.is_tensor(batch):
            return batch.to(self.device, non_blocking=True)
        return type(batch)(t.to(self.device, non_blocking=True) if torch.is_tensor(t) else t for t in batch)

    def _as_dataset(self, x, y=None):
        """Normalise the accepted data kinds to `(dataset_or_loader, validation_or_None)`."""
        dtype = self._float_dtype()
        if y is None and _is_plain_iterable(x):  # a generator or any iterable of (x, y) batches
            return x, None
        if y is not None and habits.is_input_list(x):  # fit([users, items], ratings): several inputs
            return self._as_dataset((*x, y))
        if y is not None:
            return ArrayDataset(x, y, float_dtype=dtype), None
        if hasattr(x, "train") and hasattr(x, "val"):  # a bundle from tj.datasets.load
            return x.train, x.val
        if isinstance(x, (tuple, list)) and len(x) == 2 and habits.is_input_list(x[0]):  # ([x1, x2], y)
            return self._as_dataset(*x)
        if isinstance(x, (tuple, list)) and len(x) == 2:
            return ArrayDataset(*x, float_dtype=dtype), None
        if isinstance(x, (tuple, list)) and len(x) > 2:  # (x1, x2, ..., y): several inputs, then the target
            tensors = tuple(ArrayDataset(t, float_dtype=dtype).x for t in x)
            if len({len(t) for t in tensors}) != 1:
                raise DataError("The arrays of a data tuple have different numbers of samples.", expected="one row per sample in each",
                                received=", ".join(str(tuple(t.shape)) for t in tensors), fix="Pass aligned arrays.")
            return tensors, None
        if isinstance(x, (ArrayDataset, DataLoader, Dataset, Batcher)) or _makes_batches(x) or _is_batch_source(x):
            return x, None
        if torch.is_tensor(x) or type(x).__module__.startswith("numpy"):
            if self._custom("train_step") is not None:  # unlabelled data for a model that trains itself (GAN, VAE)
                return ArrayDataset(x, float_dtype=dtype), None
            raise DataError("Training data has inputs but no targets.", expected="fit(x, y) or fit((x, y))",
                            received=f"a single {type(x).__name__}", fix="Pass the targets as well.")
        raise DataError("Unsupported data.", expected="an (x, y) tuple, an ArrayDataset, a dataset bundle, a torch Dataset or DataLoader",
                        received=type(x).__name__, fix="Wrap your arrays as (x, y).")

    def _batches(self, data, batch_size: int, shuffle: bool, steps_per_epoch: int | None = None, epochs: int = 1, shard=False):
        if shard:  # training on several processes: each takes its share (ShardedBatcher) or is refused
            distributed.check_shardable(data)
        if isinstance(data, (Batcher, DataLoader, habits.BatchStream)) or _is_batch_source(data):
            return data  # the caller's loader keeps its own batching
        if _is_plain_iterable(data):  # a generator or any iterable of (x, y) batches
            return habits.BatchStream(data, steps_per_epoch, epochs, self._convert_batch)
        if _makes_batches(data):  # e.g. a TextDataset: padded, length-bucketed (tokens, lengths, y) batches
            return data.batches(batch_size=batch_size, shuffle=shuffle, generator=self.generator)
        if isinstance(data, (ArrayDataset, tuple)):
            tensors = data.tensors if isinstance(data, ArrayDataset) else data
            make = distributed.ShardedBatcher if shard and distributed.world_size() > 1 else Batcher
            return make(*tensors, batch_size=batch_size, shuffle=shuffle, generator=self.generator)
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=self.generator)

    def _split(self, data, fraction: float):
        if not isinstance(data, (ArrayDataset, tuple)):
            raise DataError("validation_split needs in-memory data.", expected="an (x, y) tuple or ArrayDataset",
                            received=type(data).__name__, fix="Pass validation_data=... for loaders and streaming datasets.")
        if not 0.0 < fraction < 1.0:
            raise ConfigError("Invalid value received for `validation_split`.", expected="0 < validation_split < 1",
                              received=f"validation_split={fraction!r}", fix="Pass validation_split=0.2, for example.")
        n = len(data) if isinstance(data, ArrayDataset) else len(data[0])
        order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
        n_val = int(n * fraction)
        if isinstance(data, tuple):  # (x1, x2, ..., y): several inputs
            return tuple(t[order[n_val:]] for t in data), tuple(t[order[:n_val]] for t in data)
        return data.subset(order[n_val:]), data.subset(order[:n_val])


def _full_precision(output):
    """Outputs of an autocast forward back in float32, so metrics and losses see full-precision numbers."""
    if torch.is_tensor(output):
        return output.float() if output.dtype in (torch.bfloat16, torch.float16) else output
    return type(output)(_full_precision(o) for o in output) if isinstance(output, (tuple, list)) else output


def needs_build(model: nn.Module) -> bool:
    """True while some layer still waits for its first batch to create its parameters."""
    from torch.nn.parameter import is_lazy

    from ..layers import Layer

    return any(isinstance(m, Layer) and not m.built for m in model.modules()) or any(is_lazy(p) for p in model.parameters())


def _batch_len(batch) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return len(first) if torch.is_tensor(first) else 1


def _to_cpu(output):
    return tuple(o.cpu() for o in output) if isinstance(output, (tuple, list)) else output.cpu()


def _first_batch(batches):
    """A small batch to size lazy layers; read from the tensors directly so the shuffle order is untouched."""
    if isinstance(batches, Batcher):
        return tuple(t[:2] for t in batches.tensors)
    if isinstance(batches, habits.BatchStream):  # a generator: the batch is put back
        return batches.peek()
    if callable(getattr(batches, "sample", None)):  # a batch source that can show samples without shuffling
        return batches.sample(2)
    return next(iter(batches))


def _is_batch_source(data) -> bool:
    """A ready batch source (tujie.text.BucketBatcher, PairBatcher): iterable, sized, and can `sample(n)` a batch."""
    return callable(getattr(data, "sample", None)) and hasattr(data, "__iter__") and hasattr(data, "__len__") \
        and not isinstance(data, (ArrayDataset, Dataset))


def _makes_batches(data) -> bool:
    """Datasets that know how to batch themselves (`data.batches(batch_size=, shuffle=, generator=)`)."""
    return callable(getattr(data, "batches", None)) and not isinstance(data, (DataLoader, Batcher))


def _is_plain_iterable(data) -> bool:
    """A generator or other iterable of batches that is none of the kinds `fit` batches itself."""
    if isinstance(data, list) and data and all(isinstance(b, (tuple, list)) for b in data):
        return True  # a list of (x, y) batches
    return hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict, tuple, list, ArrayDataset, Dataset, DataLoader,
                                                                Batcher, habits.BatchStream, torch.Tensor)) \
        and not type(data).__module__.startswith("numpy") and not _makes_batches(data) and not _is_batch_source(data)

