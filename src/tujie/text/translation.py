"""Translation with the seq2seq models: beam search, a `Translator`, BLEU by sentence length, attention heatmaps.

The pieces, in the order a sentence meets them:

* `encode_pairs`: sentence pairs → ids. A source is its tokens then `<eos>`; a target is
  `<bos>`, its tokens, `<eos>`. The `Translator` encodes new sources the same way.
* the model's own `train_step` (teacher forcing, `tujie.models.seq2seq`) learns from them.
* `beam_search`: the decoder runs one token at a time through the models' `start_decoding` /
  `decode_step` / `reorder_cache`, for every sentence and every beam in one batch. Finished
  hypotheses are kept; the best by log-probability / GNMT length penalty
  ((5 + length) / 6) ** alpha (Wu et al. 2016) wins. beam=1 is greedy search.
* `Translator.translate("...")`: text in, text out, refusing a request for the wrong language
  direction, warning when most words are unknown or the sentence is too long.
* `bleu`: sacreBLEU on detokenised output against the references, overall and by source length.
* `attention_heatmap`: where the decoder looked, target words × source words.
* `save_translator` / `load_translator`: tokenizers, direction and model settings beside the
  run's `best.safetensors`.

Example:
    >>> import tujie as tj
    >>> from tujie.text import WordTokenizer
    >>> pairs = [("un chat", "a cat"), ("deux chats", "two cats")]
    >>> src_tok = WordTokenizer().train([s for s, _ in pairs])
    >>> tgt_tok = WordTokenizer().train([t for _, t in pairs])
    >>> model = tj.models.create("seq2seq_gru_attention", src_vocab_size=src_tok.vocab_size,
    ...                          tgt_vocab_size=tgt_tok.vocab_size, embed_dim=8, hidden_size=16)
    >>> translator = Translator(model, src_tok, tgt_tok, src_lang="fr", tgt_lang="en", max_len=10)
    >>> isinstance(translator.translate("un chat", beam=3), str)  # untrained: some English words
    True
"""

from __future__ import annotations

import importlib
import json
import math
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .._io import write_json
from ..errors import CheckpointError, ConfigError, DataError

TRANSLATOR_FILE = "translator.json"
SRC_TOKENIZER_FILE = "src_tokenizer.json"
TGT_TOKENIZER_FILE = "tgt_tokenizer.json"
WEIGHTS_FILE = "best.safetensors"
FILE_FORMAT = "tujie-translator-1"

LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "zh": "Chinese"}
_LANGUAGE_ALIASES = {"eng": "en", "english": "en", "fra": "fr", "fre": "fr", "french": "fr", "deu": "de", "ger": "de",
                     "german": "de", "spa": "es", "spanish": "es", "ita": "it", "italian": "it", "zho": "zh", "chi": "zh",
                     "chinese": "zh"}
LENGTH_BUCKETS = (5, 10, 15, 20, 30)  # source words: 1-5, 6-10, 11-15, 16-20, 21-30, 31+


def language_code(name: str) -> str:
    """"fr" from "fr", "FR", "fra" or "French".

    Example:
        >>> language_code("French"), language_code("de")
        ('fr', 'de')
    """
    key = str(name).strip().lower()
    return _LANGUAGE_ALIASES.get(key, key)


def _language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


# ------------------------------------------------------------------------------------------ search
def gnmt_length_penalty(length, alpha: float):
    """((5 + length) / 6) ** alpha, the divisor of a hypothesis' log-probability (Wu et al. 2016, eq. 14).

    alpha = 0 ranks by log-probability alone, which favours short outputs (every token costs
    probability); larger alpha favours longer ones. GNMT uses 0.6 to 0.7.

    Example:
        >>> gnmt_length_penalty(1, 0.6), round(gnmt_length_penalty(10, 0.6), 3)
        (1.0, 1.733)
    """
    return ((5.0 + length) / 6.0) ** alpha


@dataclass
class SearchResult:
    """What a search found for each sentence of a batch.

    Attributes:
        ids: (batch, n) token ids without the leading bos; a row keeps its eos and is padded after it.
        scores: (batch,) log-probability / length penalty of each row (the plain log-probability when alpha = 0).
        lengths: (batch,) tokens per row, eos included.
        attention: per row, (length, src_len) attention weights, or None (not asked for, or a model without attention).
    """

    ids: torch.Tensor
    scores: torch.Tensor
    lengths: torch.Tensor
    attention: list[torch.Tensor] | None = None


