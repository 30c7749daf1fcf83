"""Series for forecasting: load one, split it by time, scale it on the past alone, cut it into windows.

Three rules keep a forecast honest, and each has its function here:

1. The split is chronological (`chronological_split`): training span, then validation,
   then test, never shuffled across time, so no model sees the future it is judged on.
2. The scaling is fitted on the training span only (`SeriesScaler.fit(values[:train_end])`):
   a mean or spread taken over the test years would leak them into every input.
3. A window's inputs are the `input_len` values strictly before its first target
   (`make_windows`); a window of the test span may read earlier *true* values (that is what
   one-step-ahead forecasting means) but never a value at or after its target.

The series come from statsmodels' embedded datasets, so nothing is downloaded:

| name     | values                                             | period                          |
|----------|----------------------------------------------------|---------------------------------|
| sunspots | yearly mean sunspot number, 1700-2008 (309 values) | 11 (the ~11-year solar cycle)   |
| co2      | weekly CO2 at Mauna Loa, 1958-2001 (2,284 weeks)   | 52 (weeks in a year)            |
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..errors import ConfigError, DataError, closest
from ..i18n import _


@dataclass(frozen=True)
class Series:
    """A univariate series with its time axis.

    Attributes:
        values: (N,) float32 observations, oldest first.
        index: (N,) float64 time of each value: the year (sunspots) or the decimal year of
            each week (co2), so both plot on one kind of axis.
        name: the series' name ("sunspots", "co2").
        period: the season length in steps, used by the seasonal-naive baseline.
        unit: what a value measures.
        frequency: "yearly" or "weekly".
        notes: what was done to the raw data (gaps filled, ...).
    """

    values: torch.Tensor
    index: torch.Tensor
    name: str
    period: int
    unit: str
    frequency: str
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.values)


def _sunspots() -> Series:
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data  # columns YEAR, SUNACTIVITY
    return Series(torch.tensor(frame["SUNACTIVITY"].to_numpy(), dtype=torch.float32),
                  torch.tensor(frame["YEAR"].to_numpy(), dtype=torch.float64), "sunspots", 11,
                  _("sunspot number (yearly mean)"), _("yearly"),
                  (_("Yearly mean sunspot numbers 1700-2008 (statsmodels); the season is the ~11-year solar cycle, "
                     "whose length varies from 9 to 14 years, so repeating the last cycle is only a rough baseline."),))


def _co2() -> Series:
    from statsmodels.datasets import co2

    raw = co2.load_pandas().data["co2"]  # weekly (W-SAT), with missing weeks
    weekly = raw.resample("W-SAT").mean()
    gaps = int(weekly.isna().sum())
    weekly = weekly.interpolate("linear").bfill()  # bfill: a gap in the very first week has no left neighbour
    dates = weekly.index
    year_length = 365.0 + dates.is_leap_year.astype(float)
    years = dates.year + (dates.day_of_year - 1) / year_length  # decimal years
    return Series(torch.tensor(weekly.to_numpy(), dtype=torch.float32), torch.tensor(years.to_numpy(dtype=float), dtype=torch.float64),
                  "co2", 52, _("ppm (CO2 mole fraction, Mauna Loa)"), _("weekly"),
                  (_("Weekly CO2 at Mauna Loa 1958-2001 (statsmodels), resampled to weeks ending on Saturday; "
                     "{gaps} missing weeks were filled by linear interpolation. The season is 52 weeks "
                     "(a year is 52.18 weeks, so the seasonal-naive baseline drifts by about a day a year).").format(gaps=gaps),))


SERIES = {"sunspots": _sunspots, "co2": _co2}


def load_series(name: str = "sunspots") -> Series:
    """Load an embedded series by name (no download).

    Args:
        name: "sunspots" (yearly, period 11) or "co2" (weekly, period 52).

    Returns:
        A `Series`.

    Example:
        >>> s = load_series("sunspots")
        >>> len(s), s.period, s.index[0].item(), s.values.dtype
        (309, 11, 1700.0, torch.float32)
    """
    key = str(name).lower().replace("-", "_")
    if key not in SERIES:
        raise ConfigError(f"Unknown series {name!r}. {closest(key, SERIES)}", expected=f"one of {', '.join(SERIES)}",
                          received=f"series={name!r}", fix="Set forecast.series (or data.name) to sunspots or co2.")
    return SERIES[key]()


@dataclass(frozen=True)
class Split:
    """Positions of a chronological split: train `[0, train_end)`, validation `[train_end, val_end)`, test `[val_end, n)`."""

    train_end: int
    val_end: int
    n: int

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": self.train_end, "val": self.val_end - self.train_end, "test": self.n - self.val_end}


def chronological_split(n: int, val_size: int = 30, test_size: int = 30, min_train: int = 1) -> Split:
    """Split `n` time steps into train, validation and test spans, in that order (never shuffled).

    Args:
        n: length of the series.
        val_size: steps in the validation span (may be 0).
        test_size: steps in the test span, the last ones.
        min_train: the fewest training steps accepted.

    Returns:
        A `Split`.

    Example:
        >>> chronological_split(309, val_size=30, test_size=30)
        Split(train_end=249, val_end=279, n=309)
    """
    for arg, value, low in (("val_size", val_size, 0), ("test_size", test_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"Invalid value received for `{arg}`.", expected=f"an integer >= {low}",
                              received=f"{arg}={value!r}", fix=f"Pass {arg}=30, for example.")
    if n - val_size - test_size < min_train:
        raise DataError("The series is too short for this split.",
                        expected=f"at least {min_train} training steps before {val_size} validation and {test_size} test steps",
                        received=f"{n} steps", fix="Shorten val_size/test_size or input_len.")
    return Split(n - val_size - test_size, n - test_size, n)


class SeriesScaler:
    """Standardise a series with the mean and standard deviation of the values it was fitted on.

    Fit it on the training span only: `SeriesScaler().fit(values[:split.train_end])`.
    The learned state ends with an underscore (`mean_`, `std_`), as in scikit-learn.

    Example:
        >>> scaler = SeriesScaler().fit(torch.tensor([1.0, 2.0, 3.0]))
        >>> scaler.transform(torch.tensor([2.0, 4.0])), scaler.inverse_transform(torch.tensor([0.0]))
        (tensor([0., 2.]), tensor([2.]))
    """

    def fit(self, values: torch.Tensor) -> SeriesScaler:
        values = torch.as_tensor(values, dtype=torch.float32)
        if values.numel() < 2:
            raise DataError("A scaler needs at least two values to fit.", received=f"{values.numel()} value(s)",
                            fix="Fit it on the whole training span.")
        self.mean_ = float(values.mean())
        self.std_ = float(values.std()) or 1.0  # a constant span: leave its scale alone
        return self

    def transform(self, values: torch.Tensor) -> torch.Tensor:
        return (torch.as_tensor(values, dtype=torch.float32) - self.mean_) / self.std_

    def inverse_transform(self, values: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.float32) * self.std_ + self.mean_


def make_windows(values: torch.Tensor, input_len: int, horizon: int = 1, *, start: int | None = None,
                 end: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a series into (input window, next values) pairs; the targets of every window lie in `[start, end)`.

    Window `t` (its first target at position t) reads `values[t - input_len : t]` and predicts
    `values[t : t + horizon]`: never a value at or after its own targets.

    Args:
        values: (N,) series.
        input_len: steps each window reads.
        horizon: values each window predicts.
        start: the first target position (default `input_len`, the first with a full window).
        end: one past the last target position (default N): windows with a target at or
            after `end` are left out, so `end=split.train_end` keeps training clear of validation.

    Returns:
        `(x, y)`: x (windows, input_len, 1), y (windows, horizon).

    Example:
        >>> x, y = make_windows(torch.arange(6.0), input_len=3, horizon=2)
        >>> x.shape, y.shape, x[0, :, 0].tolist(), y[0].tolist()
        (torch.Size([2, 3, 1]), torch.Size([2, 2]), [0.0, 1.0, 2.0], [3.0, 4.0])
    """
    values = torch.as_tensor(values, dtype=torch.float32)
    if values.ndim != 1:
        raise DataError("A series to cut into windows must be one-dimensional.", expected="a tensor of shape (N,)",
                        received=f"shape {tuple(values.shape)}", fix="Pass series.values, or x.reshape(-1).")
    for arg, value in (("input_len", input_len), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"Invalid value received for `{arg}`.", expected="a positive integer",
                              received=f"{arg}={value!r}", fix=f"Pass {arg}=24, for example.")
    start = input_len if start is None else start
    end = len(values) if end is None else end
    if start < input_len:
        raise DataError("Windows would start before the series does.", expected=f"start >= input_len ({input_len})",
                        received=f"start={start}", fix="Start later, or shorten input_len.")
    count = end - horizon + 1 - start  # target blocks [t, t + horizon) with start <= t and t + horizon <= end
    if count < 1 or end > len(values):
        raise DataError("No window fits in the span.",
                        expected=f"input_len + horizon = {input_len + horizon} steps, with targets inside [start, end)",
                        received=f"start={start}, end={end}, series of {len(values)} steps",
                        fix="Shorten input_len or horizon, or lengthen the span.")
    blocks = values[start - input_len: end].unfold(0, input_len + horizon, 1)  # (count, input_len + horizon)
    return blocks[:, :input_len].unsqueeze(-1).contiguous(), blocks[:, input_len:].contiguous()  # (count, L, 1), (count, H)


