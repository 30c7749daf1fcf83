"""What the runner hands a kind: the config, the run directory, a printer, data and seeding helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import config as cfg
from .._io import output_error, remove_leftovers, write_text
from ..errors import ConfigError
from ..i18n import _
from ..utils import seed_everything


@dataclass
class RunContext:
    """One run, as a kind sees it.

    The run directory is made on first use of `run_dir` (printing "Run directory: ..." and
    writing config.yaml), so a kind that loads its data and builds its model first leaves no
    empty folder behind when either fails. Under torchrun only rank 0 makes it; the other
    processes get its path (all processes reach `run_dir` at the same point of the kind's run).

    Args:
        config: the validated config (base schema plus every kind's section).
        say: prints a progress line (a no-op when quiet).
        verbose: 1 for progress bars, 0 for none.
        resume: the run directory to continue (kinds with `resumable=True`), else None.
        callbacks: extra training callbacks from the caller (a search's pruner); kinds that train
            with `Learner.fit` attach them after their own.
    """

    config: cfg.RunConfig
    say: Callable[..., None] = print
    verbose: int = 1
    resume: Path | None = None
    callbacks: tuple = ()
    _run_dir: Path | None = field(default=None, repr=False)
    _data: object = field(default=None, repr=False)

    @property
    def run_dir(self) -> Path:
        from ..train import distributed

        if self._run_dir is None and not distributed.is_main():  # another process of a torchrun: rank 0's folder, untouched
            self._run_dir = Path(distributed.broadcast(None))
        if self._run_dir is None:
            self._run_dir = Path(self.resume) if self.resume else new_run_dir(self.config)
            distributed.broadcast(str(self._run_dir))  # its name, for the other processes (a no-op on one)
            self.say(_("Run directory: {path}").format(path=self._run_dir))
            if self.resume:  # a write killed mid-way left its temporary file behind
                for leftover in remove_leftovers(self._run_dir):
                    self.say(_("Removed an unfinished temporary file: {path}").format(path=leftover))
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
    """`output_dir/<run_name or recipe-timestamp>`, made now; two runs in one second get distinct folders.

    Each candidate name is claimed with one `mkdir` (atomic: of two runs that try the same name, one
    gets it and the other moves on to `-1`, `-2` ...), so runs started together never share a folder.
    """
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    output = Path(config.output_dir)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"output_dir {output} is a file, not a folder.", expected="a folder (made if missing) for the run directories",
                          received=f"output_dir={config.output_dir!r}", fix="Set --set output_dir=runs, or move the file away.") from None
    except NotADirectoryError:
        raise ConfigError(f"output_dir {output} lies under a file, so it cannot be a folder.",
                          expected="a path whose parents are folders", received=f"output_dir={config.output_dir!r}",
                          fix="Set --set output_dir=runs, or move the file away.") from None
    except OSError as e:
        raise output_error(output, e) from None
    base = output / (config.run_name or f"{config.recipe}-{stamp}")
    for n in range(10_000):
        run_dir = base if n == 0 else base.with_name(f"{base.name}-{n}")
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            continue  # taken, by an earlier run or one started at the same moment
        except OSError as e:
            raise output_error(run_dir, e) from None
    raise ConfigError(f"Could not find a free run directory name under {output}.", expected="fewer than 10,000 runs named "
                      f"{base.name}-N", received=f"{base.name}, {base.name}-1 ... all taken", fix="Set run_name, or clean up output_dir.")
