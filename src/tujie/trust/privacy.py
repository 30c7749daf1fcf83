"""Differentially private training (DP-SGD, Abadi et al., CCS 2016) through opacus.

DP-SGD changes two things in SGD: every sample's gradient is clipped to norm `max_grad_norm`
(one individual cannot move the model far), and Gaussian noise of std `noise_multiplier ×
max_grad_norm` is added to the batch's summed gradient (what is left cannot be traced back to
one individual). Batches are Poisson-sampled (every sample joins a batch with probability
`sample_rate`), which is what the accountant assumes. The RDP accountant turns (noise, sample
rate, steps) into ε at a fixed δ: the privacy spent, growing with every step.

opacus does the per-sample gradients, the clipping, the noise and the accounting; this module
adds the checks a user needs before training (layers DP-SGD cannot handle, budgets that cannot
be reached) and a readable training loop.

Example:
    >>> round(noise_for_epsilon(2.0, delta=1e-5, sample_rate=256 / 60000, epochs=3), 2) > 0.5
    True
    >>> epsilon_after(1.0, sample_rate=0.01, steps=100, delta=1e-5) < epsilon_after(1.0, sample_rate=0.01, steps=1000, delta=1e-5)
    True
"""

from __future__ import annotations

import math
import time
import warnings

import torch
from torch import nn

from ..errors import ConfigError

ACCOUNTANT = "rdp"  # Rényi DP (Mironov 2017), the accountant of Abadi et al.'s moments method
# whole Rényi orders only: opacus' fractional ones cost seconds each at small σ, and 2..256 bound ε within a few per cent
ORDERS = (*range(2, 33), 40, 48, 64, 96, 128, 256)


def _unsupported(model: nn.Module) -> list[str]:
    """Names of the layers DP-SGD cannot train: opacus' validators, plus any batch norm (torch's or tujie's)."""
    from opacus.validators import ModuleValidator

    names = []
    for name, module in model.named_modules():
        validator = ModuleValidator.VALIDATORS.get(type(module))
        if (validator is not None and validator(module)) or "BatchNorm" in type(module).__name__:
            names.append(f"{name or '(model)'} ({type(module).__name__})")
    return names


def check_private(model: nn.Module, fix: bool = False) -> nn.Module:
    """The model, refused with a ConfigError naming the layers DP-SGD cannot train, or fixed when `fix`.

    Batch norm mixes the samples of a batch, so one sample's gradient depends on the others and
    cannot be clipped alone. GroupNorm normalises within one sample and is the replacement;
    `fix=True` swaps it in with `opacus.validators.ModuleValidator.fix`.

    Example:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
        >>> try:
        ...     check_private(model)
        ... except ConfigError as e:
        ...     print("1 (BatchNorm2d)" in str(e))
        True
        >>> type(check_private(model, fix=True)[1]).__name__
        'GroupNorm'
    """
    from opacus.validators import ModuleValidator

    model.train()
    bad = _unsupported(model)
    if not bad:
        return model
    torch_layers = not ModuleValidator.is_valid(model)
    if fix and torch_layers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fixed = ModuleValidator.fix(model)
        if not _unsupported(fixed):
            return fixed
    raise ConfigError(f"DP-SGD cannot train this model: {', '.join(bad)}.",
                      expected="layers that see one sample at a time (no batch norm), so each sample's gradient can be clipped alone",
                      received=f"{len(bad)} layer(s) opacus cannot make private",
                      fix="Replace batch norm by group norm (model.norm: group for dp_cnn, or nn.GroupNorm), or set "
                          "dp.fix_model: true to let opacus' ModuleValidator.fix swap torch's BatchNorm for GroupNorm.")


def sample_rate_of(samples: int, batch_size: int) -> float:
    """Poisson sampling's rate as opacus sets it: 1 / batches per epoch (each sample joins a batch with this probability).

    Example:
        >>> sample_rate_of(60000, 256)
        0.00425531914893617
    """
    return 1 / math.ceil(samples / batch_size)


