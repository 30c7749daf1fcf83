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

Training is teacher forcing through the model's own `train_step(batch, learner)` (the Learner
calls it): the decoder reads the reference target shifted right and is scored on every next
token, padding ignored (`teacher_forcing_loss`). For decoding, `start_decoding` /
`decode_step` / `reorder_cache` advance one token at a time, so greedy search (`generate`) and
beam search (`tujie.text.translation.beam_search`) share one code path, attention weights
included.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
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


# ------------------------------------------------------------------------------ teacher forcing
def split_seq2seq_batch(batch, pad_id: int, model_name: str):
    """(src, tgt) or (src, tgt_in, tgt_out) → (src, tgt_in, tgt_out), trailing all-padding columns dropped.

    With (src, tgt), tgt holds bos ... eos (padded at the end): the decoder reads tgt[:, :-1]
    and predicts tgt[:, 1:]. Batches padded to the corpus's longest sentence are cut to the
    batch's own longest, which changes no result (padding is masked) but saves the time.

    Example:
        >>> src, tgt = torch.tensor([[5, 6, 3, 0, 0]]), torch.tensor([[2, 7, 3, 0]])
        >>> [t.tolist() for t in split_seq2seq_batch((src, tgt), pad_id=0, model_name="seq2seq_gru")]
        [[[5, 6, 3]], [[2, 7]], [[7, 3]]]
    """
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ShapeError(f"Model '{model_name}' trains on (source, target) batches.",
                         expected="(src (batch, src_len), tgt (batch, tgt_len)) with tgt = bos ... eos, padded with pad_id",
                         received=f"a {type(batch).__name__} of {len(batch) if isinstance(batch, (tuple, list)) else 1} tensors",
                         fix="Pass learner.fit((src_ids, tgt_ids)) as built by tujie.text.translation.encode_pairs.")
    src = _trim_padding(batch[0], pad_id)  # (batch, src_len)
    if len(batch) == 3:
        tgt_in, tgt_out = batch[1], batch[2]  # (batch, tgt_len) each
        width = max(_used_width(tgt_in, pad_id), _used_width(tgt_out, pad_id))
        return src, tgt_in[:, :width], tgt_out[:, :width]
    tgt = _trim_padding(batch[1], pad_id)  # (batch, tgt_len)
    if tgt.ndim != 2 or tgt.shape[1] < 2:
        raise ShapeError(f"Model '{model_name}' received targets too short to learn from.",
                         expected="tgt (batch, tgt_len >= 2): bos, the tokens, eos", received=f"tgt of shape {tuple(batch[1].shape)}",
                         fix="Encode targets with add_bos=True and add_eos=True.")
    return src, tgt[:, :-1], tgt[:, 1:]  # (batch, src_len), (batch, tgt_len - 1) twice


def _used_width(ids: torch.Tensor, pad_id: int) -> int:
    used = (ids != pad_id).any(0).nonzero()  # positions holding at least one real token
    return int(used[-1]) + 1 if len(used) else 1


