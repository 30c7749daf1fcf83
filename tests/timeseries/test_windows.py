"""Series loading, the chronological split, scaling on the training span, and windows that never read the future."""

import pytest
import torch

from tujie.errors import ConfigError, DataError
from tujie.timeseries import chronological_split, load_series, make_windows, prepare
from tujie.timeseries.windows import Series


def _reference_windows(values, input_len, horizon, start, end):
    """One window per target position t, written as a plain loop."""
    xs, ys = [], []
    for t in range(start, end - horizon + 1):
        xs.append(values[t - input_len:t])
        ys.append(values[t:t + horizon])
    return xs, ys


def test_sunspots_is_the_yearly_series_with_an_eleven_year_season():
    s = load_series("sunspots")
    assert len(s) == 309 and s.values.dtype == torch.float32 and s.values.shape == (309,)
    assert s.index[0].item() == 1700.0 and s.index[-1].item() == 2008.0 and s.period == 11
    assert s.frequency == "yearly" and "sunspot" in s.unit


def test_co2_is_weekly_with_its_gaps_filled():
    s = load_series("co2")
    assert s.period == 52 and s.frequency == "weekly" and len(s) == 2284
    assert torch.isfinite(s.values).all()  # the 59 missing weeks were interpolated
    assert (s.index.diff() > 0).all() and abs(s.index.diff().mean().item() - 7 / 365.25) < 1e-3
    assert "interpolation" in s.notes[0]


def test_unknown_series_names_the_close_one():
    with pytest.raises(ConfigError, match="sunspots"):
        load_series("sunspot")


@pytest.mark.parametrize("input_len,horizon,start,end", [(3, 1, None, None), (4, 3, None, None), (2, 2, 5, 9), (5, 1, 7, 8)])
def test_windows_match_a_plain_loop(input_len, horizon, start, end):
    values = torch.arange(12.0) ** 2
    x, y = make_windows(values, input_len, horizon, start=start, end=end)
    xs, ys = _reference_windows(values, input_len, horizon, start or input_len, end or 12)
    assert x.shape == (len(xs), input_len, 1) and y.shape == (len(ys), horizon)
    assert torch.equal(x[..., 0], torch.stack(xs)) and torch.equal(y, torch.stack(ys))


def test_window_errors_name_the_problem():
    with pytest.raises(DataError, match="one-dimensional"):
        make_windows(torch.zeros(4, 2), 2)
    with pytest.raises(DataError, match="No window fits"):
        make_windows(torch.zeros(5), input_len=4, horizon=2)
    with pytest.raises(DataError, match="before the series"):
        make_windows(torch.zeros(9), input_len=4, start=2)
    with pytest.raises(ConfigError, match="input_len"):
        make_windows(torch.zeros(9), input_len=0)


def test_split_is_chronological_and_refuses_too_short_series():
    split = chronological_split(309, val_size=30, test_size=30)
    assert (split.train_end, split.val_end, split.n) == (249, 279, 309)
    assert split.sizes == {"train": 249, "val": 30, "test": 30}
    with pytest.raises(DataError, match="too short"):
        chronological_split(50, val_size=30, test_size=30, min_train=25)


def _toy_series(n=120):
    t = torch.arange(n, dtype=torch.float64)
    values = (10 + 5 * torch.sin(2 * torch.pi * t / 12) + 0.1 * t).float()
    return Series(values, 2000 + t, "toy", 12, "units", "monthly")


def test_scaler_is_fitted_on_the_training_span_only():
    series = _toy_series()
    data = prepare(series, input_len=12, horizon=1, val_size=20, test_size=20)
    train = series.values[:data.split.train_end]
    assert data.scaler.mean_ == pytest.approx(float(train.mean())) and data.scaler.std_ == pytest.approx(float(train.std()))
    assert data.scaler.mean_ != pytest.approx(float(series.values.mean()))  # the trend makes the whole-series mean differ
    round_trip = data.scaler.inverse_transform(data.scaler.transform(series.values))
    assert torch.allclose(round_trip, series.values, atol=1e-4)


def test_no_window_sees_the_future():
    series = _toy_series()
    data = prepare(series, input_len=12, horizon=3, val_size=20, test_size=20)
    te, ve, n = data.split.train_end, data.split.val_end, data.split.n
    # training targets end before validation starts; validation targets before test starts
    assert len(data.train[0]) == te - 12 - 3 + 1 and len(data.val[0]) == 20 - 3 + 1 and len(data.test[0]) == 20 - 3 + 1
    future = series.values.clone()
    future[te:] = 1e6  # change everything after the training span
    changed = prepare(Series(future, series.index, "toy", 12, "units", "monthly"), 12, 3, 20, 20)
    assert changed.scaler.mean_ == data.scaler.mean_ and changed.scaler.std_ == data.scaler.std_
    assert torch.equal(changed.train[0], data.train[0]) and torch.equal(changed.train[1], data.train[1])
    # each test window reads only values before its own first target: changing that target and later leaves it alone
    for row, t in enumerate(range(ve, n - 3 + 1)):
        later = series.values.clone()
        later[t:] = -1e6
        x, _ = make_windows(data.scaler.transform(later), 12, 3, start=ve, end=n)
        assert torch.equal(x[row], data.test[0][row])
