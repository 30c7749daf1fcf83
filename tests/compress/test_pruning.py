"""Pruning: sparsity reached per layer and globally, masks kept through fine-tuning, structured pruning that shrinks."""

import pytest
import torch
from torch import nn

from tujie.compress import measure, pruning
from tujie.errors import ConfigError


def digits(n=400):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return torch.tensor(bunch.data[:n], dtype=torch.float32) / 16.0, torch.tensor(bunch.target[:n])


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 24), nn.ReLU(), nn.Linear(24, 10))


def test_layer_wise_pruning_reaches_the_sparsity_in_every_layer():
    model = pruning.prune_magnitude(mlp(), 0.8, permanent=True)
    rows = pruning.sparsity_per_layer(model)
    assert [r["layer"] for r in rows] == ["0", "2", "4"]
    for r in rows:  # each layer alone: round(0.8 * n) zeros
        assert r["parameters"] - r["nonzero"] == round(0.8 * r["parameters"])
    # the zeros are the smallest magnitudes: every survivor is at least as large as every pruned weight
    original = mlp()[0].weight.abs()
    kept = model[0].weight != 0
    assert original[kept].min() >= original[~kept].max()


def test_global_pruning_reaches_the_sparsity_overall_and_takes_more_from_the_big_layer():
    model = mlp()
    with torch.no_grad():
        model[4].weight.mul_(10)  # the classifier's weights made large: a global threshold spares them
    pruning.prune_magnitude(model, 0.7, scope="global", permanent=True)
    rows = {r["layer"]: r["sparsity"] for r in pruning.sparsity_per_layer(model)}
    assert pruning.global_sparsity(model) == pytest.approx(0.7, abs=1e-3)
    assert rows["0"] > 0.7 > rows["4"]


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_pruning_again_counts_the_new_share_from_all_weights(scope):
    model = mlp()
    pruning.prune_magnitude(model, 0.5, scope=scope)
    pruning.prune_magnitude(model, 0.9, scope=scope)
    assert pruning.global_sparsity(model) == pytest.approx(0.9, abs=2e-3)
    assert measure.parameter_count(model, nonzero=True) < measure.parameter_count(model)


def test_masks_stay_applied_while_fine_tuning_with_the_learner():
    x, y = digits()
    model = pruning.prune_magnitude(mlp(), 0.75)            # masks attached, not permanent
    pruned = [(m.weight_mask == 0).clone() for _, m in pruning.prunable_layers(model)]
    before = [m.weight.detach().clone() for _, m in pruning.prunable_layers(model)]
    pruning.finetune(model, (x, y), 2, lr=1e-2, batch_size=64)
    for (_, module), mask, old in zip(pruning.prunable_layers(model), pruned, before):
        assert torch.all(module.weight[mask] == 0)           # pruned weights still zero
        assert not torch.allclose(module.weight[~mask], old[~mask])  # the survivors trained
    pruning.make_permanent(model)
    assert all(not name.endswith(("_orig", "_mask")) for name, _ in model.named_parameters())
    assert pruning.global_sparsity(model) == pytest.approx(0.75, abs=2e-3)


def test_iterative_schedule_prunes_a_step_more_each_round_and_fine_tunes_between():
    x, y = digits()
    model, reached, tuned = pruning.finetune(mlp(), (x, y), 10, lr=1e-2, batch_size=64), [], []

    def finetune(m):
        tuned.append(pruning.global_sparsity(m))
        pruning.finetune(m, (x, y), 2, lr=5e-3, batch_size=64)

    pruning.iterative_pruning(model, 0.75, steps=3, finetune=finetune, on_step=lambda step, s: reached.append(s))
    assert reached == pytest.approx([0.25, 0.5, 0.75], abs=3e-3) and tuned == pytest.approx(reached, abs=1e-9)
    assert not any(hasattr(m, "weight_mask") for m in model.modules())  # permanent
    assert measure.accuracy(model, (x, y)) > 0.9            # fine-tuned survivors still classify


def test_structured_pruning_shrinks_a_small_resnet_and_keeps_its_output():
    from tujie.models import create

    x = torch.randn(2, 3, 16, 16)
    for shortcut in ("A", "B"):
        model = create("resnet20", shortcut=shortcut).eval()
        before = measure.parameter_count(model)
        pruning.prune_channels(model, x, 0.5)
        assert model(x).shape == (2, 10)
        assert measure.parameter_count(model) < (0.55 if shortcut == "A" else 0.3) * before
        block = model.stages[1][0]
        assert block.conv1.out_channels == 16 and block.bn1.num_features == 16 == block.conv2.in_channels
        if shortcut == "B":  # the residual stream too, consistently on both sides of every add
            assert block.conv2.out_channels == block.shortcut[0].out_channels == 16
        else:  # option A's zero padding cannot be mapped: the stream is left whole (only inner channels)
            assert block.conv2.out_channels == 32


def test_structured_pruning_of_tujie_dense_layers_removes_neurons():
    from tujie.models import create

    model = create("mlp", hidden=(32, 16))
    model(torch.zeros(1, 64))
    pruning.prune_channels(model, torch.zeros(2, 64), 0.5)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [16, 8, 10] and model(torch.zeros(3, 64)).shape == (3, 10)


@pytest.mark.parametrize("sparsity", [1.0, -0.1, 1.5, True])
def test_a_sparsity_out_of_range_is_refused(sparsity):
    with pytest.raises(ConfigError, match="0 <= s < 1"):
        pruning.prune_magnitude(mlp(), sparsity)


def test_an_unknown_scope_and_a_model_without_layers_are_refused():
    with pytest.raises(ConfigError, match="'layer' or 'global'"):
        pruning.prune_magnitude(mlp(), 0.5, scope="everywhere")
    with pytest.raises(ConfigError, match="no layer to prune"):
        pruning.prune_magnitude(nn.Sequential(nn.ReLU()), 0.5)
