"""Parallel corpora: sentence pairs (source, target) for translation, split into train / val / test.

Two corpora, found with `tujie.data._files.resolve` (data_dir, `$TUJIE_DATA`, the cache) and
checked against their SHA-256 before they are read:

* `load_tatoeba`: Tatoeba English–French pairs (manythings.org/anki, `fra.txt`), filtered as
  in the PyTorch "seq2seq translation" tutorial: short sentences whose English side starts
  with "i am", "he is", "she is", "you are", "we are", "they are" (or their contractions).
  The corpus has no official split, so a seeded shuffle makes one (90/5/5 by default).
* `load_multi30k`: Multi30k task 1 (Elliott et al. 2016), English, German and French image
  captions with the official train / val / test_2016_flickr splits, raw and untokenised.

Every loader says in `notes` what it read, skipped and filtered, so a report can state it.

Example:
    >>> corpus = load_tatoeba(direction="fr-en")  # doctest: +SKIP
    >>> corpus.train[0], corpus.src_lang, corpus.tgt_lang  # doctest: +SKIP
    (('je suis content .', 'i m glad .'), 'fr', 'en')
"""

from __future__ import annotations

import gzip
import re
import unicodedata
import zlib
from dataclasses import dataclass, field

from ..data._files import resolve
from ..errors import ConfigError, DataError
from ..i18n import _

Pair = tuple[str, str]

# The English openings the PyTorch tutorial keeps, after normalisation ("I'm" -> "i m").
ENG_PREFIXES = ("i am ", "i m ", "he is ", "he s ", "she is ", "she s ", "you are ", "you re ", "we are ", "we re ",
                "they are ", "they re ")

TATOEBA_FILE = "tatoeba-fra-eng/fra.txt"
TATOEBA_SHA256 = "2546838ae46e0eac4c02ab7032ea0a02a006074a5340077a36a9444f41e02888"  # shared/data/SOURCES.md, 4a

MULTI30K_SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}
MULTI30K_LANGS = ("en", "de", "fr")
MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
MULTI30K_SHA256 = {  # shared/data/SOURCES.md, 4b (unmodified copies of multi30k/dataset data/task1/raw/)
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.fr.gz": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.fr.gz": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.fr.gz": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
}


@dataclass
class ParallelCorpus:
    """Sentence pairs (source, target) in three splits, the two languages, and notes on how they were made.

    Attributes:
        name: the corpus, e.g. "tatoeba" or "multi30k".
        train, val, test: lists of (source sentence, target sentence) strings.
        src_lang, tgt_lang: language codes, e.g. "fr" and "en".
        notes: what was read, skipped and filtered, one sentence each.
    """

    name: str
    train: list[Pair]
    val: list[Pair]
    test: list[Pair]
    src_lang: str
    tgt_lang: str
    notes: list[str] = field(default_factory=list)

    @property
    def direction(self) -> str:
        """"fr-en": source language, then target language."""
        return f"{self.src_lang}-{self.tgt_lang}"

    def __repr__(self) -> str:
        return (f"ParallelCorpus({self.name!r}, {self.direction}, train={len(self.train):,}, val={len(self.val):,}, "
                f"test={len(self.test):,})")


def parse_direction(direction: str, languages, corpus: str) -> tuple[str, str]:
    """("fr", "en") from "fr-en", refusing languages the corpus does not have.

    Example:
        >>> parse_direction("fr-en", ("en", "fr"), "tatoeba")
        ('fr', 'en')
        >>> parse_direction("en-es", ("en", "fr"), "tatoeba")
        Traceback (most recent call last):
        ...
        tujie.errors.ConfigError: Invalid value received for argument `direction` of the tatoeba loader. ...
    """
    parts = str(direction).lower().replace("→", "-").replace("_", "-").split("-")
    options = [f"{a}-{b}" for a in languages for b in languages if a != b]
    if len(parts) != 2 or parts[0] == parts[1] or not set(parts) <= set(languages):
        raise ConfigError(f"Invalid value received for argument `direction` of the {corpus} loader.",
                          expected=f"source-target, one of {', '.join(options)}", received=f"direction={direction!r}",
                          fix=f'Pass direction="{options[0]}".')
    return parts[0], parts[1]


def tutorial_normalize(text: str) -> str:
    """The PyTorch tutorial's normalisation: lower case, accents stripped to ASCII, ". ! ?" split off, other symbols dropped.

    Every character that is not an ASCII letter or one of . ! ? becomes a space (so "I'm"
    becomes "i m", and digits disappear); runs of spaces shrink to one.

    Example:
        >>> tutorial_normalize("Ça va, Élodie ? I'm fine!")
        'ca va elodie ? i m fine !'
    """
    ascii_text = "".join(c for c in unicodedata.normalize("NFD", text.lower().strip()) if unicodedata.category(c) != "Mn")
    spaced = re.sub(r"([.!?])", r" \1", ascii_text)
    return re.sub(r"[^a-z.!?]+", " ", spaced).strip()


