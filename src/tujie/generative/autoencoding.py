"""Training and reading autoencoders and the VAE (book chapter 10): reconstructions, code maps, the ELBO in nats.

Plain loops over in-memory image tensors (batch, C, H, W) in [0, 1], readable in one sitting:

- `train_autoencoder`: a dense or convolutional autoencoder, image as its own target (BCE or MSE).
- `train_vae`: the VAE on dynamically binarised images, the ELBO's two terms logged per epoch.
- `vae_elbo`: the test ELBO in nats per image, a proper bound: Bernoulli log-likelihood of
  *binarised* pixels, z sampled from q(z|x) (not z = mu), KL in closed form.
- `code_map`: a 2-D map of the codes (the code itself when it is 2-D, else its PCA).
- `interpolate`, `manifold_grid`: walks through the VAE's latent space.

Example:
    >>> import torch
    >>> from tujie.models.autoencoder import VAE
    >>> x = torch.rand(64, 1, 8, 8)
    >>> model = VAE(input_shape=(1, 8, 8), hidden=(32,), latent_dim=2)
    >>> history = train_vae(model, x, x[:16], epochs=2, batch_size=32, lr=1e-3, seed=0)
    >>> sorted(history[-1])[:5]
    ['elbo', 'epoch', 'kl', 'recon', 'seconds']
    >>> round(vae_elbo(model, binarize(x, seed=0))["elbo"]) < 0   # log p(x) <= 0 for binary pixels
    True
"""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError


def check_images(x: torch.Tensor, name: str = "images") -> torch.Tensor:
    """`x` as float images (batch, C, H, W) in [0, 1]; anything else is refused in the error template.

    Example:
        >>> check_images(torch.zeros(2, 1, 4, 4)).shape
        torch.Size([2, 1, 4, 4])
    """
    if not torch.is_tensor(x) or x.ndim != 4 or not x.is_floating_point():
        raise DataError(f"The {name} must be a float tensor of images.", expected="(batch, channels, height, width), floats in [0, 1]",
                        received=f"{type(x).__name__} of shape {tuple(getattr(x, 'shape', ()))}",
                        fix="Load the dataset with normalize: unit (pixels / 255).")
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        raise DataError(f"The {name} must lie in [0, 1] for a sigmoid decoder.", expected="0 <= pixel <= 1",
                        received=f"values from {low:.3g} to {high:.3g}", fix="Set data.normalize: unit (not standard).")
    return x


