"""Kinds of run: each one module here, found automatically, registered by name.

A kind is what `kind:` in a recipe names: `train` (one supervised model), `cross_validation`,
`ensemble`, `overfitting_lab`, `forecast`, `translation`, `embeddings`, and whatever a new
module here registers. A kind module holds everything of its kind:

- its config section (a pydantic model; `translation:` in the recipe),
- `run(context) -> dict`: it trains, writes its result files into `context.run_dir`, and
  returns what goes into summary.json (`test`, `results`, ...),
- its report: result files, sections, headline numbers (`report.KindReport`),

and ends with `register(Kind(...))`. The runner knows no kind by name: it validates a recipe
against the base schema plus every kind's section, makes the run directory, hands the kind a
`RunContext`, writes summary.json and builds the report. Adding a kind is one module here
plus its recipe YAML (docs/architecture.md).

Example:
    >>> from tujie import kinds
    >>> kinds.names()[:3]
    ['train', 'cross_validation', 'ensemble']
    >>> kinds.get("translation").section
    'translation'
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import config as cfg
from ..errors import ConfigError, closest
from ..report import KindReport, RunDirectoryError, render_report
from ._common import build_model, load_data
from ._context import RunContext


@dataclass(frozen=True)
class Kind:
    """One kind of run.

    Args:
        name: what a recipe's `kind:` says.
        run: `run(context) -> dict`: trains, writes its files, returns its part of summary.json
            (`test`, `results` for the expected-result check, anything else worth keeping).
        description: one line for `tujie kinds`.
        section: the config key of its own section (e.g. "translation"), or None.
        config: the pydantic model of that section.
        aliases: short `--set` spellings for its keys, e.g. {"k": "cross_validation.k"}.
        report: its result files, sections and headline (`tujie.report.KindReport`).
        resumable: whether `tujie run --resume` can continue it.
        check_resume: `check_resume(run_dir, config, saved_config)`, called before a resume: refuses (with a
            ConfigError) a run directory without the kind's checkpoint or with nothing left to do.
        resumable_changes: config keys a resume may change (e.g. "train.epochs", to train longer).
        distributed: whether it trains on several processes (`tujie run --nproc N`, torchrun):
            its training goes through `Learner.fit`, and only rank 0 writes files.
        order: its place in listings and in config.yaml (lower first).
        smoke: (recipe, overrides) of a run that takes seconds on tiny data: the contract test
            over all kinds runs it end to end.
        smoke_needs_data: whether that run reads the real datasets (TUJIE_DATA).
    """

    name: str
    run: Callable[[RunContext], dict]
    description: str
    section: str | None = None
    config: type | None = None
    aliases: dict = field(default_factory=dict)
    report: KindReport | None = None
    resumable: bool = False
    check_resume: Callable | None = None
    resumable_changes: tuple = ()
    distributed: bool = False
    order: int = 50
    smoke: tuple = ()
    smoke_needs_data: bool = False

    def report_spec(self) -> KindReport:
        return self.report or KindReport(name=self.name)


_KINDS: dict[str, Kind] = {}
_DISCOVERED = False


def register(kind: Kind) -> Kind:
    """Add a kind to the registry (a kind module ends with this). A second kind of one name is refused."""
    if kind.name in _KINDS and _KINDS[kind.name].run is not kind.run:
        raise ValueError(f"A kind named {kind.name!r} is already registered ({_KINDS[kind.name].run.__module__}).")
    _KINDS[kind.name] = kind
    return kind


def _discover() -> None:
    """Import every module of this package once, so each registers its kind (no list to keep)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def names() -> list[str]:
    """The registered kinds, in their order."""
    _discover()
    return [k.name for k in sorted(_KINDS.values(), key=lambda k: (k.order, k.name))]