@dataclass
class ForecastData:
    """A series made ready for a forecaster: split, scaled on the training span, windowed.

    `train`, `val` and `test` are `(x, y)` window pairs in scaled units whose targets lie in
    their own span; `scaled` is the whole scaled series (for recursive forecasts).
    """

    series: Series
    split: Split
    scaler: SeriesScaler
    scaled: torch.Tensor
    input_len: int
    horizon: int
    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor] | None
    test: tuple[torch.Tensor, torch.Tensor]


def prepare(series: Series, input_len: int = 24, horizon: int = 1, val_size: int = 30, test_size: int = 30) -> ForecastData:
    """Split `series` by time, fit the scaler on the training span, and cut each span's windows.

    Args:
        series: a `Series` (from `load_series`).
        input_len: steps each window reads.
        horizon: values each window predicts.
        val_size, test_size: steps of the validation and test spans (the last ones).

    Returns:
        A `ForecastData`.

    Example:
        >>> data = prepare(load_series("sunspots"), input_len=24, val_size=30, test_size=30)
        >>> data.split.sizes, data.train[0].shape, data.test[1].shape
        ({'train': 249, 'val': 30, 'test': 30}, torch.Size([225, 24, 1]), torch.Size([30, 1]))
    """
    split = chronological_split(len(series), val_size, test_size, min_train=input_len + horizon)
    scaler = SeriesScaler().fit(series.values[: split.train_end])  # the training span alone
    scaled = scaler.transform(series.values)  # (N,)
    train = make_windows(scaled, input_len, horizon, end=split.train_end)
    val = make_windows(scaled, input_len, horizon, start=split.train_end, end=split.val_end) if val_size >= horizon else None
    if test_size < horizon:
        raise ConfigError("The test span is shorter than the horizon.", expected=f"test_size >= horizon ({horizon})",
                          received=f"test_size={test_size}", fix="Lengthen test_size or shorten horizon.")
    test = make_windows(scaled, input_len, horizon, start=split.val_end, end=split.n)
    return ForecastData(series, split, scaler, scaled, input_len, horizon, train, val, test)
