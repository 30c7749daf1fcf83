"""Token-level augmentation of padded token batches (batch, seq): dropout and adjacent swaps.

Both work on a whole right-padded `LongTensor` batch at once (no loop over tokens or
sequences) and on the batch's device. Padding and the `protect`ed ids (BOS, EOS, CLS,
SEP, ...) are never touched. Like `nn.Dropout`, they act in training mode only: after
`.eval()` the batch passes through unchanged.

    text_augment:               # in a recipe
      - token_dropout: {p: 0.1, replace_with: 1}   # 1 = the vocabulary's <unk>
      - token_swap: {p: 0.05}
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, ShapeError, closest


class _TokenAugmentation(nn.Module):
    """Shared plumbing: argument checks, the movable-token mask, a seeded generator per device."""

    def __init__(self, p: float, pad_id: int, protect, seed: int | None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
            raise ConfigError(f"Invalid value received for `p` of {name}.", expected="a probability 0 <= p <= 1",
                              received=f"p={p!r}", fix="Pass p=0.1, for example.")
        protect = (protect,) if isinstance(protect, int) else tuple(protect or ())
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in protect) or not isinstance(pad_id, int):
            raise ConfigError(f"Invalid token ids for {name}.", expected="integer ids for pad_id and protect",
                              received=f"pad_id={pad_id!r}, protect={protect!r}", fix="Pass protect=(bos_id, eos_id).")
        self.p, self.pad_id, self.protect, self.seed = float(p), pad_id, protect, seed
        self._generators: dict[torch.device, torch.Generator] = {}

    def _generator(self, device: torch.device) -> torch.Generator | None:
        """A private seeded generator on `device` (None without a seed: the global RNG)."""
        if self.seed is None:
            return None
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]

    def _uniform(self, shape, device: torch.device) -> torch.Tensor:
        return torch.rand(shape, generator=self._generator(device), device=device)

    def _check(self, tokens: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """The real-token mask (B, T): not padding, and within `lengths` when given."""
        name = type(self).__name__
        if not torch.is_tensor(tokens) or tokens.ndim != 2 or tokens.is_floating_point() or tokens.dtype == torch.bool:
            received = (f"tokens of shape {tuple(tokens.shape)} and dtype {tokens.dtype}" if torch.is_tensor(tokens)
                        else type(tokens).__name__)
            raise ShapeError(f"{name} received an input that is not a batch of token ids.",
                             expected="an integer tensor (batch, seq), padded with pad_id", received=received,
                             fix="Pass the padded LongTensor of token ids (unsqueeze(0) a single sequence).")
        real = tokens != self.pad_id  # (B, T)
        if lengths is not None:
            if not torch.is_tensor(lengths) or lengths.shape != (tokens.shape[0],):
                shape = tuple(lengths.shape) if torch.is_tensor(lengths) else type(lengths).__name__
                raise ShapeError(f"{name} received lengths of the wrong shape.",
                                 expected=f"a tensor ({tokens.shape[0]},), one length per sequence",
                                 received=f"lengths of shape {shape}", fix="Pass lengths=None, or one length per row of tokens.")
            positions = torch.arange(tokens.shape[1], device=tokens.device)  # (T,)
            real &= positions < lengths.to(tokens.device).unsqueeze(1)  # (B, T)
        return real

    def _movable(self, tokens: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Real tokens that are not protected (B, T)."""
        if not self.protect:
            return real
        return real & ~torch.isin(tokens, torch.tensor(self.protect, device=tokens.device))

    def extra_repr(self) -> str:
        return f"p={self.p}, pad_id={self.pad_id}, protect={self.protect}"


