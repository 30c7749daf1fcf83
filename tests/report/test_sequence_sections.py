"""Tests for the report's sections of sequence and word runs: forecast, exploding-gradient demo,
translation, word embeddings, and the attention of a text classifier.

Each section appears when its file exists (and only then), draws its figure and tables, escapes
the text it takes from the run, and turns a malformed file into a note instead of a crash.
"""

from __future__ import annotations

import base64
import json
import math
import re

import pytest

from _browser import check_page
from test_report import _Page, _png_size, _section_text
from test_sections import _header, _nav, _rewrite_json

from tujie.kinds import build_report
from tujie import plots as figures

SEQUENCE_SECTION_IDS = ("forecast", "gradient-demo", "translation", "embeddings", "text-attention")
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


# ---------------------------------------------------------------------------------------
# Small fake files, in the formats of tujie.timeseries.forecast, tujie.kinds.translation,
# the embeddings run and the text runner.


def fake_forecast() -> dict:
    index = [2000.0 + i for i in range(60)]
    values = [50 + 40 * math.sin(2 * math.pi * i / 11) for i in range(60)]
    test_index = index[50:]
    truth = values[50:]

    def part(offset):
        return {"index": test_index, "pred": [v + offset for v in truth]}

    return {"series": "sunspots", "unit": "sunspot number", "period": 11, "frequency": "yearly",
            "notes": [f"A note with {SCRIPT} in it."], "index": index, "values": values,
            "train_end": 2039.0, "val_end": 2049.0, "split": {"train": 40, "val": 10, "test": 10},
            "input_len": 8, "horizon": 1, "steps": 10, "strategy": "recursive",
            "scaler": {"mean": 50.0, "std": 28.0, "fitted_on": "training span"},
            "one_step": part(2.0), "multi_step": part(5.0),
            "baselines": {"seasonal_naive": part(8.0), "last_value": part(20.0)},
            "baselines_one_step": {"seasonal_naive": part(8.0), "last_value": part(10.0)},
            "metrics": {"model_one_step": {"mae": 2.0, "rmse": 2.5}, "model_multi_step": {"mae": 5.0, "rmse": 6.0},
                        "seasonal_naive": {"mae": 8.0, "rmse": 9.0}, "last_value": {"mae": 20.0, "rmse": 22.0},
                        "seasonal_naive_one_step": {"mae": 8.0, "rmse": 9.0},
                        "last_value_one_step": {"mae": 10.0, "rmse": 11.0}},
            "validation_metrics": {"model_one_step": {"mae": 2.2, "rmse": 2.7}}}


def fake_gradient_demo() -> dict:
    return {"clip": 1.0, "settings": {"series": "sunspots", "seq_len": 200, "lr": 0.2},
            "unclipped": [1.0, 30.0, 4.0e3, 2.5e7, None], "clipped": [1.0, 3.0, 16.5, 2.0, 1.5],
            "unclipped_loss": [1.0, 2.0, 50.0, 1e9, None], "clipped_loss": [1.0, 0.8, 0.6, 0.5, 0.4],
            "diverged": {"unclipped": 5, "clipped": None},
            "epochs": {"unclipped": [{"epoch": 1, "loss": 1e9}], "clipped": [{"epoch": 1, "loss": 0.5}]}}


def fake_translation(attention: bool = True) -> dict:
    samples = [{"source": "je suis content .", "reference": "i am happy .", "translation": "i m happy ."},
               {"source": f"il dit {SCRIPT}", "reference": "he says so .", "translation": "he is ."}]

    def decoding(beam, bleu):
        return {"bleu": bleu, "signature": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",
                "count": 120, "samples": [dict(s, translation=s["translation"] + (" !" if beam > 1 else ""))
                                          for s in samples],
                "by_length": [{"bucket": "1-5", "bleu": bleu + 4, "count": 70},
                              {"bucket": "6-10", "bleu": bleu - 3, "count": 50}],
                "truncated": 0, "unknown_rate": 0.05, "sentences_per_s": 40.0, "beam": beam, "length_penalty": 0.6}

    maps = [{"source": "je suis content .", "translation": "i m happy .",
             "source_tokens": ["je", "suis", "content", ".", "<eos>"], "target_tokens": ["i", "m", "happy", ".", "<eos>"],
             "weights": [[0.7, 0.1, 0.1, 0.05, 0.05], [0.1, 0.7, 0.1, 0.05, 0.05], [0.05, 0.1, 0.75, 0.05, 0.05],
                         [0.05, 0.05, 0.1, 0.7, 0.1], [0.05, 0.05, 0.1, 0.1, 0.7]]},
            {"source": f"il dit {SCRIPT}", "translation": "he is .", "source_tokens": ["il", "dit", SCRIPT, "<eos>"],
             "target_tokens": ["he", "is", ".", "<eos>"],
             "weights": [[0.8, 0.1, 0.05, 0.05], [0.2, 0.6, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4], [0.1, 0.1, 0.2, 0.6]]}]
    if not attention:
        for item in maps:
            item["weights"] = None
    return {"corpus": "tatoeba", "direction": "fr-en", "notes": ["Tatoeba pairs."], "train_pairs": 2000,
            "test_pairs": 120, "greedy": decoding(1, 20.5), "beam": decoding(5, 22.25), "beam_width": 5,
            "length_penalty": 0.6, "attention": maps, "train_s": 95.0}


