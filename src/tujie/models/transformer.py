"""Transformers on token ids: an encoder classifier, and Vaswani et al.'s (2017) encoder–decoder for translation.

Token ids are embedded, scaled by sqrt(d_model) and given sinusoidal positions (section 3.4–3.5);
`pad_id` marks padding, which attention ignores and pooling leaves out, so padding a batch
more does not change any real token's result.

The encoder–decoder trains with teacher forcing through its own `train_step` (shared with the
RNN seq2seq models), and decodes one token at a time with `start_decoding` / `decode_step` /
`reorder_cache`, incrementally: each step runs only the new position through the decoder
(greedy `generate`, and beam search in `tujie.text.translation`). Its attention
for a heatmap is the last decoder layer's cross-attention, averaged over the heads.
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from ..layers import SinusoidalPositionalEncoding, TransformerDecoder, TransformerEncoder
from ._common import check_positive
from ._registry import register_model
from .seq2seq import check_dropout, check_token_input, evaluating, greedy_decode, teacher_forcing_eval, teacher_forcing_step


class TokenEmbedding(nn.Module):
    """Token ids → embeddings × sqrt(d_model) + sinusoidal positions (Vaswani et al., sections 3.4 and 3.5).

    Example:
        >>> TokenEmbedding(vocab_size=50, d_model=8)(torch.tensor([[3, 4, 0]])).shape
        torch.Size([1, 3, 8])
    """

    def __init__(self, vocab_size: int, d_model: int, max_len: int = 512, dropout: float = 0.0, pad_id: int = 0):
        super().__init__()
        self.d_model = d_model
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        # N(0, 1/d_model), as fairseq: after the sqrt(d_model) scale each token has unit variance,
        # the size of the positions; a tied output layer then starts with unit-variance logits
        # (torch's N(0, 1) gave logits of std sqrt(d_model) and a first loss ~150 for 8k words).
        nn.init.normal_(self.embedding.weight, mean=0.0, std=d_model ** -0.5)
        with torch.no_grad():
            self.embedding.weight[pad_id].zero_()
        self.position = SinusoidalPositionalEncoding(d_model, max_len=max_len, dropout=dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids) * math.sqrt(self.d_model)  # (batch, seq, d_model)
        return self.position(x)  # (batch, seq, d_model)


class TransformerClassifier(nn.Module):
    """Token ids → embedding + sinusoidal positions → Transformer encoder → mean over real tokens → logits.

    Args: see `transformer_classifier`.

    Input shape: (batch, seq) integer ids, padded with pad_id. Output shape: (batch, num_classes).
    """

    def __init__(self, vocab_size: int, num_classes: int, d_model: int, num_heads: int, num_layers: int,
                 dim_feedforward: int, dropout: float, max_len: int, pad_id: int, norm_first: bool,
                 model_name: str = "transformer_classifier"):
        super().__init__()
        self.model_name, self.vocab_size, self.pad_id = model_name, vocab_size, pad_id
        self.embed = TokenEmbedding(vocab_size, d_model, max_len, dropout, pad_id)
        self.encoder = TransformerEncoder(d_model, num_heads, num_layers, dim_feedforward=dim_feedforward, dropout=dropout,
                                          norm_first=norm_first)
        self.head = nn.Linear(d_model, num_classes)

    def padding_of(self, ids: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """(batch, seq) True at padding: from `lengths` when given, else where ids == pad_id."""
        if lengths is None:
            return ids == self.pad_id
        lengths = torch.as_tensor(lengths, device=ids.device)
        if lengths.shape != ids.shape[:1] or lengths.is_floating_point():
            raise ShapeError(f"Model '{self.model_name}' received `lengths` of the wrong shape.",
                             expected=f"a 1-D integer tensor of {ids.shape[0]} lengths", received=f"lengths of shape {tuple(lengths.shape)}",
                             fix="Pass the true length of each padded sequence, e.g. lengths=torch.tensor([5, 3]).")
        return torch.arange(ids.shape[1], device=ids.device)[None, :] >= lengths[:, None]  # (batch, seq)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        check_token_input(self.model_name, ids, self.vocab_size)
        padding = self.padding_of(ids, lengths)  # (batch, seq), True at padding
        x = self.encoder(self.embed(ids), key_padding_mask=padding)  # (batch, seq, d_model)
        keep = (~padding).unsqueeze(-1).to(x.dtype)  # (batch, seq, 1)
        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1)  # (batch, d_model): mean over the real tokens
        return self.head(pooled)  # (batch, num_classes)

    def token_attention(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """How much attention each token receives in the last encoder layer: (batch, seq), rows sum to 1.

        The last layer's self-attention, averaged over its heads and over the real query
        positions (a token many positions look at scores high); padding gets 0. A coarse
        picture of what the pooled representation is built from, not an explanation of the
        decision.

        Example:
            >>> model = transformer_classifier(vocab_size=50, d_model=16, num_heads=2, num_layers=1)
            >>> model.token_attention(torch.tensor([[5, 8, 13, 0]])).sum(-1)
            tensor([1.])
        """
        check_token_input(self.model_name, ids, self.vocab_size)
        padding = self.padding_of(ids, lengths)  # (batch, seq)
        with evaluating(self), capture_attention(self.encoder.layers[-1].self_attn) as captured:
            self.encoder(self.embed(ids), key_padding_mask=padding)
        weights = captured["weights"]  # (batch, query, key), averaged over the heads
        real = (~padding).to(weights.dtype)  # (batch, seq)
        received = (weights * real[:, :, None]).sum(1) / real.sum(1, keepdim=True).clamp(min=1)  # (batch, key)
        received = received * real
        return received / received.sum(-1, keepdim=True).clamp(min=1e-12)


@contextlib.contextmanager
def capture_attention(attention: nn.Module):
    """Inside the block, `attention` (a MultiHeadAttention) also computes its head-averaged weights, kept in the yielded dict.

    The layer is asked for its weights through hooks for the calls inside the block only; the
    explicit attention it then computes equals the fused kernel's up to float rounding.
    """
    captured = {}

    def ask_for_weights(module, args, kwargs):
        return args, {**kwargs, "need_weights": True, "average_weights": True}

    def keep_weights(module, args, output):
        captured["weights"] = output[1]  # (batch, query_len, key_len), averaged over heads

    handles = [attention.register_forward_pre_hook(ask_for_weights, with_kwargs=True),
               attention.register_forward_hook(keep_weights)]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


class TransformerSeq2Seq(nn.Module):
    """Vaswani et al.'s encoder–decoder: forward(src_ids, tgt_ids) gives next-token logits for every target position.

    `tgt_ids` is the decoder input, the target shifted right (it starts with bos_id); the
    logits at position t predict target token t + 1. The decoder is causal, so teacher forcing
    trains all positions at once (`train_step`).

    Args: see `transformer_seq2seq`.

    Input shape: src_ids (batch, src_len), tgt_ids (batch, tgt_len), padded with pad_id.
    Output shape: (batch, tgt_len, tgt_vocab_size).
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, d_model: int, num_heads: int, num_encoder_layers: int,
                 num_decoder_layers: int, dim_feedforward: int, dropout: float, max_len: int, pad_id: int,
                 share_embeddings: bool, tie_output: bool, norm_first: bool, model_name: str = "transformer_seq2seq"):
        super().__init__()
        self.model_name, self.pad_id, self.max_len = model_name, pad_id, max_len
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        # the builder's arguments, so a saved translator can rebuild this model by name (`models.create`)
        self.builder_kwargs = {"src_vocab_size": src_vocab_size, "tgt_vocab_size": tgt_vocab_size, "d_model": d_model,
                               "num_heads": num_heads, "num_encoder_layers": num_encoder_layers,
                               "num_decoder_layers": num_decoder_layers, "dim_feedforward": dim_feedforward, "dropout": dropout,
                               "max_len": max_len, "pad_id": pad_id, "share_embeddings": share_embeddings,
                               "tie_output": tie_output, "norm_first": norm_first}
        self.src_embed = TokenEmbedding(src_vocab_size, d_model, max_len, dropout, pad_id)
        self.tgt_embed = TokenEmbedding(tgt_vocab_size, d_model, max_len, dropout, pad_id)
        if share_embeddings:  # one vocabulary for both languages (section 3.4: BPE shared source-target)
            self.tgt_embed.embedding.weight = self.src_embed.embedding.weight
        layer_kwargs = {"dim_feedforward": dim_feedforward, "dropout": dropout, "norm_first": norm_first}
        self.encoder = TransformerEncoder(d_model, num_heads, num_encoder_layers, **layer_kwargs)
        self.decoder = TransformerDecoder(d_model, num_heads, num_decoder_layers, **layer_kwargs)
        self.generator = nn.Linear(d_model, tgt_vocab_size)
        if tie_output:  # the pre-softmax projection shares the target embedding matrix (Press & Wolf 2017)
            self.generator.weight = self.tgt_embed.embedding.weight

    def encode(self, src_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder output (batch, src_len, d_model) and the source padding mask (batch, src_len)."""
        check_token_input(self.model_name, src_ids, self.src_vocab_size, "source ids")
        src_padding = src_ids == self.pad_id  # (batch, src_len)
        return self.encoder(self.src_embed(src_ids), key_padding_mask=src_padding), src_padding

    def decode(self, tgt_ids: torch.Tensor, memory: torch.Tensor, src_padding: torch.Tensor, return_attention: bool = False):
        """Next-token logits (batch, tgt_len, tgt_vocab_size) for decoder input `tgt_ids`.

        With return_attention=True, (logits, weights): the last decoder layer's cross-attention
        averaged over its heads, (batch, tgt_len, src_len), row t the weights used to predict
        token t + 1. (The layer is asked for its weights through a hook for this one call; the
        explicit attention it then computes equals the fused kernel's up to float rounding.)
        """
        check_token_input(self.model_name, tgt_ids, self.tgt_vocab_size, "target ids")
        if tgt_ids.shape[0] != memory.shape[0]:
            raise ShapeError(f"Model '{self.model_name}' received source and target batches of different sizes.",
                             expected=f"tgt_ids with batch size {memory.shape[0]}", received=f"tgt_ids of shape {tuple(tgt_ids.shape)}",
                             fix="Pass one target sequence per source sequence.")
        if return_attention:
            with capture_attention(self.decoder.layers[-1].cross_attn) as captured:
                logits = self.decode(tgt_ids, memory, src_padding)  # (batch, tgt_len, tgt_vocab_size)
            return logits, captured["weights"]  # (batch, tgt_len, src_len)
        x = self.decoder(self.tgt_embed(tgt_ids), memory, key_padding_mask=tgt_ids == self.pad_id,
                         memory_key_padding_mask=src_padding, causal=True)  # (batch, tgt_len, d_model)
        return self.generator(x)  # (batch, tgt_len, tgt_vocab_size)

    def forward(self, src_ids: torch.Tensor, tgt_ids: torch.Tensor) -> torch.Tensor:
        memory, src_padding = self.encode(src_ids)  # (batch, src_len, d_model)
        return self.decode(tgt_ids, memory, src_padding)  # (batch, tgt_len, tgt_vocab_size)

    def train_step(self, batch, learner) -> dict:
        """One teacher-forcing step on (src, tgt) with the Learner's optimizer; returns {"loss", "token_accuracy"}.

        `tgt` holds bos ... eos padded with pad_id: the decoder reads tgt[:, :-1] and is scored
        on tgt[:, 1:], padding ignored; the Learner's label_smoothing applies (the paper: 0.1).
        """
        return teacher_forcing_step(self, batch, learner)

    def eval_step(self, batch, learner=None) -> dict:
        """The teacher-forced loss and token accuracy on a batch, without updating (`Learner.evaluate`)."""
        return teacher_forcing_eval(self, batch, learner)

    # --- one token at a time: greedy and beam search --------------------------------------------
    def start_decoding(self, src_ids: torch.Tensor) -> dict:
        """Encode the source once; the cache `decode_step` reads: encoder output, source padding, decoder inputs so far."""
        memory, src_padding = self.encode(src_ids)  # (batch, src_len, d_model), (batch, src_len)
        return {"memory": memory, "src_padding": src_padding, "past": None}

    def decode_step(self, prefix_ids: torch.Tensor, cache: dict, attention: bool = False):
        """Logits (batch, tgt_vocab_size) for the token after `prefix_ids` (batch, step), its attention, the new cache.

        Incremental: the cache holds every decoder layer's inputs at the earlier positions (it
        has read all of the prefix but its last token, which this step feeds; call it with a
        prefix one token longer each time). Only the new position runs through the layers, so
        a step costs one position's work plus re-projecting the earlier keys and values,
        instead of the whole prefix again; the logits equal `decode`'s last row. With
        attention=True the second item is the last layer's cross-attention of the new
        position, (batch, src_len), averaged over heads; otherwise None.
        """
        if prefix_ids.shape[1] > self.max_len:
            raise ConfigError(f"{self.model_name} ran out of positions while decoding.",
                              expected=f"at most {self.max_len} decoder positions (the model's max_len, bos_id included)",
                              received=f"a prefix of {prefix_ids.shape[1]} tokens",
                              fix="Decode with a smaller max_len, or build the model with a larger max_len.")
        check_token_input(self.model_name, prefix_ids, self.tgt_vocab_size, "target ids")
        x = self.tgt_embed(prefix_ids)[:, -1:]  # (batch, 1, d_model): the newest token at its position
        padding = prefix_ids == self.pad_id  # (batch, step), for the self-attention over the prefix
        weights = None
        with capture_attention(self.decoder.layers[-1].cross_attn) if attention else contextlib.nullcontext({}) as captured:
            out, past = self.decoder.step(x, cache["past"], cache["memory"], padding, cache["src_padding"])  # (batch, 1, d_model)
        if attention:
            weights = captured["weights"][:, -1]  # (batch, src_len)
        return self.generator(out[:, -1]), weights, {**cache, "past": past}  # (batch, tgt_vocab_size)

    @staticmethod
    def reorder_cache(cache: dict, rows: torch.Tensor) -> dict:
        """The cache of the sentences (or beam hypotheses) `rows` (n,), in that order; rows may repeat."""
        past = cache["past"]
        return {"memory": cache["memory"].index_select(0, rows), "src_padding": cache["src_padding"].index_select(0, rows),
                "past": None if past is None else [p.index_select(0, rows) for p in past]}

    def generate(self, src: torch.Tensor, max_len: int, bos_id: int, eos_id: int) -> torch.Tensor:
        """Greedy decoding: start from bos_id, append the most likely token until eos_id or max_len tokens.

        Runs in eval mode without gradients (the previous mode comes back after). The source is
        encoded once and the decoder runs incrementally (`decode_step`).

        Returns:
            (batch, n) token ids without the leading bos_id, n <= max_len; each row keeps its
            eos_id and is filled with pad_id after it.
        """
        check_positive(self.model_name, max_len=max_len)
        if max_len >= self.max_len:
            raise ConfigError(f"Invalid value received for argument `max_len` of {self.model_name}.generate.",
                              expected=f"at most {self.max_len - 1} (the model's positions, bos_id included)",
                              received=f"max_len={max_len}", fix="Generate fewer tokens, or build the model with a larger max_len.")
        with evaluating(self):
            cache = self.start_decoding(src)

            def next_logits(ids):
                nonlocal cache
                logits, _, cache = self.decode_step(ids, cache)  # (batch, tgt_vocab_size)
                return logits

            return greedy_decode(next_logits, src.shape[0], max_len, bos_id, eos_id, self.pad_id, src.device)


def _ids(batch_size: int, length: int = 10) -> torch.Tensor:
    return torch.randint(1, 50, (batch_size, length))


_SMALL = {"vocab_size": 50, "num_classes": 3, "d_model": 32, "num_heads": 4, "num_layers": 1, "dim_feedforward": 64}


@register_model(example_input=lambda b: _ids(b), output_shape=(3,), test_kwargs=_SMALL)
def transformer_classifier(vocab_size: int = 10000, num_classes: int = 2, d_model: int = 128, num_heads: int = 4,
                           num_layers: int = 2, dim_feedforward: int = 512, dropout: float = 0.1, max_len: int = 512,
                           pad_id: int = 0, norm_first: bool = False) -> TransformerClassifier:
    """Text classifier: embedding + sinusoidal positions → Transformer encoder → mean over non-pad tokens → Linear.

    Args:
        vocab_size: number of token ids (pad_id included).
        num_classes: outputs (logits).
        d_model, num_heads, num_layers, dim_feedforward: encoder sizes.
        dropout: in the encoder and after the positions.
        max_len: longest sequence.
        pad_id: the padding id, ignored by attention and by the pooling.
        norm_first: pre-norm encoder layers.

    Example:
        >>> model = transformer_classifier(vocab_size=100, num_classes=3, d_model=32, num_layers=1)
        >>> model(torch.tensor([[5, 8, 13, 0, 0], [7, 2, 9, 4, 1]])).shape
        torch.Size([2, 3])
    """
    check_positive("transformer_classifier", vocab_size=vocab_size, num_classes=num_classes, d_model=d_model,
                   num_heads=num_heads, num_layers=num_layers, dim_feedforward=dim_feedforward, max_len=max_len)
    check_dropout("transformer_classifier", dropout)
    return TransformerClassifier(vocab_size, num_classes, d_model, num_heads, num_layers, dim_feedforward, dropout, max_len,
                                 pad_id, norm_first)


@register_model(example_input=lambda b: (_ids(b, 10), _ids(b, 8)), output_shape=(8, 50),
                test_kwargs={"src_vocab_size": 50, "tgt_vocab_size": 50, "d_model": 32, "num_heads": 4, "num_encoder_layers": 1,
                             "num_decoder_layers": 1, "dim_feedforward": 64},
                paper_params=65_000_000, tolerance=0.05,
                paper_kwargs={"src_vocab_size": 37000, "tgt_vocab_size": 37000, "share_embeddings": True, "tie_output": True})
def transformer_seq2seq(src_vocab_size: int = 10000, tgt_vocab_size: int = 10000, d_model: int = 512, num_heads: int = 8,
                        num_encoder_layers: int = 6, num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                        dropout: float = 0.1, max_len: int = 512, pad_id: int = 0, share_embeddings: bool = False,
                        tie_output: bool = True, norm_first: bool = False) -> TransformerSeq2Seq:
    """The Transformer (Vaswani et al. 2017) for translation; the defaults are the paper's base model.

    With a shared 37,000-token vocabulary (share_embeddings=True) this is 63.1M parameters; the
    paper's Table 3 states 65M for the base model, whose exact vocabulary size it does not give.

    Args:
        src_vocab_size, tgt_vocab_size: vocabulary sizes (pad_id, bos and eos included).
        d_model, num_heads, num_encoder_layers, num_decoder_layers, dim_feedforward: sizes (base: 512, 8, 6, 6, 2048).
        dropout: in every sublayer and after the positions (0.1).
        max_len: longest sequence (source or target).
        pad_id: the padding id, masked in both attentions.
        share_embeddings: one embedding matrix for source and target (needs equal vocabularies).
        tie_output: the output projection reuses the target embedding matrix.
        norm_first: pre-norm layers (steadier training without warm-up).

    Example:
        >>> model = transformer_seq2seq(src_vocab_size=40, tgt_vocab_size=30, d_model=32, num_heads=4,
        ...                             num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=64)
        >>> src, tgt = torch.randint(1, 40, (2, 7)), torch.randint(1, 30, (2, 5))
        >>> model(src, tgt).shape
        torch.Size([2, 5, 30])
        >>> model.generate(src, max_len=6, bos_id=1, eos_id=2).shape[0]
        2
    """
    check_positive("transformer_seq2seq", src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, d_model=d_model,
                   num_heads=num_heads, num_encoder_layers=num_encoder_layers, num_decoder_layers=num_decoder_layers,
                   dim_feedforward=dim_feedforward, max_len=max_len)
    check_dropout("transformer_seq2seq", dropout)
    if share_embeddings and src_vocab_size != tgt_vocab_size:
        raise ConfigError("Invalid value received for argument `share_embeddings` of model 'transformer_seq2seq'.",
                          expected="src_vocab_size == tgt_vocab_size to share one embedding matrix",
                          received=f"src_vocab_size={src_vocab_size}, tgt_vocab_size={tgt_vocab_size}",
                          fix="Build one joint vocabulary (e.g. shared BPE), or pass share_embeddings=False.")
    return TransformerSeq2Seq(src_vocab_size, tgt_vocab_size, d_model, num_heads, num_encoder_layers, num_decoder_layers,
                              dim_feedforward, dropout, max_len, pad_id, share_embeddings, tie_output, norm_first)
