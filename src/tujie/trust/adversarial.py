"""Adversarial robustness (chapter 19): FGSM and PGD attacks under an L∞ budget, and Madry et al.'s adversarial training.

Everything works in **pixel space**: inputs are images in [0, 1] and ε is in pixel units (ε = 0.3 lets
every pixel move by 0.3 of the full grey range, as in Goodfellow et al. 2015 and Madry et al. 2018).
A model trained on normalised inputs is wrapped with `PixelSpace(model, mean, std)`, which puts its
normalisation inside the forward pass, so the attack's ε and its clipping to [0, 1] mean the same
thing whatever the dataset's scaling.

- `fgsm` (Goodfellow et al. 2015): one step, x + ε·sign(∇ₓ loss), clipped to [0, 1].
- `pgd` (Madry et al. 2018): a random start inside the ε-ball, then `steps` signed-gradient steps of
  size α, each followed by the projection back onto the ε-ball around x and onto [0, 1].
- `robust_accuracy`: accuracy under an attack at each ε of a list (ε = 0 is the clean accuracy).
- `train_epoch`: one epoch of plain training, or, with an attack, of adversarial training: the
  min-max of Madry et al., the inner max approximated by PGD on every batch.

Example:
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> x, y = torch.rand(3, 1, 2, 2), torch.tensor([0, 1, 0])
    >>> x_adv = pgd(model, x, y, epsilon=0.1, step_size=0.05, steps=3)
    >>> bool((x_adv - x).abs().max() <= 0.1 + 1e-6), bool(x_adv.min() >= 0), bool(x_adv.max() <= 1)
    (True, True, True)
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError


class PixelSpace(nn.Module):
    """A model that takes [0, 1] pixels: `model((x − mean) / std)`, so attacks measure ε in pixels.

    Args:
        model: the network, trained on normalised inputs.
        mean, std: the per-channel normalisation it was trained with (None: the identity).

    Input shape: (N, C, H, W) in [0, 1]. Output shape: the model's.

    Example:
        >>> wrapped = PixelSpace(torch.nn.Identity(), mean=(0.5,), std=(0.25,))
        >>> wrapped(torch.ones(1, 1, 1, 1)).item()
        2.0
    """

    def __init__(self, model: nn.Module, mean=None, std=None):
        super().__init__()
        self.model = model
        mean = torch.tensor(mean if mean is not None else (0.0,), dtype=torch.float32)
        std = torch.tensor(std if std is not None else (1.0,), dtype=torch.float32)
        self.register_buffer("mean", mean.view(1, -1, 1, 1), persistent=False)  # (1, C, 1, 1)
        self.register_buffer("std", std.view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean) / self.std)


def _input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """∇ₓ of the cross-entropy at x, the model's weights left untouched (no .grad on them)."""
    x = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    (gradient,) = torch.autograd.grad(loss, x)
    return gradient  # (N, C, H, W)


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float) -> torch.Tensor:
    """The fast gradient sign method: x + ε·sign(∇ₓ loss), clipped to the pixel range [0, 1].

    Args:
        model: takes [0, 1] pixels (wrap a normalised model in `PixelSpace`).
        x: images (N, C, H, W) in [0, 1]; y: labels (N,).
        epsilon: the L∞ budget in pixel units.

    Returns:
        The adversarial images, detached, shape of x.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> x = torch.full((1, 1, 2, 2), 0.5)
        >>> bool(torch.allclose((fgsm(model, x, torch.tensor([0]), 0.1) - x).abs(), torch.tensor(0.1)))  # every pixel moved by ε
        True
    """
    if epsilon == 0:
        return x.detach().clone()
    return (x + epsilon * _input_gradient(model, x, y).sign()).clamp(0.0, 1.0).detach()


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, step_size: float, steps: int,
        random_start: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """Projected gradient descent under L∞ (Madry et al. 2018): FGSM steps of size α, projected every step.

    Args:
        model: takes [0, 1] pixels.
        x: images (N, C, H, W) in [0, 1]; y: labels (N,).
        epsilon: the L∞ radius in pixel units.
        step_size: α, each step's size (Madry et al.: 0.01 with 40 steps at ε = 0.3 on MNIST).
        steps: the number of steps.
        random_start: start from a uniform point of the ε-ball (as Madry et al.) instead of x itself.
        generator: the random start's generator (reproducible attacks).

    Returns:
        The adversarial images, detached: |x_adv − x| ≤ ε everywhere and x_adv in [0, 1].
    """
    if epsilon == 0:
        return x.detach().clone()
    x = x.detach()
    x_adv = x.clone()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype) * 2 - 1  # (N, C, H, W) uniform in [-1, 1]
        x_adv = (x + epsilon * noise.to(x.device)).clamp(0.0, 1.0)
    for _step in range(steps):
        x_adv = x_adv + step_size * _input_gradient(model, x_adv, y).sign()
        x_adv = torch.min(torch.max(x_adv, x - epsilon), x + epsilon).clamp(0.0, 1.0)  # onto the ε-ball, then the pixels
    return x_adv.detach()


