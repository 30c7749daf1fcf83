"""The `optimizer_paths` kind: torch's optimizers walking Rosenbrock's valley and a saddle (seeds 001/002, 常见优化器).

The walking is `tujie.fundamentals.surfaces.race` (each optimizer built by name through
`tujie.train.optimizers.get_optimizer`); this module registers the kind, its `optimizer_paths:`
section and its report sections. Writes optimizer_paths.json. Reads no data: seconds on a CPU.
"""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from .._io import write_json
from ..config import Strict
from ..errors import ConfigError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _img, _list, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register


class SurfaceRun(Strict):
    name: str = Field(description="rosenbrock or saddle")
    steps: int = Field(1500, ge=1, le=100_000)
    start: list[float] | None = Field(None, min_length=2, max_length=2, description="[x, y]; None: the surface's default")
    learning_rates: dict[str, float] = Field(description="optimizer → learning rate")

    @field_validator("name")
    @classmethod
    def _known_surface(cls, name: str) -> str:
        from ..fundamentals.surfaces import SURFACES

        if name not in SURFACES:
            raise ValueError(f"unknown surface {name!r}; known: {', '.join(SURFACES)}")
        return name

    @field_validator("learning_rates")
    @classmethod
    def _known_optimizers(cls, rates: dict) -> dict:
        from ..fundamentals.surfaces import OPTIMIZERS

        unknown = [k for k in rates if k not in OPTIMIZERS]
        if unknown or not rates:
            raise ValueError(f"optimizers must be among {', '.join(OPTIMIZERS)}; received {', '.join(unknown) or 'none'}")
        if any(not (v > 0 and math.isfinite(v)) for v in rates.values()):
            raise ValueError("every learning rate must be a positive number")
        return rates


