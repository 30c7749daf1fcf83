"""Hyperparameter search (chapter 11), on Optuna: search spaces, samplers, pruners, storages, study snapshots.

    space     a recipe's `tune.space` parsed and checked (`parse_space`), values as `--set` lines
    engine    samplers (grid, random, tpe, gp), pruners (none, median, hyperband), storages
              (SQLite, PostgreSQL, journal) with heartbeats, and the pruning callback
    history   a study as plain rows: trials, best, fANOVA importances, what pruning saved

This is a domain floor: it knows no kind, runner or report. `tujie.runner.tuning` (the runner's floor) runs each
trial as a tujie run and writes the study's report; the `search_compare` kind uses these parts
to compare the samplers.
"""

from .engine import PRUNERS, SAMPLERS, PruningCallback, hide_password, make_pruner, make_sampler, open_storage
from .history import best_so_far, snapshot
from .space import DISTRIBUTIONS, Param, override_line, parse_space, set_line

__all__ = ["PRUNERS", "SAMPLERS", "DISTRIBUTIONS", "Param", "PruningCallback", "best_so_far", "hide_password", "make_pruner",
           "make_sampler", "open_storage", "override_line", "parse_space", "set_line", "snapshot"]
