"""Autoencoders, the VAE's ELBO and anomaly scores (tujie.generative.autoencoding / anomaly): tiny images, real checks."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tujie.errors import ConfigError, DataError
from tujie.generative.anomaly import extremes, normal_mask, separation
from tujie.generative.autoencoding import (binarize, check_images, code_map, encode, interpolate, manifold_grid,
                                           reconstruction_errors, train_autoencoder, train_vae, vae_elbo)
from tujie.models.autoencoder import VAE, Autoencoder, ConvAutoencoder


def strokes(n=256, size=8, seed=0):
    """Images in [0, 1] (n, 1, size, size) of two kinds, a bar in a random row (label 0) or a random column (label 1)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    where = torch.randint(1, size - 1, (n,), generator=g)
    images = torch.zeros(n, 1, size, size)
    for i in range(n):
        if labels[i] == 0:
            images[i, 0, where[i], :] = 1.0
        else:
            images[i, 0, :, where[i]] = 1.0
    return images, labels


def test_the_autoencoder_learns_to_reconstruct_and_beats_its_untrained_self():
    torch.manual_seed(0)
    x, _ = strokes()
    model = Autoencoder((1, 8, 8), (32,), 4)
    before = reconstruction_errors(model, x).mean()
    history = train_autoencoder(model, x, epochs=15, batch_size=32, lr=1e-2, seed=0, x_test=x)
    after = reconstruction_errors(model, x).mean()
    assert history[-1]["loss"] < history[0]["loss"] and after < 0.5 * before, (before, after)
    assert [r["epoch"] for r in history] == list(range(1, 16))


def test_the_conv_autoencoder_trains_through_the_same_loop():
    torch.manual_seed(0)
    x, _ = strokes(64)
    history = train_autoencoder(ConvAutoencoder(1, 8, (4, 8), 4), x, epochs=2, batch_size=32, lr=1e-2, seed=0, loss="mse")
    assert all(math.isfinite(r["loss"]) for r in history)


def test_bad_images_and_losses_are_refused_in_the_error_template():
    with pytest.raises(DataError, match="normalize: unit"):
        check_images(torch.randn(4, 1, 8, 8) * 3)
    with pytest.raises(DataError, match="float tensor"):
        check_images(torch.zeros(4, 8, 8))
    with pytest.raises(ConfigError, match="bce"):
        train_autoencoder(Autoencoder((1, 8, 8), (8,), 2), torch.rand(4, 1, 8, 8), epochs=1, batch_size=2, lr=1e-3, seed=0,
                          loss="l1")


def test_code_map_is_the_code_when_2d_and_pca_otherwise():
    points, how = code_map(torch.randn(30, 2))
    assert how == "code" and points.shape == (30, 2)
    codes = torch.randn(30, 6)
    points, how = code_map(codes)
    assert how == "pca" and points.shape == (30, 2)
    assert points[:, 0].var() >= points[:, 1].var()  # the first component carries the most variance


def test_the_elbo_equals_a_hand_computed_bound():
    # a VAE whose encoder gives mu = 0, logvar = 0 and whose decoder outputs 0.5 everywhere: the ELBO is exactly
    # -784 ln 2 per image (reconstruction) minus KL(N(0,1)||N(0,1)) = 0, whatever z is drawn
    model = VAE(hidden=(8,), latent_dim=3)
    for layer in (model.to_mu, model.to_logvar, model.decoder[-2]):
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    x = binarize(torch.rand(20, 1, 28, 28), seed=0)
    result = vae_elbo(model, x, samples=3)
    assert result["kl"] == pytest.approx(0.0, abs=1e-6)
    assert result["elbo"] == pytest.approx(-784 * math.log(2), rel=1e-5)


