"""RNN encoder–decoder (Sutskever et al. 2014; Cho et al. 2014), with Bahdanau (2015) or Luong (2015) attention.

The encoder reads the source; its final state starts the decoder, which predicts the target
one token after another. Without attention that final state is all the decoder knows of the
source (the "bottleneck" of the textbook's section 8.4); with attention the decoder looks back
at every encoder output at each step:

  * "bahdanau": before each step, the previous decoder state s_{t-1} scores the encoder
    outputs additively, and the context c_t joins the input embedding (a loop over steps);
  * "luong": after the RNN, each decoder output h_t scores them with q^T W k, and
    tanh(W_c [c_t; h_t]) is what predicts the token (one pass over all steps).

Sequences are padded at the end with pad_id; padding never reaches the decoder.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import ConfigError, ShapeError
from ..layers import AdditiveAttention, DotAttention
from ._common import check_positive, check_token_input
from ._registry import register_model

ATTENTIONS = (None, "bahdanau", "luong")


def check_dropout(model_name: str, dropout) -> None:
    """Raise a ConfigError unless 0 <= dropout < 1, naming the model."""
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ConfigError(f"Invalid value received for argument `dropout` of model '{model_name}'.", expected="0 <= dropout < 1",
                          received=f"dropout={dropout!r}", fix="Pass a fraction such as dropout=0.1.")


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Eval mode (no dropout) and no gradients inside the block; the previous mode comes back after it."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def greedy_decode(next_logits, batch_size: int, max_len: int, bos_id: int, eos_id: int, pad_id: int, device=None) -> torch.Tensor:
    """Greedy search: from bos_id, append argmax(next_logits(prefix)) until every row has eos_id or max_len tokens.

    Args:
        next_logits: `prefix ids (batch, step) -> logits (batch, vocab)` for the next token.

    Returns:
        (batch, n) ids without the leading bos_id, n <= max_len; a row keeps its eos_id and is
        filled with pad_id after it.

    Example:
        >>> table = torch.eye(5)[[2, 3, 4, 1, 1]]  # token i is followed by token table[i].argmax()
        >>> greedy_decode(lambda ids: table[ids[:, -1]], batch_size=1, max_len=6, bos_id=0, eos_id=1, pad_id=0)
        tensor([[2, 4, 1]])
    """
    ids = torch.full((batch_size, 1), bos_id, dtype=torch.long, device=device)  # (batch, 1)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=device)  # (batch,)
    for _ in range(max_len):
        next_id = next_logits(ids).argmax(-1).masked_fill(finished, pad_id)  # (batch,)
        ids = torch.cat([ids, next_id[:, None]], dim=1)  # (batch, step + 1)
        finished |= next_id == eos_id
        if finished.all():
            break
    return ids[:, 1:]  # (batch, n)


class Seq2SeqRNN(nn.Module):
    """GRU/LSTM encoder–decoder with optional attention; forward(src_ids, tgt_ids) is teacher forcing.

    `tgt_ids` is the decoder input (the target shifted right, starting with bos_id); the logits
    at position t predict target token t + 1.

    Args: see `seq2seq_gru`.

    Input shape: src_ids (batch, src_len), tgt_ids (batch, tgt_len), padded at the end with pad_id.
    Output shape: (batch, tgt_len, tgt_vocab_size).
    """

    def __init__(self, cell: str, src_vocab_size: int, tgt_vocab_size: int, embed_dim: int, hidden_size: int,
                 num_layers: int, dropout: float, attention: str | None, pad_id: int, model_name: str):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ConfigError(f"Invalid value received for argument `attention` of model '{model_name}'.",
                              expected='None, "bahdanau" or "luong"', received=f"attention={attention!r}",
                              fix='Pass attention="bahdanau" (additive) or "luong" (general), or None for the plain encoder–decoder.')
        check_positive(model_name, src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, embed_dim=embed_dim,
                       hidden_size=hidden_size, num_layers=num_layers)
        check_dropout(model_name, dropout)
        self.model_name, self.cell, self.attention_kind, self.pad_id = model_name, cell, attention, pad_id
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        between_layers = dropout if num_layers > 1 else 0.0
        self.src_embed = nn.Embedding(src_vocab_size, embed_dim, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, embed_dim, padding_idx=pad_id)
        self.encoder = rnn(embed_dim, hidden_size, num_layers, batch_first=True, dropout=between_layers)
        decoder_input = embed_dim + (hidden_size if attention == "bahdanau" else 0)  # Bahdanau feeds the context in
        self.decoder = rnn(decoder_input, hidden_size, num_layers, batch_first=True, dropout=between_layers)
        self.dropout = nn.Dropout(dropout)
        if attention == "bahdanau":
            self.attention = AdditiveAttention(hidden_size, query_dim=hidden_size, key_dim=hidden_size)
            output_size = 2 * hidden_size  # [s_t; c_t]
        elif attention == "luong":
            self.attention = DotAttention("general", query_dim=hidden_size, key_dim=hidden_size)
            self.combine = nn.Linear(2 * hidden_size, hidden_size, bias=False)  # W_c in tanh(W_c [c_t; h_t])
            output_size = hidden_size
        else:
            output_size = hidden_size
        self.generator = nn.Linear(output_size, tgt_vocab_size)

    def encode(self, src_ids: torch.Tensor):
        """Encoder outputs (batch, src_len, hidden), final state (the decoder's first), source padding (batch, src_len)."""
        check_token_input(self.model_name, src_ids, self.src_vocab_size, "source ids")
        padding = src_ids == self.pad_id  # (batch, src_len)
        embedded = self.dropout(self.src_embed(src_ids))  # (batch, src_len, embed_dim)
        # Packing stops each sequence at its own length, so its final state has not read any padding.
        lengths = (~padding).sum(1).clamp(min=1).cpu()  # (batch,)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        outputs, state = self.encoder(packed)  # state: (layers, batch, hidden), a pair of them for the LSTM
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=src_ids.shape[1])  # (batch, src_len, hidden)
        return outputs, state, padding

    def decode(self, tgt_ids: torch.Tensor, memory: torch.Tensor, state, src_padding: torch.Tensor):
        """Logits (batch, tgt_len, tgt_vocab_size) for decoder input `tgt_ids` from `state`, and the state after it."""
        check_token_input(self.model_name, tgt_ids, self.tgt_vocab_size, "target ids")
        if tgt_ids.shape[0] != memory.shape[0]:
            raise ShapeError(f"Model '{self.model_name}' received source and target batches of different sizes.",
                             expected=f"tgt_ids with batch size {memory.shape[0]}", received=f"tgt_ids of shape {tuple(tgt_ids.shape)}",
                             fix="Pass one target sequence per source sequence.")
        embedded = self.dropout(self.tgt_embed(tgt_ids))  # (batch, tgt_len, embed_dim)
        if self.attention_kind == "bahdanau":
            outputs = []
            for t in range(tgt_ids.shape[1]):  # the query is the previous state, so one step at a time
                previous = (state[0] if self.cell == "lstm" else state)[-1]  # (batch, hidden): top layer's s_{t-1}
                context, _ = self.attention(previous, memory, key_padding_mask=src_padding)  # (batch, hidden)
                step_input = torch.cat([embedded[:, t], context], dim=-1)[:, None]  # (batch, 1, embed_dim + hidden)
                out, state = self.decoder(step_input, state)  # (batch, 1, hidden)
                outputs.append(torch.cat([out[:, 0], context], dim=-1))  # (batch, 2 * hidden): [s_t; c_t]
            features = torch.stack(outputs, dim=1)  # (batch, tgt_len, 2 * hidden)
        else:
            features, state = self.decoder(embedded, state)  # (batch, tgt_len, hidden)
            if self.attention_kind == "luong":
                context, _ = self.attention(features, memory, key_padding_mask=src_padding)  # (batch, tgt_len, hidden)
                features = torch.tanh(self.combine(torch.cat([context, features], dim=-1)))  # (batch, tgt_len, hidden)
        return self.generator(self.dropout(features)), state  # (batch, tgt_len, tgt_vocab_size)

    def forward(self, src_ids: torch.Tensor, tgt_ids: torch.Tensor) -> torch.Tensor:
        memory, state, src_padding = self.encode(src_ids)  # (batch, src_len, hidden)
        logits, _ = self.decode(tgt_ids, memory, state, src_padding)
        return logits  # (batch, tgt_len, tgt_vocab_size)

    def generate(self, src: torch.Tensor, max_len: int, bos_id: int, eos_id: int) -> torch.Tensor:
        """Greedy decoding, one token per step carrying the RNN state; eval mode, no gradients.

        Returns:
            (batch, n) ids without the leading bos_id, n <= max_len; each row keeps its eos_id
            and is filled with pad_id after it.
        """
        check_positive(self.model_name, max_len=max_len)
        with evaluating(self):
            memory, state, src_padding = self.encode(src)

            def next_logits(ids):
                nonlocal state
                logits, state = self.decode(ids[:, -1:], memory, state, src_padding)  # (batch, 1, tgt_vocab_size)
                return logits[:, -1]

            return greedy_decode(next_logits, src.shape[0], max_len, bos_id, eos_id, self.pad_id, src.device)

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, attention={self.attention_kind!r}, pad_id={self.pad_id}"