def binarize(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Each pixel 1 with probability its grey value (stochastic binarisation, as in the VAE literature).

    Example:
        >>> binarize(torch.full((1, 1, 2, 2), 0.5), seed=0).unique().tolist() in ([0.0, 1.0], [0.0], [1.0])
        True
    """
    return torch.bernoulli(x, generator=torch.Generator().manual_seed(seed))  # (batch, C, H, W) of 0/1


def _batches(n: int, batch_size: int, generator: torch.Generator | None):
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def _reconstruction_loss(recon: torch.Tensor, x: torch.Tensor, loss: str) -> torch.Tensor:
    """Summed over pixels, averaged over images: BCE in nats per image, or the squared error per image."""
    if loss == "bce":
        return F.binary_cross_entropy(recon, x, reduction="sum") / x.shape[0]
    return F.mse_loss(recon, x, reduction="sum") / x.shape[0]


def train_autoencoder(model: torch.nn.Module, x: torch.Tensor, *, epochs: int, batch_size: int, lr: float, seed: int,
                      loss: str = "bce", x_test: torch.Tensor | None = None,
                      on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
    """Train an autoencoder to rebuild `x` (its own target) with Adam; one record per epoch.

    Args:
        model: maps (batch, C, H, W) to a sigmoid reconstruction of the same shape.
        x: training images (N, C, H, W) in [0, 1].
        loss: "bce" (per-pixel Bernoulli, summed) or "mse" (summed squared error), per image.
        x_test: images to score after every epoch (optional).
        on_epoch: called with each epoch's record (progress lines).

    Returns:
        [{"epoch", "loss", "test_loss" (when x_test), "seconds"}, ...], losses per image.

    Example:
        >>> from tujie.models.autoencoder import Autoencoder
        >>> x = torch.rand(32, 1, 8, 8)
        >>> h = train_autoencoder(Autoencoder((1, 8, 8), (16,), 2), x, epochs=2, batch_size=16, lr=1e-2, seed=0, x_test=x)
        >>> [sorted(r) for r in h][-1]
        ['epoch', 'loss', 'seconds', 'test_loss']
    """
    if loss not in ("bce", "mse"):
        raise ConfigError("Unknown reconstruction loss.", expected='"bce" or "mse"', received=f"loss={loss!r}",
                          fix='Use "bce" for images in [0, 1].')
    check_images(x)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(1, epochs + 1):
        start, total = time.perf_counter(), 0.0
        model.train()
        for index in _batches(len(x), batch_size, generator):
            batch = x[index]  # (batch, C, H, W)
            value = _reconstruction_loss(model(batch), batch, loss)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            total += value.item() * len(index)
        record = {"epoch": epoch, "loss": total / len(x)}
        if x_test is not None:
            record["test_loss"] = float(reconstruction_errors(model, x_test, loss).mean())
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if on_epoch:
            on_epoch(record)
    return history


@torch.no_grad()
def reconstruct(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The model's reconstructions (N, C, H, W) in eval mode; a VAE's is decoded from z = mu."""
    model.eval()
    parts = []
    for start in range(0, len(x), batch_size):
        out = model(x[start:start + batch_size])
        parts.append(out[0] if isinstance(out, tuple) else out)  # a VAE returns (recon, mu, logvar)
    return torch.cat(parts)


@torch.no_grad()
def reconstruction_errors(model: torch.nn.Module, x: torch.Tensor, loss: str = "mse", batch_size: int = 1000) -> torch.Tensor:
    """One error per image (N,): the summed per-pixel BCE, or the mean squared error (the anomaly score).

    Example:
        >>> from tujie.models.autoencoder import Autoencoder
        >>> reconstruction_errors(Autoencoder((1, 8, 8), (16,), 2), torch.rand(5, 1, 8, 8)).shape
        torch.Size([5])
    """
    recon = reconstruct(model, x, batch_size)
    if loss == "bce":
        return F.binary_cross_entropy(recon, x, reduction="none").flatten(1).sum(1)
    return (recon - x).pow(2).flatten(1).mean(1)  # (N,)


@torch.no_grad()
def encode(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The codes (N, code features), flattened; a VAE's code is its mean mu."""
    model.eval()
    parts = []
    for start in range(0, len(x), batch_size):
        code = model.encode(x[start:start + batch_size])
        code = code[0] if isinstance(code, tuple) else code  # VAE: (mu, logvar)
        parts.append(code.flatten(1))
    return torch.cat(parts)


def code_map(codes: torch.Tensor, seed: int = 0) -> tuple[np.ndarray, str]:
    """Codes as 2-D points, and how: "code" when the code is 2-D already, else "pca" (scikit-learn's PCA).

    Example:
        >>> points, how = code_map(torch.randn(20, 5))
        >>> points.shape, how
        ((20, 2), 'pca')
    """
    values = codes.detach().cpu().double().numpy()
    if values.shape[1] == 2:
        return values, "code"
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(values), "pca"


# ------------------------------------------------------------------------------------------ VAE
def _elbo_terms(model, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image (N,): the reconstruction term −log p(x|z) with z ~ q(z|x), and KL(q(z|x) || N(0, I)), in nats."""
    mu, logvar = model.encode(x)  # (N, latent) each
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    z = mu + torch.exp(0.5 * logvar) * eps  # sampled even in eval mode: the bound needs E_q, not z = mu
    recon = model.decode(z)  # (N, C, H, W) Bernoulli means
    nll = F.binary_cross_entropy(recon, x, reduction="none").flatten(1).sum(1)
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
    return nll, kl


@torch.no_grad()
def vae_elbo(model, x: torch.Tensor, *, samples: int = 1, seed: int = 0, batch_size: int = 1000) -> dict:
    """The ELBO per image in nats, averaged over `x` (higher is better; log p(x) >= ELBO).

    For binarised `x` it is a proper bound on the log-likelihood of the Bernoulli decoder:
    ELBO = E_q[log p(x|z)] − KL(q(z|x) || p(z)), the expectation estimated with `samples`
    draws of z per image (unbiased), the KL exact.

    Returns:
        {"elbo", "recon" (−E_q log p(x|z)), "kl"}, nats per image.
    """
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    nll_total = kl_total = 0.0
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        nll = torch.stack([_elbo_terms(model, batch, generator)[0] for _ in range(samples)]).mean(0)
        kl = _elbo_terms(model, batch, generator)[1]
        nll_total += nll.sum().item()
        kl_total += kl.sum().item()
    recon, kl = nll_total / len(x), kl_total / len(x)
    return {"elbo": -(recon + kl), "recon": recon, "kl": kl}


def train_vae(model, x: torch.Tensor, x_test: torch.Tensor | None = None, *, epochs: int, batch_size: int, lr: float,
              seed: int, binarized: bool = True, on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
    """Train a VAE with Adam on the negative ELBO; one record per epoch, all in nats per image.

    With `binarized` the training images are binarised afresh every epoch (dynamic binarisation)
    and `x_test` once with a fixed seed, so the test ELBO is the bound the literature reports.

    Returns:
        [{"epoch", "elbo", "recon", "kl", "test_elbo", "test_recon", "test_kl" (with x_test), "seconds"}, ...].
    """
    check_images(x)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    test = None if x_test is None else (binarize(x_test, seed + 1) if binarized else x_test)
    history = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        data = binarize(x, seed * 1000 + epoch) if binarized else x
        sums = {"recon": 0.0, "kl": 0.0}
        for index in _batches(len(data), batch_size, generator):
            batch = data[index]  # (batch, C, H, W)
            nll, kl = _elbo_terms(model, batch, generator)
            loss = (nll + model.beta * kl).mean()  # the negative ELBO per image (beta = 1: the VAE)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sums["recon"] += nll.sum().item()
            sums["kl"] += kl.sum().item()
        record = {"epoch": epoch, "recon": sums["recon"] / len(x), "kl": sums["kl"] / len(x)}
        record["elbo"] = -(record["recon"] + record["kl"])
        if test is not None:
            scores = vae_elbo(model, test, seed=seed)
            record.update(test_elbo=scores["elbo"], test_recon=scores["recon"], test_kl=scores["kl"])
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if on_epoch:
            on_epoch(record)
    return history


@torch.no_grad()
def interpolate(model, first: torch.Tensor, second: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """Decoded images along the straight line between two images' codes mu: (steps, C, H, W).

    Example:
        >>> from tujie.models.autoencoder import VAE
        >>> interpolate(VAE((1, 8, 8), (8,), 2), torch.rand(1, 8, 8), torch.rand(1, 8, 8), steps=4).shape
        torch.Size([4, 1, 8, 8])
    """
    model.eval()
    (mu_a, _), (mu_b, _) = model.encode(first[None]), model.encode(second[None])  # (1, latent) each
    weights = torch.linspace(0, 1, steps).unsqueeze(1)  # (steps, 1)
    return model.decode((1 - weights) * mu_a + weights * mu_b)  # (steps, C, H, W)


@torch.no_grad()
def manifold_grid(model, side: int = 15) -> torch.Tensor:
    """A 2-D latent space decoded on a side × side grid of z at the prior's quantiles (Kingma & Welling's Fig. 4).

    The grid's coordinates are the normal distribution's inverse CDF at evenly spaced
    probabilities, so each cell covers the same prior mass. Returns (side * side, C, H, W), row by row.
    """
    if model.latent_dim != 2:
        raise ConfigError("The latent manifold grid needs a 2-D latent space.", expected="latent_dim = 2",
                          received=f"latent_dim = {model.latent_dim}", fix="Set vae.latent_dim: 2 for the grid.")
    model.eval()
    quantiles = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, side))  # (side,)
    z = torch.stack(torch.meshgrid(-quantiles, quantiles, indexing="ij")[::-1], dim=-1).reshape(-1, 2)  # (side², 2), top row z2 high
    return model.decode(z)


def as_pixels(images: torch.Tensor) -> list:
    """Images (N, C, H, W) in [0, 1] as nested lists of 0-255 integers (N, H, W) of the first channel, for JSON."""
    return (images[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).tolist()


def nats_to_bits_per_pixel(nats: float, pixels: int) -> float:
    """A negative log-likelihood in nats per image as bits per pixel (the unit of later papers)."""
    return nats / (pixels * math.log(2))
