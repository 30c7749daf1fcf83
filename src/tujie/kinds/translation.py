"""The `translation` kind: a seq2seq model on sentence pairs, tested with sacreBLEU (book chapters 8-9).

Tokenizers are trained on the training pairs only; the model trains teacher-forced through its
own `train_step`; the best epoch's weights translate the test set greedily and with beam search.
Writes translation.json (BLEU, BLEU by source length, samples, attention) and the translator
(tokenizers and weights) that `tujie translate` loads.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Literal

from pydantic import Field

from .. import config as cfg
from .. import plots as figures
from .._io import write_json
from ..config import Strict
from ..i18n import N_
from ..report import KindReport, Section
from ..report.format import (
    _as_float,
    _e,
    _fmt,
    _fmt_seconds,
    _img,
    _list,
    _note,
    _object,
    _section,
    _table,
)
from ..report.run_files import RunFiles
from . import Kind, RunContext, register
from ._common import verbose_of


class TranslationConfig(Strict):
    """A translation run: the parallel corpus, its direction and filter, the tokenizers, decoding."""
    corpus: Literal["tatoeba", "multi30k"] = "tatoeba"
    direction: str = Field("fr-en", description="source-target language codes, e.g. fr-en or de-en")
    max_words: int | None = Field(10, ge=2, description="tatoeba: keep pairs shorter than this (the tutorial's filter)")
    prefixes: bool = Field(True, description="tatoeba: keep only English sides starting 'i am', 'he is', ... (the tutorial's)")
    tokenizer: Literal["word", "bpe"] = "word"
    min_freq: int = Field(1, ge=1)
    vocab_size: int | None = Field(None, ge=8)
    max_len: int = Field(50, ge=3, description="most tokens per sentence, specials included")
    beam: int = Field(5, ge=1, description="beam width for the test BLEU (greedy BLEU is reported too)")
    length_penalty: float = Field(0.6, ge=0.0, description="GNMT length-penalty alpha")


# -------------------------------------------------------------------------------------- run
def run(context: RunContext) -> dict:
    return _translation(context.config, None, context.run_dir, context.say)


def _translation(config, data, run_dir: Path, say) -> dict:
    """Train a seq2seq model on sentence pairs (teacher forcing, its own train_step); test it with sacreBLEU."""
    from .. import models
    from ..text import build_tokenizer
    from ..text.pairs import PairDataset
    from ..text.translation import Translator, bleu, encode_pairs, save_translator
    from ..train import (
        CSVLogger,
        LearningRateLogger,
        MetricsLogger,
        ModelCheckpoint,
        load_weights,
    )
    from ..train.builders import build_learner

    t = config.translation or cfg.TranslationConfig()
    d = config.data
    corpus = load_translation_corpus(config)
    if d.limit is not None:
        corpus.train = corpus.train[: d.limit]
        corpus.notes.append(f"limit={d.limit}: the first {len(corpus.train):,} training pairs.")
    for note in corpus.notes:
        say(f"Data: {note}")
    options = {"min_freq": t.min_freq, **({"vocab_size" if t.tokenizer == "bpe" else "max_size": t.vocab_size} if t.vocab_size else {})}
    src_tokenizer = build_tokenizer(t.tokenizer, **options).train(s for s, _ in corpus.train)  # training pairs only
    tgt_tokenizer = build_tokenizer(t.tokenizer, **options).train(g for _, g in corpus.train)
    say(f"Data: {corpus!r}; vocabularies {src_tokenizer.vocab_size:,} ({corpus.src_lang}) and "
        f"{tgt_tokenizer.vocab_size:,} ({corpus.tgt_lang}) tokens")
    train = PairDataset(*encode_pairs(corpus.train, src_tokenizer, tgt_tokenizer, t.max_len), corpus.train)
    val = PairDataset(*encode_pairs(corpus.val, src_tokenizer, tgt_tokenizer, t.max_len), corpus.val)

    model_args = {k: v for k, v in config.model.model_dump().items() if k != "name"}
    model_args.update(src_vocab_size=src_tokenizer.vocab_size, tgt_vocab_size=tgt_tokenizer.vocab_size)
    model = models.create(config.model.name, **model_args)
    checkpoint = ModelCheckpoint(run_dir, monitor="val_loss")
    callbacks = [checkpoint, MetricsLogger(run_dir / "metrics.jsonl"), CSVLogger(run_dir / "history.csv"),
                 LearningRateLogger(run_dir / "schedule.json")]
    learner = build_learner(config, model, callbacks)
    start = time.perf_counter()
    learner.fit(train, epochs=config.train.epochs, batch_size=config.train.batch_size, validation_data=val,
                verbose=verbose_of(say))
    train_s = time.perf_counter() - start
    if (run_dir / "best.safetensors").is_file():  # translate with the best validation epoch's weights
        model.load_state_dict(load_weights(run_dir / "best.safetensors"))
    model.eval()
    translator = Translator(model, src_tokenizer, tgt_tokenizer, src_lang=corpus.src_lang, tgt_lang=corpus.tgt_lang,
                            max_len=t.max_len, model_name=config.model.name, model_kwargs=model_args)
    save_translator(translator, run_dir)
    greedy = bleu(translator, corpus.test, beam=1)
    say(f"Test BLEU (greedy): {greedy['bleu']:.2f} on {greedy['count']:,} pairs ({greedy['sentences_per_s']:.0f} sentences/s)")
    beam = bleu(translator, corpus.test, beam=t.beam, length_penalty=t.length_penalty) if t.beam > 1 else greedy
    if t.beam > 1:
        say(f"Test BLEU (beam {t.beam}, length penalty {t.length_penalty}): {beam['bleu']:.2f} "
            f"({beam['sentences_per_s']:.0f} sentences/s)")
    shown = translator.translate([s for s, _ in corpus.test[:4]], beam=t.beam, length_penalty=t.length_penalty,
                                 return_attention=True)
    attention = [{"source": r.source, "translation": r.text, "source_tokens": r.source_tokens, "target_tokens": r.target_tokens,
                  "weights": None if r.attention is None else r.attention.tolist()} for r in shown]
    write_json(run_dir / "translation.json", {
        "corpus": corpus.name, "direction": corpus.direction, "notes": corpus.notes, "train_pairs": len(train),
        "test_pairs": len(corpus.test), "greedy": greedy, "beam": beam, "beam_width": t.beam,
        "length_penalty": t.length_penalty, "attention": attention, "train_s": train_s})
    test = {"bleu": beam["bleu"], "bleu_greedy": greedy["bleu"], "sentences_per_s": beam["sentences_per_s"]}
    return {"test": test, "results": {"test_bleu": beam["bleu"], "test_bleu_greedy": greedy["bleu"]},
            "epochs_done": learner.epoch, "best_epoch": checkpoint.best_epoch, "train_s": train_s}


def load_translation_corpus(config):
    """The parallel corpus a translation recipe names, with its direction and filter (all pairs, before data.limit)."""
    from ..text.parallel import ENG_PREFIXES, load_multi30k, load_tatoeba

    t = config.translation or cfg.TranslationConfig()
    if t.corpus == "tatoeba":
        return load_tatoeba(config.data.data_dir, direction=t.direction, max_words=t.max_words,
                            prefixes=ENG_PREFIXES if t.prefixes else None, seed=config.seed)
    return load_multi30k(config.data.data_dir, direction=t.direction)


# ----------------------------------------------------------------------------------- report



def _fmt_bleu(value) -> str:
    value = _as_float(value)
    return f"{value:.2f}" if math.isfinite(value) else "—"


def _decodings(translation: dict) -> list[tuple[str, dict]]:
    """[(name, result)] of greedy decoding and, when it was run, beam search."""
    greedy = _object(translation, "greedy", "translation.json")
    beam = _object(translation, "beam", "translation.json")
    if greedy is None and beam is None:
        raise ValueError("translation.json holds neither greedy nor beam results")
    width = beam.get("beam", translation.get("beam_width")) if beam else None
    decodings = [("greedy", greedy)] if greedy is not None else []
    if beam is not None and (greedy is None or (isinstance(width, int) and width > 1)):
        decodings.append((f"beam {width}" if isinstance(width, int) else "beam", beam))
    return decodings


def _translation_section(run: RunFiles) -> str:
    how = ("How well the model translates sentences it never saw. BLEU (0 to 100) measures how many of the "
           "translation's word sequences (one to four words long) also occur in the reference translation, with "
           "a penalty for translations that are too short: above 30 is usually understandable, below 10 mostly "
           "wrong. Greedy decoding writes the most probable word at each step; beam search keeps the few best "
           "partial translations and picks the best whole one. Long sentences are harder, hence the scores by "
           "source length. In the attention maps each row is a word the model wrote and each column a source "
           "word: a dark cell is where the model looked when it wrote that word, and a model that has learned "
           "to align the two languages draws a rough diagonal.")
    translation = run.translation
    decodings = _decodings(translation)
    width = translation.get("beam_width")
    scores = [f"{_fmt_bleu(result.get('bleu'))} with {'greedy decoding' if name == 'greedy' else 'beam search'}"
              for name, result in decodings]
    text = "BLEU " + " and ".join(scores)
    if len(decodings) > 1 and translation.get("length_penalty") is not None:
        text += f" (width {_fmt(width)}, length penalty {_fmt(translation['length_penalty'])})"
    count = decodings[0][1].get("count", translation.get("test_pairs"))
    if count is not None:
        text += f", on {_fmt(count)} test pairs"
    body = [f'<p class="lead">{_e(text + ".")}</p>']
    facts = [f"{translation[key]}" for key in ("corpus", "direction") if translation.get(key)]
    if translation.get("train_pairs") is not None:
        facts.append(f"{_fmt(translation['train_pairs'])} training pairs")
    if translation.get("train_s") is not None:
        facts.append(f"trained in {_fmt_seconds(translation['train_s'])}")
    if facts:
        body.append(f'<p class="aside">{_e(", ".join(facts))}.</p>')
    rows = []
    for name, result in decodings:
        bleu, unknown = result.get("bleu"), _as_float(result.get("unknown_rate"))
        rows.append([_e(name), f'<span class="num">{_fmt_bleu(bleu)}</span>',
                     _e(_fmt(_as_float(result.get("sentences_per_s")))),
                     f"{100 * unknown:.1f}%" if math.isfinite(unknown) else "—", _e(_fmt(result.get("truncated")))])
    body.append(_table(["decoding", "BLEU", "sentences / s", "unknown source words", "sources cut"], rows, "numbers"))
    signatures = list(dict.fromkeys(str(r["signature"]) for _, r in decodings if r.get("signature")))
    if signatures:
        body.append(f'<p class="aside small">sacreBLEU signature: '
                    + " · ".join(f"<code>{_e(s)}</code>" for s in signatures) + "</p>")
    by_length = {name: result["by_length"] for name, result in decodings if isinstance(result.get("by_length"), list)}
    if any(by_length.values()):
        from .. import plots as F

        body.append(_img(F.bleu_by_length(by_length), "BLEU by source sentence length"))
    body.append(_translation_samples(decodings))
    body.append(_attention_maps(translation))
    notes = _list(translation, "notes", "translation.json")
    if notes:
        items = "".join(f"<li>{_e(note)}</li>" for note in notes)
        body.append(f'<details><summary>About the data</summary><ul class="notes">{items}</ul></details>')
    return _section("translation", "Translation", how, "".join(body))


def _translation_samples(decodings: list[tuple[str, dict]]) -> str:
    """The first test sentences: source, reference and each decoding's translation."""
    columns = [(name, {str(s.get("source")): s.get("translation") for s in _list(result, "samples", "translation.json")
                       if isinstance(s, dict)}) for name, result in decodings]
    first = next((_list(result, "samples", "translation.json") for _, result in decodings if result.get("samples")), [])
    rows = []
    for sample in first[:10]:
        if not isinstance(sample, dict):
            continue
        source = str(sample.get("source"))
        rows.append([_e(source), _e(sample.get("reference", "—"))]
                    + [_e(translations.get(source, "—")) for _, translations in columns])
    if not rows:
        return ""
    header = ["source", "reference"] + [f"translation ({_e(name)})" for name, _ in columns]
    return "<h3>Sample translations</h3>" + f'<div class="scroll">{_table(header, rows, "samples")}</div>'


