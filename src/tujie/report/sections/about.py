"""About sections."""

from __future__ import annotations

import math

from ...i18n import N_, _
from ..format import _e, _fmt, _fmt_seconds, _fmt_time, _note, _section, _table
from ..run_files import RunFiles, _one_model


def _model_section(run: RunFiles) -> str:
    how = _("The layers in order, the shape of what each one outputs (the first number is the "
            "batch size) and how many weights it learns.")
    model = run.summary.get("model")
    if not isinstance(model, dict) or not model:
        return _section("model", _("Model"), how,
                        _note(_("No model summary: <code>summary.json</code> is missing or has no "
                                "<code>model</code> entry.")))
    rows, row_classes = [], []
    for layer in model.get("layers") or []:
        if not isinstance(layer, dict):
            continue
        shape = layer.get("output_shape")
        rows.append([_e(layer.get("name", "")), _e(layer.get("type", "")),
                     f'<span class="mono">{_e(_fmt(shape) if shape is not None else "—")}</span>',
                     f'<span class="num">{_e(_fmt(layer.get("params")))}</span>'])
        # A layer without weights (Flatten, ReLU) has nothing to freeze: only grey real frozen ones.
        frozen = layer.get("trainable") is False and isinstance(layer.get("params"), int) and layer["params"] > 0
        row_classes.append("frozen" if frozen else "")
    total, trainable = model.get("total_params"), model.get("trainable_params")
    footer = None
    if total is not None:
        frozen = (total - trainable) if isinstance(total, int) and isinstance(trainable, int) else None
        size = _(" · {size} MB as float32").format(size=f"{total * 4 / 1e6:.2f}") if isinstance(total, int) else ""
        counts = _("trainable {trainable} · frozen {frozen}").format(trainable=_fmt(trainable), frozen=_fmt(frozen))
        footer = [_("total"), "", "",
                  f'<span class="num">{_e(_fmt(total))}</span><div class="sub">{_e(counts)}{_e(size)}</div>']
    title = '<p class="aside">' + _("Model: {name}").format(name=f'<b>{_e(model.get("name", "?"))}</b>') + "</p>"
    legend = ('<p class="aside">' + _("Greyed rows are frozen (not trained).") + "</p>"
              if "frozen" in row_classes else "")
    return _section("model", _("Model"), how,
                    title + _table([_("layer"), _("type"), _("output shape"), _("parameters")], rows,
                                   "model", row_classes, footer) + legend)


def _config_section(run: RunFiles) -> str:
    how = _("Every setting this run used, after defaults and command-line overrides were applied.")
    if run.config_text is None:
        return _section("config", _("Configuration"), how,
                        _note(_("No configuration: <code>config.yaml</code> is missing.")))
    return _section("config", _("Configuration"), how, f'<pre class="yaml">{_e(run.config_text)}</pre>')


def _run_section(run: RunFiles) -> str:
    how = _("How long the run took and on what, so results can be compared and reproduced.")
    s = run.summary
    timings = s.get("timings") if isinstance(s.get("timings"), dict) else {}
    environment = s.get("environment") if isinstance(s.get("environment"), dict) else {}
    if not timings and not environment:
        return _section("run", _("Timings and environment"), how,
                        _note(_("No timings or environment: <code>summary.json</code> is missing or "
                                "does not record them.")))
    rows = []
    labels = {"total_s": N_("total"), "train_s": N_("training"), "test_s": N_("testing"),
              "samples_per_s": N_("throughput"), "started": N_("started"), "finished": N_("finished")}
    for key, value in timings.items():
        if key == "epoch_s" and isinstance(value, list) and value:
            numbers = [v for v in value if isinstance(v, (int, float))]
            if numbers:
                text = _("{mean} on average (fastest {fastest}, slowest {slowest}, {n} epochs)").format(
                    mean=_fmt_seconds(sum(numbers) / len(numbers)), fastest=_fmt_seconds(min(numbers)),
                    slowest=_fmt_seconds(max(numbers)), n=len(numbers))
                rows.append([_("per epoch"), _e(text)])
        elif key == "samples_per_s":
            finite = isinstance(value, (int, float)) and math.isfinite(value)
            rate = f"{value:,.0f}" if finite else _fmt(value)
            rows.append([_(labels[key]), _e(_("{rate} examples/s").format(rate=rate))])
        elif key.endswith("_s"):
            rows.append([_e(_(labels[key]) if key in labels else key[:-2].replace("_", " ")), _e(_fmt_seconds(value))])
        else:
            rows.append([_e(key), _e(_fmt(value))])
    for key in ("started", "finished"):
        if s.get(key):
            rows.append([_(labels[key]), _e(_fmt_time(s[key]))])
    env_rows = [[_e(key), f'<span class="mono">{_e(_fmt(value))}</span>']
                for key, value in environment.items()]

    def half(title, table_rows):
        table = _table(["", ""], table_rows, "kv") if table_rows else _note(_("Not recorded."))
        return f"<div><h3>{title}</h3>{table}</div>"

    body = '<div class="two">' + half(_("Timings"), rows) + half(_("Environment"), env_rows) + "</div>"
    return _section("run", _("Timings and environment"), how, body)


def _has_model(run: RunFiles) -> bool:
    return _one_model(run) or isinstance(run.summary.get("model"), dict)
