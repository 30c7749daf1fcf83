"""Generative adversarial networks: the fully connected GAN (Goodfellow et al. 2014) and DCGAN (Radford et al. 2015).

A generator G turns noise z into an image, a discriminator D scores an image (a logit: real
> 0 > fake). The textbook's losses (seeds/000, ch. 10) are

    L_D = -[log D(x) + log(1 - D(G(z)))]        L_G = -log D(G(z))

`L_G` is the "non-saturating" generator loss of the GAN paper (section 3): it gives G strong
gradients early on, when D rejects every fake with confidence. The paper's original minimax
form, G minimising log(1 − D(G(z))), is there too (`GAN(..., generator_loss="minimax")`):
its gradient vanishes exactly when D wins, which is why the book uses the first form. `GAN` holds G and D and trains
both with its own `train_step`, one D step then one G step per batch, each with its own Adam.

Training through the Learner (the Learner's own loss and optimizer are not used: pass None):

    >>> import torch, tujie as tj
    >>> from tujie.data.arrays import ArrayDataset
    >>> gan = GAN(Generator(latent_dim=8, hidden=(32,)), Discriminator(hidden=(32,)))
    >>> images = torch.rand(64, 1, 28, 28) * 2 - 1  # real images scaled to [-1, 1], as tanh outputs
    >>> learner = tj.Learner(gan, loss=None, optimizer=None)
    >>> history = learner.fit(ArrayDataset(images), epochs=1, batch_size=32, verbose=0)
    >>> sorted(k for k in history.epochs[-1] if k.startswith(("d_", "g_")))
    ['d_fake', 'd_loss', 'd_real', 'g_grad_norm', 'g_loss']
    >>> gan.sample(5).shape
    torch.Size([5, 1, 28, 28])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError
from ._common import check_exact_image, check_positive, image_shape_argument
from ._registry import register_model


def _check_latent(model_name: str, z: torch.Tensor, latent_dim: int) -> torch.Tensor:
    """Return z as (batch, latent_dim); accept (batch, latent_dim, 1, 1) too (the DCGAN tutorials' noise)."""
    if z.ndim == 4 and z.shape[2:] == (1, 1):
        z = z.flatten(1)
    if z.ndim == 2 and z.shape[1] == latent_dim and z.is_floating_point():
        return z
    raise ShapeError(f"Model '{model_name}' received a latent code of the wrong shape.",
                     expected=f"a float tensor (batch, {latent_dim})", received=f"{z.dtype} input of shape {tuple(z.shape)}",
                     fix=f"Pass torch.randn(batch, {latent_dim}), or build the model with latent_dim={z.shape[-1] if z.ndim else z.numel()}.")


# image size → (side of the first feature map, number of stride-2 doublings from it)
_DCGAN_STAGES = {28: (7, 2), 32: (4, 3), 64: (4, 4)}


def _check_image_size(model_name: str, image_size) -> tuple[int, int]:
    """(first side, doublings) for a DCGAN of this image size; other sizes are refused."""
    if image_size not in _DCGAN_STAGES:
        raise ConfigError(f"Invalid value received for argument `image_size` of model '{model_name}'.",
                          expected="28, 32 or 64", received=f"image_size={image_size!r}",
                          fix="Pass image_size=64 (the paper's size), 32 (CIFAR-10) or 28 (MNIST), and resize the images to it.")
    return _DCGAN_STAGES[image_size]


# ------------------------------------------------------------------ fully connected GAN (Goodfellow 2014)
class Generator(nn.Module):
    """The fully connected generator: z → [Linear → LeakyReLU(0.2)] per hidden size → Linear → tanh → image.

    The paper's MNIST generator used ReLU/sigmoid units; LeakyReLU and a tanh output in [-1, 1]
    are the now usual choices (real images are scaled to [-1, 1] to match).

    Args:
        latent_dim: size of the noise vector z.
        image_shape: (channels, height, width) of the generated images.
        hidden: sizes of the hidden layers.

    Input shape: (batch, latent_dim).  Output shape: (batch, *image_shape), values in [-1, 1].

    Example:
        >>> Generator(latent_dim=16, image_shape=(1, 28, 28), hidden=(32,))(torch.randn(2, 16)).shape
        torch.Size([2, 1, 28, 28])
    """

    def __init__(self, latent_dim: int = 100, image_shape=(1, 28, 28), hidden=(256, 512, 1024)):
        super().__init__()
        self.latent_dim, self.image_shape = latent_dim, image_shape_argument("gan_generator", image_shape)
        check_positive("gan_generator", latent_dim=latent_dim, **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
        stack, width = [], latent_dim
        for units in hidden:
            stack += [nn.Linear(width, units), nn.LeakyReLU(0.2)]
            width = units
        stack += [nn.Linear(width, math.prod(self.image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*stack)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = _check_latent("gan_generator", z, self.latent_dim)  # (batch, latent_dim)
        return self.net(z).view(z.shape[0], *self.image_shape)  # (batch, C, H, W)


class Discriminator(nn.Module):
    """The fully connected discriminator: flatten → [Linear → LeakyReLU(0.2) (→ Dropout)] → Linear → logit.

    The paper's discriminator used maxout units with dropout; LeakyReLU is the usual modern stand-in.
    The output is a logit (no sigmoid): the losses use the numerically safe `*_with_logits` forms.

    Args:
        image_shape: (channels, height, width) of the images it judges.
        hidden: sizes of the hidden layers.
        dropout: dropout after each hidden layer (the paper used dropout in D).

    Input shape: (batch, *image_shape).  Output shape: (batch, 1) logits.

    Example:
        >>> Discriminator(image_shape=(1, 28, 28), hidden=(32,))(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 1])
    """

    def __init__(self, image_shape=(1, 28, 28), hidden=(512, 256), dropout: float = 0.0):
        super().__init__()
        self.image_shape = image_shape_argument("gan_discriminator", image_shape)
        check_positive("gan_discriminator", **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
        stack, width = [nn.Flatten()], math.prod(self.image_shape)
        for units in hidden:
            stack += [nn.Linear(width, units), nn.LeakyReLU(0.2)]
            if dropout:
                stack.append(nn.Dropout(dropout))
            width = units
        stack.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*stack)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_exact_image("gan_discriminator", x, self.image_shape)  # (batch, C, H, W)
        return self.net(x)  # (batch, 1)


# ---------------------------------------------------------------------------- DCGAN (Radford 2015)
def dcgan_init_(module: nn.Module) -> nn.Module:
    """The DCGAN initialisation (section 4): conv weights ~ N(0, 0.02), batch-norm weights ~ N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


class DCGANGenerator(nn.Module):
    """DCGAN generator: z → 4×4 → [ConvTranspose 4×4 stride 2 → BatchNorm → ReLU] doubling the size → tanh image.

    For 64×64 with features=64 (the paper's figure 1): 100 → 512×4×4 → 256×8×8 → 128×16×16
    → 64×32×32 → channels×64×64; for 32×32 the 512 stage is left out. For 28×28 (MNIST,
    Fashion-MNIST) the first transposed convolution has a 7×7 kernel (1×1 → 7×7), then two
    stride-2 stages: 128×7×7 → 64×14×14 → channels×28×28 — the kernels adjusted rather than a
    32-pixel image cropped, so every output pixel is one the discriminator sees. No pooling and no
    dense hidden layers, BatchNorm everywhere except the output, as the paper prescribes.
    With the defaults it has 3,576,704 parameters, as the PyTorch DCGAN tutorial's netG.

    Args:
        latent_dim: size of the noise vector z.
        image_size: 64 (the paper), 32 or 28.
        channels: channels of the generated images.
        features: channels of the last hidden stage (doubled at every earlier one).

    Input shape: (batch, latent_dim) (or (batch, latent_dim, 1, 1)).
    Output shape: (batch, channels, image_size, image_size), values in [-1, 1].

    Example:
        >>> g = DCGANGenerator()
        >>> g(torch.randn(2, 100)).shape, sum(p.numel() for p in g.parameters())
        (torch.Size([2, 3, 64, 64]), 3576704)
    """

    def __init__(self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, features: int = 64):
        super().__init__()
        check_positive("dcgan_generator", latent_dim=latent_dim, channels=channels, features=features)
        first, doublings = _check_image_size("dcgan_generator", image_size)
        self.latent_dim, self.image_shape = latent_dim, (channels, image_size, image_size)
        widths = [features * 2 ** i for i in reversed(range(doublings))]  # 64: [512, 256, 128, 64]; 28: [128, 64]
        stack = [nn.ConvTranspose2d(latent_dim, widths[0], first, 1, 0, bias=False),  # 1×1 → first×first (4 or 7)
                 nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for w_in, w_out in zip(widths, widths[1:]):
            stack += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        stack += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*stack)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = _check_latent("dcgan_generator", z, self.latent_dim)  # (batch, latent_dim)
        return self.net(z[:, :, None, None])  # (batch, latent_dim, 1, 1) → (batch, C, size, size)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator: [Conv 4×4 stride 2 → BatchNorm → LeakyReLU(0.2)] halving to 4×4 → Conv 4×4 → logit.

    The mirror of the generator: strided convolutions instead of pooling, no BatchNorm on the
    first layer (the paper found it destabilises training), LeakyReLU 0.2. With the defaults it
    has 2,765,568 parameters, as the PyTorch DCGAN tutorial's netD (minus its final sigmoid:
    here the output is a logit).

    For 28×28 the mirror of the 28-pixel generator: 28 → 14 → 7, then a 7×7 convolution to 1×1.

    Args:
        image_size: 64 (the paper), 32 or 28.
        channels: channels of the images it judges.
        features: channels of the first stage (doubled at every later one).

    Input shape: (batch, channels, image_size, image_size).  Output shape: (batch, 1) logits.

    Example:
        >>> d = DCGANDiscriminator()
        >>> d(torch.zeros(2, 3, 64, 64)).shape, sum(p.numel() for p in d.parameters())
        (torch.Size([2, 1]), 2765568)
    """

    def __init__(self, image_size: int = 64, channels: int = 3, features: int = 64):
        super().__init__()
        check_positive("dcgan_discriminator", channels=channels, features=features)
        last, doublings = _check_image_size("dcgan_discriminator", image_size)
        self.image_shape = (channels, image_size, image_size)
        widths = [features * 2 ** i for i in range(doublings)]  # 64: [64, 128, 256, 512]; 28: [64, 128]
        stack = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths, widths[1:]):
            stack += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(0.2, True)]
        stack += [nn.Conv2d(widths[-1], 1, last, 1, 0, bias=False), nn.Flatten()]  # 4×4 (7×7) → 1×1 → (batch, 1)
        self.net = nn.Sequential(*stack)
        dcgan_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_exact_image("dcgan_discriminator", x, self.image_shape)  # (batch, C, size, size)
        return self.net(x)  # (batch, 1)


# ------------------------------------------------------------------------------ the adversarial pair
class GAN(nn.Module):
    """A generator and a discriminator trained against each other by `train_step` (non-saturating GAN loss).

    `forward(z)` returns `(fake_images, discriminator(fake_images))`: the generated images and
    D's logits for them, so one call exercises (and backpropagates into) both networks.

    `train_step` brings its own two Adam optimizers (the paper's DCGAN settings by default:
    lr 2e-4, betas (0.5, 0.999)), created on the first step; create the Learner with
    `loss=None, optimizer=None` (a Learner optimizer would never be stepped). Data are the
    real images alone, e.g. `ArrayDataset(images)` (labels, if present, are ignored), scaled
    to [-1, 1] like the generator's tanh output. The optimizers' state is not part of
    `state_dict()`; `own_optimizers()` hands them to the Learner, whose checkpoints save and
    restore Adam's moments with the weights, so a resumed GAN continues where it stopped.

    Args:
        generator: maps (batch, latent_dim) noise to (batch, C, H, W) images; needs a `latent_dim` attribute.
        discriminator: maps (batch, C, H, W) images to (batch, 1) logits.
        lr: learning rate of both Adam optimizers.
        betas: Adam's betas for both.
        generator_loss: "non_saturating" (G minimises −log D(G(z)), the book's) or "minimax"
            (G minimises log(1 − D(G(z))), the paper's original game).

    Example:
        >>> gan = GAN(Generator(latent_dim=8, hidden=(16,)), Discriminator(hidden=(16,)))
        >>> fake, logits = gan(torch.randn(4, 8))
        >>> fake.shape, logits.shape
        (torch.Size([4, 1, 28, 28]), torch.Size([4, 1]))
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, lr: float = 2e-4, betas=(0.5, 0.999),
                 generator_loss: str = "non_saturating"):
        super().__init__()
        if not isinstance(getattr(generator, "latent_dim", None), int):
            raise ConfigError("The GAN's generator has no integer `latent_dim` attribute.", expected="generator.latent_dim = size of z",
                              received=f"{type(generator).__name__}", fix="Set `self.latent_dim` in the generator's __init__.")
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ConfigError("Invalid value received for argument `lr` of the GAN.", expected="a positive number",
                              received=f"lr={lr!r}", fix="Pass lr=2e-4 (the DCGAN paper's).")
        if generator_loss not in GENERATOR_LOSSES:
            raise ConfigError("Invalid value received for argument `generator_loss` of the GAN.",
                              expected=" or ".join(repr(k) for k in GENERATOR_LOSSES), received=f"generator_loss={generator_loss!r}",
                              fix="Pass generator_loss='non_saturating' (the book's) or 'minimax' (the original game).")
        _check_pair(generator, discriminator)
        self.generator, self.discriminator = generator, discriminator
        self.generator_loss = generator_loss
        self.latent_dim, self.lr, self.betas = generator.latent_dim, float(lr), tuple(betas)
        self.optimizer_g: torch.optim.Optimizer | None = None  # made by the first train_step
        self.optimizer_d: torch.optim.Optimizer | None = None

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fake = self.generator(z)  # (batch, C, H, W)
        return fake, self.discriminator(fake)  # (batch, C, H, W), (batch, 1)

    @torch.no_grad()
    def sample(self, n: int, z: torch.Tensor | None = None) -> torch.Tensor:
        """`n` generated images (batch, C, H, W) in [-1, 1], from fresh noise or the given `z` (batch norm in its current mode)."""
        device = next(self.generator.parameters()).device
        z = torch.randn(n, self.latent_dim, device=device) if z is None else z.to(device)  # (n, latent_dim)
        return self.generator(z)

    def optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """(optimizer_g, optimizer_d): two Adam optimizers, made on first use."""
        if self.optimizer_g is None:
            self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=self.betas)
            self.optimizer_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.lr, betas=self.betas)
        return self.optimizer_g, self.optimizer_d

    def own_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimizers `train_step` uses, by name, for the Learner's checkpoints."""
        optimizer_g, optimizer_d = self.optimizers()
        return {"optimizer_g": optimizer_g, "optimizer_d": optimizer_d}

    def train_step(self, batch, learner=None) -> dict:
        """One discriminator step then one generator step on a batch of real images.

        Returns:
            {"d_loss", "g_loss", "g_grad_norm", "d_real", "d_fake"}: the two losses, the norm of G's
            gradient, and D's mean probability that the real and the generated images are real
            (0.5 and 0.5 at the ideal equilibrium).
        """
        real = _real_images(batch)  # (batch, C, H, W)
        optimizer_g, optimizer_d = self.optimizers()
        z = torch.randn(real.shape[0], self.latent_dim, device=real.device)  # (batch, latent_dim)
        fake = self.generator(z)  # (batch, C, H, W)

        # D: real → 1, fake → 0. detach(): this step must not push gradients into G
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake.detach())  # (batch, 1) each
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        optimizer_d.zero_grad(set_to_none=True)
        d_loss.backward()
        optimizer_d.step()

        # G: -log D(G(z)) (or log(1 - D(G(z)))), scored by the just-updated D. D's grads from this backward are
        # cleared by its next zero_grad
        g_loss = self._generator_loss(self.discriminator(fake))
        optimizer_g.zero_grad(set_to_none=True)
        g_loss.backward()
        # the size of G's gradient: what the two generator losses differ in (Adam then rescales it per weight)
        g_grad_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in self.generator.parameters()
                                                            if p.grad is not None]))
        optimizer_g.step()
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "g_grad_norm": g_grad_norm.detach(),
                "d_real": real_logits.detach().sigmoid().mean(), "d_fake": fake_logits.detach().sigmoid().mean()}

    @torch.no_grad()
    def eval_step(self, batch, learner=None) -> dict:
        """The same numbers as `train_step` on a batch, without updating anything (`Learner.evaluate`)."""
        real = _real_images(batch)
        fake_logits = self(torch.randn(real.shape[0], self.latent_dim, device=real.device))[1]  # (batch, 1)
        real_logits = self.discriminator(real)  # (batch, 1)
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        return {"d_loss": d_loss, "g_loss": self._generator_loss(fake_logits),
                "d_real": real_logits.sigmoid().mean(), "d_fake": fake_logits.sigmoid().mean()}


    def _generator_loss(self, logits: torch.Tensor) -> torch.Tensor:
        """G's loss on D's logits (batch, 1) for generated images: −log D(G(z)), or log(1 − D(G(z))) for minimax."""
        if self.generator_loss == "minimax":  # log(1 - sigmoid(l)) = -BCE(l, 0): flat (no gradient) when D(G(z)) ≈ 0
            return -F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


