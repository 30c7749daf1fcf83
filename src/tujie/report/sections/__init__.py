"""The sections every kind of run shares, one file per topic, in page order.

    training        training curves, learning rate, gradient norms         (10-30)
    results         test results, predicted vs true, confusion, per class    (40-80)
    classification  ROC/PR, calibration, decision threshold                  (90-110)
    examples        prediction grids, mistakes, texts and their attention    (120-150)
    explain         saliency, integrated gradients, Grad-CAM, occlusion      (155, after `tujie explain`)
    about           model, configuration, timings and environment            (160-180)
    header          the title card (not a `Section`: it is always first)

A kind's own sections (`KindReport.sections`) fit between these by their `order`: the
results of several models (cross-validation, ensemble, ...) go at 60-69. The sections of one
trained model always appear for such a run (saying what is missing, which is news there);
every other section appears only when its data exist.
"""

from __future__ import annotations

from ...i18n import N_
from ..run_files import _one_model
from ..spec import Section
from .about import _config_section, _has_model, _model_section, _run_section
from .classification import (_calibration_section, _has_calibration, _has_curves, _roc_pr_section, _threshold,
                             _threshold_section)
from .examples import (_has_samples, _has_text_attention, _predictions_section, _text_attention_section,
                       _text_mistakes_section, _wrong_section)
from .explain import _explain_section, _has_explanations
from .results import (_confusion_section, _has_matrix, _has_per_class, _has_regression_pairs, _has_test,
                      _per_class_section, _regression_section, _test_section)
from .training import _curves_section, _gradient_section, _has_gradients, _learning_rate_section, _shows_learning_rate

SHARED = (
    Section("curves", N_("Training curves"), _curves_section, lambda run: _one_model(run) or run.history, order=10),
    Section("learning-rate", N_("Learning rate"), _learning_rate_section, _shows_learning_rate, order=20),
    Section("gradients", N_("Gradient norms"), _gradient_section, _has_gradients, order=30),
    Section("test", N_("Test results"), _test_section, _has_test, order=40),
    Section("predicted", N_("Predicted vs true"), _regression_section, _has_regression_pairs, order=50),
    Section("confusion", N_("Confusion matrix"), _confusion_section, _has_matrix, order=70),
    Section("per-class", N_("Per-class results"), _per_class_section, _has_per_class, order=80),
    Section("roc-pr", N_("ROC and precision–recall"), _roc_pr_section, _has_curves, order=90),
    Section("calibration", N_("Calibration"), _calibration_section, _has_calibration, order=100),
    Section("threshold", N_("Decision threshold"), _threshold_section, lambda run: _threshold(run) is not None, order=110),
    Section("predictions", N_("Predictions"), _predictions_section, _has_samples, order=120),
    Section("wrong", N_("Mistakes"), _wrong_section, _has_samples, order=130),
    Section("text-mistakes", N_("Mistakes"), _text_mistakes_section, lambda run: run.text_samples is not None, order=140),
    Section("text-attention", N_("Attention"), _text_attention_section, _has_text_attention, order=150),
    Section("explain", N_("Explanations"), _explain_section, _has_explanations, order=155),
    Section("model", N_("Model"), _model_section, _has_model, order=160),
    Section("config", N_("Configuration"), _config_section, order=170),
    Section("run", N_("Timings and environment"), _run_section, order=180),
)

__all__ = ["SHARED", "Section"]
