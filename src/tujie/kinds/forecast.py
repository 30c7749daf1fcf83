"""The `forecast` kind: a time-series forecaster against naive baselines (book chapter 7).

The training is `tujie.timeseries.run_forecast` (windows, one-step and recursive forecasts,
seasonal-naive and last-value baselines, optionally the exploding-gradient demo); this module
registers it, its `forecast:` section (`ForecastConfig`) and its report sections.
Writes forecast.json (and gradient_demo.json) beside the training run's own files.
"""

from __future__ import annotations

import math
import re

from ..i18n import N_, _, ngettext, translated
from ..report import KindReport, Section
from ..report.format import _as_float, _data, _e, _finite, _fmt, _img, _list, _object, _score, _section, _table, _versus
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
_FORECASTERS = ((N_("model"), "model_one_step", "model_multi_step"),
                (N_("seasonal naive"), "seasonal_naive_one_step", "seasonal_naive"),
                (N_("last value"), "last_value_one_step", "last_value"))
# forecast.json's strategy, as the reader is told it ("recursive in blocks of 4" is read apart)
_STRATEGIES = {"direct": N_("direct"), "recursive": N_("recursive")}
# gradient_demo.json's settings: names and the one value written in words
_DEMO_SETTINGS = {"series": N_("series"), "seq_len": N_("seq len"), "windows": N_("windows"), "cell": N_("cell"),
                  "hidden": N_("hidden"), "init": N_("init"), "optimizer": N_("optimizer"), "lr": N_("lr"),
                  "batch_size": N_("batch size"), "epochs": N_("epochs"), "seed": N_("seed")}
_DEMO_VALUES = {"orthogonal recurrent weights (gain 1)": N_("orthogonal recurrent weights (gain 1)")}


