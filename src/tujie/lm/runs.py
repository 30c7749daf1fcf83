"""A language model's corpus as one stream of ids, and a trained run loaded back to write text.

Two layouts of the stream:

* `lines` (the poems, character tokens): one poem per line, a newline before each (`poetry.training_text`);
  a prompt is read after a newline, and a sample ends at the next newline.
* `documents` (IMDB reviews, BPE tokens, which drop line breaks): `<bos>` review `<eos>` `<bos>` review `<eos>` ...;
  a prompt is read after `<bos>`, and a sample ends at `<eos>`.

An `lm` run directory holds `model.safetensors`, `lm_model.json` (the model's name and config, the layout,
the corpus's script) and `tokenizer.json`; `load_run` rebuilds the model from them and `generate_from_run`
writes with it (`tujie generate RUN_DIR "床前明月光"`).

Example:
    >>> from tujie.text.tokenizers import BPETokenizer
    >>> tok = BPETokenizer(vocab_size=40, min_freq=1).train(["a good film", "a bad film"])
    >>> stream(tok, ["a good film"], "documents").tolist() == [2, *tok.encode("a good film"), 3]
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .._io import write_json
from ..errors import ConfigError, DataError, DataNotFoundError
from ..i18n import _

MODEL_FILE, META_FILE = "model.safetensors", "lm_model.json"
POETRY_CORPORA = {"poetry-5": 5, "poetry-7": 7, "poetry-quatrains": None, "poetry-all": "all"}
CORPORA = (*POETRY_CORPORA, "imdb")


@dataclass
class Corpus:
    """A corpus ready for `train_lm`: the tokenizer, the two streams, and what the report says about them."""

    name: str
    layout: str  # "lines" or "documents"
    tokenizer: object
    train_ids: object  # (N,) LongTensor
    val_ids: object  # (M,) LongTensor
    train_texts: list = field(default_factory=list)  # Poem objects for poetry, strings for IMDB
    val_texts: list = field(default_factory=list)
    chars: int | None = None  # the quatrains' line length (5 or 7), for the form check
    simplified: bool = False
    notes: list = field(default_factory=list)


def stream(tokenizer, texts: list[str], layout: str):
    """One (N,) LongTensor of the texts' ids in the layout (`lines`: texts already joined by newlines)."""
    import torch

    from ..text.tokenizers import BOS_ID, EOS_ID

    if layout == "lines":
        return torch.tensor(tokenizer.encode("".join(texts)), dtype=torch.long)
    ids = []
    for one in tokenizer.encode_batch(texts):
        ids += [BOS_ID, *one, EOS_ID]
    return torch.tensor(ids, dtype=torch.long)


