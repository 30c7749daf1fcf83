"""Training: the `Learner` loop, callbacks, losses, optimizers, metrics, checkpoints."""

from .callbacks import (Callback, CSVLogger, EarlyStopping, GradientStats, History, LearningRateLogger, MetricsLogger,
                        ModelCheckpoint, NaNGuard, ProgressBar, TensorBoard)
from .checkpoint import load_checkpoint, load_weights, save_checkpoint, save_weights
from .loop import Learner
from .losses import get_loss
from .optimizers import get_optimizer, get_scheduler
from .run_directory import RunDirectory
from .summary import summarize

__all__ = ["Learner", "Callback", "History", "EarlyStopping", "ModelCheckpoint", "NaNGuard", "CSVLogger",
           "MetricsLogger", "TensorBoard", "LearningRateLogger", "GradientStats", "ProgressBar", "RunDirectory", "get_loss", "get_optimizer", "get_scheduler",
           "save_weights", "load_weights", "save_checkpoint", "load_checkpoint", "summarize"]
