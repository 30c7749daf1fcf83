"""Forecasts and baselines against hand-computed references, a tiny recipe run end to end, the gradient demo, figures."""

import doctest
import json
import math

import pytest
import torch
from torch import nn

from tujie import config as cfg
from tujie.errors import ConfigError, DataError
from tujie.recipes import load_recipe
from tujie.timeseries import (ForecastConfig, exploding_gradient_demo, forecast_direct, forecast_figure, forecast_multi_step,
                              forecast_one_step, gradient_demo_figure, last_value, metrics, plot_forecast, run_forecast,
                              seasonal_naive)

PNG = b"\x89PNG"


class LearnedIdentity(nn.Module):
    """A linear forecaster whose weights learned 'next value = last value' (the identity of the last step)."""

    def __init__(self, input_len: int, shift: float = 0.0):
        super().__init__()
        self.linear = nn.Linear(input_len, 1)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.weight[0, -1] = 1.0
            self.linear.bias.fill_(shift)

    def forward(self, x):  # (B, T, 1) -> (B, 1)
        return self.linear(x[..., 0])


def test_seasonal_naive_is_exact_on_a_purely_periodic_series():
    season = torch.tensor([3.0, 7.0, 1.0, 9.0, 4.0, 4.5, 8.0, 2.0, 6.0, 5.0, 0.5])  # period 11
    series = season.repeat(6)  # (66,)
    forecast = seasonal_naive(series[:40], period=11, steps=26)
    assert torch.equal(forecast, series[40:66])
    assert metrics(series[40:66], forecast) == {"mae": 0.0, "rmse": 0.0}


def test_seasonal_naive_needs_a_whole_season():
    with pytest.raises(DataError, match="season"):
        seasonal_naive(torch.arange(5.0), period=11, steps=3)


def test_last_value_and_metrics_against_hand_computed_numbers():
    assert last_value(torch.tensor([1.0, 2.0, 5.0]), 3).tolist() == [5.0, 5.0, 5.0]
    scores = metrics([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 1.0, 4.0])
    assert scores["mae"] == pytest.approx(0.75) and scores["rmse"] == pytest.approx(math.sqrt(5 / 4))


def test_recursive_multi_step_feeds_the_predictions_back():
    history = torch.tensor([0.0, 3.0, 1.0, 4.0, 2.0])
    identity = LearnedIdentity(input_len=3)
    assert forecast_multi_step(identity, history, steps=4, input_len=3).tolist() == [2.0] * 4  # stays at the last value
    trend = LearnedIdentity(input_len=3, shift=1.0)  # "next = last + 1": only right if the predictions are fed back
    assert forecast_multi_step(trend, history, steps=4, input_len=3).tolist() == pytest.approx([3.0, 4.0, 5.0, 6.0])
    assert trend.training  # the model's mode is given back


def test_one_step_reads_the_true_values_and_direct_reads_the_horizon():
    values = torch.arange(10.0) ** 2
    one_step = forecast_one_step(LearnedIdentity(4), values, input_len=4, start=6)
    assert one_step.tolist() == values[5:9].tolist()  # each forecast is the true value before it
    three = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    assert torch.allclose(forecast_direct(three, values[:6], steps=2, input_len=4), three(values[2:6].view(1, 4, 1))[0, :2])
    with pytest.raises(ConfigError, match="horizon"):
        forecast_direct(three, values[:6], steps=5, input_len=4)


def _tiny_config(tmp_path, **train):
    config = cfg.RunConfig(recipe="tiny-forecast", data={"name": "sunspots"},
                           model={"name": "rnn_forecaster", "cell": "gru", "hidden": 4}, optimizer={"name": "adam", "lr": 0.01},
                           train={"epochs": 2, "batch_size": 64, "loss": "mse", "metrics": ["mae"], "clip_grad_norm": 1.0, **train})
    return config


