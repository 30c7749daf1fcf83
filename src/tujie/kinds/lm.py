"""The `lm` kind: a language model trained from zero on Tang poems or IMDB reviews, and what it writes (chapters 9, 13).

1. **Corpus** (`lm.corpus`): the five- or seven-character quatrains of the Tang poems, both, every poem, or
   IMDB's review texts; split by poem or review (seeded); a character tokenizer (poems) or BPE (reviews)
   trained on the training part (`tujie.lm.runs.build_corpus`). Poems are one per line, so a newline
   starts and ends a poem.
2. **Train** the recipe's model (`gpt` or `char_lstm`, the `model:` section) with `tujie.lm.train_lm`:
   AdamW, warm-up and cosine decay, for `lm.steps` or until `lm.max_seconds`; validation loss in nats
   per character, bits per character and perplexity at every point; samples at several temperatures
   every `sample_every` steps.
3. **Write quatrains**: `form_samples` poems at `form_temperature`, each prompted with the first line of
   a held-out quatrain: the share that keeps the form (four lines of five characters, ，。，。), and how
   many generated lines the training poems already hold verbatim (memorisation).
4. **Report** the curves, the samples over training, the form and memorisation, and the attention of one
   generated line (a GPT's heads, averaged per layer).

Writes lm.json, model.safetensors, lm_model.json and tokenizer.json (`tujie generate RUN_DIR "床前明月光"`).

Example:
    >>> from tujie import kinds
    >>> kinds.get("lm").section
    'lm'
"""

from __future__ import annotations

import time

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..errors import ConfigError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _img, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register

_ANCHOR_NANOGPT = 1.88  # nanoGPT's "baby GPT" on character-level Shakespeare, validation nats per character on a CPU


class LMConfig(Strict):
    corpus: str = Field("poetry-quatrains", description="poetry-5, poetry-7, poetry-quatrains, poetry-all or imdb")
    tokenizer: str = Field("char", description="char (a character per token: Chinese needs no word splitting) or bpe")
    vocab_size: Int = Field(8000, ge=16, description="BPE's target vocabulary (tokenizer: bpe)")
    simplified: bool = Field(False, description="train on the poems in simplified characters (OpenCC t2s)")
    validation: Float = Field(0.1, gt=0.0, lt=1.0, description="the share of poems (reviews) held out")
    poem_files: Int | None = Field(None, ge=1, description="read only the first N of the 58 poem files (quick runs)")
    documents: Int | None = Field(None, ge=2, description="imdb: keep N reviews of the 50,000")
    steps: Int = Field(3000, ge=1, description="optimizer steps (the most: max_seconds may stop sooner)")
    batch_size: Int = Field(32, ge=1)
    block_size: Int = Field(64, ge=2, description="tokens per training window (and a GPT's context)")
    lr: Float = Field(1e-3, gt=0.0)
    warmup: Int = Field(100, ge=0)
    weight_decay: Float = Field(0.1, ge=0.0)
    max_seconds: Float | None = Field(None, gt=0.0, description="stop training at this wall time (equal-time comparisons)")
    eval_every: Int = Field(250, ge=1)
    eval_batches: Int = Field(20, ge=1, description="batches of fixed validation windows per point")
    sample_every: Int = Field(1000, ge=1)
    temperatures: list[Float] = Field([0.5, 0.8, 1.0], min_length=1)
    samples_per_temperature: Int = Field(2, ge=1)
    max_new: Int = Field(64, ge=1, description="tokens per sample")
    top_k: Int | None = Field(None, ge=1)
    form_samples: Int = Field(100, ge=0, description="poems written for the form and memorisation check (0: none)")
    form_temperature: Float = Field(0.8, gt=0.0)