def beam_decode(step, batch_size: int, beam: int, max_len: int, bos_id: int, eos_id: int, pad_id: int = 0,
                length_penalty: float = 0.6, device=None) -> SearchResult:
    """Beam search over any next-token model given as a step function; every sentence and beam in one batch.

    Rows are sentence-major: row b * beam + j is hypothesis j of sentence b. At each step the
    2 * beam best continuations of each sentence are ranked; those among the first `beam` that
    end in eos are finished (scored log-prob / ((5 + length) / 6) ** length_penalty, length
    counting eos), the best `beam` others go on. A sentence is done once `beam` hypotheses
    finished (so beam=1 stops where greedy search stops, and equals it); at `max_len` the
    unfinished hypotheses compete as they are.

    Args:
        step: `step(prefix (rows, t), parents) -> (log_probs (rows, vocab), attention (rows, src_len) or None)`.
            `parents` (rows,) says which row of the previous call each row continues (None on
            the first call), so a step function with a cache reorders it.
        batch_size: sentences.
        beam: hypotheses kept per sentence.
        max_len: most tokens generated per sentence, eos included.
        bos_id, eos_id, pad_id: the special ids.
        length_penalty: GNMT's alpha (>= 0).

    Returns:
        A `SearchResult` (attention when `step` returns it).

    Example:
        >>> # after bos (0): token 1 (p .6) then eos (3) with p .55; token 2 (p .4) then eos for sure
        >>> table = torch.tensor([[0., .6, .4, 0.], [0., .45, 0., .55], [0., 0., 0., 1.], [0., 0., 0., 1.]]).log()
        >>> step = lambda prefix, parents: (table[prefix[:, -1]], None)
        >>> beam_decode(step, 1, beam=1, max_len=5, bos_id=0, eos_id=3, length_penalty=0.0).ids.tolist()  # greedy
        [[1, 3]]
        >>> beam_decode(step, 1, beam=2, max_len=5, bos_id=0, eos_id=3, length_penalty=0.0).ids.tolist()  # p .4 > .33
        [[2, 3]]
    """
    k, rows = beam, batch_size * beam
    prefix = torch.full((rows, 1), bos_id, dtype=torch.long, device=device)  # (rows, 1)
    scores = torch.full((batch_size, k), -math.inf, device=device)  # (batch, beam): summed log-probs
    scores[:, 0] = 0.0  # the copies of a sentence start equal: only the first may expand, or all beams would be the same
    best_scores = torch.full((batch_size,), -math.inf, device=device)  # (batch,)
    best_ids = torch.full((batch_size, max_len), pad_id, dtype=torch.long, device=device)  # (batch, max_len)
    best_lengths = torch.zeros(batch_size, dtype=torch.long, device=device)  # (batch,)
    best_attention: list[torch.Tensor | None] = [None] * batch_size
    finished = torch.zeros(batch_size, dtype=torch.long, device=device)  # (batch,) finished hypotheses
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)  # (batch,)
    history, parents = None, None  # attention so far (rows, t, src_len)
    sentence_rows = torch.arange(batch_size, device=device)[:, None] * k  # (batch, 1)

    def keep_if_better(b: int, score: float, row: int, tokens: torch.Tensor) -> None:
        if score > best_scores[b]:
            best_scores[b], best_lengths[b] = score, len(tokens)
            best_ids[b] = pad_id
            best_ids[b, :len(tokens)] = tokens
            best_attention[b] = None if history is None else history[row]  # (length, src_len)

    for t in range(max_len):
        log_probs, attention = step(prefix, parents)  # (rows, vocab), (rows, src_len) or None
        vocab = log_probs.shape[-1]
        if attention is not None:
            history = attention[:, None] if history is None else torch.cat([history, attention[:, None]], dim=1)  # (rows, t+1, src_len)
        candidates = (scores.reshape(rows, 1) + log_probs.float()).reshape(batch_size, k * vocab)  # (batch, beam * vocab)
        top_scores, top_index = candidates.topk(min(2 * k, k * vocab), dim=1)  # (batch, 2 * beam)
        tokens, top_rows = top_index % vocab, sentence_rows + top_index // vocab  # (batch, 2 * beam) each
        is_eos = tokens == eos_id
        finishing = is_eos[:, :k] & ~done[:, None] & top_scores[:, :k].isfinite()  # (batch, beam)
        if finishing.any():
            penalised = (top_scores[:, :k] / gnmt_length_penalty(t + 1, length_penalty)).masked_fill(~finishing, -math.inf)
            candidate, j = penalised.max(dim=1)  # (batch,)
            for b in (candidate > best_scores).nonzero().flatten().tolist():
                row = int(top_rows[b, j[b]])
                keep_if_better(b, float(candidate[b]), row, torch.cat([prefix[row, 1:], tokens[b, j[b]].view(1)]))
            finished += finishing.sum(dim=1)
            done |= finished >= k
        if bool(done.all()):
            break
        going_on, choice = top_scores.masked_fill(is_eos, -math.inf).topk(k, dim=1)  # (batch, beam): best non-eos
        scores = going_on.masked_fill(done[:, None], -math.inf)
        parents = top_rows.gather(1, choice).reshape(rows)  # (rows,)
        prefix = torch.cat([prefix.index_select(0, parents), tokens.gather(1, choice).reshape(rows, 1)], dim=1)  # (rows, t+2)
        if history is not None:
            history = history.index_select(0, parents)
    else:  # out of steps: each unfinished sentence's hypotheses compete without eos
        penalised = scores / gnmt_length_penalty(max_len, length_penalty)  # (batch, beam)
        candidate, j = penalised.max(dim=1)
        for b in (~done & (candidate > best_scores)).nonzero().flatten().tolist():
            row = int(sentence_rows[b, 0] + j[b])
            keep_if_better(b, float(candidate[b]), row, prefix[row, 1:])
    width = max(int(best_lengths.max()), 1)
    attention = None if history is None else [a[:int(n)] for a, n in zip(best_attention, best_lengths)]
    return SearchResult(best_ids[:, :width], best_scores, best_lengths, attention)


