"""The `forecast` kind: a time-series forecaster against naive baselines (book chapter 7).

The training is `tujie.timeseries.run_forecast` (windows, one-step and recursive forecasts,
seasonal-naive and last-value baselines, optionally the exploding-gradient demo); this module
registers it, its `forecast:` section (`ForecastConfig`) and its report sections.
Writes forecast.json (and gradient_demo.json) beside the training run's own files.
"""

from __future__ import annotations

import math

from ..i18n import N_
from ..report import KindReport, Section
from ..report.format import (
    _as_float,
    _e,
    _finite,
    _fmt,
    _img,
    _list,
    _object,
    _score,
    _section,
    _table,
    _versus,
)
from ..report.run_files import RunFiles
from ..timeseries.forecast import ForecastConfig
from . import Kind, RunContext, register
from ._common import verbose_of


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    """A time-series forecaster against naive baselines (tujie.timeseries.forecast.run_forecast)."""
    from ..timeseries.forecast import run_forecast

    return run_forecast(context.config, context.run_dir, context.say, verbose=verbose_of(context.say))




# ----------------------------------------------------------------------------------- report



# (row name, key of its one-step score, key of its multi-step score) in forecast.json's metrics
_FORECASTERS = (("model", "model_one_step", "model_multi_step"),
                ("seasonal naive", "seasonal_naive_one_step", "seasonal_naive"),
                ("last value", "last_value_one_step", "last_value"))


def _forecast_section(run: RunFiles) -> str:
    how = ("The black line is the series. The model learned from the first shaded span, its training was "
           "checked on the second (validation), and after the dashed line comes the test span it never saw. "
           "One step ahead, each test value is forecast from the true values before it; multi-step, the whole "
           "span is forecast from the end of validation with the model feeding on its own predictions, so "
           "errors compound. A forecaster is worth its training only if it beats the baselines that cost "
           "nothing: repeating the last value, or the last season. MAE is the average miss in the series' own "
           "units; RMSE weighs large misses more.")
    from ..timeseries import forecast_figure

    forecast = run.forecast
    scores = forecast.get("metrics")
    if not isinstance(scores, dict):
        raise ValueError("forecast.json's metrics must be an object of {mae, rmse} scores")
    body = [_img(forecast_figure(forecast), "the series with the model's and the baselines' forecasts")]
    steps = forecast.get("steps")
    for setting, column in (("One step ahead", 1), (f"{_fmt(steps)} steps ahead" if steps else "Multi-step", 2)):
        text = _versus(setting, _score(scores, _FORECASTERS[0][column], "mae"),
                       [(_score(scores, keys[column], "mae"), keys[0]) for keys in _FORECASTERS[1:]])
        if text:
            body.append(f'<p class="lead">{_e(text)}</p>')
    rows, row_classes = [], []
    for name, one, multi in _FORECASTERS:
        if one in scores or multi in scores:
            rows.append([f"<b>{_e(name)}</b>" if name == "model" else _e(name)]
                        + [_e(_fmt(_score(scores, key, metric))) if key in scores else "—"
                           for key, metric in ((one, "mae"), (one, "rmse"), (multi, "mae"), (multi, "rmse"))])
            row_classes.append("highlight" if name == "model" else "")
    if rows:
        ahead = f"{_e(_fmt(steps))} steps" if steps else "multi-step"
        body.append(_table(["forecast", "MAE one step", "RMSE one step", f"MAE {ahead}", f"RMSE {ahead}"],
                           rows, "numbers", row_classes))
    facts = []
    unit = forecast.get("unit")
    facts.append(f"Errors on the test span{f', in {unit}' if unit else ''}; lower is better.")
    split = forecast.get("split") if isinstance(forecast.get("split"), dict) else {}
    if split:
        frequency = f" ({forecast['frequency']})" if forecast.get("frequency") else ""
        facts.append(f"Split by time: {_fmt(split.get('train'))} training, {_fmt(split.get('val'))} validation and "
                     f"{_fmt(split.get('test'))} test steps{frequency}.")
    if forecast.get("input_len") is not None:
        facts.append(f"Each forecast reads the {_fmt(forecast['input_len'])} values before it.")
    if steps and forecast.get("strategy"):
        facts.append(f"The {_fmt(steps)}-step forecast is {forecast['strategy']}.")
    if forecast.get("period") is not None:
        facts.append(f"The seasonal baseline repeats the last {_fmt(forecast['period'])} values.")
    body.append(f'<p class="aside">{_e(" ".join(facts))}</p>')
    notes = _list(forecast, "notes", "forecast.json")
    if notes:
        items = "".join(f"<li>{_e(note)}</li>" for note in notes)
        body.append(f'<p class="aside">About the data:</p><ul class="notes">{items}</ul>')
    return _section("forecast", "Forecast", how, "".join(body))


