"""Explanations through captum: map shapes, IG's completeness, Adebayo's sanity check, `tujie explain` and its section."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

import tujie as tj
from tujie import config as cfg
from tujie._io import write_text
from tujie.cli import main
from tujie.deploy.runs import write_data_contract
from tujie.errors import ConfigError
from tujie.train.builders import build_model
from tujie.train.checkpoint import save_weights
from tujie.trust.explain import (EXPLAIN_FILE, MAPS_FILE, METHODS, attribute, choose, completeness_gap, explain_run,
                                 randomised, spearman, token_attributions)


CNN = {"name": "small_cnn", "filters": [8, 16], "dense": 32, "padding": "same"}


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """A run directory (config.yaml, best.safetensors, data.json) of a small CNN trained 15 steps on 300 of
    sklearn's 8×8 digits (no data files), standardised inputs: well above chance, with mistakes left to explain."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("runs") / "digits-cnn"
    config = cfg.RunConfig(recipe="test", data={"name": "digits", "normalize": "standard", "validation_split": 0.0},
                           model=CNN, train={"loss": "cross_entropy"})
    bundle = tj.data.load("digits", normalize="standard")
    net = build_model(config, bundle)
    net(bundle.train.x[:2])  # lazy layers take their sizes
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    x, y = bundle.train.x[:300], bundle.train.y[:300]
    for _ in range(15):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
    folder.mkdir(parents=True)
    write_text(folder / "config.yaml", cfg.to_yaml(config))
    save_weights(folder / "best.safetensors", net.eval())
    write_data_contract(folder, bundle)
    return folder, net, bundle


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_one_map_per_image_of_the_inputs_size(cnn_run, method):
    _, net, bundle = cnn_run
    x = bundle.test.x[:5]
    maps, seconds = attribute(net, x, net(x).argmax(1), method)
    assert maps.shape == (5, 8, 8) and seconds > 0
    assert torch.isfinite(maps).all() and maps.abs().sum() > 0  # something was attributed
    if method in ("saliency", "gradcam"):
        assert (maps >= 0).all()  # |gradient|, and Grad-CAM's ReLU


def test_integrated_gradients_add_up_to_the_score_change(cnn_run):
    _, net, bundle = cnn_run
    x = bundle.test.x[:6]
    target, black = net(x).argmax(1), torch.full((1, 1, 8, 8), -1.0)
    maps, _ = attribute(net, x, target, "ig", baseline=black)
    with torch.no_grad():
        change = (net(x)[torch.arange(6), target] - net(black)[0, target]).abs()
    gap = completeness_gap(net, x, target, maps, black)
    assert gap.sum() < 0.03 * change.sum(), (gap, change)  # within a few % with 32 steps


def test_a_randomised_model_changes_saliency_and_gradcam(cnn_run):
    _, net, bundle = cnn_run
    x = bundle.test.x[:6]
    target = net(x).argmax(1)
    twin = randomised(net, seed=1)
    assert not torch.equal(next(twin.parameters()), next(net.parameters()))
    assert torch.equal(net(x).argmax(1), target)  # the original model is left as it was
    for method in ("saliency", "gradcam"):
        trained, noise = attribute(net, x, target, method)[0], attribute(twin, x, target, method)[0]
        rho = np.nanmean([spearman(a, b) for a, b in zip(trained.numpy(), noise.numpy())])
        same = np.nanmean([spearman(a, a * 2) for a in trained.numpy()])  # NaN: a Grad-CAM map all zero after its ReLU
        assert same == pytest.approx(1.0) and rho < 0.6, (method, rho)


def test_choose_takes_correct_ones_and_the_most_confident_mistakes():
    probs = torch.tensor([[0.6, 0.4], [0.1, 0.9], [0.3, 0.7], [0.95, 0.05]])
    correct, wrong = choose(probs, torch.tensor([0, 0, 0, 1]), 2)
    assert correct == [0]  # only index 0 is right
    assert wrong == [3, 1]  # 0.95 before 0.9; index 2 (0.7) cut by count=2


