"""A small CTC acoustic model for spoken digits: a convolutional front end, a bidirectional GRU, a linear layer.

In the manner of Deep Speech 2 (Amodei et al. 2016, "End-to-end speech recognition in English and
Mandarin"), scaled down to ten words: 1-D convolutions over time read the log-mel frames (the mel
channels are the convolution's input channels) and cut the frame rate by four (10 ms -> 40 ms per output
frame), a bidirectional GRU reads the whole utterance both ways, and a linear layer gives each output
frame scores over 11 classes: the digits 0–9 (class d is the digit d) and CTC's blank (class 10).
Trained with `torch.nn.CTCLoss(blank=10)` (Graves et al. 2006) on `log_softmax` of the output.

Input: (batch, n_mels, frames) log-mel features and, optionally, each utterance's frame count
(batch,) so that the GRU skips the padding. Output: (batch, ceil(ceil(frames / 2) / 2), 11) logits;
`model.output_lengths(lengths)` gives the output frame counts.

Example:
    >>> import torch
    >>> model = ctc_digits(channels=16, hidden=16)
    >>> model(torch.randn(2, 40, 51), torch.tensor([51, 30])).shape  # (batch, frames', classes)
    torch.Size([2, 13, 11])
    >>> model.output_lengths(torch.tensor([51, 30])).tolist()
    [13, 8]
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ShapeError
from ._registry import register_model


class CTCDigits(nn.Module):
    """Conv front end (stride 4 in time) + bidirectional GRU + linear to `num_classes` (the last one the blank)."""

    def __init__(self, n_mels: int = 40, channels: int = 64, hidden: int = 64, layers: int = 1, num_classes: int = 11,
                 dropout: float = 0.1):
        super().__init__()
        self.n_mels, self.num_classes, self.blank = n_mels, num_classes, num_classes - 1
        self.front = nn.Sequential(
            nn.Conv1d(n_mels, channels, kernel_size=5, stride=2, padding=2), nn.BatchNorm1d(channels), nn.ReLU(),
            nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1), nn.BatchNorm1d(channels), nn.ReLU())
        self.rnn = nn.GRU(channels, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                          dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, num_classes)

    @staticmethod
    def output_lengths(lengths: torch.Tensor) -> torch.Tensor:
        """Output frames of inputs of `lengths` frames: each stride-2 convolution (kernel 5 padding 2, kernel 3 padding 1) halves them."""
        return ((lengths - 1) // 2 + 1 - 1) // 2 + 1

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if features.ndim != 3 or features.shape[1] != self.n_mels:
            raise ShapeError("Model 'ctc_digits' received features of the wrong shape.",
                             expected=f"(batch, {self.n_mels}, frames) log-mel features",
                             received=f"shape {tuple(features.shape)}", fix="Pass tujie.speech.batch_features(waves)[0].")
        x = self.front(features).transpose(1, 2)  # (batch, frames', channels)
        if lengths is not None:  # packed: the backward direction starts at each utterance's own last frame, not in padding
            frames = x.shape[1]
            out_lengths = self.output_lengths(lengths.cpu()).clamp(1, frames)
            packed = nn.utils.rnn.pack_padded_sequence(x, out_lengths, batch_first=True, enforce_sorted=False)
            x, _ = nn.utils.rnn.pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=frames)
        else:
            x, _ = self.rnn(x)  # (batch, frames', 2 * hidden)
        return self.head(self.dropout(x))  # (batch, frames', num_classes)


@register_model(example_input=lambda b: (torch.randn(b, 40, 50),), output_shape=(13, 11),
                test_kwargs={"channels": 16, "hidden": 16})
def ctc_digits(n_mels: int = 40, channels: int = 64, hidden: int = 64, layers: int = 1, num_classes: int = 11,
               dropout: float = 0.1) -> CTCDigits:
    """Conv + bidirectional GRU CTC model for spoken digit strings (11 classes: 10 digits and the blank)."""
    return CTCDigits(n_mels, channels, hidden, layers, num_classes, dropout)