_SGD_FAMILY = {"sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3}
_DEFAULT_SURFACES = [
    SurfaceRun(name="rosenbrock", steps=1500, learning_rates={**_SGD_FAMILY, "adagrad": 0.5, "rmsprop": 0.01, "adadelta": 1.0,
                                                               "adam": 0.05}),
    SurfaceRun(name="saddle", steps=600, learning_rates={"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.5,
                                                         "rmsprop": 0.01, "adadelta": 1.0, "adam": 0.05})]


class OptimizerPathsConfig(Strict):
    surfaces: list[SurfaceRun] = Field(default_factory=lambda: list(_DEFAULT_SURFACES), min_length=1)


def run(context: RunContext) -> dict:
    """Walk every optimizer over every surface; write optimizer_paths.json."""
    from ..fundamentals.surfaces import race

    section = context.config.optimizer_paths or OptimizerPathsConfig()
    run_dir = context.run_dir
    surfaces, results = [], {}
    with one_thread():  # a point of two numbers
        raced = [race(s.name, s.learning_rates, s.steps, tuple(s.start) if s.start else None) for s in section.surfaces]
    for surface, paths in zip(section.surfaces, raced):
        surfaces.append({"name": surface.name, "steps": surface.steps, "start": [paths[0]["x"][0], paths[0]["y"][0]],
                         "paths": paths})
        for p in paths:
            context.say(_("{surface} {optimizer} (lr {lr}): loss {loss}, distance to the minimum {distance}, reached in {steps}").format(
                surface=surface.name, optimizer=f"{p['optimizer']:>9}", lr=f"{p['lr']:g}", loss=f"{p['loss']:.3g}",
                distance=f"{p['distance']:.3g}", steps=p["steps_to_reach"] if p["steps_to_reach"] is not None else "—"))
            results[f"{surface.name}_{p['optimizer']}_distance"] = p["distance"] if math.isfinite(p["distance"]) else None
    if not surfaces:
        raise ConfigError("No loss surface to walk.", expected="optimizer_paths.surfaces with at least one surface",
                          received="surfaces: []", fix="Leave the section out for the defaults.")
    write_json(run_dir / "optimizer_paths.json", {"surfaces": surfaces})
    return {"results": results}


# ----------------------------------------------------------------------------------- report
_TITLES = {"rosenbrock": N_("Rosenbrock: (1 − x)² + 100 (y − x²)², minimum at (1, 1)"),
           "saddle": N_("Saddle: x² − y² + y⁴/4, saddle point at (0, 0), minima at (0, ±√2)")}


def _surface_block(surface: dict) -> str:
    from ..fundamentals.surfaces import SURFACES, contour_grid
    from ..plots.fundamentals_gallery import optimizer_paths

    name = surface["name"]
    paths = _list(surface, "paths", "optimizer_paths.json")
    title = _(_TITLES[name]) if name in _TITLES else name
    parts = []
    if name in SURFACES:  # the contour is recomputed from the surface's formula: the file keeps only the paths
        fn, minima, best = SURFACES[name][:3]
        xs, ys, z = contour_grid(name)
        gaps = [[fn(x, y) - best for x, y in zip(p["x"], p["y"])] for p in paths]
        parts.append(_img(optimizer_paths(xs, ys, z, paths, minima, log_levels=name == "rosenbrock", gaps=gaps),
                          _("optimizer paths on the contour plot")))
    rows = []
    for p in paths:
        reached = p.get("steps_to_reach")
        state = _("diverged") if p.get("diverged") else (f"{reached:,}" if reached is not None else _("not within {n} steps").format(
            n=f"{p.get('steps', 0):,}"))
        loss, distance = float(p.get("loss", math.nan)), float(p.get("distance", math.nan))
        rows.append([f"<b>{_e(p['optimizer'])}</b>", _e(f"{p['lr']:g}"), _e(f"{loss:.3g}" if math.isfinite(loss) else "—"),
                     _e(f"{distance:.3g}" if math.isfinite(distance) else "—"), _e(state)])
    header = [_("optimizer"), _("learning rate"), _("final loss"), _("distance to the nearest minimum"),
              _("steps to come within 0.1")]
    parts.append(_table(header, rows, "numbers"))
    return f"<h3>{_e(title)}</h3>" + "".join(parts)


def _paths_section(run: RunFiles) -> str:
    how = _("Each optimizer is torch's own, built by name as a recipe's optimizer: section builds it, and starts "
            "from the same point (black square). Rosenbrock's valley is long, curved and flat along its floor: "
            "plain SGD creeps along it, momentum carries speed down the valley, Adam and RMSprop rescale each "
            "coordinate by its recent gradients. The saddle starts on the ridge with y almost 0, where the "
            "gradient pointing downhill is almost nothing: a method that rescales small gradients leaves it "
            "sooner. Stars mark the minima; the table gives where each path ended after its steps.")
    body = "".join(_surface_block(s) for s in _list(run.optimizer_paths, "surfaces", "optimizer_paths.json"))
    return _section("optimizer-paths", _("Optimizers on a loss surface"), how, body)


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    """The closest finish on each surface."""
    stats = []
    for surface in run.optimizer_paths.get("surfaces") or []:
        paths = [p for p in surface.get("paths") or [] if math.isfinite(float(p.get("distance", math.inf)))]
        if paths:
            best = min(paths, key=lambda p: p["distance"])
            stats.append((f"{best['distance']:.2g}", _("closest to the minimum of {surface}: {optimizer}").format(
                surface=surface.get("name", "?"), optimizer=best.get("optimizer", "?"))))
    return stats + [(v, label) for _metric, v, label in test_stats]


REPORT = KindReport("optimizer_paths", files=("optimizer_paths.json",), result_file="optimizer_paths.json",
                    missing={"optimizer_paths.json": N_("the optimizers' paths")},
                    sections=(Section("optimizer-paths", N_("Optimizers on a loss surface"), _paths_section,
                                      lambda run: run.optimizer_paths is not None, order=61),),
                    headline=_headline)
register(Kind("optimizer_paths", run, N_("SGD, momentum, Nesterov, Adagrad, RMSprop, Adadelta and Adam walking Rosenbrock and a saddle"),
              section="optimizer_paths", config=OptimizerPathsConfig, report=REPORT, order=72,
              smoke=("optimizer-paths", (("optimizer_paths.surfaces=[{name: rosenbrock, steps: 20, learning_rates: {sgd: 0.001, "
                                          "adam: 0.05}}, {name: saddle, steps: 20, learning_rates: {adam: 0.05}}]"),))))
