"""Training GANs side by side: epochs of `GAN.train_step`, fixed-noise sample strips, collapse detection, checkpoints.

Several variants of one GAN (the book's non-saturating generator loss and the original minimax
one) train in step, epoch by epoch, from the same initial weights and each with its own random
stream, so the order they train in changes nothing and a comparison is fair. One checkpoint
holds every variant's generator, discriminator, both Adam optimizers and random state, so a
run resumes where it stopped.

Example:
    >>> import torch
    >>> from tujie.models.gan import GAN, Discriminator, Generator
    >>> torch.manual_seed(0) is not None
    True
    >>> pair = GAN(Generator(latent_dim=4, image_shape=(1, 8, 8), hidden=(16,)), Discriminator((1, 8, 8), hidden=(16,)))
    >>> pack = GANPack.from_template(pair, ["non_saturating", "minimax"], seed=0)
    >>> records = pack.train_epoch(torch.rand(64, 1, 8, 8) * 2 - 1, batch_size=32)
    >>> sorted(records), sorted(records["minimax"])
    (['minimax', 'non_saturating'], ['d_fake', 'd_loss', 'd_real', 'g_grad_norm', 'g_loss'])
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
from torch import nn

from ..models.gan import GAN
from ..train.checkpoint import load_checkpoint, save_checkpoint

#: The collapse rule: D has won when, over a whole epoch, D(G(z)) < this and D(x) > 1 − this.
COLLAPSE_THRESHOLD = 0.05


class GANPack(nn.Module):
    """GAN variants trained in step (one `GAN` per variant name), each with its own random stream.

    Args:
        gans: {variant name: GAN}.
        seed: seeds each variant's random stream (noise and batch order): the same for all variants.
    """

    def __init__(self, gans: dict[str, GAN], seed: int = 0):
        super().__init__()
        self.gans = nn.ModuleDict(gans)
        self.rng = {name: torch.Generator().manual_seed(seed) for name in gans}  # one stream each, same start

    @classmethod
    def from_template(cls, template: GAN, generator_losses, seed: int = 0) -> GANPack:
        """One deep copy of `template` per generator loss: identical initial weights for every variant."""
        gans = {}
        for loss in generator_losses:
            gan = copy.deepcopy(template)
            gan.generator_loss = loss
            gans[loss] = gan
        return cls(gans, seed)

    def train_epoch(self, images: torch.Tensor, batch_size: int, trace_every: int = 0) -> dict[str, dict]:
        """One epoch over `images` (n, C, H, W) in [-1, 1] for every variant: {variant: epoch means of its logs}.

        With `trace_every` > 0 each variant's record also has "trace": the logs' means over every
        `trace_every` batches (the early steps, where the two generator losses part, are lost in epoch means).
        """
        records = {}
        outer = torch.get_rng_state()
        try:
            for name, gan in self.gans.items():
                torch.set_rng_state(self.rng[name].get_state())  # the variant's own stream: train_step draws z from it
                gan.train()
                order = torch.randperm(len(images))  # (n,)
                sums: dict[str, float] = {}
                chunk: dict[str, float] = {}
                trace, batches = [], 0
                for index in order.split(batch_size):
                    if len(index) < 2:  # batch norm cannot train on one image
                        continue
                    logs = {k: float(v) for k, v in gan.train_step(images[index]).items()}
                    batches += 1
                    for key, value in logs.items():
                        sums[key] = sums.get(key, 0.0) + value
                        chunk[key] = chunk.get(key, 0.0) + value
                    if trace_every and batches % trace_every == 0:
                        trace.append({"batch": batches, **{k: v / trace_every for k, v in chunk.items()}})
                        chunk = {}
                self.rng[name].set_state(torch.get_rng_state())
                records[name] = {k: v / max(batches, 1) for k, v in sums.items()}
                if trace_every:
                    records[name]["trace"] = trace
        finally:
            torch.set_rng_state(outer)
        return records

    @torch.no_grad()
    def samples(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each variant's images (batch, C, H, W) in [-1, 1] for the noise z (batch, latent_dim), in eval mode."""
        out = {}
        for name, gan in self.gans.items():
            gan.eval()
            out[name] = gan.sample(len(z), z)
            gan.train()
        return out

    @torch.no_grad()
    def many_samples(self, name: str, n: int, seed: int, batch_size: int = 1000) -> torch.Tensor:
        """n images (n, C, H, W) in [-1, 1] from variant `name`, from seeded noise (for FID)."""
        gan = self.gans[name]
        gan.eval()
        g = torch.Generator().manual_seed(seed)
        parts = [gan.sample(len(z), z) for z in torch.randn(n, gan.latent_dim, generator=g).split(batch_size)]
        gan.train()
        return torch.cat(parts)

    # ------------------------------------------------------------------------ checkpoints
    def optimizers(self) -> dict:
        return {f"{name}.{key}": opt for name, gan in self.gans.items() for key, opt in gan.own_optimizers().items()}

    def save(self, path, epoch: int, state: dict | None = None) -> Path:
        """Every variant's G, D, both optimizers and random stream, with the loop state, to a safetensors file."""
        return save_checkpoint(path, self, state={"epoch": epoch, **(state or {})}, generators=self.rng,
                               optimizers=self.optimizers())

    def load(self, path) -> dict:
        """Restore what `save` wrote (optimizers made first so Adam's moments have somewhere to go); returns the state."""
        return load_checkpoint(path, self, generators=self.rng, optimizers=self.optimizers())


def collapse_epoch(history: list[dict], threshold: float = COLLAPSE_THRESHOLD) -> int | None:
    """The first epoch from which D has won for good (D(G(z)) < threshold and D(x) > 1 − threshold to the end), else None.

    Example:
        >>> collapse_epoch([{"epoch": 1, "d_fake": 0.3, "d_real": 0.7}, {"epoch": 2, "d_fake": 0.01, "d_real": 0.99}])
        2
        >>> collapse_epoch([{"epoch": 1, "d_fake": 0.01, "d_real": 0.99}, {"epoch": 2, "d_fake": 0.3, "d_real": 0.6}]) is None
        True
    """
    first = None
    for record in history:
        won = record.get("d_fake", math.nan) < threshold and record.get("d_real", math.nan) > 1 - threshold
        first = (first or record.get("epoch")) if won else None
    return first


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """tanh outputs in [-1, 1] → [0, 1] (for FID and pictures)."""
    return ((images.clamp(-1, 1) + 1) / 2).float()
