"""Tokenizers: text -> token ids -> text, trained on the training split and saved with the run.

Three kinds share one interface (`train`, `encode`, `encode_batch`, `decode`, `save`, ...):

* `WordTokenizer`: lower-cased words, numbers and punctuation, and a vocabulary of the
  training split's words, most frequent first, cut by `min_freq` and `max_size`.
* `BPETokenizer`: subwords learnt by byte-pair encoding (Sennrich et al. 2016) with the
  Hugging Face `tokenizers` library, after the same lower-casing and word splitting; or, with
  `byte_level=True`, GPT-2's byte-level BPE, which decodes back to the exact text (spaces, case).
* `CharTokenizer`: one id per character, for Chinese (no word splitting needed) and
  character-level language models; spaces and newlines are characters too.

Every tokenizer reserves the same four special tokens at the same ids:

    <pad> 0   padding after the end of a shorter sequence in a batch
    <unk> 1   any token the training split did not teach (a rare word, an unseen character)
    <bos> 2   beginning of sequence (seq2seq decoders start from it)
    <eos> 3   end of sequence

so an embedding's `padding_idx=0` and a loss's `ignore_index=0` are right whatever the kind.

Documented behaviour on awkward input:

* Unknown tokens at prediction time become `<unk>` (id 1); `unknown_rate(texts)` measures
  how often that happens, a first check that new text resembles the training text.
* `encode(text, max_len=...)` truncates over-long texts and warns (`TruncationWarning`)
  saying how many tokens were dropped; `<eos>` stays the last token.
* An empty or whitespace-only text encodes to `[]` (plus `<bos>`/`<eos>` when asked for);
  `pad_sequences` refuses empty sequences, so drop empty texts before batching.
* Only `str` is accepted; `bytes` (for instance a non-UTF-8 line) is a `DataError` saying how to decode it.
* `load_tokenizer(run_dir)` raises a `DataNotFoundError` (a `DataError`) when the run
  directory has no `tokenizer.json`, and a `DataError` when the file is damaged.

Example:
    >>> tok = WordTokenizer().train(["The film was great!", "The plot was thin."])
    >>> tok.split("The film was GREAT!<br />Really.")
    ['the', 'film', 'was', 'great', '!', 'really', '.']
    >>> ids = tok.encode("the film was dull", add_bos=True, add_eos=True)
    >>> ids
    [2, 4, 8, 5, 1, 3]
    >>> tok.decode(ids)
    'the film was <unk>'
"""

from __future__ import annotations

import json
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from .._io import write_text
from ..errors import ConfigError, DataError, DataNotFoundError, closest

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")  # ids 0, 1, 2, 3 in every tokenizer
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

TOKENIZER_FILENAME = "tokenizer.json"  # the name `save(run_dir)` writes and `load_tokenizer(run_dir)` reads
FILE_FORMAT = "tujie-tokenizer"
FILE_VERSION = 1

# Tags such as <br />, <br/>, <i>, </i> (IMDB reviews are full of <br /><br />); no attributes,
# so "a < b and c > d" is left alone.
HTML_TAG = r"</?[A-Za-z][A-Za-z0-9]*\s*/?>"

# One token, tried in this order at each position:
#   1. a French/Italian-style elision at the start of a word: l' d' j' c' n' s' m' t' qu' ("l'homme" ->
#      "l'", "homme"), so the noun is shared with "homme" instead of a new "l'homme" entry;
#   2. a number with decimal or thousands separators ("3.5", "1,000");
#   3. a word of unicode letters/digits, keeping apostrophes inside it ("don't", "aujourd'hui", "straße");
#   4. a run of the same punctuation mark ("...", "!!!"), else any other single symbol ("?", "/", "(").
# English contractions with "i" ("i'm", "i've") stay whole because "i" is not in the elision list.
TOKEN_PATTERN = (r"(?i:\b(?:qu|[cdjlmnst])')(?=\w)"
                 r"|\d+(?:[.,]\d+)+"
                 r"|\w+(?:'\w+)*"
                 r"|\.+|!+|\?+|-+|\*+|=+|_+|~+|[^\w\s]")
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_HTML_RE = re.compile(HTML_TAG)