class TokenDropout(_TokenAugmentation):
    """Drop each token with probability p: replace it with `replace_with`, or delete it.

    Replace mode (`replace_with=unk_id`) keeps every length. Delete mode (`replace_with=None`)
    removes the dropped tokens, shifts the rest left and pads the freed places at the end,
    so the shape stays (batch, seq) but lengths shrink: pass `lengths` to get the new ones.
    A sequence never loses all its tokens (an empty sequence breaks packing and pooling):
    a row whose every token drew "drop" is left whole.

    Args:
        p: probability of dropping each (unprotected, non-padding) token.
        replace_with: the id written in place of a dropped token (usually <unk> or [MASK]);
            None deletes the token.
        pad_id: the padding id; the batch is padded on the right.
        protect: ids never dropped (BOS, EOS, CLS, SEP, ...).
        seed: seeds a private generator per device (reproducible); None uses the global RNG.

    Input shape:
        tokens (batch, seq) integer ids; optional lengths (batch,).

    Output shape:
        tokens (batch, seq); with lengths given, `(tokens, new_lengths)`.

    Example:
        >>> tokens = torch.tensor([[2, 5, 6, 7, 3, 0], [2, 8, 3, 0, 0, 0]])   # 2 = BOS, 3 = EOS, 0 = pad
        >>> drop = TokenDropout(p=0.5, replace_with=None, protect=(2, 3), seed=0)
        >>> new, lengths = drop(tokens, torch.tensor([5, 3]))
        >>> new.shape, bool((new[:, 0] == 2).all()), bool((lengths <= torch.tensor([5, 3])).all())
        (torch.Size([2, 6]), True, True)
        >>> TokenDropout(p=1.0, replace_with=1, protect=(2, 3))(tokens)
        tensor([[2, 1, 1, 1, 3, 0],
                [2, 1, 3, 0, 0, 0]])
    """

    def __init__(self, p: float = 0.1, replace_with: int | None = None, pad_id: int = 0, protect=(), *, seed: int | None = None):
        super().__init__(p, pad_id, protect, seed)
        if replace_with is not None and (not isinstance(replace_with, int) or isinstance(replace_with, bool) or replace_with == pad_id):
            raise ConfigError("Invalid value received for `replace_with` of TokenDropout.",
                              expected="an id other than pad_id (e.g. <unk> or [MASK]), or None to delete",
                              received=f"replace_with={replace_with!r}, pad_id={pad_id!r}",
                              fix="Pass the vocabulary's <unk> id, or replace_with=None.")
        self.replace_with = replace_with

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, replace_with={self.replace_with}"

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None):
        real = self._check(tokens, lengths)  # (B, T)
        if not self.training or self.p == 0.0:
            return tokens if lengths is None else (tokens, lengths)
        drop = self._movable(tokens, real) & (self._uniform(tokens.shape, tokens.device) < self.p)  # (B, T)
        if self.replace_with is not None:
            out = tokens.masked_fill(drop, self.replace_with)  # (B, T)
            return out if lengths is None else (out, lengths)

        keep = real & ~drop  # (B, T)
        emptied = ~keep.any(1) & real.any(1)  # (B,) rows that would lose every token
        keep |= real & emptied.unsqueeze(1)
        batch, seq = tokens.shape
        target = torch.where(keep, keep.cumsum(1) - 1, seq)  # (B, T): new place of a kept token, spare column otherwise
        out = tokens.new_full((batch, seq + 1), self.pad_id)  # (B, T + 1)
        out.scatter_(1, target, tokens)  # dropped tokens and padding all land in the spare column
        out = out[:, :seq]  # (B, T)
        if lengths is None:
            return out
        return out, lengths - (real & ~keep).sum(1).to(lengths.dtype)


class TokenSwap(_TokenAugmentation):
    """Swap tokens with a neighbour: each token takes part in a swap with probability about p.

    Vectorised without conflicts: each sequence is cut into adjacent pairs (0,1), (2,3), ...
    or (1,2), (3,4), ... (a random offset per sequence, so every neighbour has its chance),
    and each pair of unprotected, non-padding tokens is swapped with probability p. A token
    moves at most one place and the lengths do not change.

    Args:
        p: probability of swapping each eligible pair.
        pad_id: the padding id; padding never moves.
        protect: ids never moved (BOS, EOS, CLS, SEP, ...).
        seed: seeds a private generator per device (reproducible); None uses the global RNG.

    Input shape:
        tokens (batch, seq) integer ids; optional lengths (batch,).

    Output shape:
        tokens (batch, seq); with lengths given, `(tokens, lengths)` (unchanged).

    Example:
        >>> tokens = torch.tensor([[2, 5, 6, 7, 8, 3, 0, 0]])
        >>> swapped = TokenSwap(p=1.0, protect=(2, 3), seed=0)(tokens)
        >>> sorted(swapped[0].tolist()) == sorted(tokens[0].tolist()), swapped[0, 0].item(), swapped[0, -3:].tolist()
        (True, 2, [3, 0, 0])
    """

    def __init__(self, p: float = 0.1, pad_id: int = 0, protect=(), *, seed: int | None = None):
        super().__init__(p, pad_id, protect, seed)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None):
        real = self._check(tokens, lengths)  # (B, T)
        batch, seq = tokens.shape
        if not self.training or self.p == 0.0 or seq < 2:
            return tokens if lengths is None else (tokens, lengths)
        movable = self._movable(tokens, real)  # (B, T)
        device = tokens.device
        offset = (self._uniform((batch, 1), device) < 0.5).long()  # (B, 1): pairs start at 0 or at 1
        positions = torch.arange(seq, device=device)  # (T,)
        starts = (positions[:-1] - offset) % 2 == 0  # (B, T-1): pair (t, t+1) is one of this row's pairs
        swap = starts & movable[:, :-1] & movable[:, 1:] & (self._uniform((batch, seq - 1), device) < self.p)  # (B, T-1)
        source = positions.expand(batch, seq).clone()  # (B, T): out[t] = tokens[source[t]]
        source[:, :-1] += swap.long()  # a pair's first place takes its second token
        source[:, 1:] -= swap.long()   # and the second place its first; pairs never overlap
        out = tokens.gather(1, source)
        return out if lengths is None else (out, lengths)


