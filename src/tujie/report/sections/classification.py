"""Classification sections."""

from __future__ import annotations

import math

from ... import plots as figures
from ...i18n import N_, _
from ..format import _as_float, _e, _img, _note, _section, _table
from ..run_files import RunFiles
from .header import _evaluation


def _has_curves(run: RunFiles) -> bool:
    evaluation = _evaluation(run)
    return evaluation.get("roc") is not None or evaluation.get("pr_curve") is not None


def _threshold(run: RunFiles) -> dict | None:
    threshold = _evaluation(run).get("threshold")
    return threshold if isinstance(threshold, dict) else None


def _binary_counts(matrix) -> tuple[float, float, float, float] | None:
    """(tn, fp, fn, tp) of a 2 x 2 confusion matrix [[tn, fp], [fn, tp]], else None."""
    if (isinstance(matrix, list) and len(matrix) == 2
            and all(isinstance(row, list) and len(row) == 2 for row in matrix)):
        (tn, fp), (fn, tp) = ((_as_float(v) for v in row) for row in matrix)
        if all(math.isfinite(v) for v in (tn, fp, fn, tp)):
            return tn, fp, fn, tp
    return None


def _operating_point(run: RunFiles) -> dict | None:
    threshold = _threshold(run)
    if threshold is None:
        return None
    point = {key: threshold.get(key) for key in ("threshold", "precision", "recall")}
    point["tpr"] = threshold.get("recall")
    counts = _binary_counts(threshold.get("confusion_matrix"))
    if counts is not None:
        tn, fp, fn, tp = counts
        point["fpr"] = fp / (fp + tn) if fp + tn > 0 else None
    return point


def _roc_pr_section(run: RunFiles) -> str:
    how = _("Both curves sweep the decision threshold from high to low. ROC: how many of the "
            "positives are found (up) against how many negatives are wrongly flagged (right); "
            "the dashed diagonal is guessing, and the area under the curve (AUC) is 1 for a "
            "perfect ranking. Precision–recall: how trustworthy the flagged examples are (up) "
            "against how many positives are found (right); it tells more than ROC when positives "
            "are rare.")
    evaluation = _evaluation(run)
    classes = [str(c) for c in evaluation.get("classes") or []]
    counts = _binary_counts(evaluation.get("confusion_matrix"))
    prevalence = (counts[2] + counts[3]) / sum(counts) if counts and sum(counts) > 0 else None
    roc, pr_curve = evaluation.get("roc"), evaluation.get("pr_curve")
    for name, value in (("roc", roc), ("pr_curve", pr_curve)):
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"evaluation.json's {name} is a {type(value).__name__}, not an object")
    png = figures.roc_pr_curves(roc, pr_curve, classes, evaluation.get("auc"),
                                evaluation.get("average_precision"), _operating_point(run), prevalence)
    multiclass = str(evaluation.get("task", "")).lower() == "multiclass" or (
        isinstance(roc, dict) and isinstance((roc.get("fpr") or [None])[0], list))
    body = [_img(png, _("ROC and precision-recall curves"))]
    auc = _as_float(evaluation.get("auc"))
    if math.isfinite(auc):
        if multiclass:
            text = _("Macro AUC {auc}: averaged over the classes, each class against the rest, a "
                     "random example of the class gets a higher score for it than a random example "
                     "of another class {share} of the time.").format(auc=f"{auc:.3f}", share=f"{auc:.1%}")
        else:
            text = _("AUC {auc}: a random positive example gets a higher score than a random "
                     "negative one {share} of the time (50% is guessing).").format(
                         auc=f"{auc:.3f}", share=f"{auc:.1%}")
        body.append(f'<p class="aside">{_e(text)}</p>')
    if _threshold(run) is not None:
        body.append('<p class="aside">' + _('The red dot is the tuned decision threshold '
                                           '(see <a href="#threshold">Decision threshold</a>).') + '</p>')
    return _section("roc-pr", _("ROC and precision–recall"), how, "".join(body))


def _has_calibration(run: RunFiles) -> bool:
    return _evaluation(run).get("reliability") is not None


