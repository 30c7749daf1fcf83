"""Sentiment corpora as (text, label) pairs: IMDB movie reviews and SST-2 sentences.

Files are found like every tujie dataset (`tujie.data.resolve`): the `data_dir` argument or
`$TUJIE_DATA` (`<dir>/imdb/train.csv.gz`, ...), then the cache `~/.cache/tujie`, and their
SHA-256 is checked before they are read.

* IMDB (Maas et al. 2011): `imdb/train.csv.gz` and `imdb/test.csv.gz`, 25,000 reviews each,
  columns `id,rating,label,text` (label 1 positive, 0 negative). This CSV layout is derived
  from the official tarball (see shared/data/SOURCES.md), so it cannot be downloaded: the
  official archive (aclImdb_v1.tar.gz) has one text file per review and is not converted here.
  A missing file is a `DataNotFoundError` that says so and where to put the files.
* SST-2 (Socher et al. 2013, as distributed in GLUE): `sst2/train.tsv` (67,349 sentences)
  and `sst2/dev.tsv` (872), header `sentence<TAB>label`. GLUE's test split has no labels,
  so `test` holds the dev split. When the files are missing, the official GLUE archive
  (SST-2.zip) is downloaded into the cache and the two files are extracted and verified.

Bad lines are skipped and counted in `notes` (one note per kind of problem, with the first
line numbers): lines that are not valid UTF-8, empty lines, empty texts, rows with
missing fields, and labels other than 0/1. A file that is structurally wrong (a header
without the needed columns, a file that is not gzip or CSV) is a `DataError` naming the
file, the line and the fix.

Example:
    >>> corpus = load_imdb()  # doctest: +SKIP
    >>> len(corpus.train), len(corpus.test), corpus.classes  # doctest: +SKIP
    (25000, 25000, ['negative', 'positive'])
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .._io import atomic_path
from ..data._files import cache_dir, resolve, search_paths
from ..errors import ConfigError, DataError, DataNotFoundError
from ..i18n import _, ngettext

__all__ = ["TextCorpus", "load_imdb", "load_sst2", "imdb_texts", "read_imdb_csv", "read_sst2_tsv"]

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"  # the original, another layout
SST2_URL = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"
SENTIMENT_CLASSES = ["negative", "positive"]

# SHA-256 of the shared copies (shared/data/SOURCES.md, sections 3a and 3b).
IMDB_SHA256 = {
    "train.csv.gz": "c0ce2c24e52d99d90350123ccf5599e2c2dd73284bcaa08648538f9a0b76117e",
    "test.csv.gz": "5465b6d5e6582bd8e80b879b3651671c63d3f0cf6fcd1bdd62dff6b2bd3f79d7",
}
SST2_SHA256 = {  # the GLUE files, unmodified: the same bytes as inside SST-2.zip
    "train.tsv": "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
    "dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
}

_BAD_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by errors="surrogateescape"


@dataclass
class TextCorpus:
    """A labelled text corpus: (text, label) pairs per split, label an index into `classes`.

    Example:
        >>> c = TextCorpus(train=[("good", 1), ("bad", 0)], test=[("fine", 1)], classes=["negative", "positive"], name="toy")
        >>> texts, labels = c.texts_and_labels("train")
        >>> texts, labels.tolist()
        (['good', 'bad'], [1, 0])
    """

    train: list[tuple[str, int]]
    test: list[tuple[str, int]]
    classes: list[str]
    name: str
    notes: list[str] = field(default_factory=list)

    def texts_and_labels(self, split: str = "train") -> tuple[list[str], torch.Tensor]:
        """The texts of `split` ("train" or "test") and their labels (N,) int64."""
        pairs = self._split(split)
        return [text for text, _ in pairs], torch.tensor([label for _, label in pairs], dtype=torch.int64)

    def _split(self, split: str) -> list[tuple[str, int]]:
        if split not in ("train", "test"):
            raise ConfigError(f"Unknown split {split!r} of corpus {self.name}.", expected="'train' or 'test'",
                              received=f"split={split!r}", fix="Pass split='train' or split='test'.")
        return self.train if split == "train" else self.test


class _Skipped:
    """Counts skipped lines per reason, keeping the first few line numbers, for the notes."""

    def __init__(self, path: Path):
        self.path, self.lines = path, {}

    def add(self, reason: str, line: int) -> None:
        """Count `line` under `reason`, a phrase already in the run's language (`_("an empty text")`)."""
        self.lines.setdefault(reason, []).append(line)

    def notes(self) -> list[str]:
        out = []
        for reason, lines in self.lines.items():
            shown = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
            out.append(ngettext("{file}: skipped {n} line with {reason} (line {lines}).",
                                "{file}: skipped {n} lines with {reason} (line {lines}).", len(lines)).format(
                file=self.path.name, n=f"{len(lines):,}", reason=reason, lines=shown))
        return out