def test_the_elbo_samples_z_and_matches_the_models_own_loss_in_expectation():
    torch.manual_seed(0)
    model = VAE(input_shape=(1, 8, 8), hidden=(16,), latent_dim=2)
    x = binarize(torch.rand(200, 1, 8, 8), seed=1)
    model.train()
    losses = [model.loss(x, *model(x)) for _ in range(50)]  # the model's own loss samples z in train mode
    expected = -sum(l["loss"].item() for l in losses) / len(losses)
    assert vae_elbo(model, x, samples=50)["elbo"] == pytest.approx(expected, rel=0.01)
    assert vae_elbo(model, x, samples=1, seed=0) == vae_elbo(model, x, samples=1, seed=0)  # seeded: reproducible


def test_train_vae_raises_the_elbo_and_logs_both_terms():
    torch.manual_seed(0)
    x, _ = strokes(256)
    model = VAE(input_shape=(1, 8, 8), hidden=(32,), latent_dim=2)
    history = train_vae(model, x, x[:64], epochs=8, batch_size=32, lr=3e-3, seed=0)
    assert history[-1]["test_elbo"] > history[0]["test_elbo"] + 2
    assert all(r["elbo"] == pytest.approx(-(r["recon"] + r["kl"])) and r["kl"] > 0 for r in history)


def test_interpolation_starts_and_ends_at_the_two_codes_and_the_grid_needs_two_dimensions():
    model = VAE(input_shape=(1, 8, 8), hidden=(8,), latent_dim=2)
    a, b = torch.rand(1, 8, 8), torch.rand(1, 8, 8)
    path = interpolate(model, a, b, steps=5)
    model.eval()
    assert torch.allclose(path[0], model(a[None])[0][0], atol=1e-6) and torch.allclose(path[-1], model(b[None])[0][0], atol=1e-6)
    assert manifold_grid(model, side=3).shape == (9, 1, 8, 8)
    with pytest.raises(ConfigError, match="latent_dim"):
        manifold_grid(VAE(input_shape=(1, 8, 8), hidden=(8,), latent_dim=3))
    assert encode(model, torch.rand(4, 1, 8, 8)).shape == (4, 2)


def test_reconstruction_error_flags_the_kind_never_trained_on():
    torch.manual_seed(0)
    x, labels = strokes(400)
    normal = x[normal_mask(labels, held_out=1)]  # rows only
    model = Autoencoder((1, 8, 8), (32,), 4)
    train_autoencoder(model, normal, epochs=20, batch_size=32, lr=1e-2, seed=0)
    test, test_labels = strokes(200, seed=1)
    found = separation(reconstruction_errors(model, test), test_labels == 1)
    assert found["roc_auc"] > 0.9 and found["mean_anomaly"] > found["mean_normal"]
    assert found["fpr"][0] == 0 and found["tpr"][-1] == 1


def test_separation_against_sklearn_and_its_refusals():
    from sklearn.metrics import roc_auc_score

    scores, truth = torch.rand(100), torch.rand(100) > 0.7
    assert separation(scores, truth)["roc_auc"] == pytest.approx(roc_auc_score(truth.numpy(), scores.numpy()))
    with pytest.raises(DataError, match="both normal and anomalous"):
        separation(scores, torch.zeros(100, dtype=torch.bool))
    with pytest.raises(ConfigError, match="held_out"):
        normal_mask(torch.tensor([0, 1, 2]), held_out=7)
    assert extremes(torch.tensor([0.2, 0.9, 0.1]), 1) == ([1], [2])


def test_bce_of_the_elbo_is_the_bernoulli_log_likelihood():
    recon, x = torch.tensor([0.9, 0.2]), torch.tensor([1.0, 0.0])
    assert F.binary_cross_entropy(recon, x, reduction="sum").item() == pytest.approx(-(math.log(0.9) + math.log(0.8)))


def test_a_held_out_class_not_in_the_data_is_refused_before_the_run_directory_is_made(tmp_path):
    import tujie as tj

    with pytest.raises(ConfigError, match="held_out"):
        tj.run("mnist-anomaly", overrides=["data.name=digits", "anomaly.held_out=12", "epochs=1", f"output_dir={tmp_path}"],
               verbose=0)
    assert not any(tmp_path.iterdir())
