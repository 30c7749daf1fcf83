"""Classifier-feature FID: how far generated images are from real ones, in a tujie classifier's features.

The Fréchet Inception Distance (Heusel et al. 2017) fits a Gaussian to the features of real
and of generated images and measures the Fréchet (2-Wasserstein) distance between the two:

    FID = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))

Here the features are NOT Inception-v3's (no downloads, and Inception was never trained on
digits): they are the penultimate layer (64 ReLU units) of a small CNN that tujie trains on the
same dataset (`small_cnn(filters=(16, 32), dense=64, batch_norm=True)`, 2 epochs, about 99% test
accuracy on MNIST, about 90% on Fashion-MNIST). The numbers are therefore only comparable
with each other (same dataset, same classifier), never with published Inception FIDs. Next to
every FID we report the real-versus-real floor: 10,000 training images against the 10,000 test
images, the value a perfect generator would reach with this many samples.

The classifier is trained once and cached as safetensors (`$TUJIE_CACHE/fid/`, written
atomically); a later call loads it in a second.

Example (tiny: a classifier trained on 256 images, random "samples"; needs TUJIE_DATA):

    >>> import torch
    >>> scorer = FIDScorer("mnist", limit=256, epochs=1, n_real=256)  # doctest: +SKIP
    >>> noise = scorer.score(torch.rand(256, 1, 28, 28))   # images in [0, 1]  # doctest: +SKIP
    >>> noise > scorer.floor()                              # noise is farther from real digits than real digits are  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import load as load_dataset
from ..data._files import cache_dir
from ..errors import CheckpointError, ConfigError, ShapeError
from ..i18n import _
from ..models.cnn import small_cnn
from ..train.checkpoint import read_checkpoint, save_weights

#: What the classifier is; part of the cache key, so a change retrains it.
CLASSIFIER = {"model": "small_cnn", "filters": [16, 32], "dense": 64, "batch_norm": True,
              "optimizer": "adam", "lr": 3e-3, "batch_size": 128}
_SCORERS: dict = {}  # (dataset, limit, epochs, n_real, seed, cache) → FIDScorer, so a process trains/loads once


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """The Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (float64; scipy's sqrtm, else eigenvalues).

    Example:
        >>> import numpy as np
        >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))  # |mu1 - mu2|^2 = 2, same covariance
        2.0
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ShapeError("The two Gaussians of a Fréchet distance have different sizes.",
                         expected="mu1, mu2 of one shape (d,) and sigma1, sigma2 of (d, d)",
                         received=f"mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}",
                         fix="Compute both sets of features with the same classifier.")
    diff = mu1 - mu2
    trace_sqrt = _trace_sqrt_product(sigma1, sigma2)
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt, 0.0))


def _trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((S1 S2)^(1/2)). S1 S2 is not symmetric but has real non-negative eigenvalues (both are PSD)."""
    try:
        from scipy import linalg
    except ImportError:  # the eigenvalues of S1 S2 are those of S1^½ S2 S1^½, symmetric PSD
        w, v = np.linalg.eigh(sigma1)
        root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        return float(np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ sigma2 @ root1), 0, None)).sum())
    with warnings.catch_warnings():  # singular products (dead ReLU features) are handled below, not warned about
        warnings.simplefilter("ignore")
        root = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(root).all():  # near-singular product: nudge both diagonals (as pytorch-fid does)
        offset = np.eye(sigma1.shape[0]) * 1e-6
        root = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    return float(np.real(np.trace(root)))


def feature_statistics(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), covariance (d, d)) of a feature matrix (n, d), in float64."""
    f = features.detach().to(torch.float64).cpu().numpy()  # (n, d)
    return f.mean(axis=0), np.cov(f, rowvar=False)


