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

from .. import plots as figures
from .._io import write_json
from ..config import Strict
from ..i18n import N_, _, ngettext
from ..report import KindReport, Section
from ..report.format import _as_float, _data, _e, _fmt, _fmt_seconds, _img, _list, _note, _object, _section, _table
from ..report.run_files import RunFiles
from ..train.summary import fit_timings, model_table
from ..utils import environment
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
    from ..train import CSVLogger, LearningRateLogger, MetricsLogger, ModelCheckpoint, load_weights
    from ..train.builders import build_learner

    t = config.translation or TranslationConfig()
    d = config.data
    corpus = load_translation_corpus(config)
    if d.limit is not None:
        corpus.train = corpus.train[: d.limit]
        corpus.notes.append(ngettext("limit={limit}: the first {n} training pair.", "limit={limit}: the first {n} training pairs.",
                                     len(corpus.train)).format(limit=d.limit, n=f"{len(corpus.train):,}"))
    for note in corpus.notes:
        say(_("Data: {note}").format(note=note))
    options = {"min_freq": t.min_freq, **({"vocab_size" if t.tokenizer == "bpe" else "max_size": t.vocab_size} if t.vocab_size else {})}
    src_tokenizer = build_tokenizer(t.tokenizer, **options).train(s for s, _ in corpus.train)  # training pairs only
    tgt_tokenizer = build_tokenizer(t.tokenizer, **options).train(g for _, g in corpus.train)
    say(_("Data: {corpus}; vocabularies {src_size} ({src_lang}) and {tgt_size} ({tgt_lang}) tokens").format(
        corpus=repr(corpus), src_size=f"{src_tokenizer.vocab_size:,}", src_lang=corpus.src_lang,
        tgt_size=f"{tgt_tokenizer.vocab_size:,}", tgt_lang=corpus.tgt_lang))
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
    say(ngettext("Test BLEU (greedy): {bleu} on {count} pair ({speed} sentences/s)",
                 "Test BLEU (greedy): {bleu} on {count} pairs ({speed} sentences/s)", greedy["count"]).format(
        bleu=f"{greedy['bleu']:.2f}", count=f"{greedy['count']:,}", speed=f"{greedy['sentences_per_s']:.0f}"))
    beam = bleu(translator, corpus.test, beam=t.beam, length_penalty=t.length_penalty) if t.beam > 1 else greedy
    if t.beam > 1:
        say(_("Test BLEU (beam {width}, length penalty {penalty}): {bleu} ({speed} sentences/s)").format(
            width=t.beam, penalty=t.length_penalty, bleu=f"{beam['bleu']:.2f}", speed=f"{beam['sentences_per_s']:.0f}"))
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
            "epochs_done": learner.epoch, "best_epoch": checkpoint.best_epoch, "monitor": "val_loss", "train_s": train_s,
            # the shared sections of a trained model: its layer table and the time each epoch took
            "model": model_table(learner), "timings": fit_timings(learner),
            "environment": {**environment(), "device": str(learner.device)}}


def load_translation_corpus(config):
    """The parallel corpus a translation recipe names, with its direction and filter (all pairs, before data.limit)."""
    from ..text.parallel import ENG_PREFIXES, load_multi30k, load_tatoeba

    t = config.translation or TranslationConfig()
    if t.corpus == "tatoeba":
        return load_tatoeba(config.data.data_dir, direction=t.direction, max_words=t.max_words,
                            prefixes=ENG_PREFIXES if t.prefixes else None, seed=config.seed)
    return load_multi30k(config.data.data_dir, direction=t.direction)


