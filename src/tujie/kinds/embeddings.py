"""The `embeddings` kind: word vectors (word2vec or GloVe) judged by analogies, similarity and neighbours (chapter 8).

The run directory is itself a vectors folder (vectors.safetensors + vocab.json), so
`text.vectors: imdb-word2vec` in another recipe finds it. Writes embeddings.json; the report
shows the analogy table, WordSim-353, nearest neighbours and a 2-D map of the words.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Literal

from pydantic import Field

from .. import plots as figures
from .._io import write_json
from ..config import Strict
from ..i18n import N_, _, ngettext
from ..report import KindReport, Section
from ..report.format import _as_float, _data, _e, _fmt, _fmt_seconds, _img, _list, _object, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register


class EmbeddingsConfig(Strict):
    """A word-vector run (`kind: embeddings`): the method, its settings, and how it is judged."""
    method: Literal["skipgram", "cbow", "glove"] = "skipgram"
    corpus: Literal["imdb"] = Field("imdb", description="the texts trained on: the 25,000 IMDB training reviews")
    dim: int = Field(100, ge=2)
    window: int = Field(5, ge=1, description="largest distance between centre and context word")
    negative: int = Field(5, ge=1, description="word2vec: noise words per example")
    min_count: int = Field(5, ge=1, description="words seen fewer times are dropped")
    sample: float = Field(1e-3, ge=0.0, description="word2vec: subsampling threshold for frequent words (0: off)")
    epochs: int = Field(5, ge=1)
    lr: float | None = Field(None, gt=0.0, description="starting learning rate (None: the method's default)")
    workers: int = Field(2, ge=1, description="threads sharing the tables (1 gives the same vectors every run)")
    probes: list[str] = Field(["good", "bad", "movie", "actor", "funny", "horror", "music", "boring"],
                              description="words whose neighbours the report lists and maps")
    projection: Literal["pca", "tsne"] = "pca"


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    return _embeddings(context.config, None, context.run_dir, context.say)


def _embeddings(config, data, run_dir: Path, say) -> dict:
    """Word vectors (word2vec or GloVe) on a corpus, judged by analogies, word similarity and neighbours."""
    from ..text import WordTokenizer, imdb_texts
    from ..text.glove import train_glove
    from ..text.vectors import load_analogies
    from ..text.word2vec import train_word2vec

    e = config.embeddings or EmbeddingsConfig()
    texts = imdb_texts(config.data.data_dir, split="train")
    if config.data.limit is not None:
        texts = texts[: config.data.limit]
    split = WordTokenizer().split
    sentences = [split(t) for t in texts]
    tokens = sum(map(len, sentences))
    say(ngettext("Data: {reviews} IMDB training review, {tokens} tokens (WordTokenizer, lower-cased)",
                 "Data: {reviews} IMDB training reviews, {tokens} tokens (WordTokenizer, lower-cased)",
                 len(sentences)).format(reviews=f"{len(sentences):,}", tokens=f"{tokens:,}"))
    start = time.perf_counter()

    def progress(record):
        shown = {"epoch": record["epoch"], "epochs": e.epochs, "seconds": f"{record['seconds']:.1f}",
                 "loss": f"{record['loss']:.4f}"}
        if record.get("words_per_s"):
            say(_("Epoch {epoch}/{epochs} - {seconds}s - loss: {loss} - {speed} words/s").format(
                **shown, speed=f"{record['words_per_s']:,.0f}"))
        else:
            say(_("Epoch {epoch}/{epochs} - {seconds}s - loss: {loss}").format(**shown))

    if e.method == "glove":
        vectors = train_glove(sentences, dim=e.dim, window=e.window, epochs=e.epochs, min_count=e.min_count,
                              seed=config.seed, workers=e.workers, progress=progress, **({"lr": e.lr} if e.lr else {}))
    else:
        vectors = train_word2vec(sentences, mode=e.method, dim=e.dim, window=e.window, negative=e.negative,
                                 min_count=e.min_count, sample=e.sample, epochs=e.epochs, lr=e.lr, seed=config.seed,
                                 workers=e.workers, progress=progress)
    train_s = time.perf_counter() - start
    vectors.save(run_dir)  # the run directory is the vectors folder: vectors.safetensors + vocab.json

    questions = load_analogies()
    analogies = vectors.evaluate_analogies(questions)
    examples = []
    for section, a, b, c, d in questions:  # a few answered questions, one per section, for the report
        if len(examples) < 14 and all(w.lower() in vectors for w in (a, b, c, d)) and section not in {x["section"] for x in examples}:
            predicted = vectors.analogy(a.lower(), b.lower(), c.lower(), k=1)[0][0]
            examples.append({"section": section, "question": [a.lower(), b.lower(), c.lower()], "expected": d.lower(),
                             "predicted": predicted, "correct": predicted == d.lower()})
    analogies["examples"] = examples
    similarity = _wordsim353(vectors)
    probes = [w for w in e.probes if w in vectors]
    neighbours = {w: [[n, round(s, 4)] for n, s in vectors.most_similar(w, k=8)] for w in probes}
    words, groups = [], []
    for w in probes:  # each probe and its 5 nearest, a word drawn once
        for n in [w] + [n for n, _similarity in neighbours[w][:5]]:
            if n not in words:
                words.append(n)
                groups.append(w)
    xy = vectors.project_2d(words, method=e.projection, seed=config.seed).tolist() if len(words) >= 4 else []
    history = [{k: r.get(k) for k in ("epoch", "loss", "seconds", "words_per_s")} for r in vectors.meta["history"]]
    words_per_s = vectors.meta.get("words_per_s")
    accuracy = analogies["accuracy"]
    if accuracy is None:  # no question answerable (the English says "None"; the translation may say it better)
        line = ngettext("Analogies: None on {covered} of {total} question whose words are in the vocabulary",
                        "Analogies: None on {covered} of {total} questions whose words are in the vocabulary",
                        analogies["total"])
    else:
        line = ngettext("Analogies: {accuracy} on {covered} of {total} question whose words are in the vocabulary",
                        "Analogies: {accuracy} on {covered} of {total} questions whose words are in the vocabulary",
                        analogies["total"])
    say(line.format(accuracy=accuracy if accuracy is None else f"{accuracy:.3f}", covered=f"{analogies['covered']:,}",
                    total=f"{analogies['total']:,}"))
    if similarity:
        say(ngettext("WordSim-353 Spearman: {spearman} on {n} pair", "WordSim-353 Spearman: {spearman} on {n} pairs",
                     similarity["covered"]).format(spearman=f"{similarity['spearman']:.3f}", n=similarity["covered"]))
    for w in probes[:4]:
        say(f"  {w}: {', '.join(n for n, _ in neighbours[w][:6])}")
    write_json(run_dir / "embeddings.json", {
        "method": e.method, "corpus": e.corpus, "settings": e.model_dump(exclude={"probes", "projection"}),
        "vocab_size": len(vectors), "tokens": tokens, "train_s": train_s, "words_per_s": words_per_s, "history": history,
        "analogies": analogies, "similarity": similarity, "neighbours": neighbours,
        "projection": {"method": e.projection, "words": words, "xy": xy, "groups": groups}})
    results = {"analogy_accuracy": accuracy}
    if similarity and similarity["spearman"] is not None:
        results["wordsim353_spearman"] = similarity["spearman"]
    return {"results": results, "train_s": train_s, "vocab_size": len(vectors)}


def _wordsim353(vectors) -> dict | None:
    """Spearman on WordSim-353 with gensim's bundled copy of it, when gensim is installed."""
    try:
        from gensim.test.utils import datapath
    except ImportError:
        return None
    path = Path(datapath("wordsim353.tsv"))
    return vectors.evaluate_similarity(path) if path.is_file() else None