def _attention_maps(translation: dict) -> str:
    """Up to four attention heatmaps, or a note when the model has no attention."""
    items = _list(translation, "attention", "translation.json")
    drawn = [item for item in items if isinstance(item, dict) and item.get("weights") is not None][:4]
    if not drawn:
        return "<h3>Attention</h3>" + _note(
            "No attention maps: this model has no attention (a plain encoder-decoder squeezes the whole source "
            "sentence into one vector), or none were saved.")
    from ..text.translation import attention_heatmap

    cells = []
    for item in drawn:
        source, output = str(item.get("source", "")), str(item.get("translation", ""))
        try:
            png = attention_heatmap([figures.plain_text(t) for t in item["source_tokens"]],
                                    [figures.plain_text(t) for t in item["target_tokens"]], item["weights"])
        except Exception as error:  # one damaged example costs only its own map
            cells.append(_note(f"The attention of \u201c{_e(source)}\u201d could not be drawn "
                               f"({_e(type(error).__name__)}: {_e(error)}).", "warn"))
            continue
        cells.append(f'<figure class="attention">{_img(png, f"attention weights while translating {source!r}")}'
                     f"<figcaption>{_e(source)} → {_e(output)}</figcaption></figure>")
    return "<h3>Attention</h3>" + f'<div class="maps">{"".join(cells)}</div>'


REPORT = KindReport("translation", files=("translation.json",),
                    sections=(Section("translation", N_("Translation"), _translation_section, lambda run: run.translation is not None, order=65),))
register(Kind("translation", run, "a sequence-to-sequence translator on sentence pairs, tested with sacreBLEU",
              section="translation", config=TranslationConfig, report=REPORT, order=50))
