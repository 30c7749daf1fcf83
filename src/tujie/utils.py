"""Small shared helpers: seeding, device selection, thread count, environment versions."""

from __future__ import annotations

import contextlib
import os
import platform
import random
import sys

import torch

from .errors import ConfigError


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy (if imported) and torch so a run can be repeated exactly.

    Example:
        >>> seed_everything(0); a = torch.rand(1); seed_everything(0); bool(torch.rand(1) == a)
        True
    """
    random.seed(seed)
    torch.manual_seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)


@contextlib.contextmanager
def one_thread():
    """Run a block on one torch thread, then restore the count.

    For work made of many tiny ops (2-D points, curves of a few hundred values, 64-unit layers):
    a second thread only adds waiting, and on a busy machine a lot of it.

    Example:
        >>> before = torch.get_num_threads()
        >>> with one_thread():
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def select_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolve "auto" (cuda, then mps, then cpu) or check that an explicit device exists.

    Example:
        >>> select_device("cpu")
        device(type='cpu')
    """
    if isinstance(device, torch.device):
        return device
    name = (device or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":")[0]
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())}
    if kind not in available:
        raise ConfigError(f"Unknown device {device!r}.", expected='"auto", "cpu", "cuda", "cuda:N" or "mps"',
                          received=f"device={device!r}", fix="Pass device=auto.")
    if not available[kind]:
        raise ConfigError(f"Device {device!r} was requested but is not available on this machine.",
                          expected="a device torch can see", received=f"device={device!r}",
                          fix='Use device="auto" (picks the best available) or device="cpu".')
    return torch.device(name)


def environment() -> dict:
    """Versions and hardware facts recorded in every run's summary."""
    from . import __version__

    env = {"python": platform.python_version(), "torch": torch.__version__, "tujie": __version__,
           "platform": platform.platform(), "threads": torch.get_num_threads(), "cpus": os.cpu_count()}
    if torch.cuda.is_available():
        env["cuda"] = torch.version.cuda
        env["gpu"] = torch.cuda.get_device_name(0)
    return env
