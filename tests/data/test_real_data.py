"""The real files in $TUJIE_DATA (see shared/data/SOURCES.md for the reference values)."""

import pytest
import torch

from tujie.data import load

pytestmark = pytest.mark.data


def test_mnist_counts_labels_and_pixel_mean():
    mnist = load("mnist")
    assert mnist.train.x.shape == (60000, 1, 28, 28) and mnist.test.x.shape == (10000, 1, 28, 28)
    assert mnist.train.y[:5].tolist() == [5, 0, 4, 1, 9] and mnist.test.y[:5].tolist() == [7, 2, 1, 0, 4]
    assert mnist.train.x.mean().item() == pytest.approx(0.1307, abs=5e-4)
    assert mnist.train.x.std().item() == pytest.approx(0.3081, abs=5e-4)
    assert mnist.classes == [str(d) for d in range(10)]


def test_mnist_validation_split():
    bundle = load("mnist", validation_split=0.1, limit=20000)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (18000, 2000, 10000)


def test_fashion_mnist_counts_and_classes():
    bundle = load("fashion-mnist")
    assert (len(bundle.train), len(bundle.test)) == (60000, 10000)
    assert torch.bincount(bundle.train.y).tolist() == [6000] * 10
    assert torch.bincount(bundle.test.y).tolist() == [1000] * 10
    assert bundle.train.y[:5].tolist() == [9, 0, 0, 3, 0] and bundle.classes[9] == "Ankle boot"


def test_cifar10_one_batch_present():
    bundle = load("cifar10")
    assert bundle.train.x.shape == (10000, 3, 32, 32) and bundle.test.x.shape == (10000, 3, 32, 32)
    assert bundle.train.y[:5].tolist() == [6, 9, 9, 4, 1] and bundle.test.y[:5].tolist() == [3, 8, 8, 0, 6]
    assert "1 of 5" in bundle.notes[0] and "data_batch_1" in bundle.notes[0]
    assert bundle.classes[:3] == ["airplane", "automobile", "bird"]
    assert torch.bincount(bundle.test.y).tolist() == [1000] * 10
    test_mean = bundle.test.x.mean((0, 2, 3)).tolist()  # SOURCES.md: 0.4942 / 0.4851 / 0.4504
    assert test_mean == pytest.approx([0.4942, 0.4851, 0.4504], abs=5e-4)
