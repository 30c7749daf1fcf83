"""Losses under the names Keras users reach for: `tj.losses.SparseCategoricalCrossentropy(from_logits=True)`.

They live in `tujie.train.losses`; this module gathers them where `keras.losses` keeps them.
As in Keras, `from_logits=False` is the default: the model ends in a softmax (or sigmoid) and
the loss reads probabilities. Unlike Keras, and like every torch loss, they take
`(output, target)`: the model's output first. The lower-case functions are losses too:
`model.compile(loss=tj.losses.sparse_categorical_crossentropy)`.

Example:
    >>> import torch, tujie as tj
    >>> probs = torch.tensor([[0.5, 0.5]])
    >>> round(tj.losses.sparse_categorical_crossentropy(probs, torch.tensor([1])).item(), 4)  # -log 0.5
    0.6931
"""

from __future__ import annotations

from torch.nn import HuberLoss as Huber, L1Loss as MeanAbsoluteError, MSELoss as MeanSquaredError

from .train.losses import (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
                           binary_crossentropy, categorical_crossentropy, get_loss, sparse_categorical_crossentropy)


def get(identifier, **options):
    """Keras' `losses.get`: a loss module for a name ("sparse_categorical_crossentropy", "mse", ...) or the loss itself.

    Example:
        >>> get("SparseCategoricalCrossentropy", from_logits=True)
        SparseCategoricalCrossentropy(from_logits=True)
    """
    return get_loss(identifier, **options)


__all__ = ["SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
           "MeanAbsoluteError", "Huber", "sparse_categorical_crossentropy", "categorical_crossentropy",
           "binary_crossentropy", "get"]