def _gradient_demo_section(run: RunFiles) -> str:
    how = ("The textbook's exploding gradient, reproduced: a plain (tanh) recurrent network reads 200 steps of the "
           "series and is trained twice, with the same weights, data and batch order; only gradient clipping "
           "differs. Backpropagating through 200 steps multiplies the gradient by the recurrent weights 200 times, "
           'so it can grow exponentially: the <span class="bad-text">red</span> run (no clipping) climbs by orders '
           "of magnitude until it overflows, and its loss with it. Clipping scales every gradient whose norm is "
           "above the threshold (dashed line) down to it before the step, so no single step can throw the weights "
           'away, and the <span class="train">indigo</span> run keeps learning. The y axes are logarithmic: each '
           "grid line is ten times the one below.")
    from ..timeseries import gradient_demo_figure

    demo = run.gradient_demo
    for key in ("unclipped", "clipped"):
        if not isinstance(demo.get(key), list):
            raise ValueError(f"gradient_demo.json's {key} must be a list of gradient norms, one per step")
    body = [_img(gradient_demo_figure(demo), "gradient norm per step with and without gradient clipping")]
    peaks = {key: max(_finite(demo[key]), default=math.nan) for key in ("unclipped", "clipped")}
    diverged = demo.get("diverged") if isinstance(demo.get("diverged"), dict) else {}
    clip = _as_float(demo.get("clip"))
    if math.isfinite(peaks["unclipped"]) and math.isfinite(peaks["clipped"]):
        text = f"Without clipping the largest finite gradient norm was {peaks['unclipped']:.3g}"
        if diverged.get("unclipped") is not None:
            text += f" and training broke down (infinite norm or loss) at step {_fmt(diverged['unclipped'])}"
        text += (f"; with clip_grad_norm = {clip:g}" if math.isfinite(clip) else "; with clipping")
        text += f" the norm peaked at {peaks['clipped']:.3g}"
        text += (f" and broke down at step {_fmt(diverged['clipped'])}." if diverged.get("clipped") is not None
                 else f" and all {len(demo['clipped']):,} steps trained.")
        text += " Norms are measured before clipping."
        body.append(f'<p class="aside">{_e(text)}</p>')
    settings = _object(demo, "settings", "gradient_demo.json") or {}
    if settings:
        shown = ", ".join(f"{key.replace('_', ' ')} {_fmt(value)}" for key, value in settings.items())
        body.append(f'<p class="aside small">Settings: {_e(shown)}.</p>')
    return _section("gradient-demo", "Exploding gradients", how, "".join(body))


REPORT = KindReport("forecast", files=("forecast.json", "gradient_demo.json"),
                    sections=(Section("forecast", N_("Forecast"), _forecast_section, lambda run: run.forecast is not None, order=63),
                              Section("gradient-demo", N_("Exploding gradients"), _gradient_demo_section,
                                      lambda run: run.gradient_demo is not None, order=64)))
register(Kind("forecast", run, "a time-series forecaster against seasonal-naive and last-value baselines",
              section="forecast", config=ForecastConfig, report=REPORT, order=40))
