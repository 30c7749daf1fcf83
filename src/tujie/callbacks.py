"""Callbacks under the names Keras users reach for: `tj.callbacks.EarlyStopping(patience=3)`.

They live in `tujie.train.callbacks` (read its docstring for the events the loop calls);
this module only gathers them where `keras.callbacks` keeps them. Epochs passed to the
Keras-style functions (`LearningRateScheduler`, `LambdaCallback`) count from 0, as in Keras.

Example:
    >>> import tujie as tj
    >>> tj.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2).factor
    0.5
"""

from __future__ import annotations

from .train.callbacks import (Callback, CSVLogger, EarlyStopping, GradientStats, History, LambdaCallback,
                              LearningRateLogger, LearningRateScheduler, MetricsLogger, ModelCheckpoint, NaNGuard,
                              ProgressBar, ReduceLROnPlateau, TensorBoard, TerminateOnNaN)
from .train.run_directory import RunDirectory

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "CSVLogger", "TensorBoard", "ReduceLROnPlateau",
           "LearningRateScheduler", "LambdaCallback", "TerminateOnNaN", "NaNGuard", "LearningRateLogger", "GradientStats",
           "MetricsLogger", "ProgressBar", "RunDirectory"]
