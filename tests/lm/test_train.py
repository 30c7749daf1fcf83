"""The language-model training loop: it learns, scores fixed windows, keeps to a time budget, samples on schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tujie.errors import DataError
from tujie.lm.train import evaluate_lm, lr_at, train_lm
from tujie.models import create


class Bigram(nn.Module):
    """The next token from the current one alone: a stand-in that learns a cycle in a few steps."""

    def __init__(self, vocab: int):
        super().__init__()
        self.table = nn.Embedding(vocab, vocab)

    def forward(self, idx):  # (B, T) -> (B, T, V)
        return self.table(idx)


CYCLE = torch.arange(400) % 7  # each token names the next: the best loss is 0


def test_the_loss_falls_and_the_history_says_it_in_nats_bits_and_perplexity():
    torch.manual_seed(0)
    out = train_lm(Bigram(7), CYCLE, CYCLE, steps=80, batch_size=8, block_size=8, lr=0.3, warmup=5, weight_decay=0.0,
                   eval_every=20, eval_batches=2, seed=0)
    steps = [p["step"] for p in out["history"]]
    assert steps == [0, 20, 40, 60, 80] and out["steps"] == 80 and out["stopped"] == "steps"
    first, last = out["history"][0], out["history"][-1]
    assert first["val_loss"] > 1.0 and last["val_loss"] < 0.1
    assert last["val_bpc"] == pytest.approx(last["val_loss"] / math.log(2)) and last["val_ppl"] == pytest.approx(math.exp(last["val_loss"]))
    assert out["tokens"] == 80 * 8 * 8 and out["tokens_per_second"] > 0 and first["train_loss"] is None


def test_validation_windows_are_fixed_so_points_compare():
    model = Bigram(7)
    ids = torch.randint(0, 7, (500,))
    assert evaluate_lm(model, ids, block_size=16, batch_size=4, batches=3) == evaluate_lm(model, ids, block_size=16, batch_size=4, batches=3)
    assert math.isnan(evaluate_lm(model, ids[:10], block_size=16, batch_size=4, batches=3))  # shorter than a window


def test_the_time_budget_stops_training_and_the_rate_has_decayed_by_then():
    out = train_lm(Bigram(7), CYCLE, CYCLE, steps=10**6, batch_size=4, block_size=8, lr=0.1, warmup=0, weight_decay=0.0,
                   eval_every=10**6, eval_batches=1, seed=0, max_seconds=0.3)
    assert out["stopped"] == "time" and 0 < out["steps"] < 10**6 and out["seconds"] < 5


def test_warm_up_then_cosine_to_a_tenth():
    assert lr_at(0.0, 1.0, 0.1) == 0.0 and lr_at(0.1, 1.0, 0.1) == 1.0
    assert lr_at(1.0, 1.0, 0.1) == pytest.approx(0.1) and lr_at(0.5, 1.0, 0.0) == pytest.approx(0.55)


def test_samples_on_schedule_and_at_the_end_in_eval_mode():
    model = Bigram(7)
    seen = []

    def sample(step):
        seen.append((step, model.training))
        return {"text": str(step)}

    out = train_lm(model, CYCLE, CYCLE, steps=10, batch_size=2, block_size=4, lr=0.1, warmup=0, eval_every=5,
                   eval_batches=1, sample_every=4, sample_fn=sample, seed=0)
    assert seen == [(4, False), (8, False), (10, False)] and [s["text"] for s in out["samples"]] == ["4", "8", "10"]
    assert model.training  # back to training mode after sampling


@pytest.mark.parametrize("name, options", [("gpt", {"block_size": 8, "n_layer": 1, "n_head": 2, "n_embd": 16}),
                                           ("char_lstm", {"n_embd": 8, "n_hidden": 16, "n_layer": 1})])
def test_gpt_and_the_lstm_train_alike(name, options):
    torch.manual_seed(0)
    model = create(name, vocab_size=7, **options)
    out = train_lm(model, CYCLE, CYCLE, steps=40, batch_size=8, block_size=8, lr=0.01, warmup=2, eval_every=40,
                   eval_batches=1, seed=0)
    assert out["history"][-1]["val_loss"] < out["history"][0]["val_loss"] - 0.5


def test_a_stream_shorter_than_a_window_is_refused():
    with pytest.raises(DataError, match="shorter than one window"):
        train_lm(Bigram(7), CYCLE[:5], CYCLE, steps=1, batch_size=1, block_size=8, lr=0.1, warmup=0, seed=0)
