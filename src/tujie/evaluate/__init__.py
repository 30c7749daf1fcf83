"""Evaluating a trained model: classification and regression metrics, threshold tuning.

    >>> import tujie.evaluate as ev
    >>> sorted(ev.__all__)  # doctest: +NORMALIZE_WHITESPACE
    ['CalibrationBins', 'PairReservoir', 'ThresholdResult', 'classification_metrics',
     'classification_metrics_from_outputs', 'plot_threshold_tradeoff', 'regression_metrics', 'tune_threshold']

torchmetrics and matplotlib are imported inside the functions that use them, so importing
this package costs little beyond `import torch`.
"""

from .classification import CalibrationBins, classification_metrics, classification_metrics_from_outputs
from .regression import PairReservoir, regression_metrics
from .threshold import ThresholdResult, plot_threshold_tradeoff, tune_threshold

__all__ = ["classification_metrics", "classification_metrics_from_outputs", "CalibrationBins", "regression_metrics", "PairReservoir", "tune_threshold",
           "ThresholdResult", "plot_threshold_tradeoff"]