__all__ = ["SPECIALS", "PAD_ID", "UNK_ID", "BOS_ID", "EOS_ID", "TOKENIZER_FILENAME", "TruncationWarning",
           "WordTokenizer", "CharTokenizer", "BPETokenizer", "build_tokenizer", "load_tokenizer"]


class TruncationWarning(UserWarning):
    """A text had more tokens than `max_len`; the extra tokens were dropped."""


def _check_int(name: str, value, minimum: int, owner: str, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"Invalid value received for `{name}` of {owner}.",
                          expected=f"an integer >= {minimum}" + (" or None" if allow_none else ""),
                          received=f"{name}={value!r}", fix=f"Pass {name}={max(minimum, 2)}, for example.")


def _check_text(text, where: str = "") -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray)):
        raise DataError(f"A text{where} is bytes, not a string.", expected="str",
                        received=f"{bytes(text[:40])!r}",
                        fix="Decode it first: text.decode('utf-8') (or errors='replace' for a file that is not "
                            "valid UTF-8).")
    raise DataError(f"A text{where} is not a string.", expected="str", received=f"{type(text).__name__}: {text!r:.60}",
                    fix="Pass the texts as a list of strings.")


def _as_id_list(ids) -> list[int]:
    if hasattr(ids, "tolist"):  # a tensor or numpy array
        ids = ids.tolist()
    ids = list(ids)
    if ids and isinstance(ids[0], (list, tuple)):
        raise DataError("decode/tokens take one sequence of ids, not a batch.", expected="a 1-D list or tensor of ids",
                        received=f"a batch of {len(ids)} sequences", fix="Call it per row: [tok.decode(row) for row in batch].")
    return ids