def _pair(batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randint(1, 50, (batch_size, 7)), torch.randint(1, 50, (batch_size, 6))


_SMALL = {"src_vocab_size": 50, "tgt_vocab_size": 50, "embed_dim": 16, "hidden_size": 32}


@register_model(example_input=_pair, output_shape=(6, 50), test_kwargs=_SMALL)
def seq2seq_gru(src_vocab_size: int = 10000, tgt_vocab_size: int = 10000, embed_dim: int = 256, hidden_size: int = 512,
                num_layers: int = 1, dropout: float = 0.0, attention: str | None = None, pad_id: int = 0) -> Seq2SeqRNN:
    """GRU encoder–decoder (Cho et al. 2014), optionally with attention; teacher-forced logits, greedy `generate`.

    Args:
        src_vocab_size, tgt_vocab_size: vocabulary sizes (pad, bos and eos ids included).
        embed_dim: token embedding size.
        hidden_size, num_layers: the GRUs' size and depth (the decoder mirrors the encoder).
        dropout: on embeddings, between RNN layers and before the output layer.
        attention: None, "bahdanau" (additive) or "luong" (general).
        pad_id: the padding id (sequences padded at the end).

    Example:
        >>> model = seq2seq_gru(src_vocab_size=40, tgt_vocab_size=30, embed_dim=8, hidden_size=16, attention="luong")
        >>> src, tgt = torch.randint(1, 40, (2, 7)), torch.randint(1, 30, (2, 5))
        >>> model(src, tgt).shape
        torch.Size([2, 5, 30])
        >>> model.generate(src, max_len=4, bos_id=1, eos_id=2).shape[0]
        2
    """
    return Seq2SeqRNN("gru", src_vocab_size, tgt_vocab_size, embed_dim, hidden_size, num_layers, dropout, attention, pad_id,
                      "seq2seq_gru")


@register_model(example_input=_pair, output_shape=(6, 50), test_kwargs=_SMALL, paper_params=384_000_000,
                paper_kwargs={"src_vocab_size": 160_000, "tgt_vocab_size": 80_000, "embed_dim": 1000, "hidden_size": 1000,
                              "num_layers": 4})
def seq2seq_lstm(src_vocab_size: int = 10000, tgt_vocab_size: int = 10000, embed_dim: int = 256, hidden_size: int = 512,
                 num_layers: int = 1, dropout: float = 0.0, attention: str | None = None, pad_id: int = 0) -> Seq2SeqRNN:
    """LSTM encoder–decoder (Sutskever et al. 2014), optionally with attention; teacher-forced logits, greedy `generate`.

    The paper's model (4 layers of 1000 cells, 1000-d embeddings, 160,000 source and 80,000
    target words) has 384M parameters: seq2seq_lstm(160_000, 80_000, 1000, 1000, num_layers=4).

    Args: as `seq2seq_gru`.

    Example:
        >>> model = seq2seq_lstm(src_vocab_size=40, tgt_vocab_size=30, embed_dim=8, hidden_size=16, num_layers=2)
        >>> model(torch.randint(1, 40, (2, 7)), torch.randint(1, 30, (2, 5))).shape
        torch.Size([2, 5, 30])
    """
    return Seq2SeqRNN("lstm", src_vocab_size, tgt_vocab_size, embed_dim, hidden_size, num_layers, dropout, attention, pad_id,
                      "seq2seq_lstm")


@register_model(example_input=_pair, output_shape=(6, 50), test_kwargs=_SMALL)
def seq2seq_gru_attention(src_vocab_size: int = 10000, tgt_vocab_size: int = 10000, embed_dim: int = 256,
                          hidden_size: int = 512, num_layers: int = 1, dropout: float = 0.0, attention: str | None = "bahdanau",
                          pad_id: int = 0) -> Seq2SeqRNN:
    """GRU encoder–decoder with Bahdanau (additive) attention (Bahdanau et al. 2015, with a one-way encoder).

    Args: as `seq2seq_gru`, with attention="bahdanau" by default.

    Example:
        >>> model = seq2seq_gru_attention(src_vocab_size=40, tgt_vocab_size=30, embed_dim=8, hidden_size=16)
        >>> model(torch.randint(1, 40, (2, 7)), torch.randint(1, 30, (2, 5))).shape
        torch.Size([2, 5, 30])
    """
    return Seq2SeqRNN("gru", src_vocab_size, tgt_vocab_size, embed_dim, hidden_size, num_layers, dropout, attention, pad_id,
                      "seq2seq_gru_attention")
