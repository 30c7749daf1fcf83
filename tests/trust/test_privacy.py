"""DP-SGD through opacus: refusals before training, the accountant, and that DP-SGD without noise or clipping is SGD."""

import copy

import pytest
import torch
from torch import nn

from tujie.errors import ConfigError
from tujie.models import create
from tujie.trust import privacy


def test_batch_norm_is_refused_with_its_name_and_the_fix():
    model = create("dp_cnn", norm="batch")
    with pytest.raises(ConfigError) as e:
        privacy.check_private(model)
    text = str(e.value)
    assert "1 (BatchNorm2d)" in text and "5 (BatchNorm2d)" in text and "group norm" in text.lower()
    fixed = privacy.check_private(model, fix=True)  # opacus swaps in GroupNorm
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fixed.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in fixed.modules())
    assert privacy.check_private(create("dp_cnn", norm="group")) is not None


def test_tujie_batch_norm_layers_are_refused_too():
    model = create("small_cnn", batch_norm=True)
    model(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ConfigError, match="BatchNorm2D"):
        privacy.check_private(model, fix=True)  # opacus cannot fix tujie's own layers: still refused


def test_an_unreachable_epsilon_is_refused_and_a_reachable_one_is_met():
    with pytest.raises(ConfigError, match="cannot be reached"):
        privacy.noise_for_epsilon(0.05, delta=1e-5, sample_rate=0.5, epochs=50)
    with pytest.raises(ConfigError, match="noise multiplier ≤ 10"):  # reachable only with σ ≈ 30: noise drowns the gradients
        privacy.noise_for_epsilon(0.05, delta=1e-5, sample_rate=1 / 235, epochs=50)
    sigma = privacy.noise_for_epsilon(4.0, delta=1e-5, sample_rate=0.1, epochs=2)
    assert privacy.epsilon_after(sigma, 0.1, 20, 1e-5) == pytest.approx(4.0, rel=1e-3)


def test_epsilon_grows_with_steps_and_falls_with_noise():
    eps = [privacy.epsilon_after(1.0, 0.01, steps, 1e-5) for steps in (10, 100, 1000)]
    assert eps[0] < eps[1] < eps[2]
    assert privacy.epsilon_after(2.0, 0.01, 1000, 1e-5) < eps[2]


def test_no_noise_and_a_huge_clip_is_a_plain_sgd_step():
    torch.manual_seed(0)
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    model = create("dp_cnn")
    plain = copy.deepcopy(model)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    _, private, optimizer, loader = privacy.make_private(model, torch.optim.SGD(model.parameters(), lr=0.1), loader,
                                                         noise_multiplier=0.0, max_grad_norm=1e6, poisson_sampling=False)
    xb, yb = next(iter(loader))
    optimizer.zero_grad()
    nn.functional.cross_entropy(private(xb), yb).backward()
    optimizer.step()
    sgd = torch.optim.SGD(plain.parameters(), lr=0.1)
    nn.functional.cross_entropy(plain(x), y).backward()
    sgd.step()
    for a, b in zip(model.parameters(), plain.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    # and with a tight clip the step differs: clipping really acts
    clipped = copy.deepcopy(plain)
    _, m2, o2, _loader = privacy.make_private(clipped, torch.optim.SGD(clipped.parameters(), lr=0.1), loader,
                                         noise_multiplier=0.0, max_grad_norm=1e-3, poisson_sampling=False)
    before = [p.detach().clone() for p in clipped.parameters()]
    o2.zero_grad()
    nn.functional.cross_entropy(m2(xb), yb).backward()
    o2.step()
    with torch.no_grad():
        moved = float(torch.sqrt(sum(((p - q) ** 2).sum() for p, q in zip(clipped.parameters(), before))))
    assert 0 < moved <= 0.1 * 1e-3 * 1.001  # lr × C bounds the step: the mean of clipped per-sample gradients
