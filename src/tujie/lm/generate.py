"""Text from a language model, one token at a time: greedy, temperature, top-k, top-p, repetition penalty.

At each step the model gives logits for the next token; they are shaped, then one token is chosen:

    1. repetition penalty p (Keskar et al. 2019, CTRL): for every token already in the prompt or the
       output, a positive logit is divided by p and a negative one multiplied by p (p > 1 discourages repeats);
    2. temperature τ: logits / τ (τ < 1 sharpens the distribution, τ > 1 flattens it; τ <= 0 is greedy:
       always the most likely token);
    3. top-k: only the k most likely tokens stay;
    4. top-p (Holtzman et al. 2020, nucleus sampling): only the smallest set of most likely tokens
       whose probabilities add up to p stays;
    5. a token is drawn from the softmax of what is left (`torch.multinomial`, with a seeded generator).

With the KV cache (`use_cache=True`, the default) the prompt is fed once and then each new token
alone; without it the whole window is fed again at every step. Both give the same logits.

Past the block size a GPT's window slides: it always sees the last `block_size` tokens. The learned
positions cannot be shifted, so once the cache is full it is rebuilt from the last `block_size`
tokens at every step (the same work as recomputing, and the same text as `use_cache=False`); keep
`len(prompt) + max_new <= block_size` to stay in the cheap regime. An LSTM has no window: its state
carries the whole past.

Example:
    >>> import torch
    >>> from tujie.models import create
    >>> from tujie.text import CharTokenizer
    >>> tok = CharTokenizer().train(["床前明月光，疑是地上霜。"])
    >>> model = create("gpt", vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=16)
    >>> texts = generate(model, tok, "床前", max_new=5, temperature=0.8, top_k=5, num=2, seed=0)
    >>> len(texts), texts == generate(model, tok, "床前", max_new=5, temperature=0.8, top_k=5, num=2, seed=0)
    (2, True)
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, DataError
from ..i18n import _
from ..text.tokenizers import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID

__all__ = ["generate", "generate_ids", "check_options"]


def check_options(max_new=64, temperature=1.0, top_k=None, top_p=None, repetition_penalty=1.0, num=1) -> None:
    """Refuse generation options that have no meaning, naming the option and the fix.

    Example:
        >>> check_options(top_p=1.5)
        Traceback (most recent call last):
        ...
        tujie.errors.ConfigError: Invalid value received for `top_p`. Expected: 0 < top_p <= 1 (the share of probability kept). Received: top_p=1.5. Fix: Pass top_p=0.9, or leave it out (None) to keep every token.
    """
    def integer(name, value, minimum, fix):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"Invalid value received for `{name}`.", expected=f"an integer >= {minimum}",
                              received=f"{name}={value!r}", fix=fix)

    integer("max_new", max_new, 0, "Pass the number of new tokens to write, e.g. max_new=64.")
    integer("num", num, 1, "Pass how many samples to write, e.g. num=5.")
    if top_k is not None:
        integer("top_k", top_k, 1, "Pass top_k=40, or leave it out (None) to keep every token.")
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature != temperature:
        raise ConfigError("Invalid value received for `temperature`.", expected="a number (<= 0 means greedy)",
                          received=f"temperature={temperature!r}", fix="Pass temperature=0.8, for example.")
    if top_p is not None and (not isinstance(top_p, (int, float)) or isinstance(top_p, bool) or not 0 < top_p <= 1):
        raise ConfigError("Invalid value received for `top_p`.", expected="0 < top_p <= 1 (the share of probability kept)",
                          received=f"top_p={top_p!r}", fix="Pass top_p=0.9, or leave it out (None) to keep every token.")
    if (not isinstance(repetition_penalty, (int, float)) or isinstance(repetition_penalty, bool)
            or not repetition_penalty > 0):
        raise ConfigError("Invalid value received for `repetition_penalty`.",
                          expected="a number > 0 (1 = no penalty, 1.1-1.3 discourages repeats)",
                          received=f"repetition_penalty={repetition_penalty!r}", fix="Pass repetition_penalty=1.2, or 1.0 for none.")


def _note(notes: list | None, text: str) -> None:
    if notes is not None and text not in notes:
        notes.append(text)


@torch.no_grad()
def generate_ids(model, idx: torch.Tensor, *, max_new: int = 64, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, repetition_penalty: float = 1.0, stop=None, use_cache: bool = True,
                 seed: int | None = None, notes: list | None = None, suppress=None) -> torch.Tensor:
    """Continue every row of `idx` by up to `max_new` tokens; returns the prompt and the new tokens (B, T + n).

    Args:
        model: a language model, (B, T) ids → (B, T, V) logits (`gpt`, `char_lstm`); `model.block_size`
            (None: no window) and `model.new_cache()` are used when present.
        idx: the prompts, (B, T) token ids (one row per sample; T >= 1).
        max_new: new tokens per row.
        temperature, top_k, top_p, repetition_penalty: see the module docstring.
        stop: token-id sequences (each an int or a list of ints); a row that produces one is done,
            its later positions are `<pad>` (0), and generation ends when every row is done.
        use_cache: feed only the new token at each step (KV cache / LSTM state); False recomputes the window.
        seed: seeds a `torch.Generator`: the same seed gives the same tokens.
        notes: a list that gets a sentence for what the caller should know (greedy, sliding window).
        suppress: token ids never to produce (`generate` passes `<pad>` and `<bos>`, which are not text).

    Returns:
        LongTensor (B, T + n), n <= max_new (fewer when every row stopped early).

    Example:
        >>> from tujie.models import create
        >>> model = create("gpt", vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8)
        >>> out = generate_ids(model, torch.tensor([[4, 5]]), max_new=12, temperature=0)  # greedy, past the block
        >>> out.shape, torch.equal(out, generate_ids(model, torch.tensor([[4, 5]]), max_new=12, temperature=0, use_cache=False))
        (torch.Size([1, 14]), True)
    """
    check_options(max_new, temperature, top_k, top_p, repetition_penalty)
    if not torch.is_tensor(idx) or idx.ndim != 2 or idx.shape[1] < 1 or idx.is_floating_point():
        raise DataError("generate_ids takes a batch of prompts.", expected="a LongTensor of token ids (B, T), T >= 1",
                        received=f"{type(idx).__name__} of shape {tuple(getattr(idx, 'shape', ()))}",
                        fix="Encode the prompt and add the batch dimension: torch.tensor([ids]).")
    stops = [[s] if isinstance(s, int) else [int(t) for t in s] for s in (stop or [])]
    stops = [s for s in stops if s]
    if temperature <= 0:
        _note(notes, _("Temperature {t} <= 0: greedy decoding (always the most likely token).").format(t=temperature))
    block = getattr(model, "block_size", None)
    if block is not None and idx.shape[1] + max_new > block:
        _note(notes, _("The prompt ({prompt} tokens) and max_new={max_new} go past the model's block size of {block}: "
                       "the window slides, so each new token sees only the last {block} tokens.").format(
                           prompt=idx.shape[1], max_new=max_new, block=block))
    generator = torch.Generator(device=idx.device).manual_seed(seed) if seed is not None else None
    cached = use_cache and hasattr(model, "new_cache")
    was_training = model.training
    model.eval()
    try:
        return _loop(model, idx, max_new, temperature, top_k, top_p, repetition_penalty, stops, cached, block, generator,
                     list(suppress or []))
    finally:
        model.train(was_training)


def _loop(model, idx, max_new, temperature, top_k, top_p, penalty, stops, cached, block, generator, suppress) -> torch.Tensor:
    B, T = idx.shape
    vocab = None
    seen = None  # (B, V) True for tokens already in the prompt or the output (repetition penalty)
    done = torch.zeros(B, dtype=torch.bool, device=idx.device)
    cache, out = None, idx
    for step in range(max_new):
        window = out if block is None else out[:, -block:]  # (B, <= block)
        if not cached:
            logits = model(window)[:, -1]  # (B, V), the whole window again
        elif cache is None or (block is not None and cache.length >= block):
            cache = model.new_cache()  # first step, or a full cache: rebuild on the window (positions restart at 0)
            logits = model(window, cache=cache)[:, -1]
        else:
            logits = model(out[:, -1:], cache=cache)[:, -1]  # (B, V), the newest token only
        logits = logits.float()
        if suppress:
            logits[:, suppress] = float("-inf")
        if vocab is None:
            vocab = logits.shape[-1]
            seen = torch.zeros(B, vocab, dtype=torch.bool, device=idx.device).scatter_(1, idx.clamp(0, vocab - 1), True)
        nxt = _choose(logits, seen, temperature, top_k, top_p, penalty, generator)  # (B,)
        nxt = torch.where(done, torch.full_like(nxt, PAD_ID), nxt)  # finished rows are padded
        seen.scatter_(1, nxt[:, None], True)
        out = torch.cat([out, nxt[:, None]], dim=1)  # (B, T + step + 1)
        if stops:
            for s in stops:
                if out.shape[1] - T >= len(s):
                    tail = out[:, -len(s):]  # (B, len(s))
                    done |= (tail == torch.tensor(s, device=out.device)).all(dim=1)
            if bool(done.all()):
                break
    return out


def _choose(logits, seen, temperature, top_k, top_p, penalty, generator) -> torch.Tensor:
    """One token per row from (B, V) logits, after the penalty, temperature, top-k and top-p."""
    if penalty != 1.0:
        penalised = torch.where(logits > 0, logits / penalty, logits * penalty)
        logits = torch.where(seen, penalised, logits)
    if temperature <= 0:
        return logits.argmax(dim=-1)  # (B,)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1), the k-th largest
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        ordered, order = torch.sort(logits, dim=-1, descending=True)  # (B, V)
        probs = ordered.softmax(dim=-1)
        # Drop a token when the more likely ones already reach top_p; the most likely always stays.
        drop = probs.cumsum(dim=-1) - probs >= top_p
        ordered = ordered.masked_fill(drop, float("-inf"))
        logits = torch.empty_like(logits).scatter_(1, order, ordered)
    probs = logits.softmax(dim=-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]  # (B,)


def generate(model, tokenizer, prompt: str, *, max_new: int = 64, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, repetition_penalty: float = 1.0, stop=None, num: int = 1,
             use_cache: bool = True, seed: int | None = None, notes: list | None = None) -> list[str]:
    """Write `num` continuations of `prompt`; returns the new text of each (the prompt left out).

    Args:
        model: a language model (`gpt`, `char_lstm`) trained with `tokenizer`.
        tokenizer: a trained `CharTokenizer`, `BPETokenizer` or `WordTokenizer`.
        prompt: the beginning of the text. Characters the tokenizer never saw become `<unk>` (with a
            note naming them); an empty prompt starts from `<bos>`.
        max_new, temperature, top_k, top_p, repetition_penalty, use_cache, seed: as in `generate_ids`.
        stop: a string or a list of strings ("\\n", "<eos>"): a sample ends at the first one, which is
            cut off. `<eos>` always ends a sample.
        num: samples, written together in one batch.
        notes: a list that gets a sentence for each thing the caller should know.

    Returns:
        A list of `num` strings.

    Example:
        >>> from tujie.models import create
        >>> from tujie.text import CharTokenizer
        >>> tok = CharTokenizer().train(["春眠不覺曉，處處聞啼鳥。"])
        >>> model = create("gpt", vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=1, n_embd=8)
        >>> notes = []
        >>> _ = generate(model, tok, "春眠不觉晓", max_new=3, temperature=0, notes=notes)
        >>> len(notes)  # 觉 and 晓 are simplified: the traditional corpus never saw them; greedy decoding
        2
    """
    check_options(max_new, temperature, top_k, top_p, repetition_penalty, num)
    if not isinstance(prompt, str):
        raise DataError("The prompt is not a string.", expected="str", received=f"{type(prompt).__name__}",
                        fix="Pass the beginning of the text, e.g. \"床前明月光\".")
    ids = tokenizer.encode(prompt) if prompt else []
    if UNK_ID in ids:
        unknown = unknown_pieces(tokenizer, prompt)
        _note(notes, _("The prompt has characters the vocabulary never saw: {chars}. They were read as <unk>, so the "
                       "model knows nothing of them.").format(chars=" ".join(unknown) or "?"))
    if not ids:
        ids = [BOS_ID]
    strings = [stop] if isinstance(stop, str) else list(stop or [])
    stop_ids = [[EOS_ID]]
    for s in strings:
        if s in SPECIALS:
            stop_ids.append([SPECIALS.index(s)])
        elif s:
            encoded = tokenizer.encode(s)
            if encoded and UNK_ID not in encoded:  # else the text check below still cuts the sample there
                stop_ids.append(encoded)
    device = next(model.parameters()).device
    idx = torch.tensor([ids] * num, dtype=torch.long, device=device)  # (num, T)
    out = generate_ids(model, idx, max_new=max_new, temperature=temperature, top_k=top_k, top_p=top_p,
                       repetition_penalty=repetition_penalty, stop=stop_ids, use_cache=use_cache, seed=seed, notes=notes,
                       suppress=[PAD_ID, BOS_ID])
    texts = []
    for row in out[:, len(ids):].tolist():
        for end in (EOS_ID, PAD_ID):
            row = row[:row.index(end)] if end in row else row
        text = tokenizer.decode(row)
        for s in strings:
            if s and s not in SPECIALS and s in text:
                text = text[:text.index(s)]
        texts.append(text)
    return texts


def unknown_pieces(tokenizer, prompt: str) -> list[str]:
    """The characters (or words) of `prompt` that the tokenizer maps to `<unk>`, in order, once each (spaces left out)."""
    if hasattr(tokenizer, "unknown_characters"):
        found = tokenizer.unknown_characters(prompt)
    else:
        pieces = tokenizer.split(prompt) if hasattr(tokenizer, "split") else list(prompt)
        found = [p for p in pieces if UNK_ID in tokenizer.encode(p)]
    return list(dict.fromkeys(p for p in found if p.strip()))
