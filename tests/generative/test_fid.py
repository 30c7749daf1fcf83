"""Classifier-feature FID: the Fréchet distance against closed forms, the scorer on a tiny slice, bad input."""

import numpy as np
import pytest
import torch

from tujie.errors import ShapeError
from tujie.generative import fid


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    # For diagonal covariances, FID = |mu1 - mu2|^2 + sum (s1 - s2)^2 with s the standard deviations
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([2.0, 2.0, 1.5])
    expected = ((mu1 - mu2) ** 2).sum() + ((s1 - s2) ** 2).sum()
    assert fid.frechet_distance(mu1, np.diag(s1 ** 2), mu2, np.diag(s2 ** 2)) == pytest.approx(expected, rel=1e-9)


def test_scipy_and_eigenvalue_paths_agree_on_full_covariances():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 5)), rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(w)) @ v.T
    by_eigen = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum()
    assert fid._trace_sqrt_product(s1, s2) == pytest.approx(by_eigen, rel=1e-6)


def test_frechet_distance_refuses_gaussians_of_different_sizes():
    with pytest.raises(ShapeError, match="different sizes"):
        fid.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


@pytest.mark.data
def test_real_images_score_near_the_floor_and_noise_far_above_it():
    scorer = fid.fid_scorer("mnist", limit=512, epochs=1, n_real=256)
    real = scorer.score(scorer.data.train.x[:256])
    noise = scorer.score(torch.rand(256, 1, 28, 28))
    assert real < noise / 5 and scorer.floor() < noise / 5
    result = fid.classifier_fid(torch.rand(64, 1, 28, 28) * 2 - 1, "mnist", value_range=(-1, 1), limit=512, epochs=1, n_real=256)
    assert result["n_samples"] == 64 and result["fid"] > result["floor"]
    with pytest.raises(ShapeError, match="(n >= 2, 1, 28, 28)"):
        scorer.score(torch.rand(8, 3, 32, 32))
