"""The VAE's test ELBO on binarised MNIST against the published figure for the same latent size.

    TUJIE_DATA=/work/shared/data .venv/bin/python bench/vae_elbo.py --latent 2 20 --epochs 30

Trains tujie's VAE (784-400-latent-400-784, the PyTorch example's sizes; Kingma & Welling 2014
used 500 hidden units) with Adam on dynamically binarised MNIST (all 60,000 training images),
and scores the 10,000 test images binarised once (seed 1): the ELBO in nats per image, z
sampled from q(z|x) (10 draws), KL exact. Prints the figure beside the reference and the gap.
"""

from __future__ import annotations

import argparse
import time

import torch

import tujie as tj
from tujie.generative.autoencoding import binarize, train_vae, vae_elbo
from tujie.models.autoencoder import VAE

# Published test ELBOs (nats per image), read off Kingma & Welling (2014) Fig. 2 (to be checked against the paper):
# N_z = 20 ends near -100; the figure has no 2-D model, and its nearest, N_z = 3, ends near -125 (not the same setting).
REFERENCE = {20: -100.0, 3: -125.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latent", type=int, nargs="+", default=[2, 20])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=400)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = tj.datasets.load("mnist", validation_split=0.0)
    x, x_test = data.train.x, data.test.x  # (60000, 1, 28, 28), (10000, 1, 28, 28) in [0, 1]
    for latent in args.latent:
        tj.seed_everything(0)
        model = VAE(hidden=(args.hidden,), latent_dim=latent)
        start = time.perf_counter()
        train_vae(model, x, x_test, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=0,
                            on_epoch=lambda r: print(f"  latent {latent} epoch {r['epoch']:3d}: train ELBO {r['elbo']:8.2f}  "
                                                     f"test ELBO {r['test_elbo']:8.2f} (recon {r['test_recon']:.2f}, KL {r['test_kl']:.2f})  "
                                                     f"{r['seconds']:.1f}s", flush=True))
        seconds = time.perf_counter() - start
        final = vae_elbo(model, binarize(x_test, 1), samples=10, seed=0)
        ref = REFERENCE.get(latent)
        gap = "" if ref is None else f"  reference {ref:.1f}  gap {final['elbo'] - ref:+.2f} nats"
        print(f"latent {latent}: test ELBO {final['elbo']:.2f} nats (recon {final['recon']:.2f}, KL {final['kl']:.2f}) "
              f"after {args.epochs} epochs, {seconds:.0f}s{gap}", flush=True)


if __name__ == "__main__":
    main()