# ----------------------------------------------------------------------------------- report
_ANALOGY_TOTALS = {"semantic": N_("all semantic"), "syntactic": N_("all syntactic")}


def _count(value) -> int:
    """A count for ngettext: a whole number as it is, anything else read as plural."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 2


def _vectors(method) -> str:
    """"skipgram vectors", or "word vectors" when the method is unknown."""
    return _("{method} vectors").format(method=method) if method else _("word vectors")


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    analogies = _object(run.embeddings, "analogies", "embeddings.json") or {}
    similarity = _object(run.embeddings, "similarity", "embeddings.json") or {}
    accuracy, coverage = _as_float(analogies.get("accuracy")), _as_float(analogies.get("coverage"))
    stats = []
    if math.isfinite(accuracy):
        stats.append((_fmt(accuracy, "accuracy"),
                      _("analogy accuracy ({coverage} of the questions covered)").format(coverage=f"{coverage:.0%}")
                      if math.isfinite(coverage) else _("analogy accuracy")))
    rho = _as_float(similarity.get("spearman"))
    if math.isfinite(rho):
        stats.append((f"{rho:.3f}", _("word similarity (Spearman)")))
    return stats + [(v, label) for _, v, label in test_stats]


def _facts(run: RunFiles) -> list[str]:
    emb = run.embeddings
    fact = _vectors(emb.get("method"))
    if emb.get("corpus"):
        fact = _("{vectors} on {corpus}").format(vectors=fact, corpus=emb["corpus"])
    if isinstance(emb.get("vocab_size"), int):
        fact = ngettext("{fact}, {n} word", "{fact}, {n} words", emb["vocab_size"]).format(
            fact=fact, n=f"{emb['vocab_size']:,}")
    return [fact]


def _analogy_kind(section: str) -> str:
    """The Google analogy set's syntactic sections are named gram1-... to gram9-...; the rest are semantic."""
    name = section.lower()
    return "syntactic" if name.startswith("gram") or "syntactic" in name else "semantic"