GENERATOR_LOSSES = ("non_saturating", "minimax")


@torch.no_grad()
def _check_pair(generator: nn.Module, discriminator: nn.Module) -> None:
    """Refuse a generator whose images the discriminator cannot judge, naming both shapes."""
    made, judged = getattr(generator, "image_shape", None), getattr(discriminator, "image_shape", None)
    if made is not None and judged is not None:
        if tuple(made) == tuple(judged):
            return
        judged = tuple(judged)
    else:  # a custom pair without declared shapes: try one small batch (eval mode: batch norm keeps its statistics)
        modes = generator.training, discriminator.training
        generator.eval(), discriminator.eval()
        try:
            fake = generator(torch.zeros(2, generator.latent_dim, device=next(generator.parameters()).device))
            made = tuple(fake.shape[1:])
            discriminator(fake)
            return
        except (ShapeError, RuntimeError) as e:
            judged = judged or getattr(e, "expected", None) or str(e).splitlines()[0]
        finally:
            generator.train(modes[0]), discriminator.train(modes[1])
    raise ShapeError("The GAN's generator and discriminator disagree on the image shape.",
                     expected=f"generator images of the discriminator's input shape {judged}",
                     received=f"generator {type(generator).__name__} makes images of shape {tuple(made)}; "
                              f"discriminator {type(discriminator).__name__} judges images of shape {judged}",
                     fix="Build both for one image size: the same image_shape (or image_size and channels) for G and D.")


