"""About sections."""

from __future__ import annotations

import math

from ..format import _e, _fmt, _fmt_seconds, _fmt_time, _note, _section, _table
from ..run_files import RunFiles, _one_model


def _model_section(run: RunFiles) -> str:
    how = ("The layers in order, the shape of what each one outputs (the first number is the "
           "batch size) and how many weights it learns.")
    model = run.summary.get("model")
    if not isinstance(model, dict) or not model:
        return _section("model", "Model", how,
                        _note("No model summary: <code>summary.json</code> is missing or has no "
                              "<code>model</code> entry."))
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
        size = f" · {total * 4 / 1e6:.2f} MB as float32" if isinstance(total, int) else ""
        footer = ["total", "", "",
                  f'<span class="num">{_e(_fmt(total))}</span>'
                  f'<div class="sub">trainable {_e(_fmt(trainable))} · frozen {_e(_fmt(frozen))}'
                  f"{_e(size)}</div>"]
    title = f'<p class="aside">Model: <b>{_e(model.get("name", "?"))}</b></p>'
    legend = ('<p class="aside">Greyed rows are frozen (not trained).</p>'
              if "frozen" in row_classes else "")
    return _section("model", "Model", how,
                    title + _table(["layer", "type", "output shape", "parameters"], rows,
                                   "model", row_classes, footer) + legend)


def _config_section(run: RunFiles) -> str:
    how = "Every setting this run used, after defaults and command-line overrides were applied."
    if run.config_text is None:
        return _section("config", "Configuration", how,
                        _note("No configuration: <code>config.yaml</code> is missing."))
    return _section("config", "Configuration", how, f'<pre class="yaml">{_e(run.config_text)}</pre>')


def _run_section(run: RunFiles) -> str:
    how = "How long the run took and on what, so results can be compared and reproduced."
    s = run.summary
    timings = s.get("timings") if isinstance(s.get("timings"), dict) else {}
    environment = s.get("environment") if isinstance(s.get("environment"), dict) else {}
    if not timings and not environment:
        return _section("run", "Timings and environment", how,
                        _note("No timings or environment: <code>summary.json</code> is missing or "
                              "does not record them."))
    rows = []
    labels = {"total_s": "total", "train_s": "training", "test_s": "testing",
              "samples_per_s": "throughput"}
    for key, value in timings.items():
        if key == "epoch_s" and isinstance(value, list) and value:
            numbers = [v for v in value if isinstance(v, (int, float))]
            if numbers:
                text = (f"{_fmt_seconds(sum(numbers) / len(numbers))} on average "
                        f"(fastest {_fmt_seconds(min(numbers))}, slowest {_fmt_seconds(max(numbers))}, "
                        f"{len(numbers)} epochs)")
                rows.append(["per epoch", _e(text)])
        elif key == "samples_per_s":
            finite = isinstance(value, (int, float)) and math.isfinite(value)
            rate = f"{value:,.0f}" if finite else _fmt(value)
            rows.append([labels[key], _e(f"{rate} examples/s")])
        elif key.endswith("_s"):
            rows.append([_e(labels.get(key, key[:-2].replace("_", " "))), _e(_fmt_seconds(value))])
        else:
            rows.append([_e(key), _e(_fmt(value))])
    for key in ("started", "finished"):
        if s.get(key):
            rows.append([key, _e(_fmt_time(s[key]))])
    env_rows = [[_e(key), f'<span class="mono">{_e(_fmt(value))}</span>']
                for key, value in environment.items()]

    def half(title, table_rows):
        table = _table(["", ""], table_rows, "kv") if table_rows else _note("Not recorded.")
        return f"<div><h3>{title}</h3>{table}</div>"

    body = f'<div class="two">{half("Timings", rows)}{half("Environment", env_rows)}</div>'
    return _section("run", "Timings and environment", how, body)


def _has_model(run: RunFiles) -> bool:
    return _one_model(run) or isinstance(run.summary.get("model"), dict)
