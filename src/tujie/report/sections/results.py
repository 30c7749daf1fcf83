"""Results sections."""

from __future__ import annotations

import math

from ... import plots as figures
from ...i18n import N_, _, ngettext
from ..format import _e, _fmt, _img, _note, _section, _t, _table, key_label, metric_label
from ..run_files import RunFiles, _one_model
from .header import _evaluation, _is_classification

_METRIC_MEANINGS = {
    "loss": N_("The quantity training minimises, measured on the test set. Lower is better."),
    "accuracy": N_("Share of test examples whose predicted class is the true class."),
    "top5_accuracy": N_("Share of test examples whose true class is among the 5 most probable."),
    "precision": N_("Of the examples predicted as a class, the share that really belong to it (averaged over classes)."),
    "recall": N_("Of the examples of a class, the share the model found (averaged over classes)."),
    "f1": N_("Harmonic mean of precision and recall: high only when both are high."),
    "mae": N_("Mean absolute error: the average distance between prediction and target."),
    "mse": N_("Mean squared error: like MAE but large misses count much more."),
    "rmse": N_("Root of the MSE, in the target's own units."),
    "r2": N_("Share of the target's variance the model explains (1 is perfect, 0 is guessing the mean)."),
    "perplexity": N_("exp(loss) for language models: the effective number of choices per token. Lower is better."),
    "auc": N_("Area under the ROC curve: the chance that a random positive example scores above a random negative one "
              "(0.5 is guessing, 1 is perfect)."),
    "average_precision": N_("Area under the precision–recall curve: precision averaged over every recall level. Higher is better."),
    "ece": N_("Expected calibration error: how far the model's confidence is from its accuracy, on average. Lower is better."),
    # translation runs
    "bleu": N_("sacreBLEU score of the test set's translations with beam search, from 0 to 100. Higher is better."),
    "bleu_greedy": N_("The same BLEU with greedy decoding (the most probable word at each step) instead of beam search."),
    "sentences_per_s": N_("Test sentences translated per second with beam search."),
    # forecasting runs (mae and rmse above: the model one step ahead)
    "multi_step_mae": N_("MAE of the recursive multi-step forecast, where the model feeds on its own predictions."),
    "multi_step_rmse": N_("RMSE of the recursive multi-step forecast, where the model feeds on its own predictions."),
    "seasonal_naive_mae": N_("MAE of the seasonal-naive baseline (repeating the last season) over the multi-step span."),
    "seasonal_naive_rmse": N_("RMSE of the seasonal-naive baseline (repeating the last season) over the multi-step span."),
    "last_value_mae": N_("MAE of the last-value baseline (repeating the last known value) over the multi-step span."),
    "last_value_rmse": N_("RMSE of the last-value baseline (repeating the last known value) over the multi-step span."),
    "seasonal_naive_one_step_mae": N_("MAE of the seasonal-naive baseline one step ahead: each value is forecast "
                                      "as the one a season earlier."),
    "seasonal_naive_one_step_rmse": N_("RMSE of the seasonal-naive baseline one step ahead: each value is forecast "
                                       "as the one a season earlier."),
    "last_value_one_step_mae": N_("MAE of the last-value baseline one step ahead: each value is forecast as the "
                                  "one just before it."),
    "last_value_one_step_rmse": N_("RMSE of the last-value baseline one step ahead: each value is forecast as the "
                                   "one just before it."),
}


def _test_section(run: RunFiles) -> str:
    how = _("How the final model does on the test set, which it never saw during training.")
    test = run.summary.get("test")
    if not isinstance(test, dict) or not test:
        return _section("test", _("Test results"), how,
                        _note(_("No test results: the run stopped before the test set was evaluated.")
                              if "summary.json" in run.found else
                              _("No test results: <code>summary.json</code> is missing.")))
    rows = [[key_label(name), f'<span class="num">{_e(_fmt(value, name))}</span>',
             _e(_t(_METRIC_MEANINGS.get(name, "")))] for name, value in test.items()]
    return _section("test", _("Test results"), how,
                    _table([_("metric"), _("value"), _("what it means")], rows) + _expected(run.summary))


def _expected(summary: dict) -> str:
    """The recipe's promised result next to the one reached, when the runner recorded both."""
    expected = summary.get("expected")
    if not isinstance(expected, dict) or expected.get("value") is None:
        return ""
    metric = str(expected.get("metric", "result"))
    target, reached = expected.get("value"), expected.get("reached")
    text = _("The recipe expects {metric} {value}").format(metric=metric_label(metric), value=_fmt(target, metric))
    if expected.get("source"):
        text = _("{text} (source: {source})").format(text=text, source=_t(expected["source"]))
    if isinstance(reached, (int, float)):
        text = _("{text}; this run reached {value}.").format(text=text, value=_fmt(float(reached), metric))
    return f'<p class="aside">{_e(text)}</p>'


