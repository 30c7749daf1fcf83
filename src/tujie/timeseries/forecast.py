"""Forecasting: one-step and multi-step forecasts, naive baselines, MAE/RMSE, plots, and a recipe's whole run.

A forecaster is judged against the baselines that cost nothing:

* last value ("naive"): tomorrow looks like today, `y[t+k] = y[t]`;
* seasonal naive: this season looks like the last one, `y[t+k] = y[t+k-period]`.

Two settings are measured on the test span, both without ever training on it:

* one-step-ahead: each test value is predicted from the true values before it
  (`forecast_one_step`), the baselines likewise use the true previous value / season;
* multi-step: from the end of the validation span, `steps` values are forecast at once,
  feeding the model's own predictions back as inputs (`forecast_multi_step`, the
  "recursive" strategy), or read from a model trained with `horizon=steps` in one call
  (`forecast_direct`, the "direct" strategy); errors compound, so this is the harder test.

`run_forecast(config, run_dir, say)` runs a `kind: forecast` recipe (e.g. `sunspots-lstm`)
and writes `forecast.json`, which `forecast_figure` draws. `exploding_gradient_demo` trains a
vanilla tanh RNN on 200-step windows with and without gradient clipping and writes
`gradient_demo.json`, which `gradient_demo_figure` draws (the textbook's exploding gradient).

Example:
    >>> import torch
    >>> history = torch.tensor([1.0, 5.0, 2.0, 1.0, 5.0, 2.0])
    >>> seasonal_naive(history, period=3, steps=4).tolist()
    [1.0, 5.0, 2.0, 1.0]
    >>> metrics(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
    {'mae': 1.0, 'rmse': 1.4142135623730951}
"""

from __future__ import annotations

import contextlib
import inspect
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from .._io import write_json
from ..errors import ConfigError, DataError, ShapeError

# torch (and the windows module, which needs it) are imported inside the functions: `ForecastConfig`
# is part of the run configuration, and reading a config must not cost the seconds of `import torch`.
if TYPE_CHECKING:
    import torch
    from torch import nn


class ForecastConfig(BaseModel):
    """The `forecast:` section of a `kind: forecast` recipe.

    `series` defaults to the recipe's `data.name`. The last `test_size` steps are the test
    span and the `val_size` before them the validation span; `steps` values are forecast
    recursively from the end of validation (at most `test_size`).

    Example:
        >>> ForecastConfig(input_len=12).model_dump(include={"input_len", "horizon", "steps"})
        {'input_len': 12, 'horizon': 1, 'steps': 30}
    """

    model_config = ConfigDict(extra="forbid")  # a misspelt key is refused, as everywhere in RunConfig
    series: str | None = Field(None, description="sunspots or co2; default: data.name")
    input_len: int = Field(24, ge=1, description="steps each window reads")
    horizon: int = Field(1, ge=1, description="values the model predicts per window (>1: direct multi-horizon)")
    steps: int = Field(30, ge=1, description="multi-step forecast length from the end of validation")
    val_size: int = Field(30, ge=0, description="steps in the validation span")
    test_size: int = Field(30, ge=1, description="steps in the test span (the last ones)")
    period: int | None = Field(None, ge=1, description="season length for the seasonal-naive baseline; default: the series'")
    gradient_demo: bool = Field(False, description="also run the exploding-gradient demo (gradient_demo.json)")
    gradient_demo_epochs: int = Field(10, ge=1)