def _trim_padding(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    return ids[:, :_used_width(ids, pad_id)] if ids.ndim == 2 else ids


def teacher_forcing_loss(logits: torch.Tensor, tgt_out: torch.Tensor, pad_id: int, label_smoothing: float = 0.0):
    """Mean cross-entropy over the real (non-padding) target tokens, and the share of them predicted right.

    Args:
        logits: (batch, tgt_len, vocab) next-token logits.
        tgt_out: (batch, tgt_len) the tokens they should predict, pad_id where there is none.
        label_smoothing: target mass spread over the vocabulary (Vaswani et al. use 0.1).

    Returns:
        (loss, token_accuracy): a scalar tensor and a float tensor.

    Example:
        >>> logits = torch.tensor([[[0.0, 9.0, 0.0], [0.0, 0.0, 9.0], [9.0, 0.0, 0.0]]])
        >>> loss, accuracy = teacher_forcing_loss(logits, torch.tensor([[1, 1, 0]]), pad_id=0)
        >>> round(float(accuracy), 2)  # the padding position does not count
        0.5
    """
    flat_logits = logits.reshape(-1, logits.shape[-1]).float()  # (batch * tgt_len, vocab)
    flat_target = tgt_out.reshape(-1)  # (batch * tgt_len,)
    loss = F.cross_entropy(flat_logits, flat_target, ignore_index=pad_id, label_smoothing=label_smoothing)
    real = flat_target != pad_id  # (batch * tgt_len,)
    correct = (flat_logits.detach().argmax(-1) == flat_target) & real
    return loss, correct.sum() / real.sum().clamp(min=1)


def teacher_forcing_step(model: nn.Module, batch, learner) -> dict:
    """One optimizer step of teacher forcing: forward, loss over real target tokens, `learner.backward`.

    The Learner's options apply: its optimizer, gradient clipping and accumulation, mixed
    precision, L1/L2 penalties, EMA, and its cross-entropy's label_smoothing. A model with a
    `training_logits(src, tgt_in)` method (scheduled sampling) is asked for its logits there.

    Returns:
        {"loss", "token_accuracy"} (and "grad_norm" when the Learner tracks it).
    """
    if learner is None or learner.optimizer is None:
        raise ConfigError(f"The train_step of '{model.model_name}' uses the Learner's optimizer, and there is none.",
                          expected='Learner(model, optimizer="adam")', received="optimizer=None",
                          fix='Create the Learner with optimizer="adam" (or any optimizer).')
    src, tgt_in, tgt_out = split_seq2seq_batch(batch, model.pad_id, model.model_name)
    smoothing = float(getattr(learner.loss_fn, "label_smoothing", 0.0) or 0.0)
    with learner.device_autocast:
        logits = model.training_logits(src, tgt_in) if hasattr(model, "training_logits") else model(src, tgt_in)
        loss, accuracy = teacher_forcing_loss(logits, tgt_out, model.pad_id, smoothing)  # (batch, tgt_len, vocab) → scalar
    objective = loss + learner.penalty() if (learner.l1 or learner.l2) else loss
    logs = learner.backward(objective)
    return {**logs, "loss": loss.detach(), "token_accuracy": accuracy}


@torch.no_grad()
def teacher_forcing_eval(model: nn.Module, batch, learner=None) -> dict:
    """`teacher_forcing_step`'s loss and token accuracy on a batch, without updating (`Learner.evaluate`)."""
    src, tgt_in, tgt_out = split_seq2seq_batch(batch, model.pad_id, model.model_name)
    smoothing = float(getattr(getattr(learner, "loss_fn", None), "label_smoothing", 0.0) or 0.0)
    loss, accuracy = teacher_forcing_loss(model(src, tgt_in), tgt_out, model.pad_id, smoothing)
    return {"loss": loss, "token_accuracy": accuracy}


class Seq2SeqRNN(nn.Module):
    """GRU/LSTM encoder–decoder with optional attention; forward(src_ids, tgt_ids) is teacher forcing.

    `tgt_ids` is the decoder input (the target shifted right, starting with bos_id); the logits
    at position t predict target token t + 1. `train_step(batch, learner)` trains it with teacher
    forcing (scheduled sampling when teacher_forcing_ratio < 1); `start_decoding`,
    `decode_step` and `reorder_cache` drive greedy and beam search one token at a time.

    Args: see `seq2seq_gru`.

    Input shape: src_ids (batch, src_len), tgt_ids (batch, tgt_len), padded at the end with pad_id.
    Output shape: (batch, tgt_len, tgt_vocab_size).
    """

    def __init__(self, cell: str, src_vocab_size: int, tgt_vocab_size: int, embed_dim: int, hidden_size: int,
                 num_layers: int, dropout: float, attention: str | None, pad_id: int, model_name: str,
                 teacher_forcing_ratio: float = 1.0):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ConfigError(f"Invalid value received for argument `attention` of model '{model_name}'.",
                              expected='None, "bahdanau" or "luong"', received=f"attention={attention!r}",
                              fix='Pass attention="bahdanau" (additive) or "luong" (general), or None for the plain encoder–decoder.')
        check_positive(model_name, src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, embed_dim=embed_dim,
                       hidden_size=hidden_size, num_layers=num_layers)
        check_dropout(model_name, dropout)
        if isinstance(teacher_forcing_ratio, bool) or not isinstance(teacher_forcing_ratio, (int, float)) \
                or not 0.0 <= teacher_forcing_ratio <= 1.0:
            raise ConfigError(f"Invalid value received for argument `teacher_forcing_ratio` of model '{model_name}'.",
                              expected="0 <= teacher_forcing_ratio <= 1 (the share of steps that read the reference token)",
                              received=f"teacher_forcing_ratio={teacher_forcing_ratio!r}",
                              fix="Pass 1.0 for plain teacher forcing, or e.g. 0.9 for scheduled sampling.")
        self.model_name, self.cell, self.attention_kind, self.pad_id = model_name, cell, attention, pad_id
        self.teacher_forcing_ratio = float(teacher_forcing_ratio)
        # the builder's arguments, so a saved translator can rebuild this model by name (`models.create`)
        self.builder_kwargs = {"src_vocab_size": src_vocab_size, "tgt_vocab_size": tgt_vocab_size, "embed_dim": embed_dim,
                               "hidden_size": hidden_size, "num_layers": num_layers, "dropout": dropout, "attention": attention,
                               "pad_id": pad_id, "teacher_forcing_ratio": float(teacher_forcing_ratio)}
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
        if self.cell == "gru" and self.encoder.num_layers == 1 and src_ids.device.type == "cpu":
            # The same numbers from the fused padded kernel: with the padding after each sentence, its outputs
            # up to the last true step, and the state there, never read padding. (torch's packed backward
            # pass on the CPU runs step by step and is several times slower.)
            outputs, _ = self.encoder(embedded)  # (batch, src_len, hidden)
            last = outputs[torch.arange(len(lengths)), lengths - 1]  # (batch, hidden)
            return outputs.masked_fill(padding[..., None], 0.0), last[None].contiguous(), padding
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        outputs, state = self.encoder(packed)  # state: (layers, batch, hidden), a pair of them for the LSTM
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=src_ids.shape[1])  # (batch, src_len, hidden)
        return outputs, state, padding

    def decode(self, tgt_ids: torch.Tensor, memory: torch.Tensor, state, src_padding: torch.Tensor, return_attention: bool = False):
        """Logits (batch, tgt_len, tgt_vocab_size) for decoder input `tgt_ids` from `state`, and the state after it.

        With return_attention=True a third item: the attention weights (batch, tgt_len, src_len),
        row t the weights used to predict token t + 1 (each row sums to 1 over the real source
        tokens), or None for the model without attention.
        """
        check_token_input(self.model_name, tgt_ids, self.tgt_vocab_size, "target ids")
        if tgt_ids.shape[0] != memory.shape[0]:
            raise ShapeError(f"Model '{self.model_name}' received source and target batches of different sizes.",
                             expected=f"tgt_ids with batch size {memory.shape[0]}", received=f"tgt_ids of shape {tuple(tgt_ids.shape)}",
                             fix="Pass one target sequence per source sequence.")
        embedded = self.dropout(self.tgt_embed(tgt_ids))  # (batch, tgt_len, embed_dim)
        attention = None
        if self.attention_kind == "bahdanau":
            outputs, weights = [], []
            for t in range(tgt_ids.shape[1]):  # the query is the previous state, so one step at a time
                previous = (state[0] if self.cell == "lstm" else state)[-1]  # (batch, hidden): top layer's s_{t-1}
                context, step_weights = self.attention(previous, memory, key_padding_mask=src_padding)  # (batch, hidden), (batch, src_len)
                step_input = torch.cat([embedded[:, t], context], dim=-1)[:, None]  # (batch, 1, embed_dim + hidden)
                out, state = self.decoder(step_input, state)  # (batch, 1, hidden)
                outputs.append(torch.cat([out[:, 0], context], dim=-1))  # (batch, 2 * hidden): [s_t; c_t]
                weights.append(step_weights)
            features = torch.stack(outputs, dim=1)  # (batch, tgt_len, 2 * hidden)
            attention = torch.stack(weights, dim=1)  # (batch, tgt_len, src_len)
        else:
            features, state = self.decoder(embedded, state)  # (batch, tgt_len, hidden)
            if self.attention_kind == "luong":
                # context (batch, tgt_len, hidden), attention (batch, tgt_len, src_len)
                context, attention = self.attention(features, memory, key_padding_mask=src_padding)
                features = torch.tanh(self.combine(torch.cat([context, features], dim=-1)))  # (batch, tgt_len, hidden)
        logits = self.generator(self.dropout(features))  # (batch, tgt_len, tgt_vocab_size)
        return (logits, state, attention) if return_attention else (logits, state)

    def forward(self, src_ids: torch.Tensor, tgt_ids: torch.Tensor) -> torch.Tensor:
        memory, state, src_padding = self.encode(src_ids)  # (batch, src_len, hidden)
        logits, _ = self.decode(tgt_ids, memory, state, src_padding)
        return logits  # (batch, tgt_len, tgt_vocab_size)

    def training_logits(self, src_ids: torch.Tensor, tgt_ids: torch.Tensor) -> torch.Tensor:
        """The logits `train_step` learns from: teacher forcing, or scheduled sampling (Bengio et al. 2015).

        With teacher_forcing_ratio < 1 (and in training mode), each step reads the reference
        token with that probability and the model's own previous prediction (argmax) otherwise,
        drawn per sentence and step, so the decoder also learns to continue from its own mistakes.
        """
        if self.teacher_forcing_ratio >= 1.0 or not self.training:
            return self(src_ids, tgt_ids)  # (batch, tgt_len, tgt_vocab_size)
        memory, state, src_padding = self.encode(src_ids)  # (batch, src_len, hidden)
        step_input, outputs = tgt_ids[:, :1], []  # (batch, 1): bos
        for t in range(tgt_ids.shape[1]):
            logits, state = self.decode(step_input, memory, state, src_padding)  # (batch, 1, tgt_vocab_size)
            outputs.append(logits)
            if t + 1 < tgt_ids.shape[1]:
                use_reference = torch.rand(tgt_ids.shape[0], device=tgt_ids.device) < self.teacher_forcing_ratio  # (batch,)
                own = logits[:, -1].detach().argmax(-1)  # (batch,)
                step_input = torch.where(use_reference, tgt_ids[:, t + 1], own)[:, None]  # (batch, 1)
        return torch.cat(outputs, dim=1)  # (batch, tgt_len, tgt_vocab_size)

    def train_step(self, batch, learner) -> dict:
        """One teacher-forcing step on (src, tgt) with the Learner's optimizer; returns {"loss", "token_accuracy"}.

        `tgt` holds bos ... eos padded with pad_id: the decoder reads tgt[:, :-1] and is scored
        on tgt[:, 1:], padding ignored (see `teacher_forcing_step`).
        """
        return teacher_forcing_step(self, batch, learner)

    def eval_step(self, batch, learner=None) -> dict:
        """The teacher-forced loss and token accuracy on a batch, without updating (`Learner.evaluate`)."""
        return teacher_forcing_eval(self, batch, learner)

    # --- one token at a time: greedy and beam search --------------------------------------------
    def start_decoding(self, src_ids: torch.Tensor) -> dict:
        """Encode the source once; the cache `decode_step` carries: memory, RNN state, source padding."""
        memory, state, src_padding = self.encode(src_ids)  # (batch, src_len, hidden)
        return {"memory": memory, "state": state, "src_padding": src_padding}

    def decode_step(self, prefix_ids: torch.Tensor, cache: dict, attention: bool = False):
        """Logits (batch, tgt_vocab_size) for the token after `prefix_ids` (batch, step), its attention, the new cache.

        The RNN state in the cache has read all of the prefix but its last token, which this
        step feeds; so call it with a prefix one token longer each time. The attention is
        (batch, src_len), or None for the model without attention.
        """
        logits, state, weights = self.decode(prefix_ids[:, -1:], cache["memory"], cache["state"], cache["src_padding"],
                                             return_attention=True)  # (batch, 1, tgt_vocab_size), ..., (batch, 1, src_len)
        return logits[:, -1], (None if weights is None else weights[:, -1]), {**cache, "state": state}

    @staticmethod
    def reorder_cache(cache: dict, rows: torch.Tensor) -> dict:
        """The cache of the sentences (or beam hypotheses) `rows` (n,), in that order; rows may repeat."""
        state = cache["state"]  # (layers, batch, hidden), a pair of them for the LSTM
        state = tuple(s.index_select(1, rows) for s in state) if isinstance(state, tuple) else state.index_select(1, rows)
        return {"memory": cache["memory"].index_select(0, rows), "state": state,
                "src_padding": cache["src_padding"].index_select(0, rows)}

    def generate(self, src: torch.Tensor, max_len: int, bos_id: int, eos_id: int) -> torch.Tensor:
        """Greedy decoding, one token per step carrying the RNN state; eval mode, no gradients.

        Returns:
            (batch, n) ids without the leading bos_id, n <= max_len; each row keeps its eos_id
            and is filled with pad_id after it.
        """
        check_positive(self.model_name, max_len=max_len)
        with evaluating(self):
            cache = self.start_decoding(src)

            def next_logits(ids):
                nonlocal cache
                logits, _, cache = self.decode_step(ids, cache)  # (batch, tgt_vocab_size)
                return logits

            return greedy_decode(next_logits, src.shape[0], max_len, bos_id, eos_id, self.pad_id, src.device)

    def extra_repr(self) -> str:
        ratio = f", teacher_forcing_ratio={self.teacher_forcing_ratio}" if self.teacher_forcing_ratio < 1 else ""
        return f"cell={self.cell!r}, attention={self.attention_kind!r}, pad_id={self.pad_id}{ratio}"