def fake_embeddings() -> dict:
    words = ["king", "queen", "man", "woman", "paris", "france", "rome", SCRIPT]
    return {"method": "skipgram", "corpus": "imdb",
            "settings": {"dim": 100, "window": 5, "negative": 5, "min_count": 5, "epochs": 2},
            "vocab_size": 30000, "tokens": 5_000_000, "train_s": 200.0, "words_per_s": 50000.0,
            "history": [{"epoch": 1, "loss": 3.2, "seconds": 100.0, "words_per_s": 49000.0},
                        {"epoch": 2, "loss": 2.8, "seconds": 100.0, "words_per_s": None}],
            "analogies": {"accuracy": 0.4, "coverage": 0.5, "correct": 40, "covered": 100, "total": 200,
                          "by_section": {"capital-common-countries": {"accuracy": 0.6, "correct": 30, "covered": 50,
                                                                      "total": 60},
                                         "family": {"accuracy": None, "correct": 0, "covered": 0, "total": 40},
                                         "gram3-comparative": {"accuracy": 0.2, "correct": 10, "covered": 50,
                                                               "total": 100}},
                          "examples": [{"question": ["man", "king", "woman"], "expected": "queen",
                                        "predicted": "queen", "correct": True},
                                       {"question": ["paris", "france", "rome"], "expected": "italy",
                                        "predicted": SCRIPT, "correct": False}]},
            "similarity": {"spearman": 0.512, "coverage": 0.9, "covered": 315, "total": 350},
            "neighbours": {"king": [["queen", 0.81], ["prince", 0.77]], SCRIPT: [["<b>x</b>", 0.5]]},
            "projection": {"method": "pca", "words": words, "xy": [[i * 0.3, (-1) ** i * i * 0.2] for i in range(8)],
                           "groups": ["royalty"] * 4 + ["places"] * 3 + ["odd"]}}


def fake_text_samples(attention: list | None = None) -> dict:
    wrong = [{"text": "not bad at all", "label": "positive", "predicted": "negative", "confidence": 0.93, "tokens": 4}]
    default = [{"tokens": ["not", "bad", "at", "all", SCRIPT], "weights": [0.4, 0.2, 0.1, 0.1, 0.2],
                "label": "positive", "predicted": "positive", "confidence": 0.88},
               {"tokens": ["dull", "and", "long"], "weights": [0.6, 0.1, 0.3],
                "label": "negative", "predicted": "positive", "confidence": 0.7}]
    return {"wrong": wrong, "attention": default if attention is None else attention}


FILES = {"forecast.json": fake_forecast, "gradient_demo.json": fake_gradient_demo,
         "translation.json": fake_translation, "embeddings.json": fake_embeddings,
         "text_samples.json": fake_text_samples}


def _write(run_dir, name, content):
    text = content if isinstance(content, str) else json.dumps(content)
    (run_dir / name).write_text(text, encoding="utf-8")
    return run_dir


def _build(run_dir) -> str:
    return build_report(run_dir).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sequence_report(tmp_path_factory):
    """(run_dir, html text) of a run holding every file of this module (plain images left out)."""
    from _fake_run import write_fake_run

    run_dir = write_fake_run(tmp_path_factory.mktemp("sequence") / "run", n_images=3, n_wrong=0,
                             skip=("samples.safetensors",))
    for name, make in FILES.items():
        _write(run_dir, name, make())
    return run_dir, _build(run_dir)


# ---------------------------------------------------------------------------------------
# The whole page.


def test_every_sequence_section_appears_in_the_table_of_contents(sequence_report):
    _, page = sequence_report
    ids, nav = _Page(page).ids, _nav(page)
    for anchor in SEQUENCE_SECTION_IDS:
        assert anchor in ids and anchor in nav, anchor
        section = _section_text(page, anchor)
        assert '<p class="how">' in section and "could not be drawn" not in section, anchor
    assert "could not be read" not in page
    assert nav == [a for a in nav if a in ids]  # the table of contents lists exactly what is there


