"""Batch augmentation with kornia: built from recipe names, applied to training batches only."""

import doctest

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.data import augment
from tujie.data.augment import build_augmentation
from tujie.errors import ConfigError


def test_flip_and_crop_change_training_images_but_keep_shape():
    torch.manual_seed(0)
    aug = build_augmentation(["horizontal_flip", {"random_crop": {"size": 8, "padding": 2}}])
    x = torch.rand(16, 3, 8, 8)
    y = aug(x)
    assert y.shape == x.shape and not torch.equal(x, y)
    flipped = build_augmentation([{"horizontal_flip": {"p": 1.0}}])(x)
    torch.testing.assert_close(flipped, x.flip(-1))


def test_unknown_or_bad_augmentation_is_explained():
    with pytest.raises(ConfigError, match="horizontal_flip"):
        build_augmentation(["horizontal_flp"])
    with pytest.raises(ConfigError, match="random_crop"):
        build_augmentation([{"random_crop": {"sise": 3}}])
    assert build_augmentation([]) is None


def test_learner_augments_training_batches_only():
    seen = {"train": 0, "eval": 0}

    class Count(nn.Module):
        def forward(self, x):
            seen["train"] += 1
            return x

    learner = tj.Learner(nn.Linear(4, 2), optimizer="sgd", device="cpu", augment=Count())
    data = (torch.randn(32, 4), torch.randint(0, 2, (32,)))
    learner.fit(data, epochs=2, batch_size=8, validation_data=data, verbose=0)
    assert seen["train"] == 8
    learner.evaluate(data, verbose=0)
    learner.predict(data[0])
    assert seen["train"] == 8


def test_docstring_examples():
    assert doctest.testmod(augment, extraglobs={"torch": torch}).failed == 0
