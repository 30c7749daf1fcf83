"""The header of every report: title, status, the big numbers, short facts, and what is missing."""

from __future__ import annotations

from ...i18n import N_, _, ngettext
from ..format import _changes, _data, _e, _finite, _fmt, _fmt_seconds, _fmt_time, _note, _t, metric_label
from ..run_files import RunFiles, _one_model
from .training import _learning_rates

_STATUS = {
    "finished": ("ok", N_("finished"), N_("Training ran to the end and the test set was evaluated.")),
    "interrupted": ("warn", N_("interrupted"),
                    N_("Training was stopped before the end (e.g. Ctrl-C); the last checkpoint was kept.")),
    "diverged": ("bad", N_("diverged"),
                 N_("The loss became NaN or infinite, so training stopped; the last good checkpoint was kept.")),
}


_HEADLINE_ORDER = ("accuracy", "f1", "top5_accuracy", "r2", "mae", "rmse", "mse", "perplexity",
                   "precision", "recall", "loss")


def _is_classification(run: RunFiles) -> bool:
    task = run.summary.get("task")
    if task is not None:
        return str(task).lower() in ("classification", "binary", "multiclass")
    evaluation_task = _evaluation(run).get("task")
    if evaluation_task is not None:
        return str(evaluation_task).lower() != "regression"
    return run.evaluation is not None or "samples.safetensors" in run.found


def _evaluation(run: RunFiles) -> dict:
    return run.evaluation if isinstance(run.evaluation, dict) else {}


def _by_headline_order(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: (_HEADLINE_ORDER.index(n) if n in _HEADLINE_ORDER
                                        else len(_HEADLINE_ORDER), names.index(n)))


def _headline(run: RunFiles) -> str:
    """Up to four big numbers: test results, else the last epoch's validation results.

    A kind may put its own first (`KindReport.headline`): a cross-validation its mean ± std, an
    ensemble its own score and its best member's, the overfitting lab the baseline's gap.
    """
    test = run.summary.get("test")
    test_stats: list[tuple[str, str, str]] = []
    if isinstance(test, dict) and test:
        test_stats = [(n, _fmt(test[n], n), _("test {metric}").format(metric=metric_label(n)))
                      for n in _by_headline_order(list(test))]
    stats: list[tuple[str, str]] = [(v, label) for _, v, label in test_stats]
    if run.kind.headline is not None:
        try:
            stats = list(run.kind.headline(run, test_stats))
        except Exception:  # malformed: the section itself says so; the header must survive
            pass
    stats = stats[:4]
    if not stats and run.history:
        last = run.history[-1]
        epoch = last.get("epoch", len(run.history))
        names = _by_headline_order([k[4:] for k in last if k.startswith("val_")])
        stats = [(_fmt(last[f"val_{n}"], n),
                  _("validation {metric} (epoch {epoch})").format(metric=metric_label(n), epoch=_fmt(epoch)))
                 for n in names[:4]]
    if not stats:
        return _note(_("No test or validation results yet."))
    return '<div class="stats">' + "".join(
        f'<div class="stat"><div class="value">{_e(v)}</div><div class="label">{_e(label)}</div></div>'
        for v, label in stats) + "</div>"