def test_a_plain_run_has_none_of_the_sequence_sections(make_run):
    page = _build(make_run(n_images=3, n_wrong=1))
    assert not _Page(page).ids & set(SEQUENCE_SECTION_IDS)


def test_every_image_of_the_sequence_sections_is_a_decodable_png(sequence_report):
    _, page = sequence_report
    counts = {"forecast": 1, "gradient-demo": 1, "translation": 3, "embeddings": 1, "text-attention": 0}
    for anchor, expected in counts.items():
        images = _Page(_section_text(page, anchor)).images
        assert len(images) == expected, anchor
        for attrs in images:
            width, height = _png_size(base64.b64decode(attrs["src"].split(",", 1)[1], validate=True))
            assert width > 150 and height > 150 and attrs.get("alt")


def test_text_from_the_new_files_is_escaped(sequence_report):
    _, page = sequence_report
    assert "<script" not in page.lower() and "<b>x</b>" not in page
    for anchor in ("forecast", "translation", "embeddings", "text-attention"):
        assert ESCAPED in _section_text(page, anchor), anchor


# ---------------------------------------------------------------------------------------
# Forecast and the exploding-gradient demo.


def test_forecast_compares_the_model_with_the_better_baseline(sequence_report):
    _, page = sequence_report
    section = _section_text(page, "forecast")
    assert "One step ahead, the model&#x27;s MAE is 2 against 8 for seasonal naive, the better baseline: 75% lower." \
        in section
    assert "10 steps ahead, the model&#x27;s MAE is 5 against 8 for seasonal naive" in section
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", section)
    assert len(rows) == 1 + 3 and "<b>model</b>" in rows[1] and 'class="highlight"' in section
    assert re.findall(r"<td>([^<]*)</td>", rows[3]) == ["last value", "10", "11", "20", "22"]
    assert "in sunspot number" in section and "40 training, 10 validation and 10 test steps (yearly)" in section


def test_a_model_worse_than_a_baseline_is_told_so(make_run):
    forecast = fake_forecast()
    forecast["metrics"]["model_multi_step"]["mae"] = 10.0
    section = _section_text(_build(_write(make_run(skip=("samples.safetensors",)), "forecast.json", forecast)),
                            "forecast")
    assert "10 steps ahead, the model&#x27;s MAE is 10 against 8 for seasonal naive, the better baseline: 25% " \
           "higher, so the model does not beat it." in section


def test_gradient_demo_caption_gives_the_peaks(sequence_report):
    _, page = sequence_report
    section = _section_text(page, "gradient-demo")
    assert ("Without clipping the largest finite gradient norm was 2.5e+07 and training broke down (infinite norm "
            "or loss) at step 5; with clip_grad_norm = 1 the norm peaked at 16.5 and all 5 steps trained.") in section
    assert "seq len 200" in section


# ---------------------------------------------------------------------------------------
# Translation.


def test_translation_scores_samples_and_attention_maps(sequence_report):
    _, page = sequence_report
    section = _section_text(page, "translation")
    assert "BLEU 20.50 with greedy decoding and 22.25 with beam search (width 5, length penalty 0.6), on 120 " \
           "test pairs." in section
    assert "sacreBLEU signature: <code>nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0</code>" in section
    assert section.count("<code>nrefs") == 1  # the same signature is not repeated
    samples = section[section.index("Sample translations"):]
    assert "<th>translation (greedy)</th><th>translation (beam 5)</th>" in samples
    # sentences are data: shown as written, marked so a translation of the page leaves them alone
    assert '<td><span class="data">i m happy .</span></td><td><span class="data">i m happy . !</span></td>' in samples
    assert section.count('<figure class="attention">') == 2
    assert _Page(section).images[0]["alt"] == "BLEU by source sentence length"


def test_a_translation_without_attention_says_so(make_run):
    section = _section_text(_build(_write(make_run(skip=("samples.safetensors",)), "translation.json",
                                          fake_translation(attention=False))), "translation")
    assert "this model has no attention" in section and "<figure" not in section
    assert len(_Page(section).images) == 1  # BLEU by length is still drawn


def test_greedy_only_translation_has_one_row(make_run):
    translation = fake_translation()
    translation["beam_width"] = 1
    translation["beam"] = translation["greedy"]
    section = _section_text(_build(_write(make_run(skip=("samples.safetensors",)), "translation.json", translation)),
                            "translation")
    assert "<td>beam" not in section and "translation (beam" not in section
    assert "BLEU 20.50 with greedy decoding, on 120 test pairs." in section


