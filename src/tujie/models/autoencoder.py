"""Autoencoders: the dense and the convolutional autoencoder, and the variational autoencoder (Kingma & Welling 2014).

An autoencoder squeezes its input through a small code and rebuilds it (seeds/001: 编码器 →
潜在表示 → 解码器, minimising the reconstruction error). The plain ones train like any model,
with the image as its own target:

    >>> import torch, tujie as tj
    >>> images = torch.rand(64, 1, 28, 28)
    >>> learner = tj.Learner(autoencoder(code_size=8), loss="mse", optimizer="adam", metrics=())
    >>> history = learner.fit((images, images), epochs=1, batch_size=32, verbose=0)

The VAE's loss needs its mean and log-variance as well, so it brings its own `train_step`,
which uses the Learner's optimizer (create the Learner with `loss=None`):

    >>> from tujie.data.arrays import ArrayDataset
    >>> learner = tj.Learner(vae(hidden=(64,), latent_dim=4), loss=None, optimizer="adam")
    >>> history = learner.fit(ArrayDataset(images), epochs=1, batch_size=32, verbose=0)
    >>> sorted(k for k in history.epochs[-1] if k in ("loss", "recon", "kl"))
    ['kl', 'loss', 'recon']
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, DataError, ShapeError
from ._common import check_exact_image, check_image_input, check_positive, image_shape_argument
from ._registry import register_model


def _dense_stack(sizes) -> list[nn.Module]:
    """[Linear → ReLU] between consecutive sizes, the last Linear left without activation."""
    stack = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        stack.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            stack.append(nn.ReLU())
    return stack


# ------------------------------------------------------------------------------ dense autoencoder
class Autoencoder(nn.Module):
    """Dense autoencoder: flatten → [Linear → ReLU] → Linear code → [Linear → ReLU] → Linear → sigmoid → image.

    The decoder mirrors the encoder's hidden sizes. The sigmoid output suits images scaled to
    [0, 1], trained with "mse" or "bce" against the input itself.

    Args:
        input_shape: (channels, height, width) of the images.
        hidden: encoder hidden sizes (the decoder uses them in reverse).
        code_size: size of the code (the bottleneck).

    Input shape: (batch, *input_shape).  Output shape: (batch, *input_shape), values in (0, 1).

    Example:
        >>> model = Autoencoder(code_size=16)
        >>> x = torch.rand(2, 1, 28, 28)
        >>> model.encode(x).shape, model(x).shape
        (torch.Size([2, 16]), torch.Size([2, 1, 28, 28]))
    """

    def __init__(self, input_shape=(1, 28, 28), hidden=(128, 64), code_size: int = 32):
        super().__init__()
        self.input_shape = image_shape_argument("autoencoder", input_shape, "input_shape")
        check_positive("autoencoder", code_size=code_size, **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
        sizes = [math.prod(self.input_shape), *hidden, code_size]  # 784 → 128 → 64 → 32
        self.encoder = nn.Sequential(nn.Flatten(), *_dense_stack(sizes))
        self.decoder = nn.Sequential(*_dense_stack(sizes[::-1]), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_exact_image("autoencoder", x, self.input_shape, "input_shape")  # (batch, C, H, W)
        return self.encoder(x)  # (batch, code_size)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code).view(code.shape[0], *self.input_shape)  # (batch, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


# ------------------------------------------------------------------------ convolutional autoencoder
class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder: [Conv 3×3 stride 2 → ReLU] halving the size, then the mirror in transposed convs → sigmoid.

    On 28×28 with filters (16, 32): 1×28×28 → 16×14×14 → 32×7×7 (the code) → 16×14×14 → 1×28×28.
    With `code_size` the feature map is also squeezed through a Linear bottleneck of that size.

    Args:
        in_channels: image channels.
        image_size: side of the square images (28 or 32 usual); divisible by 2 ** len(filters).
        filters: channels of the encoder's stages.
        code_size: None keeps the last feature map as the code; an integer adds a dense code of that size.

    Input shape: (batch, in_channels, image_size, image_size).  Output shape: the same, values in (0, 1).

    Example:
        >>> ConvAutoencoder(image_size=32, in_channels=3)(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 3, 32, 32])
        >>> ConvAutoencoder(code_size=10).encode(torch.rand(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, filters=(16, 32), code_size: int | None = None):
        super().__init__()
        check_positive("conv_autoencoder", in_channels=in_channels, image_size=image_size,
                       **{f"filters[{i}]": f for i, f in enumerate(filters)}, **({} if code_size is None else {"code_size": code_size}))
        if not filters or image_size % 2 ** len(filters):
            raise ConfigError("Invalid value received for argument `image_size` of model 'conv_autoencoder'.",
                              expected=f"a size divisible by 2 ** len(filters) = {2 ** len(filters)} (each stage halves it)",
                              received=f"image_size={image_size}, filters={tuple(filters)}",
                              fix="Use fewer filter stages (2 for 28×28), or pad the images.")
        self.in_channels, self.image_size = in_channels, image_size
        side = image_size // 2 ** len(filters)
        self.feature_shape = (filters[-1], side, side)  # 28×28, (16, 32): (32, 7, 7)
        widths = [in_channels, *filters]
        down, up = [], []
        for w_in, w_out in zip(widths, widths[1:]):
            down += [nn.Conv2d(w_in, w_out, 3, stride=2, padding=1), nn.ReLU()]  # halves H and W
        for w_in, w_out in zip(widths[::-1], widths[::-1][1:]):
            up += [nn.ConvTranspose2d(w_in, w_out, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]  # doubles them
        up[-1] = nn.Sigmoid()
        if code_size is not None:  # a dense bottleneck between the two halves
            down += [nn.Flatten(), nn.Linear(math.prod(self.feature_shape), code_size)]
            up = [nn.Linear(code_size, math.prod(self.feature_shape)), nn.ReLU(), nn.Unflatten(1, self.feature_shape), *up]
        self.encoder, self.decoder = nn.Sequential(*down), nn.Sequential(*up)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input("conv_autoencoder", x, self.in_channels, self.image_size)
        if x.shape[2:] != (self.image_size, self.image_size):
            raise ShapeError("Model 'conv_autoencoder' received an input of the wrong shape.",
                             expected=f"(batch, {self.in_channels}, {self.image_size}, {self.image_size})",
                             received=f"input of shape {tuple(x.shape)}",
                             fix=f"Resize the images, or build the model with image_size={x.shape[2]} (square images).")
        return self.encoder(x)  # (batch, *feature_shape) or (batch, code_size)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code)  # (batch, C, size, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


# --------------------------------------------------------------------- variational autoencoder
class VAE(nn.Module):
    """Variational autoencoder (Kingma & Welling 2014): an encoder gives q(z|x) = N(mu, exp(logvar)), a decoder p(x|z).

    Training maximises the evidence lower bound, i.e. minimises per image

        reconstruction error(x, decoder(z)) + KL(N(mu, sigma^2) || N(0, I)),   z = mu + sigma * eps

    where the reparameterisation z = mu + sigma * eps (eps ~ N(0, I)) lets gradients flow
    through the sampling. The KL term of two Gaussians has the closed form
    -1/2 * sum(1 + logvar - mu^2 - exp(logvar)) (the paper's appendix B). In eval mode z = mu,
    so reconstructions are deterministic.

    Args:
        input_shape: (channels, height, width) of the images, values in [0, 1].
        hidden: encoder hidden sizes (the decoder uses them in reverse); the paper's MNIST model had 500 units,
            the PyTorch example 400.
        latent_dim: size of z (20 in the PyTorch example).
        reconstruction: "bce" (Bernoulli decoder, images in [0, 1]) or "mse" (Gaussian decoder, summed squared error).
        beta: weight of the KL term (1 is the VAE; beta-VAE uses more).

    Input shape: (batch, *input_shape).
    Output: (reconstruction (batch, *input_shape) in (0, 1), mu (batch, latent_dim), logvar (batch, latent_dim)).

    Example:
        >>> model = VAE(latent_dim=4)
        >>> x = torch.rand(3, 1, 28, 28)
        >>> recon, mu, logvar = model(x)
        >>> recon.shape, mu.shape, sorted(model.loss(x, recon, mu, logvar))
        (torch.Size([3, 1, 28, 28]), torch.Size([3, 4]), ['kl', 'loss', 'recon'])
        >>> model.sample(5).shape
        torch.Size([5, 1, 28, 28])
    """

    def __init__(self, input_shape=(1, 28, 28), hidden=(400,), latent_dim: int = 20, reconstruction: str = "bce",
                 beta: float = 1.0):
        super().__init__()
        self.input_shape = image_shape_argument("vae", input_shape, "input_shape")
        check_positive("vae", latent_dim=latent_dim, **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
        if reconstruction not in ("bce", "mse"):
            raise ConfigError("Invalid value received for argument `reconstruction` of model 'vae'.", expected='"bce" or "mse"',
                              received=f"reconstruction={reconstruction!r}", fix='Pass "bce" for images in [0, 1].')
        self.latent_dim, self.reconstruction, self.beta = latent_dim, reconstruction, float(beta)
        sizes = [math.prod(self.input_shape), *hidden]  # 784 → 400
        self.encoder = nn.Sequential(nn.Flatten(), *_dense_stack(sizes), nn.ReLU())
        self.to_mu, self.to_logvar = nn.Linear(sizes[-1], latent_dim), nn.Linear(sizes[-1], latent_dim)
        self.decoder = nn.Sequential(*_dense_stack([latent_dim, *sizes[::-1]]), nn.Sigmoid())  # 20 → 400 → 784

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mu and logvar of q(z|x), each (batch, latent_dim)."""
        check_exact_image("vae", x, self.input_shape, "input_shape")  # (batch, C, H, W)
        h = self.encoder(x)  # (batch, hidden[-1])
        return self.to_mu(h), self.to_logvar(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps while training; mu in eval mode."""
        if not self.training:
            return mu
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # (batch, latent_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ShapeError("Model 'vae' received a latent code of the wrong shape.", expected=f"(batch, {self.latent_dim})",
                             received=f"input of shape {tuple(z.shape)}", fix=f"Pass torch.randn(batch, {self.latent_dim}).")
        return self.decoder(z).view(z.shape[0], *self.input_shape)  # (batch, C, H, W)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)  # (batch, latent_dim) each
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def loss(self, x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> dict:
        """The negative ELBO per image (summed over pixels and latent units, averaged over the batch).

        Returns:
            {"loss": recon + beta * kl, "recon": reconstruction error, "kl": KL divergence}, scalar tensors.
        """
        n = x.shape[0]
        if self.reconstruction == "bce":
            low, high = torch.aminmax(x.detach())
            if low < 0 or high > 1:  # BCE of targets outside [0, 1] is meaningless (and can go negative)
                raise DataError("The VAE's BCE reconstruction loss needs images in [0, 1].", expected="0 <= x <= 1",
                                received=f"values from {low.item():.3g} to {high.item():.3g}",
                                fix='Scale the images to [0, 1] (x / 255), or build the VAE with reconstruction="mse".')
            recon_error = F.binary_cross_entropy(recon, x, reduction="sum") / n
        else:
            recon_error = F.mse_loss(recon, x, reduction="sum") / n
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / n
        return {"loss": recon_error + self.beta * kl, "recon": recon_error, "kl": kl}

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """`n` images (n, *input_shape) decoded from z ~ N(0, I)."""
        device = self.to_mu.weight.device
        return self.decode(torch.randn(n, self.latent_dim, device=device))

    def train_step(self, batch, learner) -> dict:
        """One step of the Learner's optimizer on the negative ELBO; returns {"loss", "recon", "kl"}.

        The batch is the images alone or (images, labels); labels are ignored.
        """
        if learner.optimizer is None:
            raise ConfigError("The VAE's train_step uses the Learner's optimizer, and the Learner has none.",
                              expected='Learner(vae, loss=None, optimizer="adam")', received="optimizer=None",
                              fix='Create the Learner with optimizer="adam" (or any optimizer).')
        x = batch[0] if isinstance(batch, (tuple, list)) else batch  # (batch, C, H, W)
        losses = self.loss(x, *self(x))
        learner.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        learner.optimizer.step()
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def eval_step(self, batch, learner=None) -> dict:
        """{"loss", "recon", "kl"} on a batch, without updating (used by `Learner.evaluate`)."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.loss(x, *self(x))


# ------------------------------------------------------------------------------------ registry
@register_model(example_input=(1, 28, 28), output_shape=(1, 28, 28))
def autoencoder(input_shape=(1, 28, 28), hidden=(128, 64), code_size: int = 32) -> Autoencoder:
    """Dense autoencoder: image (batch, C, H, W) → code (batch, code_size) → sigmoid reconstruction of the same shape.

    Example:
        >>> autoencoder()(torch.rand(2, 1, 28, 28)).shape
        torch.Size([2, 1, 28, 28])
    """
    return Autoencoder(input_shape, hidden, code_size)


@register_model(example_input=(1, 28, 28), output_shape=(1, 28, 28))
def conv_autoencoder(in_channels: int = 1, image_size: int = 28, filters=(16, 32), code_size: int | None = None) -> ConvAutoencoder:
    """Convolutional autoencoder (28×28 or 32×32): strided convs down, transposed convs up, sigmoid reconstruction.

    Example:
        >>> conv_autoencoder(image_size=32, in_channels=3)(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 3, 32, 32])
    """
    return ConvAutoencoder(in_channels, image_size, filters, code_size)


@register_model(example_input=(1, 28, 28), output_shape=(1, 28, 28))
def vae(input_shape=(1, 28, 28), hidden=(400,), latent_dim: int = 20, reconstruction: str = "bce", beta: float = 1.0) -> VAE:
    """Variational autoencoder (Kingma & Welling 2014): image → (reconstruction, mu, logvar); train with its train_step.

    Example:
        >>> recon, mu, logvar = vae()(torch.rand(2, 1, 28, 28))
        >>> recon.shape, mu.shape, logvar.shape
        (torch.Size([2, 1, 28, 28]), torch.Size([2, 20]), torch.Size([2, 20]))
    """
    return VAE(input_shape, hidden, latent_dim, reconstruction, beta)