def epsilon_after(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> float:
    """ε spent after `steps` Poisson-sampled steps at this noise, by the RDP accountant (δ fixed).

    Example:
        >>> 0 < epsilon_after(1.1, sample_rate=256 / 60000, steps=700, delta=1e-5) < 2
        True
    """
    from opacus.accountants import create_accountant

    if steps <= 0 or noise_multiplier <= 0:
        return 0.0 if steps <= 0 else math.inf
    accountant = create_accountant(mechanism=ACCOUNTANT)
    accountant.history = [(noise_multiplier, sample_rate, steps)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "optimal order is the largest alpha": huge σ, ε already tiny
        return float(accountant.get_epsilon(delta=delta, alphas=list(ORDERS)))


def noise_for_epsilon(target_epsilon: float, *, delta: float, sample_rate: float, epochs: int,
                      max_noise: float = 10.0) -> float:
    """The noise multiplier σ that spends exactly `target_epsilon` (at δ) over `epochs`; refused when unreachable.

    A budget is unreachable when no σ reaches it (opacus gives up) or when the σ it needs is
    above `max_noise`: the noise would then drown the clipped gradients and the model learn
    nothing. Both are refused here, before any training, with what to change.

    Example:
        >>> noise_for_epsilon(0.05, delta=1e-5, sample_rate=0.5, epochs=100)
        Traceback (most recent call last):
        ...
        tujie.errors.ConfigError: ...
    """
    received = f"ε={target_epsilon:g}, δ={delta:g}, {epochs} epochs at sample rate {sample_rate:.4g}"
    steps = round(epochs / sample_rate)  # sample_rate_of: a whole number of batches per epoch
    # ε falls as σ grows: if even the largest σ allowed spends more than the target, no σ will do
    floor = epsilon_after(max_noise, sample_rate, steps, delta)
    if not target_epsilon > floor:
        raise ConfigError(f"The privacy budget ε={target_epsilon:g} cannot be reached with these settings.",
                          expected=f"ε above {floor:.3g}, the least these settings can spend with a noise multiplier ≤ {max_noise:g}",
                          received=f"{received} ({steps:,} steps)",
                          fix="Ask for a larger ε, train fewer epochs, or sample smaller batches (a lower sample rate); more "
                              "training data also helps (the sample rate is batch size / training samples).")
    low, high = 0.1, max_noise  # bisection on log σ: 40 halvings reach σ to well under 0.1%
    for _ in range(40):
        middle = math.sqrt(low * high)
        if epsilon_after(middle, sample_rate, steps, delta) > target_epsilon:
            low = middle
        else:
            high = middle
    return high


def make_private(model: nn.Module, optimizer, loader, *, noise_multiplier: float, max_grad_norm: float,
                 poisson_sampling: bool = True, seed: int | None = None):
    """opacus' `PrivacyEngine.make_private` with the RDP accountant: `(engine, model, optimizer, loader)`.

    The model comes back wrapped (per-sample gradients), the optimizer clips and adds noise,
    and the loader Poisson-samples its batches.
    """
    from opacus import PrivacyEngine

    generator = None if seed is None else torch.Generator().manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # opacus warns about secure RNG: this is teaching, not deployment
        engine = PrivacyEngine(accountant=ACCOUNTANT)
        model, optimizer, loader = engine.make_private(module=model, optimizer=optimizer, data_loader=loader,
                                                       noise_multiplier=noise_multiplier, max_grad_norm=max_grad_norm,
                                                       poisson_sampling=poisson_sampling, noise_generator=generator)
    return engine, model, optimizer, loader


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Share of `x` (N, ...) the model classifies as `y` (N,)."""
    model.eval()
    right = sum(int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum()) for i in range(0, len(x), batch_size))
    model.train()
    return right / max(len(x), 1)


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor, *,
          epochs: int, batch_size: int, lr: float, momentum: float = 0.0, noise_multiplier: float | None = None,
          max_grad_norm: float = 1.0, delta: float = 1e-5, seed: int = 0, say=None) -> dict:
    """Train with SGD, privately (DP-SGD) when `noise_multiplier` is given, else plainly; test every epoch.

    Args:
        x, y: training images (N, C, H, W) and labels (N,); x_test, y_test likewise.
        noise_multiplier: σ of DP-SGD; None trains without privacy (same batches on average, no clipping).
        max_grad_norm: C, the per-sample clipping norm.
        delta: δ of the (ε, δ) guarantee reported every epoch.

    Returns:
        {"history": [{"epoch", "epsilon", "test_accuracy", "train_loss", "seconds"}], "steps", "seconds",
         "test_accuracy", "epsilon"}.

    Example:
        >>> _ = torch.manual_seed(0); x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 2, (64,))
        >>> from tujie.models import create
        >>> out = train(create("dp_cnn", num_classes=2), x, y, x, y, epochs=1, batch_size=16, lr=0.1, noise_multiplier=1.0)
        >>> out["epsilon"] > 0, len(out["history"])
        (True, 1)
    """
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    engine = None
    if noise_multiplier is not None:
        engine, model, optimizer, loader = make_private(model, optimizer, loader, noise_multiplier=noise_multiplier,
                                                        max_grad_norm=max_grad_norm, seed=seed)
    sample_rate = sample_rate_of(len(x), batch_size)
    history, steps, started = [], 0, time.perf_counter()
    for epoch in range(1, epochs + 1):
        total, count = 0.0, 0
        for xb, yb in loader:  # xb (B, C, H, W); a Poisson batch may be empty
            if len(xb) == 0:
                continue
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(xb), yb)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # opacus' hooks fire on the input layer too: harmless
                loss.backward()
            optimizer.step()
            steps += 1
            total, count = total + float(loss.detach()) * len(xb), count + len(xb)
        eps = epsilon_after(noise_multiplier, sample_rate, steps, delta) if engine is not None else math.inf
        row = {"epoch": epoch, "epsilon": eps if math.isfinite(eps) else None, "test_accuracy": accuracy(model, x_test, y_test),
               "train_loss": total / max(count, 1), "seconds": time.perf_counter() - started}
        history.append(row)
        if say is not None:
            say(row)
    last = history[-1] if history else {"epsilon": None, "test_accuracy": math.nan}
    return {"history": history, "steps": steps, "seconds": time.perf_counter() - started,
            "test_accuracy": last["test_accuracy"], "epsilon": last["epsilon"], "model": model}