def _analogy_row(name: str, entry: dict) -> list[str]:
    accuracy = _as_float(entry.get("accuracy"))
    if not math.isfinite(accuracy):
        correct, covered = _as_float(entry.get("correct")), _as_float(entry.get("covered"))
        accuracy = correct / covered if covered > 0 else math.nan
    cell = (f'<span class="meter" style="--w:{100 * accuracy:.1f}%">{_e(_fmt(accuracy, "accuracy"))}</span>'
            if 0 <= accuracy <= 1 else "—")
    return [name, cell] + [_e(_fmt(entry.get(key))) for key in ("correct", "covered", "total")]


def _analogies(analogies: dict) -> str:
    overall = _as_float(analogies.get("accuracy"))
    text = (_("Analogy accuracy {accuracy}").format(accuracy=_fmt(overall, "accuracy")) if math.isfinite(overall)
            else _("Analogy accuracy unknown"))
    if analogies.get("covered") is not None and analogies.get("total") is not None:
        text = ngettext("{text} on the {covered} of {total} question whose words are all in the vocabulary",
                        "{text} on the {covered} of {total} questions whose words are all in the vocabulary",
                        _count(analogies["total"])).format(text=text, covered=_fmt(analogies["covered"]),
                                                           total=_fmt(analogies["total"]))
        coverage = _as_float(analogies.get("coverage"))
        if math.isfinite(coverage):
            text = _("{text} (coverage {coverage})").format(text=text, coverage=f"{coverage:.0%}")
    body = ['<p class="lead">' + _e(_("{text}.").format(text=text)) + "</p>"]
    sections = _object(analogies, "by_section", "embeddings.json") or {}
    rows, row_classes = [], []
    totals = {kind: {"correct": 0, "covered": 0, "total": 0} for kind in ("semantic", "syntactic")}
    for kind in ("semantic", "syntactic"):
        for name, entry in sections.items():
            if _analogy_kind(str(name)) != kind or not isinstance(entry, dict):
                continue
            rows.append(_analogy_row(_data(name), entry))
            row_classes.append("")
            for key in totals[kind]:
                value = entry.get(key)
                totals[kind][key] += value if isinstance(value, int) and not isinstance(value, bool) else 0
    for kind, total in totals.items():
        if total["total"]:
            rows.append(_analogy_row(_e(_(_ANALOGY_TOTALS[kind])), {**total, "accuracy": None}))
            row_classes.append("highlight")
    if rows:
        footer = _analogy_row(_e(_("all")), analogies)
        table = _table([_("section"), _("accuracy"), _("correct"), _("covered"), _("total")], rows, "numbers",
                       row_classes, footer)
        body.append(f'<div class="scroll tall">{table}</div>')
    examples = [e for e in _list(analogies, "examples", "embeddings.json") if isinstance(e, dict)][:20]
    if examples:
        example_rows = []
        for example in examples:
            question = example.get("question")
            a, b, c = (question + ["?"] * 3)[:3] if isinstance(question, list) else ("?", "?", "?")
            right = example.get("correct") is True
            answer = f'<span class="{"ok-text" if right else "bad-text"}">{_data(example.get("predicted", "—"))}</span>'
            example_rows.append([_data(f"{a} : {b} :: {c} : ?"), _data(example.get("expected", "—")), answer])
        body.append("<details><summary>" + _("Examples of analogy questions (a is to b as c is to ?)") + "</summary>"
                    + _table([_("question"), _("expected"), _("the vectors' answer")], example_rows) + "</details>")
    return "<h3>" + _("Analogies") + "</h3>" + "".join(body)