def beam_search(model, src: torch.Tensor, beam: int = 4, max_len: int = 50, bos_id: int | None = None,
                eos_id: int | None = None, length_penalty: float = 0.6, return_attention: bool = False) -> SearchResult:
    """Beam search with a seq2seq model (`Seq2SeqRNN`, `TransformerSeq2Seq`): the best translation of each source.

    The source is encoded once and the cache copied for each beam; the decoder then advances
    all sentences × beams one token per call (`decode_step`), reordering its cache as beams
    are pruned (`reorder_cache`). Runs in eval mode without gradients; the mode comes back after.

    Args:
        model: a model with `start_decoding`, `decode_step`, `reorder_cache` and `pad_id`.
        src: (batch, src_len) source ids, padded with the model's pad_id (batch may be 1).
        beam: hypotheses kept per sentence; 1 is greedy search.
        max_len: most tokens generated per sentence, eos included.
        bos_id, eos_id: default `tujie.text.BOS_ID` and `EOS_ID` (2 and 3).
        length_penalty: GNMT's alpha; 0 ranks by log-probability alone.
        return_attention: also keep each hypothesis' attention weights (free for the RNNs; the
            Transformer computes its last layer's cross-attention explicitly).

    Returns:
        A `SearchResult`: ids (batch, n), scores, lengths, and attention when asked for.

    Example:
        >>> import tujie as tj
        >>> model = tj.models.create("seq2seq_gru", src_vocab_size=20, tgt_vocab_size=20, embed_dim=8, hidden_size=16)
        >>> result = beam_search(model, torch.tensor([[5, 6, 7, 3]]), beam=4, max_len=6)
        >>> result.ids.shape[0], result.lengths.tolist()[0] <= 6
        (1, True)
    """
    from ..models.seq2seq import evaluating
    from .tokenizers import BOS_ID, EOS_ID

    bos_id, eos_id = BOS_ID if bos_id is None else bos_id, EOS_ID if eos_id is None else eos_id
    _check_search_args(model, beam, max_len, length_penalty)
    with evaluating(model):
        batch_size = src.shape[0] if src.ndim == 2 else 1
        cache = model.start_decoding(src)
        expand = torch.arange(batch_size, device=src.device).repeat_interleave(beam)  # (batch * beam,): beam copies of each sentence
        cache = model.reorder_cache(cache, expand)

        def step(prefix, parents):
            nonlocal cache
            if parents is not None:
                cache = model.reorder_cache(cache, parents)
            logits, attention, cache = model.decode_step(prefix, cache, attention=return_attention)  # (rows, vocab), (rows, src_len)
            return logits.float().log_softmax(-1), attention

        return beam_decode(step, batch_size, beam, max_len, bos_id, eos_id, model.pad_id, length_penalty, src.device)


def _check_search_args(model, beam, max_len, length_penalty) -> None:
    for name, value in (("beam", beam), ("max_len", max_len)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"Invalid value received for argument `{name}` of the beam search.", expected="a positive integer",
                              received=f"{name}={value!r}", fix="Pass beam=5 and max_len=50, for example (beam=1 is greedy).")
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float)) or not 0 <= length_penalty <= 5:
        raise ConfigError("Invalid value received for argument `length_penalty` of the beam search.",
                          expected="GNMT's alpha, a number from 0 (log-probability alone) to about 1",
                          received=f"length_penalty={length_penalty!r}", fix="Pass length_penalty=0.6 (GNMT's).")
    positions = getattr(model, "max_len", None)
    if isinstance(positions, int) and max_len > positions:
        raise ConfigError(f"Invalid value received for argument `max_len`: {getattr(model, 'model_name', 'the model')} "
                          f"has {positions} positions.", expected=f"max_len <= {positions} (bos included in the positions)",
                          received=f"max_len={max_len}", fix="Generate fewer tokens, or build the model with a larger max_len.")
    missing = [m for m in ("start_decoding", "decode_step", "reorder_cache") if not callable(getattr(model, m, None))]
    if missing:
        raise ConfigError(f"{type(model).__name__} cannot be searched one token at a time.",
                          expected="a model with start_decoding, decode_step and reorder_cache (seq2seq_gru, seq2seq_lstm, "
                                   "seq2seq_gru_attention, transformer_seq2seq)",
                          received=f"no {', '.join(missing)}", fix="Translate with one of tujie's seq2seq models.")


@torch.no_grad()
def sequence_log_prob(model, src: torch.Tensor, ids: torch.Tensor, bos_id: int | None = None,
                      eos_id: int | None = None) -> torch.Tensor:
    """Log-probability of each output under the model (teacher forcing), up to and including its first eos.

    Args:
        model: a seq2seq model; src (batch, src_len) its sources.
        ids: (batch, n) outputs without bos, as `beam_search` returns them (after eos: ignored).

    Returns:
        (batch,) summed log-probabilities: the score beam search maximises with length_penalty=0.

    Example:
        >>> import tujie as tj
        >>> model = tj.models.create("seq2seq_gru", src_vocab_size=20, tgt_vocab_size=20, embed_dim=8, hidden_size=16).eval()
        >>> src = torch.tensor([[5, 6, 3]])
        >>> result = beam_search(model, src, beam=1, max_len=5, length_penalty=0.0)
        >>> torch.allclose(sequence_log_prob(model, src, result.ids), result.scores, atol=1e-4)
        True
    """
    from ..models.seq2seq import evaluating
    from .tokenizers import BOS_ID, EOS_ID

    bos_id, eos_id = BOS_ID if bos_id is None else bos_id, EOS_ID if eos_id is None else eos_id
    with evaluating(model):
        tgt_in = torch.cat([torch.full_like(ids[:, :1], bos_id), ids[:, :-1]], dim=1)  # (batch, n)
        log_probs = model(src, tgt_in).float().log_softmax(-1).gather(-1, ids[..., None])[..., 0]  # (batch, n)
        is_eos = (ids == eos_id).long()  # (batch, n)
        after_eos = (is_eos.cumsum(1) - is_eos) > 0  # strictly after the first eos
        return log_probs.masked_fill(after_eos, 0.0).sum(1)  # (batch,)


