"""Optuna's parts, chosen by name: samplers, pruners, storages (with heartbeats), and the pruning callback.

    make_sampler("tpe", space, seed=0)         grid | random | tpe | gp
    make_pruner("median", epochs=30)           none | median | hyperband
    open_storage(None, folder)                 a SQLite file in the study's folder (one machine, nothing to install)
    open_storage("postgresql://u:pw@db/hpo")   many machines share one study (RDB storage, heartbeats)
    open_storage("journal:/shared/study.log")  Optuna's journal file on a shared file system

RDB storages (SQLite, PostgreSQL, MySQL) record a heartbeat for every running trial: when a
worker dies mid-trial, the next worker that asks for a trial marks it failed and enqueues a copy
with the same parameters (`RetryHeartbeatStaleTrialCallback`), so no trial is silently lost.
Optuna's journal storage has no heartbeat: a killed worker's trial stays "running" there.

Example:
    >>> import optuna
    >>> from tujie.search.space import parse_space
    >>> space = parse_space({"x": {"uniform": [0.0, 1.0]}})
    >>> type(make_sampler("grid", space, seed=0, grid_points=3)).__name__
    'GridSampler'
    >>> type(make_pruner("hyperband", epochs=9)).__name__
    'HyperbandPruner'
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from ..errors import ConfigError
from ..train.callbacks import Callback

SAMPLERS = ("grid", "random", "tpe", "gp")
PRUNERS = ("none", "median", "hyperband")
HEARTBEAT_S = 10  # a running trial's heartbeat; a trial silent for GRACE_FACTOR times this is failed and retried
GRACE_FACTOR = 3
MAX_RETRY = 2  # copies of a killed trial before it is given up (counted in the report)


def quiet_optuna() -> None:
    """Optuna's per-trial log lines and its "experimental" warnings (heartbeats, GP) off: tujie prints its own lines."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def make_sampler(name: str, space, *, seed: int | None, grid_points: int = 4):
    """The Optuna sampler of this name, seeded; `grid` tries every combination of `Param.grid(grid_points)`."""
    import optuna

    if name == "grid":
        return optuna.samplers.GridSampler({p.key: p.grid(grid_points) for p in space}, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise ConfigError(f"Unknown sampler {name!r}.", expected=f"one of {', '.join(SAMPLERS)}", received=f"--sampler {name}",
                      fix="grid tries every combination, random draws at random, tpe and gp learn from earlier trials.")


def grid_size(space, grid_points: int) -> int:
    """How many trials the grid sampler has: the product of each key's grid."""
    return math.prod(len(p.grid(grid_points)) for p in space)


def make_pruner(name: str, *, epochs: int):
    """`none`, `median` (stop a trial worse than the median of earlier ones at the same epoch, once 5
    trials have finished and after its first tenth of the epochs, at least 2: the first epochs are too
    noisy to judge) or `hyperband` (successive halving over 1..epochs epochs)."""
    import optuna

    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=max(2, int(epochs) // 10))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(int(epochs), 1), reduction_factor=3)
    raise ConfigError(f"Unknown pruner {name!r}.", expected=f"one of {', '.join(PRUNERS)}", received=f"--pruner {name}",
                      fix="none trains every trial to the end; median and hyperband stop the poor ones early.")


def hide_password(url: str) -> str:
    """The URL as it may be printed: `postgresql://user:***@host/db`.

    Example:
        >>> hide_password("postgresql://ana:s3cret@db.lab:5432/hpo")
        'postgresql://ana:***@db.lab:5432/hpo'
    """
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an RDB URL (a journal path) or not parseable: cut anything between :// and @
        head, sep, tail = url.partition("://")
        if sep and "@" in tail:
            credentials, _, rest = tail.rpartition("@")
            user = credentials.split(":", 1)[0]
            return f"{head}://{user}:***@{rest}"
        return url


def storage_url(storage: str | None, folder: Path) -> str:
    """The storage's URL: None means a SQLite file `study.db` in the study's folder."""
    if storage is None:
        return f"sqlite:///{(Path(folder) / 'study.db').resolve()}"
    return str(storage)


def open_storage(storage: str | None, folder: Path, *, heartbeat_s: int = HEARTBEAT_S):
    """An Optuna storage from a URL; an unreachable or malformed one is refused, its password hidden.

    Args:
        storage: None (SQLite in `folder`), `sqlite:///path`, `postgresql://user:pw@host:port/db`,
            `mysql+pymysql://...`, or `journal:PATH` (a journal file, for a shared file system).
        folder: the study's folder (made if missing) for the default SQLite file.
        heartbeat_s: the heartbeat of running trials in RDB storages (grace: 3 heartbeats).
    """
    import optuna

    url = storage_url(storage, folder)
    shown = hide_password(url)
    if url.startswith("journal:") or url.endswith((".log", ".journal")):
        path = Path(url.removeprefix("journal:"))
        if not path.parent.is_dir():
            raise ConfigError(f"The journal storage {shown} cannot be written: its folder {path.parent} does not exist.",
                              expected="journal:PATH in an existing folder (on a file system every worker sees)",
                              received=f"--storage {shown}", fix=f"Make the folder first (mkdir -p {path.parent}), or fix the path.")
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if "://" not in url:
        raise ConfigError(f"The storage {shown} is not a database URL or a journal file.",
                          expected="sqlite:///FILE, postgresql://USER@HOST:PORT/DB, or journal:FILE",
                          received=f"--storage {shown}", fix="Leave --storage out for a SQLite file in the study's folder.")
    if url.startswith("sqlite:///"):
        Path(folder).mkdir(parents=True, exist_ok=True)
    url = _with_installed_driver(url)
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna's words; they are what keeps no trial lost
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine, heartbeat_interval=heartbeat_s, grace_period=GRACE_FACTOR * heartbeat_s,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
    except ModuleNotFoundError as e:
        raise ConfigError(f"The storage {shown} needs the database driver {e.name!r}, which is not installed.",
                          expected="a driver for the database (PostgreSQL: psycopg; MySQL: pymysql)", received=f"--storage {shown}",
                          fix="pip install 'psycopg[binary]' (PostgreSQL) or pymysql (MySQL, URL mysql+pymysql://...).") from None
    except Exception as e:  # sqlalchemy's OperationalError, ArgumentError, NoSuchModuleError ...: the message may hold the URL
        reason = str(getattr(e, "orig", None) or e).splitlines()[0].replace(url, shown)
        password = _password(url)
        if password:
            reason = reason.replace(password, "***")
        raise ConfigError(f"Cannot open the study storage {shown}: {reason}",
                          expected="a database every worker can reach (server running, user and database created)",
                          received=f"--storage {shown}",
                          fix="Check that the server is up and the URL's host, port, user and database are right "
                              "(psql 'URL' tells the same), or leave --storage out for a SQLite file.") from None


def _password(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).password
    except Exception:
        return None


def _with_installed_driver(url: str) -> str:
    """`postgresql://` means psycopg2 to SQLAlchemy; use psycopg (3) when that is the one installed."""
    if not url.startswith("postgresql://"):
        return url
    import importlib.util

    if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg") is not None:
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class PruningCallback(Callback):
    """Report a per-epoch metric to an Optuna trial; stop the run (status "pruned") when the pruner says so.

    Args:
        trial: the `optuna.Trial` being trained.
        metric: the epoch log to report, e.g. "val_accuracy".

    The run's status becomes "pruned" (`learner.stop_status`): the train kind then skips the test
    and the tuner records the trial as pruned. `values` keeps every reported value.
    """

    def __init__(self, trial, metric: str):
        self.trial, self.metric = trial, metric
        self.values: list[float] = []
        self.pruned_at: int | None = None

    def on_epoch_end(self, learner, epoch: int, logs: dict) -> None:
        value = logs.get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return
        self.values.append(float(value))
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            learner.stop_training = True
            learner.stop_status = "pruned"
            learner.stop_reason = f"pruned after epoch {epoch}: {self.metric} {float(value):.4g} was behind the earlier trials"