def run(context: RunContext) -> dict:
    """Build the corpus, train, write samples, check the quatrains' form and memorisation; write lm.json."""
    from ..lm.runs import build_corpus, save_run
    from ..lm.train import train_lm
    from ..models import create

    config, say = context.config, context.say
    section = _checked(config)
    started = time.perf_counter()
    corpus = build_corpus(section.corpus, tokenizer=section.tokenizer, vocab_size=section.vocab_size,
                          simplified=section.simplified, validation=section.validation, seed=config.seed,
                          data_dir=config.data.data_dir, poem_files=section.poem_files, documents=section.documents)
    run_dir = context.run_dir
    for note in corpus.notes:
        say(_("Data: {note}").format(note=note))
    context.seed()
    options = dict(config.model.model_extra or {})
    if config.model.name == "gpt":
        options["block_size"] = section.block_size
    model = create(config.model.name, vocab_size=corpus.tokenizer.vocab_size, **options)
    params = {"total": model.num_parameters(exclude_embeddings=False), "non_embedding": model.num_parameters()}
    say(_("Training {model} ({params} parameters) on {tokens} tokens of {corpus}").format(
        model=config.model.name, params=f"{params['total']:,}", tokens=f"{len(corpus.train_ids):,}", corpus=corpus.name))
    prompts = _sample_prompts(corpus)
    result = train_lm(model, corpus.train_ids, corpus.val_ids, steps=section.steps, batch_size=section.batch_size,
                      block_size=section.block_size, lr=section.lr, warmup=section.warmup, weight_decay=section.weight_decay,
                      eval_every=section.eval_every, eval_batches=section.eval_batches, sample_every=section.sample_every,
                      sample_fn=lambda step: _samples(model, corpus, section, prompts, config.seed + step),
                      seed=config.seed, say=say, max_seconds=section.max_seconds)
    save_run(run_dir, model, corpus.tokenizer, name=config.model.name, layout=corpus.layout, simplified=corpus.simplified)
    form = _form_check(model, corpus, section, config.seed) if corpus.layout == "lines" and section.form_samples else None
    attention = _attention(model, corpus, form, prompts, result["samples"])
    write_json(run_dir / "lm.json", {
        "corpus": {"name": corpus.name, "layout": corpus.layout, "train_texts": len(corpus.train_texts),
                   "val_texts": len(corpus.val_texts), "train_tokens": len(corpus.train_ids), "val_tokens": len(corpus.val_ids),
                   "tokenizer": section.tokenizer, "vocab_size": corpus.tokenizer.vocab_size, "simplified": corpus.simplified},
        "model": {"name": config.model.name, "config": model.config, "parameters": params},
        "training": {k: result[k] for k in ("steps", "tokens", "seconds", "train_seconds", "tokens_per_second", "stopped")},
        "settings": {"batch_size": section.batch_size, "block_size": section.block_size, "lr": section.lr,
                     "max_seconds": section.max_seconds, "temperatures": section.temperatures},
        "history": result["history"], "samples": result["samples"], "form": form, "attention": attention})
    results = {"val_loss": result["val_loss"], "val_bpc": result["val_bpc"], "val_ppl": result["val_ppl"],
               "lm_tokens_per_second": result["tokens_per_second"], "lm_parameters": params["total"]}
    if form:
        results.update(lm_form_share=form["share"], lm_memorised_share=form["memorised_share"])
    say(_("Validation loss {loss:.3f} nats per token ({bpc:.2f} bits, perplexity {ppl:.1f})").format(
        loss=result["val_loss"], bpc=result["val_bpc"], ppl=result["val_ppl"]))
    return {"results": results, "timings": {"train_s": result["seconds"], "total_s": time.perf_counter() - started}}