# ------------------------------------------------------------------------------------------ data
def encode_source(tokenizer, text: str, max_len: int | None = None) -> tuple[list[int], int]:
    """A source sentence's ids: its tokens then eos, cut to `max_len` ids (eos kept last); also the uncut length.

    Example:
        >>> from tujie.text import WordTokenizer
        >>> tok = WordTokenizer().train(["a b c d"])
        >>> encode_source(tok, "a b c d", max_len=3)  # 5 ids, cut to 3
        ([4, 5, 3], 5)
    """
    from .tokenizers import EOS_ID

    ids = [*tokenizer.encode(text), EOS_ID]
    full = len(ids)
    if max_len is not None and full > max_len:
        ids = ids[:max_len - 1] + [EOS_ID]
    return ids, full


def encode_pairs(pairs, src_tokenizer, tgt_tokenizer, max_len: int = 50) -> tuple[list[list[int]], list[list[int]]]:
    """Sentence pairs → (source ids, target ids): sources are tokens + eos, targets bos + tokens + eos, each cut to max_len.

    Use these for training, so the model learns the very encoding the `Translator` feeds it.
    Pad them with `tujie.text.pad_sequences` for `learner.fit((src, tgt))`, or wrap them in a
    `tujie.text.pairs.PairDataset` for length-bucketed batches.

    Args:
        pairs: (source sentence, target sentence) strings.
        src_tokenizer, tgt_tokenizer: trained tokenizers (on the training split only).
        max_len: most ids per sentence, specials included.

    Returns:
        Two lists of id lists, aligned.

    Example:
        >>> from tujie.text import WordTokenizer, pad_sequences
        >>> pairs = [("un chat", "a cat"), ("un", "one")]
        >>> src_tok, tgt_tok = WordTokenizer().train(["un chat", "un"]), WordTokenizer().train(["a cat", "a cat one"])
        >>> sources, targets = encode_pairs(pairs, src_tok, tgt_tok)
        >>> sources, targets
        ([[4, 5, 3], [4, 3]], [[2, 4, 5, 3], [2, 6, 3]])
        >>> [t.shape for t in (pad_sequences(sources)[0], pad_sequences(targets)[0])]
        [torch.Size([2, 3]), torch.Size([2, 4])]
    """
    from .tokenizers import BOS_ID, EOS_ID

    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 3:
        raise ConfigError("Invalid value received for argument `max_len` of encode_pairs.", expected="an integer >= 3 (bos, a token, eos)",
                          received=f"max_len={max_len!r}", fix="Pass max_len=50, for example.")
    sources, targets = [], []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(s, str) for s in pair)):
            raise DataError(f"Pair {i} is not a (source, target) pair of strings.", expected="(source sentence, target sentence)",
                            received=repr(pair)[:80], fix="Pass corpus.train from load_tatoeba / load_multi30k.")
        sources.append(encode_source(src_tokenizer, pair[0], max_len)[0])
        target = tgt_tokenizer.encode(pair[1])[:max_len - 2]
        targets.append([BOS_ID, *target, EOS_ID])
    return sources, targets


# ------------------------------------------------------------------------------------------ translator
_SPACE_BEFORE = re.compile(r" +([.,!?;:%)\]}]|'(?:s|re|ve|ll|d|m|t)\b|n't\b)")  # "word ." → "word.", "it 's" → "it's"
_SPACE_AFTER = re.compile(r"([(\[{]|\b(?:qu|[cdjlmnst])') +", re.IGNORECASE)  # "( word" → "(word", "l' homme" → "l'homme"


def detokenize(text: str) -> str:
    """Undo the word splitting of the tokenizers' `decode` for display and BLEU: "a man , smiling ." → "a man, smiling.".

    Spaces go before closing punctuation and English clitics, and after opening brackets and
    French elisions (l', qu', ...). Case is not restored: a lower-casing tokenizer's output stays
    lower case (`bleu` then scores case-insensitively).

    Example:
        >>> detokenize("l' homme ( qui rit ) dit : it 's fine , is n't it ?")
        "l'homme (qui rit) dit: it's fine, isn't it?"
    """
    return _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text))


@dataclass
class Translation:
    """One translated sentence, with what a report shows of it.

    Attributes:
        source: the input text.
        text: the translation, detokenised (specials left out).
        score: log-probability / length penalty of the output under the model.
        source_tokens: the source tokens the model read (eos included, after truncation).
        target_tokens: the tokens it wrote (eos included).
        attention: (len(target_tokens), len(source_tokens)) weights, or None.
    """

    source: str
    text: str
    score: float = float("nan")
    source_tokens: list[str] | None = None
    target_tokens: list[str] | None = None
    attention: torch.Tensor | None = None


