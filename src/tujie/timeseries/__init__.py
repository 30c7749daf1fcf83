"""Time series: windows over a series, forecasts against naive baselines, and the exploding-gradient demo.

`load_series` gives an embedded series (sunspots, co2); `prepare` splits it by time, scales it
on the training span and cuts windows; the `rnn_forecaster` model learns from them;
`forecast_one_step` / `forecast_multi_step` forecast, `seasonal_naive` / `last_value` are the
baselines and `metrics` scores them; `run_forecast` runs a `kind: forecast` recipe.

Names load on first use, so `from tujie.timeseries.forecast import ForecastConfig` (part of the
run configuration) does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    **dict.fromkeys(["Series", "Split", "SeriesScaler", "ForecastData", "load_series", "chronological_split",
                     "make_windows", "prepare"], "tujie.timeseries.windows"),
    **dict.fromkeys(["ForecastConfig", "forecast_one_step", "forecast_multi_step", "forecast_direct", "seasonal_naive",
                     "last_value", "metrics", "plot_forecast", "forecast_figure", "run_forecast", "exploding_gradient_demo",
                     "gradient_demo_figure"], "tujie.timeseries.forecast"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tujie.timeseries' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


def __dir__():
    return __all__