def _checked(config) -> LMConfig:
    from ..lm.runs import CORPORA

    section = config.lm or LMConfig()
    problems = [f"lm.corpus={section.corpus!r}"] if section.corpus not in CORPORA else []
    problems += [f"lm.tokenizer={section.tokenizer!r}"] if section.tokenizer not in ("char", "bpe") else []
    problems += [f"model.name={config.model.name!r}"] if config.model.name not in ("gpt", "char_lstm") else []
    if problems:
        raise ConfigError("The lm section does not describe a run tujie can make.",
                          expected=f"lm.corpus among {', '.join(CORPORA)}; lm.tokenizer char or bpe; model.name gpt or char_lstm",
                          received=", ".join(problems), fix="Correct the listed keys (tang-poetry-gpt is a working recipe).")
    return section


def _sample_prompts(corpus) -> list[str]:
    """The prompts of the samples over training: the first line of a held-out poem, and nothing at all."""
    if corpus.layout == "lines":
        first = corpus.val_texts[0].text
        cut = first.find("，")
        return [first[:cut + 1] if 0 < cut <= 8 else first[:6], ""]
    return ["This movie", ""]


def _samples(model, corpus, section, prompts, seed) -> dict:
    """`samples_per_temperature` continuations of each prompt at each temperature."""
    from ..lm.runs import continue_prompts

    repeated = [p for p in prompts for _i in range(section.samples_per_temperature)]
    rows = []
    for n, t in enumerate(section.temperatures):
        texts = continue_prompts(model, corpus.tokenizer, corpus.layout, repeated, max_new=section.max_new, temperature=t,
                                 top_k=section.top_k, seed=seed + 7919 * n)
        rows.append({"temperature": t, "texts": [list(pair) for pair in zip(repeated, texts)]})
    return {"by_temperature": rows}


def _form_check(model, corpus, section, seed) -> dict | None:
    """Quatrains written from the first lines of held-out quatrains: the share that keeps the form, and memorisation."""
    from ..lm.poetry import keeps_form, memorised_lines
    from ..lm.runs import continue_prompts

    n = corpus.chars
    held_out = [p.text for p in corpus.val_texts if keeps_form(p.text, n)]
    if not held_out:
        return None
    prompts = [held_out[i % len(held_out)][:n + 1] for i in range(section.form_samples)]  # "XXXXX，"
    texts = continue_prompts(model, corpus.tokenizer, corpus.layout, prompts, max_new=3 * (n + 1) + 4,
                             temperature=section.form_temperature, top_k=section.top_k, seed=seed)
    kept = [keeps_form(p + t, n) for p, t in zip(prompts, texts)]
    copied, lines = memorised_lines(texts, corpus.train_texts)
    return {"chars": n, "temperature": section.form_temperature, "samples": len(texts), "kept": sum(kept),
            "share": sum(kept) / len(texts), "memorised": copied, "lines": lines,
            "memorised_share": copied / lines if lines else 0.0,
            "examples": [[p, t, k] for p, t, k in zip(prompts[:12], texts[:12], kept[:12])]}


def _attention(model, corpus, form, prompts, samples=None) -> dict | None:
    """The heads' mean attention per layer over one generated line (a GPT only): tokens and (T, T) matrices."""
    import torch

    from ..lm.runs import prompt_ids

    if not hasattr(model, "attention"):
        return None
    if form and form["examples"]:
        kept = [e for e in form["examples"] if e[2]] or form["examples"]
        line = kept[0][0] + kept[0][1]
    else:  # a text written from the first prompt at the last sampling, or the prompt alone
        last = ((samples or [{}])[-1].get("by_temperature") or [{}])[0].get("texts") or [[prompts[0], ""]]
        line = last[0][0] + last[0][1]
    ids = prompt_ids(corpus.tokenizer, corpus.layout, line)[:min(model.block_size, 40)]  # a readable heatmap: 40 at most
    weights = model.attention(torch.tensor(ids))  # (n_layer, n_head, T, T)
    tokens = [corpus.tokenizer.decode([i]) for i in ids] if corpus.layout == "lines" else \
        [corpus.tokenizer.id_to_token(i).replace("</w>", "").replace("\u0120", " ") for i in ids]  # Ġ: byte-level BPE's space
    return {"tokens": tokens, "text": corpus.tokenizer.decode(ids), "layers": [[[round(float(v), 4) for v in row] for row in layer]
                                         for layer in weights.mean(dim=1).tolist()]}


