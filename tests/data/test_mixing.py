"""MixUp and CutMix: the papers' formulas, soft targets that cross-entropy takes, recipe names."""

import doctest

import pytest
import torch
import torch.nn.functional as F

from tujie.data import mixing
from tujie.data.mixing import CutMix, MixUp, RandomMixing, build_mixing
from tujie.errors import ConfigError, ShapeError


def onehot(y, k):
    return F.one_hot(y, k).float()


@pytest.mark.parametrize("make", [lambda: MixUp(num_classes=5, seed=0), lambda: CutMix(num_classes=5, seed=0)],
                         ids=["mixup", "cutmix"])
def test_shapes_and_rows_are_probabilities(make):
    x, y = torch.rand(16, 3, 8, 8), torch.randint(0, 5, (16,))
    x_mixed, y_soft = make()(x, y)
    assert x_mixed.shape == x.shape and y_soft.shape == (16, 5) and y_soft.dtype == torch.float32
    torch.testing.assert_close(y_soft.sum(1), torch.ones(16))
    assert (y_soft >= 0).all()


def test_mixup_with_given_lambda_is_the_papers_formula():
    x, y = torch.randn(8, 4), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    mixup = MixUp(num_classes=4, seed=1)
    x_mixed, y_soft = mixup(x, y, lam=0.3)
    index = mixup.last_index
    assert sorted(index.tolist()) == list(range(8)) and mixup.last_lam == 0.3
    torch.testing.assert_close(x_mixed, 0.3 * x + 0.7 * x[index])
    torch.testing.assert_close(y_soft, 0.3 * onehot(y, 4) + 0.7 * onehot(y[index], 4))


def test_mixup_with_tiny_alpha_keeps_one_of_the_pair():
    # Beta(α, α) with α -> 0 puts λ at 0 or 1: each output is a sample or its partner, unblended.
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    mixup = MixUp(alpha=1e-3, num_classes=3, seed=0)
    for _ in range(5):
        x_mixed, y_soft = mixup(x, y)
        lam, index = mixup.last_lam, mixup.last_index
        assert min(lam, 1 - lam) < 1e-6
        expected = x if lam > 0.5 else x[index]
        torch.testing.assert_close(x_mixed, expected)
        torch.testing.assert_close(y_soft, onehot(y if lam > 0.5 else y[index], 3))


def test_mixup_lambda_follows_beta_alpha_alpha():
    mixup = MixUp(alpha=0.4, num_classes=2, seed=0)
    x, y = torch.zeros(4, 1), torch.tensor([0, 1, 0, 1])
    lams = []
    for _ in range(2000):
        mixup(x, y)
        lams.append(mixup.last_lam)
    lams = torch.tensor(lams)
    beta = torch.distributions.Beta(0.4, 0.4)
    assert abs(lams.mean().item() - 0.5) < 0.03
    assert abs(lams.var().item() - beta.variance.item()) < 0.01  # 1 / (4 (2α + 1)) = 0.139


def test_mixup_passes_soft_targets_through_and_infers_classes():
    y = torch.softmax(torch.randn(6, 4), 1)  # e.g. smoothed labels
    x = torch.randn(6, 3)
    mixup = MixUp(seed=0)
    _, y_soft = mixup(x, y, lam=0.25)
    torch.testing.assert_close(y_soft, 0.25 * y + 0.75 * y[mixup.last_index])


def test_mixup_works_on_any_batch_shape_and_in_float64():
    x, y = torch.randn(5, 2, 7, dtype=torch.float64), torch.randint(0, 3, (5, 1))  # (N, 1) ids, as Keras keeps them
    x_mixed, y_soft = MixUp(num_classes=3, seed=0)(x, y)
    assert x_mixed.shape == x.shape and y_soft.dtype == torch.float64 and y_soft.shape == (5, 3)


def test_cutmix_pastes_one_rectangle_and_lambda_is_the_kept_area():
    batch, height, width = 6, 12, 10
    x = torch.arange(1.0, batch + 1).view(batch, 1, 1, 1).expand(batch, 2, height, width).clone()  # image i is all i+1
    y = torch.arange(batch)
    cutmix = CutMix(num_classes=batch, seed=3)
    seen_partial = False
    for _ in range(20):
        x_mixed, y_soft = cutmix(x, y)
        top, bottom, left, right = cutmix.last_box
        lam, index = cutmix.last_lam, cutmix.last_index
        area = (bottom - top) * (right - left)
        assert lam == pytest.approx(1 - area / (height * width))
        inside = torch.zeros(height, width, dtype=torch.bool)
        inside[top:bottom, left:right] = True
        for i in range(batch):
            changed = (x_mixed[i] != x[i]).any(0)  # (H, W)
            if index[i] == i:
                assert not changed.any()
                torch.testing.assert_close(y_soft[i], onehot(y[i], batch))
                continue
            assert torch.equal(changed, inside)  # exactly the box, a rectangle
            assert (x_mixed[i][:, inside] == index[i] + 1).all()  # pasted from the partner
            assert y_soft[i, i].item() == pytest.approx(lam)  # own label weighs the area kept
            assert y_soft[i, index[i]].item() == pytest.approx(1 - lam)
        seen_partial |= 0 < area < height * width
    assert seen_partial


