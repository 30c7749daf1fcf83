"""Scaling laws: a power law L(N) = (N_c / N)^α fitted to validation losses, with a confidence interval.

Kaplan et al. ("Scaling Laws for Neural Language Models", 2020) found that a language model's
test loss falls as a power of its size when data and compute do not hold it back:
L(N) = (N_c / N)^α_N with α_N ≈ 0.076 and N_c ≈ 8.8·10¹³ non-embedding parameters (WebText2,
BPE tokens), and likewise against compute, C ≈ 6·N·D floating-point operations for N parameters
trained on D tokens (two for the forward pass, four for the backward, per parameter and token).

In log–log coordinates the power law is a line, log L = α·log N_c − α·log N, so α is minus the
slope of an ordinary least-squares fit of log L on log N. Its 95% interval is the t-interval of
that slope (n − 2 degrees of freedom, n the number of sizes): with five sizes it is wide, and it
says so honestly. The grid of GPT sizes the `lm_scaling` kind trains is `SIZES`.

Example:
    >>> fit = fit_power_law([1e5, 1e6, 1e7], [4.0, 4.0 * 10 ** -0.1, 4.0 * 10 ** -0.2])
    >>> round(fit.alpha, 3), round(fit.predict(1e8), 3)
    (0.1, 2.005)
    >>> f"{training_flops(1e6, 1e5):.1e}"
    '6.0e+11'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError

KAPLAN_ALPHA_N = 0.076  # Kaplan et al. 2020, eq. 1.1: L(N) = (N_c / N)^α_N
KAPLAN_N_C = 8.8e13  # non-embedding parameters
KAPLAN_ALPHA_C = 0.050  # eq. 1.3, against the compute of compute-optimal training (C_min)
GPT3_PARAMETERS = 175e9  # Brown et al. 2020: GPT-3's 175 billion parameters

# The grid of the `lm_scaling` kind: (n_layer, n_head, n_embd), about 12·n_layer·n_embd² non-embedding parameters
SIZES = {
    "xs": (2, 2, 48),  # ≈ 0.055M
    "s": (3, 3, 96),  # ≈ 0.33M
    "m": (4, 4, 160),  # ≈ 1.2M
    "l": (6, 4, 256),  # ≈ 4.7M
    "xl": (8, 5, 320),  # ≈ 9.8M
}


@dataclass(frozen=True)
class PowerLawFit:
    """L(x) = (x_c / x)^α, fitted as a line in log–log coordinates.

    Attributes:
        alpha: the exponent α (minus the slope of log L against log x).
        alpha_low, alpha_high: its confidence interval (the slope's t-interval).
        intercept: log L at x = 1 (= α·log x_c); `x_c` is the scale where the law reaches a loss of 1.
        r2: the share of the variance of log L the line explains.
        points: how many points were fitted.
        confidence: the interval's level (0.95).
        method: how the interval was made.
    """

    alpha: float
    alpha_low: float
    alpha_high: float
    intercept: float
    r2: float
    points: int
    confidence: float = 0.95
    method: str = "t-interval of the least-squares slope of log L on log x"

    def predict(self, x):
        """The fitted loss at x (a number or an array): (x_c / x)^α."""
        value = np.exp(self.intercept - self.alpha * np.log(np.asarray(x, dtype=np.float64)))
        return float(value) if np.ndim(value) == 0 else value

    @property
    def x_c(self) -> float:
        """x_c of L = (x_c / x)^α (NaN when it overflows: a nearly flat line)."""
        exponent = self.intercept / self.alpha if self.alpha else math.inf
        return math.exp(exponent) if abs(exponent) < 700 else math.nan

    def to_dict(self) -> dict:
        return {**asdict(self), "x_c": self.x_c if math.isfinite(self.x_c) else None}


def fit_power_law(x, loss, confidence: float = 0.95) -> PowerLawFit:
    """Fit L = (x_c / x)^α by least squares on log L = α·log x_c − α·log x.

    Args:
        x: the sizes (parameters, or compute), all > 0.
        loss: the loss at each size, all > 0 (nats per token).
        confidence: the level of the interval for α (the slope's t-interval, n − 2 degrees of freedom).

    Returns:
        A `PowerLawFit`. With two points the line passes through both and the interval is unknown (NaN).

    Example:
        >>> fit = fit_power_law([1e4, 1e5, 1e6, 1e7], [5.0, 4.3, 3.6, 3.2])
        >>> fit.alpha_low < fit.alpha < fit.alpha_high
        True
    """
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(np.asarray(x, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):  # a loss ≤ 0 becomes NaN/-inf: refused below
        ly = np.log(np.asarray(loss, dtype=np.float64))
    if len(lx) != len(ly) or len(lx) < 2 or not (np.isfinite(lx).all() and np.isfinite(ly).all()):
        raise ConfigError("A power law needs at least two sizes with a positive, finite loss each.",
                          expected="two equally long lists of positive numbers (sizes, losses), at least two of each",
                          received=f"{len(lx)} sizes, {len(ly)} losses",
                          fix="Train at least two sizes (lm_scaling.sizes) and check that none diverged.")
    if np.ptp(lx) == 0:
        raise ConfigError("A power law needs at least two different sizes.", expected="sizes that differ",
                          received=f"every size {math.exp(lx[0]):.3g}", fix="Give lm_scaling.sizes different models.")
    n = len(lx)
    slope, intercept = np.polyfit(lx, ly, 1)
    residuals = ly - (intercept + slope * lx)
    total = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - float((residuals ** 2).sum()) / total if total > 0 else 1.0
    if n > 2:
        sigma2 = float((residuals ** 2).sum()) / (n - 2)  # the residual variance
        se = math.sqrt(sigma2 / float(((lx - lx.mean()) ** 2).sum()))  # the slope's standard error
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 2)) * se
    else:
        half = math.nan
    alpha = -float(slope)
    return PowerLawFit(alpha=alpha, alpha_low=alpha - half, alpha_high=alpha + half, intercept=float(intercept), r2=r2,
                       points=n, confidence=confidence)


def training_flops(parameters: float, tokens: float) -> float:
    """Kaplan et al.'s C ≈ 6·N·D: training compute (floating-point operations) of N parameters on D tokens."""
    return 6.0 * float(parameters) * float(tokens)


def non_embedding_parameters(n_layer: int, n_embd: int) -> int:
    """Kaplan et al.'s estimate N ≈ 12·n_layer·n_embd² (attention 4·d², MLP 8·d² per block)."""
    return 12 * n_layer * n_embd ** 2


def kaplan_loss(parameters):
    """Kaplan et al.'s fitted L(N) = (8.8·10¹³ / N)^0.076 (nats per BPE token of WebText2: not our units)."""
    return (KAPLAN_N_C / np.asarray(parameters, dtype=np.float64)) ** KAPLAN_ALPHA_N


__all__ = [
    "GPT3_PARAMETERS",
    "KAPLAN_ALPHA_C",
    "KAPLAN_ALPHA_N",
    "KAPLAN_N_C",
    "SIZES",
    "PowerLawFit",
    "fit_power_law",
    "kaplan_loss",
    "non_embedding_parameters",
    "training_flops",
]