# ----------------------------------------------------------------------------------- report
def _count(value) -> int:
    """A count for ngettext: a whole number as it is, anything else read as plural."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 2


def _decoding_label(name: str, translate=_) -> str:
    """A decoding's name as the reader reads it: "greedy", "beam 5", "beam" (the names stay English in the data).

    `translate` is `_` for the page, `figure_label` for a figure (Chinese only where a CJK font can draw it).
    """
    if name == "greedy":
        return translate(N_("greedy"))
    if name.startswith("beam "):
        return translate(N_("beam {width}")).format(width=name[len("beam "):])
    return translate(N_("beam")) if name == "beam" else name


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
    how = _("How well the model translates sentences it never saw. BLEU (0 to 100) measures how many of the "
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
    scores = [(_("{bleu} with greedy decoding") if name == "greedy" else _("{bleu} with beam search")).format(
        bleu=_fmt_bleu(result.get("bleu"))) for name, result in decodings]
    joined = scores[0]
    for score in scores[1:]:
        joined = _("{first} and {second}").format(first=joined, second=score)
    text = _("BLEU {scores}").format(scores=joined)
    if len(decodings) > 1 and translation.get("length_penalty") is not None:
        text = _("{text} (width {width}, length penalty {penalty})").format(
            text=text, width=_fmt(width), penalty=_fmt(translation["length_penalty"]))
    count = decodings[0][1].get("count", translation.get("test_pairs"))
    if count is not None:
        text = ngettext("{text}, on {n} test pair", "{text}, on {n} test pairs", _count(count)).format(text=text, n=_fmt(count))
    body = ['<p class="lead">' + _e(_("{text}.").format(text=text)) + "</p>"]
    facts = [f"{translation[key]}" for key in ("corpus", "direction") if translation.get(key)]
    if translation.get("train_pairs") is not None:
        facts.append(ngettext("{n} training pair", "{n} training pairs", _count(translation["train_pairs"])).format(
            n=_fmt(translation["train_pairs"])))
    if translation.get("train_s") is not None:
        facts.append(_("trained in {time}").format(time=_fmt_seconds(translation["train_s"])))
    if facts:
        body.append('<p class="aside">' + _e(_("{text}.").format(text=_(", ").join(facts))) + "</p>")
    rows = []
    for name, result in decodings:
        bleu, unknown = result.get("bleu"), _as_float(result.get("unknown_rate"))
        rows.append([_e(_decoding_label(name)), f'<span class="num">{_fmt_bleu(bleu)}</span>',
                     _e(_fmt(_as_float(result.get("sentences_per_s")))),
                     f"{100 * unknown:.1f}%" if math.isfinite(unknown) else "—", _e(_fmt(result.get("truncated")))])
    body.append(_table([_("decoding"), "BLEU", _("sentences / s"), _("unknown source words"), _("sources cut")], rows,
                       "numbers"))
    signatures = list(dict.fromkeys(str(r["signature"]) for _, r in decodings if r.get("signature")))
    if signatures:
        body.append('<p class="aside small">' + _("sacreBLEU signature: {signatures}").format(
            signatures=" · ".join(f"<code>{_e(s)}</code>" for s in signatures)) + "</p>")
    by_length = {name: result["by_length"] for name, result in decodings if isinstance(result.get("by_length"), list)}
    if any(by_length.values()):
        from .. import plots as F

        by_length = {_decoding_label(name, F.figure_label): buckets for name, buckets in by_length.items()}

        body.append(_img(F.bleu_by_length(by_length), _("BLEU by source sentence length")))
    body.append(_translation_samples(decodings))
    body.append(_attention_maps(translation))
    notes = _list(translation, "notes", "translation.json")
    if notes:
        items = "".join(f"<li>{_data(note)}</li>" for note in notes)  # recorded by the run, in its language
        body.append("<details><summary>" + _("About the data") + f'</summary><ul class="notes">{items}</ul></details>')
    return _section("translation", _("Translation"), how, "".join(body))


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
        rows.append([_data(source), _data(sample.get("reference", "—"))]
                    + [_data(translations.get(source, "—")) for _, translations in columns])
    if not rows:
        return ""
    header = [_("source"), _("reference")] + [_("translation ({decoding})").format(decoding=_e(_decoding_label(name)))
                                              for name, _translations in columns]
    return "<h3>" + _("Sample translations") + f'</h3><div class="scroll">{_table(header, rows, "samples")}</div>'


def _attention_maps(translation: dict) -> str:
    """Up to four attention heatmaps, or a note when the model has no attention."""
    items = _list(translation, "attention", "translation.json")
    drawn = [item for item in items if isinstance(item, dict) and item.get("weights") is not None][:4]
    if not drawn:
        return "<h3>" + _("Attention") + "</h3>" + _note(
            _("No attention maps: this model has no attention (a plain encoder-decoder squeezes the whole source "
              "sentence into one vector), or none were saved."))
    from ..text.translation import attention_heatmap

    cells = []
    for item in drawn:
        source, output = str(item.get("source", "")), str(item.get("translation", ""))
        try:
            png = attention_heatmap([figures.plain_text(t) for t in item["source_tokens"]],
                                    [figures.plain_text(t) for t in item["target_tokens"]], item["weights"])
        except Exception as error:  # one damaged example costs only its own map
            cells.append(_note(_("The attention of \u201c{source}\u201d could not be drawn ({error}).").format(
                source=_e(source), error=f"{_e(type(error).__name__)}: {_e(error)}"), "warn"))
            continue
        alt = _("attention weights while translating {source}").format(source=repr(source))
        cells.append(f'<figure class="attention">{_img(png, alt)}'
                     f"<figcaption>{_e(source)} → {_e(output)}</figcaption></figure>")
    return "<h3>" + _("Attention") + f'</h3><div class="maps">{"".join(cells)}</div>'


REPORT = KindReport("translation", files=("translation.json",),
                    sections=(Section("translation", N_("Translation"), _translation_section, lambda run: run.translation is not None, order=65),))
register(Kind("translation", run, N_("a sequence-to-sequence translator on sentence pairs, tested with sacreBLEU"),
              section="translation", config=TranslationConfig, report=REPORT, order=50,
              smoke=("tatoeba-fr-en-attention", ("limit=300", "epochs=1", "model.embed_dim=16", "model.hidden_size=16")),
              smoke_needs_data=True))