def test_cutmix_with_given_lambda_sizes_the_box():
    cutmix = CutMix(num_classes=2, seed=0)
    x, y = torch.rand(4, 3, 100, 100), torch.tensor([0, 1, 0, 1])
    cutmix(x, y, lam=0.75)  # sides sqrt(0.25) = half of the image before clipping at the border
    top, bottom, left, right = cutmix.last_box
    assert bottom - top <= 50 and right - left <= 50
    assert cutmix.last_lam >= 0.75


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_p_zero_and_eval_mode_leave_the_batch_unmixed(cls):
    x, y = torch.rand(8, 3, 6, 6), torch.randint(0, 4, (8,))
    x_out, y_soft = cls(num_classes=4, p=0.0, seed=0)(x, y)
    assert torch.equal(x_out, x)
    torch.testing.assert_close(y_soft, onehot(y, 4))
    module = cls(num_classes=4, seed=0).eval()
    x_out, y_soft = module(x, y)
    assert torch.equal(x_out, x) and torch.equal(y_soft, onehot(y, 4))


def test_p_half_mixes_about_half_of_the_batches():
    mixup = MixUp(alpha=1.0, num_classes=2, p=0.5, seed=0)
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    mixed = sum(not torch.equal(mixup(x, y)[0], x) for _ in range(400))
    assert 150 < mixed < 250


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_seed_makes_it_reproducible(cls):
    x, y = torch.rand(8, 3, 8, 8), torch.randint(0, 4, (8,))
    a, b = cls(num_classes=4, seed=7), cls(num_classes=4, seed=7)
    for _ in range(3):
        xa, ya = a(x, y)
        xb, yb = b(x, y)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_gradients_flow_to_the_inputs_and_the_loss_takes_soft_targets(cls):
    x = torch.rand(8, 3, 6, 6, requires_grad=True)
    y = torch.randint(0, 4, (8,))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 36, 4))
    x_mixed, y_soft = cls(num_classes=4, seed=0)(x, y, lam=0.6)
    loss = F.cross_entropy(model(x_mixed), y_soft)
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())


def test_bad_inputs_are_explained():
    with pytest.raises(ConfigError, match="num_classes"):
        MixUp()(torch.randn(4, 2), torch.tensor([0, 1, 2, 0]))  # class ids, K unknown
    with pytest.raises(ConfigError, match="outside"):
        MixUp(num_classes=3)(torch.randn(4, 2), torch.tensor([0, 1, 3, 0]))
    with pytest.raises(ShapeError, match="height, width"):
        CutMix(num_classes=3)(torch.randn(4, 8), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ShapeError, match="floating-point"):
        MixUp(num_classes=3)(torch.ones(4, 2, dtype=torch.long), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ShapeError, match="shape"):
        MixUp(num_classes=3)(torch.randn(4, 2), torch.tensor([0, 1, 2]))
    with pytest.raises(ShapeError, match="columns"):
        MixUp(num_classes=3)(torch.randn(4, 2), torch.full((4, 5), 0.2))
    with pytest.raises(ConfigError, match="alpha"):
        MixUp(alpha=0)
    with pytest.raises(ConfigError, match="`p`"):
        CutMix(p=1.5)
    with pytest.raises(ConfigError, match="lam"):
        MixUp(num_classes=2)(torch.randn(2, 2), torch.tensor([0, 1]), lam=2.0)


def test_build_mixing_from_recipe_entries():
    assert build_mixing(None) is None and build_mixing([]) is None
    assert isinstance(build_mixing("mixup", num_classes=3), MixUp)
    cutmix = build_mixing([{"cutmix": {"alpha": 0.5, "p": 0.5}}], num_classes=3)
    assert isinstance(cutmix, CutMix) and cutmix.alpha == 0.5 and cutmix.p == 0.5 and cutmix.num_classes == 3
    assert build_mixing({"mixup": {"num_classes": 7}}, num_classes=3).num_classes == 7
    switch = build_mixing({"mixup": {"alpha": 0.2}, "cutmix": {"alpha": 1.0}}, num_classes=4, seed=0)
    assert isinstance(switch, RandomMixing) and [type(m) for m in switch.mixings] == [MixUp, CutMix]
    x, y = torch.rand(8, 3, 8, 8), torch.randint(0, 4, (8,))
    choices = set()
    for _ in range(30):
        x_mixed, y_soft = switch(x, y)
        choices.add(switch.last_choice)
        assert x_mixed.shape == x.shape and y_soft.shape == (8, 4)
    assert choices == {0, 1}


def test_build_mixing_explains_unknown_names_and_options():
    with pytest.raises(ConfigError, match="Did you mean 'mixup'.*mixup, cutmix"):
        build_mixing(["mix_up"])
    with pytest.raises(ConfigError, match="cutmix"):
        build_mixing([{"cutmix": {"beta": 1.0}}])
    with pytest.raises(ConfigError, match="mapping"):
        build_mixing(3)


def test_docstring_examples():
    assert doctest.testmod(mixing, extraglobs={"torch": torch}).failed == 0