class Translator:
    """A trained seq2seq model with its two tokenizers and its direction: `translate("...")` text to text.

    The translator knows which way it translates. A request naming another source language is
    refused (`ConfigError`); it cannot tell a language by itself, but when more than half of
    the input's tokens are unknown to the source vocabulary it warns that the text may be in
    another language. Sources longer than `max_len` tokens are cut, with a warning.

    Args:
        model: a trained `Seq2SeqRNN` or `TransformerSeq2Seq`.
        src_tokenizer, tgt_tokenizer: the tokenizers its ids come from.
        src_lang, tgt_lang: language codes, e.g. "fr" and "en".
        max_len: most source tokens read (eos included) and, by default, most tokens written.
        model_name, model_kwargs: how `load_translator` rebuilds the model (default: the
            model's own `model_name` and `builder_kwargs`).

    Example:
        >>> translator.translate("un chat", source_lang="en")  # doctest: +SKIP
        Traceback (most recent call last):
        ...
        tujie.errors.ConfigError: This model translates fr→en (French to English); it cannot translate from English. ...
    """

    def __init__(self, model, src_tokenizer, tgt_tokenizer, *, src_lang: str, tgt_lang: str, max_len: int = 50,
                 model_name: str | None = None, model_kwargs: dict | None = None):
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 2:
            raise ConfigError("Invalid value received for argument `max_len` of Translator.", expected="an integer >= 2",
                              received=f"max_len={max_len!r}", fix="Pass max_len=50, for example.")
        for side, tokenizer, size in (("source", src_tokenizer, getattr(model, "src_vocab_size", None)),
                                      ("target", tgt_tokenizer, getattr(model, "tgt_vocab_size", None))):
            if size is not None and tokenizer.vocab_size > size:
                raise ConfigError(f"The {side} tokenizer has more ids than the model's {side} vocabulary.",
                                  expected=f"{side} vocab_size <= {size} (the model's)", received=f"{tokenizer.vocab_size}",
                                  fix=f"Build the model with {side[:3]}_vocab_size={tokenizer.vocab_size}, or pass the tokenizer "
                                      f"it was trained with.")
        self.model, self.src_tokenizer, self.tgt_tokenizer = model, src_tokenizer, tgt_tokenizer
        self.src_lang, self.tgt_lang, self.max_len = language_code(src_lang), language_code(tgt_lang), max_len
        self.model_name = model_name or getattr(model, "model_name", type(model).__name__)
        self.model_kwargs = dict(model_kwargs if model_kwargs is not None else getattr(model, "builder_kwargs", {}))

    @property
    def direction(self) -> str:
        """"fr→en"."""
        return f"{self.src_lang}→{self.tgt_lang}"

    def __repr__(self) -> str:
        return f"Translator({self.direction}, model={self.model_name!r}, max_len={self.max_len})"

    def translate(self, text_or_list, *, beam: int = 1, length_penalty: float = 0.6, max_len: int | None = None,
                  source_lang: str | None = None, target_lang: str | None = None, return_attention: bool = False,
                  batch_size: int = 64):
        """Translate one sentence or a list of them.

        Args:
            text_or_list: a string, or a list of strings (translated in batches of similar length).
            beam: beam width; 1 is greedy search.
            length_penalty: GNMT's alpha for ranking finished hypotheses (0: log-probability alone).
            max_len: most tokens written per sentence (default: the translator's max_len).
            source_lang, target_lang: the languages you mean; a mismatch with the model's direction
                is a `ConfigError`.
            return_attention: return `Translation` objects (tokens, score, attention) instead of strings.
            batch_size: sentences decoded together.

        Returns:
            A string (or `Translation`) for a string, a list of them for a list. A blank input
            gives "" without running the model.

        Warns:
            UserWarning: a source longer than max_len tokens was cut; more than half of the
            input's tokens are unknown to the source vocabulary.
        """
        self._check_direction(source_lang, target_lang)
        single = isinstance(text_or_list, str)
        texts = [text_or_list] if single else text_or_list
        if not isinstance(texts, (list, tuple)):
            raise DataError("translate() takes a sentence or a list of sentences.", expected="a str or a list of str",
                            received=type(text_or_list).__name__, fix='Pass translator.translate("Je suis content.").')
        results, stats = self._run(list(texts), beam, length_penalty, max_len, return_attention, batch_size)
        self._warn(stats, len(texts))
        out = results if return_attention else [r.text for r in results]
        return out[0] if single else out

    # --- the steps of translate ------------------------------------------------------------------
    def _check_direction(self, source_lang, target_lang) -> None:
        for given, own, side, argument in ((source_lang, self.src_lang, "from", "source_lang"),
                                           (target_lang, self.tgt_lang, "into", "target_lang")):
            if given is None or language_code(given) == own:
                continue
            asked = language_code(given)
            if asked in (self.src_lang, self.tgt_lang):  # the languages swapped: the reverse model is wanted
                wanted = f"{self.tgt_lang}→{self.src_lang}"
            else:
                wanted = f"{asked}→{self.tgt_lang}" if side == "from" else f"{self.src_lang}→{asked}"
            raise ConfigError(f"This model translates {self.direction} ({_language_name(self.src_lang)} to "
                              f"{_language_name(self.tgt_lang)}); it cannot translate {side} {_language_name(asked)}.",
                              expected=f"{argument}={own!r}", received=f"{argument}={given!r}",
                              fix=f"Pass {_language_name(self.src_lang)} text, or load a translator trained {wanted} "
                                  f"(train the recipe with the direction reversed).")

    def _run(self, texts: list, beam: int, length_penalty: float, max_len: int | None, return_attention: bool,
             batch_size: int) -> tuple[list[Translation], dict]:
        from .data import pad_sequences
        from .tokenizers import UNK_ID

        max_len = self.max_len if max_len is None else max_len
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError("Invalid value received for argument `batch_size` of translate.", expected="a positive integer",
                              received=f"batch_size={batch_size!r}", fix="Pass batch_size=64.")
        _check_search_args(self.model, beam, max_len, length_penalty)
        encoded, truncated, unknown, total = {}, [], 0, 0
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"Sentence {i} to translate is not text.", expected="str",
                                received=f"{type(text).__name__}: {text!r}"[:80], fix="Pass strings (decode bytes with .decode('utf-8')).")
            if not text.strip():
                continue
            ids, full = encode_source(self.src_tokenizer, text, self.max_len)
            if full > len(ids):
                truncated.append((i, full))
            unknown += ids.count(UNK_ID)
            total += len(ids) - 1  # eos is not a word
            encoded[i] = ids
        results = [Translation(text, "") for text in texts]
        order = sorted(encoded, key=lambda i: len(encoded[i]))  # similar lengths together: little padding
        device = next(self.model.parameters()).device
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            src, _ = pad_sequences([encoded[i] for i in chunk], pad_id=self.model.pad_id)  # (batch, src_len)
            found = beam_search(self.model, src.to(device), beam=beam, max_len=max_len, length_penalty=length_penalty,
                                return_attention=return_attention)
            for row, i in enumerate(chunk):
                n = int(found.lengths[row])
                out_ids = found.ids[row, :n].tolist()
                result = results[i]
                result.text = detokenize(self.tgt_tokenizer.decode(out_ids, skip_special=True))
                result.score = float(found.scores[row])
                if return_attention:
                    result.source_tokens = _token_strings(self.src_tokenizer, encoded[i])
                    result.target_tokens = _token_strings(self.tgt_tokenizer, out_ids)
                    if found.attention is not None:
                        result.attention = found.attention[row][:, :len(encoded[i])].cpu()  # (tgt_len, src_len): padding columns dropped
        return results, {"truncated": truncated, "unknown": unknown, "tokens": total}

    def _warn(self, stats: dict, count: int) -> None:
        if stats["truncated"]:
            cut = stats["truncated"]
            which = f"Sentence {cut[0][0]} has" if count == 1 or len(cut) == 1 else f"{len(cut)} of {count} sentences have"
            warnings.warn(f"{which} more than max_len={self.max_len} source tokens (the longest: {max(n for _, n in cut)}, "
                          f"<eos> included); only the first {self.max_len - 1} tokens were translated. Split long "
                          f"sentences, or build the Translator with a larger max_len.", UserWarning, stacklevel=3)
        if stats["tokens"] and stats["unknown"] / stats["tokens"] > 0.5:
            share, language = stats["unknown"] / stats["tokens"], _language_name(self.src_lang)
            warnings.warn(f"{share:.0%} of the input's tokens ({stats['unknown']} of {stats['tokens']}) are unknown to the "
                          f"{language} source vocabulary: is this {language}? This model translates {self.direction}; "
                          f"the translation of unknown words is a guess.", UserWarning, stacklevel=3)