def test_one_damaged_attention_map_costs_only_itself(make_run):
    translation = fake_translation()
    translation["attention"][0]["weights"] = [[1.0, 0.0]]  # not (targets, sources)
    section = _section_text(_build(_write(make_run(skip=("samples.safetensors",)), "translation.json", translation)),
                            "translation")
    assert "could not be drawn (DataError" in section and section.count('<figure class="attention">') == 1


# ---------------------------------------------------------------------------------------
# Word embeddings.


def test_embeddings_section_shows_training_analogies_similarity_neighbours_and_map(sequence_report):
    _, page = sequence_report
    section = _section_text(page, "embeddings")
    assert "skipgram vectors trained on imdb: 30,000 words in the vocabulary, 5,000,000 tokens of text" in section
    assert "<h3>Settings</h3>" in section and "<h3>Training</h3>" in section and "49,000" in section
    assert ("Analogy accuracy 40.00% on the 100 of 200 questions whose words are all in the vocabulary "
            "(coverage 50%).") in section
    # two semantic sections, one syntactic; their subtotals, then the whole set in the footer
    order = [section.index(f'<td><span class="data">{name}</span></td>') for name in
             ("capital-common-countries", "family", "gram3-comparative")]
    assert order == sorted(order)
    assert re.search(r'<tr class="highlight"><td>all semantic</td><td><span class="meter"[^>]*>60.00%</span></td>'
                     r"<td>30</td><td>50</td><td>100</td></tr>", section)
    assert "<td>all syntactic</td>" in section and "<tfoot><tr><td>all</td>" in section
    assert "Spearman correlation 0.512 on 315 of 350 rated word pairs" in section
    assert '<b><span class="data">king</span></b>' in section
    assert '<span class="data">queen</span> <span class="sub">0.81</span>' in section
    assert "man : king :: woman : ?" in section and f'<span class="bad-text"><span class="data">{ESCAPED}</span></span>' in section
    assert "PCA keeps the two directions" in section


def test_embeddings_fill_the_header(sequence_report):
    _, page = sequence_report
    assert "skipgram vectors on imdb, 30,000 words" in _header(page)


def test_a_run_of_word_vectors_alone_is_a_run(make_run):
    run_dir = make_run(skip=("config.yaml", "metrics.jsonl", "summary.json", "evaluation.json", "samples.safetensors"))
    page = _build(_write(run_dir, "embeddings.json", fake_embeddings()))
    assert "embeddings" in _Page(page).ids


def test_an_embeddings_run_does_not_miss_the_files_of_a_trained_classifier(make_run):
    run_dir = make_run(summary_overrides={"kind": "embeddings", "test": None, "model": None},
                       skip=("metrics.jsonl", "evaluation.json", "samples.safetensors"))
    page = _build(_write(run_dir, "embeddings.json", fake_embeddings()))
    ids = _Page(page).ids
    assert "embeddings" in ids and not ids & {"curves", "test", "confusion", "per-class", "model"}
    assert "is missing" not in _header(page)
    assert "40.00%" in _header(page) and "analogy accuracy (50% of the questions covered)" in _header(page)
    assert "0.512" in _header(page)


def test_embeddings_with_only_the_required_keys(make_run):
    minimal = {"method": "glove", "corpus": "imdb", "vocab_size": 10, "tokens": 100, "train_s": 1.0,
               "words_per_s": None, "history": [], "analogies": None, "similarity": None, "neighbours": {},
               "projection": None}
    section = _section_text(_build(_write(make_run(skip=("samples.safetensors",)), "embeddings.json", minimal)),
                            "embeddings")
    assert "glove vectors trained on imdb: 10 words in the vocabulary, 100 tokens of text, trained in 1 s." in section
    assert "could not be drawn" not in section and "<img" not in section


# ---------------------------------------------------------------------------------------
# Attention over a review's words.


def test_attention_over_words_shades_each_word_by_its_weight(sequence_report):
    _, page = sequence_report
    section = _section_text(page, "text-attention")
    assert section.count('<div class="textcard">') == 2
    # the heaviest word is fully coloured, the others in proportion to their weight
    assert '<span style="background: rgba(245, 158, 11, 1.000)" title="weight 0.4">not</span>' in section
    assert '<span style="background: rgba(245, 158, 11, 0.500)" title="weight 0.2">bad</span>' in section
    assert f'title="weight 0.2">{ESCAPED}</span>' in section
    assert '<span class="ok-text">predicted positive</span> (88.00% sure)' in section
    assert '<span class="bad-text">predicted positive</span> (70.00% sure)' in section
    assert "most weight on <b>dull</b> (0.6)" in section