def _header(run: RunFiles) -> str:
    s = run.summary
    recipe = s.get("recipe") or _recipe_from_config(run.config_text)
    run_name = s.get("run_name") or run.folder.name
    title = f"{recipe}" if recipe else _("Training run")
    status = s.get("status")
    if "summary.json" not in run.found:
        tone, label, meaning = ("muted", _("no summary"),
                                _("summary.json is missing: the run is still going, or stopped "
                                  "before it could write its summary."))
    elif status is None:
        tone, label, meaning = ("muted", _("no status"), _("summary.json records no status."))
    elif str(status) in _STATUS:
        tone, label, meaning = _STATUS[str(status)]
        label, meaning = _(label), _(meaning)
    else:  # a status tujie does not know: shown as recorded
        tone, label, meaning = ("muted", str(status), "")
    facts = []
    try:
        facts += list(run.kind.facts(run)) if run.kind.facts is not None else []
    except Exception:  # malformed: the section itself says so
        pass
    if run.history:
        facts.append(ngettext("{n} epoch", "{n} epochs", len(run.history)).format(n=len(run.history)))
    if s.get("best_epoch") is not None:
        facts.append(_("best epoch {epoch}").format(epoch=_fmt(s["best_epoch"])))
    model = s.get("model") if isinstance(s.get("model"), dict) else {}
    if model.get("total_params") is not None:
        facts.append(_("{n} parameters").format(n=_fmt(model["total_params"])))
    timings = s.get("timings") if isinstance(s.get("timings"), dict) else {}
    if timings.get("total_s") is not None:
        facts.append(_("took {duration}").format(duration=_fmt_seconds(timings["total_s"])))
    environment = s.get("environment") if isinstance(s.get("environment"), dict) else {}
    if environment.get("device"):
        facts.append(_("on {device}").format(device=environment["device"]))
    try:
        learning_rates = _learning_rates(run)
    except Exception:  # malformed: the learning-rate section says so
        learning_rates = None
    if learning_rates and not _changes(learning_rates[1]):
        facts.append(_("learning rate {lr} throughout").format(lr=f"{_finite(learning_rates[1])[0]:g}"))
    when = ""
    if s.get("started") and s.get("finished"):
        when = _("started {start} · finished {end}").format(start=_fmt_time(s["started"]),
                                                             end=_fmt_time(s["finished"]))
    elif s.get("started"):
        when = _("started {start}").format(start=_fmt_time(s["started"]))
    message = s.get("message")
    kicker = _e(_("tujie run report · {run}")).format(run=_data(run_name))
    when = when or _("date unknown (no start time recorded)")
    parts = [
        '<header class="card head">',
        f'<div class="kicker">{kicker}</div>',
        f'<h1>{_e(title)} <span class="badge badge-{tone}" title="{_e(meaning)}">{_e(label)}</span></h1>',
        f'<p class="description">{_e(_t(s["description"]))}</p>' if s.get("description") else "",
        f'<p class="when">{_e(when)}</p>',
        _headline(run),
    ]
    if facts:
        parts.append(f'<p class="facts">{" · ".join(_e(f) for f in facts)}</p>')
    if meaning and status != "finished":
        parts.append(_note(_e(meaning), "warn" if tone in ("warn", "bad") else "missing"))
    if message:
        parts.append(f'<p class="message">{_e(message)}</p>')
    missing = _missing_pieces(run)
    if missing or run.problems:
        items = "".join(f"<li>{m}</li>" for m in missing)
        items += "".join(f"<li>{_e(p)}</li>" for p in run.problems)
        heading = _("Not in this report")
        parts.append(f'<div class="missing"><strong>{heading}</strong><ul>{items}</ul></div>')
    parts.append("</header>")
    return "".join(parts)


def _recipe_from_config(config_text: str | None) -> str | None:
    """The recipe name from config.yaml, for runs that have not written summary.json yet."""
    if not config_text:
        return None
    try:
        import yaml

        config = yaml.safe_load(config_text)
    except Exception:  # a broken config is shown as text anyway; the title can do without it
        return None
    recipe = config.get("recipe") if isinstance(config, dict) else None
    return recipe if isinstance(recipe, str) else None


def _missing_pieces(run: RunFiles) -> list[str]:
    """Plain-language notes on the files that are absent (trusted HTML)."""
    why = {
        "config.yaml": N_("the run's settings are unknown"),
        "metrics.jsonl": N_("no epoch finished, so there are no training curves"),
        "summary.json": N_("no test results, model summary, timings or environment"),
        "evaluation.json": N_("no confusion matrix or per-class table (the test set was not evaluated)"),
        "samples.safetensors": N_("no example predictions to look at"),
        "text_samples.json": N_("no example texts to look at"),
        **run.kind.missing,
    }

    def note(name: str) -> str:
        return _("{file} is missing: {reason}.").format(
            file=f"<code>{name}</code>", reason=_t(why.get(name, N_("its results cannot be shown"))))

    if not _one_model(run):  # several models: no single history, test set or samples
        wanted = ["config.yaml", "summary.json", run.kind.result_file]
        return [note(name) for name in wanted if name not in run.found]
    wanted = ["config.yaml", "metrics.jsonl", "summary.json"]
    if _is_classification(run):
        wanted += ["evaluation.json", "text_samples.json" if run.text_samples is not None else "samples.safetensors"]
    return [note(name) for name in wanted if name not in run.found]
