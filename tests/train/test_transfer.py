"""Freezing, discriminative learning rates and gradual unfreezing (issue 15's tools)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

import tujie as tj
from tujie.errors import ConfigError


def _net():
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("stem", nn.Linear(6, 16))
    net.add_module("bn", nn.BatchNorm1d(16))
    net.add_module("act", nn.ReLU())
    net.add_module("mid", nn.Linear(16, 16))
    net.add_module("head", nn.Linear(16, 3))
    return net


def _data(n=96):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)


def test_blocks_are_the_named_children_with_parameters():
    assert [n for n, _ in tj.blocks(_net())] == ["stem", "bn", "mid", "head"]
    assert [n for n, _ in tj.blocks(tj.models.create("resnet20"))][-1] == "fc"


def test_freeze_the_body_by_name_until_and_back():
    net = _net()
    assert tj.freeze(net) == ["stem", "bn", "mid"]
    assert [n for n, p in net.named_parameters() if p.requires_grad] == ["head.weight", "head.bias"]
    tj.unfreeze(net)
    assert all(p.requires_grad for p in net.parameters())
    assert tj.freeze(net, until="bn") == ["stem", "bn"] and net.mid.weight.requires_grad
    tj.unfreeze(net)
    assert tj.freeze(net, "mid", net.stem) == ["mid", "stem"] and net.bn.weight.requires_grad and not net.stem.weight.requires_grad


def test_unknown_names_are_refused_with_the_blocks_listed():
    with pytest.raises(ConfigError) as caught:
        tj.freeze(_net(), "middle")
    message = str(caught.value)
    assert "no layer named 'middle'" in message and "stem, bn, mid, head" in message and "'mid'" in message
    with pytest.raises(ConfigError, match="no layer named 'layer9'"):
        tj.freeze(_net(), until="layer9")
    with pytest.raises(ConfigError, match="not part of the model"):
        tj.freeze(_net(), nn.Linear(2, 2))


def test_a_model_not_built_yet_is_told_how_to_freeze_and_freezes_when_fit_begins():
    model = tj.Sequential([tj.layers.Dense(16, activation="relu"), tj.layers.Dense(3)])
    with pytest.raises(ConfigError, match="no parameters yet"):
        tj.freeze(model)
    tj.Learner(model, callbacks=[tj.Freeze()]).fit(_data(), epochs=1, batch_size=32, verbose=0)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == [n for n, _ in model.named_parameters()][-2:]


def test_a_frozen_body_keeps_its_weights_and_batch_norm_statistics_while_the_head_learns():
    net = _net()
    tj.freeze(net)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    learner = tj.Learner(net, optimizer="adamw", optimizer_options={"weight_decay": 0.1}, lr=0.01)
    learner.fit(_data(), epochs=2, batch_size=16, verbose=0)
    after = net.state_dict()
    for key in ("stem.weight", "bn.weight", "bn.running_mean", "bn.running_var", "mid.weight"):
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["head.weight"], after["head.weight"])


def test_batch_norm_statistics_follow_the_data_when_asked():
    net = _net()
    tj.freeze(net, bn="train")
    before = net.bn.running_mean.clone()
    tj.Learner(net, lr=0.01).fit(_data(), epochs=1, batch_size=16, verbose=0)
    assert not torch.equal(before, net.bn.running_mean) and torch.equal(net.bn.weight, _net().bn.weight)


def test_training_a_model_with_everything_frozen_is_refused():
    net = _net()
    for p in net.parameters():
        p.requires_grad_(False)
    with pytest.raises(ConfigError, match="Every parameter of the model is frozen"):
        tj.Learner(net).fit(_data(), epochs=1, verbose=0)


def test_discriminative_rates_per_block_and_layer_wise_decay():
    groups = tj.param_groups(_net(), lr=0.1, lr_mult={"stem": 0.01})
    assert [(g["name"], g["lr"]) for g in groups] == [("stem", 0.001), ("bn", 0.1), ("mid", 0.1), ("head", 0.1)]
    decayed = tj.param_groups(_net(), lr=1.0, layer_decay=0.5)
    assert [g["lr"] for g in decayed] == [0.125, 0.25, 0.5, 1.0]
    optimizer = torch.optim.SGD(tj.param_groups(_net(), lr=0.1, layer_decay=0.5), lr=0.1)  # any torch optimizer takes them
    assert len(optimizer.param_groups) == 4
    with pytest.raises(ConfigError, match="no layer named 'steem'"):
        tj.param_groups(_net(), lr=0.1, lr_mult={"steem": 0.1})
    with pytest.raises(ConfigError, match="layer_decay must be in"):
        tj.param_groups(_net(), lr=0.1, layer_decay=1.5)


def test_the_learner_builds_the_groups_from_its_options():
    learner = tj.Learner(_net(), optimizer="sgd", lr=0.1, optimizer_options={"lr_mult": {"head": 10.0}, "layer_decay": 0.5})
    learner.fit(_data(), epochs=1, batch_size=32, verbose=0)
    assert [round(g["lr"], 6) for g in learner.optimizer.param_groups] == [0.0125, 0.025, 0.05, 1.0]


def test_gradual_unfreezing_opens_one_block_per_epoch_from_the_top():
    net = _net()
    seen = []

    class Snapshot(tj.Callback):
        def on_epoch_begin(self, learner, epoch):
            seen.append({n: v.detach().clone() for n, v in learner.model.named_parameters()})

    unfreezing = tj.GradualUnfreezing(every=1)
    learner = tj.Learner(net, lr=0.01, callbacks=[unfreezing, Snapshot()])
    learner.fit(_data(), epochs=4, batch_size=16, verbose=0)
    seen.append({n: v.detach().clone() for n, v in net.named_parameters()})
    changed = [{n.split(".")[0] for n in seen[e] if not torch.equal(seen[e][n], seen[e + 1][n])} for e in range(4)]
    assert changed == [{"head"}, {"head", "mid"}, {"head", "mid", "bn"}, {"head", "mid", "bn", "stem"}]
    assert unfreezing.unfrozen == [(2, "mid"), (3, "bn"), (4, "stem")]


def test_a_recipe_freezes_and_its_report_shows_which_blocks_trained_when(tmp_path):
    result = tj.run("digits-mlp", ["epochs=3", "train.unfreeze_every=1", "optimizer.layer_decay=0.5", "model.hidden=[32, 16]",
                                   f"output_dir={tmp_path}"], verbose=0)
    epochs = json.loads((result.run_dir / "blocks.json").read_text())["epochs"]
    trained = [[b["block"] for b in e["blocks"] if b["trained"]] for e in epochs]
    assert [len(t) for t in trained] == [1, 2, 3]
    head = epochs[-1]["blocks"][-1]
    assert head["lr"] == pytest.approx(0.003) and epochs[-1]["blocks"][-2]["lr"] == pytest.approx(0.0015)
    page = result.report.read_text()
    assert 'id="blocks"' in page and "Which blocks trained when" in page


def test_the_summary_marks_frozen_layers():
    from tujie.train.summary import format_summary, summarize

    net = _net()
    tj.freeze(net)
    text = format_summary(summarize(net, (6,), print_fn=lambda *a: None))
    assert text.count("(frozen)") == 3 and "head" in text


DIGITS_TRANSFER = """
kind: transfer
data: {name: digits}
model: {name: mlp, hidden: [32]}
train: {batch_size: 32}
transfer:
  source: {dataset: digits, classes: [0, 1, 2, 3, 4]}
  target: {dataset: digits, classes: [5, 6, 7, 8, 9]}
  pretrain_epochs: 3
  finetune_epochs: 2
  min_steps: 5
  seeds: 2
  fractions: [0.1, 1.0]
