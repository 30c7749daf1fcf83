"""A search space from a recipe's `tune.space`: one distribution per config key, checked before any trial.

    optimizer.lr:     {log_uniform: [1e-4, 1e-1]}    a float drawn on a log scale
    train.l2:         {uniform: [0.0, 1e-3]}          a float, linear scale (step: 1e-4 makes it discrete)
    model.depth:      {int: [1, 4]}                   an integer (step: 2 for every other one)
    model.width:      {log_int: [16, 256]}            an integer on a log scale
    train.batch_size: {choice: [32, 64, 128]}         one of the values (lists too: [[128], [256, 128]])

A space is refused, with the key and the fix named, when a key is not in the config schema, a
choice is empty, low ≥ high, a log range touches 0, or a value the space can draw fails the
schema (`train.batch_size: {choice: [0, 32]}`): the caller passes a `check(key, value)` that
validates one value, so this module knows no kind.

Example:
    >>> space = parse_space({"optimizer.lr": {"log_uniform": [1e-4, 1e-1]}, "train.batch_size": {"choice": [32, 64]}})
    >>> [p.key for p in space]
    ['optimizer.lr', 'train.batch_size']
    >>> space[0].grid(3)
    [0.0001, 0.00316228, 0.1]
    >>> override_line(space[1].key, 64)
    'train.batch_size=64'
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Callable

import yaml

from ..errors import ConfigError

DISTRIBUTIONS = ("log_uniform", "uniform", "int", "log_int", "choice")
_EXAMPLE = "optimizer.lr: {log_uniform: [1e-4, 1e-1]} or train.batch_size: {choice: [32, 64, 128]}"


@dataclass(frozen=True)
class Param:
    """One searched config key and its distribution.

    Args:
        key: the dotted config key, e.g. "optimizer.lr".
        kind: one of `DISTRIBUTIONS`.
        low, high: the range (both included) of uniform, log_uniform, int and log_int.
        step: the spacing of a discrete uniform/int range, or None.
        choices: the values of a `choice`.
    """

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple = ()

    @property
    def is_categorical(self) -> bool:
        return self.kind == "choice"

    def _labels(self) -> list:
        """Optuna keeps categorical values as scalars: lists and mappings travel as their JSON text."""
        return [c if c is None or isinstance(c, (bool, int, float, str)) else json.dumps(c) for c in self.choices]

    def suggest(self, trial):
        """The value an Optuna trial draws for this key (lists come back as lists, not their text)."""
        if self.kind == "choice":
            label = trial.suggest_categorical(self.key, self._labels())
            return self.value_of(label)
        if self.kind in ("int", "log_int"):
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.kind == "log_int")
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.kind == "log_uniform")

    def value_of(self, stored):
        """The config value of what Optuna stored for this key (a choice's JSON text becomes its list again)."""
        if self.kind == "choice":
            labels = self._labels()
            return self.choices[labels.index(stored)] if stored in labels else stored
        return stored

    def grid(self, points: int) -> list:
        """The values the grid sampler tries: every choice, or `points` values spread over the range
        (log-spaced for log ranges; every step for a discrete range with fewer values than that)."""
        if self.kind == "choice":
            return self._labels()
        low, high = self.low, self.high
        if self.kind in ("int", "log_int"):
            step = int(self.step or 1)
            every = list(range(int(low), int(high) + 1, step))
            if len(every) <= points:
                return every
            spread = _spread(low, high, points, log=self.kind == "log_int")
            return sorted({min(every, key=lambda v: abs(v - x)) for x in spread})
        if self.step:
            every = [low + i * self.step for i in range(int(round((high - low) / self.step)) + 1)]
            if len(every) <= points:
                return every
        return _spread(low, high, points, log=self.kind == "log_uniform")

    def bounds(self) -> list:
        """The values to check against the schema: both ends of a range, every choice."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]


def _spread(low: float, high: float, points: int, *, log: bool) -> list[float]:
    """`points` values from low to high (both exact), rounded to 6 significant digits for reading."""
    if log:
        a, b = math.log(low), math.log(high)
        inner = [math.exp(a + (b - a) * i / (points - 1)) for i in range(1, points - 1)]
    else:
        inner = [low + (high - low) * i / (points - 1) for i in range(1, points - 1)]
    return [low, *(float(f"{x:.6g}") for x in inner), high]


def parse_space(space, check: Callable[[str, object], str] | None = None) -> list[Param]:
    """The `tune.space` mapping as `Param`s; a malformed entry is refused with its key named.

    Args:
        space: {config key: {distribution: arguments}} as the recipe writes it.
        check: `check(key, value) -> canonical key` raises `ConfigError` when the key is not in the
            config schema or the value is not valid for it (the tuner passes the schema's check);
            None checks the distributions only.
    """
    if not isinstance(space, dict) or not space:
        raise ConfigError("The search space (tune.space) is empty.", expected=f"one entry per searched key, e.g. {_EXAMPLE}",
                          received=f"tune.space={space!r}", fix="Add at least one key to search under tune.space in the recipe.")
    params, seen = [], {}
    for key, spec in space.items():
        param = _parse_one(str(key), spec)
        if check is not None:
            canonical = None
            for value in param.bounds():
                canonical = check(param.key, value) or param.key
            param = Param(canonical, param.kind, param.low, param.high, param.step, param.choices)
        if param.key in seen:
            raise ConfigError(f"The search space names {param.key!r} twice ({seen[param.key]!r} and {key!r}).",
                              expected="each config key once", received=f"tune.space keys {seen[param.key]!r}, {key!r}",
                              fix="Keep one entry per key.")
        seen[param.key] = key
        params.append(param)
    return params


def _parse_one(key: str, spec) -> Param:
    where = f"tune.space.{key}"
    if not isinstance(spec, dict) or len(spec) == 0 or not (set(spec) - {"step"}):
        raise ConfigError(f"The search space entry {where} is not a distribution.",
                          expected=f"a mapping with one of {', '.join(DISTRIBUTIONS)}, e.g. {_EXAMPLE}",
                          received=f"{where}={spec!r}", fix=f"Write {key}: {{choice: [...]}} or {key}: {{log_uniform: [low, high]}}.")
    kinds = [k for k in spec if k != "step"]
    unknown = [k for k in kinds if k not in DISTRIBUTIONS]
    if unknown or len(kinds) != 1:
        raise ConfigError(f"The search space entry {where} names {', '.join(map(str, kinds))}; it needs exactly one distribution.",
                          expected=f"one of {', '.join(DISTRIBUTIONS)} (plus an optional step)", received=f"{where}={spec!r}",
                          fix=f"Write e.g. {key}: {{log_uniform: [1e-4, 1e-1]}}.")
    kind, args = kinds[0], spec[kinds[0]]
    if kind == "choice":
        if "step" in spec:
            raise ConfigError(f"{where}: a choice takes no step.", received=f"{where}={spec!r}", fix="Remove step.")
        if not isinstance(args, list) or not args:
            raise ConfigError(f"The search space entry {where} has an empty choice.", expected="a non-empty list of values",
                              received=f"{where}={spec!r}", fix=f"List the values to try: {key}: {{choice: [32, 64, 128]}}.")
        labels = [json.dumps(a, sort_keys=True) for a in args]
        if len(set(labels)) < len(labels):
            raise ConfigError(f"The search space entry {where} lists a value twice.", expected="distinct values",
                              received=f"{where}={spec!r}", fix="Remove the repeated value.")
        return Param(key, kind, choices=tuple(args))
    if isinstance(args, list):  # YAML reads 1e-4 (no dot) as text: take it as the number it means
        args = [_number(a) for a in args]
    if (not isinstance(args, list) or len(args) != 2
            or not all(isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) for a in args)):
        raise ConfigError(f"The search space entry {where} needs a range [low, high] of two numbers.",
                          expected="[low, high], e.g. [1e-4, 1e-1]", received=f"{where}={spec!r}",
                          fix=f"Write {key}: {{{kind}: [low, high]}} with numbers (quote nothing).")
    low, high = args
    step = spec.get("step")
    if kind in ("int", "log_int") and not all(float(a).is_integer() for a in args):
        raise ConfigError(f"The search space entry {where} is an integer range with a fractional end.", expected="whole numbers",
                          received=f"{where}={spec!r}", fix=f"Use whole numbers, or {key}: {{uniform: [{low}, {high}]}}.")
    if low >= high:
        raise ConfigError(f"The search space entry {where} has low ≥ high ({low} ≥ {high}).", expected="low < high",
                          received=f"{where}={spec!r}", fix=f"Write the range in order: {key}: {{{kind}: [{min(args)}, {max(args)}]}}"
                          if low != high else f"Give two different ends, or search a fixed value with --set {key}={low} instead.")
    if kind.startswith("log") and low <= 0:
        raise ConfigError(f"The search space entry {where} is a log range that reaches {low}; a log scale needs low > 0.",
                          expected="0 < low < high on a log scale", received=f"{where}={spec!r}",
                          fix=f"Start the range above 0 (e.g. {key}: {{{kind}: [{'1' if kind == 'log_int' else '1e-5'}, {high}]}}), "
                              "or use uniform.")
    if step is not None:
        if kind.startswith("log"):
            raise ConfigError(f"{where}: a log range takes no step.", received=f"{where}={spec!r}",
                              fix="Remove step, or use uniform/int with step.")
        if not isinstance(step, (int, float)) or isinstance(step, bool) or step <= 0 or step > high - low:
            raise ConfigError(f"The search space entry {where} has step {step!r}.", expected=f"a number in (0, {high - low}]",
                              received=f"{where}={spec!r}", fix="Give a positive step no larger than the range.")
    if kind in ("int", "log_int"):
        return Param(key, kind, int(low), int(high), int(step) if step else None)
    return Param(key, kind, float(low), float(high), float(step) if step else None)


def _number(text):
    if isinstance(text, str):
        try:
            return float(text)
        except ValueError:
            return text
    return text


def yaml_value(value) -> str:
    """A value as `--set` reads it back unchanged (YAML flow style: 1.0e-05, [256, 128], adam)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True).strip()
    return text.removesuffix("...").strip()


def override_line(key: str, value) -> str:
    """`key=value` for `--set`; the value as YAML, so numbers and lists keep their type."""
    return f"{key}={yaml_value(value)}"


def set_line(recipe: str, values: dict, overrides=()) -> str:
    """A ready command: `tujie run RECIPE --set k=v ...`, quoted where the shell needs it; `overrides`
    (the search's own `--set` lines, e.g. epochs=10) come first, so the run trains as the trial did.

    Example:
        >>> set_line("digits-mlp", {"optimizer.lr": 0.003, "model.hidden": [256, 128]}, ["epochs=10"])
        "tujie run digits-mlp --set epochs=10 --set optimizer.lr=0.003 --set 'model.hidden=[256, 128]'"
    """
    import shlex

    lines = [*overrides, *(override_line(k, v) for k, v in values.items())]
    return " ".join(["tujie run", shlex.quote(recipe), *(f"--set {shlex.quote(line)}" for line in lines)])


def shown_values(values: dict) -> str:
    """Values for a progress line: floats to 4 significant digits.

    Example:
        >>> shown_values({"optimizer.lr": 0.0031622776, "model.hidden": [64]})
        'optimizer.lr=0.003162, model.hidden=[64]'
    """
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else override_line(k, v) for k, v in values.items())