class _Tokenizer:
    """Shared behaviour: specials, truncation with a warning, decoding, saving."""

    kind = ""
    pad_id, unk_id, bos_id, eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID
    specials = SPECIALS

    # ---- what each kind provides --------------------------------------------------------------
    def _train(self, texts: list[str]) -> None:
        raise NotImplementedError

    def _encode_one(self, text: str) -> list[int]:
        raise NotImplementedError

    def _encode_many(self, texts: list[str]) -> list[list[int]]:
        return [self._encode_one(t) for t in texts]

    def _decode_ids(self, ids: list[int]) -> str:
        raise NotImplementedError

    def _vocab_size(self) -> int:
        raise NotImplementedError

    @property
    def options(self) -> dict:
        """The constructor's arguments, as saved in the tokenizer file."""
        raise NotImplementedError

    # ---- shared interface ---------------------------------------------------------------------
    @property
    def is_trained(self) -> bool:
        return getattr(self, "trained_on_", None) is not None

    def _require_trained(self, action: str) -> None:
        if not self.is_trained:
            name = type(self).__name__
            raise ConfigError(f"{name} cannot {action} before it is trained.", expected="a trained tokenizer",
                              received=f"an untrained {name}",
                              fix="Call tok.train(training_texts) first, or reload a trained one with "
                                  "load_tokenizer(run_dir).")

    @property
    def vocab_size(self) -> int:
        """Number of token ids, specials included (the size of the embedding table)."""
        self._require_trained("report its vocabulary size")
        return self._vocab_size()

    def train(self, texts: Iterable[str]):
        """Learn the vocabulary from `texts` (the training split only); returns self.

        Args:
            texts: an iterable of strings.

        Returns:
            self, trained.
        """
        texts = [_check_text(t, f" at index {i} of the training texts") for i, t in enumerate(texts)]
        if not any(t.strip() for t in texts):
            raise DataError(f"{type(self).__name__}.train received no text.",
                            expected="an iterable of non-empty strings (the training split)",
                            received=f"{len(texts)} texts, all empty", fix="Pass the training texts, e.g. "
                            "[text for text, label in corpus.train].")
        self._train(texts)
        self.trained_on_ = len(texts)
        return self

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False, max_len: int | None = None) -> list[int]:
        """The token ids of one text.

        Args:
            text: a string. Empty or whitespace-only text gives `[]` (plus the specials asked for).
            add_bos, add_eos: put `<bos>` (2) first / `<eos>` (3) last.
            max_len: keep at most this many ids, `<bos>`/`<eos>` included (`<eos>` stays last);
                a longer text is truncated with a `TruncationWarning`.

        Returns:
            A list of ints; words the training split did not teach become `<unk>` (1).
        """
        self._require_trained("encode")
        self._check_max_len(max_len, add_bos, add_eos)
        ids = self._encode_one(_check_text(text))
        out, cut = self._finish(ids, add_bos, add_eos, max_len)
        if cut:
            warnings.warn(f"A text of {cut} tokens was truncated to max_len={max_len} (counting <bos>/<eos>): "
                          f"its last {cut - (max_len - add_bos - add_eos)} tokens were dropped. "
                          f"Pass a larger max_len to keep them.", TruncationWarning, stacklevel=2)
        return out

    def encode_batch(self, texts, *, add_bos: bool = False, add_eos: bool = False,
                     max_len: int | None = None) -> list[list[int]]:
        """`encode` for many texts; one `TruncationWarning` for the whole batch says how many were cut.

        Args:
            texts: an iterable of strings.
            add_bos, add_eos, max_len: as in `encode`.

        Returns:
            One list of ids per text.
        """
        self._require_trained("encode")
        self._check_max_len(max_len, add_bos, add_eos)
        texts = [_check_text(t, f" at index {i}") for i, t in enumerate(texts)]
        results, cut = [], []
        for ids in self._encode_many(texts):
            out, n = self._finish(ids, add_bos, add_eos, max_len)
            results.append(out)
            if n:
                cut.append(n)
        if cut:
            warnings.warn(f"{len(cut):,} of {len(texts):,} texts were longer than max_len={max_len} tokens (counting "
                          f"<bos>/<eos>) and were truncated; the longest had {max(cut):,}. Pass a larger max_len "
                          f"to keep more.", TruncationWarning, stacklevel=2)
        return results

    def _check_max_len(self, max_len, add_bos, add_eos) -> None:
        if max_len is not None:
            _check_int("max_len", max_len, 1 + bool(add_bos) + bool(add_eos), type(self).__name__)

    @staticmethod
    def _finish(ids: list[int], add_bos: bool, add_eos: bool, max_len: int | None) -> tuple[list[int], int]:
        """Add the specials and truncate; also the full length when truncated (else 0)."""
        full = len(ids) + bool(add_bos) + bool(add_eos)
        cut = 0
        if max_len is not None and full > max_len:
            ids, cut = ids[:max_len - bool(add_bos) - bool(add_eos)], full
        return ([BOS_ID] if add_bos else []) + ids + ([EOS_ID] if add_eos else []), cut

    def decode(self, ids, *, skip_special: bool = True) -> str:
        """Text from ids. Approximate: tokens are joined by single spaces ("great !"), case is lost.

        Args:
            ids: a list or 1-D tensor of ids.
            skip_special: leave out `<pad>`, `<bos>` and `<eos>`. `<unk>` is always shown, so a
                reader sees where the vocabulary ran out.

        Returns:
            A string.
        """
        self._require_trained("decode")
        ids = self._checked_ids(ids)
        if skip_special:
            ids = [i for i in ids if i not in (PAD_ID, BOS_ID, EOS_ID)]
        return self._decode_ids(ids)

    def tokens(self, ids) -> list[str]:
        """The token string of each id (specials included).

        Args:
            ids: a list or 1-D tensor of ids.

        Returns:
            A list of strings.
        """
        self._require_trained("look up tokens")
        return [self.id_to_token(i) for i in self._checked_ids(ids)]

    def _checked_ids(self, ids) -> list[int]:
        ids = _as_id_list(ids)
        size = self._vocab_size()
        bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < size]
        if bad:
            raise DataError("Token ids out of the vocabulary's range.", expected=f"integers in 0..{size - 1}",
                            received=f"{bad[:5]}", fix="Decode ids produced by this same tokenizer (reload it "
                            "from the run directory that trained the model).")
        return ids

    def unknown_rate(self, texts) -> float:
        """Share of tokens mapped to `<unk>` in `texts` (0.0 when they hold no token at all).

        Args:
            texts: an iterable of strings (or one string).

        Returns:
            A float in [0, 1].
        """
        self._require_trained("measure unknown tokens")
        texts = [texts] if isinstance(texts, str) else [_check_text(t, f" at index {i}") for i, t in enumerate(texts)]
        total = unknown = 0
        for ids in self._encode_many(texts):
            total += len(ids)
            unknown += ids.count(UNK_ID)
        return unknown / total if total else 0.0

    def save(self, path) -> Path:
        """Write the tokenizer as JSON (atomically); a folder (the run directory) gets `tokenizer.json`.

        Args:
            path: a file ending in `.json`, or a folder.

        Returns:
            The path of the file written.
        """
        self._require_trained("be saved")
        path = Path(path)
        if path.suffix.lower() != ".json":
            path = path / TOKENIZER_FILENAME
        state = {"format": FILE_FORMAT, "version": FILE_VERSION, "kind": self.kind, "options": self.options,
                 "trained_on_texts": self.trained_on_, **self._state()}
        return write_text(path, json.dumps(state, ensure_ascii=False, indent=1) + "\n")

    def _state(self) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        size = f", vocab_size={self._vocab_size():,}" if self.is_trained else ", untrained"
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.items())}{size})"


