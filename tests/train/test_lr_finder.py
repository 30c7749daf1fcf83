"""Learning-rate range test: a sensible suggestion on blobs, divergence detected, the model left untouched."""

import doctest
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import tujie as tj
from tujie.data.arrays import ArrayDataset
from tujie.errors import ConfigError, DataError
from tujie.train import lr_finder as lr_finder_module
from tujie.train.lr_finder import LRFinderResult, lr_find


def blobs(n=512, classes=3, features=8, seed=0):
    """Gaussian blobs around well-separated centres: a linear softmax can learn them."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, features, generator=g) * 3
    y = torch.randint(0, classes, (n,), generator=g)
    return centres[y] + torch.randn(n, features, generator=g), y


def linear(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(8, 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suggestion_is_sensible_for_a_linear_softmax_with_sgd(seed):
    result = lr_find(linear(seed), blobs(seed=seed), device="cpu", seed=seed)
    assert len(result.lrs) == len(result.losses) == len(result.raw_losses) <= 100
    assert result.lrs[0] == pytest.approx(1e-7)
    ratios = [b / a for a, b in zip(result.lrs, result.lrs[1:])]
    assert max(ratios) == pytest.approx(min(ratios)) and ratios[0] == pytest.approx(1e8 ** (1 / 99))
    assert 1e-7 <= result.suggestion <= 10.0
    assert 1e-3 <= result.suggestion <= 1.0  # SGD on this problem learns well at 0.01 .. 1
    assert result.suggestion in result.lrs
    assert min(result.losses) < 0.5 * result.losses[0]  # the loss fell during the sweep


def test_suggestion_trains_better_than_a_rate_far_below_it():
    x, y = blobs(seed=3)
    suggestion = lr_find(linear(3), (x, y), device="cpu").suggestion
    losses = {}
    for lr in (suggestion, suggestion / 1000):
        learner = tj.Learner(linear(4), optimizer="sgd", lr=lr, device="cpu", metrics=())
        losses[lr] = learner.fit((x, y), epochs=3, batch_size=64, verbose=0).epochs[-1]["loss"]
    assert losses[suggestion] < 0.5 * losses[suggestion / 1000]


def test_loss_diverges_at_the_end_and_the_test_stops():
    result = lr_find(linear(), blobs(), device="cpu", end_lr=1000.0)
    assert result.stopped_early and len(result.lrs) < 100
    assert result.losses[-1] > 4.0 * min(result.losses)  # the stopping rule
    assert result.losses.index(min(result.losses)) > len(result.losses) // 2  # the minimum comes late; the blow-up after it
    assert result.suggestion < result.lrs[-1]


def test_smoothing_is_an_exponential_moving_average():
    result = lr_find(linear(), blobs(), device="cpu", smoothing=0.3, num_steps=20)
    expected = [result.raw_losses[0]]
    for value in result.raw_losses[1:]:
        expected.append(0.3 * value + 0.7 * expected[-1])
    assert result.losses == pytest.approx(expected)
    assert lr_find(linear(), blobs(), device="cpu", smoothing=1.0, num_steps=20).losses == \
        lr_find(linear(), blobs(), device="cpu", smoothing=1.0, num_steps=20).raw_losses


class CountCalls(nn.Module):
    """Identity that counts its training calls in a buffer left out of the state_dict."""

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(1), persistent=False)

    def forward(self, x):
        if self.training:
            self.calls += 1
        return x


def test_weights_buffers_modes_grads_and_random_state_are_restored():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), CountCalls(), nn.Linear(16, 3))
    model.eval()
    model[1].train()  # a mixed set of modes must come back as it was
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    rng = torch.get_rng_state()
    result = lr_find(model, blobs(), device="cpu", num_steps=30)
    assert len(result.lrs) > 10
    after = model.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key  # running_mean/var and num_batches_tracked too
    assert [m.training for m in model.modules()] == modes
    assert model[4].calls.item() == 0  # a non-persistent buffer, restored as well
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(torch.get_rng_state(), rng)


def test_runs_are_reproducible_with_the_same_seed():
    a = lr_find(linear(), blobs(), device="cpu", num_steps=30, seed=1)
    b = lr_find(linear(), blobs(), device="cpu", num_steps=30, seed=1)
    assert a.raw_losses == b.raw_losses and a.suggestion == b.suggestion


def test_lazy_tujie_layers_are_built_before_the_snapshot():
    from tujie.train.loop import needs_build

    model = tj.Sequential([tj.layers.Dense(16, activation="relu"), tj.layers.Dense(3)])
    assert needs_build(model)
    result = lr_find(model, blobs(), device="cpu", num_steps=20)
    assert not needs_build(model) and len(result.lrs) > 10
    built = {k: v.clone() for k, v in model.state_dict().items()}
    assert built  # the weights exist now, and they are the ones the sweep started from
    lr_find(model, blobs(), device="cpu", num_steps=20)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in built.items())


@pytest.mark.parametrize("kind", ["array_dataset", "bundle", "dataloader", "dataset"])
def test_accepts_the_data_kinds_of_learner_fit(kind):
    x, y = blobs(n=100)
    data = {
        "array_dataset": ArrayDataset(x, y),
        "bundle": type("Bundle", (), {"train": ArrayDataset(x, y), "val": None})(),
        "dataloader": DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True),
        "dataset": TensorDataset(x, y),
    }[kind]
    result = lr_find(linear(), data, device="cpu", num_steps=25, batch_size=16)  # 25 steps > one epoch: batches cycle
    assert len(result.lrs) > 10


def test_plot_and_to_dict():
    result = lr_find(linear(), blobs(), device="cpu", num_steps=40)
    png = result.plot()
    assert png[:4] == b"\x89PNG" and len(png) > 1000
    record = result.to_dict()
    assert set(record) == {"lrs", "losses", "raw_losses", "suggestion", "stopped_early"}
    assert LRFinderResult(**record) == result


def test_bad_arguments_are_explained():
    data = blobs(n=64)
    with pytest.raises(ConfigError, match="start_lr < end_lr"):
        lr_find(linear(), data, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ConfigError, match="start_lr < end_lr"):
        lr_find(linear(), data, start_lr=0.0)
    with pytest.raises(ConfigError, match="num_steps"):
        lr_find(linear(), data, num_steps=5)
    with pytest.raises(ConfigError, match="smoothing"):
        lr_find(linear(), data, smoothing=0.0)
    with pytest.raises(ConfigError, match="diverge_factor"):
        lr_find(linear(), data, diverge_factor=1.0)
    with pytest.raises(ConfigError, match="optimizer"):
        lr_find(linear(), data, optimizer="sgdd", device="cpu")
    with pytest.raises(DataError, match="targets"):
        lr_find(linear(), ArrayDataset(data[0]), device="cpu")


def test_a_loss_that_is_never_finite_is_reported():
    x, y = blobs(n=64)
    x[:, 0] = math.nan
    with pytest.raises(tj.errors.TrainingDiverged, match="not finite"):
        lr_find(linear(), (x, y), device="cpu")


def test_docstring_examples():
    assert doctest.testmod(lr_finder_module, extraglobs={"torch": torch}).failed == 0