class TokenAugmentations(nn.Sequential):
    """Token augmentations applied in order, threading `lengths` through them.

    Example:
        >>> aug = TokenAugmentations(TokenSwap(p=0.5, seed=0), TokenDropout(p=0.5, seed=0))
        >>> tokens, lengths = aug(torch.tensor([[4, 5, 6, 0]]), torch.tensor([3]))
        >>> tokens.shape, bool(lengths[0] >= 1)
        (torch.Size([1, 4]), True)
    """

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None):
        for step in self:
            if lengths is None:
                tokens = step(tokens)
            else:
                tokens, lengths = step(tokens, lengths)
        return tokens if lengths is None else (tokens, lengths)


TEXT_AUGMENTATIONS = {"token_dropout": TokenDropout, "token_swap": TokenSwap}


def build_text_augmentation(spec, *, pad_id: int | None = None, protect=None) -> nn.Module | None:
    """`TokenAugmentations` from a list of names or `{name: {options}}` items, as in a recipe.

    Args:
        spec: e.g. `[{"token_dropout": {"p": 0.1, "replace_with": 1}}, "token_swap"]`; empty/None → None.
        pad_id: default `pad_id` for every step that does not set its own (the tokenizer's).
        protect: default `protect` ids for every step that does not set its own.

    Returns:
        A `TokenAugmentations` (an `nn.Sequential` whose forward takes `(tokens, lengths=None)`), or None.

    Example:
        >>> aug = build_text_augmentation([{"token_dropout": {"p": 0.1, "replace_with": 1}}, "token_swap"], pad_id=0)
        >>> [type(step).__name__ for step in aug]
        ['TokenDropout', 'TokenSwap']
        >>> aug(torch.tensor([[5, 6, 7, 0]])).shape
        torch.Size([1, 4])
    """
    if not spec:
        return None
    if isinstance(spec, (str, dict)):
        spec = [spec] if isinstance(spec, str) or len(spec) == 1 else [{k: v} for k, v in spec.items()]
    steps = []
    for item in spec:
        if isinstance(item, str):
            name, options = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, options = next(iter(item.items()))
        else:
            name, options = None, None
        if name not in TEXT_AUGMENTATIONS:
            shown = name if name is not None else item
            raise ConfigError(f"Unknown text augmentation {shown!r}. {closest(str(shown), TEXT_AUGMENTATIONS)}",
                              expected=f"one of {', '.join(TEXT_AUGMENTATIONS)}, as a name or a {{name: {{options}}}} mapping",
                              received=repr(item), fix="Fix the `text_augment` list of the recipe.")
        options = dict(options or {})
        if pad_id is not None:
            options.setdefault("pad_id", pad_id)
        if protect is not None:
            options.setdefault("protect", protect)
        try:
            steps.append(TEXT_AUGMENTATIONS[name](**options))
        except TypeError as e:
            raise ConfigError(f"Invalid options for text augmentation {name!r}: {e}.",
                              expected="p, pad_id, protect, seed (and replace_with for token_dropout)",
                              received=repr(options), fix="Remove or correct the offending option.") from None
    return TokenAugmentations(*steps)
