"""The `lm` kind on a slice of the Tang poems (needs TUJIE_DATA): its files, a run loaded back to write, bad input."""

from __future__ import annotations

import json

import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError, DataNotFoundError
from tujie.lm import poetry
from tujie.lm.runs import generate_from_run, load_run

TINY = ["lm.corpus=poetry-5", "lm.poem_files=2", "lm.steps=6", "lm.eval_every=3", "lm.sample_every=3", "lm.eval_batches=1",
        "lm.batch_size=4", "lm.block_size=32", "lm.form_samples=6", "lm.samples_per_temperature=1", "lm.max_new=8",
        "model.n_layer=1", "model.n_embd=16"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tj.run("tang-poetry-gpt", overrides=[*TINY, f"output_dir={tmp_path_factory.mktemp('lm')}", "run_name=tiny"],
                  verbose=0).run_dir


@pytest.mark.data
def test_the_run_writes_its_curves_samples_form_and_attention(run_dir):
    lm = json.loads((run_dir / "lm.json").read_text(encoding="utf-8"))
    assert [p["step"] for p in lm["history"]] == [0, 3, 6] and [s["step"] for s in lm["samples"]] == [3, 6]
    assert [g["temperature"] for g in lm["samples"][0]["by_temperature"]] == [0.5, 0.8, 1.0]
    form = lm["form"]
    assert form["chars"] == 5 and form["samples"] == 6 and 0 <= form["kept"] <= 6 and len(form["examples"]) == 6
    assert all(len(e[0]) == 6 and e[0].endswith("，") for e in form["examples"])  # prompted by held-out first lines
    att = lm["attention"]
    assert att["tokens"][0] == "\n" and len(att["layers"]) == 1
    assert all(abs(sum(row) - 1) < 1e-3 for row in att["layers"][0])
    assert lm["corpus"]["train_texts"] + lm["corpus"]["val_texts"] == 185  # the five-character quatrains of two files
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {"val_loss", "val_bpc", "lm_form_share", "lm_memorised_share"} <= set(summary["results"])


@pytest.mark.data
def test_a_run_loads_back_and_writes_from_a_simplified_prompt(run_dir):
    model, tokenizer = load_run(run_dir)
    assert not model.training and tokenizer.kind == "char"
    lm = json.loads((run_dir / "lm.json").read_text(encoding="utf-8"))
    assert model.config == lm["model"]["config"]
    prompt = lm["form"]["examples"][0][0][:5]
    texts, notes = generate_from_run(run_dir, prompt, max_new=10, temperature=0.8, top_k=5, num=3, seed=0)
    assert len(texts) == 3 and all(t.startswith(prompt) and "\n" not in t for t in texts)
    assert texts == generate_from_run(run_dir, prompt, max_new=10, temperature=0.8, top_k=5, num=3, seed=0)[0]
    _greedy, notes = generate_from_run(run_dir, prompt, max_new=64, temperature=0)
    assert any("greedy" in n for n in notes) and any("slides" in n for n in notes)
    ids = torch.tensor([tokenizer.encode("\n" + prompt)])
    assert torch.equal(model(ids), load_run(run_dir)[0](ids))  # the weights came back exactly


@pytest.mark.data
def test_a_simplified_prompt_is_converted_and_unknown_characters_are_named(run_dir):
    _model, tokenizer = load_run(run_dir)
    traditional = next(c for c in tokenizer.vocabulary_ if len(c) == 1 and "\u4e00" <= c <= "\u9fff"
                       and poetry.to_simplified(c) != c)  # a character the corpus writes in its traditional form
    simple = poetry.to_simplified(traditional)
    _texts, notes = generate_from_run(run_dir, simple, max_new=2, seed=0)
    assert any(f"{simple} → {traditional}" in n for n in notes)
    _texts, notes = generate_from_run(run_dir, "ABC", max_new=2, seed=0)
    assert any("A B C" in n and "<unk>" in n for n in notes)
    texts, _notes = generate_from_run(run_dir, traditional, max_new=4, seed=0, simplified=True)
    assert texts[0].startswith(simple)


@pytest.mark.data
def test_bad_options_and_folders_are_refused(run_dir, tmp_path):
    with pytest.raises(ConfigError, match="top_p"):
        generate_from_run(run_dir, "", top_p=1.5)
    with pytest.raises(DataNotFoundError, match="model.safetensors"):
        load_run(tmp_path)
    with pytest.raises(ConfigError, match="lm.corpus='songci'.*model.name='mlp'"):
        tj.run("tang-poetry-gpt", overrides=[*TINY, "lm.corpus=songci", "model.name=mlp", f"output_dir={tmp_path}"], verbose=0)


@pytest.mark.data
def test_tujie_generate_writes_samples_and_says_what_it_changed(run_dir, capsys):
    from tujie.cli import main

    lm = json.loads((run_dir / "lm.json").read_text(encoding="utf-8"))
    prompt = lm["form"]["examples"][0][0][:5]
    assert main(["generate", str(run_dir), prompt, "--num", "2", "--seed", "0", "--temperature", "0.8", "--top-k", "5",
                 "--max-new", "8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[1]" and out[2] == "[2]" and out[1].startswith(prompt) and out[3].startswith(prompt)
    assert main(["generate", str(run_dir), prompt, "--temperature", "0", "--max-new", "40", "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(prompt) and "greedy" in captured.err and "slides" in captured.err
    assert main(["generate", str(run_dir), prompt, "--top-p", "1.5"]) == 2
    assert "top_p" in capsys.readouterr().err