def split_pairs(pairs: list[Pair], fractions=(0.9, 0.05, 0.05), seed: int = 0) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """A seeded shuffle cut into train / val / test by `fractions` (the same seed gives the same split).

    Example:
        >>> train, val, test = split_pairs([(str(i), str(i)) for i in range(20)], (0.8, 0.1, 0.1))
        >>> len(train), len(val), len(test)
        (16, 2, 2)
    """
    import numpy as np

    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ConfigError("Invalid value received for argument `split`.", expected="three fractions (train, val, test) summing to 1",
                          received=f"split={tuple(fractions)!r}", fix="Pass split=(0.9, 0.05, 0.05).")
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_test, n_val = round(fractions[2] * len(pairs)), round(fractions[1] * len(pairs))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return [pairs[i] for i in train], [pairs[i] for i in val], [pairs[i] for i in test]


def load_tatoeba(data_dir=None, direction: str = "fr-en", max_words: int | None = 10, prefixes=ENG_PREFIXES, *,
                 split=(0.9, 0.05, 0.05), seed: int = 0, dedupe: bool = True, verify: bool = True) -> ParallelCorpus:
    """Tatoeba English–French pairs, normalised and filtered as in the PyTorch seq2seq tutorial, then split.

    Reads `translation/tatoeba-fra-eng/fra.txt` (lines of `English<TAB>French`; 142,787 lines,
    sha256 checked). Each side goes through `tutorial_normalize`; a pair is kept when both sides
    have fewer than `max_words` whitespace tokens (". ! ?" count as tokens, as in the tutorial)
    and the normalised English side starts with one of `prefixes`. Empty lines are skipped
    and counted.

    Args:
        data_dir: folder holding `translation/`; default `$TUJIE_DATA`, then the cache.
        direction: "fr-en" (French source, the tutorial's) or "en-fr".
        max_words: keep pairs with both sides shorter than this (the tutorial's MAX_LENGTH = 10);
            None keeps every length.
        prefixes: English openings to keep (`ENG_PREFIXES`, the tutorial's); None keeps all.
        split: train / val / test fractions of the kept pairs (a seeded shuffle).
        seed: the shuffle's seed.
        dedupe: drop pairs that are exact duplicates after normalisation, so no test pair is
            also a training pair.
        verify: check the file's sha256 (False for a file you changed on purpose).

    Returns:
        A `ParallelCorpus` whose `notes` state the filter.

    Example:
        >>> corpus = load_tatoeba()  # doctest: +SKIP
        >>> corpus  # doctest: +SKIP
        ParallelCorpus('tatoeba', fr-en, train=..., val=..., test=...)
    """
    src_lang, tgt_lang = parse_direction(direction, ("en", "fr"), "tatoeba")
    if max_words is not None and (isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 2):
        raise ConfigError("Invalid value received for argument `max_words` of load_tatoeba.", expected="an integer >= 2, or None",
                          received=f"max_words={max_words!r}", fix="Pass max_words=10 (the tutorial's).")
    prefixes = None if prefixes is None else tuple(prefixes)
    path = resolve("translation", TATOEBA_FILE, sha256=TATOEBA_SHA256, data_dir=data_dir, verify=verify)
    lines = _read_lines(path, gzipped=False)

    pairs, empty, seen, duplicates, read = [], 0, set(), 0, 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            empty += 1
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise DataError(f"Line {number} of `{path}` is not an English<TAB>French pair.", expected="English<TAB>French",
                            received=repr(line[:80]), fix="Use the original fra.txt from manythings.org/anki (shared/data/SOURCES.md, 4a).")
        read += 1
        english = tutorial_normalize(fields[0])
        if prefixes is not None and not english.startswith(prefixes):
            continue  # tested first: 92% of the pairs stop here, before their French is normalised
        french = tutorial_normalize(fields[1])
        if max_words is not None and (len(english.split(" ")) >= max_words or len(french.split(" ")) >= max_words):
            continue
        pair = (french, english) if src_lang == "fr" else (english, french)
        if dedupe:
            if pair in seen:
                duplicates += 1
                continue
            seen.add(pair)
        pairs.append(pair)
    if not pairs:
        raise DataError(f"No pair of `{path}` passed the filter.", expected="at least one pair",
                        received=f"{read:,} pairs read, max_words={max_words}, {len(prefixes or ())} prefixes",
                        fix="Loosen the filter (max_words=None or prefixes=None), or check the file.")
    train, val, test = split_pairs(pairs, split, seed)
    kept = len(pairs) + duplicates
    share = f"{kept / max(read, 1):.1%}"
    length = (_("any length") if max_words is None
              else _("fewer than {max_words} tokens on both sides").format(max_words=max_words))
    opening = (_("any opening") if prefixes is None
               else _("the English side starting with {prefixes}").format(prefixes=", ".join(f'"{p.strip()}"' for p in prefixes)))
    source = {"file": "fra.txt", "source": "manythings.org/anki", "count": f"{read:,}"}
    notes = [(_("Tatoeba {file} ({source}): {count} pairs read, {empty} empty lines skipped.").format(**source, empty=f"{empty:,}")
              if empty else _("Tatoeba {file} ({source}): {count} pairs read.").format(**source)),
             _("Normalised as in the PyTorch seq2seq tutorial: lower case, accents stripped to ASCII, '.', '!' and '?' split "
               "off as tokens, every other non-letter (apostrophes, commas, digits) turned into a space."),
             _("Filter (the tutorial's): {length} (whitespace tokens after normalisation), {opening}; "
               "{kept} of {read} pairs kept ({share}).").format(length=length, opening=opening, kept=f"{kept:,}",
                                                                read=f"{read:,}", share=share),
             (_("{n} exact duplicate pairs dropped, so no test pair is also a training pair.").format(n=f"{duplicates:,}")
              if dedupe else _("Duplicate pairs kept (dedupe=False).")),
             _("Direction {src}→{tgt}; a seeded split (seed {seed}) gives train {train}, val {val}, test {test}.").format(
                 src=src_lang, tgt=tgt_lang, seed=seed, train=f"{len(train):,}", val=f"{len(val):,}", test=f"{len(test):,}")]
    return ParallelCorpus("tatoeba", train, val, test, src_lang, tgt_lang, notes)


