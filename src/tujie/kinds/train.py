"""The `train` kind: one supervised model (images, tabular data, text), trained, tested and reported.

data → model → fit (with the run directory's callbacks: checkpoints, metrics.jsonl, history.csv,
TensorBoard, the learning-rate schedule, optionally per-layer gradient norms) → test → summary.
Under torchrun (`tujie run --nproc N`) every process runs it, and only rank 0 writes files and
tests (`train.distributed`); `batch_size` is then per process.
It is the only kind that resumes: `tujie run --resume RUN_DIR` continues it bit for bit.
`--set epochs=N` extends it: the learning-rate schedule is stretched to the new length and
continues from the current step (printed; see `train.optimizers.get_scheduler`). A resume with no
more epochs than done, or from NaN weights, is refused before anything in the run is touched.

Files: last.safetensors, best.safetensors, metrics.jsonl, history.csv, schedule.json,
tensorboard/, grad_stats.jsonl, evaluation.json, data.json (the data contract: deploy.runs), samples.safetensors (images),
text_samples.json and tokenizer.json (texts). The report draws them with the shared sections.

Example:
    >>> import tujie as tj
    >>> result = tj.run("digits-mlp", overrides=["epochs=1"], verbose=0)  # doctest: +SKIP
    >>> result.summary["test"]["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import time

from ..errors import ConfigError
from ..i18n import N_, _
from ..train import distributed
from ..train.run_directory import file_callbacks, fit_summary
from ..report import KindReport, Section
from . import Kind, RunContext, register
from ._common import check_epoch_checkpoint
from ._test_phase import test_model


def run(context: RunContext) -> dict:
    from ..train import EarlyStopping
    from ..train.builders import build_learner
    from ._common import build_model

    config, say = context.config, context.say
    started = time.perf_counter()
    data = context.data
    model = build_model(config, data)
    monitor = config.train.monitor if data.val is not None else config.train.monitor.removeprefix("val_")
    _check_monitors(config, monitor, has_val=data.val is not None)
    distributed.check_shardable(data.train)  # several processes and text batches: refused before the run directory exists
    run_dir = context.run_dir  # made only now: a failed start leaves no empty run behind
    context.say_data_notes()
    main = distributed.is_main()  # under torchrun only rank 0 writes files
    if main and getattr(data, "tokenizer", None) is not None:  # text runs: prediction needs the very same vocabulary
        data.tokenizer.save(run_dir / "tokenizer.json")
    if main:  # data.json: what raw input becomes the model's input, for `tujie export` and `tujie serve` (deploy.runs)
        from ..deploy.runs import write_data_contract

        write_data_contract(run_dir, data)

    callbacks = [EarlyStopping(**config.train.early_stopping.model_dump())] if config.train.early_stopping else []
    files, checkpoint = file_callbacks(run_dir, monitor=monitor, grad_stats_every=config.train.grad_stats_every)
    callbacks += files if main else []  # the loggers, then the checkpoint: after a kill the logs never lag it
    callbacks += context.callbacks  # from the caller: a hyperparameter search's pruner
    t, o = config.train, config.optimizer
    if t.freeze or t.unfreeze_every or o.lr_mult or o.layer_decay is not None:  # transfer: which blocks trained when
        from ..train.transfer import BlockSchedule

        callbacks.append(BlockSchedule(run_dir / "blocks.json"))
    learner = build_learner(config, model, callbacks, num_classes=data.num_classes)
    if config.evaluate.threshold is not None and learner.kind not in ("binary_logits", "binary_probs"):
        raise ConfigError("Threshold tuning needs a binary classifier.",
                          expected="a binary loss (bce_with_logits or bce) with one output per sample",
                          received=f"evaluate.threshold with loss {config.train.loss!r} ({learner.kind})",
                          fix="Remove evaluate.threshold, or train a binary classifier with loss: bce_with_logits.")
    processes = distributed.world_size()
    if processes > 1:
        say(_("Training on {n} processes ({backend}): {batch} samples per process per step, a global batch of {total}.").format(
            n=processes, backend=distributed.backend(), batch=config.train.batch_size, total=config.train.batch_size * processes))
    if context.resume:
        steps = distributed.steps_per_epoch(len(data.train), config.train.batch_size)
        train = data.train
        sample = train.batches(batch_size=2, shuffle=False).sample(2) if hasattr(train, "batches") else (train.x[:2], train.y[:2])
        state = learner.load_checkpoint(run_dir / "last.safetensors", sample, epochs=config.train.epochs, steps_per_epoch=steps)
        say(_("Resuming after epoch {epoch} of {epochs}.").format(epoch=learner.epoch, epochs=config.train.epochs))
        if state.get("schedule_changes"):  # the run is extended (or shortened): the schedule is stretched to its new length
            changes = ", ".join(f"{k} {old} → {new}" for k, (old, new) in state["schedule_changes"].items())
            say(_("Learning-rate schedule stretched to {epochs} epochs ({changes}); it continues from step {step} "
                  "on the longer curve, at learning rate {lr}.").format(
                epochs=config.train.epochs, changes=changes, step=learner.global_step,
                lr=f"{learner.optimizer.param_groups[0]['lr']:.3g}"))

    status, message = "finished", None
    try:
        learner.fit(data.train, epochs=config.train.epochs, batch_size=config.train.batch_size,
                    validation_data=data.val, verbose=context.verbose, initial_epoch=learner.epoch)
        if learner.stop_status:  # stopped by a caller's callback with a verdict ("pruned"): no test
            status, message = learner.stop_status, learner.stop_reason
        if learner.diverged:
            status, message = "diverged", learner.stop_reason
            if message:  # say what is on disk
                message = message.replace("no checkpoint is written after it", "the last good checkpoint was kept"
                                          if (run_dir / "last.safetensors").is_file() else
                                          "no checkpoint was written (none was saved before the loss diverged)")
    except KeyboardInterrupt:
        status = "interrupted"
        message = _("interrupted during epoch {epoch}; continue with: tujie run --resume {run_dir}").format(
            epoch=learner.epoch + 1, run_dir=run_dir)
    summary = fit_summary(learner, checkpoint, status, message, started)
    if processes > 1:
        summary["distributed"] = {"processes": processes, "backend": distributed.backend(),
                                  "batch_per_process": config.train.batch_size, "global_batch": config.train.batch_size * processes}
    if main and status == "finished" and data.test is not None:  # the other processes hold the same weights
        summary["test"] = test_model(learner, data, config, run_dir)
        shown = " - ".join(f"{k}: {v:.4f}" for k, v in summary["test"].items())
        say(_("Test: {scores}").format(scores=shown))
    return summary


def _check_monitors(config, monitor: str, *, has_val: bool) -> None:
    """Refuse a `monitor` (or early-stopping monitor) that names no metric this run logs: it would never pick a best epoch."""
    from ..train.metrics import normalize_names

    names = normalize_names(config.train.metrics)
    logged = ["loss", *(["accuracy"] if "accuracy" in names else [])]
    if has_val:
        logged += ["val_loss", *(f"val_{n}" for n in names)]
    extras = {"lr", "grad_norm", "grad_norm_max", "epoch_time_s", "samples_per_s"}
    asked = [("train.monitor", config.train.monitor, monitor)]
    if config.train.early_stopping:
        es = config.train.early_stopping.monitor
        asked.append(("train.early_stopping.monitor", es, es if has_val else es.removeprefix("val_")))
    for key, given, used in asked:
        if used not in logged and used not in extras:
            from ..errors import closest

            raise ConfigError(f"The metric {key}={given!r} is not one this run logs, so no best epoch would ever be chosen. "
                              f"{closest(used, logged)}", expected=f"one of {', '.join(logged)}",
                              received=f"{key}={given!r}" + ("" if has_val else " (no validation split: val_ metrics are absent)"),
                              fix=f"Set --set {key}=val_loss, or add the metric to train.metrics.")


def _blocks_section(run) -> str:
    from ..plots.transfer import block_schedule
    from ..report.format import _img, _list, _section

    epochs = _list(run.blocks, "epochs", "blocks.json")
    if not epochs:
        raise ValueError("blocks.json holds no epoch")
    return _section("blocks", _("Which blocks trained when"),
                    _("One row per block of the model, the head on top; one column per epoch. A coloured cell trained "
                      "that epoch at the learning rate written in it (brighter: higher); a grey cell was frozen. A linear "
                      "probe trains only the head; gradual unfreezing opens one more block from the top every few "
                      "epochs; discriminative rates give lower blocks, which hold the more general features, smaller "
                      "steps."), _img(block_schedule(epochs), _("Which blocks trained when")))


REPORT = KindReport("train", files=("blocks.json",),
                    sections=(Section("blocks", N_("Which blocks trained when"), _blocks_section,
                                      lambda run: run.blocks is not None, order=25),))
# the smoke run sets a layer decay, so the contract test sees the blocks section too
register(Kind("train", run, N_("one supervised model (images, tabular data, text): fit, test, report"), resumable=True,
              check_resume=check_epoch_checkpoint, resumable_changes=("train.epochs",),
              distributed=True, order=0,
              report=REPORT, smoke=("digits-mlp", ("epochs=1", "optimizer.layer_decay=0.5"))))
