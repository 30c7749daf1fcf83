"""The Python snippets of README.md and docs/*.md run as written.

Every ```python block of a file runs, in order, in one namespace (a later block may use what an
earlier one made, as a reader would). Only the sizes shrink so the suite stays fast: datasets are
cut to a few thousand samples and texts to a few hundred, every `fit` trains one epoch,
word2vec one pass, and a search 3 trials. A block fenced ```python file is a file to create (a kind module), not a
snippet, and is only compiled.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.M | re.S)


def blocks(path: Path) -> list[tuple[str, str]]:
    return [(info.strip(), code) for info, code in FENCE.findall(path.read_text(encoding="utf-8"))]


def test_the_snippets_are_found():
    found = {path.name: len(blocks(path)) for path in DOCS}
    assert found["README.md"] >= 4 and found["text.md"] >= 2 and found["training.md"] >= 2, found


@pytest.fixture
def small(monkeypatch):
    """Shrink what the snippets train on; what they call stays what a reader calls."""
    import tujie.data
    import tujie.text
    from tujie.train.loop import Learner

    load = tujie.data.load
    monkeypatch.setattr(tujie.data, "load", functools.wraps(load)(
        lambda name, *a, **k: load(name, *a, **{**k, "limit": min(k.get("limit") or 3000, 3000)})))
    fit = Learner.fit
    monkeypatch.setattr(Learner, "fit", functools.wraps(fit)(lambda self, *a, **k: fit(self, *a, **{**k, "epochs": 1})))
    load_imdb = tujie.text.load_imdb

    def small_imdb(*a, **k):
        corpus = load_imdb(*a, **k)
        corpus.train, corpus.test = corpus.train[:300], corpus.test[:300]
        return corpus

    monkeypatch.setattr(tujie.text, "load_imdb", small_imdb)
    imdb_texts = tujie.text.imdb_texts
    monkeypatch.setattr(tujie.text, "imdb_texts", lambda *a, **k: imdb_texts(*a, **k)[:300])
    word2vec = tujie.text.train_word2vec
    monkeypatch.setattr(tujie.text, "train_word2vec", lambda *a, **k: word2vec(*a, **{**k, "epochs": 1, "workers": 1}))
    import tujie
    import tujie.runner.tuning

    tune = tujie.runner.tuning.tune  # a search of 3 trials (of one epoch each)
    small_tune = functools.wraps(tune)(lambda *a, **k: tune(*a, **{**k, "trials": min(k.get("trials") or 3, 3)}))
    monkeypatch.setattr(tujie.runner.tuning, "tune", small_tune)
    monkeypatch.setattr(tujie, "tune", small_tune, raising=False)


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_snippets_run_as_written(path, small, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # whatever a snippet writes lands here
    namespace: dict = {"__name__": "__snippet__"}
    for number, (info, code) in enumerate(blocks(path), 1):
        compiled = compile(code, f"{path.name} python block {number}", "exec")
        if info == "file":
            continue
        exec(compiled, namespace)  # noqa: S102 - the project's own documentation


def test_the_stateful_recurrent_example_carries_its_state_between_batches():
    # it needs no dataset, so it runs in every suite, not only with TUJIE_DATA
    code = next(code for _, code in blocks(ROOT / "docs" / "training.md") if "class StatefulLSTM" in code)
    namespace: dict = {"__name__": "__snippet__"}
    exec(compile(code, "training.md: the stateful LSTM", "exec"), namespace)  # noqa: S102 - the project's own documentation
    learner, model = namespace["learner"], namespace["model"]
    losses = learner.history.history["loss"]
    assert len(losses) == 3 and losses[-1] < losses[0] / 2
    assert model.hidden is not None and model.hidden[0].shape == (1, namespace["streams"], 64)
    assert not model.hidden[0].requires_grad  # detached: the next batch's graph starts at its own edge