class WordTokenizer(_Tokenizer):
    """Words, numbers and punctuation, with a frequency-cut vocabulary of the training split.

    Splitting: optional removal of HTML tags such as `<br />`, optional lower-casing, then
    the regular expression `TOKEN_PATTERN`: unicode words (so French and German text work;
    apostrophes inside a word are kept: "don't", "aujourd'hui"), a leading French elision
    as its own token ("l'homme" -> "l'", "homme"), numbers ("3.5"), runs of one punctuation
    mark ("...") and other symbols, each a separate token. Typographic apostrophes (’) become '.

    Args:
        lower: lower-case the text first.
        strip_html: replace HTML tags (`<br />`, `<i>`, ...) by a space.
        min_freq: a word must occur at least this often in the training texts to get an id.
        max_size: at most this many ids in all, the 4 specials included (None: no cap).

    Example:
        >>> tok = WordTokenizer(min_freq=2).train(["a b b c", "b c d"])
        >>> tok.tokens(range(tok.vocab_size))
        ['<pad>', '<unk>', '<bos>', '<eos>', 'b', 'c']
        >>> WordTokenizer().split("L'homme n'a pas dit « non »... Straße 3.5!")
        ["l'", 'homme', "n'", 'a', 'pas', 'dit', '«', 'non', '»', '...', 'straße', '3.5', '!']
    """

    kind = "word"

    def __init__(self, lower: bool = True, strip_html: bool = True, min_freq: int = 1, max_size: int | None = None):
        _check_int("min_freq", min_freq, 1, "WordTokenizer")
        _check_int("max_size", max_size, len(SPECIALS) + 1, "WordTokenizer", allow_none=True)
        self.lower, self.strip_html, self.min_freq, self.max_size = bool(lower), bool(strip_html), min_freq, max_size

    @property
    def options(self) -> dict:
        return {"lower": self.lower, "strip_html": self.strip_html, "min_freq": self.min_freq, "max_size": self.max_size}

    def split(self, text: str) -> list[str]:
        """The token strings of `text` (no vocabulary needed).

        Args:
            text: a string.

        Returns:
            A list of strings.

        Example:
            >>> WordTokenizer().split("Don't miss it: 10/10.<br /><br />Loved it!!!")
            ["don't", 'miss', 'it', ':', '10', '/', '10', '.', 'loved', 'it', '!!!']
        """
        text = _check_text(text)
        if self.strip_html:
            text = _HTML_RE.sub(" ", text)
        if not text.isascii():
            text = unicodedata.normalize("NFC", text).replace("\u2019", "'")  # é as one character; ’ as '
        if self.lower:
            text = text.lower()
        return _TOKEN_RE.findall(text)

    def _train(self, texts: list[str]) -> None:
        counts = Counter()
        for text in texts:
            counts.update(self.split(text))
        for special in SPECIALS:  # a literal "<unk>" in the text must not get a second id
            counts.pop(special, None)
        kept = sorted((t for t, c in counts.items() if c >= self.min_freq), key=lambda t: (-counts[t], t))
        if self.max_size is not None:
            kept = kept[:self.max_size - len(SPECIALS)]
        self._set_vocabulary(list(SPECIALS) + kept, [0] * len(SPECIALS) + [counts[t] for t in kept])

    def _set_vocabulary(self, vocabulary: list[str], counts: list[int]) -> None:
        self.vocabulary_ = vocabulary  # id -> token
        self.counts_ = counts  # id -> frequency in the training texts (0 for specials)
        self._index = {t: i for i, t in enumerate(vocabulary)}  # token -> id

    def _encode_one(self, text: str) -> list[int]:
        get = self._index.get
        return [get(t, UNK_ID) for t in self.split(text)]

    def _decode_ids(self, ids: list[int]) -> str:
        return " ".join(self.vocabulary_[i] for i in ids)

    def _vocab_size(self) -> int:
        return len(self.vocabulary_)

    def token_to_id(self, token: str) -> int:
        """The id of `token`, or `UNK_ID` (1) when it is not in the vocabulary."""
        self._require_trained("look up tokens")
        return self._index.get(token, UNK_ID)

    def id_to_token(self, i: int) -> str:
        """The token string of id `i`."""
        self._require_trained("look up tokens")
        return self.vocabulary_[self._checked_ids([i])[0]]

    def _state(self) -> dict:
        return {"vocabulary": self.vocabulary_, "counts": self.counts_}

    @classmethod
    def _from_state(cls, state: dict, path: Path) -> "WordTokenizer":
        tok = cls(**state["options"])
        vocabulary, counts = state.get("vocabulary"), state.get("counts") or [0] * len(state.get("vocabulary") or [])
        if (not isinstance(vocabulary, list) or not all(isinstance(t, str) for t in vocabulary)
                or tuple(vocabulary[:len(SPECIALS)]) != SPECIALS or len(set(vocabulary)) != len(vocabulary)
                or len(counts) != len(vocabulary)):
            raise _damaged(path, "its vocabulary is not a list of distinct strings starting with "
                                 f"{', '.join(SPECIALS)}")
        tok._set_vocabulary(vocabulary, counts)
        tok.trained_on_ = state.get("trained_on_texts", 0)
        return tok