def _token_strings(tokenizer, ids: list[int]) -> list[str]:
    if callable(getattr(tokenizer, "tokens", None)):
        return list(tokenizer.tokens(ids))
    return [tokenizer.decode([i], skip_special=False) for i in ids]


# ------------------------------------------------------------------------------------------ evaluation
def bleu(translator: Translator, pairs, *, beam: int = 1, length_penalty: float = 0.6, batch_size: int = 64,
         buckets=LENGTH_BUCKETS, num_samples: int = 10) -> dict:
    """Corpus BLEU (sacreBLEU) of the translator on held-out pairs, overall and by source length.

    Hypotheses are the translator's detokenised output (`tgt_tokenizer.decode`, specials left
    out, then `detokenize`); references are the pairs' target strings as given. sacreBLEU then
    tokenises both with its standard "13a" tokenizer, as its signature says. A target tokenizer
    that lower-cases cannot write capitals, so then the score is case-insensitive
    (sacreBLEU's lowercase=True, "case:lc" in the signature) rather than charging every
    sentence-initial "A" it could never produce.

    Args:
        translator: a `Translator`.
        pairs: (source, reference) strings, e.g. `corpus.test`.
        beam, length_penalty, batch_size: as in `Translator.translate`.
        buckets: upper ends of the source-length buckets, in words (1-5, 6-10, ..., 31+).
        num_samples: sentences listed in "samples" (the first ones, in order).

    Returns:
        {"bleu": float, "signature": str, "count": int, "samples": [{"source", "reference", "translation"}],
        "by_length": [{"bucket": "1-5", "bleu": float, "count": int}, ...], "truncated": int (sources cut to
        max_len), "unknown_rate": float (share of source tokens unknown to the vocabulary),
        "sentences_per_s": float (decoding speed), "beam": int, "length_penalty": float}.

    Example:
        >>> report = bleu(translator, corpus.test, beam=5)  # doctest: +SKIP
        >>> report["bleu"], report["signature"]  # doctest: +SKIP
        (38.1, 'nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0')
    """
    import sacrebleu

    pairs = list(pairs)
    if not pairs:
        raise DataError("No pairs to score.", expected="at least one (source, reference) pair", received="an empty list",
                        fix="Pass corpus.test (or corpus.val).")
    sources, references = [p[0] for p in pairs], [p[1] for p in pairs]
    started = time.perf_counter()
    results, stats = translator._run(sources, beam, length_penalty, None, False, batch_size)
    seconds = time.perf_counter() - started
    hypotheses = [r.text for r in results]
    lowercase = bool(getattr(translator.tgt_tokenizer, "lower", False))  # the model writes lower case only
    scorer = sacrebleu.BLEU(lowercase=lowercase)
    overall = scorer.corpus_score(hypotheses, [references])
    by_length = []
    edges = [0, *sorted(buckets)]
    lengths = [len(s.split()) for s in sources]
    for low, high in zip(edges, [*edges[1:], None]):
        index = [i for i, n in enumerate(lengths) if n > low and (high is None or n <= high)]
        if index:
            score = sacrebleu.BLEU(lowercase=lowercase).corpus_score([hypotheses[i] for i in index],
                                                                     [[references[i] for i in index]]).score
            by_length.append({"bucket": f"{low + 1}-{high}" if high is not None else f"{low + 1}+", "bleu": score, "count": len(index)})
    samples = [{"source": s, "reference": r, "translation": h} for s, r, h in list(zip(sources, references, hypotheses))[:num_samples]]
    return {"bleu": overall.score, "signature": str(scorer.get_signature()), "count": len(pairs), "samples": samples,
            "by_length": by_length, "truncated": len(stats["truncated"]), "unknown_rate": stats["unknown"] / max(stats["tokens"], 1),
            "sentences_per_s": len(pairs) / max(seconds, 1e-9),
            "beam": beam, "length_penalty": length_penalty}


