"""The character-level RNN language model (Karpathy 2015, "The Unreasonable Effectiveness of Recurrent Neural Networks").

    token ids (B, T) → Embedding (B, T, n_embd) → LSTM × n_layer (B, T, n_hidden) → Linear → logits (B, T, V)

The classic baseline a GPT has to beat: the same next-character task, a recurrent state instead of
attention. Its context is not cut at a block size (the state carries everything before), but the
state must squeeze the past into n_hidden numbers.

Generation keeps the LSTM's state between steps (`model(new_ids, cache=cache)` with
`cache = model.new_cache()`), so feeding one token at a time costs one step, like a GPT's KV cache.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from ._common import check_positive, check_token_input
from ._registry import register_model

__all__ = ["CharLSTM", "LSTMState", "char_lstm"]


class LSTMState:
    """The LSTM's (h, c) after the tokens fed so far; `length` counts them (as `KVCache.length`)."""

    def __init__(self):
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None
        self.length = 0


class CharLSTM(nn.Module):
    """Embedding → multi-layer LSTM → Linear head: next-token logits at every position.

    Args:
        vocab_size: number of token ids.
        n_embd: size of the character embedding.
        n_hidden: LSTM hidden units per layer (the model's size).
        n_layer: stacked LSTM layers.
        dropout: between LSTM layers and before the head.

    Input shape: (B, T) token ids. Output shape: (B, T, vocab_size).

    Example:
        >>> model = CharLSTM(vocab_size=30, n_embd=8, n_hidden=16, n_layer=2)
        >>> model(torch.randint(0, 30, (2, 7))).shape
        torch.Size([2, 7, 30])
        >>> model.num_parameters()  # the LSTM and the head; the embedding is left out
        4350
    """

    block_size = None  # no context window: the state carries the whole past

    def __init__(self, vocab_size: int, n_embd: int = 128, n_hidden: int = 256, n_layer: int = 2, dropout: float = 0.0):
        super().__init__()
        check_positive("char_lstm", vocab_size=vocab_size, n_embd=n_embd, n_hidden=n_hidden, n_layer=n_layer)
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ConfigError("Invalid value received for argument `dropout` of model 'char_lstm'.", expected="0 <= dropout < 1",
                              received=f"dropout={dropout!r}", fix="Pass a fraction such as dropout=0.1.")
        self.config = {"vocab_size": vocab_size, "n_embd": n_embd, "n_hidden": n_hidden, "n_layer": n_layer,
                       "dropout": float(dropout)}
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, n_embd)
        self.lstm = nn.LSTM(n_embd, n_hidden, num_layers=n_layer, batch_first=True, dropout=dropout if n_layer > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(n_hidden, vocab_size)

    def new_cache(self) -> LSTMState:
        """An empty state for `forward(ids, cache=...)`."""
        return LSTMState()

    def num_parameters(self, exclude_embeddings: bool = True) -> int:
        """Parameters, without the input embedding by default (Kaplan et al.'s N; the head is counted)."""
        total = sum(p.numel() for p in self.parameters())
        return total - self.embedding.weight.numel() if exclude_embeddings else total

    def forward(self, idx: torch.Tensor, cache: LSTMState | None = None) -> torch.Tensor:
        check_token_input("char_lstm", idx, self.vocab_size)
        x = self.embedding(idx)  # (B, T, n_embd)
        out, state = self.lstm(x, cache.state if cache is not None else None)  # (B, T, n_hidden)
        if cache is not None:
            cache.state, cache.length = state, cache.length + idx.shape[1]
        return self.head(self.drop(out))  # (B, T, vocab_size)


@register_model(example_input=lambda b: torch.randint(0, 60, (b, 12)), output_shape=(12, 60),
                test_kwargs={"vocab_size": 60, "n_embd": 16, "n_hidden": 32, "n_layer": 2})
def char_lstm(vocab_size: int = 6000, n_embd: int = 128, n_hidden: int = 256, n_layer: int = 2,
              dropout: float = 0.0) -> CharLSTM:
    """Character-level LSTM language model (Karpathy 2015): Embedding → LSTM × n_layer → Linear.

    Example:
        >>> char_lstm(vocab_size=6000, n_hidden=256).num_parameters()  # 2 layers: 0.92M LSTM + 1.5M head
        2463600
    """
    return CharLSTM(vocab_size, n_embd, n_hidden, n_layer, dropout)
