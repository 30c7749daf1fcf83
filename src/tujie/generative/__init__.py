"""Generative models at work (chapter 10): GAN and DCGAN training, autoencoders, the VAE,
anomaly scores from reconstructions, and sample quality (a classifier-feature FID).

A domain floor: it uses the toolkit (layers, models, train, plots) and never the top
(kinds, runner, report, cli). Import the submodules directly.
"""
