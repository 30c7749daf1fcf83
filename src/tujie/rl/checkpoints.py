"""Saving and resuming a deep agent (DQN, REINFORCE, A2C): one safetensors file per agent.

It holds the networks, the optimizer, the agent's random generator, the step counter (and ε,
which follows from it), the curves so far, and who wrote it (environment, agent, seed and
settings): a resume with other settings is refused, naming both. What it does not hold, said
once here for every deep agent: the environments' internal state (a gymnasium environment cannot
be saved in general), so the episodes in progress at the save start over after a resume, and
DQN's replay buffer, which is refilled (`learning_starts` fresh steps before training goes on).

Example:
    >>> import tempfile, pathlib, torch
    >>> net = torch.nn.Linear(4, 2)
    >>> opt = torch.optim.Adam(net.parameters())
    >>> gen = torch.Generator().manual_seed(0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "agent.safetensors"
    >>> _ = save_agent(path, net, opt, gen, {"env": "CartPole-v1", "seed": 0}, {"step": 500, "curves": {}})
    >>> load_agent(path, net, opt, gen, {"env": "CartPole-v1", "seed": 0})["step"]
    500
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CheckpointError
from ..i18n import _


def _plain(identity: dict) -> dict:
    return json.loads(json.dumps(identity, default=list))  # tuples as lists, as JSON gives them back


def saved_identity(path) -> tuple[dict, dict]:
    """(who wrote it, its state) of a `save_agent` file, without building an agent."""
    from ..train.checkpoint import read_checkpoint

    _tensors, meta = read_checkpoint(path)
    state = dict(meta.get("state") or {})
    return state.pop("identity", {}), state


def save_agent(path, network, optimizer, generator, identity: dict, state: dict, modules: dict | None = None) -> Path:
    """Write `network`, `optimizer`, `generator` and `state` (step, curves, ...) with `identity` (who wrote it)."""
    from ..train.checkpoint import save_checkpoint

    return save_checkpoint(path, network, optimizer, state={**state, "identity": _plain(identity)},
                           generators={"agent": generator}, modules=modules)


def load_agent(path, network, optimizer, generator, identity: dict, modules: dict | None = None) -> dict:
    """Restore what `save_agent` wrote into these objects, after checking it was written by the same run; its state."""
    from ..train.checkpoint import load_checkpoint

    saved, _state = saved_identity(path)
    now = _plain(identity)
    differ = [f"{k}: {saved.get(k)!r} ≠ {now.get(k)!r}" for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    if differ:
        raise CheckpointError(_("Cannot resume from {path}: it was saved by another run ({differ}).").format(
                                  path=path, differ="; ".join(differ)),
                              expected=_("a checkpoint of the same environment, agent, seed and settings"),
                              fix=_("Resume with the settings the checkpoint was saved with, or start without resume."))
    return load_checkpoint(path, network, optimizer, generators={"agent": generator}, modules=modules)