# ----------------------------------------------------------------------------------- report
def _curves_section(run: RunFiles) -> str:
    from ..plots.lm import loss_curves

    m = run.lm
    history = m.get("history") or []
    final = history[-1] if history else {}
    corpus, training, model = m.get("corpus") or {}, m.get("training") or {}, m.get("model") or {}
    unit = _("character") if corpus.get("tokenizer") == "char" else _("token")
    how = _("Cross-entropy of the next {unit} on the training windows and on fixed held-out windows, in nats; bits = "
            "nats / ln 2, perplexity = e^nats (as if choosing among that many {unit}s at each step). {model} with "
            "{params} parameters trained {steps} steps ({tokens} tokens, {seconds}, {speed} tokens/s) on "
            "{train} texts of {corpus}; a vocabulary of {vocab}.").format(
        unit=unit, model=_mono(model.get("name", "?")), params=f"{(model.get('parameters') or {}).get('total', 0):,}",
        steps=f"{training.get('steps', 0):,}", tokens=f"{training.get('tokens', 0):,}",
        seconds=_("{minutes:.1f} min").format(minutes=(training.get("seconds") or 0) / 60),
        speed=f"{training.get('tokens_per_second', 0):,.0f}", train=f"{corpus.get('train_texts', 0):,}",
        corpus=_mono(corpus.get("name", "?")), vocab=f"{corpus.get('vocab_size', 0):,}")
    if training.get("stopped") == "time":
        how += " " + _("Training stopped at its time budget of {seconds:.0f} s.").format(
            seconds=(m.get("settings") or {}).get("max_seconds") or 0)
    if corpus.get("tokenizer") == "char":
        how += " " + _("For orientation: nanoGPT's small character model reaches about {anchor} nats per character on "
                       "Shakespeare, but with 65 characters to choose from, not thousands, in another language: the "
                       "numbers are not comparable.").format(anchor=_ANCHOR_NANOGPT)
    rows = [[_e(label), f"{final[key]:.3f}" if final.get(key) is not None else "—"] for key, label in
            (("val_loss", _("validation loss (nats)")), ("val_bpc", _("bits per {unit}").format(unit=unit)),
             ("val_ppl", _("perplexity")), ("train_loss", _("training loss (nats)")))]
    body = _img(loss_curves(history), _("training and validation loss")) + _table([_("measure"), _("last point")], rows, "numbers")
    return _section("lm-curves", _("Learning to predict the next token"), how, body)


def _mono(text) -> str:
    return f'<span class="mono">{_e(text)}</span>'


def _samples_section(run: RunFiles) -> str:
    m = run.lm
    poems = (m.get("corpus") or {}).get("layout") == "lines"
    rows = []
    for point in m.get("samples") or []:
        for group in point.get("by_temperature") or []:
            texts = "<br>".join(f'<span class="review"><b>{_e(p)}</b>{_e(t)}</span>' for p, t in group.get("texts") or [])
            rows.append([f"{point.get('step', 0):,}", f"{group.get('temperature', 0):g}", texts])
    start = _("from the first line of a held-out poem (in bold) and from nothing") if poems else \
        _("from the words in bold and from nothing")
    how = _("What the model writes as it learns, {start}. A low temperature picks the likeliest tokens and repeats "
            "itself; a high one is more varied and makes more mistakes.").format(start=start)
    return _section("lm-samples", _("Samples during training"), how,
                    _table([_("step"), _("temperature"), _("samples")], rows, "samples"))