class FIDScorer:
    """Classifier-feature FID against one dataset's test images; the classifier trained once and cached.

    Args:
        dataset: "mnist", "fashion_mnist" or "cifar10" (any registered image dataset).
        epochs: epochs of classifier training (when no cached classifier fits).
        n_real: real test images the generated ones are compared with (10,000: the whole test set).
        seed: seeds the classifier's training and the floor's choice of training images.
        limit: use only the first `limit` training/test images (tiny tests; not cached).
        cache: folder of the cached classifier; default `$TUJIE_CACHE/fid` (`~/.cache/tujie/fid`).
        data_dir: where the dataset's files are (default `$TUJIE_DATA`, then the cache).
        say: a function given one line of progress (e.g. print), or None.

    Attributes:
        accuracy: the classifier's test accuracy (report it beside the FID).
    """

    def __init__(self, dataset: str = "mnist", *, epochs: int = 2, n_real: int = 10_000, seed: int = 0,
                 limit: int | None = None, cache=None, data_dir=None, say=None):
        if not isinstance(n_real, int) or n_real < 2:
            raise ConfigError("Invalid value received for argument `n_real` of the FID scorer.",
                              expected="an integer >= 2 (10,000 for a comparable FID)", received=f"n_real={n_real!r}",
                              fix="Pass n_real=10000.")
        self.dataset, self.epochs, self.seed, self.limit = dataset, int(epochs), int(seed), limit
        self._say = say or (lambda line: None)
        self.data = load_dataset(dataset, data_dir=data_dir, normalize="unit", limit=limit)  # images in [0, 1]
        self.image_shape = tuple(self.data.input_shape)  # (C, H, W)
        self.n_real = min(n_real, len(self.data.test))
        self.cache = None if limit is not None else Path(cache or cache_dir() / "fid")
        self.classifier = self._classifier()
        self._real_stats = feature_statistics(self.features(self.data.test.x[:self.n_real]))
        self._floor: float | None = None

    # ----------------------------------------------------------------------- the classifier
    def _cache_file(self) -> Path | None:
        if self.cache is None:
            return None
        key = hashlib.sha256(json.dumps({**CLASSIFIER, "dataset": self.data.name, "epochs": self.epochs,
                                         "seed": self.seed}, sort_keys=True).encode()).hexdigest()[:12]
        return self.cache / f"{self.data.name}-classifier-{key}.safetensors"

    def _classifier(self) -> torch.nn.Module:
        model = small_cnn(self.data.num_classes, filters=tuple(CLASSIFIER["filters"]), dense=CLASSIFIER["dense"],
                          batch_norm=CLASSIFIER["batch_norm"])
        model(torch.zeros(2, *self.image_shape))  # sizes the lazy layers
        path = self._cache_file()
        if path is not None and path.exists():
            try:
                weights, meta = read_checkpoint(path)
                model.load_state_dict({k.removeprefix("model."): v for k, v in weights.items() if k.startswith("model.")})
                self.accuracy = float(meta.get("accuracy", math.nan))
                self._say(_("FID classifier loaded from {path} (test accuracy {accuracy})").format(
                    path=path, accuracy=f"{self.accuracy:.4f}"))
                return model.eval()
            except (CheckpointError, RuntimeError, ValueError, TypeError):  # a damaged or foreign cache file is
                self._say(_("The cached FID classifier {path} could not be read; training it again.").format(path=path))  # retrained
        self._train(model)
        self.accuracy = self._accuracy(model)
        if path is not None:
            save_weights(path, model, {"accuracy": self.accuracy, **CLASSIFIER, "epochs": self.epochs})
        self._say(_("FID classifier trained on {dataset} ({epochs} epochs): test accuracy {accuracy}").format(
            dataset=self.data.name, epochs=self.epochs, accuracy=f"{self.accuracy:.4f}"))
        return model.eval()

    def _train(self, model: torch.nn.Module) -> None:
        generator = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        x, y = self.data.train.x, self.data.train.y  # (n, C, H, W) in [0, 1], (n,)
        optimizer = torch.optim.Adam(model.parameters(), lr=CLASSIFIER["lr"])
        steps = self.epochs * math.ceil(len(x) / CLASSIFIER["batch_size"])
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, CLASSIFIER["lr"], total_steps=max(steps, 8), pct_start=0.25)
        model.train()
        for _epoch in range(self.epochs):
            for index in torch.randperm(len(x), generator=generator).split(CLASSIFIER["batch_size"]):
                loss = F.cross_entropy(model(x[index]), y[index])  # (batch, classes) vs (batch,)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()

    @torch.no_grad()
    def _accuracy(self, model: torch.nn.Module) -> float:
        model.eval()
        x, y = self.data.test.x, self.data.test.y
        correct = sum(int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum()) for i in range(0, len(x), 1000))
        return correct / len(x)

    # ------------------------------------------------------------------------- features, FID
    @torch.no_grad()
    def features(self, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Penultimate-layer features (n, 64) of images (n, C, H, W) with values in [0, 1]."""
        images = self._check(images)
        head = self.classifier[-1]  # the last Dense: its input is the penultimate activation
        captured: list[torch.Tensor] = []
        hook = head.register_forward_hook(lambda module, args, out: captured.append(args[0].detach()))
        try:
            for i in range(0, len(images), batch_size):
                self.classifier(images[i:i + batch_size])
        finally:
            hook.remove()
        return torch.cat(captured)  # (n, 64)

    def _check(self, images) -> torch.Tensor:
        images = torch.as_tensor(images)
        if images.ndim == 3 and self.image_shape[0] == 1:  # (n, H, W) grey images
            images = images[:, None]
        if images.ndim != 4 or tuple(images.shape[1:]) != self.image_shape or len(images) < 2:
            raise ShapeError(f"FID samples do not match the {self.data.name} classifier's images.",
                             expected=f"a tensor (n >= 2, {', '.join(map(str, self.image_shape))}) with values in [0, 1]",
                             received=f"shape {tuple(images.shape)}",
                             fix="Generate images of the dataset's size; rescale tanh outputs with (x + 1) / 2.")
        return images.float().cpu()

    def score(self, samples: torch.Tensor) -> float:
        """Classifier-FID of generated images (n, C, H, W) in [0, 1] against the real test images."""
        mu, sigma = feature_statistics(self.features(samples))
        return frechet_distance(mu, sigma, *self._real_stats)

    def floor(self) -> float:
        """Real-versus-real FID: `n_real` random training images against the test images (a perfect generator's value)."""
        if self._floor is None:
            generator = torch.Generator().manual_seed(self.seed + 1)
            pick = torch.randperm(len(self.data.train), generator=generator)[:self.n_real]
            self._floor = self.score(self.data.train.x[pick])
        return self._floor


def fid_scorer(dataset: str = "mnist", **kwargs) -> FIDScorer:
    """The process's `FIDScorer` for these arguments (trained or loaded once, then reused)."""
    key = (dataset, *sorted((k, str(v)) for k, v in kwargs.items() if k != "say"))
    if key not in _SCORERS:
        _SCORERS[key] = FIDScorer(dataset, **kwargs)
    return _SCORERS[key]


def classifier_fid(samples: torch.Tensor, dataset: str = "mnist", *, value_range=(0.0, 1.0), **kwargs) -> dict:
    """Classifier-feature FID of generated images, with the real-versus-real floor beside it.

    NOT comparable with Inception FID: the features are a tujie-trained small CNN's (see the module).

    Args:
        samples: generated images (n, C, H, W) (10,000 for the reported figure), e.g. a VAE's
            decoder outputs or a GAN's samples.
        dataset: the dataset the samples imitate: "mnist", "fashion_mnist", "cifar10".
        value_range: the samples' value range: (0, 1) for sigmoid outputs, (-1, 1) for tanh outputs.
        **kwargs: passed to `FIDScorer` (epochs, n_real, seed, limit, cache, data_dir, say).

    Returns:
        {"fid", "floor", "classifier_accuracy", "n_samples", "n_real", "dataset", "features"}

    Example:
        >>> import torch
        >>> samples = torch.rand(128, 1, 28, 28) * 2 - 1  # e.g. a GAN's tanh outputs
        >>> r = classifier_fid(samples, "mnist", value_range=(-1, 1), limit=256, epochs=1, n_real=256)  # doctest: +SKIP
        >>> r["fid"] > r["floor"], r["n_samples"]  # doctest: +SKIP
        (True, 128)
    """
    low, high = value_range
    samples = (torch.as_tensor(samples).detach().float().cpu() - low) / (high - low)  # → [0, 1]
    scorer = fid_scorer(dataset, **kwargs)
    return {"fid": scorer.score(samples), "floor": scorer.floor(), "classifier_accuracy": scorer.accuracy,
            "n_samples": len(samples), "n_real": scorer.n_real, "dataset": scorer.data.name,
            "features": "tujie small_cnn penultimate layer (64), not Inception-v3"}
