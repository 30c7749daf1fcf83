"""Checkpoints as safetensors: weights, optimizer, scheduler, RNG and loop state, never pickle.

One file holds everything needed to resume: tensors under prefixed names
(`model.`, `optimizer.`, `rng.`) and the rest (epoch, history, optimizer hyper-parameters,
scheduler and callback state) as JSON in the safetensors metadata. Loading checks the
file before touching the model, so a truncated or foreign checkpoint is refused and
nothing is overwritten.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .._io import _jsonable, write_bytes
from ..errors import CheckpointError

FORMAT = "tujie-checkpoint-1"


def save_weights(path, model: torch.nn.Module, metadata: dict | None = None) -> Path:
    """Write a model's weights (and optional JSON metadata) to a safetensors file, atomically.

    Example:
        >>> import tempfile, os
        >>> p = save_weights(os.path.join(tempfile.mkdtemp(), "w.safetensors"), torch.nn.Linear(2, 1))
        >>> sorted(load_weights(p))
        ['bias', 'weight']
    """
    return _write(path, {f"model.{k}": v for k, v in model.state_dict().items()}, metadata or {})


def save_checkpoint(path, model, optimizer=None, scheduler=None, state: dict | None = None,
                    generators: dict | None = None, *, modules: dict | None = None, optimizers: dict | None = None) -> Path:
    """Write everything needed to resume training into one safetensors file, atomically.

    `modules` (e.g. {"ema": averaged_model}) and `optimizers` (e.g. a GAN's {"optimizer_g": ...})
    are extra state saved under their own prefixes and restored by `load_checkpoint`.
    """
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    meta: dict = {"state": state or {}}
    if optimizer is not None:
        meta["optimizer"] = _optimizer_state(optimizer, "optimizer", tensors)
    for name, module in (modules or {}).items():
        tensors.update({f"{name}.{k}": v for k, v in module.state_dict().items()})
    for name, opt in (optimizers or {}).items():
        if opt is not None:  # made on first use: nothing to save before the first step
            meta.setdefault("optimizers", {})[name] = _optimizer_state(opt, name, tensors)
    if scheduler is not None:
        meta["scheduler"] = scheduler.state_dict()
    tensors["rng.torch"] = torch.get_rng_state()
    for name, gen in (generators or {}).items():
        tensors[f"rng.{name}"] = gen.get_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    return _write(path, tensors, meta)


def _optimizer_state(optimizer, prefix: str, tensors: dict) -> dict:
    """Put an optimizer's tensor state into `tensors` as `prefix.<param id>.<key>`; return the JSON rest."""
    opt = optimizer.state_dict()
    scalars: dict = {}
    for pid, pstate in opt["state"].items():
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return {"param_groups": opt["param_groups"], "scalars": scalars}


def _load_optimizer_state(optimizer, prefix: str, tensors: dict, saved: dict) -> None:
    state: dict = {}
    for name, t in tensors.items():
        if name.startswith(prefix + "."):
            pid, key = name[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(pid), {})[key] = t
    for pid, scalars in saved["scalars"].items():
        state.setdefault(int(pid), {}).update(scalars)
    optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})


def save_state(path, tensors: dict, metadata: dict) -> Path:
    """Write named tensors and JSON metadata (an agent's table and counters) atomically; `read_checkpoint` reads them.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "table.safetensors"
        >>> _ = save_state(path, {"q": torch.zeros(2, 3)}, {"episode": 7})
        >>> tensors, meta = read_checkpoint(path)
        >>> tuple(tensors["q"].shape), meta["episode"]
        ((2, 3), 7)
    """
    return _write(path, tensors, metadata)


def _write(path, tensors: dict, meta: dict) -> Path:
    from safetensors.torch import save

    seen, clean = set(), {}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), t.dtype, tuple(t.shape))
        clean[name] = t.clone() if key in seen else t  # safetensors refuses tensors that share memory (tied weights)
        seen.add(key)
    data = save(clean, metadata={"format": FORMAT, "tujie": json.dumps(meta, default=_jsonable)})
    return write_bytes(path, data)


def read_checkpoint(path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read and validate a checkpoint: `(tensors, metadata)`; any damage raises CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.", expected="a .safetensors file written by tujie",
                              fix="Check the path; a run directory keeps `last.safetensors` and `best.safetensors`.")
    data = path.read_bytes()
    try:
        tensors = load(data)
        header_len = int.from_bytes(data[:8], "little")
        meta_raw = json.loads(data[8:8 + header_len]).get("__metadata__") or {}
        meta = json.loads(meta_raw.get("tujie", "{}"))
    except (SafetensorError, ValueError, RuntimeError, OSError) as e:
        raise CheckpointError(f"Checkpoint {path} is corrupted or truncated ({e}).",
                              expected="a complete safetensors file", received=f"{len(data):,} bytes",
                              fix="Resume from another checkpoint (e.g. best.safetensors) or start the run again; nothing was overwritten.") from None
    return tensors, meta


def load_weights(path) -> dict[str, torch.Tensor]:
    """The model state dict stored in a checkpoint (keys without the `model.` prefix)."""
    tensors, _ = read_checkpoint(path)
    return {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}