def _form_section(run: RunFiles) -> str:
    form = run.lm.get("form") or {}
    how = _("{samples} poems written at temperature {t}, each from the first line of a held-out quatrain: {kept} "
            "({share}) keep the form of a {form} (four lines of {n} characters, ，。，。). Of the "
            "{lines} lines the model wrote, {copied} ({copied_share}) appear verbatim in the training poems: "
            "memorised rather than composed.").format(
        samples=form.get("samples", 0), t=form.get("temperature", "?"), kept=form.get("kept", 0),
        share=f"{100 * form.get('share', 0):.0f}%", n=form.get("chars", 5),
        form=_("five-character quatrain") if form.get("chars", 5) == 5 else _("seven-character quatrain"), lines=form.get("lines", 0),
        copied=form.get("memorised", 0), copied_share=f"{100 * form.get('memorised_share', 0):.1f}%")
    rows = [[f'<span class="review"><b>{_e(p)}</b>{_e(t)}</span>', "✓" if k else "✗"] for p, t, k in form.get("examples") or []]
    return _section("lm-form", _("Does it write quatrains?"), how, _table([_("poem"), _("form")], rows, "samples"))


def _attention_section(run: RunFiles) -> str:
    from ..plots.lm import attention_maps

    att = run.lm.get("attention") or {}
    how = _("Where the model looks in one line it wrote: row i is the position predicting the next token, the "
            "columns the tokens it can see (never later ones: the mask is causal), darker is more attention; "
            "the heads of each layer are averaged.")
    how += " " + (_("The first character ⏎ is the newline that starts a poem.") if "\n" in (att.get("tokens") or [])[:1]
                  else _("The first token {bos} starts a text.").format(bos='<span class="mono">&lt;bos&gt;</span>'))
    tokens = att.get("tokens") or []
    return _section("lm-attention", _("The attention of one generated line"), how,
                    _img(attention_maps(tokens, att.get("layers") or []), _("attention")) +
                    f'<p><span class="review">{_e((att.get("text") or "").strip())}</span></p>')


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    m = run.lm
    final = (m.get("history") or [{}])[-1]
    stats = [(f"{final['val_loss']:.3f}", _("validation loss (nats)"))] if "val_loss" in final else []
    if "val_bpc" in final:
        stats.append((f"{final['val_bpc']:.2f}", _("bits per token")))
    if m.get("form"):
        stats.append((f"{100 * m['form']['share']:.0f}%", _("quatrains that keep the form")))
    return stats


REPORT = KindReport("lm", files=("lm.json",), result_file="lm.json",
                    missing={"lm.json": N_("the language model's curves and samples")},
                    sections=(Section("lm-curves", N_("Learning to predict the next token"), _curves_section,
                                      lambda run: bool((run.lm or {}).get("history")), order=14),
                              Section("lm-samples", N_("Samples during training"), _samples_section,
                                      lambda run: bool((run.lm or {}).get("samples")), order=15),
                              Section("lm-form", N_("Does it write quatrains?"), _form_section,
                                      lambda run: bool((run.lm or {}).get("form")), order=16),
                              Section("lm-attention", N_("The attention of one generated line"), _attention_section,
                                      lambda run: bool((run.lm or {}).get("attention")), order=17)),
                    headline=_headline)
register(Kind("lm", run, N_("a GPT (or a character LSTM) trained from zero on Tang poems or IMDB reviews: curves, samples, "
                            "the quatrains' form, memorisation, attention"),
              section="lm", config=LMConfig, report=REPORT, order=78,
              smoke=("tang-poetry-gpt", ("lm.corpus=poetry-5", "lm.poem_files=2", "lm.steps=4", "lm.eval_every=2",
                                         "lm.sample_every=2", "lm.eval_batches=1", "lm.batch_size=4", "lm.block_size=16",
                                         "lm.form_samples=4", "lm.samples_per_temperature=1", "lm.max_new=8",
                                         "model.size=nano", "model.n_layer=1", "model.n_embd=16")),
              smoke_needs_data=True))