def _confusion_section(run: RunFiles) -> str:
    how = _("Rows are the true classes, columns what the model predicted; the diagonal holds the "
            "correct answers. Colour is the share of each row, so a dark cell off the diagonal "
            "is a mistake the model makes often.")
    evaluation = run.evaluation or {}
    matrix = evaluation.get("confusion_matrix")
    if not matrix:
        return _section("confusion", _("Confusion matrix"), how,
                        _note(_("No confusion matrix: <code>evaluation.json</code> is missing or has "
                                "no <code>confusion_matrix</code>.")))
    classes = [str(c) for c in evaluation.get("classes") or range(len(matrix))]
    # A small matrix would be blown up to the full column width; a large one needs all of it.
    css_class = "figure confusion" if len(matrix) <= 20 else "figure"
    body = [_img(figures.confusion_matrix(matrix, classes), _("confusion matrix heatmap"), css_class)]
    mistakes = sorted(((count, i, j) for i, row in enumerate(matrix) for j, count in enumerate(row)
                       if i != j and isinstance(count, (int, float)) and count > 0),
                      key=lambda m: (-m[0], m[1], m[2]))[:3]
    if mistakes:
        items = "".join("<li>" + ngettext("true {true} predicted as {predicted}: {count} time",
                                          "true {true} predicted as {predicted}: {count} times",
                                          int(count) if float(count).is_integer() else 2).format(
            true=f"<b>{_e(classes[i] if i < len(classes) else i)}</b>",
            predicted=f"<b>{_e(classes[j] if j < len(classes) else j)}</b>", count=_e(_fmt(count))) + "</li>"
            for count, i, j in mistakes)
        body.append('<p class="aside">' + _("Most frequent mistakes:") + f'</p><ul class="mistakes">{items}</ul>')
    return _section("confusion", _("Confusion matrix"), how, "".join(body))


def _per_class_section(run: RunFiles) -> str:
    how = _("For each class: precision (when the model says this class, how often it is right), "
            "recall (how many of this class it finds), F1 (both at once) and support (how many "
            "test examples the class has). The weakest class is highlighted.")
    per_class = (run.evaluation or {}).get("per_class")
    if not per_class:
        return _section("per-class", _("Per-class results"), how,
                        _note(_("No per-class results: <code>evaluation.json</code> is missing or has "
                                "no <code>per_class</code> list.")))
    entries = [e for e in per_class if isinstance(e, dict)]

    def score(entry):
        for key in ("f1", "recall", "precision"):
            if isinstance(entry.get(key), (int, float)) and math.isfinite(entry[key]):
                return entry[key]
        return math.inf

    supported = [e for e in entries if (e.get("support") or 0) > 0] or entries
    weakest = min(supported, key=score) if supported else None
    metrics = ["precision", "recall", "f1"]
    rows, classes = [], []
    for entry in entries:
        cells = [_e(entry.get("class", "?"))]
        for key in metrics:
            value = entry.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
                cells.append(f'<span class="meter" style="--w:{100 * value:.1f}%">'
                             f'{_e(_fmt(float(value), key))}</span>')
            else:
                cells.append(_e(_fmt(value, key)))
        cells.append(_e(_fmt(entry.get("support"))))
        if entry is weakest and score(entry) != math.inf:
            cells[0] += ' <span class="badge badge-bad small">' + _("weakest") + "</span>"
        rows.append(cells)
        classes.append("weak" if entry is weakest else "")
    table = _table([_("class"), _("precision"), _("recall"), _("F1"), _("support")], rows, "per-class", classes)
    if len(rows) <= 25:
        return _section("per-class", _("Per-class results"), how, table)
    # A long table scrolls, which could hide the weakest class: name it above the table.
    lead = ""
    if weakest is not None and score(weakest) != math.inf:
        lead = ('<p class="aside">' + _("Weakest class: {name} (F1 {f1}).").format(
            name=f'<b>{_e(weakest.get("class", "?"))}</b>', f1=_e(_fmt(float(score(weakest)), "f1"))) + "</p>")
    return _section("per-class", _("Per-class results"), how, f'{lead}<div class="scroll tall">{table}</div>')


def _has_regression_pairs(run: RunFiles) -> bool:
    evaluation = _evaluation(run)
    return str(evaluation.get("task", "")).lower() == "regression" and evaluation.get("pairs") is not None


def _regression_section(run: RunFiles) -> str:
    how = _("Each dot is a test example: its true value across, the model's prediction up. On the "
            "dashed line y = x the prediction is perfect; the further a dot sits from it, the larger "
            "the error. The histogram shows the errors (residuals): centred on zero and narrow is "
            "good; shifted to one side means the model is biased, a long tail means some examples "
            "are badly missed.")
    evaluation = _evaluation(run)
    pairs = evaluation["pairs"]
    png = figures.predicted_vs_true(pairs, evaluation.get("r2"), evaluation.get("rmse"), evaluation.get("mae"))
    rows = [[_e(name), f'<span class="num">{_e(_fmt(evaluation[name], name))}</span>',
             _e(_t(_METRIC_MEANINGS.get(name, "")))]
            for name in ("r2", "rmse", "mae", "mse") if name in evaluation]
    count = evaluation.get("num_samples", len(pairs) if isinstance(pairs, list) else None)
    body = [_img(png, _("predicted against true values and the residual histogram"))]
    if count is not None:
        shown = len(pairs) if isinstance(pairs, list) else 0
        if shown and shown != count:
            text = _("{count} test examples, {shown} of them drawn.").format(count=_fmt(count), shown=f"{shown:,}")
        else:
            text = _("{count} test examples.").format(count=_fmt(count))
        body.append(f'<p class="aside">{_e(text)}</p>')
    if rows:
        body.append(_table([_("metric"), _("value"), _("what it means")], rows))
    return _section("predicted", _("Predicted versus true"), how, "".join(body))


def _has_test(run: RunFiles) -> bool:
    test = run.summary.get("test")
    return _one_model(run) or (isinstance(test, dict) and bool(test))


def _has_matrix(run: RunFiles) -> bool:
    return _is_classification(run) and (_one_model(run) or bool(_evaluation(run).get("confusion_matrix")))


def _has_per_class(run: RunFiles) -> bool:
    return _is_classification(run) and (_one_model(run) or bool(_evaluation(run).get("per_class")))