def test_attention_section_needs_a_non_empty_list(make_run):
    run_dir = make_run(skip=("samples.safetensors",))
    for samples in ({"wrong": []}, fake_text_samples(attention=[])):
        page = _build(_write(run_dir, "text_samples.json", samples))
        assert "text-mistakes" in _Page(page).ids and "text-attention" not in _Page(page).ids


def test_attention_section_shows_at_most_four_reviews(make_run):
    item = {"tokens": ["fine"], "weights": [1.0], "label": "positive", "predicted": "positive", "confidence": 0.6}
    page = _build(_write(make_run(skip=("samples.safetensors",)), "text_samples.json", fake_text_samples([item] * 6)))
    assert _section_text(page, "text-attention").count('<div class="textcard">') == 4


# ---------------------------------------------------------------------------------------
# Malformed files: a note, never a crash.

_BROKEN = {
    "forecast.json": ({"metrics": "none"}, "forecast"),
    "gradient_demo.json": ({"clip": 1.0, "clipped": 3}, "gradient-demo"),
    "translation.json": ({"greedy": "fast"}, "translation"),
    "embeddings.json": ({"method": "cbow", "projection": {"words": ["a", "b"], "xy": [[0, 1]]}}, "embeddings"),
    "text_samples.json": (fake_text_samples([{"tokens": ["a", "b"], "weights": [1.0]}]), "text-attention"),
}


@pytest.mark.parametrize("name", list(_BROKEN))
def test_a_malformed_file_costs_only_its_section(make_run, name):
    content, anchor = _BROKEN[name]
    page = _build(_write(make_run(skip=("samples.safetensors",)), name, content))
    assert "This section could not be drawn" in _section_text(page, anchor)
    assert anchor in _nav(page) and {"config", "run", "curves"} <= _Page(page).ids


@pytest.mark.parametrize("name", ["forecast.json", "gradient_demo.json", "translation.json", "embeddings.json"])
def test_a_new_file_that_is_not_json_is_named_in_the_header(make_run, name):
    page = _build(_write(make_run(skip=("samples.safetensors",)), name, "{not json"))
    assert f"{name} could not be read" in _header(page)
    assert not _Page(page).ids & set(SEQUENCE_SECTION_IDS)


def test_a_malformed_headline_file_keeps_the_header(make_run):
    run_dir = make_run(summary_overrides={"kind": "embeddings"}, skip=("samples.safetensors",))
    page = _build(_write(run_dir, "embeddings.json", {"analogies": [1, 2]}))
    assert "<h1>mnist-mlp " in page
    assert "This section could not be drawn" in _section_text(page, "embeddings")


def test_rewritten_sequence_files_are_redrawn(make_run):
    run_dir = _write(make_run(skip=("samples.safetensors",)), "forecast.json", fake_forecast())
    _rewrite_json(run_dir / "forecast.json", lambda f: f.update(unit="wolf numbers"))
    assert "in wolf numbers" in _section_text(_build(run_dir), "forecast")


# ---------------------------------------------------------------------------------------
# The figures.


def test_bleu_by_length_groups_the_decodings():
    png = figures.bleu_by_length({"greedy": fake_translation()["greedy"]["by_length"],
                                  "beam 5": [{"bucket": "6-10", "bleu": 19.0, "count": 50}]})
    assert _png_size(png)[0] > 300
    with pytest.raises(ValueError, match="finite BLEU"):
        figures.bleu_by_length({"greedy": [{"bucket": "1-5", "bleu": None, "count": 3}]})


def test_embedding_projection_checks_its_points():
    projection = fake_embeddings()["projection"]
    png = figures.embedding_projection(projection["words"] + ["$5", "$"], projection["xy"] + [[1, 1], [2, 2]],
                                       projection["groups"] + ["money", "money"], "tsne")
    assert _png_size(png)[0] > 300
    with pytest.raises(ValueError, match="one point"):
        figures.embedding_projection(["a", "b"], [[0, 1]])
    with pytest.raises(ValueError, match="finite coordinates"):
        figures.embedding_projection(["a"], [[None, 1]])


# ---------------------------------------------------------------------------------------
# In a browser.


@pytest.mark.browser
def test_sequence_sections_render_in_chromium(sequence_report, chromium, tmp_path):
    run_dir, page = sequence_report
    result = check_page(run_dir / "report.html", tmp_path / "browser", chromium)
    assert result.images == page.count("<img ")
    assert result.broken == [], f"images that did not load: {result.broken}"
    assert result.errors == [] and result.console == [], (result.errors, result.console)