def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def attack_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: str, epsilon: float, *, step_size: float = 0.01,
                 steps: int = 40, generator: torch.Generator | None = None) -> torch.Tensor:
    """One batch attacked by name ("fgsm" or "pgd"), the model in eval mode (dropout and batch norm fixed)."""
    was_training = model.training
    model.eval()
    try:
        if attack == "fgsm":
            return fgsm(model, x, y, epsilon)
        if attack == "pgd":
            return pgd(model, x, y, epsilon, step_size, steps, generator=generator)
        raise ConfigError(f"Unknown attack {attack!r}.", expected="'fgsm' or 'pgd'", received=f"attack={attack!r}",
                          fix="Name one of the two attacks.")
    finally:
        model.train(was_training)


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: str, epsilons, *, step_size: float = 0.01,
                    steps: int = 40, batch_size: int = 250, seed: int = 0) -> dict[float, float]:
    """Accuracy under `attack` at each ε (ε = 0: the clean accuracy).

    PGD's step size is `step_size` but never below 2.5·ε/steps, so the steps can cross the ball
    (Madry et al.'s rule of thumb).

    Returns:
        {ε: accuracy in [0, 1]}.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 2, (8,))
        >>> accuracy = robust_accuracy(model, x, y, "pgd", [0.0, 0.5], steps=5)
        >>> accuracy[0.0] >= accuracy[0.5]
        True
    """
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for epsilon in epsilons:
        alpha = max(step_size, 2.5 * epsilon / max(steps, 1))
        correct = 0
        for part in _batches(len(x), batch_size):
            x_adv = attack_batch(model, x[part], y[part], attack, float(epsilon), step_size=alpha, steps=steps, generator=generator)
            with torch.no_grad():
                model.eval()
                correct += int((model(x_adv).argmax(1) == y[part]).sum())
        out[float(epsilon)] = correct / max(len(x), 1)
    return out


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 128,
                epsilon: float = 0.0, step_size: float = 0.01, steps: int = 0, seed: int = 0,
                on_batch: Callable[[int], None] | None = None) -> dict:
    """One epoch of training, on PGD examples when `epsilon` > 0 and `steps` > 0 (Madry et al.), else on x itself.

    Each batch: (adversarial training only) the inner maximisation, PGD from a random start on the
    current weights; then one optimizer step on the cross-entropy of the batch so found.

    Returns:
        {"loss", "accuracy"}: means over the epoch, on the examples trained on (adversarial ones when attacking).

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> stats = train_epoch(model, opt, torch.rand(16, 1, 2, 2), torch.randint(0, 2, (16,)), batch_size=8, epsilon=0.1, steps=2)
        >>> sorted(stats)
        ['accuracy', 'loss']
    """
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=generator)
    total_loss, correct = 0.0, 0
    for i, part in enumerate(_batches(len(x), batch_size)):
        index = order[part]
        xb, yb = x[index], y[index]  # (B, C, H, W), (B,)
        if epsilon > 0 and steps > 0:
            xb = attack_batch(model, xb, yb, "pgd", epsilon, step_size=step_size, steps=steps, generator=generator)
        model.train()
        logits = model(xb)  # (B, classes)
        loss = F.cross_entropy(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += float(loss.detach()) * len(yb)
        correct += int((logits.argmax(1) == yb).sum())
        if on_batch is not None:
            on_batch(i)
    n = max(len(x), 1)
    loss = total_loss / n
    return {"loss": loss if math.isfinite(loss) else float("nan"), "accuracy": correct / n}


def clean_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Accuracy on the images as they are (eval mode, no gradients)."""
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x[part]).argmax(1) == y[part]).sum()) for part in _batches(len(x), batch_size))
    return correct / max(len(x), 1)