def load_multi30k(data_dir=None, direction: str = "de-en", *, verify: bool = True) -> ParallelCorpus:
    """Multi30k task 1: image captions in English, German and French, with the official splits.

    Reads `translation/multi30k/{train,val,test_2016_flickr}.{src,tgt}.gz` (29,000 / 1,014 /
    1,000 line-aligned raw sentences, sha256 checked). The sentences are kept as they are
    (case and punctuation included); a line empty on either side is skipped and counted.

    Args:
        data_dir: folder holding `translation/`; default `$TUJIE_DATA`, then the cache (and a
            download from the multi30k/dataset repository).
        direction: "de-en" (the usual), or any two of en, de, fr, e.g. "en-de", "fr-en".
        verify: check the files' sha256.

    Returns:
        A `ParallelCorpus`.

    Raises:
        DataError: the two files of a split have different numbers of lines (misaligned).

    Example:
        >>> load_multi30k(direction="de-en")  # doctest: +SKIP
        ParallelCorpus('multi30k', de-en, train=29,000, val=1,014, test=1,000)
    """
    src_lang, tgt_lang = parse_direction(direction, MULTI30K_LANGS, "multi30k")
    splits, notes, skipped = {}, [], {}
    for split, stem in MULTI30K_SPLITS.items():
        sides = []
        for lang in (src_lang, tgt_lang):
            filename = f"{stem}.{lang}.gz"
            path = resolve("translation", f"multi30k/{filename}", sha256=MULTI30K_SHA256[filename], urls=[MULTI30K_URL + filename],
                           data_dir=data_dir, verify=verify)
            sides.append((path, _read_lines(path, gzipped=True)))
        (src_path, src_lines), (tgt_path, tgt_lines) = sides
        if len(src_lines) != len(tgt_lines):
            raise DataError(f"The Multi30k {split} files are misaligned: `{src_path}` has {len(src_lines):,} lines and "
                            f"`{tgt_path}` has {len(tgt_lines):,}.", expected="the same number of lines (line i of one translates "
                            "line i of the other)", received=f"{len(src_lines):,} and {len(tgt_lines):,} lines",
                            fix="Replace both files with the originals from multi30k/dataset data/task1/raw/ (shared/data/SOURCES.md, 4b).")
        pairs = [(s.strip(), t.strip()) for s, t in zip(src_lines, tgt_lines)]
        splits[split] = [p for p in pairs if p[0] and p[1]]
        skipped[split] = len(pairs) - len(splits[split])
    counts = {split: f"{len(pairs):,}" for split, pairs in splits.items()}  # train, val, test
    notes.append(_("Multi30k task 1 (Elliott et al. 2016), official splits (train {train}, val {val}, test {test}; "
                   "test = test_2016_flickr), raw sentences: case and punctuation kept, no tokenisation.").format(**counts))
    if any(skipped.values()):
        notes.append(_("Pairs with an empty side skipped: train {train}, val {val}, test {test}.").format(
            **{split: f"{n:,}" for split, n in skipped.items()}))
    notes.append(_("Direction {src}→{tgt}.").format(src=src_lang, tgt=tgt_lang))
    return ParallelCorpus("multi30k", splits["train"], splits["val"], splits["test"], src_lang, tgt_lang, notes)


def _read_lines(path, gzipped: bool) -> list[str]:
    """The file's lines as UTF-8 text without their line ends; a damaged file is a DataError naming it."""
    try:
        if gzipped:
            with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
                text = f.read()
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:
        raise DataError(f"Could not read `{path}`.", expected="a complete UTF-8 text file" + (", gzip-compressed" if gzipped else ""),
                        received=f"{type(e).__name__}: {e}",
                        fix=f"Delete `{path}` and fetch it again, or replace it with an intact copy.") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another one
    return [line.rstrip("\r") for line in lines]
