"""Chinese and English: every marked message has Chinese, the catalogs agree, the language is chosen as documented."""

from __future__ import annotations

import gettext
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
i18n_tool = pytest.importorskip("i18n", reason="tools/i18n.py needs Babel (pip install babel)")

from tujie import i18n  # noqa: E402
from tujie.errors import ConfigError  # noqa: E402


def test_every_message_in_the_code_has_chinese():
    found = i18n_tool.extract()
    assert len(found) > 300, "the extractor found too few messages: are they still marked _()?"
    gaps = i18n_tool.missing()
    assert not gaps, "messages without Chinese (run `make i18n` and fill them in):\n" + "\n".join(
        f"{key!r} at {where[0]}" for key, where in gaps[:40])


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"(?<!\{)\{([a-z_0-9]*)(?:[:!][^}]*)?\}(?!\})", text))


def test_translations_keep_every_placeholder_and_tag():
    # a translation that drops {count} or renames it breaks .format() at run time
    for key, string in i18n_tool.merged().items():
        ids = key if isinstance(key, tuple) else (key,)
        strings = string if isinstance(string, (tuple, list)) else (string,)
        for text in strings:
            assert _placeholders(text) == _placeholders(ids[-1]), (key, text)
            assert sorted(re.findall(r"</?[a-z]+", text)) == sorted(re.findall(r"</?[a-z]+", ids[-1])), (key, text)


def test_the_compiled_catalog_is_the_po_file():
    with i18n_tool.MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)._catalog
    for key, string in i18n_tool.merged().items():
        if isinstance(key, tuple):
            assert compiled[(key[0], 0)] == (string[0] if isinstance(string, (tuple, list)) else string)
        else:
            assert compiled[key] == string, f"tujie.mo is out of date for {key!r}: run `make i18n`"


def test_language_follows_the_option_then_tujie_lang_then_the_locale(monkeypatch):
    monkeypatch.delenv("TUJIE_LANG", raising=False)
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(variable, raising=False)
    assert i18n.default_language() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.default_language() == "zh"
    monkeypatch.setenv("TUJIE_LANG", "en")
    assert i18n.default_language() == "en"
    with i18n.language("zh"):
        assert i18n._("Training curves") == "训练曲线"
    assert i18n._("Training curves") == "Training curves"
    with pytest.raises(ConfigError, match="zh \\(Chinese\\) or en"):
        i18n.set_language("fr")


def test_error_headings_speak_the_language():
    with i18n.language("zh"):
        message = str(ConfigError("Bad epochs.", expected="a positive integer", received="epochs=-1", fix="Pass --set epochs=5."))
    assert "应为：" in message and "收到：" in message and "解决方法：" in message
    english = str(ConfigError("Bad epochs.", expected="a positive integer", received="epochs=-1", fix="Pass --set epochs=5."))
    assert english == "Bad epochs. Expected: a positive integer. Received: epochs=-1. Fix: Pass --set epochs=5."


def test_figures_are_chinese_only_where_a_cjk_font_can_draw_them(monkeypatch):
    from tujie.plots import style

    with i18n.language("zh"):
        if style.installed_cjk_fonts():
            assert style.figure_label("epoch") != "epoch"
        monkeypatch.setattr(style, "installed_cjk_fonts", lambda: ())
        assert style.figure_label("epoch") == "epoch"  # no font: English, never empty boxes


def test_a_chinese_figure_draws_without_missing_glyphs(recwarn):
    from tujie import plots
    from tujie.plots import style

    if not style.installed_cjk_fonts():
        pytest.skip("no CJK font installed (Debian: fonts-noto-cjk)")
    history = [{"epoch": 1, "loss": 0.9, "val_loss": 1.0}, {"epoch": 2, "loss": 0.5, "val_loss": 0.7}]
    with i18n.language("zh"):
        png = plots.training_curves(history, best_epoch=2)
    assert png[:4] == b"\x89PNG"
    assert not [w for w in recwarn if "missing from" in str(w.message) or "Glyph" in str(w.message)]


def test_cli_report_and_run_take_lang(tmp_path, capsys):
    import json

    from tujie.cli import main

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 0.3, "val_loss": 0.4}))
    assert main(["report", str(run), "--lang", "zh"]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "训练曲线" in page
    assert "报告：" in capsys.readouterr().out
    assert main(["report", str(run)]) == 0  # --lang held for that one command only
    assert '<html lang="en">' in (run / "report.html").read_text(encoding="utf-8")
    assert main(["run", "digits-mlp", "--lang", "fr"]) == 2
    assert "zh (Chinese) or en" in capsys.readouterr().err


def test_no_message_is_marked_inside_an_f_string():
    # Babel's extractor does not see _("...") inside an f-string: such a message would never reach
    # the catalog and stay English in a Chinese report without any check noticing
    import ast

    hidden = []
    for path in sorted((ROOT / "src" / "tujie").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                for inner in ast.walk(node):
                    if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)
                            and inner.func.id in ("_", "N_", "ngettext", "figure_label")
                            and inner.args and isinstance(inner.args[0], ast.Constant)):
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno} {inner.args[0].value!r}")
    assert not hidden, "marked inside an f-string (move the call out):\n" + "\n".join(hidden)