def _real_images(batch) -> torch.Tensor:
    """The images of a batch: the batch itself, or its first element ((x,) or (x, labels))."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


# ------------------------------------------------------------------------------------ registry
@register_model(example_input=lambda b: torch.randn(b, 100), output_shape=(1, 28, 28), test_kwargs={"hidden": (32, 64)})
def gan_generator(latent_dim: int = 100, image_shape=(1, 28, 28), hidden=(256, 512, 1024)) -> Generator:
    """Fully connected GAN generator (Goodfellow et al. 2014): noise (batch, latent_dim) → tanh image (batch, C, H, W).

    Example:
        >>> gan_generator()(torch.randn(2, 100)).shape
        torch.Size([2, 1, 28, 28])
    """
    return Generator(latent_dim, image_shape, hidden)


@register_model(example_input=(1, 28, 28), output_shape=(1,), test_kwargs={"hidden": (32,)})
def gan_discriminator(image_shape=(1, 28, 28), hidden=(512, 256), dropout: float = 0.0) -> Discriminator:
    """Fully connected GAN discriminator (Goodfellow et al. 2014): image (batch, C, H, W) → logit (batch, 1).

    Example:
        >>> gan_discriminator()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 1])
    """
    return Discriminator(image_shape, hidden, dropout)


@register_model(example_input=lambda b: torch.randn(b, 100), output_shape=(3, 64, 64), test_kwargs={"features": 8})
def dcgan_generator(latent_dim: int = 100, image_size: int = 64, channels: int = 3, features: int = 64) -> DCGANGenerator:
    """DCGAN generator (Radford et al. 2015): noise (batch, latent_dim) → transposed convs → tanh image (batch, C, 64, 64).

    Example:
        >>> dcgan_generator(image_size=32, channels=1)(torch.randn(2, 100)).shape
        torch.Size([2, 1, 32, 32])
    """
    return DCGANGenerator(latent_dim, image_size, channels, features)


@register_model(example_input=(3, 64, 64), output_shape=(1,), test_kwargs={"features": 8})
def dcgan_discriminator(image_size: int = 64, channels: int = 3, features: int = 64) -> DCGANDiscriminator:
    """DCGAN discriminator (Radford et al. 2015): image (batch, C, 64, 64) → strided convs → logit (batch, 1).

    Example:
        >>> dcgan_discriminator(image_size=32, channels=1)(torch.zeros(2, 1, 32, 32)).shape
        torch.Size([2, 1])
    """
    return DCGANDiscriminator(image_size, channels, features)


@register_model(example_input=lambda b: torch.randn(b, 100), output_shape=(1, 28, 28),
                test_kwargs={"generator_hidden": (32,), "discriminator_hidden": (32,)})
def gan(latent_dim: int = 100, image_shape=(1, 28, 28), generator_hidden=(256, 512, 1024),
        discriminator_hidden=(512, 256), dropout: float = 0.0, lr: float = 2e-4, betas=(0.5, 0.999),
        generator_loss: str = "non_saturating") -> GAN:
    """Fully connected GAN (Goodfellow et al. 2014), trainable with its own train_step: z → (images, D logits).

    Example:
        >>> fake, logits = gan()(torch.randn(2, 100))
        >>> fake.shape, logits.shape
        (torch.Size([2, 1, 28, 28]), torch.Size([2, 1]))
    """
    return GAN(Generator(latent_dim, image_shape, generator_hidden), Discriminator(image_shape, discriminator_hidden, dropout),
               lr=lr, betas=betas, generator_loss=generator_loss)


@register_model(example_input=lambda b: torch.randn(b, 100), output_shape=(3, 64, 64), test_kwargs={"features": 8})
def dcgan(latent_dim: int = 100, image_size: int = 64, channels: int = 3, features: int = 64, lr: float = 2e-4,
          betas=(0.5, 0.999), generator_loss: str = "non_saturating") -> GAN:
    """DCGAN (Radford et al. 2015), trainable with its own train_step: z → (images, D logits).

    Example:
        >>> fake, logits = dcgan(image_size=32, features=8)(torch.randn(2, 100))
        >>> fake.shape, logits.shape
        (torch.Size([2, 3, 32, 32]), torch.Size([2, 1]))
    """
    return GAN(DCGANGenerator(latent_dim, image_size, channels, features), DCGANDiscriminator(image_size, channels, features),
               lr=lr, betas=betas, generator_loss=generator_loss)
