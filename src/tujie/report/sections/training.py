"""Training sections."""

from __future__ import annotations

import math

from ... import plots as figures
from ...i18n import N_, _, ngettext
from ..format import _as_float, _changes, _e, _fmt, _img, _note, _section, _table, key_label
from ..run_files import RunFiles


def _curves_section(run: RunFiles) -> str:
    how = _('One panel per metric, epoch on the x axis: <span class="train">training</span> vs '
            '<span class="val">validation</span>. Validation loss rising while training loss keeps '
            'falling means the model has started to memorise the training set (overfitting).')
    s = run.summary
    if not run.history:
        return _section("curves", _("Training curves"), how,
                        _note(_("No training curves: <code>metrics.jsonl</code> is missing or empty, "
                                "so no epoch was recorded.")))
    best = s.get("best_epoch") if isinstance(s.get("best_epoch"), (int, float)) else None
    body = []
    png = figures.training_curves(run.history, best_epoch=best, show_lr=False)
    if png is None:
        body.append(_note(_("<code>metrics.jsonl</code> holds no numeric metric to plot.")))
    else:
        body.append(_img(png, _("training and validation curves per epoch")))
    if best is not None:
        body.append('<p class="aside">' + _("★ The dotted line marks the best epoch ({epoch}), judged on the "
                                            "monitored validation metric.").format(epoch=_e(_fmt(best))) + "</p>")
    if isinstance(s.get("restored_epoch"), int):
        body.append('<p class="aside">' + _("The final model uses the weights saved at epoch {epoch}, not those "
                                            "of the last epoch.").format(epoch=_e(_fmt(s["restored_epoch"]))) + "</p>")
    if s.get("stopped_early"):
        reason = s.get("stop_reason") or _("no reason recorded")
        body.append(_note(_("Training stopped early after epoch {epoch}: {reason}.").format(
            epoch=_e(_fmt(len(run.history))), reason=_e(reason)), "warn"))
    body.append(_history_table(run.history))
    return _section("curves", _("Training curves"), how, "".join(body))


def _history_table(history: list[dict]) -> str:
    keys: list[str] = []
    for record in history:
        keys += [k for k in record if k not in keys]
    rows = [[_e(_fmt(r.get(k), k)) for k in keys] for r in history]
    return ('<details><summary>' + _("The numbers behind the curves") + '</summary><div class="scroll">'
            + _table([key_label(k) for k in keys], rows, "numbers") + "</div></details>")


def _learning_rates(run: RunFiles) -> tuple[list[float], list[float], str, str] | None:
    """(x, learning rates, x label, source file) from schedule.json, else metrics.jsonl's `lr`.

    Raises:
        ValueError: schedule.json does not hold equally long `step` and `lr` lists.
    """
    if run.schedule is not None:
        steps, rates = run.schedule.get("step"), run.schedule.get("lr")
        if not isinstance(steps, list) or not isinstance(rates, list) or len(steps) != len(rates):
            raise ValueError("schedule.json needs lists `step` and `lr` of the same length")
        per_epoch = _as_float(run.schedule.get("steps_per_epoch"))
        if math.isfinite(per_epoch) and per_epoch > 0:
            x, x_label = [_as_float(s) / per_epoch for s in steps], N_("epoch")
        else:
            x, x_label = [_as_float(s) for s in steps], N_("optimizer step")
        return x, [_as_float(r) for r in rates], x_label, "schedule.json"
    pairs = [(_as_float(r.get("epoch", i + 1)), _as_float(r.get("lr", r.get("learning_rate"))))
             for i, r in enumerate(run.history)]
    pairs = [(e, lr) for e, lr in pairs if math.isfinite(lr)]
    if not pairs:
        return None
    return [e for e, _lr in pairs], [lr for _x, lr in pairs], N_("epoch"), "metrics.jsonl"


def _shows_learning_rate(run: RunFiles) -> bool:
    learning_rates = _learning_rates(run)
    return learning_rates is not None and _changes(learning_rates[1])


def _learning_rate_section(run: RunFiles) -> str:
    how = _("How big a step the optimizer takes at each point of training. A warm-up starts small "
            "so the first noisy gradients do no harm; a decay ends small so the model can settle "
            "into a minimum instead of bouncing around it.")
    x, rates, x_label, source = _learning_rates(run)
    finite = [(a, r) for a, r in zip(x, rates) if math.isfinite(r) and math.isfinite(a)]
    if not finite:
        raise ValueError(f"{source} holds no finite learning rate")
    png = figures.learning_rate_curve([a for a, _r in finite], [r for _a, r in finite], x_label)
    (_x_first, first), (x_last, last) = finite[0], finite[-1]
    x_peak, peak = max(finite, key=lambda p: p[1])
    if peak > first and x_peak != x_last:
        text = _("The learning rate starts at {first}, rises to {peak} at {x_label} {x_peak} and ends at "
                 "{last} ({x_label} {x_last}).")
    else:
        text = _("The learning rate starts at {first} and ends at {last} ({x_label} {x_last}).")
    text = text.format(first=f"{first:.3g}", peak=f"{peak:.3g}", x_label=_(x_label), x_peak=f"{x_peak:.3g}",
                       last=f"{last:.3g}", x_last=f"{x_last:.3g}")
    if source == "schedule.json":
        where = _("Drawn from <code>schedule.json</code>: {n} points, one per optimizer "
                  "step (or an even selection of them).").format(n=f"{len(finite):,}")
    else:
        where = _("Drawn from the per-epoch <code>lr</code> of <code>metrics.jsonl</code> "
                  "(<code>schedule.json</code> is missing), so changes within an epoch do not show.")
    body = (_img(png, _("learning rate over training")) + f'<p class="aside">{_e(text)}</p>'
            + f'<p class="aside">{where}</p>')
    return _section("learning-rate", _("Learning rate"), how, body)