def _count(value) -> int:
    """A count for ngettext: a whole number as it is, anything else read as plural."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 2


def _strategy(strategy) -> str:
    text = str(strategy)
    blocks = re.fullmatch(r"recursive in blocks of (\d+)", text)
    if blocks:
        return _("recursive in blocks of {horizon}").format(horizon=blocks.group(1))
    return _(_STRATEGIES[text]) if text in _STRATEGIES else text


def _forecast_section(run: RunFiles) -> str:
    how = _("The black line is the series. The model learned from the first shaded span, its training was "
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
    body = [_img(forecast_figure(forecast), _("the series with the model's and the baselines' forecasts"))]
    steps = forecast.get("steps")
    ahead_setting = (ngettext("{n} step ahead", "{n} steps ahead", _count(steps)).format(n=_fmt(steps)) if steps
                     else _("Multi-step"))
    for setting, column in ((_("One step ahead"), 1), (ahead_setting, 2)):
        text = _versus(setting, _score(scores, _FORECASTERS[0][column], "mae"),
                       [(_score(scores, keys[column], "mae"), keys[0]) for keys in _FORECASTERS[1:]])
        if text:
            body.append(f'<p class="lead">{_e(text)}</p>')
    rows, row_classes = [], []
    for name, one, multi in _FORECASTERS:
        if one in scores or multi in scores:
            rows.append([f"<b>{_e(_(name))}</b>" if name == "model" else _e(_(name))]
                        + [_e(_fmt(_score(scores, key, metric))) if key in scores else "—"
                           for key, metric in ((one, "mae"), (one, "rmse"), (multi, "mae"), (multi, "rmse"))])
            row_classes.append("highlight" if name == "model" else "")
    if rows:
        ahead = (ngettext("{n} step", "{n} steps", _count(steps)).format(n=_e(_fmt(steps))) if steps
                 else _("multi-step"))
        body.append(_table([_("forecast"), _("MAE one step"), _("RMSE one step"), _("MAE {ahead}").format(ahead=ahead),
                            _("RMSE {ahead}").format(ahead=ahead)], rows, "numbers", row_classes))
    facts = []
    unit = forecast.get("unit")
    facts.append(_("Errors on the test span, in {unit}; lower is better.").format(unit=translated(unit)) if unit
                 else _("Errors on the test span; lower is better."))
    split = forecast.get("split") if isinstance(forecast.get("split"), dict) else {}
    if split:
        sizes = {"train": _fmt(split.get("train")), "val": _fmt(split.get("val")), "test": _fmt(split.get("test"))}
        if forecast.get("frequency"):
            facts.append(ngettext("Split by time: {train} training, {val} validation and {test} test step ({frequency}).",
                                  "Split by time: {train} training, {val} validation and {test} test steps ({frequency}).",
                                  _count(split.get("test"))).format(**sizes, frequency=translated(forecast["frequency"])))
        else:
            facts.append(ngettext("Split by time: {train} training, {val} validation and {test} test step.",
                                  "Split by time: {train} training, {val} validation and {test} test steps.",
                                  _count(split.get("test"))).format(**sizes))
    if forecast.get("input_len") is not None:
        facts.append(ngettext("Each forecast reads the {n} value before it.", "Each forecast reads the {n} values before it.",
                              _count(forecast["input_len"])).format(n=_fmt(forecast["input_len"])))
    if steps and forecast.get("strategy"):
        facts.append(_("The {n}-step forecast is {strategy}.").format(n=_fmt(steps), strategy=_strategy(forecast["strategy"])))
    if forecast.get("period") is not None:
        facts.append(ngettext("The seasonal baseline repeats the last {n} value.",
                              "The seasonal baseline repeats the last {n} values.",
                              _count(forecast["period"])).format(n=_fmt(forecast["period"])))
    text = facts[0]
    for fact in facts[1:]:  # one sentence after another (Chinese puts no space between them)
        text = _("{text} {sentence}").format(text=text, sentence=fact)
    body.append(f'<p class="aside">{_e(text)}</p>')
    notes = _list(forecast, "notes", "forecast.json")
    if notes:
        items = "".join(f"<li>{_data(note)}</li>" for note in notes)  # recorded by the run, in its language
        body.append('<p class="aside">' + _("About the data:") + f'</p><ul class="notes">{items}</ul>')
    return _section("forecast", _("Forecast"), how, "".join(body))


def _gradient_demo_section(run: RunFiles) -> str:
    how = _("The textbook's exploding gradient, reproduced: a plain (tanh) recurrent network reads 200 steps of the "
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
    body = [_img(gradient_demo_figure(demo), _("gradient norm per step with and without gradient clipping"))]
    peaks = {key: max(_finite(demo[key]), default=math.nan) for key in ("unclipped", "clipped")}
    diverged = demo.get("diverged") if isinstance(demo.get("diverged"), dict) else {}
    clip = _as_float(demo.get("clip"))
    if math.isfinite(peaks["unclipped"]) and math.isfinite(peaks["clipped"]):
        unclipped = f"{peaks['unclipped']:.3g}"
        if diverged.get("unclipped") is not None:
            without = _("Without clipping the largest finite gradient norm was {peak} and training broke down "
                        "(infinite norm or loss) at step {step}").format(peak=unclipped, step=_fmt(diverged["unclipped"]))
        else:
            without = _("Without clipping the largest finite gradient norm was {peak}").format(peak=unclipped)
        shown = {"peak": f"{peaks['clipped']:.3g}", "clip": f"{clip:g}", "step": _fmt(diverged.get("clipped")),
                 "n": f"{len(demo['clipped']):,}"}
        steps = len(demo["clipped"])
        if math.isfinite(clip):
            with_clipping = (_("with clip_grad_norm = {clip} the norm peaked at {peak} and broke down at step {step}.")
                             if diverged.get("clipped") is not None else
                             ngettext("with clip_grad_norm = {clip} the norm peaked at {peak} and all {n} step trained.",
                                      "with clip_grad_norm = {clip} the norm peaked at {peak} and all {n} steps trained.",
                                      steps))
        else:
            with_clipping = (_("with clipping the norm peaked at {peak} and broke down at step {step}.")
                             if diverged.get("clipped") is not None else
                             ngettext("with clipping the norm peaked at {peak} and all {n} step trained.",
                                      "with clipping the norm peaked at {peak} and all {n} steps trained.", steps))
        text = _("{without}; {with_clipping} Norms are measured before clipping.").format(
            without=without, with_clipping=with_clipping.format(**shown))
        body.append(f'<p class="aside">{_e(text)}</p>')
    settings = _object(demo, "settings", "gradient_demo.json") or {}
    if settings:
        shown = _(", ").join(
            (_(_DEMO_SETTINGS[key]) if key in _DEMO_SETTINGS else key.replace("_", " ")) + " "
            + (_(_DEMO_VALUES[value]) if isinstance(value, str) and value in _DEMO_VALUES else _fmt(value))
            for key, value in settings.items())
        body.append('<p class="aside small">' + _e(_("Settings: {settings}.").format(settings=shown)) + "</p>")
    return _section("gradient-demo", _("Exploding gradients"), how, "".join(body))


REPORT = KindReport("forecast", files=("forecast.json", "gradient_demo.json"),
                    sections=(Section("forecast", N_("Forecast"), _forecast_section, lambda run: run.forecast is not None, order=63),
                              Section("gradient-demo", N_("Exploding gradients"), _gradient_demo_section,
                                      lambda run: run.gradient_demo is not None, order=64)))
register(Kind("forecast", run, N_("a time-series forecaster against seasonal-naive and last-value baselines"),
              section="forecast", config=ForecastConfig, report=REPORT, order=40,
              smoke=("sunspots-lstm", ("epochs=1", "model.hidden=8", "forecast.gradient_demo_epochs=1"))))