def _embeddings_section(run: RunFiles) -> str:
    how = _("Word vectors place words that appear in similar contexts close together; they are judged without "
            "labels. An analogy (\u201cman is to king as woman is to ?\u201d) is answered by the word nearest to "
            "king \u2212 man + woman: right answers mean that directions in the space carry meaning, semantic "
            "(capitals, currencies, family) or syntactic (plurals, tenses, comparatives). Accuracy counts only the "
            "questions whose words are all in the vocabulary, so read it next to the coverage. Similarity compares "
            "the cosine of word pairs with how similar people rated them (Spearman rank correlation: 1 is the same "
            "order). The neighbours and the map show what the model puts together; on the map, only the groups "
            "and their neighbours mean something, not the axes.")
    emb = run.embeddings
    method, corpus = emb.get("method"), emb.get("corpus")
    text = _("{method} vectors").format(method=method) if method else _("Word vectors")
    if corpus:
        text = _("{vectors} trained on {corpus}").format(vectors=text, corpus=corpus)
    facts = []
    if emb.get("vocab_size") is not None:
        facts.append(ngettext("{n} word in the vocabulary", "{n} words in the vocabulary",
                              _count(emb["vocab_size"])).format(n=_fmt(emb["vocab_size"])))
    if emb.get("tokens") is not None:
        facts.append(ngettext("{n} token of text", "{n} tokens of text", _count(emb["tokens"])).format(n=_fmt(emb["tokens"])))
    if emb.get("train_s") is not None:
        facts.append(_("trained in {time}").format(time=_fmt_seconds(emb["train_s"])))
    rate = _as_float(emb.get("words_per_s"))
    if math.isfinite(rate):
        facts.append(_("{speed} words/s").format(speed=f"{rate:,.0f}"))
    if facts:
        text = _("{text}: {facts}").format(text=text, facts=_(", ").join(facts))
    body = ['<p class="lead">' + _e(_("{text}.").format(text=text)) + "</p>"]
    settings = _object(emb, "settings", "embeddings.json") or {}
    history = [r for r in _list(emb, "history", "embeddings.json") if isinstance(r, dict)]
    halves = []
    if settings:
        rows = [[_data(key), f'<span class="mono">{_e(_fmt(value))}</span>'] for key, value in settings.items()]
        halves.append("<div><h3>" + _("Settings") + f'</h3>{_table(["", ""], rows, "kv")}</div>')
    if history:
        rows = []
        for i, record in enumerate(history):
            speed = _as_float(record.get("words_per_s"))
            rows.append([_e(_fmt(record.get("epoch", i + 1))), _e(_fmt(_as_float(record.get("loss")))),
                         _e(_fmt_seconds(record.get("seconds"))), f"{speed:,.0f}" if math.isfinite(speed) else "—"])
        header = [_("epoch"), _("loss"), _("time"), _("words / s")]
        halves.append("<div><h3>" + _("Training") + '</h3><div class="scroll tall">'
                      f'{_table(header, rows, "numbers")}</div></div>')
    if halves:
        body.append(f'<div class="two">{"".join(halves)}</div>')
    analogies = _object(emb, "analogies", "embeddings.json")
    if analogies:
        body.append(_analogies(analogies))
    similarity = _object(emb, "similarity", "embeddings.json")
    if similarity:
        rho = _as_float(similarity.get("spearman"))
        text = (_("Word similarity: Spearman correlation {spearman}").format(spearman=f"{rho:.3f}") if math.isfinite(rho)
                else _("Word similarity: Spearman correlation unknown"))
        if similarity.get("covered") is not None and similarity.get("total") is not None:
            text = ngettext("{text} on {covered} of {total} rated word pair", "{text} on {covered} of {total} rated word pairs",
                            _count(similarity["total"])).format(text=text, covered=_fmt(similarity["covered"]),
                                                                total=_fmt(similarity["total"]))
        body.append("<h3>" + _("Similarity") + '</h3><p class="lead">' + _e(_("{text}.").format(text=text)) + "</p>")
    neighbours = _object(emb, "neighbours", "embeddings.json") or {}
    if neighbours:
        rows = []
        for word, near in neighbours.items():
            pairs = [p for p in near if isinstance(p, (list, tuple)) and len(p) == 2] if isinstance(near, list) else []
            cells = " · ".join(f'{_data(w)} <span class="sub">{_e(f"{_as_float(c):.2f}")}</span>' for w, c in pairs[:10])
            rows.append([f"<b>{_data(word)}</b>", cells or "—"])
        body.append("<h3>" + _("Nearest neighbours") + "</h3>"
                    + _table([_("word"), _("nearest words (cosine similarity)")], rows))
    projection = _object(emb, "projection", "embeddings.json")
    if projection:
        png = figures.embedding_projection(_list(projection, "words", "embeddings.json"),
                                           _list(projection, "xy", "embeddings.json"),
                                           projection.get("groups"), str(projection.get("method") or "pca"))
        body.append("<h3>" + _("Map") + "</h3>" + _img(png, _("two-dimensional map of word vectors, coloured by group")))
        tsne = str(projection.get("method", "")).lower().replace("-", "") == "tsne"
        body.append('<p class="aside">' + (
            _("t-SNE keeps near neighbours near but bends large distances: read the clusters, not the gaps between them.")
            if tsne else _("PCA keeps the two directions along which the vectors spread most: distances are honest "
                           "but much of the structure lives in the other dimensions.")) + "</p>")
    return _section("embeddings", _("Word embeddings"), how, "".join(body))


REPORT = KindReport("embeddings", files=("embeddings.json",), result_file="embeddings.json",
                    missing={"embeddings.json": N_("no analogies, neighbours or map of the word vectors")},
                    sections=(Section("embeddings", N_("Word embeddings"), _embeddings_section, lambda run: run.embeddings is not None, order=66),),
                    headline=_headline, facts=_facts)
register(Kind("embeddings", run, N_("word vectors (word2vec, GloVe) judged by analogies, word similarity and neighbours"),
              section="embeddings", config=EmbeddingsConfig, report=REPORT, order=60,
              smoke=("imdb-word2vec", ("limit=200", "embeddings.epochs=1", "embeddings.workers=1", "embeddings.dim=16")),
              smoke_needs_data=True))