def _config_dict(run: RunFiles) -> dict:
    if not run.config_text:
        return {}
    try:
        import yaml

        config = yaml.safe_load(run.config_text)
    except Exception:  # shown as text in its own section anyway
        return {}
    return config if isinstance(config, dict) else {}


def _clip_grad_norm(run: RunFiles) -> float | None:
    train = _config_dict(run).get("train")
    clip = _as_float(train.get("clip_grad_norm")) if isinstance(train, dict) else math.nan
    return clip if math.isfinite(clip) and clip > 0 else None


def _has_gradients(run: RunFiles) -> bool:
    return bool(run.grad_stats) or any(
        math.isfinite(_as_float(r.get(key))) for r in run.history for key in ("grad_norm", "grad_norm_max"))


def _gradient_section(run: RunFiles) -> str:
    how = _("The size (L2 norm) of the gradient, on a log scale. Healthy training shows norms that "
            "stay within a few powers of ten and usually shrink slowly. A norm that shoots up by "
            "orders of magnitude is an exploding gradient; layers whose norm sits far below the "
            "others (often the first ones) barely learn: a vanishing gradient.")
    clip = _clip_grad_norm(run)
    png = figures.gradient_norms(run.history, run.grad_stats, clip)
    if png is None:
        raise ValueError("grad_stats.jsonl holds no layer with a gradient norm")
    body = [_img(png, _("gradient norms over training"))]
    epochs = [(r.get("epoch", i + 1), _as_float(r.get("grad_norm")), _as_float(r.get("grad_norm_max")))
              for i, r in enumerate(run.history)]
    means = [(e, m) for e, m, _ in epochs if math.isfinite(m)]
    if len(means) >= 2:
        (first_epoch, first), (last_epoch, last) = means[0], means[-1]
        text = _("The mean gradient norm went from {first} in epoch {first_epoch} to "
                 "{last} in epoch {last_epoch}.").format(first=f"{first:.3g}", first_epoch=_fmt(first_epoch),
                                                         last=f"{last:.3g}", last_epoch=_fmt(last_epoch))
        body.append(f'<p class="aside">{_e(text)}</p>')
    broken = [epoch for (epoch, _, _), r in zip(epochs, run.history)  # json reads NaN / Infinity as floats
              if any(isinstance(r.get(key), float) and not math.isfinite(r[key])
                     for key in ("grad_norm", "grad_norm_max"))]
    if broken:
        which = ", ".join(_fmt(e) for e in broken[:5]) + (", ..." if len(broken) > 5 else "")
        body.append(_note(ngettext("The gradient norm was NaN or infinite in epoch {epochs}: the gradients exploded.",
                                   "The gradient norm was NaN or infinite in epochs {epochs}: the gradients exploded.",
                                   len(broken)).format(epochs=_e(which)), "warn"))
    if clip is not None:
        clipped = [e for e, _m, top in epochs if math.isfinite(top) and top > clip]
        text = _("Gradients with a norm above {clip} are scaled down to {clip} before each step "
                 "(<code>train.clip_grad_norm</code>); the curves show the norms before clipping, so "
                 "the red dashed line marks where clipping starts.").format(clip=f"{clip:g}")
        if any(math.isfinite(top) for _x, _m, top in epochs):
            text = _("{text} At least one step was clipped in {clipped} of {total} epochs.").format(
                text=text, clipped=len(clipped), total=sum(math.isfinite(top) for _x, _m, top in epochs))
        body.append(f'<p class="aside">{text}</p>')
    body.append(_layer_table(run.grad_stats))
    return _section("gradients", _("Gradient norms"), how, "".join(body))


def _layer_table(records: list[dict]) -> str:
    """The last recorded step's per-layer norms, and a sentence on their spread."""
    last = next((r for r in reversed(records) if isinstance(r.get("layers"), dict) and r["layers"]), None)
    if last is None:
        return ""
    rows, norms = [], []
    for name, stats in last["layers"].items():
        stats = stats if isinstance(stats, dict) else {}
        grad, weight = _as_float(stats.get("grad_norm")), _as_float(stats.get("weight_norm"))
        ratio = grad / weight if math.isfinite(grad) and math.isfinite(weight) and weight > 0 else math.nan
        if math.isfinite(grad) and grad > 0:
            norms.append((grad, str(name)))
        rows.append([f'<span class="mono">{_e(name)}</span>', _e(_fmt(grad)), _e(_fmt(weight)),
                     _e(_fmt(ratio))])
    lead = ""
    if len(norms) >= 2:
        (low, low_name), (high, high_name) = min(norms), max(norms)
        if high / low > 1000:
            lead = _("At step {step} the layers' gradient norms range from {low} ({low_name}) to {high} "
                     "({high_name}), a factor of {factor}: the gradient hardly reaches {low_name}, which "
                     "therefore learns slowly.")
        else:
            lead = _("At step {step} the layers' gradient norms range from {low} ({low_name}) to {high} "
                     "({high_name}).")
        lead = lead.format(step=_fmt(last.get("step", "?")), low=f"{low:.3g}", low_name=low_name,
                           high=f"{high:.3g}", high_name=high_name, factor=f"{high / low:,.0f}")
        lead = f'<p class="aside">{_e(lead)}</p>'
    table = _table([_("layer"), _("gradient norm"), _("weight norm"), _("gradient / weight")], rows, "numbers")
    summary = _("Per-layer norms at step {step} (the last recorded)").format(step=_e(_fmt(last.get("step", "?"))))
    return (lead + f'<details><summary>{summary}</summary><div class="scroll tall">{table}</div></details>')