def _pair(batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randint(1, 50, (batch_size, 7)), torch.randint(1, 50, (batch_size, 6))


_SMALL = {"src_vocab_size": 50, "tgt_vocab_size": 50, "embed_dim": 16, "hidden_size": 32}


@register_model(example_input=_pair, output_shape=(6, 50), test_kwargs=_SMALL)
def seq2seq_gru(src_vocab_size: int = 10000, tgt_vocab_size: int = 10000, embed_dim: int = 256, hidden_size: int = 512,
                num_layers: int = 1, dropout: float = 0.0, attention: str | None = None, pad_id: int = 0,
                teacher_forcing_ratio: float = 1.0) -> Seq2SeqRNN:
    """GRU encoder–decoder (Cho et al. 2014), optionally with attention; teacher-forced logits, greedy `generate`.

    Args:
        src_vocab_size, tgt_vocab_size: vocabulary sizes (pad, bos and eos ids included).
        embed_dim: token embedding size.
        hidden_size, num_layers: the GRUs' size and depth (the decoder mirrors the encoder).
        dropout: on embeddings, between RNN layers and before the output layer.
        attention: None, "bahdanau" (additive) or "luong" (general).
        pad_id: the padding id (sequences padded at the end).
        teacher_forcing_ratio: share of decoder steps that read the reference token in `train_step`;
            below 1 the others read the model's own previous prediction (scheduled sampling).

    Example:
        >>> model = seq2seq_gru(src_vocab_size=40, tgt_vocab_size=30, embed_dim=8, hidden_size=16, attention="luong")
        >>> src, tgt = torch.randint(1, 40, (2, 7)), torch.randint(1, 30, (2, 5))
        >>> model(src, tgt).shape
        torch.Size([2, 5, 30])
        >>> model.generate(src, max_len=4, bos_id=1, eos_id=2).shape[0]
        2
    """
    return Seq2SeqRNN("gru", src_vocab_size, tgt_vocab_size, embed_dim, hidden_size, num_layers, dropout, attention, pad_id,
                      "seq2seq_gru", teacher_forcing_ratio)


@register_model(example_input=_pair, output_shape=(6, 50), test_kwargs=_SMALL, paper_params=384_000_000,
                paper_kwargs={"src_vocab_size": 160_000, "tgt_vocab_size": 80_000, "embed_dim": 1000, "hidden_size": 1000,
                              "num_layers": 4})
def seq2seq_lstm(src_vocab_size: int = 10000, tgt_vocab_size: int = 10000, embed_dim: int = 256, hidden_size: int = 512,
                 num_layers: int = 1, dropout: float = 0.0, attention: str | None = None, pad_id: int = 0,
                 teacher_forcing_ratio: float = 1.0) -> Seq2SeqRNN:
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
                      "seq2seq_lstm", teacher_forcing_ratio)


@register_model(example_input=_pair, output_shape=(6, 50), test_kwargs=_SMALL)
def seq2seq_gru_attention(src_vocab_size: int = 10000, tgt_vocab_size: int = 10000, embed_dim: int = 256,
                          hidden_size: int = 512, num_layers: int = 1, dropout: float = 0.0, attention: str | None = "bahdanau",
                          pad_id: int = 0, teacher_forcing_ratio: float = 1.0) -> Seq2SeqRNN:
    """GRU encoder–decoder with Bahdanau (additive) attention (Bahdanau et al. 2015, with a one-way encoder).

    Args: as `seq2seq_gru`, with attention="bahdanau" by default.

    Example:
        >>> model = seq2seq_gru_attention(src_vocab_size=40, tgt_vocab_size=30, embed_dim=8, hidden_size=16)
        >>> model(torch.randint(1, 40, (2, 7)), torch.randint(1, 30, (2, 5))).shape
        torch.Size([2, 5, 30])
    """
    return Seq2SeqRNN("gru", src_vocab_size, tgt_vocab_size, embed_dim, hidden_size, num_layers, dropout, attention, pad_id,
                      "seq2seq_gru_attention", teacher_forcing_ratio)
