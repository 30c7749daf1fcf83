"""ViT, Transformer and RNN seq2seq models: errors, padding and causality, greedy generation, gradients.

Forward shapes, gradients and paper parameter counts of the registered builders are checked by
test_registry.py; this file checks what is particular to these families.
"""

import doctest
import importlib

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.errors import ConfigError, DataError, ShapeError
from tujie.models.seq2seq import greedy_decode

SMALL_TRANSFORMER = {"src_vocab_size": 40, "tgt_vocab_size": 30, "d_model": 32, "num_heads": 4, "num_encoder_layers": 2,
                     "num_decoder_layers": 2, "dim_feedforward": 64}
SMALL_RNN = {"src_vocab_size": 40, "tgt_vocab_size": 30, "embed_dim": 8, "hidden_size": 16}
RNN_KINDS = [(name, attention) for name in ("seq2seq_gru", "seq2seq_lstm") for attention in (None, "bahdanau", "luong")]


@pytest.mark.parametrize("name", ["tujie.models.vit", "tujie.models.transformer", "tujie.models.seq2seq"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": nn})
    assert result.attempted > 0 and result.failed == 0


def _seq2seq(name, **kwargs):
    torch.manual_seed(0)
    small = SMALL_TRANSFORMER if name == "transformer_seq2seq" else SMALL_RNN
    return tj.models.create(name, **{**small, **kwargs}).eval()


def _src_tgt(batch=3, src_len=7, tgt_len=6):
    torch.manual_seed(1)
    return torch.randint(3, 40, (batch, src_len)), torch.randint(3, 30, (batch, tgt_len))


# --- ViT ----------------------------------------------------------------------------------------

def test_vit_rejects_a_patch_size_that_does_not_divide_the_image():
    with pytest.raises(ConfigError, match=r"patch_size.*vit_tiny.*divisor of image_size=30.*patch_size=8"):
        tj.models.create("vit_tiny", image_size=30, patch_size=8)
    with pytest.raises(ConfigError, match="depth"):
        tj.models.create("vit_small", depth=0)


def test_vit_names_itself_on_a_wrong_input():
    model = tj.models.create("vit_tiny", image_size=32, patch_size=8, num_classes=10, depth=1)
    with pytest.raises(ShapeError, match=r"'vit_tiny'.*\(batch, 3, height, width\).*in_channels=1"):
        model(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ShapeError, match=r"'vit_tiny'.*\(batch, 3, 32, 32\).*\(2, 3, 48, 48\).*image_size=48"):
        model(torch.zeros(2, 3, 48, 48))
    with pytest.raises(ShapeError, match="'vit_tiny'"):
        model(torch.zeros(3, 32, 32))


def test_vit_sizes_follow_the_paper():
    model = tj.models.create("vit_small", image_size=64, patch_size=16, in_channels=1, num_classes=5, depth=2)
    assert model.num_patches == 16 and model.pos_embed.weight.shape == (17, 384)
    assert len(model.encoder.layers) == 2 and model.encoder.layers[0].norm_first and model.encoder.norm is not None
    assert model.encoder.layers[0].self_attn.num_heads == 6 and model.encoder.layers[0].feed_forward.linear1.out_features == 1536
    assert model(torch.randn(2, 1, 64, 64)).shape == (2, 5)


def test_vit_prediction_comes_from_the_class_token():
    model = tj.models.create("vit_tiny", image_size=16, patch_size=8, num_classes=3, depth=1).eval()
    seen = {}
    model.head.register_forward_hook(lambda module, inputs, output: seen.update(x=inputs[0]))
    model(torch.randn(2, 3, 16, 16))
    assert seen["x"].shape == (2, 192)


# --- Transformer classifier -----------------------------------------------------------------------

def test_classifier_logits_ignore_padding():
    torch.manual_seed(0)
    model = tj.models.create("transformer_classifier", vocab_size=50, num_classes=3, d_model=32, num_layers=2).eval()
    ids = torch.tensor([[5, 9, 14, 0, 0], [7, 3, 8, 21, 4]])
    logits = model(ids)
    more_padding = torch.cat([ids, torch.zeros(2, 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(more_padding), logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model(ids[:1, :3]), logits[:1], atol=1e-5, rtol=1e-5)  # the same sentence unpadded
    assert not torch.allclose(model(torch.tensor([[5, 9, 15, 0, 0]])), logits[:1])  # a real token does count


def test_classifier_rejects_bad_ids():
    model = tj.models.create("transformer_classifier", vocab_size=50, d_model=32, num_layers=1)
    with pytest.raises(DataError, match=r"'transformer_classifier'.*outside its vocabulary.*\[0, 50\)"):
        model(torch.tensor([[3, 50]]))
    with pytest.raises(ShapeError, match="integer ids"):
        model(torch.randn(2, 5))
    with pytest.raises(ShapeError, match="max_len"):
        tj.models.create("transformer_classifier", vocab_size=50, d_model=32, num_layers=1, max_len=8)(torch.ones(1, 9, dtype=torch.long))


# --- Transformer and RNN seq2seq: padding, causality, generation ----------------------------------

SEQ2SEQ = [("transformer_seq2seq", {})] + [(name, {"attention": attention}) for name, attention in RNN_KINDS]
IDS = [f"{name}-{kwargs.get('attention')}" for name, kwargs in SEQ2SEQ]


@pytest.mark.parametrize("name,kwargs", SEQ2SEQ, ids=IDS)
def test_seq2seq_output_at_t_ignores_later_target_tokens(name, kwargs):
    model = _seq2seq(name, **kwargs)
    src, tgt = _src_tgt()
    changed = tgt.clone()
    changed[:, 3:] = torch.randint(3, 30, (3, 3))
    logits, logits_changed = model(src, tgt), model(src, changed)
    assert logits.shape == (3, 6, 30)
    torch.testing.assert_close(logits_changed[:, :3], logits[:, :3], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(logits_changed[:, 3:], logits[:, 3:])


@pytest.mark.parametrize("name,kwargs", SEQ2SEQ, ids=IDS)
def test_seq2seq_source_padding_changes_nothing(name, kwargs):
    model = _seq2seq(name, **kwargs)
    src, tgt = _src_tgt()
    src[1, 5:] = 0  # a shorter sentence in the batch
    logits = model(src, tgt)
    padded_more = torch.cat([src, torch.zeros(3, 3, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(padded_more, tgt), logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model(src[1:2, :5], tgt[1:2]), logits[1:2], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,kwargs", SEQ2SEQ, ids=IDS)
def test_generate_is_the_greedy_path_of_the_teacher_forced_model(name, kwargs):
    model = _seq2seq(name, **kwargs).train()
    src, _ = _src_tgt()
    generated = model.generate(src, max_len=5, bos_id=1, eos_id=-1)  # an eos that never comes: always 5 tokens
    assert generated.dtype == torch.long and generated.shape == (3, 5) and model.training  # the mode is restored
    assert ((generated >= 0) & (generated < 30)).all()
    prefix = torch.cat([torch.ones(3, 1, dtype=torch.long), generated[:, :-1]], dim=1)  # bos + all but the last
    model.eval()
    torch.testing.assert_close(model(src, prefix).argmax(-1), generated)


def test_generate_stops_at_eos_and_pads_after_it():
    table = torch.eye(6)[[2, 3, 1, 4, 5, 5]]  # 0 → 2 → 1 (eos); 3 → 4 → 5 → 5 → ... (no eos: stops at max_len)
    calls = []

    def next_logits(ids):
        calls.append(ids.shape[1])
        return table[ids[:, -1]]  # (batch, vocab)

    out = greedy_decode(next_logits, batch_size=1, max_len=10, bos_id=0, eos_id=1, pad_id=0)
    assert out.tolist() == [[2, 1]] and calls == [1, 2]
    assert greedy_decode(lambda ids: table[ids[:, -1]], 1, max_len=4, bos_id=3, eos_id=1, pad_id=0).tolist() == [[4, 5, 5, 5]]


def test_generate_pads_finished_rows_in_a_batch():
    table = torch.eye(6)[[2, 1, 1, 4, 5, 1]]  # from 0: 2, 1 (eos) — from 3: 4, 5, 1 (eos)
    starts = torch.tensor([0, 3])
    out = greedy_decode(lambda ids: table[starts if ids.shape[1] == 1 else ids[:, -1]], 2, 10, bos_id=0, eos_id=1, pad_id=0)
    assert out.tolist() == [[2, 1, 0], [4, 5, 1]]


@pytest.mark.parametrize("name,attention", RNN_KINDS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_rnn_seq2seq_gradients_reach_every_weight(name, attention, num_layers):
    torch.manual_seed(0)
    model = tj.models.create(name, **SMALL_RNN, attention=attention, num_layers=num_layers, dropout=0.1)
    src, tgt = _src_tgt()
    src[0, 4:] = 0
    loss = nn.functional.cross_entropy(model(src, tgt).flatten(0, 1), torch.randint(0, 30, (18,)))
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


def test_transformer_seq2seq_weight_sharing_and_errors():
    tied = tj.models.create("transformer_seq2seq", **{**SMALL_TRANSFORMER, "tgt_vocab_size": 40}, share_embeddings=True)
    assert tied.generator.weight is tied.tgt_embed.embedding.weight is tied.src_embed.embedding.weight
    untied = tj.models.create("transformer_seq2seq", **SMALL_TRANSFORMER, tie_output=False)
    assert sum(p.numel() for p in untied.parameters()) == sum(p.numel() for p in _seq2seq("transformer_seq2seq").parameters()) + 30 * 32
    with pytest.raises(ConfigError, match=r"dropout.*'transformer_seq2seq'"):
        tj.models.create("transformer_seq2seq", **SMALL_TRANSFORMER, dropout=-0.1)
    with pytest.raises(ConfigError, match="share_embeddings"):
        tj.models.create("transformer_seq2seq", **SMALL_TRANSFORMER, share_embeddings=True)
    model = _seq2seq("transformer_seq2seq", max_len=16)
    with pytest.raises(ConfigError, match="max_len"):
        model.generate(torch.ones(1, 4, dtype=torch.long), max_len=16, bos_id=1, eos_id=2)
    with pytest.raises(DataError, match=r"'transformer_seq2seq'.*target ids.*\[0, 30\)"):
        model(torch.ones(1, 4, dtype=torch.long), torch.tensor([[1, 30]]))
    with pytest.raises(ShapeError, match="batch"):
        model(torch.ones(2, 4, dtype=torch.long), torch.ones(3, 4, dtype=torch.long))


def test_rnn_seq2seq_errors():
    with pytest.raises(ConfigError, match=r"attention.*'seq2seq_gru'.*bahdanau"):
        tj.models.create("seq2seq_gru", attention="bahdanu")
    with pytest.raises(ConfigError, match="hidden_size"):
        tj.models.create("seq2seq_lstm", hidden_size=0)
    with pytest.raises(ConfigError, match=r"dropout.*'seq2seq_gru'"):
        tj.models.create("seq2seq_gru", dropout=1.0)
    model = _seq2seq("seq2seq_lstm")
    with pytest.raises(DataError, match=r"'seq2seq_lstm'.*source ids.*\[0, 40\)"):
        model(torch.tensor([[1, 45]]), torch.ones(1, 2, dtype=torch.long))
    assert tj.models.create("seq2seq_gru_attention", **SMALL_RNN).attention_kind == "bahdanau"
