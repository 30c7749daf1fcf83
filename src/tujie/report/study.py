"""The report of a hyperparameter search: one self-contained page, study.html, from study.json.

What it shows: the best trial (its values as a ready `tujie run ... --set` line and its test
scores), the optimization history with the best-so-far line, parallel coordinates, the
parameters' fANOVA importances, one slice per parameter, what pruning saved, and every trial.
Like a run's report it embeds its figures and loads nothing; it reads only study.json, which
holds the trials of every machine that worked on the study.
"""

from __future__ import annotations

from pathlib import Path

from .._io import write_text
from ..i18n import N_, _, current_language, language
from .css import CSS
from .format import _data, _e, _fmt, _fmt_seconds, _img, _note, _section, _table, metric_label

STUDY_REPORT = "study.html"
_STATES = {"complete": N_("finished"), "pruned": N_("pruned"), "fail": N_("failed"), "running": N_("running"),
           "waiting": N_("waiting")}
_DIRECTIONS = {"maximize": N_("maximize"), "minimize": N_("minimize")}


def render_study(study_dir, rows: dict, *, top_trials: Path | None = None, lang: str | None = None) -> Path:
    """Write `study_dir/study.html` from a study's rows (`tujie.search.history.snapshot` plus the tuner's settings).

    Args:
        study_dir: the study's folder.
        rows: the content of its study.json.
        top_trials: the comparison page of the best trials' runs, linked when given.
        lang: "en" or "zh"; None: the current language.

    Example:
        >>> import tempfile
        >>> rows = {"study": "demo", "direction": "maximize", "metric": "val_accuracy", "recipe": "digits-mlp",
        ...         "trials": [{"number": 0, "state": "complete", "value": 0.9, "params": {"optimizer.lr": 0.01}}],
        ...         "counts": {"complete": 1}, "best": None, "importances": {}, "pruning": {}}
        >>> render_study(tempfile.mkdtemp(), rows).name
        'study.html'
    """
    with language(lang):
        page = _page(rows, Path(study_dir), top_trials)
    return write_text(Path(study_dir) / STUDY_REPORT, page)


def _keys(rows: dict) -> list[str]:
    listed = [p["key"] for p in rows.get("space") or []]
    return listed or list(dict.fromkeys(k for r in rows["trials"] for k in r.get("params", {})))


def _log_keys(rows: dict) -> set[str]:
    return {p["key"] for p in rows.get("space") or [] if str(p.get("kind", "")).startswith("log")}


def _best(rows: dict, top_trials) -> str:
    best = rows.get("best")
    if not best:
        return _section("best", _("Best trial"), "", _note(_("No trial has finished yet.")))
    metric = rows.get("metric", "value")
    reached = _e(_("Trial {n} reached {metric} = {value}.")).format(n=best["number"], metric=_data(metric),
                                                                   value=_e(_fmt(best["value"], metric)))
    lines = [f'<p class="lead">{reached}</p>']
    params = [[f"<code>{_e(k)}</code>", f'<span class="mono">{_e(_fmt(v))}</span>'] for k, v in best.get("params", {}).items()]
    lines.append(_table([_("setting"), _("value")], params))
    if rows.get("best_set_line"):
        intro = _("Train it as a normal run:")
        lines.append(f'<p>{_e(intro)}</p><pre><code>{_e(rows["best_set_line"])}</code></pre>')
    test = best.get("test") or {}
    if test:
        scores = _e(_("Its test scores: {scores}.")).format(
            scores=_e(", ".join(f"{metric_label(k)} {_fmt(v, k)}" for k, v in test.items())))
        lines.append(f"<p>{scores}</p>")
    if best.get("run_dir"):
        where = _e(_("Its run directory: {path}")).format(path=_data(best["run_dir"]))
        lines.append(f"<p>{where}</p>")
    if top_trials is not None:
        link = _("The best trials side by side (their curves, scores and settings)")
        lines.append(f'<p><a href="{_e(Path(top_trials).name)}">{_e(link)}</a></p>')
    return _section("best", _("Best trial"),
                    _("The trial with the best objective. The objective is the best epoch's validation value, so the test "
                      "scores stay an honest estimate: the search never saw them."), "".join(lines))


def _history(rows: dict) -> str:
    from ..plots.search import search_history

    png = search_history(rows["trials"], rows["direction"], rows.get("metric", "value"))
    return _section("history", _("Optimization history"),
                    _("Each dot is a trial's objective, in the order the trials started; the line is the best found so far. "
                      "A sampler that learns (TPE, GP) climbs faster than random after its first trials; crosses are "
                      "trials the pruner stopped, at the value they had then."), _img(png, _("Optimization history")))


def _parallel(rows: dict) -> str:
    from ..plots.search import parallel_coordinates

    png = parallel_coordinates(rows["trials"], _keys(rows), rows.get("metric", "value"), log_keys=_log_keys(rows))
    return _section("parallel", _("Parallel coordinates"),
                    _("One line per finished trial through its value of each parameter and its objective (right). Where "
                      "the bright lines bunch on an axis, that range of the parameter is where the good trials are."),
                    _img(png, _("Parallel coordinates")))


