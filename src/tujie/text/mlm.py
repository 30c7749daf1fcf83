"""Masked-language-model inputs (BERT, Devlin et al. 2019, section 3.1): what pretraining hides and asks back.

Of the real tokens of a batch (never padding or the other special tokens), 15% are chosen; of
those, 80% become `[MASK]`, 10% a random token of the vocabulary and 10% stay as they were. The
labels hold the original token at the chosen positions and `ignore_index` (-100, what
`torch.nn.functional.cross_entropy` skips) everywhere else, so the loss and the masked-token
accuracy are computed on the chosen positions only. Hugging Face's
`DataCollatorForLanguageModeling` follows the same recipe.

tujie's tokenizers reserve ids 0–3 for `<pad> <unk> <bos> <eos>` and have no `[MASK]`: a masked
model takes `mask_id = tokenizer.vocab_size`, one row past the vocabulary in its embedding.

`MaskedLanguageModel` is BERT's pretraining model around a `transformer_classifier`'s body: it
shares the classifier's `embed` and `encoder` (same modules, same state-dict names) and adds the
MLM head, so after pretraining the classifier holds the pretrained body and only its `head`
is new. It trains through `Learner.fit` with its own `train_step` (a fresh mask every batch,
RoBERTa's dynamic masking) and logs `loss` and `masked_accuracy`.

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
from torch import nn

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


class MaskedLanguageModel(nn.Module):
    """BERT's masked-language-model pretraining around a Transformer encoder classifier's body.

    Args:
        body: a `transformer_classifier` whose vocabulary has one row more than the tokenizer's
            (the last id is `[MASK]`); its `embed` and `encoder` are shared, its `head` unused.
        rate, mask_share, random_share: BERT's masking recipe (0.15: 0.8 / 0.1 / 0.1).
        special_ids: ids never masked (the tokenizer's `<pad> <unk> <bos> <eos>`).

    The MLM head is BERT's: dense → GELU → LayerNorm, then the embedding matrix itself (tied
    weights) plus a bias per token, scored at the chosen positions only (15% of the tokens, so
    the vocabulary-sized output costs a seventh of scoring every position).

    Input shape: (batch, seq) ids. Output shape: (batch, seq, vocab) logits, every position.

    Example:
        >>> from tujie.models import create
        >>> body = create("transformer_classifier", vocab_size=51, d_model=16, num_heads=2, num_layers=1)
        >>> mlm = MaskedLanguageModel(body)
        >>> mlm.mask_id, mlm(torch.tensor([[5, 50, 7]])).shape
        (50, torch.Size([1, 3, 51]))
        >>> sorted({name.split(".")[0] for name in mlm.state_dict()})   # the body's names, and the head's
        ['embed', 'encoder', 'mlm_bias', 'mlm_head']
    """

    def __init__(self, body: nn.Module, rate: float = 0.15, mask_share: float = 0.8, random_share: float = 0.1,
                 special_ids=(0, 1, 2, 3)):
        super().__init__()
        if not all(hasattr(body, a) for a in ("embed", "encoder", "padding_of")):
            raise ConfigError("A masked language model needs a Transformer encoder classifier's body.",
                              expected="a model from transformer_classifier (with .embed and .encoder)",
                              received=type(body).__name__, fix="Use model: {name: transformer_classifier, ...}.")
        self.embed, self.encoder = body.embed, body.encoder  # shared: pretraining trains the classifier's body
        self._padding_of = body.padding_of
        self.pad_id, self.model_name = body.pad_id, "masked_language_model"
        self.vocab_size = body.vocab_size
        self.mask_id = body.vocab_size - 1
        self.masking = {"rate": rate, "mask_share": mask_share, "random_share": random_share, "special_ids": tuple(special_ids)}
        d_model = self.embed.d_model
        self.mlm_head = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.LayerNorm(d_model))
        self.mlm_bias = nn.Parameter(torch.zeros(self.vocab_size))

    def hidden(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's output (batch, seq, d_model)."""
        return self.encoder(self.embed(ids), key_padding_mask=self._padding_of(ids, lengths))

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., d_model) → (..., vocab): the MLM head, tied to the embedding matrix."""
        return nn.functional.linear(self.mlm_head(hidden), self.embed.embedding.weight, self.mlm_bias)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.scores(self.hidden(ids, lengths))  # (batch, seq, vocab)

    def masked_loss(self, batch, generator: torch.Generator | None = None):
        """Mask a batch's tokens, score the chosen positions: (loss, masked accuracy, tokens chosen)."""
        ids = _ids(batch)
        inputs, labels = mask_tokens(ids, mask_id=self.mask_id, vocab_size=self.mask_id, generator=generator, **self.masking)
        chosen = labels != IGNORE_INDEX  # (batch, seq)
        logits = self.scores(self.hidden(inputs)[chosen])  # padding from the ids (pad_id)  # (chosen, vocab)
        target = labels[chosen]
        loss = nn.functional.cross_entropy(logits.float(), target)
        accuracy = (logits.argmax(-1) == target).float().mean() if len(target) else torch.tensor(float("nan"))
        return loss, accuracy.detach(), int(chosen.sum())

    def train_step(self, batch, learner) -> dict:
        """One optimizer step on a freshly masked batch, with the Learner's options (clipping, accumulation, schedule)."""
        with learner.device_autocast:
            loss, accuracy, _ = self.masked_loss(batch)
        logs = learner.backward(loss)
        return {**logs, "loss": loss.detach(), "masked_accuracy": accuracy}

    @torch.no_grad()
    def eval_step(self, batch, learner=None) -> dict:
        """The MLM loss and masked accuracy on a batch; the mask is seeded by the batch, the same every epoch."""
        ids = _ids(batch)
        generator = torch.Generator(device=ids.device).manual_seed(int(ids.sum()) * 7919 + ids.numel())
        loss, accuracy, _ = self.masked_loss(batch, generator)
        return {"loss": loss, "masked_accuracy": accuracy}

    @torch.no_grad()
    def fill_mask(self, ids: torch.Tensor, k: int = 5) -> list[list[tuple[int, float]]]:
        """For each `[MASK]` of a (1, seq) input, in order: its k likeliest tokens as (id, probability).

        `[MASK]` itself and the special ids are never proposed.
        """
        was_training = self.training
        self.eval()
        try:
            probs = self(ids).float().softmax(-1)[0]  # (seq, vocab)
        finally:
            self.train(was_training)
        banned = [self.mask_id, *self.masking["special_ids"]]
        probs[:, banned] = 0
        found = []
        for position in torch.nonzero(ids[0] == self.mask_id).flatten().tolist():
            top = probs[position].topk(k)
            found.append([(int(i), float(p)) for p, i in zip(top.values, top.indices)])
        return found


def _ids(batch) -> torch.Tensor:
    """The token ids of a batch: (tokens, lengths[, targets]) from a text batcher, (ids, ...) or bare ids.

    Padding is read from the ids (pad_id), never from the second item, which in an (ids, y)
    batch would be class labels.
    """
    return batch if torch.is_tensor(batch) else batch[0]