def check_compatible(path, model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Refuse weights whose names or shapes differ from the model's, listing the differences."""
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in weights.items()}
    problems = [f"missing {k}" for k in own if k not in theirs]
    problems += [f"unexpected {k}" for k in theirs if k not in own]
    problems += [f"{k}: model {own[k]} vs checkpoint {theirs[k]}" for k in own if k in theirs and own[k] != theirs[k]]
    if problems:
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
        raise CheckpointError(f"Checkpoint {path} does not fit model {type(model).__name__}: {shown}.",
                              expected="the same layer names and shapes", fix="Load it into the model it was saved from (same recipe and model settings).")


def load_checkpoint(path, model, optimizer=None, scheduler=None, generators: dict | None = None, *,
                    modules: dict | None = None, optimizers: dict | None = None) -> dict:
    """Restore model/optimizer/scheduler/RNG (and extra `modules`/`optimizers`) from `path`; returns the loop `state`."""
    tensors, meta = read_checkpoint(path)
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    check_compatible(path, model, weights)
    if optimizer is not None and "optimizer" not in meta:
        raise CheckpointError(f"Checkpoint {path} holds weights only, no optimizer state.",
                              fix="Resume from `last.safetensors`; load `best.safetensors` with load_weights() instead.")
    extra = {}
    for name, module in (modules or {}).items():
        own = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
        if own:  # a checkpoint written before `name` existed (e.g. EMA turned on later) keeps the fresh copy
            check_compatible(path, module, own)
            extra[name] = (module, own)
    model.load_state_dict(weights)
    for module, own in extra.values():
        module.load_state_dict(own)
    if optimizer is not None:
        _load_optimizer_state(optimizer, "optimizer", tensors, meta["optimizer"])
    for name, opt in (optimizers or {}).items():
        if opt is not None and name in meta.get("optimizers", {}):
            _load_optimizer_state(opt, name, tensors, meta["optimizers"][name])
    changes = {}
    if scheduler is not None and "scheduler" in meta:
        changes = load_scheduler_state(scheduler, meta["scheduler"])
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    for name, gen in (generators or {}).items():
        if f"rng.{name}" in tensors:
            gen.set_state(tensors[f"rng.{name}"])
    state = meta.get("state", {})
    if changes:
        state = {**state, "schedule_changes": changes}
    return state


# Scheduler attributes fixed by the run's length (cosine's T_max, one-cycle's total_steps and phases)
_LENGTH_KEYS = ("T_max", "total_steps", "_schedule_phases")


def load_scheduler_state(scheduler, saved: dict) -> dict:
    """Load a scheduler's saved state; a schedule built for a different run length is stretched, not replaced.

    `scheduler` was built for the run as it is now (e.g. 8 epochs); `saved` comes from the run as it was
    (e.g. 3 epochs). Everything is restored (step count, base rates ...) except what fixes the schedule's
    length: cosine's `T_max` and one-cycle's `total_steps` keep their new values, and the learning rate is
    set to the new schedule's value at the current step. So extending a run continues on the curve a run of
    the new length would follow, from where it stands. Step, multistep, exponential, constant, plateau and
    restarts depend on the step count only and continue as they are. Returns `{key: [old, new]}` for what changed.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> short = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
        >>> opt.step(); short.step(); opt.step(); short.step()
        >>> long = torch.optim.lr_scheduler.CosineAnnealingLR(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0), T_max=4)
        >>> load_scheduler_state(long, short.state_dict())
        {'T_max': [2, 4]}
        >>> round(long.optimizer.param_groups[0]["lr"], 4)  # half way through the 4-step cosine
        0.5
    """
    fresh = scheduler.state_dict()
    scheduler.load_state_dict(saved)
    children = getattr(scheduler, "_schedulers", None)
    if children is None:  # a plain scheduler
        return _keep_length(scheduler, fresh, saved, active=True)
    import bisect

    active = bisect.bisect_right(getattr(scheduler, "_milestones", []), scheduler.last_epoch)
    changes = {}
    for i, (child, new, old) in enumerate(zip(children, fresh.get("_schedulers", []), saved.get("_schedulers", []))):
        changes.update(_keep_length(child, new, old, active=i == active))
    if changes:
        scheduler._last_lr = [g["lr"] for g in scheduler.optimizer.param_groups]
    return changes


def _keep_length(scheduler, fresh: dict, saved: dict, *, active: bool) -> dict:
    changed = {k: [saved.get(k), fresh[k]] for k in _LENGTH_KEYS if k in fresh and saved.get(k) != fresh[k]}
    if not changed:
        return {}
    for key in changed:
        setattr(scheduler, key, fresh[key])
    if active and scheduler.last_epoch > 0:  # the rate of the new schedule at the current step
        if hasattr(scheduler, "_get_closed_form_lr"):
            rates = scheduler._get_closed_form_lr()
        else:
            scheduler._get_lr_called_within_step = True  # one-cycle's get_lr is already in closed form
            try:
                rates = scheduler.get_lr()
            finally:
                scheduler._get_lr_called_within_step = False
        for group, rate in zip(scheduler.optimizer.param_groups, rates):
            group["lr"] = rate
        scheduler._last_lr = list(rates)
    return {k: v for k, v in changed.items() if not k.startswith("_")}
