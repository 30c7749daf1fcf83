"""What the runner hands a kind: the config, the run directory, a printer, data and seeding helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import config as cfg
from .._io import write_text
from ..i18n import _
from ..utils import seed_everything


@dataclass
class RunContext:
    """One run, as a kind sees it.

    The run directory is made on first use of `run_dir` (printing "Run directory: ..." and
    writing config.yaml), so a kind that loads its data and builds its model first leaves no
    empty folder behind when either fails.

    Args:
        config: the validated config (base schema plus every kind's section).
        say: prints a progress line (a no-op when quiet).
        verbose: 1 for progress bars, 0 for none.
        resume: the run directory to continue (kinds with `resumable=True`), else None.
    """

    config: cfg.RunConfig
    say: Callable[..., None] = print
    verbose: int = 1
    resume: Path | None = None
    _run_dir: Path | None = field(default=None, repr=False)
    _data: object = field(default=None, repr=False)

    @property
    def run_dir(self) -> Path:
        if self._run_dir is None:
            self._run_dir = Path(self.resume) if self.resume else new_run_dir(self.config)
            self.say(_("Run directory: {path}").format(path=self._run_dir))
            write_text(self._run_dir / "config.yaml", cfg.to_yaml(self.config))
        return self._run_dir

    @property
    def data(self):
        """The recipe's data (`load_data`), loaded on first use and kept."""
        if self._data is None:
            from ._common import load_data

            self._data = load_data(self.config)
        return self._data

    def open(self):
        """Load the data, then make the run directory and print the data's notes: `(data, run_dir)`.

        In that order, so a dataset that fails to load leaves no empty run directory behind.
        """
        data = self.data
        run_dir = self.run_dir
        self.say_data_notes()
        return data, run_dir

    def say_data_notes(self, notes=None) -> None:
        for note in self.data.notes if notes is None else notes:
            self.say(_("Data: {note}").format(note=note))

    def seed(self, seed: int | None = None) -> None:
        seed_everything(self.config.seed if seed is None else seed)


def new_run_dir(config: cfg.RunConfig) -> Path:
    """`output_dir/<run_name or recipe-timestamp>`, made now; two runs in one second get distinct folders."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(config.output_dir) / (config.run_name or f"{config.recipe}-{stamp}")
    run_dir, n = base, 1
    while run_dir.exists():
        run_dir, n = base.with_name(f"{base.name}-{n}"), n + 1
    run_dir.mkdir(parents=True)
    return run_dir
