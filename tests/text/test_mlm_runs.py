"""The `mlm` kind on a slice of the real corpora (needs TUJIE_DATA): pretrain, reuse, transfer, refuse bad input."""

from __future__ import annotations

import json

import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError, DataError, TujieError

TINY = ["limit=300", "mlm.pretrain_epochs=1", "mlm.finetune_epochs=1", "mlm.min_steps=2", "mlm.seeds=2", "mlm.fractions=[0.1, 1.0]",
        "mlm.validation_windows=20", "mlm.log_every=5", "text.vocab_size=300", "model.d_model=32", "model.dim_feedforward=64",
        "model.num_layers=1", "train.batch_size=32"]


def _run(tmp_path, *overrides):
    return tj.run("imdb-sst2-mlm", overrides=[*TINY, f"output_dir={tmp_path}", *overrides], verbose=0)


@pytest.mark.data
def test_pretraining_then_every_way_fraction_and_seed_and_reusing_the_body(tmp_path):
    from safetensors.torch import load_file

    first = _run(tmp_path, "run_name=first")
    data = json.loads((first.run_dir / "mlm.json").read_text())
    p = data["pretraining"]
    assert p["corpus"] == "imdb" and p["texts"] == 300 and p["windows"] > 300  # reviews are cut into 64-token windows
    assert len(p["steps"]) == p["windows"] // 32 // 5 and {"val_loss", "val_masked_accuracy"} <= set(p["history"][0])
    assert p["history"][0]["val_loss"] < 6.0  # below log(301) ≈ 5.7 + slack: it learned token frequencies at least
    assert len(data["runs"]) == 3 * 2 * 2 and data["target"]["test"] == 300
    assert {g["fraction"] for g in data["gains"]} == {0.1, 1.0} and all(g["n"] == 2 for g in data["gains"])
    assert len(data["examples"]) == 5 and all(len(e["fills"][0]) == 5 for e in data["examples"])
    saved = load_file(first.run_dir / "pretrained.safetensors")
    assert {k.split(".")[1] for k in saved} == {"embed", "encoder", "mlm_head", "mlm_bias"}
    assert saved["model.embed.embedding.weight"].shape[0] == p["vocab_size"] + 1  # one row past the vocabulary: [MASK]
    assert set(first.summary["results"]) >= {"scratch_10pct", "fine_tune_100pct", "features_10pct", "masked_accuracy"}
    page = first.report.read_text()
    assert all(f'id="{s}"' in page for s in ("pretraining", "fill_mask", "transfer")) and "[MASK]" in page

    again = _run(tmp_path, "run_name=again", f"mlm.pretrained={first.run_dir}", "mlm.ways=[fine_tune]")
    reused = json.loads((again.run_dir / "mlm.json").read_text())
    assert reused["pretraining"]["reused_from"] == str(first.run_dir) and reused["pretraining"]["steps"] == p["steps"]
    assert all(torch.equal(v, saved[k]) for k, v in load_file(again.run_dir / "pretrained.safetensors").items())
    assert reused["examples"] == data["examples"]  # the same body fills the same masks

    with pytest.raises(TujieError, match="model.embed.embedding.weight|embed.embedding.weight"):
        _run(tmp_path, "run_name=other", f"mlm.pretrained={first.run_dir}", "model.d_model=16")


@pytest.mark.data
def test_bad_mlm_settings_are_refused_before_any_training(tmp_path):
    with pytest.raises(ConfigError, match=r"ways=\['bogus'\].*model.name='mlp'"):
        _run(tmp_path, "mlm.ways=[bogus]", "model.name=mlp")
    with pytest.raises(ConfigError, match="mask_share"):
        _run(tmp_path, "mlm.mask_share=0.95", "mlm.random_share=0.1")
    with pytest.raises(DataError, match="not the folder of a finished mlm run"):
        (tmp_path / "empty").mkdir()
        _run(tmp_path, f"mlm.pretrained={tmp_path / 'empty'}")


def test_text_features_keep_the_dataset_s_order_whatever_the_lengths():
    from tujie.kinds.mlm import text_features
    from tujie.models import create
    from tujie.text.data import TextDataset

    torch.manual_seed(0)
    model = create("transformer_classifier", vocab_size=30, d_model=16, num_heads=2, num_layers=1).eval()
    sequences = [[5 + i % 20] * (1 + (7 * i) % 13) for i in range(300)]  # lengths out of order: bucketing would sort them
    got = text_features(model, TextDataset(sequences, torch.zeros(300, dtype=torch.long)))
    for i in (0, 1, 150, 299):
        with torch.no_grad():
            x = model.encoder(model.embed(torch.tensor([sequences[i]])))
        assert torch.allclose(torch.from_numpy(got[i]), x.mean(1)[0], atol=1e-5)
