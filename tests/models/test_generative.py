"""GANs, autoencoders and the VAE: training through the Learner, sampling, errors, references."""

import doctest
import math

import pytest
import torch
import torch.nn.functional as F

import tujie as tj
from tujie.data.arrays import ArrayDataset
from tujie.errors import ConfigError, DataError, ShapeError
from tujie.models import autoencoder as autoencoder_module
from tujie.models import gan as gan_module
from tujie.models.autoencoder import VAE, Autoencoder, ConvAutoencoder
from tujie.models.gan import GAN, DCGANDiscriminator, DCGANGenerator, Discriminator, Generator


def blobs(n=256, size=28, seed=0):
    """MNIST-like images in [0, 1]: one or two Gaussian blobs of random place and width on black, (n, 1, size, size)."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.arange(size, dtype=torch.float32)
    yy, xx = grid.view(1, size, 1), grid.view(1, 1, size)
    images = torch.zeros(n, size, size)
    for _ in range(2):
        cy, cx = (torch.rand(2, n, 1, 1, generator=g) * (size - 12) + 6)  # (n, 1, 1) each
        width = torch.rand(n, 1, 1, generator=g) * 2.5 + 1.5
        images = torch.maximum(images, torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width ** 2)))
    return images.unsqueeze(1)  # (n, 1, size, size)


@pytest.mark.parametrize("module", [gan_module, autoencoder_module], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------------------- VAE
def test_vae_loss_decreases_through_the_learner():
    tj.seed_everything(0)
    images = blobs()
    model = VAE(hidden=(128,), latent_dim=8)
    learner = tj.Learner(model, loss=None, optimizer="adam", lr=2e-3)
    before = learner.evaluate(ArrayDataset(images), verbose=0)
    history = learner.fit(ArrayDataset(images), epochs=5, batch_size=32, verbose=0)  # 40 steps
    after = learner.evaluate(ArrayDataset(images), verbose=0)
    assert len(history.epochs) == 5 and all(math.isfinite(e[k]) for e in history.epochs for k in ("loss", "recon", "kl"))
    assert history["loss"][-1] < history["loss"][0]
    assert after["loss"] < 0.6 * before["loss"], (before, after)  # 784 pixels × ln 2 ≈ 543 at the start; ≈ 255 after
    assert after["kl"] > 0


def test_vae_loss_matches_the_closed_form_and_torch_distributions():
    tj.seed_everything(0)
    model = VAE(latent_dim=3)
    x = torch.rand(4, 1, 28, 28)
    recon, mu, logvar = model(x)
    losses = model.loss(x, recon, mu, logvar)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = torch.distributions.kl_divergence(q, prior).sum(-1).mean()
    bernoulli = -(x * recon.log() + (1 - x) * (1 - recon).log()).flatten(1).sum(-1).mean()
    torch.testing.assert_close(losses["kl"], kl)
    torch.testing.assert_close(losses["recon"], bernoulli)
    torch.testing.assert_close(losses["loss"], kl + bernoulli)
    mse = VAE(latent_dim=3, reconstruction="mse", beta=4.0)
    recon, mu, logvar = mse(x)
    out = mse.loss(x, recon, mu, logvar)
    torch.testing.assert_close(out["recon"], (recon - x).pow(2).flatten(1).sum(-1).mean())
    torch.testing.assert_close(out["loss"], out["recon"] + 4.0 * out["kl"])


def test_vae_reparameterises_in_training_and_uses_the_mean_in_eval():
    model = VAE(latent_dim=4)
    x = torch.rand(2, 1, 28, 28)
    model.eval()
    torch.testing.assert_close(model(x)[0], model(x)[0])
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])


def test_vae_sample_and_decode_shapes():
    model = VAE(input_shape=(3, 8, 8), hidden=(16, 8), latent_dim=2)
    samples = model.sample(7)
    assert samples.shape == (7, 3, 8, 8) and ((samples > 0) & (samples < 1)).all() and not samples.requires_grad
    with pytest.raises(ShapeError, match="'vae'.*latent"):
        model.decode(torch.randn(2, 5))


def test_vae_train_step_needs_the_learners_optimizer_and_images_in_unit_range():
    model = VAE(hidden=(16,), latent_dim=2)
    learner = tj.Learner(model, loss=None, optimizer=None)
    with pytest.raises(ConfigError, match="optimizer"):
        learner.fit(ArrayDataset(torch.rand(8, 1, 28, 28)), epochs=1, verbose=0)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        model.loss(x, *model(x))


# --------------------------------------------------------------------------------------- GAN
def test_gan_train_step_through_the_learner_updates_both_networks():
    tj.seed_everything(0)
    images = blobs(64) * 2 - 1  # the generator's tanh range
    model = tj.models.create("gan", latent_dim=16, generator_hidden=(64,), discriminator_hidden=(64,))
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    d_before = [p.detach().clone() for p in model.discriminator.parameters()]
    learner = tj.Learner(model, loss=None, optimizer=None)
    history = learner.fit(ArrayDataset(images), epochs=3, batch_size=16, verbose=0)  # 12 steps
    assert learner.optimizer is None and model.optimizer_g is not None and model.optimizer_d is not None
    for logs in history.epochs:
        assert all(math.isfinite(logs[k]) for k in ("d_loss", "g_loss", "d_real", "d_fake"))
        assert 0 <= logs["d_real"] <= 1 and 0 <= logs["d_fake"] <= 1
    assert all(not torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))
    scores = learner.evaluate(ArrayDataset(images), verbose=0)  # GAN.eval_step: no update
    assert sorted(scores) == ["d_fake", "d_loss", "d_real", "g_loss"]


def test_gan_losses_are_the_textbooks():
    """At the first step, L_D = -[log D(x) + log(1 - D(G(z)))] and L_G = -log D(G(z)) (seeds/000, 10.2.3)."""
    tj.seed_everything(0)
    model = GAN(Generator(latent_dim=4, image_shape=(1, 4, 4), hidden=(8,)), Discriminator(image_shape=(1, 4, 4), hidden=(8,)))
    real = torch.rand(5, 1, 4, 4) * 2 - 1
    torch.manual_seed(1)
    z = torch.randn(5, 4)
    fake = model.generator(z)
    d_x, d_gz = torch.sigmoid(model.discriminator(real)), torch.sigmoid(model.discriminator(fake))
    expected_d = -(d_x.log() + (1 - d_gz).log()).mean()
    torch.manual_seed(1)  # train_step draws the same z
    logs = model.train_step((real,), None)
    torch.testing.assert_close(logs["d_loss"], expected_d)
    torch.testing.assert_close(logs["d_real"], d_x.mean())
    torch.testing.assert_close(logs["d_fake"], d_gz.mean())
    d_gz_after = torch.sigmoid(model.discriminator(fake))  # G is scored by the updated D
    torch.testing.assert_close(logs["g_loss"], -d_gz_after.log().mean())


def test_dcgan_train_step_at_32_pixels():
    tj.seed_everything(0)
    model = tj.models.create("dcgan", image_size=32, channels=1, features=8, latent_dim=16)
    learner = tj.Learner(model, loss=None, optimizer=None)
    images = F.pad(blobs(32), (2, 2, 2, 2)) * 2 - 1  # (32, 1, 32, 32)
    history = learner.fit(ArrayDataset(images), epochs=1, batch_size=16, verbose=0)
    assert all(math.isfinite(v) for k, v in history.epochs[0].items() if k.startswith(("d_", "g_")))


@pytest.mark.parametrize("name, kwargs, shape", [("gan", {"image_shape": (3, 8, 8), "generator_hidden": (16,)}, (3, 8, 8)),
                                                 ("dcgan", {"features": 4}, (3, 64, 64)),
                                                 ("dcgan", {"features": 4, "image_size": 32, "channels": 1}, (1, 32, 32))])
def test_gan_sample_shapes_and_forward_pair(name, kwargs, shape):
    model = tj.models.create(name, **kwargs)
    samples = model.sample(3)
    assert samples.shape == (3, *shape) and samples.abs().max() <= 1 and not samples.requires_grad
    fake, logits = model(torch.randn(2, 100))
    assert fake.shape == (2, *shape) and logits.shape == (2, 1)


def test_dcgan_initialisation_follows_the_paper():
    torch.manual_seed(0)
    g, d = DCGANGenerator(), DCGANDiscriminator()
    convs = [m.weight for m in [*g.modules(), *d.modules()] if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    norms = [m.weight for m in [*g.modules(), *d.modules()] if isinstance(m, torch.nn.BatchNorm2d)]
    weights, scales = torch.cat([w.flatten() for w in convs]), torch.cat([w.flatten() for w in norms])
    assert abs(weights.mean()) < 1e-3 and abs(weights.std() - 0.02) < 1e-3
    assert abs(scales.mean() - 1) < 5e-3 and abs(scales.std() - 0.02) < 5e-3
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in d.net[:2]) == 0  # no BatchNorm on D's input layer


def test_gan_wrong_inputs_are_named_at_the_door():
    with pytest.raises(ShapeError, match="'gan_generator'.*latent.*\\(batch, 100\\)"):
        tj.models.create("gan_generator")(torch.randn(2, 64))
    with pytest.raises(ShapeError, match="'dcgan_generator'"):
        tj.models.create("dcgan_generator", features=4)(torch.randint(0, 3, (2, 100)))  # integer noise
    with pytest.raises(ShapeError, match="'gan_discriminator'.*\\(batch, 1, 28, 28\\).*unsqueeze"):
        tj.models.create("gan_discriminator")(torch.zeros(2, 28, 28))
    with pytest.raises(ShapeError, match="'dcgan_discriminator'.*\\(batch, 3, 64, 64\\)"):
        tj.models.create("dcgan_discriminator", features=4)(torch.zeros(2, 3, 32, 32))
    assert DCGANGenerator(latent_dim=8, features=4)(torch.randn(2, 8, 1, 1)).shape == (2, 3, 64, 64)  # the tutorials' noise


def test_gan_bad_sizes_fail_at_construction():
    with pytest.raises(ConfigError, match="`image_size` of model 'dcgan_generator'.*32 or 64"):
        tj.models.create("dcgan_generator", image_size=48)
    with pytest.raises(ConfigError, match="`latent_dim` of model 'gan_generator'"):
        tj.models.create("gan_generator", latent_dim=0)
    with pytest.raises(ConfigError, match="`image_shape` of model 'gan_discriminator'"):
        tj.models.create("gan_discriminator", image_shape=(28, 28))
    with pytest.raises(ConfigError, match="`features` of model 'dcgan_discriminator'"):
        tj.models.create("dcgan_discriminator", features=-1)
    with pytest.raises(ConfigError, match="`lr`"):
        GAN(Generator(hidden=(4,)), Discriminator(hidden=(4,)), lr=0)


# -------------------------------------------------------------------------------- autoencoders
@pytest.mark.parametrize("model, shape", [(Autoencoder(), (1, 28, 28)), (Autoencoder(input_shape=(3, 32, 32), hidden=(64,)), (3, 32, 32)),
                                          (ConvAutoencoder(), (1, 28, 28)), (ConvAutoencoder(in_channels=3, image_size=32), (3, 32, 32)),
                                          (ConvAutoencoder(image_size=32, filters=(8, 16, 32), code_size=12), (1, 32, 32))],
                         ids=["dense28", "dense32", "conv28", "conv32", "conv32-code"])
def test_autoencoders_reconstruct_the_input_shape(model, shape):
    x = torch.rand(3, *shape)
    out = model(x)
    assert out.shape == x.shape and ((out > 0) & (out < 1)).all()


def test_autoencoder_learns_through_the_learner_with_the_image_as_target():
    tj.seed_everything(0)
    images = blobs(128)
    learner = tj.Learner(ConvAutoencoder(filters=(8, 16)), loss="mse", optimizer="adam", lr=1e-2, metrics=())
    learner.fit((images, images), epochs=4, batch_size=16, verbose=0)  # 32 steps
    # half the error of the best constant image (the pixel mean, whose MSE is the pixel variance)
    assert learner.evaluate((images, images), verbose=0)["loss"] < 0.5 * images.var().item()


def test_autoencoder_errors():
    with pytest.raises(ShapeError, match="'autoencoder'.*\\(batch, 1, 28, 28\\)"):
        Autoencoder()(torch.rand(2, 1, 32, 32))
    with pytest.raises(ShapeError, match="'conv_autoencoder'.*\\(batch, 1, 28, 28\\)"):
        ConvAutoencoder()(torch.rand(2, 1, 32, 32))
    with pytest.raises(ShapeError, match="'conv_autoencoder'.*in_channels=3"):
        ConvAutoencoder()(torch.rand(2, 3, 28, 28))
    with pytest.raises(ConfigError, match="`image_size` of model 'conv_autoencoder'.*divisible by .* = 8"):
        ConvAutoencoder(filters=(8, 16, 32))  # 28 is not divisible by 8
    with pytest.raises(ConfigError, match="`code_size` of model 'autoencoder'"):
        tj.models.create("autoencoder", code_size=0)
    with pytest.raises(ConfigError, match="`reconstruction` of model 'vae'"):
        tj.models.create("vae", reconstruction="l2")