def _decoded(raw: bytes) -> tuple[str, bool]:
    """The text of `raw`, and whether some bytes were not UTF-8 (kept as lone surrogates to skip those rows)."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="surrogateescape"), True


def read_imdb_csv(path) -> tuple[list[tuple[str, int]], list[str]]:
    """Read one IMDB CSV(.gz) file (columns id,rating,label,text) as (text, label) pairs and notes.

    Args:
        path: a `.csv.gz` (or plain `.csv`) file with a header naming at least `label` and `text`.

    Returns:
        The pairs, in file order, and notes about skipped lines.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "mini.csv.gz"
        >>> _ = path.write_bytes(gzip.compress(b'id,rating,label,text\\n0,1,0,"Dull, slow."\\n1,9,1,Great\\n2,5,7,odd\\n'))
        >>> pairs, notes = read_imdb_csv(path)
        >>> pairs, notes
        ([('Dull, slow.', 0), ('Great', 1)], ['mini.csv.gz: skipped 1 line with a label other than 0/1 (line 4).'])
    """
    path = Path(path)
    fix = f"Replace `{path}` with an intact copy (shared/data/SOURCES.md gives its SHA-256)."
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic; a plain .csv is read as it is
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"Could not decompress `{path}`.", expected="a complete gzip-compressed CSV file",
                        received=f"{type(e).__name__}: {e}", fix=fix) from None
    text, has_bad_bytes = _decoded(raw)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # strict: an unclosed quote is an error, not one huge row
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"`{path}` is empty.", expected="a header line id,rating,label,text and one review per row",
                        received="no lines", fix=fix) from None
    columns = [c.strip().lower() for c in header]
    missing = [c for c in ("label", "text") if c not in columns]
    if missing:
        raise DataError(f"`{path}`, line 1: the header lacks the column(s) {', '.join(missing)}.",
                        expected="a header with columns id,rating,label,text (label and text are required)",
                        received=f"header {header[:6]}", fix=f"Write the header `id,rating,label,text`, or {fix[0].lower()}{fix[1:]}")
    label_col, text_col = columns.index("label"), columns.index("text")
    needed = max(label_col, text_col) + 1
    pairs, skipped, line = [], _Skipped(path), reader.line_num + 1
    try:
        for row in reader:
            start, line = line, reader.line_num + 1  # the row spans lines start..reader.line_num
            if not row or not any(cell.strip() for cell in row):
                skipped.add(_("nothing on it (an empty line)"), start)
            elif len(row) < needed:
                skipped.add(_("missing fields ({n} of {total})").format(n=len(row), total=len(header)), start)
            elif has_bad_bytes and any(_BAD_UTF8.search(cell) for cell in row):
                skipped.add(_("bytes that are not valid UTF-8"), start)
            elif not row[text_col].strip():
                skipped.add(_("an empty text"), start)
            elif row[label_col].strip() not in ("0", "1"):
                skipped.add(_("a label other than 0/1"), start)
            else:
                pairs.append((row[text_col], int(row[label_col])))
    except csv.Error as e:
        raise DataError(f"`{path}`, line {reader.line_num}: the CSV is malformed.", expected="Python csv-module quoting",
                        received=str(e), fix=fix) from None
    if not pairs:
        raise DataError(f"`{path}` has no usable rows after its header.", expected="one review per row: id,rating,label,text",
                        received=f"{reader.line_num} line(s), {len(skipped.notes())} note(s) of skipped lines",
                        fix=fix)
    return pairs, skipped.notes()


def read_sst2_tsv(path) -> tuple[list[tuple[str, int]], list[str]]:
    """Read one GLUE SST-2 file (header `sentence<TAB>label`) as (sentence, label) pairs and notes.

    Sentences are stripped of surrounding spaces (the GLUE files end each one with a space).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "dev.tsv"
        >>> _ = path.write_bytes(b"sentence\\tlabel\\na charming journey . \\t1\\n\\nbleak \\t0\\n")
        >>> read_sst2_tsv(path)
        ([('a charming journey .', 1), ('bleak', 0)], ['dev.tsv: skipped 1 line with nothing on it (an empty line) (line 3).'])
    """
    path = Path(path)
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line
    header = lines[0].decode("utf-8", errors="replace").rstrip("\r").split("\t") if lines else []
    columns = [c.strip().lower() for c in header]
    missing = [c for c in ("sentence", "label") if c not in columns]
    if missing:
        raise DataError(f"`{path}`, line 1: the header lacks the column(s) {', '.join(missing)}.",
                        expected="a tab-separated header `sentence<TAB>label` (GLUE's SST-2 train.tsv / dev.tsv)",
                        received=f"header {header[:4] if lines else 'none: the file is empty'}",
                        fix=f"Use GLUE's SST-2 files ({SST2_URL}); test.tsv has no labels and cannot be loaded.")
    text_col, label_col = columns.index("sentence"), columns.index("label")
    needed = max(text_col, label_col) + 1
    pairs, skipped = [], _Skipped(path)
    for number, raw in enumerate(lines[1:], start=2):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            skipped.add(_("bytes that are not valid UTF-8"), number)
            continue
        cells = line.split("\t")
        if not line.strip():
            skipped.add(_("nothing on it (an empty line)"), number)
        elif len(cells) < needed:
            skipped.add(_("missing fields ({n} of {total})").format(n=len(cells), total=len(header)), number)
        elif not cells[text_col].strip():
            skipped.add(_("an empty text"), number)
        elif cells[label_col].strip() not in ("0", "1"):
            skipped.add(_("a label other than 0/1"), number)
        else:
            pairs.append((cells[text_col].strip(), int(cells[label_col])))
    return pairs, skipped.notes()


def _imdb_file(split: str, data_dir, verify: bool) -> Path:
    if split not in ("train", "test"):
        raise ConfigError(f"Unknown IMDB split {split!r}.", expected="'train' or 'test' (the 50,000 unlabelled "
                          "reviews are not included)", received=f"split={split!r}", fix="Pass split='train'.")
    name = f"{split}.csv.gz"
    try:
        return resolve("imdb", name, sha256=IMDB_SHA256[name], data_dir=data_dir, verify=verify)
    except DataNotFoundError as e:
        raise DataNotFoundError(
            f"IMDB file `imdb/{name}` was not found; it cannot be downloaded, because this CSV layout is "
            f"derived from the official archive ({IMDB_URL}, one text file per review).",
            expected=e.expected, received=e.received,
            fix=f"Set TUJIE_DATA=/path/to/data (the folder holding `imdb/`) or pass data_dir=..., or copy "
                f"train.csv.gz and test.csv.gz to {cache_dir() / 'imdb'}.") from None


def load_imdb(data_dir=None, *, verify: bool = True) -> TextCorpus:
    """The IMDB movie-review corpus: 25,000 training and 25,000 test reviews, half of each positive.

    The texts are the reviews verbatim, `<br />` tags included (the tokenizers remove them).

    Args:
        data_dir: folder holding `imdb/`; default `$TUJIE_DATA`, then the cache.
        verify: check the files' SHA-256 (False for files you changed on purpose).

    Returns:
        A `TextCorpus` with classes ["negative", "positive"] (label 0 / 1).

    Example:
        >>> corpus = load_imdb()  # doctest: +SKIP
        >>> corpus.train[0][1], corpus.notes[0]  # doctest: +SKIP
        (0, 'IMDB: 25,000 training and 25,000 test reviews from /data/imdb.')
    """
    notes, splits = [], {}
    for split in ("train", "test"):
        path = _imdb_file(split, data_dir, verify)
        splits[split], skipped = read_imdb_csv(path)
        notes += skipped
    notes.insert(0, _("IMDB: {train} training and {test} test reviews from {folder}.").format(
        train=f"{len(splits['train']):,}", test=f"{len(splits['test']):,}", folder=path.parent))
    return TextCorpus(splits["train"], splits["test"], list(SENTIMENT_CLASSES), "imdb", notes)


def imdb_texts(data_dir=None, split: str = "train", *, verify: bool = True) -> list[str]:
    """Just the review texts of one IMDB split (for word2vec or GloVe training).

    Args:
        data_dir: as in `load_imdb`.
        split: "train" or "test".

    Returns:
        A list of 25,000 strings.

    Example:
        >>> len(imdb_texts(split="test"))  # doctest: +SKIP
        25000
    """
    pairs, _ = read_imdb_csv(_imdb_file(split, data_dir, verify))
    return [text for text, _ in pairs]


def _sst2_file(name: str, data_dir, verify: bool) -> Path:
    try:
        return resolve("sst2", name, sha256=SST2_SHA256[name], data_dir=data_dir, verify=verify)
    except DataNotFoundError:
        _fetch_sst2_archive(data_dir, name)
        return resolve("sst2", name, sha256=SST2_SHA256[name], data_dir=data_dir, verify=verify)


def _fetch_sst2_archive(data_dir, missing: str) -> None:
    """Find or download GLUE's SST-2.zip and extract train.tsv and dev.tsv into the cache."""
    import tempfile
    import zipfile

    try:
        archive = resolve("sst2", "SST-2.zip", urls=[SST2_URL], data_dir=data_dir)  # no published digest;
    except DataNotFoundError as e:  # the extracted files are checked against theirs instead
        places = [*search_paths("sst2", missing, data_dir), *search_paths("sst2", "SST-2.zip", data_dir)]
        raise DataNotFoundError(f"SST-2 file `sst2/{missing}` was not found, and neither was GLUE's SST-2.zip.",
                                expected=f"the file or the archive at one of: {', '.join(map(str, places))}",
                                received=e.received,
                                fix=f"Set TUJIE_DATA=/path/to/data (the folder holding `sst2/`) or pass data_dir=..., "
                                    f"or put SST-2.zip ({SST2_URL}) in {cache_dir() / 'sst2'}.") from None
    target = cache_dir() / "sst2"
    target.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as z, tempfile.TemporaryDirectory(dir=target) as tmp:
            for name in SST2_SHA256:
                member = next((m for m in z.namelist() if m.endswith(f"SST-2/{name}") or m == name), None)
                if member is None:
                    raise DataError(f"`{archive}` has no SST-2/{name}.", expected="GLUE's SST-2.zip",
                                    received=f"members {z.namelist()[:6]}", fix=f"Delete it and download {SST2_URL} again.")
                extracted = Path(z.extract(member, tmp))
                with atomic_path(target / name) as part:  # published by an atomic rename
                    os.replace(extracted, part)
    except zipfile.BadZipFile as e:
        raise DataError(f"`{archive}` is not a zip archive.", expected="GLUE's SST-2.zip", received=str(e),
                        fix=f"Delete it and download {SST2_URL} again.") from None


