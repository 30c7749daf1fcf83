"""Optimizers and learning-rate schedulers by name. Any `torch.optim` object works as well.

Learning rates default to the values Keras and the papers use, so `optimizer="adam"`
behaves like the textbook's `optimizer='adam'`.

Adam, AdamW, SGD and Adagrad built by name are torch's *fused* kernels where torch has them
(CPU and CUDA): one kernel updates every weight, instead of a dozen small operations per
weight, which is over half of a small model's step. Results equal the unfused optimizer's
to float rounding; pass `fused=False` (or `foreach=...`) to choose otherwise.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, closest

# name -> (class, default keyword arguments)
OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {"lr": 0.01}),
    "adam": (torch.optim.Adam, {"lr": 1e-3}),
    "adamw": (torch.optim.AdamW, {"lr": 1e-3}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 1e-3}),
    "adagrad": (torch.optim.Adagrad, {"lr": 1e-2}),
    "adadelta": (torch.optim.Adadelta, {"lr": 1.0}),
}
FUSED = ("sgd", "adam", "adamw", "adagrad")  # torch has fused kernels for these (Adagrad: CPU only)
_FUSED_DEVICES = {"sgd": ("cpu", "cuda"), "adam": ("cpu", "cuda"), "adamw": ("cpu", "cuda"), "adagrad": ("cpu",)}


def get_optimizer(optimizer, params, **kwargs) -> torch.optim.Optimizer:
    """Build an optimizer from a name, a `{"name": ..., **kwargs}` mapping, a factory or an instance.

    Args:
        optimizer: "sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"; a dict with "name";
            a callable `params -> Optimizer`; or a ready `torch.optim.Optimizer` (returned as is).
        params: the parameters to optimise.
        kwargs: lr, momentum, nesterov, weight_decay, betas, ... (None values are ignored).

    Example:
        >>> opt = get_optimizer("sgd", [torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9, nesterov=True)
        >>> type(opt).__name__, opt.defaults["momentum"]
        ('SGD', 0.9)
    """
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if isinstance(optimizer, dict):
        optimizer = dict(optimizer)
        kwargs = {**optimizer, **kwargs}
        optimizer = kwargs.pop("name")
    if callable(optimizer):
        return optimizer(params)
    key = str(optimizer).lower()
    if key not in OPTIMIZERS:
        raise ConfigError(f"Unknown optimizer {optimizer!r}. {closest(key, OPTIMIZERS)}",
                          expected=f"one of {', '.join(OPTIMIZERS)}, or a torch.optim.Optimizer",
                          received=f"optimizer={optimizer!r}", fix="Pick a name from the list.")
    cls, defaults = OPTIMIZERS[key]
    options = {**defaults, **{k: v for k, v in kwargs.items() if v is not None}}
    if key != "sgd":  # momentum/nesterov only mean something for SGD; drop the config defaults
        options = {k: v for k, v in options.items() if not (k in ("momentum", "nesterov") and not v)}
    params = list(params)
    if _can_fuse(key, params, options):
        options["fused"] = True
    try:
        return cls(params, **options)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"Invalid options for optimizer {key!r}: {e}.", expected=f"keyword arguments of torch.optim.{cls.__name__}",
                          received=f"{options}", fix="Remove or correct the offending option.") from None


def _can_fuse(key: str, params: list, options: dict) -> bool:
    """True when torch's fused kernel applies: a fusable optimizer, no choice made, dense float weights on one supported device."""
    if key not in FUSED or any(k in options for k in ("fused", "foreach", "differentiable")):
        return False
    tensors = [p for item in params for p in (item["params"] if isinstance(item, dict) else [item])]
    devices = {t.device.type for t in tensors}
    return (len(devices) == 1 and devices <= set(_FUSED_DEVICES[key])
            and all(t.is_floating_point() and not t.is_sparse for t in tensors))


# options that count epochs or steps: a whole number of at least 1 (0 divides by zero inside torch)
_POSITIVE_COUNTS = ("step_size", "T_0", "T_max", "T_mult", "total_steps", "epochs", "steps_per_epoch")
_POSITIVE_NUMBERS = ("gamma", "factor", "max_lr", "div_factor", "final_div_factor")


def _check_scheduler_options(key: str, options: dict) -> None:
    """Refuse counts below 1 and rates <= 0 here, with the user's key, instead of a ZeroDivisionError mid-epoch."""
    for name in _POSITIVE_COUNTS:
        value = options.get(name)
        if name in options and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"Invalid value received for the {key!r} scheduler's `{name}`.", expected="an integer >= 1",
                              received=f"scheduler.{name}={value!r}", fix=f"Pass --set scheduler.{name}=10, for example.")
    for name in _POSITIVE_NUMBERS:
        value = options.get(name)
        values = value if isinstance(value, (list, tuple)) else [value]
        if name in options and not (key == "constant" and name == "factor") and any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in values):
            raise ConfigError(f"Invalid value received for the {key!r} scheduler's `{name}`.", expected="a number > 0",
                              received=f"scheduler.{name}={value!r}", fix=f"Pass --set scheduler.{name}=0.1, for example.")
    milestones = options.get("milestones")
    if "milestones" in options and (not isinstance(milestones, (list, tuple)) or not all(
            isinstance(m, int) and not isinstance(m, bool) and m >= 1 for m in milestones)):
        raise ConfigError(f"Invalid value received for the {key!r} scheduler's `milestones`.", expected="a list of epochs >= 1, e.g. [30, 60]",
                          received=f"scheduler.milestones={milestones!r}", fix="Pass --set 'scheduler.milestones=[30, 60]'.")


