"""One contract over all kinds of run (as tests/models checks every model): each registered kind
has a schema, a recipe, report sections, and runs end to end on tiny data, in English and Chinese."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser

import pytest
import yaml
from pydantic import BaseModel

import tujie as tj
from tujie import kinds
from tujie.recipes import list_recipes, load_recipe
from tujie.report.sections.results import _METRIC_MEANINGS

KINDS = kinds.names()
# kinds whose run trains one architecture (one model, or members of one recipe): their report has its model table
TRAINS_ONE_ARCHITECTURE = {"train", "ensemble", "translation"}


def test_the_seven_kinds_of_today_are_registered():
    assert {"train", "cross_validation", "ensemble", "overfitting_lab", "forecast", "translation",
            "embeddings"} <= set(KINDS)


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_has_a_schema_and_a_smoke_run(name):
    kind = kinds.get(name)
    schema = kinds.schema()
    if kind.section is not None:
        assert issubclass(kind.config, BaseModel) and kind.section in schema.model_fields
    assert kind.description and kind.run.__module__ == f"tujie.kinds.{name}"
    recipe, overrides = kind.smoke
    assert recipe in list_recipes() and all("=" in o for o in overrides)


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_has_a_recipe(name):
    named = [r for r in list_recipes() if (load_recipe(r).get("kind") or "train") == name]
    assert named, f"no recipe under src/tujie/recipes has kind: {name}"


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_has_report_sections(name):
    report = kinds.get(name).report_spec()
    # train draws with the shared sections alone (curves, test, confusion, ..., model)
    assert report.sections or name == "train"
    for section in report.sections:
        assert section.anchor and section.title and callable(section.render) and callable(section.applies)


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(tj.errors.ConfigError, match="cross_validation"):
        kinds.validate({"recipe": "x", "kind": "cross_validaton"})


class _Text(HTMLParser):
    """Visible text of a report, leaving out what is data, not prose: code, config, reviews, sentences, tokens."""

    SKIP_TAGS = {"pre", "code", "style", "script", "title"}
    SKIP_CLASSES = {"mono", "review", "data", "yaml"}

    def __init__(self):
        super().__init__()
        self.stack, self.parts, self.sections = [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id"):
            self.sections.add(attrs["id"])
        if tag in ("br", "img", "meta", "link", "hr", "input"):
            return
        skip = tag in self.SKIP_TAGS or bool(self.SKIP_CLASSES & set((attrs.get("class") or "").split()))
        self.stack.append(skip or (bool(self.stack) and self.stack[-1]))

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag not in ("br", "img", "meta", "link", "hr", "input") and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


ENGLISH = {"the", "and", "of", "is", "are", "was", "to", "in", "on", "for", "with", "what", "how", "this", "that",
           "which", "each", "not", "from", "by", "when", "than", "its", "an", "be", "has", "have", "model", "training",
           "validation", "test", "epoch", "epochs", "loss", "accuracy", "mean", "fold", "folds", "member", "members",
           "variant", "gap", "words", "sentences", "translation", "forecast", "took", "finished", "best", "run",
           "report", "missing", "file", "files", "here", "shows", "read", "higher", "lower", "better"}


def english_words(text: str) -> list[str]:
    import re

    text = re.sub(r"\w+_\w+", " ", text)  # snake_case identifiers (a variant's name, a metric's key) are data
    return sorted({w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in ENGLISH})


def _smoke(name, tmp_path):
    kind = kinds.get(name)
    if kind.smoke_needs_data and not os.environ.get("TUJIE_DATA"):
        pytest.skip("needs the real datasets: run with TUJIE_DATA=/path/to/data")
    recipe, overrides = kind.smoke
    return tj.run(recipe, overrides=[*overrides, f"output_dir={tmp_path}", "run_name=smoke"], verbose=0)


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_runs_end_to_end_and_reports_in_english_and_chinese(name, tmp_path):
    result = _smoke(name, tmp_path)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["kind"] == name and summary["status"] == "finished"
    assert yaml.safe_load((result.run_dir / "config.yaml").read_text())["kind"] == name
    english = result.report.read_text(encoding="utf-8")
    page = _Text()
    page.feed(english)
    own = {s.anchor for s in kinds.get(name).report_spec().sections}
    assert own <= page.sections, f"sections of {name} missing from its report: {own - page.sections}"
    assert "could not be drawn" not in english
    # a kind that trains a model fills the shared sections: its model table, and what each test number means
    if name in TRAINS_ONE_ARCHITECTURE:
        assert isinstance(summary.get("model"), dict) and "model" in page.sections
    if "model" in page.sections:
        assert "No model summary" not in english
    for metric in summary.get("test") or {}:
        assert metric in _METRIC_MEANINGS, f"test metric {metric!r} of {name} has no 'what it means'"

    chinese = tj.build_report(result.run_dir, lang="zh").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in chinese and "could not be drawn" not in chinese and "无法根据" not in chinese
    text = _Text()
    text.feed(chinese)
    left = english_words(" ".join(text.parts))
    assert not left, f"untranslated English in the Chinese report of {name}: {left}"
    assert text.sections == page.sections  # the same sections, only the words differ


@pytest.mark.parametrize("name", [n for n in KINDS if kinds.get(n).section])
def test_a_kind_section_left_out_takes_its_defaults(name):
    # `kind: cross_validation` with no `cross_validation:` section is a valid recipe: the defaults apply
    kind = kinds.get(name)
    try:
        defaults = kind.config()
    except Exception:  # a section with required keys (the lab's variants) must be written out
        with pytest.raises(tj.errors.ConfigError):
            tj.run("digits-mlp", overrides=[f"kind={name}", "epochs=1"], verbose=0)
        return
    config = kinds.validate({"recipe": "x", "kind": name})
    assert getattr(config, kind.section) is None and defaults is not None


def test_cross_validation_without_its_section_runs_five_folds(tmp_path):
    result = tj.run("digits-mlp", overrides=["kind=cross_validation", "epochs=1", "limit=300", f"output_dir={tmp_path}"],
                    verbose=0)
    assert result.summary["cross_validation"]["k"] == 5