def test_run_forecast_writes_forecast_json_with_every_key(tmp_path):
    lines = []
    out = run_forecast(_tiny_config(tmp_path, grad_stats_every=2), tmp_path, say=lines.append,
                       forecast=ForecastConfig(input_len=12, steps=20))
    doc = json.loads((tmp_path / "forecast.json").read_text())
    assert {"series", "unit", "period", "index", "values", "train_end", "val_end", "one_step", "multi_step", "baselines",
            "metrics"} <= set(doc)
    assert doc["series"] == "sunspots" and doc["period"] == 11 and len(doc["index"]) == len(doc["values"]) == 309
    assert doc["train_end"] == 1948.0 and doc["val_end"] == 1978.0 and doc["split"] == {"train": 249, "val": 30, "test": 30}
    assert doc["one_step"]["index"] == doc["index"][279:] and len(doc["one_step"]["pred"]) == 30
    assert len(doc["multi_step"]["pred"]) == 20 and set(doc["baselines"]) == {"seasonal_naive", "last_value"}
    assert doc["baselines"]["seasonal_naive"]["pred"][:11] == doc["values"][268:279]  # the season before the origin
    assert set(doc["metrics"]) >= {"model_one_step", "model_multi_step", "seasonal_naive", "last_value"}
    assert all(set(m) == {"mae", "rmse"} for m in doc["metrics"].values())
    assert out["results"]["test_mae"] == doc["metrics"]["model_one_step"]["mae"]
    assert out["results"]["seasonal_naive_mae"] == doc["metrics"]["seasonal_naive"]["mae"]
    assert out["test"]["mae"] == out["results"]["test_mae"] and out["status"] == "finished" and out["epochs_done"] == 2
    history = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 2 and all("grad_norm" in h and "val_loss" in h for h in history)
    assert (tmp_path / "grad_stats.jsonl").is_file() and any("Split by time" in line for line in lines)
    assert forecast_figure(doc)[:4] == PNG


def test_run_forecast_refuses_settings_that_cannot_work(tmp_path):
    with pytest.raises(ConfigError, match="steps"):
        run_forecast(_tiny_config(tmp_path), tmp_path, say=lambda *a: None, forecast=ForecastConfig(steps=40, test_size=30))
    config = _tiny_config(tmp_path).model_copy(update={"train": cfg.TrainConfig(loss="cross_entropy")})
    with pytest.raises(ConfigError, match="regression loss"):
        run_forecast(config, tmp_path, say=lambda *a: None)


def test_clipping_keeps_the_long_rnn_gradients_small(tmp_path):
    demo = exploding_gradient_demo(tmp_path, epochs=3)
    assert json.loads((tmp_path / "gradient_demo.json").read_text())["clip"] == 1.0
    unclipped = [v for v in demo["unclipped"] if v is not None]
    clipped = [v for v in demo["clipped"] if v is not None]
    assert len(demo["clipped"]) == 12 and demo["diverged"]["clipped"] is None
    assert max(unclipped) > 100 * max(clipped)  # orders of magnitude apart within a dozen steps
    assert gradient_demo_figure(demo)[:4] == PNG


def test_plot_forecast_returns_png_bytes():
    png = plot_forecast([2000 + i for i in range(24)], [math.sin(i) for i in range(24)],
                        {"model one-step": ([2020, 2021, 2022, 2023], [0.1, 0.2, 0.3, 0.4])}, train_end=2015, val_end=2019)
    assert png[:4] == PNG


def test_the_shipped_recipe_is_a_forecast_config():
    raw = load_recipe("sunspots-lstm")
    assert raw.pop("kind") == "forecast"
    forecast = ForecastConfig.model_validate(raw.pop("forecast"))
    config = cfg.validate(raw)  # the rest is a plain RunConfig
    assert config.expected.metric == "test_mae" and "seasonal" in config.expected.source
    assert config.model.name == "rnn_forecaster" and config.train.clip_grad_norm and forecast.steps <= forecast.test_size


@pytest.mark.parametrize("name", ["tujie.timeseries.windows", "tujie.timeseries.forecast", "tujie.models.forecaster"])
def test_docstring_examples(name):
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch})
    assert result.attempted and result.failed == 0
