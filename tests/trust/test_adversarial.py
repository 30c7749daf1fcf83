"""FGSM, PGD and adversarial training (tujie.trust.adversarial) on tiny images: exact steps, the ball, the ordering of attacks."""

import pytest
import torch
import torch.nn.functional as F

from tujie.errors import ConfigError
from tujie.trust.adversarial import PixelSpace, clean_accuracy, fgsm, pgd, robust_accuracy, train_epoch


def _toy(n=400, seed=0):
    """(n, 1, 4, 4) images in [0, 1]; the class: is the left half brighter than the right half."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 4, 4, generator=g)
    y = (x[..., :2].mean((1, 2, 3)) > x[..., 2:].mean((1, 2, 3))).long()
    return x, y


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))


@pytest.fixture(scope="module")
def trained():
    x, y = _toy()
    model = _model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(20):
        train_epoch(model, optimizer, x, y, batch_size=50, seed=epoch)
    return model, x, y


def test_fgsm_is_exactly_epsilon_times_the_gradient_sign_clipped_to_pixels():
    model, (x, y) = _model(), _toy(20)
    x = x.clone()
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 0.0, 1.0  # pixels at the range's ends: clipping must show
    probe = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(F.cross_entropy(model(probe), y), probe)
    expected = (x + 0.25 * gradient.sign()).clamp(0, 1)
    assert torch.equal(fgsm(model, x, y, 0.25), expected)
    assert not torch.equal(expected, x + 0.25 * gradient.sign())  # the clipping did something
    assert all(p.grad is None for p in model.parameters())  # the attack leaves the weights' gradients alone


def test_pgd_stays_inside_the_ball_and_the_pixel_range(trained):
    model, x, y = trained
    x = x.clone()
    x[:, :, 0] = 0.0  # a row at black, one at white: the projection onto [0, 1] is needed
    x[:, :, 1] = 1.0
    for epsilon in (0.05, 0.3):
        x_adv = pgd(model, x, y, epsilon, step_size=0.1, steps=5, generator=torch.Generator().manual_seed(0))
        assert (x_adv - x).abs().max() <= epsilon + 1e-6
        assert x_adv.min() >= 0 and x_adv.max() <= 1
        assert (x_adv - x).abs().max() > epsilon / 2  # it moved


def test_pgd_fools_at_least_as_often_as_fgsm_and_epsilon_zero_is_clean(trained):
    model, x, y = trained
    clean = clean_accuracy(model, x, y)
    assert clean > 0.9
    by_fgsm = robust_accuracy(model, x, y, "fgsm", [0.0, 0.1])
    by_pgd = robust_accuracy(model, x, y, "pgd", [0.0, 0.1], step_size=0.02, steps=10)
    assert by_fgsm[0.0] == by_pgd[0.0] == clean
    assert by_pgd[0.1] <= by_fgsm[0.1] < clean - 0.2


def test_adversarial_training_trains_on_pgd_examples(trained):
    _plain, x, y = trained
    losses = []
    for epsilon in (0.0, 0.1):
        model = _model()  # the same weights each time; lr 0 keeps them so
        stats = train_epoch(model, torch.optim.SGD(model.parameters(), lr=0.0), x, y, batch_size=100, epsilon=epsilon,
                            step_size=0.05, steps=3)
        losses.append(stats["loss"])
    assert losses[1] > losses[0] + 0.01  # the attacked batches are harder: the loss reported is theirs


def test_pixel_space_puts_the_normalisation_inside_the_model():
    inner = _model()
    wrapped = PixelSpace(inner, mean=(0.1307,), std=(0.3081,))
    x = torch.rand(3, 1, 4, 4)
    assert torch.allclose(wrapped(x), inner((x - 0.1307) / 0.3081))
    assert not wrapped.state_dict().keys() - inner.state_dict().keys() - {f"model.{k}" for k in inner.state_dict()}


def test_an_unknown_attack_is_refused():
    model, (x, y) = _model(), _toy(4)
    with pytest.raises(ConfigError, match="fgsm"):
        robust_accuracy(model, x, y, "cw", [0.1])


def test_the_kind_refuses_a_dataset_that_is_not_images_and_an_unknown_attack():
    from types import SimpleNamespace

    from tujie.kinds.adversarial import AdversarialConfig, _check

    images = SimpleNamespace(name="mnist", task="classification", input_shape=(1, 28, 28))
    _check(AdversarialConfig(), images)  # the defaults on images pass
    with pytest.raises(ConfigError, match="image"):
        _check(AdversarialConfig(), SimpleNamespace(name="breast-cancer", task="classification", input_shape=(30,)))
    with pytest.raises(ConfigError, match="attacks"):
        _check(AdversarialConfig(attacks=["pgd", "deepfool"]), images)