def _calibration_section(run: RunFiles) -> str:
    evaluation = _evaluation(run)
    binary = str(evaluation.get("task", "")).lower() == "binary"
    if binary:
        how = _("Are the model's probabilities honest? Examples are grouped by the probability the model "
                "gave; each bar is how often it was really right in that group (for a binary model: how "
                "often the example was positive). On the dashed diagonal, \u201c80% sure\u201d means right "
                "80% of the time. Bars below the diagonal: overconfident; above: underconfident. The grey "
                "histogram shows how many examples each bar rests on; a bar on a handful of examples says "
                "little.")
    else:
        how = _("Are the model's probabilities honest? Examples are grouped by the probability the model "
                "gave; each bar is how often it was really right in that group. On the dashed diagonal, "
                "\u201c80% sure\u201d means right 80% of the time. Bars below the diagonal: overconfident; "
                "above: underconfident. The grey histogram shows how many examples each bar rests on; a bar "
                "on a handful of examples says little.")
    reliability = evaluation["reliability"]
    if not isinstance(reliability, dict):
        raise ValueError(f"evaluation.json's reliability is a {type(reliability).__name__}, not an object")
    count, confidence, accuracy = (reliability[k] for k in ("count", "confidence", "accuracy"))
    ece = _as_float(evaluation.get("ece"))
    png = figures.reliability_diagram(count, confidence, accuracy, reliability.get("bin_edges"),
                                      ece, binary=binary)
    body = [_img(png, _("reliability diagram"), "figure confusion")]
    if math.isfinite(ece):
        numbers = {"ece": f"{ece:.3f}", "points": f"{100 * ece:.1f}"}
        text = _("Expected calibration error (ECE) {ece}: weighted by how many examples each bar "
                 "holds, the probability the model gives is {points} points away from how "
                 "often it is right.").format(**numbers)
        weights = [(_as_float(n), _as_float(c) - _as_float(a)) for n, c, a in zip(count, confidence, accuracy)]
        weights = [(n, gap) for n, gap in weights if math.isfinite(n) and n > 0 and math.isfinite(gap)]
        total = sum(n for n, _gap in weights)
        if total > 0 and not binary:
            mean_gap = sum(n * gap for n, gap in weights) / total
            if abs(mean_gap) >= 0.005:
                # one message each, so that a translation need not join two sentences with a space
                message = (N_("Expected calibration error (ECE) {ece}: weighted by how many examples each bar "
                              "holds, the probability the model gives is {points} points away from how often "
                              "it is right. On average it is overconfident by {gap} points.") if mean_gap > 0
                           else N_("Expected calibration error (ECE) {ece}: weighted by how many examples each "
                                   "bar holds, the probability the model gives is {points} points away from how "
                                   "often it is right. On average it is underconfident by {gap} points."))
                text = _(message).format(gap=f"{100 * abs(mean_gap):.1f}", **numbers)
        body.append(f'<p class="aside">{_e(text)}</p>')
    return _section("calibration", _("Calibration"), how, "".join(body))


# the metrics a threshold is tuned for, as the page names them (another criterion is shown as it is)
_METRIC_WORDS = {"precision": N_("precision"), "recall": N_("recall"), "f1": "F1"}
# the split a threshold was chosen on (another name is shown as it is)
_SPLIT_WORDS = {"validation": N_("validation")}


def _metric_word(name: str) -> str:
    return _(_METRIC_WORDS[name]) if name in _METRIC_WORDS else name


def _threshold_words(threshold: dict) -> str:
    """e.g. "recall ≥ 0.98 → threshold 0.40: recall 0.984, precision 0.940"."""
    criterion = str(threshold.get("criterion") or "f1")
    value = _as_float(threshold.get("threshold"))
    scores = {name: _as_float(threshold.get(name)) for name in ("precision", "recall", "f1")}
    target = _as_float(threshold.get("target"))
    goal = _("best F1") if criterion == "f1" or not math.isfinite(target) else f"{_metric_word(criterion)} ≥ {target:g}"
    order = [criterion] + [n for n in ("recall", "precision", "f1") if n != criterion]
    parts = [f"{_metric_word(name)} {scores[name]:.3f}" for name in order
             if name in scores and math.isfinite(scores[name])]
    return _("{goal} → threshold {value}: {scores}").format(goal=goal, value=f"{value:.2f}", scores=", ".join(parts))