def get(name: str) -> Kind:
    """The kind of this name; an unknown name is refused with the known ones listed."""
    _discover()
    if name not in _KINDS:
        raise ConfigError(f"Unknown kind of run {name!r}. {closest(str(name), names())}",
                          expected=f"one of {', '.join(names())}", received=f"kind={name!r}",
                          fix="Set `kind:` in the recipe to one of these (or leave it out for `train`).")
    return _KINDS[name]


def schema() -> type[cfg.RunConfig]:
    """The full run-config schema: the base `RunConfig` plus every kind's section."""
    _discover()
    ordered = sorted(_KINDS.values(), key=lambda k: (k.order, k.name))
    return cfg.schema(tuple((k.section, k.config) for k in ordered if k.section))


def aliases() -> dict:
    _discover()
    return {alias: key for kind in _KINDS.values() for alias, key in kind.aliases.items()}


def validate(mapping: dict) -> cfg.RunConfig:
    """A config mapping checked against the full schema; the kind's name is checked first."""
    get(mapping.get("kind") or "train")
    return cfg.validate(mapping, schema())


def apply_overrides(mapping: dict, overrides) -> dict:
    """`--set key=value` overrides, with every kind's section and aliases known."""
    return cfg.apply_overrides(mapping, overrides, schema(), aliases())


def kind_of_run(folder: Path) -> Kind:
    """The kind that wrote a run directory: summary.json's "kind", else config.yaml's, else the
    kind whose result file is there, else `train` (old runs and runs still going)."""
    import json

    import yaml

    _discover()
    for name, read in (("summary.json", json.loads), ("config.yaml", yaml.safe_load)):
        try:
            value = read((folder / name).read_text(encoding="utf-8")).get("kind")
        except Exception:  # missing or damaged: the report says so; look elsewhere for the kind
            continue
        if isinstance(value, str) and value in _KINDS:
            return _KINDS[value]
    for kind in _KINDS.values():
        result = kind.report_spec().result_file
        if result and (folder / result).is_file():
            return kind
    return _KINDS["train"]


def build_report(run_dir, lang: str | None = None) -> Path:
    """Build `run_dir/report.html` from a run directory's files, with its kind's sections.

    Args:
        run_dir: a run directory written by `tujie run` (any kind, any tujie version).
        lang: "zh" or "en"; None: `TUJIE_LANG`, else the locale.

    Returns:
        The path of report.html (written atomically).

    Example:
        >>> import json, tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> _ = (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 0.3}))
        >>> build_report(run, lang="zh").name
        'report.html'
    """
    folder = Path(run_dir)
    if not folder.is_dir():
        return render_report(folder)  # says what is wrong with the path
    kind = kind_of_run(folder)
    markers = tuple(k.report_spec().result_file for k in _KINDS.values() if k.report_spec().result_file)
    return render_report(folder, _report_of(kind, folder), markers=markers, lang=lang)


def _report_of(kind: Kind, folder: Path) -> KindReport:
    """The run's kind's report, plus the sections of any other kind whose result files are in the folder.

    A run directory normally holds one kind's files; one that holds more (a train run beside
    which a cross-validation was written by hand) shows those too rather than hiding them.
    """
    own = kind.report_spec()
    others = [k.report_spec() for k in sorted(_KINDS.values(), key=lambda k: (k.order, k.name))
              if k is not kind and any((folder / f).is_file() for f in k.report_spec().files)]
    if not others:
        return own
    everyone = [own, *others]

    def facts(run):
        return [fact for report in everyone if report.facts is not None for fact in report.facts(run)]

    headline = own.headline or next((r.headline for r in others if r.headline is not None), None)
    return KindReport(own.name, files=tuple(f for r in everyone for f in r.files), result_file=own.result_file,
                      missing={k: v for r in everyone for k, v in r.missing.items()},
                      sections=tuple(s for r in everyone for s in r.sections), headline=headline, facts=facts)


__all__ = ["Kind", "RunContext", "register", "get", "names", "schema", "validate", "apply_overrides", "build_report",
           "kind_of_run", "load_data", "build_model", "RunDirectoryError"]