def _importances(rows: dict) -> str:
    from ..plots.search import param_importances

    found = rows.get("importances") or {}
    if not found:
        return _section("importance", _("Parameter importances"), "",
                        _note(_("Too few finished trials, or no parameter varied, to tell which matters.")))
    return _section("importance", _("Parameter importances"),
                    _("Optuna's fANOVA: a random forest fitted to (parameters → objective), and each parameter's share of "
                      "the objective's variance. A large share means the choice of that parameter decides the result; a "
                      "small one, that any value in the range does about as well."),
                    _img(param_importances(found), _("Parameter importances")))


def _slices(rows: dict) -> str:
    from ..plots.search import param_slices

    png = param_slices(rows["trials"], _keys(rows), rows.get("metric", "value"), log_keys=_log_keys(rows))
    return _section("slices", _("Slices"),
                    _("The objective against each parameter on its own; darker dots are later trials, so a sampler that "
                      "learns shows dark dots gathering where the objective is best."), _img(png, _("Slices")))


def _pruning(rows: dict) -> str:
    saved = rows.get("pruning") or {}
    if not saved.get("pruned"):
        text = _("No trial was pruned (pruner: {pruner}).").format(pruner=rows.get("pruner", "none"))
        return _section("pruning", _("Pruning"), "", _note(_e(text)))
    text = _("{pruned} trials were stopped early, skipping {epochs} epochs: about {saved} of training saved, "
             "{fraction} of what the search would have cost without pruning.").format(
        pruned=saved["pruned"], epochs=saved["epochs_skipped"], saved=_fmt_seconds(saved["seconds_saved"]),
        fraction=f"{saved['fraction_saved']:.0%}")
    return _section("pruning", _("Pruning"),
                    _("The pruner compares a trial's value after each epoch with the earlier trials at the same epoch and "
                      "stops the ones that are behind. The time saved is the pruned trials' epochs left times the cost of one "
                      "epoch, read off the trials as the slope of their time against their epochs (what a trial costs "
                      "before its first epoch, it paid anyway)."),
                    f"<p>{_e(text)}</p>")


def _trials(rows: dict) -> str:
    keys = _keys(rows)
    metric = rows.get("metric", "value")
    best = (rows.get("best") or {}).get("number")
    body, classes = [], []
    for r in sorted(rows["trials"], key=lambda r: r["number"]):
        value = r["value"] if r["state"] == "complete" else r.get("last_value")
        state = _(_STATES.get(r["state"], r["state"]))
        if r.get("retry_of") is not None:
            state += " " + _("(retry of {n})").format(n=r["retry_of"])
        body.append([str(r["number"]), _e(state), _e(_fmt(value, metric)),
                     *(f'<span class="mono">{_e(_fmt(r["params"].get(k)))}</span>' for k in keys),
                     _e(_fmt(r.get("epochs_done"))), _e(_fmt_seconds(r.get("duration_s"))), _data(r.get("host") or "—")])
        classes.append("best" if r["number"] == best else "")
    header = ["#", _("state"), _e(metric), *(f"<code>{_e(k)}</code>" for k in keys), _("epochs"), _("time"), _("machine")]
    return _section("trials", _("All trials"),
                    _("Every trial of the study, from every worker and machine. A trial whose worker died is marked "
                      "failed and run again with the same values (its retry names it)."),
                    _table(header, body, "study-trials", row_classes=classes))


def _page(rows: dict, study_dir: Path, top_trials) -> str:
    counts = rows.get("counts") or {}
    title = _("Study {study}").format(study=rows.get("study", study_dir.name))  # <title> and <h1>: the name as written
    lead = _e(_("{recipe}: {complete} finished, {pruned} pruned, {failed} failed trials; sampler {sampler}, pruner {pruner}; "
                "objective {metric} ({direction}); storage {storage}")).format(
        recipe=_data(rows.get("recipe", "?")), complete=counts.get("complete", 0), pruned=counts.get("pruned", 0),
        failed=counts.get("fail", 0), sampler=_data(rows.get("sampler", "?")), pruner=_data(rows.get("pruner", "?")),
        metric=_data(rows.get("metric", "?")), direction=_e(_(_DIRECTIONS.get(rows.get("direction"), "maximize"))),
        storage=_data(rows.get("storage", "?")))
    parts = [_best(rows, top_trials), _history(rows), _parallel(rows), _importances(rows), _slices(rows), _pruning(rows),
             _trials(rows)]
    nav = "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t in (
        ("best", _("Best trial")), ("history", _("Optimization history")), ("parallel", _("Parallel coordinates")),
        ("importance", _("Parameter importances")), ("slices", _("Slices")), ("pruning", _("Pruning")),
        ("trials", _("All trials"))))
    style = "tr.best td { background: #ecfdf5; font-weight: 650; } pre { white-space: pre-wrap; }"
    return (
        f"<!DOCTYPE html>\n<html lang=\"{'zh-CN' if current_language() == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}{style}</style></head>"
        f'<body><main><header><h1>{_e(title)}</h1><p class="lead">{lead}</p></header><nav class="toc">{nav}</nav>'
        f'{"".join(parts)}</main></body></html>\n'
    )