def _matrix_table(counts, title: str, classes: list[str]) -> str:
    tn, fp, fn, tp = (int(v) for v in counts)
    negative, positive = (classes + ["0", "1"])[:2] if len(classes) >= 2 else ("0", "1")
    true, predicted = _("true {label}"), _("predicted {label}")
    words = {"tn": _("correctly left"), "fp": _("false alarms"), "fn": _("missed"), "tp": _("found")}
    rows = [[true.format(label=f"<b>{_e(negative)}</b>"),
             f'<span class="num">{tn:,}</span> <span class="sub">{words["tn"]}</span>',
             f'<span class="num">{fp:,}</span> <span class="sub">{words["fp"]}</span>'],
            [true.format(label=f"<b>{_e(positive)}</b>"),
             f'<span class="num">{fn:,}</span> <span class="sub">{words["fn"]}</span>',
             f'<span class="num">{tp:,}</span> <span class="sub">{words["tp"]}</span>']]
    table = _table(["", predicted.format(label=_e(negative)), predicted.format(label=_e(positive))], rows, "matrix")
    return f"<div><h3>{title}</h3>{table}</div>"


def _threshold_provenance(threshold: dict) -> list[str]:
    """Where the threshold was chosen, and whether the test set still meets the target."""
    parts = []
    chosen_on = threshold.get("chosen_on")
    if chosen_on:
        split = _(_SPLIT_WORDS[chosen_on]) if chosen_on in _SPLIT_WORDS else chosen_on
        parts.append('<p class="aside">' + _("The threshold was chosen on the {split} split; the scores above "
                                             "and the matrices below are on the test set.").format(
                                                 split=_e(split)) + '</p>')
    criterion, target = str(threshold.get("criterion") or ""), _as_float(threshold.get("target"))
    reached = _as_float(threshold.get(criterion)) if criterion in ("recall", "precision") else math.nan
    if math.isfinite(target) and math.isfinite(reached) and reached < target:
        parts.append(_note(_e(_("On the test set {metric} is {value}, below the target {target}: a threshold "
                                "tuned on other data does not carry over exactly.").format(
                                    metric=_metric_word(criterion), value=f"{reached:.3f}", target=f"{target:g}")),
                           "warn"))
    return parts


def _threshold_section(run: RunFiles) -> str:
    how = _("A binary model outputs a score; the threshold decides from which score on an example "
            "counts as positive. Lowering it finds more positives (recall up) but raises more false "
            "alarms (precision down). The threshold was tuned on held-out data for the goal below; "
            "the curves show every threshold it could have picked.")
    threshold = _threshold(run)
    if not math.isfinite(_as_float(threshold.get("threshold"))):
        raise ValueError("evaluation.json's threshold holds no number `threshold`")
    evaluation = _evaluation(run)
    classes = [str(c) for c in evaluation.get("classes") or []]
    body = [f'<p class="lead">{_e(_threshold_words(threshold))}</p>']
    body += _threshold_provenance(threshold)
    series = [threshold.get(k) for k in ("thresholds", "precisions", "recalls", "f1s")]
    if all(isinstance(v, list) and v for v in series):
        png = figures.threshold_tradeoff(*series, threshold.get("threshold"),
                                         str(threshold.get("criterion") or "f1"), threshold.get("target"))
        body.append(_img(png, _("precision, recall and F1 against the decision threshold")))
    tables = []
    chosen = _binary_counts(threshold.get("confusion_matrix"))
    if chosen is not None:
        value = _as_float(threshold.get("threshold"))
        tables.append(_matrix_table(chosen, _("At the tuned threshold {value}").format(value=f"{value:.2f}"), classes))
    default = _binary_counts(evaluation.get("confusion_matrix"))
    if default is not None:
        tables.append(_matrix_table(default, _("At the default threshold {value}").format(value="0.50"), classes))
    if tables:
        body.append(f'<div class="two">{"".join(tables)}</div>')
    return _section("threshold", _("Decision threshold"), how, "".join(body))