def attention_heatmap(src_tokens, tgt_tokens, weights, *, title: str | None = None) -> bytes:
    """Heatmap of attention weights: one row per target token, one column per source token.

    Args:
        src_tokens: the source tokens (columns), e.g. `Translation.source_tokens`.
        tgt_tokens: the target tokens (rows), e.g. `Translation.target_tokens`.
        weights: (len(tgt_tokens), len(src_tokens)) weights, rows summing to 1.
        title: drawn above the map.

    Returns:
        PNG bytes.

    Example:
        >>> attention_heatmap(["je", "suis", "<eos>"], ["i", "am", "<eos>"], torch.eye(3))[:4]
        b'\\x89PNG'
    """
    import numpy as np

    from ..plots import INK_COLOR, figure_label, new_figure, figure_style, png_bytes

    matrix = np.asarray(weights.detach().cpu() if torch.is_tensor(weights) else weights, dtype=np.float64)
    if matrix.shape != (len(tgt_tokens), len(src_tokens)):
        raise DataError("The attention weights do not match the tokens.",
                        expected=f"(target tokens, source tokens) = ({len(tgt_tokens)}, {len(src_tokens)})",
                        received=f"weights of shape {matrix.shape}", fix="Pass Translation.attention with its own token lists.")
    rows, cols = matrix.shape
    with figure_style():
        fig = new_figure(min(max(0.42 * cols + 1.8, 3.4), 12.0), min(max(0.36 * rows + 1.4, 2.6), 12.0))
        ax = fig.subplots()
        image = ax.imshow(matrix, cmap="Blues", vmin=0.0, vmax=max(float(matrix.max(initial=0.0)), 1e-9), aspect="auto")
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xticks(range(cols), [str(t) for t in src_tokens], rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(rows), [str(t) for t in tgt_tokens], fontsize=8)
        ax.set_xlabel(figure_label("source"))
        ax.set_ylabel(figure_label("translation"))
        if title:
            ax.set_title(title, color=INK_COLOR)
        colorbar = fig.colorbar(image, ax=ax, shrink=0.8, fraction=0.05)
        colorbar.set_label(figure_label("attention weight"))
        colorbar.outline.set_visible(False)
        return png_bytes(fig, tight=True)


