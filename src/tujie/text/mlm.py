"""Masked-language-model inputs (BERT, Devlin et al. 2019, section 3.1): what pretraining hides and asks back.

Of the real tokens of a batch (never padding or the other special tokens), 15% are chosen; of
those, 80% become `[MASK]`, 10% a random token of the vocabulary and 10% stay as they were. The
labels hold the original token at the chosen positions and `ignore_index` (-100, what
`torch.nn.functional.cross_entropy` skips) everywhere else, so the loss and the masked-token
accuracy are computed on the chosen positions only. Hugging Face's
`DataCollatorForLanguageModeling` follows the same recipe.

tujie's tokenizers reserve ids 0–3 for `<pad> <unk> <bos> <eos>` and have no `[MASK]`: a masked
model takes `mask_id = tokenizer.vocab_size`, one row past the vocabulary in its embedding.

Example:
    >>> import torch
    >>> ids = torch.tensor([[2, 10, 11, 12, 13, 3, 0, 0]])
    >>> inputs, labels = mask_tokens(ids, mask_id=50, vocab_size=50, generator=torch.Generator().manual_seed(0), rate=0.5)
    >>> bool(((labels != -100) <= (ids > 3)).all())   # only real tokens are ever chosen
    True
    >>> bool((inputs[labels == -100] == ids[labels == -100]).all())   # the others pass unchanged
    True
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

IGNORE_INDEX = -100


def mask_tokens(ids: torch.Tensor, *, mask_id: int, vocab_size: int, special_ids=(0, 1, 2, 3), rate: float = 0.15,
                mask_share: float = 0.8, random_share: float = 0.1, generator: torch.Generator | None = None):
    """Choose `rate` of the real tokens; `[MASK]` most of them, a random token some, the rest unchanged.

    Args:
        ids: (N, T) token ids.
        mask_id: the `[MASK]` id (for tujie's tokenizers: `vocab_size`, one past the vocabulary).
        vocab_size: random replacements are drawn from the ids the vocabulary has that are not special.
        special_ids: ids never chosen (padding, `<unk>`, `<bos>`, `<eos>`).
        rate: the share of real tokens chosen (BERT: 0.15).
        mask_share, random_share: of the chosen, the share made `[MASK]` (0.8) and the share made a
            random token (0.1); the rest (0.1) stay as they were.
        generator: a seeded `torch.Generator` for reproducible masks.

    Returns:
        (inputs, labels): both (N, T); labels are `IGNORE_INDEX` where nothing was chosen.
    """
    if not 0 < rate < 1 or mask_share < 0 or random_share < 0 or mask_share + random_share > 1:
        raise ConfigError("The masking shares are not valid.", expected="0 < rate < 1, mask_share + random_share <= 1 "
                          "(BERT: 0.15, 0.8, 0.1)", received=f"rate={rate}, mask_share={mask_share}, random_share={random_share}",
                          fix="Use the defaults, or shares that add up to at most 1.")
    special = torch.tensor(sorted(set(special_ids)), dtype=ids.dtype, device=ids.device)
    if vocab_size <= len(special):
        raise ConfigError(f"A vocabulary of {vocab_size} ids has no ordinary token to draw.", expected="vocab_size > the special ids",
                          received=f"vocab_size={vocab_size}", fix="Build the tokenizer on more text.")
    real = ~torch.isin(ids, special)
    draw = torch.rand(ids.shape, generator=generator, device=ids.device)
    chosen = real & (draw < rate)
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))
    kind = torch.rand(ids.shape, generator=generator, device=ids.device)  # which of the three each chosen token becomes
    to_mask = chosen & (kind < mask_share)
    to_random = chosen & (kind >= mask_share) & (kind < mask_share + random_share)
    first = int(special.max()) + 1  # the ordinary ids: after the specials, up to the vocabulary's end
    random_ids = torch.randint(first, vocab_size, ids.shape, generator=generator, device=ids.device, dtype=ids.dtype)
    inputs = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    inputs = torch.where(to_random, random_ids, inputs)
    return inputs, labels


def masked_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Share of the chosen positions whose original token is the model's top guess. logits: (N, T, V); labels: (N, T).

    Example:
        >>> logits = torch.zeros(1, 3, 5); logits[0, 0, 4] = 1; logits[0, 1, 2] = 1
        >>> float(masked_accuracy(logits, torch.tensor([[4, 3, -100]])))
        0.5
    """
    chosen = labels != IGNORE_INDEX
    if not chosen.any():
        return torch.tensor(float("nan"))
    return (logits.argmax(-1)[chosen] == labels[chosen]).float().mean()