"""


def _digits_transfer(tmp_path, *overrides):
    recipe = tmp_path / "digits-transfer.yaml"
    recipe.write_text(DIGITS_TRANSFER)
    return tj.run(str(recipe), [f"output_dir={tmp_path}", *overrides], verbose=0)


def test_the_transfer_kind_pretrains_then_transfers_every_way_fraction_and_seed(tmp_path):
    from safetensors.torch import load_file

    result = _digits_transfer(tmp_path)
    data = json.loads((result.run_dir / "transfer.json").read_text())
    ways = {"scratch", "linear_probe", "fine_tune", "gradual", "features"}
    assert len(data["runs"]) == 5 * 2 * 2 and {r["way"] for r in data["runs"]} == ways
    labels = {r["fraction"]: r["labels"] for r in data["runs"]}
    assert labels[1.0] == data["target"]["train"] and 0 < labels[0.1] < labels[1.0] / 5  # stratified share, at least one per class
    assert data["source"]["test_accuracy"] > 0.8  # five digits, 3 epochs
    pretrained = load_file(result.run_dir / "pretrained.safetensors")
    assert pretrained["model.2.weight"].shape[0] == 5  # the source head: five classes
    assert set(result.summary["results"]) == {f"{w}_{p}pct" for w in ways for p in ("10", "100")}
    features = [r["test_accuracy"] for r in data["runs"] if r["way"] == "features" and r["fraction"] == 1.0]
    assert min(features) > 0.8  # logistic regression on the pretrained body's features: five digits it never saw
    page = result.report.read_text()
    assert 'id="transfer"' in page and "Label efficiency" in page


def test_bad_transfer_classes_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"transfer.target.classes=\[5, 12\] does not fit digits"):
        _digits_transfer(tmp_path, "transfer.target={dataset: digits, classes: [5, 12]}")


def test_a_label_share_is_stratified_seeded_and_keeps_every_class():
    from tujie.train.transfer import label_share

    labels = torch.tensor([0] * 90 + [1] * 9 + [2] * 1)
    index = label_share(labels, 0.1, seed=3)
    assert torch.bincount(labels[index]).tolist() == [9, 1, 1]  # the rare classes keep at least one
    assert torch.equal(index, label_share(labels, 0.1, seed=3)) and not torch.equal(index, label_share(labels, 0.1, seed=4))
    assert torch.equal(label_share(labels, 1.0, seed=0), torch.arange(100))


def test_runs_are_summarised_per_way_and_fraction_over_seeds():
    from tujie.train.transfer import summarise_runs

    runs = [{"way": w, "fraction": f, "labels": int(f * 100), "seed": s, "test_accuracy": a}
            for w, f, s, a in [("a", 0.1, 0, 0.5), ("a", 0.1, 1, 0.7), ("a", 1.0, 0, 0.9), ("b", 0.1, 0, 0.6)]]
    rows = {(r["way"], r["fraction"]): r for r in summarise_runs(runs)}
    assert set(rows) == {("a", 0.1), ("a", 1.0), ("b", 0.1)}  # no row for a pair that never ran
    assert rows["a", 0.1]["mean"] == pytest.approx(0.6) and rows["a", 0.1]["std"] == pytest.approx(0.1414, abs=1e-4)
    assert rows["b", 0.1]["std"] == 0.0 and rows["a", 1.0]["labels"] == 100


def test_head_inputs_are_what_the_head_reads_and_the_model_mode_is_restored():
    from tujie.train.transfer import head_inputs

    net = _net().train()
    x = torch.randn(10, 6)
    got = head_inputs(net, [x[:4], (x[4:],)])
    net.eval()
    with torch.no_grad():
        want = net.act(net.bn(net.stem(x)))
        want = net.mid(want)
    assert got.shape == (10, 16) and torch.allclose(got, want, atol=1e-6)  # eval mode: batch norm's running statistics
    assert net.training is False and head_inputs(net.train(), [x]).shape == (10, 16) and net.training
