"""The textbook's fundamentals made visible (chapters 1–4): a scratch autodiff engine, gradient
checks, computation graphs, activations and losses, deep-network gradients, optimizer paths.

A domain floor: it uses the toolkit (layers, models, train, plots) and never the top
(kinds, runner, report, cli). Import the submodules directly.
"""