class CharTokenizer(WordTokenizer):
    """One id per character: Chinese needs no word splitting, and a character model needs nothing else.

    The vocabulary is the training texts' characters, most frequent first, cut by `min_freq` and
    `max_size`; spaces, punctuation and newlines are characters like any other, so decoding gives
    the text back exactly (unknown characters as `<unk>`). Unlike the word tokenizers, a
    whitespace-only text is not empty: " \\n" is two tokens.

    Args:
        min_freq: a character must occur at least this often in the training texts to get an id.
        max_size: at most this many ids in all, the 4 specials included (None: no cap).

    Example:
        >>> tok = CharTokenizer().train(["床前明月光，\\n疑是地上霜。"])
        >>> tok.vocab_size, tok.decode(tok.encode("明月光，\\n"))
        (17, '明月光，\\n')
        >>> tok.encode("明月光照"), tok.unknown_characters("明月光照我")
        ([11, 13, 7, 1], ['照', '我'])
    """

    kind = "char"

    def __init__(self, min_freq: int = 1, max_size: int | None = None):
        _check_int("min_freq", min_freq, 1, "CharTokenizer")
        _check_int("max_size", max_size, len(SPECIALS) + 1, "CharTokenizer", allow_none=True)
        self.lower, self.strip_html, self.min_freq, self.max_size = False, False, min_freq, max_size

    @property
    def options(self) -> dict:
        return {"min_freq": self.min_freq, "max_size": self.max_size}

    def split(self, text: str) -> list[str]:
        """The characters of `text`, NFC-normalised (an accented letter is one character)."""
        text = _check_text(text)
        return list(text if text.isascii() else unicodedata.normalize("NFC", text))

    def _decode_ids(self, ids: list[int]) -> str:
        return "".join(self.vocabulary_[i] for i in ids)

    def unknown_characters(self, text: str) -> list[str]:
        """The characters of `text` that are not in the vocabulary, in order, each once."""
        self._require_trained("look up characters")
        return list(dict.fromkeys(c for c in self.split(text) if c not in self._index))


