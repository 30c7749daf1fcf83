"""k-fold cross-validation of a `Learner`: a fresh model per fold, folds from scikit-learn, optional worker processes.

`cross_validate` splits the data with `StratifiedKFold` (or `KFold`), trains a fresh learner
from `build_learner()` on each training part and evaluates it on the held-out part; the
per-fold metrics, their mean and standard deviation come back as a `CVResult`.

Each fold runs under its own seed (`seed + fold`, set inside `torch.random.fork_rng`, so the
caller's random state is untouched): weights, dropout and shuffling are the same whether the
folds run one after another or in parallel worker processes.

Example:
    >>> import torch, tujie as tj
    >>> def build():
    ...     return tj.Learner(torch.nn.Linear(2, 2), optimizer="adam", lr=0.1)
    >>> g = torch.Generator().manual_seed(0)
    >>> y = torch.arange(40) % 2
    >>> x = torch.randn(40, 2, generator=g) + 3 * y[:, None]
    >>> result = cross_validate(build, (x, y), k=4, epochs=10, batch_size=8)
    >>> len(result.folds), sorted(result.mean)
    (4, ['accuracy', 'loss'])
    >>> result.mean["accuracy"] > 0.8
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..data.arrays import labelled_tensors
from ..errors import ConfigError, DataError
from ..i18n import _

__all__ = ["cross_validate", "CVResult"]


@dataclass
class CVResult:
    """The outcome of `cross_validate`: one dict of metrics per fold, with their mean and spread.

    Attributes:
        folds: per-fold metric dicts, in fold order (scalars as floats; matrices as nested lists).
        mean: metric name -> mean over the folds (scalar metrics only).
        std: metric name -> population standard deviation over the folds (`numpy.std`, ddof=0).
        fold_sizes: (train size, held-out size) per fold.

    Example:
        >>> r = CVResult([{"accuracy": 0.5}, {"accuracy": 1.0}], fold_sizes=[(2, 2), (2, 2)])
        >>> r.mean, r.std
        ({'accuracy': 0.75}, {'accuracy': 0.25})
        >>> print(r.table())
        metric    fold 1  fold 2    mean     std
        accuracy  0.5000  1.0000  0.7500  0.2500
    """

    folds: list[dict]
    fold_sizes: list[tuple[int, int]] = field(default_factory=list)
    mean: dict[str, float] = field(init=False)
    std: dict[str, float] = field(init=False)

    def __post_init__(self):
        names = [k for k, v in self.folds[0].items() if isinstance(v, (int, float))] if self.folds else []
        values = {name: np.array([fold[name] for fold in self.folds], dtype=float) for name in names}
        self.mean = {name: float(v.mean()) for name, v in values.items()}
        self.std = {name: float(v.std()) for name, v in values.items()}

    def values(self, metric: str) -> list[float]:
        """The per-fold values of one scalar metric."""
        if metric not in self.mean:
            raise ConfigError(f"Unknown metric `{metric}` for this cross-validation result.",
                              expected=f"one of {sorted(self.mean)}", received=f"metric={metric!r}",
                              fix="Pass a metric given to cross_validate(metrics=...), or 'loss'.")
        return [float(fold[metric]) for fold in self.folds]

    def table(self) -> str:
        """A plain-text table: one row per scalar metric, one column per fold, then mean and std."""
        names = list(self.mean)
        metric = _("metric")
        width = max([len(metric), *map(len, names)])
        header = [metric.ljust(width), *(_("fold {i}").format(i=i).rjust(6) for i in range(1, len(self.folds) + 1)),
                  _("mean").rjust(6), _("std").rjust(6)]
        rows = ["  ".join(header)]
        for name in names:
            cells = [f"{v:.4f}" for v in self.values(name)] + [f"{self.mean[name]:.4f}", f"{self.std[name]:.4f}"]
            rows.append("  ".join([name.ljust(width), *(c.rjust(6) for c in cells)]))
        return "\n".join(rows)

    def to_dict(self) -> dict:
        """Plain Python data (JSON-serialisable): folds, fold_sizes, mean, std."""
        return {"folds": [dict(f) for f in self.folds], "fold_sizes": [list(s) for s in self.fold_sizes],
                "mean": dict(self.mean), "std": dict(self.std)}

    def plot(self) -> bytes:
        """PNG bytes: a box plot per scalar metric with each fold's value drawn as a point."""
        from ..plots import TRAIN_COLOR, figure_style, new_figure, png_bytes

        names = list(self.mean) or ["(no scalar metric)"]
        with figure_style():
            fig = new_figure(1.0 + 1.8 * len(names), 2.8)
            axes = fig.subplots(1, len(names), squeeze=False)[0]
            for ax, name in zip(axes, names):
                if name not in self.mean:
                    continue
                values = self.values(name)
                ax.boxplot([values], widths=0.5, showmeans=True)
                jitter = np.linspace(-0.08, 0.08, len(values)) if len(values) > 1 else [0.0]
                ax.scatter(1 + np.asarray(jitter), values, s=14, color=TRAIN_COLOR, zorder=3)
                ax.set_xticks([1], [name])
                ax.set_title(f"{self.mean[name]:.3f} ± {self.std[name]:.3f}")
            fig.suptitle(f"{len(self.folds)}-fold cross-validation")
            return png_bytes(fig)


