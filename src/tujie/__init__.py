"""tujie (图解): a PyTorch deep-learning toolkit that makes a textbook real, fast and visible.

    >>> import tujie as tj
    >>> model = tj.Sequential([tj.layers.Flatten(), tj.layers.Dense(10)])
    >>> model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])  # doctest: +ELLIPSIS
    Sequential(...)

Sub-packages load on first use, so `import tujie` costs little beyond `import torch`.
"""

from __future__ import annotations

import importlib

from . import _hooks

__version__ = "0.1.0"

# public name -> module that defines it; resolved lazily by __getattr__ below
_EXPORTS = {
    "Learner": "tujie.train.loop",
    "Sequential": "tujie.models.sequential",
    "Model": "tujie.models.sequential",
    "Callback": "tujie.train.callbacks",
    "EarlyStopping": "tujie.train.callbacks",
    "ModelCheckpoint": "tujie.train.callbacks",
    "CSVLogger": "tujie.train.callbacks",
    "TensorBoard": "tujie.train.callbacks",
    "NaNGuard": "tujie.train.callbacks",
    "History": "tujie.train.callbacks",
    "LearningRateLogger": "tujie.train.callbacks",
    "GradientStats": "tujie.train.callbacks",
    "ReduceLROnPlateau": "tujie.train.callbacks",
    "LearningRateScheduler": "tujie.train.callbacks",
    "LambdaCallback": "tujie.train.callbacks",
    "TerminateOnNaN": "tujie.train.callbacks",
    "RunDirectory": "tujie.train.run_directory",
    "freeze": "tujie.train.transfer",
    "unfreeze": "tujie.train.transfer",
    "blocks": "tujie.train.transfer",
    "param_groups": "tujie.train.transfer",
    "GradualUnfreezing": "tujie.train.transfer",
    "Freeze": "tujie.train.transfer",
    "lr_find": "tujie.train.lr_finder",
    "MixUp": "tujie.data.mixing",
    "CutMix": "tujie.data.mixing",
    "ArrayDataset": "tujie.data.arrays",
    "Batcher": "tujie.data.arrays",
    "seed_everything": "tujie.utils",
    "select_device": "tujie.utils",
    "summarize": "tujie.train.summary",
    "save_weights": "tujie.train.checkpoint",
    "load_weights": "tujie.train.checkpoint",
    "build_report": "tujie.kinds",
    "compare_runs": "tujie.report.compare",
    "cross_validate": "tujie.train.cross_validation",
    "Ensemble": "tujie.train.ensemble",
    "bagging": "tujie.train.ensemble",
    "run": "tujie.runner",
    "tune": "tujie.runner.tuning",
    "load_model": "tujie.models.saving",
    "save_model": "tujie.models.saving",
    "TujieError": "tujie.errors",
}
_SUBMODULES = {"layers": "tujie.layers", "models": "tujie.models", "datasets": "tujie.data", "data": "tujie.data",
               "train": "tujie.train", "report": "tujie.report", "evaluate": "tujie.evaluate", "recipes": "tujie.recipes", "errors": "tujie.errors",
               "text": "tujie.text", "timeseries": "tujie.timeseries",
               "plots": "tujie.plots", "kinds": "tujie.kinds", "i18n": "tujie.i18n",
               "callbacks": "tujie.callbacks", "optimizers": "tujie.optimizers", "losses": "tujie.losses"}

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__", "compress_run"])


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(_SUBMODULES[name])
    elif name in _EXPORTS:
        module = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'tujie' has no attribute {name!r}")
    globals()[name] = module  # cache: the next access is a plain attribute lookup
    return module


def __dir__():
    return __all__


def _build_report(run_dir, lang=None):
    """`tj.build_report`, for the toolkit's `RunDirectory` callback (through `tujie._hooks`): the report is
    the top floor's, and only the package root may name it to a lower one."""
    return importlib.import_module("tujie.kinds").build_report(run_dir, lang=lang)


_hooks.build_report = _build_report


def compress_run(run_dir, methods=(), overrides=(), *, verbose: int = 1, lang: str | None = None):
    """`tujie compress RUN_DIR`: compress a trained run by every method (or `methods`); one run and report beside it.

    The trained run's own config becomes a `compress` run with that run as its base
    (`tujie.kinds.compress.compress_config`), and the runner runs it as `tj.run` runs a recipe.
    Returns the runner's `RunResult` (run_dir, summary, report).

    Example:
        >>> tj.compress_run("runs/mnist-lenet5-20261206-101500", ["channels", "quantize_static"])  # doctest: +SKIP
    """
    # by name, as `_build_report`: modules below import `tujie`, and a static import would close a circle
    config = importlib.import_module("tujie.kinds.compress").compress_config(run_dir, methods)
    return importlib.import_module("tujie.runner").run(config, overrides, verbose=verbose, lang=lang)
