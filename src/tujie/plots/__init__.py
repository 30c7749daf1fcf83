"""Plots: tujie's matplotlib figures, returned as PNG bytes, ready to embed in a report.

A floor of its own below `train/`, `evaluate/` and the domains: anything that draws imports
from here, and nothing here knows a run, a recipe, a kind or a report page.

    style           colours, fonts (a CJK font when one is installed), `figure_label`, `new_figure`, `png_bytes`
    training        training curves, learning rate, gradient norms per layer
    classification  confusion matrix, prediction grids, ROC/PR, calibration, threshold, regression
    comparison      cross-validation folds, ensemble members, overfitting-lab variants
    words           BLEU by sentence length, a 2-D map of word vectors

Example:
    >>> from tujie import plots
    >>> png = plots.training_curves([{"epoch": 1, "loss": 0.9}, {"epoch": 2, "loss": 0.5}])
    >>> png[:4] == b"\\x89PNG"
    True
"""
from .classification import (confusion_matrix, predicted_vs_true, prediction_grid, reliability_diagram, roc_pr_curves,
                             threshold_tradeoff)
from .comparison import cross_validation_boxes, ensemble_bars, gap_bars, overfitting_lab_curves
from .style import (BETTER_COLOR, CHANCE_COLOR, CORRECT_COLOR, DPI, INK_COLOR, NEUTRAL_COLOR, TRAIN_COLOR, VAL_COLOR,
                    WRONG_COLOR, class_colors, figure_label, figure_style, new_figure, plain_text, png_bytes)
from .training import (curve_panels, gradient_norms, labelled_layers, learning_rate_curve, scalar_metrics, spans_decades,
                       training_curves)
from .words import bleu_by_length, embedding_projection

# helpers that the domains' own figures (timeseries) and the tests use
from .classification import _display_image  # noqa: E402, F401, I001
from .style import _as_float, _finite, _positive_or_nan  # noqa: E402, F401, I001

__all__ = ["BETTER_COLOR", "CHANCE_COLOR", "CORRECT_COLOR", "DPI", "INK_COLOR", "NEUTRAL_COLOR", "TRAIN_COLOR",
           "VAL_COLOR", "WRONG_COLOR", "bleu_by_length", "class_colors", "confusion_matrix", "cross_validation_boxes",
           "curve_panels", "embedding_projection", "ensemble_bars", "figure_label", "figure_style", "gap_bars", "gradient_norms",
           "labelled_layers", "learning_rate_curve", "new_figure", "overfitting_lab_curves", "plain_text", "png_bytes",
           "predicted_vs_true", "prediction_grid", "reliability_diagram", "roc_pr_curves", "scalar_metrics",
           "spans_decades", "threshold_tradeoff", "training_curves"]
