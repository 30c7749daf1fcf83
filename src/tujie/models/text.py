"""Text classifiers on token ids: recurrent (RNN, LSTM, GRU, BiLSTM) and TextCNN (Kim 2014).

Every model takes `tokens` (batch, seq) int64 ids, padded with `padding_idx`, and optional
`lengths` (batch,), the true length of each sequence; with lengths, padding changes nothing.
The models know every size from their arguments, so they are built at once: an optimizer
made right after `create()` sees every parameter.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import layers as L
from ..errors import ConfigError, ShapeError
from ._common import check_positive, check_token_input
from ._registry import register_model
from .sequential import Model

_EXAMPLE = {"example_input": lambda b: torch.randint(1, 100, (b, 12)), "output_shape": (2,)}
_SMALL = {"vocab_size": 100, "embed_dim": 8, "hidden": 8}


def _check_vocab_size(model_name: str, vocab_size) -> None:
    if vocab_size is None:
        raise ConfigError(f"Model '{model_name}' needs the size of its vocabulary.", expected="vocab_size, a positive integer",
                          received="vocab_size=None", fix="Pass vocab_size=len(vocabulary), i.e. the largest token id + 1.")
    check_positive(model_name, vocab_size=vocab_size)


def _check_dropout(model_name: str, dropout: float) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ConfigError(f"Invalid value received for argument `dropout` of model '{model_name}'.", expected="0 <= dropout < 1",
                          received=f"dropout={dropout!r}", fix="Pass a fraction such as dropout=0.5.")


class RecurrentClassifier(Model):
    """Embedding → recurrent layer(s) → pooling → Dropout → Dense(num_classes) logits.

    Args:
        cell: "rnn", "lstm" or "gru".
        vocab_size, num_classes, embed_dim, hidden, num_layers, bidirectional, padding_idx: the sizes.
        dropout: before the classifier, and between stacked recurrent layers.
        pooling: what the classifier reads: "last" (each direction's final state, the textbook's
            model), "max" or "mean" over every true step's output (Conneau et al. 2017: max
            pooling lets a long review keep its strongest evidence wherever it occurs).
        name: the registered name, used in error messages.

    forward(tokens (batch, seq), lengths=None (batch,)) → logits (batch, num_classes).
    """

    _LAYERS = {"rnn": L.SimpleRNN, "lstm": L.LSTM, "gru": L.GRU}

    def __init__(self, cell: str, vocab_size: int | None, num_classes: int = 2, embed_dim: int = 128, hidden: int = 128,
                 num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.3, padding_idx: int | None = 0,
                 pooling: str = "last", name: str | None = None):
        super().__init__()
        if cell not in self._LAYERS:
            raise ConfigError("Invalid value received for argument `cell` of RecurrentClassifier.", expected='"rnn", "lstm" or "gru"',
                              received=f"cell={cell!r}", fix='Pass cell="lstm".')
        self.model_name = name or f"{cell}_classifier"
        _check_vocab_size(self.model_name, vocab_size)
        check_positive(self.model_name, num_classes=num_classes, embed_dim=embed_dim,
                       hidden=hidden, num_layers=num_layers)
        _check_dropout(self.model_name, dropout)
        if pooling not in ("last", "max", "mean"):
            raise ConfigError(f"Invalid value received for argument `pooling` of model '{self.model_name}'.",
                              expected='"last", "max" or "mean"', received=f"pooling={pooling!r}", fix='Pass pooling="max".')
        self.vocab_size, self.pooling = vocab_size, pooling
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.recurrent = self._LAYERS[cell](hidden, num_layers=num_layers, bidirectional=bool(bidirectional),
                                            dropout=dropout if num_layers > 1 else 0.0, return_sequences=pooling != "last")
        self.dropout = L.Dropout(dropout)
        self.classifier = L.Dense(num_classes)
        directions = 2 if bidirectional else 1
        self.recurrent.build(torch.empty(1, 1, embed_dim))  # build now: every size is known
        self.classifier.build(torch.empty(1, hidden * directions))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        check_token_input(self.model_name, tokens, self.vocab_size)
        x = self.embedding(tokens)  # (batch, seq, embed_dim)
        h = self.recurrent(x, lengths=lengths)  # last: (batch, hidden * directions), each sequence's last true step
        if self.pooling != "last":  # h: (batch, seq, hidden * directions), zeros at padding when lengths are given
            steps = torch.arange(h.shape[1], device=h.device)
            real = (steps[None, :] < torch.as_tensor(lengths, device=h.device)[:, None] if lengths is not None
                    else torch.ones(h.shape[:2], dtype=torch.bool, device=h.device))[..., None]  # (batch, seq, 1)
            if self.pooling == "max":
                h = h.masked_fill(~real, float("-inf")).amax(dim=1)  # (batch, hidden * directions)
            else:
                h = (h * real).sum(1) / real.sum(1).clamp(min=1)  # (batch, hidden * directions)
        return self.classifier(self.dropout(h))  # (batch, num_classes)


class TextCNN(Model):
    """Kim (2014), "Convolutional Neural Networks for Sentence Classification": n-gram filters, max over time.

    Embedding → for each kernel size k: Conv1d(embed_dim, filters, k) → ReLU → max over time;
    concatenate → Dropout → Dense(num_classes). With the paper's 3, 4, 5 × 100 filters the
    sentence becomes a 300-d vector of "the strongest match of each n-gram detector".

    Sequences shorter than the widest kernel are padded with zero vectors, as Kim pads. With
    `lengths`, each sequence is read as if it stood alone: its padding becomes zero vectors,
    and only windows within its own (so padded) length enter the max.

    forward(tokens (batch, seq), lengths=None (batch,)) → logits (batch, num_classes).
    """

    def __init__(self, vocab_size: int | None, num_classes: int = 2, embed_dim: int = 300, kernel_sizes=(3, 4, 5),
                 filters: int = 100, dropout: float = 0.5, padding_idx: int | None = 0, name: str = "textcnn"):
        super().__init__()
        self.model_name = name
        kernel_sizes = tuple(kernel_sizes)
        _check_vocab_size(name, vocab_size)
        check_positive(name, num_classes=num_classes, embed_dim=embed_dim, filters=filters,
                       **{f"kernel_sizes[{i}]": k for i, k in enumerate(kernel_sizes)})
        if not kernel_sizes:
            raise ConfigError(f"Invalid value received for argument `kernel_sizes` of model '{name}'.",
                              expected="at least one kernel size", received="kernel_sizes=()", fix="Pass kernel_sizes=(3, 4, 5).")
        _check_dropout(name, dropout)
        self.vocab_size, self.kernel_sizes = vocab_size, kernel_sizes
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, filters, k) for k in kernel_sizes)
        self.dropout = L.Dropout(dropout)
        self.classifier = L.Dense(num_classes)
        self.classifier.build(torch.empty(1, filters * len(kernel_sizes)))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        check_token_input(self.model_name, tokens, self.vocab_size)
        batch, steps = tokens.shape
        x = self.embedding(tokens)  # (batch, seq, embed_dim)
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=tokens.device)
            if lengths.shape != (batch,) or lengths.is_floating_point():
                raise ShapeError(f"Model '{self.model_name}' received `lengths` of the wrong shape.",
                                 expected=f"a 1-D integer tensor of {batch} lengths", received=f"lengths of shape {tuple(lengths.shape)}",
                                 fix="Pass the true length of each padded sequence, e.g. lengths=torch.tensor([5, 3]).")
            real = torch.arange(steps, device=tokens.device)[None, :] < lengths[:, None]  # (batch, seq)
            x = x * real[..., None]  # padding becomes zero vectors, whatever its ids
        x = F.pad(x.transpose(1, 2), (0, max(0, max(self.kernel_sizes) - steps)))  # (batch, embed_dim, seq')
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            feature = F.relu(conv(x))  # (batch, filters, seq' - k + 1)
            if lengths is not None:
                # the windows this sequence would have alone: within max(length, widest kernel)
                starts = torch.arange(feature.shape[-1], device=tokens.device)
                inside = starts[None, :] <= lengths.clamp(min=max(self.kernel_sizes))[:, None] - k  # (batch, windows)
                feature = feature.masked_fill(~inside[:, None, :], float("-inf"))
            pooled.append(feature.amax(dim=-1))  # (batch, filters): max over time
        return self.classifier(self.dropout(torch.cat(pooled, dim=1)))  # (batch, num_classes)


@register_model(**_EXAMPLE, test_kwargs=_SMALL)
def rnn_classifier(vocab_size: int | None = None, num_classes: int = 2, embed_dim: int = 128, hidden: int = 128,
                   num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.3,
                   padding_idx: int | None = 0, pooling: str = "last") -> RecurrentClassifier:
    """Embedding → SimpleRNN (tanh, textbook 7.1) → Dropout → Dense: the plain recurrent text classifier.

    Example:
        >>> model = rnn_classifier(vocab_size=100)
        >>> model(torch.randint(1, 100, (2, 12))).shape
        torch.Size([2, 2])
    """
    return RecurrentClassifier("rnn", vocab_size, num_classes, embed_dim, hidden, num_layers, bidirectional, dropout,
                               padding_idx, pooling, name="rnn_classifier")


@register_model(**_EXAMPLE, test_kwargs=_SMALL)
def lstm_classifier(vocab_size: int | None = None, num_classes: int = 2, embed_dim: int = 128, hidden: int = 128,
                    num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.3,
                    padding_idx: int | None = 0, pooling: str = "last") -> RecurrentClassifier:
    """Embedding → LSTM → Dropout → Dense: the textbook's IMDB sentiment classifier (seeds/002), batch first.

    Example:
        >>> model = lstm_classifier(vocab_size=100)
        >>> tokens = torch.tensor([[5, 8, 2, 0, 0], [3, 9, 4, 7, 1]])  # padded with 0
        >>> model(tokens, lengths=torch.tensor([3, 5])).shape
        torch.Size([2, 2])
    """
    return RecurrentClassifier("lstm", vocab_size, num_classes, embed_dim, hidden, num_layers, bidirectional, dropout,
                               padding_idx, pooling, name="lstm_classifier")


@register_model(**_EXAMPLE, test_kwargs=_SMALL)
def gru_classifier(vocab_size: int | None = None, num_classes: int = 2, embed_dim: int = 128, hidden: int = 128,
                   num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.3,
                   padding_idx: int | None = 0, pooling: str = "last") -> RecurrentClassifier:
    """Embedding → GRU (textbook 7.3) → Dropout → Dense.

    Example:
        >>> gru_classifier(vocab_size=100, num_classes=5)(torch.randint(1, 100, (2, 12))).shape
        torch.Size([2, 5])
    """
    return RecurrentClassifier("gru", vocab_size, num_classes, embed_dim, hidden, num_layers, bidirectional, dropout,
                               padding_idx, pooling, name="gru_classifier")


@register_model(**_EXAMPLE, test_kwargs={**_SMALL, "num_layers": 2})
def bilstm_classifier(vocab_size: int | None = None, num_classes: int = 2, embed_dim: int = 128, hidden: int = 128,
                      num_layers: int = 1, dropout: float = 0.3, padding_idx: int | None = 0,
                      pooling: str = "last") -> RecurrentClassifier:
    """Embedding → bidirectional LSTM → Dropout → Dense on both directions' final states (2 * hidden features).

    pooling="max" reads the largest of every true step's outputs instead (see `RecurrentClassifier`).

    Example:
        >>> bilstm_classifier(vocab_size=100, num_layers=2)(torch.randint(1, 100, (2, 12))).shape
        torch.Size([2, 2])
    """
    return RecurrentClassifier("lstm", vocab_size, num_classes, embed_dim, hidden, num_layers, True, dropout,
                               padding_idx, pooling, name="bilstm_classifier")


@register_model(**_EXAMPLE, test_kwargs={"vocab_size": 100, "embed_dim": 8, "filters": 4})
def textcnn(vocab_size: int | None = None, num_classes: int = 2, embed_dim: int = 300, kernel_sizes=(3, 4, 5),
            filters: int = 100, dropout: float = 0.5, padding_idx: int | None = 0) -> TextCNN:
    """Kim (2014) TextCNN: embedding → Conv1d widths 3, 4, 5 × 100 filters → max over time → Dropout 0.5 → Dense.

    The paper's embeddings are 300-d (word2vec); here they are learned from scratch ("CNN-rand").

    Example:
        >>> textcnn(vocab_size=100)(torch.randint(1, 100, (2, 12))).shape
        torch.Size([2, 2])
    """
    return TextCNN(vocab_size, num_classes, embed_dim, kernel_sizes, filters, dropout, padding_idx)