def load_sst2(data_dir=None, *, verify: bool = True) -> TextCorpus:
    """SST-2 (GLUE): 67,349 training sentences, and the 872 dev sentences as the test split.

    Args:
        data_dir: folder holding `sst2/`; default `$TUJIE_DATA`, then the cache (downloading
            GLUE's SST-2.zip when the files are nowhere).
        verify: check the files' SHA-256.

    Returns:
        A `TextCorpus` with classes ["negative", "positive"].

    Example:
        >>> corpus = load_sst2()  # doctest: +SKIP
        >>> len(corpus.train), len(corpus.test)  # doctest: +SKIP
        (67349, 872)
    """
    train_path, dev_path = (_sst2_file(name, data_dir, verify) for name in ("train.tsv", "dev.tsv"))
    train, train_notes = read_sst2_tsv(train_path)
    test, test_notes = read_sst2_tsv(dev_path)
    notes = [_("SST-2: {train} training sentences and {test} test sentences from {folder}.").format(
                 train=f"{len(train):,}", test=f"{len(test):,}", folder=train_path.parent),
             _("SST-2's `test` split is GLUE's dev.tsv: GLUE's own test.tsv has no labels."), *train_notes, *test_notes]
    return TextCorpus(train, test, list(SENTIMENT_CLASSES), "sst2", notes)