# ------------------------------------------------------------------------------ forecasts
@contextlib.contextmanager
def _evaluating(model):
    """No gradients inside the block and, for an `nn.Module`, eval mode (no dropout); yields the model's device.

    A plain function `(B, T, 1) -> (B, H)` works as a model too (the examples use lambdas).
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        with torch.no_grad():
            yield torch.device("cpu")
        return
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield next((p.device for p in model.parameters()), torch.device("cpu"))
    finally:
        model.train(was_training)


def _series_tensor(values, what: str):
    import torch

    values = torch.as_tensor(values, dtype=torch.float32).detach().cpu()
    if values.ndim != 1:
        raise ShapeError(f"The {what} must be one-dimensional.", expected="a tensor of shape (N,)",
                         received=f"shape {tuple(values.shape)}", fix="Pass the series' values, e.g. series.values.")
    return values


def forecast_one_step(model: nn.Module, values, input_len: int, start: int, end: int | None = None) -> torch.Tensor:
    """One-step-ahead forecasts of `values[start:end]`, each from the `input_len` true values before it.

    Args:
        model: maps (batch, input_len, 1) windows to (batch, horizon); its first output is used.
        values: (N,) the series, in the units the model was trained on (scaled).
        input_len: steps each window reads.
        start, end: the positions to forecast (`end` defaults to N).

    Returns:
        (end - start,) predictions.

    Example:
        >>> last = lambda x: x[:, -1]  # "tomorrow is today" as a model: (B, T, 1) -> (B, 1)
        >>> forecast_one_step(last, torch.arange(6.0), input_len=2, start=3).tolist()
        [2.0, 3.0, 4.0]
    """
    values = _series_tensor(values, "series")
    end = len(values) if end is None else end
    if not input_len <= start < end <= len(values):
        raise DataError("No one-step forecast fits in the span.", expected=f"input_len ({input_len}) <= start < end <= {len(values)}",
                        received=f"start={start}, end={end}", fix="Forecast positions that have input_len true values before them.")
    windows = values[start - input_len: end - 1].unfold(0, input_len, 1).unsqueeze(-1)  # (end - start, input_len, 1)
    with _evaluating(model) as device:
        out = model(windows.to(device))  # (end - start, horizon)
    return out[:, 0].float().cpu()


def forecast_multi_step(model: nn.Module, history, steps: int, input_len: int | None = None) -> torch.Tensor:
    """Forecast `steps` values after `history`, feeding the model's predictions back as inputs (recursive).

    Each call reads the last `input_len` values (true ones, then more and more predicted
    ones) and appends all `horizon` values it predicts: with `horizon=1` this is the classic
    recursive strategy, with `horizon >= steps` a single call (the direct strategy).

    Args:
        model: maps (1, input_len, 1) to (1, horizon).
        history: (T,) the values before the forecast origin, scaled like the training data.
        steps: values to forecast.
        input_len: steps each call reads (default: the whole history).

    Returns:
        (steps,) forecasts.

    Example:
        >>> plus_one = lambda x: x[:, -1] + 1  # (B, T, 1) -> (B, 1)
        >>> forecast_multi_step(plus_one, torch.tensor([0.0, 1.0]), steps=3).tolist()
        [2.0, 3.0, 4.0]
    """
    import torch

    history = _series_tensor(history, "history")
    input_len = len(history) if input_len is None else input_len
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError("Invalid value received for `steps`.", expected="a positive integer", received=f"steps={steps!r}",
                          fix="Pass steps=30, for example.")
    if not 1 <= input_len <= len(history):
        raise DataError("The history is shorter than the model's input window.", expected=f"at least input_len={input_len} values",
                        received=f"{len(history)} values", fix="Pass a longer history or a shorter input_len.")
    window, forecasts = history[-input_len:].clone(), []  # (input_len,)
    with _evaluating(model) as device:
        while len(forecasts) < steps:
            out = model(window.view(1, input_len, 1).to(device)).float().cpu().reshape(-1)  # (horizon,)
            forecasts.extend(out.tolist())
            window = torch.cat([window, out])[-input_len:]  # the predictions become inputs
    return torch.tensor(forecasts[:steps], dtype=torch.float32)


def forecast_direct(model: nn.Module, history, steps: int, input_len: int | None = None) -> torch.Tensor:
    """Forecast `steps` values in one call of a model trained with `horizon >= steps` (direct multi-horizon).

    Example:
        >>> three_ahead = lambda x: x[:, -1].repeat(1, 3)  # (B, T, 1) -> (B, 3)
        >>> forecast_direct(three_ahead, torch.tensor([4.0, 7.0]), steps=3).tolist()
        [7.0, 7.0, 7.0]
    """
    history = _series_tensor(history, "history")
    input_len = len(history) if input_len is None else input_len
    with _evaluating(model) as device:
        out = model(history[-input_len:].view(1, input_len, 1).to(device)).float().cpu().reshape(-1)  # (horizon,)
    if len(out) < steps:
        raise ConfigError("The model predicts fewer values than the steps asked for.", expected=f"a horizon >= steps ({steps})",
                          received=f"horizon {len(out)}", fix="Use forecast_multi_step, or train with horizon=steps.")
    return out[:steps]


def seasonal_naive(history, period: int, steps: int) -> torch.Tensor:
    """Forecast by repeating the last season: value `i` after the end is `history[N - period + i % period]`.

    Args:
        history: (N,) values before the forecast origin, N >= period.
        period: the season length in steps.
        steps: values to forecast.

    Returns:
        (steps,) forecasts.

    Example:
        >>> seasonal_naive(torch.tensor([0.0, 1.0, 2.0, 3.0]), period=2, steps=3).tolist()
        [2.0, 3.0, 2.0]
    """
    history = _series_tensor(history, "history")
    if isinstance(period, bool) or not isinstance(period, int) or not 1 <= period <= len(history):
        raise DataError("The seasonal-naive baseline needs one whole season of history.",
                        expected=f"1 <= period <= {len(history)} (the history's length)", received=f"period={period!r}",
                        fix="Pass the season length in steps (11 for yearly sunspots, 52 for weekly data).")
    last_season = history[len(history) - period:]  # (period,)
    return last_season[[i % period for i in range(steps)]]  # (steps,)


def last_value(history, steps: int) -> torch.Tensor:
    """Forecast by repeating the last observed value (the naive, or persistence, forecast).

    Example:
        >>> last_value(torch.tensor([3.0, 8.0]), steps=2).tolist()
        [8.0, 8.0]
    """
    history = _series_tensor(history, "history")
    if len(history) == 0:
        raise DataError("The last-value baseline needs a history.", received="an empty series", fix="Pass at least one value.")
    return history[-1].repeat(steps)


def metrics(true, pred) -> dict[str, float]:
    """Mean absolute error and root mean squared error of a forecast, in the series' units.

    Example:
        >>> metrics([3.0, 5.0], [4.0, 5.0])
        {'mae': 0.5, 'rmse': 0.7071067811865476}
    """
    import torch

    true = torch.as_tensor(true, dtype=torch.float64).reshape(-1)
    pred = torch.as_tensor(pred, dtype=torch.float64).reshape(-1)
    if true.shape != pred.shape or len(true) == 0:
        raise ShapeError("A forecast and its truth must have the same, non-zero, length.", expected="two (N,) tensors",
                         received=f"truth of {len(true)} values, forecast of {len(pred)}", fix="Compare the same span.")
    error = pred - true  # (N,)
    # math.sqrt is correctly rounded; torch's vectorised sqrt may differ in the last bit by CPU
    return {"mae": float(error.abs().mean()), "rmse": math.sqrt(float(error.pow(2).mean()))}


# ------------------------------------------------------------------------------ figures
FORECAST_STYLES = {  # name -> (colour key, line style); unknown names cycle through the rest
    "model one-step": ("TRAIN_COLOR", "-"), "model multi-step": ("VAL_COLOR", "-"),
    "seasonal naive": ("BETTER_COLOR", "--"), "last value": ("NEUTRAL_COLOR", ":"),
}


def _forecast_name(name: str) -> str:
    """A forecast's name (a key of FORECAST_STYLES) as the figure shows it, in the report's language."""
    from ..plots import figure_label

    names = {"model one-step": figure_label("model one-step"), "model multi-step": figure_label("model multi-step"),
             "seasonal naive": figure_label("seasonal naive"), "last value": figure_label("last value")}
    return names.get(name, name)


def plot_forecast(index, truth, forecasts: dict, train_end: float, val_end: float, *, unit: str = "",
                  title: str | None = None) -> bytes:
    """The series with forecasts drawn over it; the training span shaded, the validation span marked.

    Two panels: the whole series, and a close-up of the validation and test spans.

    Args:
        index: (N,) time of each value (years, decimal years).
        truth: (N,) the observed series.
        forecasts: name -> (index, values) of each forecast.
        train_end: time of the last training value; val_end: of the last validation value.
        unit: the values' unit, for the y axis.
        title: the top panel's title (default: "forecast versus truth").

    Returns:
        PNG bytes.

    Example:
        >>> png = plot_forecast(list(range(10)), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
        ...                     {"last value": ([8, 9], [0, 0])}, train_end=5, val_end=7)
        >>> png[:4]
        b'\\x89PNG'
    """
    from .. import plots as F

    index = [float(v) for v in index]
    truth = [float(v) for v in truth]
    if len(index) != len(truth) or not index:
        raise ShapeError("The index and the series must have the same, non-zero, length.", expected="two lists of N values",
                         received=f"{len(index)} times, {len(truth)} values", fix="Pass series.index and series.values.")
    step = (index[-1] - index[0]) / max(len(index) - 1, 1)
    extra = ["#7c3aed", "#0891b2", "#be185d"]
    styles = {**{_forecast_name(name): style for name, style in FORECAST_STYLES.items()}, **FORECAST_STYLES}
    with F.figure_style():
        fig = F.new_figure(8.6, 6.0)
        whole, close = fig.subplots(2, 1, height_ratios=[1.0, 1.15])
        first_close = next((i for i, t in enumerate(index) if t > train_end), 0)
        zoom_from = index[max(first_close - max(len(index) // 20, 5), 0)]  # a little training context
        for ax, lo in ((whole, index[0]), (close, zoom_from)):
            ax.axvspan(lo - step / 2, train_end + step / 2, color=F.TRAIN_COLOR, alpha=0.07, linewidth=0,
                       label=F.figure_label("training span"))
            ax.axvspan(train_end + step / 2, val_end + step / 2, color=F.VAL_COLOR, alpha=0.10, linewidth=0,
                       label=F.figure_label("validation span"))
            ax.axvline(val_end + step / 2, color=F.INK_COLOR, linestyle="--", linewidth=0.9,
                       label=F.figure_label("forecast origin (test starts)"))
            shown = [(t, v) for t, v in zip(index, truth) if t >= lo]
            ax.plot([t for t, _ in shown], [v for _, v in shown], color=F.INK_COLOR, linewidth=1.1, label=F.figure_label("truth"))
            for rank, (name, (times, values)) in enumerate(forecasts.items()):
                key, dash = styles.get(name.split(" (")[0], (None, "-."))
                color = getattr(F, key) if key else extra[rank % len(extra)]
                ax.plot([float(t) for t in times], [float(v) for v in values], color=color, linestyle=dash,
                        linewidth=1.6, label=name, marker="o" if len(times) <= 40 and ax is close else None, markersize=2.5)
            ax.set_xlim(lo - step, index[-1] + step)
            ax.set_ylabel(F.figure_label(unit) if unit else F.figure_label("value"))  # a unit the catalog knows, translated
        whole.set_title(F.figure_label("forecast versus truth") if title is None else title)
        close.set_title(F.figure_label("close-up: validation and test spans"))
        close.set_xlabel(F.figure_label("time"))
        handles, labels = whole.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", fontsize=7, ncols=min(len(labels), 4))  # below: no data hidden
        return F.png_bytes(fig)


def forecast_figure(forecast_json: dict) -> bytes:
    """Draw a run's `forecast.json`: truth, the model's forecasts and the baselines, with their test MAE.

    Example:
        >>> doc = {"index": [0, 1, 2, 3, 4, 5], "values": [1, 2, 1, 2, 1, 2], "train_end": 2, "val_end": 3,
        ...        "one_step": {"index": [4, 5], "pred": [1, 2]}, "multi_step": {"index": [4, 5], "pred": [2, 2]},
        ...        "baselines": {"seasonal_naive": {"index": [4, 5], "pred": [1, 2]}},
        ...        "metrics": {"model_one_step": {"mae": 0.0, "rmse": 0.0}}}
        >>> forecast_figure(doc)[:4]
        b'\\x89PNG'
    """
    from ..plots import figure_label

    scores = forecast_json.get("metrics") or {}

    def label(name: str, key: str) -> str:
        name, mae = _forecast_name(name), (scores.get(key) or {}).get("mae")
        if isinstance(mae, (int, float)) and math.isfinite(mae):
            return figure_label("{name} (test MAE {mae})").format(name=name, mae=f"{mae:.3g}")
        return name

    forecasts = {}
    for name, key, part in (("model one-step", "model_one_step", forecast_json.get("one_step")),
                            ("model multi-step", "model_multi_step", forecast_json.get("multi_step"))):
        if isinstance(part, dict):
            forecasts[label(name, key)] = (part["index"], part["pred"])
    for key, part in (forecast_json.get("baselines") or {}).items():
        forecasts[label(key.replace("_", " "), key)] = (part["index"], part["pred"])
    series = forecast_json.get("series") or figure_label("series")
    return plot_forecast(forecast_json["index"], forecast_json["values"], forecasts, forecast_json["train_end"],
                         forecast_json["val_end"], unit=forecast_json.get("unit") or "",
                         title=figure_label("{series}: forecast versus truth").format(series=series))


def gradient_demo_figure(demo_json: dict) -> bytes:
    """Draw `gradient_demo.json`: the gradient norm of every step with and without clipping (log-y), and the loss.

    A step whose norm overflowed (inf, stored as null) is marked with a cross at the top of the plot.

    Example:
        >>> gradient_demo_figure({"clip": 1.0, "clipped": [2.0, 3.0, 1.5], "unclipped": [2.0, 4e3, None],
        ...                       "clipped_loss": [1.0, 0.8, 0.7], "unclipped_loss": [1.0, 9.0, None]})[:4]
        b'\\x89PNG'
    """
    from .. import plots as F

    def clean(values):
        return [F._as_float(v) for v in values or []]

    runs = [(F.figure_label("without clipping"), "unclipped", F.WRONG_COLOR),
            (F.figure_label("with clipping"), "clipped", F.TRAIN_COLOR)]
    has_loss = any(demo_json.get(f"{key}_loss") for _, key, _ in runs)
    clip = F._as_float(demo_json.get("clip"))
    with F.figure_style():
        fig = F.new_figure(9.0 if has_loss else 5.2, 3.3)
        axes = list(fig.subplots(1, 2 if has_loss else 1, squeeze=False)[0])
        panels = [(axes[0], "", F.figure_label("gradient norm per step (log scale)"),
                   F.figure_label("global L2 norm (before clipping)"))]
        if has_loss:
            panels.append((axes[1], "_loss", F.figure_label("training loss per step (log scale)"),
                           F.figure_label("MSE loss (scaled units)")))
        for ax, suffix, title, ylabel in panels:
            finite_all = [v for _, key, _ in runs for v in clean(demo_json.get(key + suffix)) if math.isfinite(v) and v > 0]
            top = max(finite_all) if finite_all else 1.0
            for name, key, color in runs:
                values = clean(demo_json.get(key + suffix))
                if not values:
                    continue
                steps = list(range(1, len(values) + 1))
                ax.plot(steps, F._positive_or_nan(values), color=color, linewidth=1.5, label=name)
                blown = [s for s, v in zip(steps, values) if not math.isfinite(v)]
                if blown:  # the overflow itself has no place on the axis: mark it at the top
                    ax.plot(blown[:1], [top * 3], marker="x", markersize=9, color=color, linestyle="none",
                            label=F.figure_label("{name}: overflow (inf) at step {step}").format(name=name, step=blown[0]))
            if not suffix and math.isfinite(clip) and clip > 0:
                ax.axhline(clip, color=F.INK_COLOR, linestyle="--", linewidth=1.0, label=f"clip_grad_norm = {clip:g}")
            ax.set_yscale("log")
            ax.set_title(title)
            ax.set_xlabel(F.figure_label("optimizer step"))
            ax.set_ylabel(ylabel)
            ax.legend(loc="upper left", fontsize=7)
        return F.png_bytes(fig)


# ------------------------------------------------------------------------------ a recipe's run
def _finite_or_none(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _floats(values) -> list:
    return [_finite_or_none(v) for v in values.reshape(-1).tolist()]


def run_forecast(config, run_dir: Path, say=print, *, forecast: ForecastConfig | None = None, verbose: int = 0) -> dict:
    """Train a forecaster on a series, forecast its test span, compare with the baselines; write forecast.json.

    The steps: load the series; split it by time (train, `val_size`, `test_size`); scale it
    on the training span; cut windows; build `config.model` (its `horizon` defaults to the
    forecast's); train with the recipe's loss, optimizer and training options
    (`tujie.runner.build_learner`, so clipping and gradient tracking apply), validating on
    the validation span and logging `metrics.jsonl`, `history.csv` and the checkpoints into
    `run_dir`; then forecast the test span one step ahead and `steps` ahead from the end of
    validation, and score both against the seasonal-naive and last-value baselines.

    Args:
        config: a `tujie.config.RunConfig`; its `forecast` section (a `ForecastConfig`) is used
            when present, else `forecast`, else the defaults.
        run_dir: the run's folder (created if needed).
        say: prints progress lines.
        forecast: the forecast settings, overriding `config.forecast`.
        verbose: the Learner's progress output (0 silent, 2 a line per epoch).

    Writes `run_dir/forecast.json` (drawn by `forecast_figure`), every number in the series' units:
    `series`, `unit`, `period`, `frequency`, `notes`; `index` and `values` (the whole series);
    `train_end` and `val_end`, the time (index value) of the last training and last validation
    step; `split` (sizes), `input_len`, `horizon`, `steps`, `strategy`, `scaler`; `one_step`
    and `multi_step` `{"index", "pred"}`; `baselines` (multi-step from the same origin) and
    `baselines_one_step`, each `{"seasonal_naive": {"index", "pred"}, "last_value": ...}`;
    `metrics` `{"model_one_step", "model_multi_step", "seasonal_naive", "last_value",
    "seasonal_naive_one_step", "last_value_one_step"}` each `{"mae", "rmse"}` on the test span;
    and `validation_metrics`, the one-step scores on the validation span. Non-finite numbers
    (a diverged model) are written as null.

    Returns:
        For summary.json: `{"task", "status", "message", "epochs_done", "best_epoch", "monitor",
        "forecast": settings, "test": {"mae", "rmse", "multi_step_mae", "multi_step_rmse",
        "seasonal_naive_mae", ..., "last_value_one_step_rmse"}, "results": the same numbers
        named `test_mae`, `test_rmse`, `test_multi_step_mae`, `test_multi_step_rmse` for the
        model and `seasonal_naive_mae`, ... for the baselines}`.

    Example:
        >>> import tempfile
        >>> from tujie.config import RunConfig
        >>> config = RunConfig(recipe="tiny", data={"name": "sunspots"}, model={"name": "rnn_forecaster", "hidden": 4},
        ...                    train={"epochs": 1, "loss": "mse", "metrics": ["mae"]})
        >>> out = run_forecast(config, tempfile.mkdtemp(), say=lambda *a: None, forecast=ForecastConfig(input_len=12))
        >>> out["results"]["test_mae"] > 0, sorted(out["test"])[:3]
        (True, ['last_value_mae', 'last_value_one_step_mae', 'last_value_one_step_rmse'])
    """
    from .. import models
    from ..i18n import N_, _, ngettext
    from ..train.builders import build_learner
    from ..train import CSVLogger, EarlyStopping, GradientStats, LearningRateLogger, MetricsLogger, ModelCheckpoint
    from ..train.losses import get_loss, loss_kind
    from ..train.summary import fit_timings, model_table
    from ..utils import seed_everything
    from .windows import load_series, prepare

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    fc = forecast or getattr(config, "forecast", None) or ForecastConfig()
    if fc.steps > fc.test_size:
        raise ConfigError("The multi-step forecast runs past the test span.", expected=f"forecast.steps <= forecast.test_size ({fc.test_size})",
                          received=f"steps={fc.steps}", fix=f"Set forecast.steps to at most {fc.test_size}, or lengthen test_size.")
    if loss_kind(get_loss(config.train.loss)) != "regression":
        raise ConfigError("A forecaster needs a regression loss.", expected="train.loss: mse, mae, huber or smooth_l1",
                          received=f"train.loss={config.train.loss!r}", fix="Set train.loss: mse (and train.metrics: [mae]).")
    seed_everything(config.seed)
    series = load_series(fc.series or config.data.name)
    period = fc.period or series.period
    data = prepare(series, fc.input_len, fc.horizon, fc.val_size, fc.test_size)
    split, index, values = data.split, series.index, series.values
    if split.val_end < period:
        raise ConfigError("The seasonal-naive baseline needs a whole season before the test span.",
                          expected=f"forecast.period ({period}) <= the steps before the test span ({split.val_end})",
                          received=f"period={period}", fix="Shorten forecast.period or forecast.test_size.")
    for note in series.notes:
        say(_("Data: {note}").format(note=note))
    spans = _(", ").join(span.format(start=f"{index[a].item():g}", end=f"{index[b - 1].item():g}", n=b - a) for span, a, b in
                         ((_("train {start}-{end} ({n})"), 0, split.train_end),
                          (_("validation {start}-{end} ({n})"), split.train_end, split.val_end),
                          (_("test {start}-{end} ({n})"), split.val_end, split.n)) if b > a)
    say(_("Split by time: {spans}; scaled with the training span's mean {mean} and std {std}.").format(
        spans=spans, mean=f"{data.scaler.mean_:.4g}", std=f"{data.scaler.std_:.4g}"))

    model_args = {k: v for k, v in config.model.model_dump().items() if k != "name"}
    if "horizon" in inspect.signature(models.spec(config.model.name).builder).parameters:
        model_args.setdefault("horizon", fc.horizon)
    model = models.create(config.model.name, **model_args)
    with _evaluating(model):
        produced = tuple(model(data.train[0][:2]).shape)  # (2, horizon) expected
    if produced != (2, fc.horizon):
        raise ConfigError(f"Model {config.model.name!r} does not map windows to the forecast horizon.",
                          expected=f"output (batch, {fc.horizon}) for input (batch, {fc.input_len}, 1)",
                          received=f"output of shape {produced} for a batch of 2",
                          fix="Set model.horizon to forecast.horizon, or use model: {name: rnn_forecaster}.")

    callbacks = [EarlyStopping(**config.train.early_stopping.model_dump())] if config.train.early_stopping else []
    monitor = "val_loss" if data.val is not None else "loss"
    checkpoint = ModelCheckpoint(run_dir, monitor=monitor)
    callbacks += [checkpoint, MetricsLogger(run_dir / "metrics.jsonl"), CSVLogger(run_dir / "history.csv"),
                  LearningRateLogger(run_dir / "schedule.json")]
    if config.train.grad_stats_every:
        callbacks.append(GradientStats(run_dir / "grad_stats.jsonl", every=config.train.grad_stats_every))
    learner = build_learner(config, model, callbacks)
    started = time.perf_counter()
    learner.fit(data.train, epochs=config.train.epochs, batch_size=config.train.batch_size, validation_data=data.val,
                verbose=verbose)
    last = learner.history.epochs[-1] if learner.history.epochs else {}
    shown = " - ".join(f"{k}: {last[k]:.4f}" for k in ("loss", "val_loss", "grad_norm") if isinstance(last.get(k), float))
    say(ngettext("Trained {n} epoch in {seconds} s ({scores}; scaled units).",
                 "Trained {n} epochs in {seconds} s ({scores}; scaled units).", learner.epoch).format(
        n=learner.epoch, seconds=f"{time.perf_counter() - started:.1f}", scores=shown))

    # --- the test span, in the series' own units
    model = learner.eval_model
    ve, n = split.val_end, split.n
    inverse = data.scaler.inverse_transform
    one_step = inverse(forecast_one_step(model, data.scaled, fc.input_len, ve, n))  # (test,)
    if fc.horizon >= fc.steps:
        strategy = "direct"
        multi = forecast_direct(model, data.scaled[:ve], fc.steps, fc.input_len)
    else:
        strategy = "recursive" if fc.horizon == 1 else f"recursive in blocks of {fc.horizon}"
        multi = forecast_multi_step(model, data.scaled[:ve], fc.steps, fc.input_len)
    multi = inverse(multi)  # (steps,)
    history = values[:ve]
    test_index, multi_index = index[ve:n], index[ve: ve + fc.steps]
    baselines = {"seasonal_naive": seasonal_naive(history, period, fc.steps), "last_value": last_value(history, fc.steps)}
    baselines_one_step = {"seasonal_naive": values[ve - period: n - period], "last_value": values[ve - 1: n - 1]}
    truth, multi_truth = values[ve:n], values[ve: ve + fc.steps]
    validation = {}
    if split.val_end > split.train_end:  # the same one-step comparison on the validation span, for choosing settings
        te = split.train_end
        val_truth = values[te:ve]
        validation = {"model_one_step": metrics(val_truth, inverse(forecast_one_step(model, data.scaled, fc.input_len, te, ve))),
                      "last_value_one_step": metrics(val_truth, values[te - 1: ve - 1])}
        if te >= period:
            validation["seasonal_naive_one_step"] = metrics(val_truth, values[te - period: ve - period])
    scores = {"model_one_step": metrics(truth, one_step), "model_multi_step": metrics(multi_truth, multi),
              **{k: metrics(multi_truth, v) for k, v in baselines.items()},
              **{f"{k}_one_step": metrics(truth, v) for k, v in baselines_one_step.items()}}

    document = {
        "series": series.name, "unit": series.unit, "period": period, "frequency": series.frequency, "notes": list(series.notes),
        "index": index.tolist(), "values": _floats(values),
        "train_end": index[split.train_end - 1].item(), "val_end": index[ve - 1].item(),
        "split": split.sizes, "input_len": fc.input_len, "horizon": fc.horizon, "steps": fc.steps, "strategy": strategy,
        "scaler": {"mean": data.scaler.mean_, "std": data.scaler.std_, "fitted_on": "training span"},
        "one_step": {"index": test_index.tolist(), "pred": _floats(one_step)},
        "multi_step": {"index": multi_index.tolist(), "pred": _floats(multi)},
        "baselines": {k: {"index": multi_index.tolist(), "pred": _floats(v)} for k, v in baselines.items()},
        "baselines_one_step": {k: {"index": test_index.tolist(), "pred": _floats(v)} for k, v in baselines_one_step.items()},
        "metrics": {k: {m: _finite_or_none(v) for m, v in s.items()} for k, s in scores.items()},
        "validation_metrics": {k: {m: _finite_or_none(v) for m, v in s.items()} for k, s in validation.items()},
    }
    write_json(run_dir / "forecast.json", document)

    names = {"model_one_step": "", "model_multi_step": "multi_step_"}
    test = {f"{names.get(k, k + '_')}{m}": _finite_or_none(v) for k, s in scores.items() for m, v in s.items()}
    results = {(f"test_{key}" if not key.startswith(("seasonal_naive", "last_value")) else key): v for key, v in test.items()}
    forecasters = {"model_one_step": N_("model one step"), "model_multi_step": N_("model multi step"),
                   "seasonal_naive": N_("seasonal naive"), "last_value": N_("last value"),
                   "seasonal_naive_one_step": N_("seasonal naive one step"), "last_value_one_step": N_("last value one step")}
    for key, s in scores.items():
        say(_("Test {forecast}: MAE {mae}, RMSE {rmse} ({unit})").format(
            forecast=_(forecasters[key]) if key in forecasters else key.replace("_", " "), mae=f"{s['mae']:.3f}",
            rmse=f"{s['rmse']:.3f}", unit=series.unit))
    if fc.gradient_demo:
        demo = exploding_gradient_demo(run_dir, epochs=fc.gradient_demo_epochs, series=series.name, seed=config.seed)
        peak = {k: max((v for v in demo[k] if v is not None), default=math.nan) for k in ("unclipped", "clipped")}
        if demo["diverged"]["unclipped"] is None:  # the English says "step None"; the translation may say it better
            line = _("Exploding-gradient demo: largest finite gradient norm {unclipped} without clipping (diverged at step "
                     "None), {clipped} with clip_grad_norm={clip}.")
        else:
            line = _("Exploding-gradient demo: largest finite gradient norm {unclipped} without clipping (diverged at step "
                     "{step}), {clipped} with clip_grad_norm={clip}.")
        say(line.format(unclipped=f"{peak['unclipped']:.3g}", step=demo["diverged"]["unclipped"],
                        clipped=f"{peak['clipped']:.3g}", clip=f"{demo['clip']:g}"))
    status = "diverged" if learner.diverged else "finished"
    return {"task": "regression", "status": status, "message": learner.stop_reason if learner.diverged else None,
            "epochs_done": learner.epoch, "best_epoch": checkpoint.best_epoch, "monitor": monitor,
            "forecast": {**fc.model_dump(), "series": series.name, "period": period, "strategy": strategy},
            "test": test, "results": results, "model": model_table(learner), "timings": fit_timings(learner)}



# ------------------------------------------------------------------------------ exploding gradients
def _step_log():
    """A callback collecting the gradient norm (before clipping) and the loss of every optimizer step."""
    from ..train.callbacks import Callback

    class StepLog(Callback):
        def __init__(self):
            self.norms: list[float] = []
            self.losses: list[float] = []

        def on_train_batch_end(self, learner, step, logs):
            if "grad_norm" in logs:
                self.norms.append(float(logs["grad_norm"]))
                self.losses.append(float(logs["loss"]))

    return StepLog()


def _long_windows(series_name: str, seq_len: int, max_windows: int = 64):
    """Windows of `seq_len` steps (and the next value) from a series' training span, scaled on it: (W, seq_len, 1), (W, 1)."""
    from .windows import SeriesScaler, chronological_split, load_series, make_windows

    series = load_series(series_name)
    split = chronological_split(len(series), val_size=30, test_size=30, min_train=seq_len + 1)  # the recipe's spans
    train = series.values[: split.train_end]
    x, y = make_windows(SeriesScaler().fit(train).transform(train), seq_len, 1)  # (W, seq_len, 1), (W, 1)
    stride = max(1, math.ceil(len(x) / max_windows))
    return x[::stride], y[::stride]


def exploding_gradient_demo(run_dir, epochs: int = 10, *, series: str = "sunspots", seq_len: int = 200, hidden: int = 32,
                            lr: float = 0.2, clip: float = 1.0, batch_size: int = 16, seed: int = 0,
                            keep_runs: bool = False) -> dict:
    """The textbook's exploding gradient: a tanh RNN over 200-step windows, trained with and without clipping.

    A vanilla RNN (`rnn_forecaster(cell="rnn")`) with orthogonal recurrent weights (all
    singular values 1: the edge between vanishing and exploding) reads `seq_len` yearly
    sunspot numbers and predicts the next one, trained by plain SGD with a large learning
    rate. Without clipping, the gradient flowing back through the 200 steps grows step after
    step (the recurrent matrix's first, measured: 1e2 at step 5, 1e9 at step 11 with seed 0),
    each update throws the recurrent weights further (norm 6 → 3e8), every tanh unit
    saturates, and the output layer, now fed ±1 by every unit, overshoots its minimum at each
    step until the loss and the norm overflow (inf, 25-30 steps) and training stops. With
    `clip_grad_norm=clip` every update is at most `lr * clip` long and the same model trains
    (norms 1-25, loss 1.1 → 0.2). Both runs share the seed, the weights, the data and the
    batch order; only the clipping differs. `bench/exploding_gradients.py` prints both runs.

    Args:
        run_dir: where `gradient_demo.json` is written.
        epochs: epochs of each run.
        series, seq_len, hidden, lr, clip, batch_size, seed: the demo's settings.
        keep_runs: also write each run's metrics.jsonl, grad_stats.jsonl (every step) and
            config.yaml under `run_dir/gradient_demo/{unclipped,clipped}/`, so that
            `tujie.report.build_report` draws them in its gradient-norm section.

    Returns:
        The contents of gradient_demo.json: `{"clip", "unclipped": [norm per step],
        "clipped": [...], "unclipped_loss", "clipped_loss", "diverged": {run: step or None},
        "epochs": {run: [per-epoch logs]}, "settings"}`; an overflowed norm is stored as null.

    Example:
        >>> import tempfile
        >>> demo = exploding_gradient_demo(tempfile.mkdtemp(), epochs=2, seq_len=50)
        >>> len(demo["clipped"]), demo["clip"]
        (8, 1.0)
    """
    from torch import nn

    from .. import config as cfg
    from .. import models
    from .._io import write_text
    from ..train.builders import build_learner
    from ..train import GradientStats, MetricsLogger
    from ..utils import seed_everything

    run_dir = Path(run_dir)
    x, y = _long_windows(series, seq_len)
    settings = {"series": series, "seq_len": seq_len, "windows": len(x), "cell": "rnn (tanh)", "hidden": hidden,
                "init": "orthogonal recurrent weights (gain 1)", "optimizer": "sgd", "lr": lr, "batch_size": batch_size,
                "epochs": epochs, "seed": seed}
    out: dict = {"clip": clip, "settings": settings, "diverged": {}, "epochs": {}}
    for name, clip_value in (("unclipped", None), ("clipped", clip)):
        config = cfg.RunConfig(recipe=f"exploding-gradients-{name}", seed=seed, data={"name": series},
                               description=f"tanh RNN on {seq_len}-step windows, SGD lr {lr}, "
                                           + (f"clip_grad_norm {clip_value:g}" if clip_value else "no clipping"),
                               model={"name": "rnn_forecaster", "cell": "rnn", "hidden": hidden},
                               optimizer={"name": "sgd", "lr": lr},
                               train={"epochs": epochs, "batch_size": batch_size, "loss": "mse", "metrics": [],
                                      "clip_grad_norm": clip_value, "track_grad_norm": True,
                                      "grad_stats_every": 1 if keep_runs else None})
        seed_everything(seed)
        model = models.create("rnn_forecaster", cell="rnn", hidden=hidden)
        nn.init.orthogonal_(model.rnn.weight_hh_l0)  # (hidden, hidden), every singular value 1
        log = _step_log()
        callbacks = [log]
        if keep_runs:
            folder = run_dir / "gradient_demo" / name
            write_text(folder / "config.yaml", cfg.to_yaml(config))
            callbacks += [MetricsLogger(folder / "metrics.jsonl"), GradientStats(folder / "grad_stats.jsonl", every=1)]
        learner = build_learner(config, model, callbacks)
        learner.fit((x, y), epochs=epochs, batch_size=batch_size, verbose=0)
        out[name] = [_finite_or_none(v) for v in log.norms]
        out[f"{name}_loss"] = [_finite_or_none(v) for v in log.losses]
        blown = [i for i, (g, l) in enumerate(zip(log.norms, log.losses), 1) if not (math.isfinite(g) and math.isfinite(l))]
        out["diverged"][name] = blown[0] if blown else None
        out["epochs"][name] = [{"epoch": e["epoch"], **{k: _finite_or_none(e[k]) for k in ("loss", "grad_norm", "grad_norm_max")
                                                        if k in e}} for e in learner.history.epochs]
    write_json(run_dir / "gradient_demo.json", out)
    return out