# ------------------------------------------------------------------------------------------ files
def save_translator(translator: Translator, run_dir, *, weights: bool | None = None) -> Path:
    """Write what `load_translator` needs into a run directory: tokenizers, translator.json, and the weights if missing.

    Writes `src_tokenizer.json`, `tgt_tokenizer.json` and `translator.json` (direction,
    max_len, the model's builder name and arguments). The weights are the run's
    `best.safetensors`, which the training run's checkpoint callback writes; it is written from
    `translator.model` only when it does not exist yet (weights=None), always (True) or never (False).

    Args:
        translator: the `Translator` to save.
        run_dir: the run directory (created if needed).
        weights: see above.

    Returns:
        The path of translator.json.
    """
    from ..train.checkpoint import save_weights

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    translator.src_tokenizer.save(run_dir / SRC_TOKENIZER_FILE)
    translator.tgt_tokenizer.save(run_dir / TGT_TOKENIZER_FILE)
    if weights or (weights is None and not (run_dir / WEIGHTS_FILE).exists()):
        save_weights(run_dir / WEIGHTS_FILE, translator.model)
    spec = {"format": FILE_FORMAT, "src_lang": translator.src_lang, "tgt_lang": translator.tgt_lang,
            "max_len": translator.max_len, "model": {"name": translator.model_name, "kwargs": translator.model_kwargs},
            "src_tokenizer": {"file": SRC_TOKENIZER_FILE, "class": _class_path(translator.src_tokenizer)},
            "tgt_tokenizer": {"file": TGT_TOKENIZER_FILE, "class": _class_path(translator.tgt_tokenizer)},
            "weights": WEIGHTS_FILE}
    return write_json(run_dir / TRANSLATOR_FILE, spec)


def load_translator(run_dir, *, device="cpu") -> Translator:
    """The `Translator` saved in a run directory by `save_translator`, its model on `device`, in eval mode.

    Raises:
        DataError: translator.json or a tokenizer file is missing or damaged (the message names it).
        CheckpointError: the weights are missing or do not fit the model.

    Example:
        >>> translator = load_translator("runs/tatoeba-fr-en-attention-20250101-120000")  # doctest: +SKIP
        >>> translator.translate("je suis content .")  # doctest: +SKIP
        'i m happy .'
    """
    from .. import models
    from ..train.checkpoint import check_compatible, load_weights

    run_dir = Path(run_dir)
    spec_path = run_dir / TRANSLATOR_FILE
    if not spec_path.is_file():
        raise DataError(f"`{run_dir}` holds no translator: `{spec_path.name}` is missing.",
                        expected=f"{TRANSLATOR_FILE}, {SRC_TOKENIZER_FILE}, {TGT_TOKENIZER_FILE} and {WEIGHTS_FILE} in the run directory",
                        received=_listing(run_dir),
                        fix="Pass the directory of a translation run, or call save_translator(translator, run_dir).")
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        if spec.get("format") != FILE_FORMAT:
            raise ValueError(f"format {spec.get('format')!r}")
        name, kwargs = spec["model"]["name"], dict(spec["model"]["kwargs"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise DataError(f"`{spec_path}` is damaged ({e}).",
                        expected=f'a JSON file with "format": "{FILE_FORMAT}" written by save_translator',
                        received=f"{spec_path.stat().st_size:,} bytes",
                        fix="Write it again with save_translator(translator, run_dir).") from None
    src_tokenizer = _load_tokenizer(run_dir, spec.get("src_tokenizer") or {"file": SRC_TOKENIZER_FILE}, "source")
    tgt_tokenizer = _load_tokenizer(run_dir, spec.get("tgt_tokenizer") or {"file": TGT_TOKENIZER_FILE}, "target")
    model = models.create(name, **kwargs)
    weights_path = run_dir / spec.get("weights", WEIGHTS_FILE)
    if not weights_path.is_file():
        raise CheckpointError(f"`{run_dir}` has no weights: `{weights_path.name}` is missing.",
                              expected=f"{weights_path.name}, written by the training run's checkpoint callback",
                              received=_listing(run_dir),
                              fix="Finish (or resume) the training run, or call save_translator(translator, run_dir, weights=True).")
    state = load_weights(weights_path)
    check_compatible(weights_path, model, state)
    model.load_state_dict(state)
    model.to(device).eval()
    return Translator(model, src_tokenizer, tgt_tokenizer, src_lang=spec["src_lang"], tgt_lang=spec["tgt_lang"],
                      max_len=int(spec["max_len"]), model_name=name, model_kwargs=kwargs)


def _class_path(obj) -> str:
    return f"{type(obj).__module__}:{type(obj).__qualname__}"


def _listing(folder: Path) -> str:
    if not folder.is_dir():
        return "the folder does not exist"
    names = sorted(p.name for p in folder.iterdir())
    return "the folder holds " + (", ".join(names[:10]) + (" ..." if len(names) > 10 else "") if names else "nothing")


def _load_tokenizer(run_dir: Path, entry: dict, side: str):
    """The tokenizer file named in translator.json, read by its class's `load` or by `tujie.text.load_tokenizer`."""
    path = run_dir / entry.get("file", f"{side[:3]}_tokenizer.json")
    if not path.is_file():
        raise DataError(f"The translator in `{run_dir}` has no {side} tokenizer: `{path.name}` is missing.",
                        expected=f"{path} (the {side} vocabulary the model's ids come from)", received=_listing(run_dir),
                        fix="Copy it from the training run's directory, or save the translator again with "
                            "save_translator(translator, run_dir); a tokenizer retrained now would not match the model's ids.")
    module, _, qualname = str(entry.get("class", "")).partition(":")
    cls = None
    try:
        cls = getattr(importlib.import_module(module), qualname) if module and qualname else None
    except (ImportError, AttributeError):
        cls = None
    if cls is not None and callable(getattr(cls, "load", None)):
        return cls.load(path)
    from .tokenizers import load_tokenizer

    return load_tokenizer(path)