def cross_validate(build_learner, data, *, k: int = 5, stratified: bool = True, epochs: int = 10,
                   batch_size: int = 32, metrics=("accuracy",), seed: int = 0, processes: int = 1,
                   verbose: int = 0) -> CVResult:
    """Train and evaluate a fresh learner on each of `k` folds.

    Args:
        build_learner: a callable `() -> tujie.Learner` returning a learner with a *fresh* model
            each call. With `processes > 1` it is sent to worker processes (forked on Linux, spawned
            elsewhere), so it must be picklable: a module-level function or a `functools.partial` of
            one (not a lambda, not a function defined inside another function).
        data: an `(x, y)` tuple of tensors/arrays or an `ArrayDataset` with targets.
        k: number of folds (>= 2).
        stratified: keep the class proportions in every fold (`StratifiedKFold`); needs class
            labels and at least `k` samples of every class. False uses `KFold`.
        epochs: training epochs per fold.
        batch_size: training batch size.
        metrics: metric names for `Learner.evaluate` on the held-out part (the loss is always added).
        seed: shuffles the folds (`random_state=seed`) and seeds fold `i` with `seed + i`.
        processes: worker processes; folds run in parallel, each worker with one torch thread.
        verbose: 0 silent, 1 a line per fold.

    Returns:
        A `CVResult` with per-fold metrics, `mean`, `std`, `table()`, `to_dict()`, `plot()`.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    x, y = labelled_tensors(data, "Cross-validation", "cross_validate(build_learner, (x, y))")
    if not isinstance(k, int) or isinstance(k, bool) or k < 2:
        raise ConfigError("Invalid value received for `k`.", expected="an integer >= 2 (number of folds)",
                          received=f"k={k!r}", fix="Pass k=5, for example.")
    if not isinstance(processes, int) or processes < 1:
        raise ConfigError("Invalid value received for `processes`.", expected="an integer >= 1",
                          received=f"processes={processes!r}", fix="Pass processes=1 to run the folds in this process.")
    if k > len(x):
        raise DataError("More folds than samples.", expected=f"k <= the number of samples ({len(x)})",
                        received=f"k={k}", fix=f"Pass k={len(x)} or fewer.")
    labels = y.numpy()
    if stratified:
        if y.ndim != 1 or y.is_floating_point():
            raise DataError("Stratified folds need class labels.", expected="y of shape (N,) holding integer class indices",
                            received=f"y of shape {tuple(y.shape)} and dtype {y.dtype}",
                            fix="Pass stratified=False for regression or multi-label targets.")
        classes, counts = np.unique(labels, return_counts=True)
        smallest = int(np.argmin(counts))
        if counts[smallest] < k:
            raise DataError(f"Class {classes[smallest].item()} has {counts[smallest]} samples, fewer than the {k} folds.",
                            expected=f"at least k={k} samples of every class for stratified folds",
                            received=f"class {classes[smallest].item()} with {counts[smallest]} samples",
                            fix=f"Pass k={int(counts[smallest])} or fewer, or stratified=False.")
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
    splits = [(torch.as_tensor(tr), torch.as_tensor(te)) for tr, te in splitter.split(np.zeros(len(x)), labels)]
    jobs = [(build_learner, x, y, tr, te, seed + i, epochs, batch_size, tuple(metrics)) for i, (tr, te) in enumerate(splits)]

    if processes == 1:
        folds = [_run_fold(*job) for job in jobs]
    else:
        _check_picklable(build_learner, processes)
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        with ProcessPoolExecutor(max_workers=min(processes, k), mp_context=_start_method(),
                                 initializer=_init_worker) as pool:
            try:
                folds = list(pool.map(_run_fold_job, jobs))
            except BrokenProcessPool:
                raise ConfigError("A cross-validation worker process died before finishing its fold.",
                                  expected="a script whose top-level code is guarded by `if __name__ == \"__main__\":` "
                                           "(worker processes started with spawn import the main module again)",
                                  received=f"processes={processes}",
                                  fix="Put the script's code under `if __name__ == \"__main__\":`, or pass processes=1; "
                                      "a worker can also be killed for lack of memory.") from None
    if verbose:
        for i, fold in enumerate(folds, 1):
            scores = " - ".join(f"{n}: {v:.4f}" for n, v in fold.items() if isinstance(v, float))
            print(_("fold {i}/{k}: {scores}").format(i=i, k=k, scores=scores), flush=True)
    return CVResult(folds, fold_sizes=[(len(tr), len(te)) for tr, te in splits])



def _start_method():
    """fork on Linux: workers inherit the imported torch, tujie and torchmetrics (about 5 s of imports each
    with spawn) and start at once. spawn elsewhere (fork is unsafe on macOS) and once CUDA is initialised."""
    import multiprocessing
    import sys

    fork = sys.platform.startswith("linux") and not torch.cuda.is_initialized()
    return multiprocessing.get_context("fork" if fork else "spawn")


def _init_worker() -> None:
    torch.set_num_threads(1)  # k workers x many threads each would oversubscribe the cores


def _check_picklable(build_learner, processes: int) -> None:
    """Worker processes receive `build_learner` by pickling: a lambda, a local function or one defined
    in a notebook or an interactive session cannot travel; say so before any process starts."""
    import pickle

    try:
        pickle.dumps(build_learner)
    except Exception as error:  # PicklingError, AttributeError, TypeError: all mean the same here
        name = getattr(build_learner, "__qualname__", type(build_learner).__name__)
        raise ConfigError(f"`build_learner` ({name}) cannot be sent to worker processes ({type(error).__name__}).",
                          expected="a function defined at the top level of an importable module (a .py file), "
                                   "or a functools.partial of one",
                          received=f"processes={processes} with {name} from module {getattr(build_learner, '__module__', '?')!r}",
                          fix="Move build_learner into a module and import it, or pass processes=1 to train the folds "
                              "in this process.") from None


def _run_fold_job(job) -> dict:
    return _run_fold(*job)


def _run_fold(build_learner, x, y, train_index, test_index, seed, epochs, batch_size, metrics) -> dict:
    """Train a fresh learner on one fold and evaluate it on the held-out rows (module level: picklable)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        learner = build_learner()
        learner.generator.manual_seed(seed)  # the shuffling order, too, depends on the fold's seed only
        learner.fit((x[train_index], y[train_index]), epochs=epochs, batch_size=batch_size, verbose=0)
        results = learner.evaluate((x[test_index], y[test_index]), metrics=list(metrics), verbose=0)
    return {name: _plain(value) for name, value in results.items()}


def _plain(value):
    if torch.is_tensor(value):
        return value.item() if value.numel() == 1 else value.tolist()
    return float(value) if isinstance(value, (int, float)) else value