SCHEDULERS = {
    "step": (torch.optim.lr_scheduler.StepLR, {"step_size": 10, "gamma": 0.1}),
    "multistep": (torch.optim.lr_scheduler.MultiStepLR, {"milestones": [30, 60], "gamma": 0.1}),
    "exponential": (torch.optim.lr_scheduler.ExponentialLR, {"gamma": 0.9}),
    "cosine": (torch.optim.lr_scheduler.CosineAnnealingLR, {}),
    "cosine_restarts": (torch.optim.lr_scheduler.CosineAnnealingWarmRestarts, {"T_0": 10}),
    "constant": (torch.optim.lr_scheduler.ConstantLR, {"factor": 1.0, "total_iters": 0}),
    "onecycle": (torch.optim.lr_scheduler.OneCycleLR, {}),
    "plateau": (torch.optim.lr_scheduler.ReduceLROnPlateau, {"factor": 0.1, "patience": 5}),
}


def get_scheduler(scheduler, optimizer, *, epochs: int, steps_per_epoch: int):
    """Build a learning-rate scheduler; returns `(scheduler, interval)` with interval "epoch" or "step".

    `scheduler` is a name, a `{"name": ..., "interval": ..., **kwargs}` mapping, a factory
    `optimizer -> scheduler`, or a scheduler object (stepped once per epoch). Cosine and
    one-cycle fill in their length from `epochs`/`steps_per_epoch`; one-cycle and cosine
    with `interval: step` step every batch. "plateau" steps on the monitored `val_loss`.
    "cosine_restarts" is SGDR (Loshchilov & Hutter 2017): cosine cycles of `T_0` epochs
    (or steps), each `T_mult` times longer than the last, the rate jumping back up at each restart.

    Any scheduler but one-cycle (which has its own) and plateau takes `warmup: N`: the rate
    climbs linearly from `warmup_start` (default 0.01) times the base rate to the base rate over
    the first N epochs (steps with `interval: step`), then the named schedule takes over
    (Goyal et al. 2017). `{"name": "constant", "warmup": 5}` is warm-up alone.

    Resuming with more epochs (`tujie run --resume RUN --set epochs=8`) stretches the schedule:
    the run continues on the curve a run planned for the new length follows, from the step it
    stopped at (`checkpoint.load_scheduler_state`). Cosine gets the new `T_max` and one-cycle the
    new `total_steps` (the rate moves to the longer curve's value at that step, so a finished
    cosine run's rate rises again, and the run says so); step, multistep, exponential, constant,
    plateau and restarts count steps only and go on unchanged. An explicit `T_max` or
    `total_steps` in the recipe is kept as written.

    Example:
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        >>> sched, interval = get_scheduler({"name": "step", "step_size": 1, "gamma": 0.5}, opt, epochs=3, steps_per_epoch=10)
        >>> type(sched).__name__, interval
        ('StepLR', 'epoch')
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        >>> sched, _ = get_scheduler({"name": "cosine", "warmup": 2}, opt, epochs=6, steps_per_epoch=10)
        >>> lrs = []
        >>> for _ in range(6):
        ...     lrs.append(round(opt.param_groups[0]["lr"], 4)); opt.step(); sched.step()
        >>> lrs
        [0.001, 0.0505, 0.1, 0.0854, 0.05, 0.0146]
    """
    if scheduler is None:
        return None, "epoch"
    if isinstance(scheduler, (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)):
        return scheduler, "epoch"
    if callable(scheduler) and not isinstance(scheduler, (str, dict)):
        return scheduler(optimizer), "epoch"
    options = dict(scheduler) if isinstance(scheduler, dict) else {"name": scheduler}
    key = str(options.pop("name")).lower()
    if key not in SCHEDULERS:
        raise ConfigError(f"Unknown scheduler {key!r}. {closest(key, SCHEDULERS)}", expected=f"one of {', '.join(SCHEDULERS)}",
                          received=f"scheduler={key!r}", fix="Pick a name from the list.")
    interval = options.pop("interval", "step" if key == "onecycle" else "epoch")
    warmup, warmup_start = options.pop("warmup", 0), options.pop("warmup_start", 0.01)
    if warmup and key in ("onecycle", "plateau"):
        raise ConfigError(f"The {key!r} scheduler does not take a `warmup`.",
                          expected="warmup with step, multistep, exponential, cosine, cosine_restarts or constant",
                          received=f"scheduler={key!r}, warmup={warmup!r}",
                          fix="One-cycle warms up by itself (its `pct_start`); drop `warmup`, or pick another scheduler.")
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0:
        raise ConfigError("Invalid value received for the scheduler's `warmup`.", expected="an integer >= 0 (epochs, or steps with interval: step)",
                          received=f"warmup={warmup!r}", fix="Pass warmup: 5, for example.")
    cls, defaults = SCHEDULERS[key]
    options = {**defaults, **options}
    _check_scheduler_options(key, options)
    if key == "cosine":
        options.setdefault("T_max", max(1, epochs * (steps_per_epoch if interval == "step" else 1) - warmup))
    if key == "onecycle":
        options.setdefault("max_lr", [g["lr"] for g in optimizer.param_groups])
        options.setdefault("total_steps", epochs * steps_per_epoch)
    try:
        main = cls(optimizer, **options)
        if not warmup:
            return main, interval
        ramp = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=warmup_start, end_factor=1.0, total_iters=warmup)
        return torch.optim.lr_scheduler.SequentialLR(optimizer, [ramp, main], milestones=[warmup]), interval
    except (TypeError, ValueError) as e:
        raise ConfigError(f"Invalid options for scheduler {key!r}: {e}.", expected=f"keyword arguments of {cls.__name__}",
                          received=str(options), fix="Remove or correct the offending option.") from None


def check_optimizer_name(optimizer) -> None:
    """Refuse an unknown optimizer name at once (compile / Learner), not at the first batch."""
    name = optimizer.get("name") if isinstance(optimizer, dict) else optimizer
    if isinstance(name, str) and name.lower() not in OPTIMIZERS:
        raise ConfigError(f"Unknown optimizer {name!r}. {closest(name.lower(), OPTIMIZERS)}",
                          expected=f"one of {', '.join(OPTIMIZERS)}, or a torch.optim.Optimizer",
                          received=f"optimizer={name!r}", fix="Pick a name from the list.")