class BPETokenizer(_Tokenizer):
    """Subword byte-pair encoding learnt with the `tokenizers` library (Sennrich et al. 2016).

    The text is cleaned and split into words exactly like `WordTokenizer` (HTML tags removed,
    lower-cased, the same `TOKEN_PATTERN`); BPE then learns to spell each word from the most
    frequent character pairs, so a rare word becomes a few known pieces instead of `<unk>`.
    Word ends carry the suffix `</w>`, which decoding turns back into a space. Only a
    character the training texts never contained becomes `<unk>`.

    Args:
        vocab_size: the target number of ids, specials and single characters included.
        min_freq: a pair must occur at least this often to be merged.
        lower, strip_html: as in `WordTokenizer`.
        byte_level: GPT-2's byte-level BPE instead (Radford et al. 2019): the 256 bytes are the
            first alphabet, a word keeps its leading space ("Ġfilm"), nothing is `<unk>`, and
            decoding gives the exact text back: what a language model needs to write readable
            English (pass lower=False too, to keep the case).

    Example:
        >>> tok = BPETokenizer(vocab_size=40).train(["the lowest, the newest", "new and low", "newer or lower"] * 5)
        >>> [tok.id_to_token(i) for i in range(4)]
        ['<pad>', '<unk>', '<bos>', '<eos>']
        >>> tok.tokens(tok.encode("slower, renewed"))  # "slower" never seen: spelt from known pieces
        ['s', 'lower</w>', ',</w>', 'r', 'e', 'ne', 'we', 'd</w>']
        >>> tok.decode(tok.encode("slower, renewed"))
        'slower , renewed'
        >>> gpt2 = BPETokenizer(vocab_size=300, lower=False, byte_level=True).train(["The film was great, I loved it."] * 5)
        >>> gpt2.decode(gpt2.encode("The film, I LOVED it!"))
        'The film, I LOVED it!'
    """

    kind = "bpe"

    def __init__(self, vocab_size: int = 8000, min_freq: int = 2, lower: bool = True, strip_html: bool = True,
                 byte_level: bool = False):
        _check_int("vocab_size", vocab_size, len(SPECIALS) + 1, "BPETokenizer")
        _check_int("min_freq", min_freq, 1, "BPETokenizer")
        # `vocab_size` (the property) is the trained size; the requested one is kept apart.
        self.target_vocab_size, self.min_freq = vocab_size, min_freq
        self.lower, self.strip_html, self.byte_level = bool(lower), bool(strip_html), bool(byte_level)

    @property
    def options(self) -> dict:
        return {"vocab_size": self.target_vocab_size, "min_freq": self.min_freq, "lower": self.lower,
                "strip_html": self.strip_html, "byte_level": self.byte_level}

    def _new_tokenizer(self):
        from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

        steps = [normalizers.Replace(Regex(HTML_TAG), " ")] if self.strip_html else []
        steps += [normalizers.NFC(), normalizers.Replace("\u2019", "'")]
        steps += [normalizers.Lowercase()] if self.lower else []
        if self.byte_level:  # GPT-2: bytes, the space kept at the front of each word, an exact decoder
            tok = Tokenizer(models.BPE())
            tok.normalizer = normalizers.Sequence(steps)
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            tok.decoder = decoders.ByteLevel()
            return tok
        tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
        tok.normalizer = normalizers.Sequence(steps)
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                     pre_tokenizers.Split(Regex(TOKEN_PATTERN), behavior="isolated")])
        tok.decoder = decoders.BPEDecoder(suffix="</w>")
        return tok

    def split(self, text: str) -> list[str]:
        """The words BPE sees in `text`, before it cuts them into subwords.

        Example:
            >>> BPETokenizer().split("Great!<br />Loved it")
            ['great', '!', 'loved', 'it']
        """
        text = _check_text(text)
        tok = getattr(self, "_tok", None) or self._new_tokenizer()
        return [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(text))]

    def _train(self, texts: list[str]) -> None:
        from tokenizers import pre_tokenizers, trainers

        tok = self._new_tokenizer()
        word_ends = ({"initial_alphabet": pre_tokenizers.ByteLevel.alphabet()} if self.byte_level
                     else {"end_of_word_suffix": "</w>"})
        trainer = trainers.BpeTrainer(vocab_size=self.target_vocab_size, min_frequency=self.min_freq,
                                      special_tokens=list(SPECIALS), show_progress=False, **word_ends)
        tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
        self._tok = tok

    def _encode_one(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def _encode_many(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def _decode_ids(self, ids: list[int]) -> str:
        # The library's decoder glues a special token (no `</w>`) to the next word; decode the runs
        # of ordinary ids with it and put the specials between them, space-separated.
        parts, run = [], []
        for i in ids:
            if i < len(SPECIALS):
                parts += [self._tok.decode(run), SPECIALS[i]] if run else [SPECIALS[i]]
                run = []
            else:
                run.append(i)
        if run:
            parts.append(self._tok.decode(run))
        if self.byte_level:  # the spaces are in the text itself
            return "".join(parts)
        return " ".join(p.strip() for p in parts if p.strip())

    def _vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def token_to_id(self, token: str) -> int:
        """The id of the subword `token` (word ends spelled with `</w>`), or `UNK_ID` when unknown."""
        self._require_trained("look up tokens")
        i = self._tok.token_to_id(token)
        return UNK_ID if i is None else i

    def id_to_token(self, i: int) -> str:
        """The subword string of id `i` ("movie</w>" ends a word)."""
        self._require_trained("look up tokens")
        return self._tok.id_to_token(self._checked_ids([i])[0])

    def _state(self) -> dict:
        return {"tokenizer": json.loads(self._tok.to_str())}

    @classmethod
    def _from_state(cls, state: dict, path: Path) -> "BPETokenizer":
        from tokenizers import Tokenizer

        tok = cls(**state["options"])
        try:
            tok._tok = Tokenizer.from_str(json.dumps(state["tokenizer"]))
        except Exception as e:  # the library raises plain Exceptions for a malformed tokenizer
            raise _damaged(path, f"its `tokenizer` entry is not a valid `tokenizers` JSON ({e})") from None
        if [tok._tok.id_to_token(i) for i in range(len(SPECIALS))] != list(SPECIALS):
            raise _damaged(path, f"ids 0..3 are not {', '.join(SPECIALS)}")
        tok.trained_on_ = state.get("trained_on_texts", 0)
        return tok


KINDS = {"word": WordTokenizer, "bpe": BPETokenizer, "char": CharTokenizer}


def build_tokenizer(kind: str = "word", **options):
    """An untrained tokenizer of `kind` ("word", "bpe" or "char") with the given options.

    Args:
        kind: "word" (`WordTokenizer`), "bpe" (`BPETokenizer`) or "char" (`CharTokenizer`).
        **options: the chosen class's arguments (min_freq, max_size / vocab_size, lower, strip_html, byte_level).

    Returns:
        A `WordTokenizer`, `BPETokenizer` or `CharTokenizer`; call `.train(texts)` next.

    Example:
        >>> build_tokenizer("word", min_freq=2)
        WordTokenizer(lower=True, strip_html=True, min_freq=2, max_size=None, untrained)
        >>> build_tokenizer("wordpiece")
        Traceback (most recent call last):
        ...
        tujie.errors.ConfigError: Unknown tokenizer kind 'wordpiece'. Expected: one of 'word', 'bpe', 'char'. Received: kind='wordpiece'. Fix: Pass kind='word', 'bpe' or 'char'. Did you mean 'word'?
    """
    if kind not in KINDS:
        raise ConfigError(f"Unknown tokenizer kind {kind!r}.", expected=f"one of {', '.join(map(repr, KINDS))}",
                          received=f"kind={kind!r}",
                          fix=f"Pass kind='word', 'bpe' or 'char'. {closest(str(kind), KINDS)}".strip())
    cls = KINDS[kind]
    valid = list(cls().options)
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise ConfigError(f"Unknown option(s) {', '.join(map(repr, unknown))} for the {kind!r} tokenizer.",
                          expected=f"some of {', '.join(valid)}", received=f"{options}",
                          fix=f"Remove them. {closest(unknown[0], valid)}".strip())
    return cls(**options)


def load_tokenizer(path) -> WordTokenizer | BPETokenizer | CharTokenizer:
    """Reload a tokenizer written by `save`, from its file or from the run directory holding it.

    Args:
        path: a `.json` file or a folder containing `tokenizer.json`.

    Returns:
        The trained `WordTokenizer` or `BPETokenizer`.

    Raises:
        DataNotFoundError: the file does not exist (a `DataError` and a `FileNotFoundError`).
        DataError: the file is not a tokenizer file, or is damaged.

    Example:
        >>> import tempfile
        >>> run_dir = Path(tempfile.mkdtemp())
        >>> _ = WordTokenizer().train(["hello world"]).save(run_dir)
        >>> load_tokenizer(run_dir).encode("hello there")
        [4, 1]
    """
    path = Path(path)
    file = path if path.suffix.lower() == ".json" and not path.is_dir() else path / TOKENIZER_FILENAME
    if not file.is_file():
        folder = file.parent
        there = (f"the folder holds {', '.join(sorted(p.name for p in folder.iterdir())[:8]) or 'nothing'}"
                 if folder.is_dir() else "the folder does not exist")
        raise DataNotFoundError(f"No tokenizer in the run directory `{folder}`.",
                                expected=f"the file {file} written when the run trained its tokenizer",
                                received=there,
                                fix="Pass the directory of the run that trained the model (the tokenizer is "
                                    "saved there when training starts), or train one and call tok.save(run_dir).")
    try:
        state = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _damaged(file, f"it is not valid UTF-8 JSON ({e})") from None
    if not isinstance(state, dict) or state.get("format") != FILE_FORMAT:
        raise _damaged(file, f"it has no \"format\": \"{FILE_FORMAT}\" entry, so it was not written by "
                             "tujie's tokenizer save()")
    kind = state.get("kind")
    if kind not in KINDS or not isinstance(state.get("options"), dict):
        raise _damaged(file, f"its kind is {kind!r} (expected one of {', '.join(map(repr, KINDS))}) or it has "
                             "no options")
    if state.get("version", 0) > FILE_VERSION:
        raise DataError(f"`{file}` was written by a newer tujie (tokenizer file version {state['version']}).",
                        expected=f"version {FILE_VERSION} or older", received=f"version {state['version']}",
                        fix="Upgrade tujie to read it.")
    try:
        return KINDS[kind]._from_state(state, file)
    except (TypeError, ConfigError) as e:  # options the constructor refuses
        raise _damaged(file, f"its options are invalid ({e})") from None


def _damaged(path: Path, why: str) -> DataError:
    return DataError(f"The tokenizer file `{path}` is damaged: {why}.",
                     expected="a tokenizer JSON written by WordTokenizer.save or BPETokenizer.save",
                     received=f"{path.stat().st_size:,} bytes" if path.is_file() else "no file",
                     fix="Restore it from a backup of the run, or retrain: the model's embedding ids only "
                         "match the tokenizer it was trained with.")