def test_cli_explain_writes_the_files_and_adds_the_section_in_both_languages(cnn_run, tmp_path, capsys):
    run_dir = cnn_run[0]
    assert main(["explain", str(run_dir), "--method", "ig", "--method", "gradcam", "--images", "2", "-q"]) == 0
    info = json.loads((run_dir / EXPLAIN_FILE).read_text())
    maps = load_file(str(run_dir / MAPS_FILE))
    assert info["methods"] == ["ig", "gradcam"] and len(info["examples"]) <= 4
    assert maps["map_ig"].shape == (len(info["examples"]), 8, 8) and maps["images"].shape[1:] == (1, 8, 8)
    assert 0 <= maps["images"].min() and maps["images"].max() <= 1  # shown as pixels, not standardised values
    assert info["ig_gap_relative"] < 0.05 and set(info["seconds_per_image"]) == set(info["spearman_ink"]) == {"ig", "gradcam"}
    html = (run_dir / "report.html").read_text()
    assert 'id="explain"' in html and "Integrated gradients" in html and "Adebayo" in html
    assert main(["report", str(run_dir), "--lang", "zh"]) == 0
    zh = (run_dir / "report.html").read_text()
    assert 'id="explain"' in zh and "积分梯度" in zh and "rank correlation" not in zh


def test_bad_method_and_non_image_runs_are_refused(cnn_run, tmp_path):
    with pytest.raises(ConfigError, match="Unknown explanation method"):
        explain_run(cnn_run[0], methods=("lime",))
    write_text(tmp_path / "config.yaml", cfg.to_yaml(cfg.RunConfig(recipe="test", data={"name": "wine"},
                                                                   model={"name": "mlp", "hidden": [4]})))
    wine = tj.data.load("wine")
    net = build_model(cfg.RunConfig(recipe="test", data={"name": "wine"}, model={"name": "mlp", "hidden": [4]}), wine)
    net(wine.train.x[:2])
    save_weights(tmp_path / "best.safetensors", net)
    write_data_contract(tmp_path, wine)
    with pytest.raises(ConfigError, match="tabular classifier"):
        explain_run(tmp_path)


class _BagOfWords(torch.nn.Module):
    """A text classifier as the zoo's: (tokens (N, T), lengths (N,)) → logits (N, 2), mean of embeddings."""

    def __init__(self):
        super().__init__()
        self.embed, self.out = torch.nn.Embedding(20, 4, padding_idx=0), torch.nn.Linear(4, 2)

    def forward(self, tokens, lengths):
        return self.out(self.embed(tokens).sum(1) / lengths[:, None].float())


def test_token_attributions_give_one_number_per_token_adding_up_to_the_score_change():
    torch.manual_seed(0)
    net, ids = _BagOfWords().eval(), [3, 7, 7, 12, 5]
    values, seconds = token_attributions(net, net.embed, ids, target=1)
    with torch.no_grad():
        lengths = torch.tensor([5])
        change = net(torch.tensor([ids]), lengths)[0, 1] - net(torch.zeros(1, 5, dtype=torch.long), lengths)[0, 1]
    assert values.shape == (5,) and seconds > 0
    assert float(values.sum()) == pytest.approx(float(change), abs=1e-4)  # linear in the embedding: exact
    assert float(values[1]) == pytest.approx(float(values[2]), abs=1e-6)  # the same word at two places counts the same


def test_the_section_shades_a_text_runs_words(tmp_path):
    from tujie.kinds import build_report

    examples = [{"index": 0, "label": 1, "predicted": 1, "confidence": 0.9, "group": "correct",
                 "tokens": ["a", "wonderful", "film"], "attributions": [0.01, 0.8, -0.2]}]
    (tmp_path / EXPLAIN_FILE).write_text(json.dumps({"task": "text", "classes": ["negative", "positive"], "methods": ["ig"],
                                                     "examples": examples, "seconds_per_image": {"ig": 0.01},
                                                     "spearman": {"ig": 0.1}}))
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 0.5}))  # what makes a folder a run
    html = build_report(tmp_path, lang="en").read_text()
    assert 'id="explain"' in html and ">wonderful</span>" in html and "rgba(214, 39, 40, 1.000)" in html  # the top word
    assert "rgba(31, 95, 209, 0.250)" in html  # "film" argues against, a quarter as strongly