def build_corpus(name: str, *, tokenizer: str = "char", vocab_size: int = 8000, simplified: bool = False,
                 validation: float = 0.1, seed: int = 0, data_dir=None, poem_files: int | None = None,
                 documents: int | None = None) -> Corpus:
    """Load a corpus, split it by poem or review (seeded), train the tokenizer on the training part, encode both.

    Args:
        name: poetry-5, poetry-7, poetry-quatrains (both), poetry-all (every Tang poem) or imdb (the review texts).
        tokenizer: "char" (a character per token) or "bpe" (GPT-2's byte-level subwords: the text comes back exactly).
        vocab_size: BPE's target vocabulary.
        simplified: convert the poems to simplified characters first (OpenCC).
        validation: the share of poems or reviews held out.
        poem_files: read only the first N poem files (quick runs); documents: keep N reviews.
    """
    from ..text.tokenizers import build_tokenizer
    from . import poetry

    if name not in CORPORA:
        raise ConfigError(f"Unknown language-model corpus {name!r}.", expected=f"one of {', '.join(CORPORA)}",
                          received=f"lm.corpus={name!r}", fix="Set lm.corpus to one of these.")
    if tokenizer == "char":
        from ..text.tokenizers import CharTokenizer

        tok = CharTokenizer()
    else:
        tok = build_tokenizer("bpe", vocab_size=vocab_size, min_freq=2, lower=False, byte_level=True)  # GPT-2's: exact text back
    if name == "imdb":
        from ..text.corpus import load_imdb

        imdb = load_imdb(data_dir=data_dir)
        texts = [text for text, _label in (*imdb.train, *imdb.test)]  # labels never read
        texts = texts[:: max(1, len(texts) // documents)][:documents] if documents else texts  # both splits, both classes
        train, val = poetry.split_poems(texts, validation, seed)
        tok.train(train)
        return Corpus(name, "documents", tok, stream(tok, train, "documents"), stream(tok, val, "documents"), train, val,
                      notes=[_("{corpus}: {train} training and {val} validation texts").format(
                          corpus="IMDB", train=f"{len(train):,}", val=f"{len(val):,}")])
    poems = poetry.load_poems(data_dir, simplified=simplified, files=poem_files)
    kind = POETRY_CORPORA[name]
    chosen = poems if kind == "all" else poetry.quatrains(poems, kind)
    if len(chosen) < 2:
        raise DataError(f"The corpus {name} has {len(chosen)} poems here.", expected="at least two poems",
                        received=f"{len(poems)} poems read", fix="Read more poem files (lm.poem_files), or another corpus.")
    train, val = poetry.split_poems(chosen, validation, seed)
    train_text, val_text = poetry.training_text(train), poetry.training_text(val)
    tok.train([train_text])
    chars = kind if kind in (5, 7) else 5  # quatrains and the whole corpus: the five-character form is checked
    return Corpus(name, "lines", tok, stream(tok, [train_text], "lines"), stream(tok, [val_text], "lines"), train, val,
                  chars=chars, simplified=simplified,
                  notes=[_("{corpus}: {train} training and {val} validation poems, {chars} characters").format(
                      corpus=name, train=f"{len(train):,}", val=f"{len(val):,}", chars=f"{len(train_text):,}")])


def prompt_ids(tokenizer, layout: str, prompt: str) -> list[int]:
    """The ids a prompt is read as: after a newline (`lines`) or after `<bos>` (`documents`)."""
    from ..text.tokenizers import BOS_ID

    if layout == "lines":
        return tokenizer.encode("\n" + prompt)
    return [BOS_ID, *(tokenizer.encode(prompt) if prompt.strip() else [])]


def end_id(tokenizer, layout: str) -> int:
    """The id that ends a sample: the newline (`lines`) or `<eos>` (`documents`)."""
    from ..text.tokenizers import EOS_ID

    return tokenizer.encode("\n")[0] if layout == "lines" else EOS_ID


def continue_prompts(model, tokenizer, layout: str, prompts: list[str], *, max_new: int, temperature: float = 1.0,
                     top_k: int | None = None, top_p: float | None = None, repetition_penalty: float = 1.0,
                     seed: int | None = None, use_cache: bool = True, notes: list | None = None) -> list[str]:
    """One continuation per prompt (the new text only, up to the end of the poem or review).

    Prompts of equal length in ids go through `generate_ids` together, in one batch.
    """
    import torch

    from ..text.tokenizers import BOS_ID, PAD_ID
    from .generate import generate_ids

    stop = end_id(tokenizer, layout)
    encoded = [prompt_ids(tokenizer, layout, p) for p in prompts]
    out: list[str | None] = [None] * len(prompts)
    for length in sorted({len(e) for e in encoded}):
        rows = [i for i, e in enumerate(encoded) if len(e) == length]
        ids = generate_ids(model, torch.tensor([encoded[i] for i in rows]), max_new=max_new, temperature=temperature,
                           top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty, stop=[stop],
                           seed=None if seed is None else seed + length,
                           use_cache=use_cache, notes=notes, suppress=[PAD_ID, BOS_ID])  # as `generate` does
        for i, row in zip(rows, ids[:, length:].tolist()):
            row = row[:row.index(stop)] if stop in row else row
            out[i] = tokenizer.decode([t for t in row if t != PAD_ID])
    return out


def save_run(run_dir, model, tokenizer, *, name: str, layout: str, simplified: bool = False) -> None:
    """Write model.safetensors, lm_model.json and tokenizer.json into a run directory."""
    from ..train.checkpoint import save_weights

    run_dir = Path(run_dir)
    save_weights(run_dir / MODEL_FILE, model)
    tokenizer.save(run_dir / "tokenizer.json")
    write_json(run_dir / META_FILE, {"model": name, "config": dict(model.config), "layout": layout, "simplified": simplified})


def load_run(run_dir):
    """The trained model (eval mode) and tokenizer of an `lm` run directory: (model, tokenizer).

    Raises:
        DataNotFoundError: the folder is not a finished `lm` run (the missing files are named).
    """
    model, tokenizer, _meta = _load(run_dir)
    return model, tokenizer


def _load(run_dir):
    from ..models import create
    from ..text.tokenizers import load_tokenizer
    from ..train.checkpoint import check_compatible, load_weights

    folder = Path(run_dir)
    missing = [n for n in (MODEL_FILE, META_FILE, "tokenizer.json") if not (folder / n).is_file()]
    if missing:
        raise DataNotFoundError(f"{folder} is not the folder of a finished lm run.",
                                expected=f"{MODEL_FILE}, {META_FILE} and tokenizer.json (written by `tujie run tang-poetry-gpt`)",
                                received=f"no {', '.join(missing)}" if folder.is_dir() else "no such folder",
                                fix="Pass the run directory that `tujie run` printed.")
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        model = create(meta["model"], **meta["config"])
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"{folder / META_FILE} is damaged.", expected="the model's name and config, as the run wrote them",
                        received=f"{type(e).__name__}: {e}", fix="Train the run again.") from None
    weights = load_weights(folder / MODEL_FILE)
    check_compatible(folder / MODEL_FILE, model, weights)
    model.load_state_dict(weights)
    return model.eval(), load_tokenizer(folder), meta


def generate_from_run(run_dir, prompt: str = "", *, max_new: int = 64, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None, repetition_penalty: float = 1.0, num: int = 1, seed: int | None = None,
                      use_cache: bool = True, simplified: bool | None = None) -> tuple[list[str], list[str]]:
    """Write `num` continuations of `prompt` with a trained `lm` run: (texts, notes).

    A prompt in simplified characters given to a model of the traditional poems (床前明月光) is converted to
    traditional (牀前明月光) when that makes it known to the vocabulary, and the notes say so. Characters still
    unknown are read as `<unk>`, named in the notes.

    Args:
        run_dir: the run directory.
        prompt: the beginning of the poem or review; "" lets the model start one.
        max_new, temperature, top_k, top_p, repetition_penalty, num, seed, use_cache: as in `tujie.lm.generate`.
        simplified: convert the output to simplified characters (None: only a model trained on simplified
            text writes simplified).

    Returns:
        (the texts, the prompt included; the notes: what was converted, mapped to <unk>, greedy, sliding).
    """
    from .generate import check_options, unknown_pieces
    from .poetry import to_simplified, to_traditional

    check_options(max_new, temperature, top_k, top_p, repetition_penalty, num)
    model, tokenizer, meta = _load(run_dir)
    layout, notes = meta.get("layout", "lines"), []
    if layout == "lines" and unknown_pieces(tokenizer, prompt):
        converted = to_simplified(prompt) if meta.get("simplified") else to_traditional(prompt)
        if len(unknown_pieces(tokenizer, converted)) < len(unknown_pieces(tokenizer, prompt)):
            notes.append(_("The prompt was converted to the script the model learned: {before} → {after}.").format(
                before=prompt, after=converted))
            prompt = converted
    unknown = unknown_pieces(tokenizer, prompt)
    if unknown:
        notes.append(_("Characters of the prompt that the run's vocabulary lacks, read as <unk>: {chars}.").format(
            chars=" ".join(unknown)))
    texts = continue_prompts(model, tokenizer, layout, [prompt] * num, max_new=max_new, temperature=temperature,
                             top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty, seed=seed,
                             use_cache=use_cache, notes=notes)
    texts = [prompt + t for t in texts]  # byte-level BPE keeps the space before a word in the word
    if simplified and not meta.get("simplified"):
        texts = [to_simplified(t) for t in texts]
    return texts, notes

