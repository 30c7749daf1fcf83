"""MNIST-style IDX parsing and CIFAR-10 batches, on tiny files written in tmp_path."""

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch

from tujie.data import cache_dir, load, vision
from tujie.errors import ChecksumError, DataError, DataNotFoundError

from .fakes import cifar_images, sha256, write_cifar_batch, write_cifar_meta, write_idx, write_mnist_like


# ---- IDX -----------------------------------------------------------------------------------

def test_read_idx_parses_header_and_values(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(vision.read_idx(write_idx(tmp_path / "i.gz", images), ndim=3), images)
    labels = np.array([7, 2, 1], dtype=np.uint8)
    assert np.array_equal(vision.read_idx(write_idx(tmp_path / "l.gz", labels), ndim=1), labels)


def test_read_idx_rejects_wrong_magic_naming_the_file(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="magic number 0x00000803") as info:
        vision.read_idx(path, ndim=3)  # a labels file where images are expected
    assert str(path) in str(info.value)


@pytest.mark.parametrize("damage", ["short body", "cut gzip", "not gzip"])
def test_read_idx_rejects_damaged_files_naming_the_file(tmp_path, damage):
    path = write_idx(tmp_path / "images.gz", np.zeros((4, 28, 28), np.uint8))
    if damage == "short body":
        path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    elif damage == "cut gzip":
        path.write_bytes(path.read_bytes()[:-20])
    else:
        path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(DataError) as info:
        vision.read_idx(path, ndim=3)
    assert str(path) in str(info.value)


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """Tiny MNIST files under tmp_path/mnist, with the loader's sha256 table pointing at them."""
    written = write_mnist_like(tmp_path / "mnist", n_train=30, n_test=10)
    for name, digest in written["sha256"].items():
        monkeypatch.setitem(vision.MNIST_SHA256, name, digest)
    return tmp_path, written["arrays"]


def test_mnist_loader_reads_tiny_files(tiny_mnist):
    data_dir, arrays = tiny_mnist
    bundle = load("mnist", data_dir=data_dir, normalize=None)
    raw_train = torch.tensor(arrays["train-images-idx3-ubyte.gz"]).unsqueeze(1).float()
    assert bundle.train.x.shape == (30, 1, 28, 28) and bundle.train.x.dtype == torch.float32
    assert torch.equal(bundle.train.x, raw_train)
    assert bundle.train.y.dtype == torch.int64
    assert bundle.test.y.tolist() == arrays["t10k-labels-idx1-ubyte.gz"].tolist()
    assert bundle.classes == [str(d) for d in range(10)] and bundle.num_classes == 10
    assert bundle.input_shape == (1, 28, 28) and bundle.task == "classification"
    assert "30 training and 10 test images" in bundle.notes[0]


@pytest.mark.parametrize("normalize", ["unit", "standard", None])
def test_mnist_normalisation_values_and_denormalize_round_trip(tiny_mnist, normalize):
    data_dir, arrays = tiny_mnist
    bundle = load("mnist", data_dir=data_dir, normalize=normalize)
    raw = torch.tensor(arrays["train-images-idx3-ubyte.gz"]).unsqueeze(1).float()  # (30, 1, 28, 28), 0..255
    expected = {"unit": raw / 255, "standard": (raw / 255 - 0.1307) / 0.3081, None: raw}[normalize]
    assert torch.allclose(bundle.train.x, expected, atol=1e-5)
    assert (bundle.mean, bundle.std) == (((0.1307,), (0.3081,)) if normalize == "standard" else (None, None))
    assert torch.allclose(bundle.denormalize(bundle.train.x), raw / 255, atol=1e-5)
    assert torch.allclose(bundle.denormalize(bundle.train.x[0]), raw[0] / 255, atol=1e-5)  # one sample (C, H, W)


def test_mnist_files_with_other_content_fail_the_official_checksum(tmp_path):
    write_mnist_like(tmp_path / "mnist")
    with pytest.raises(ChecksumError) as info:
        load("mnist", data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message
    assert any(digest in message for digest in vision.MNIST_SHA256.values())


def test_mnist_missing_tries_the_official_mirrors_then_explains(monkeypatch):
    tried = []

    def offline(url, timeout):
        tried.append(url)
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataNotFoundError) as info:
        load("mnist")
    assert tried == [m + "train-images-idx3-ubyte.gz" for m in vision.MNIST_MIRRORS]
    assert "TUJIE_DATA" in str(info.value) and "train-images-idx3-ubyte.gz" in str(info.value)


def test_mnist_mismatched_image_and_label_counts(tmp_path, monkeypatch):
    written = write_mnist_like(tmp_path / "mnist", n_train=30)
    labels = write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", np.zeros(29, np.uint8))
    for name, digest in {**written["sha256"], labels.name: sha256(labels)}.items():
        monkeypatch.setitem(vision.MNIST_SHA256, name, digest)
    with pytest.raises(DataError, match="do not belong together"):
        load("mnist", data_dir=tmp_path)


def test_fashion_mnist_alias_and_class_names(tmp_path, monkeypatch):
    written = write_mnist_like(tmp_path / "fashion-mnist", n_train=12, n_test=4)
    for name, digest in written["sha256"].items():
        monkeypatch.setitem(vision.FASHION_MNIST_SHA256, name, digest)
    bundle = load("fashion_mnist", data_dir=tmp_path, normalize="standard")
    assert bundle.name == "fashion-mnist" and len(bundle.train) == 12
    assert bundle.classes[0] == "T-shirt/top" and bundle.classes[9] == "Ankle boot"
    assert bundle.mean == (0.2860,) and bundle.std == (0.3530,)


# ---- CIFAR-10 ------------------------------------------------------------------------------

@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """data_batch_1, data_batch_3, test_batch and batches.meta, with the digest table pointing at them."""
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    batches = {"data_batch_1": (cifar_images(6, seed=1), [6, 9, 9, 4, 1, 1]),
               "data_batch_3": (cifar_images(4, seed=3), [0, 1, 2, 3]),
               "test_batch": (cifar_images(5, seed=9), [3, 8, 8, 0, 6])}
    paths = [write_cifar_batch(folder / name, *batch) for name, batch in batches.items()]
    paths.append(write_cifar_meta(folder / "batches.meta"))
    for path in paths:
        monkeypatch.setitem(vision.CIFAR10_DIGESTS, path.name, (None, sha256(path)))
    return tmp_path, batches


def test_cifar10_loads_the_batches_present_and_says_which(tiny_cifar):
    data_dir, batches = tiny_cifar
    bundle = load("cifar10", data_dir=data_dir, normalize=None)
    assert bundle.train.x.shape == (10, 3, 32, 32) and bundle.test.x.shape == (5, 3, 32, 32)
    assert bundle.train.y.tolist() == [6, 9, 9, 4, 1, 1, 0, 1, 2, 3]
    assert bundle.test.y.tolist() == [3, 8, 8, 0, 6]
    assert "found 2 of 5 training batches (data_batch_1, data_batch_3)" in bundle.notes[0]
    assert "training on 10 images" in bundle.notes[0]
    # Rows hold R, G, B planes in turn: red values are < 100, green 100..199, blue >= 200.
    x = bundle.train.x
    assert x[:, 0].max() < 100 and 100 <= x[:, 1].min() and x[:, 1].max() < 200 and x[:, 2].min() >= 200
    assert torch.equal(x[:6], torch.tensor(batches["data_batch_1"][0]).float())
    assert bundle.classes[3] == "cat"


def test_cifar10_standard_normalisation_round_trip(tiny_cifar):
    data_dir, batches = tiny_cifar
    bundle = load("cifar10", data_dir=data_dir, normalize="standard")
    raw = torch.tensor(batches["test_batch"][0]).float() / 255  # (5, 3, 32, 32)
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616]).view(3, 1, 1)
    assert torch.allclose(bundle.test.x, (raw - mean) / std, atol=1e-5)
    assert torch.allclose(bundle.denormalize(bundle.test.x), raw, atol=1e-5)


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Exploit()}, protocol=4))
    with pytest.raises(DataError, match="system") as info:
        vision.read_cifar_batch(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_damaged_or_foreign_cifar_batches_name_the_file(tmp_path):
    good = write_cifar_batch(tmp_path / "good", cifar_images(2), [0, 1])
    truncated = tmp_path / "truncated"
    truncated.write_bytes(good.read_bytes()[:200])
    wrong = tmp_path / "wrong"
    wrong.write_bytes(pickle.dumps({b"labels": [1, 2]}, protocol=4))
    for path in (truncated, wrong):
        with pytest.raises(DataError) as info:
            vision.read_cifar_batch(path)
        assert str(path) in str(info.value)


def test_cifar10_missing_and_offline_explains_where_it_looked(monkeypatch):
    tried = []

    def offline(url, timeout):
        tried.append(url)
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataNotFoundError) as info:
        load("cifar10")
    message = str(info.value)
    assert tried == [vision.CIFAR10_ARCHIVE_URL]
    assert "cifar-10-batches-py/test_batch" in message and vision.CIFAR10_ARCHIVE_URL in message
    assert str(cache_dir() / "cifar10" / "cifar-10-batches-py" / "test_batch") in message
    assert "TUJIE_DATA" in message


def test_cifar10_downloads_and_extracts_the_archive_into_the_cache(tmp_path, monkeypatch):
    staging = tmp_path / "staging" / "cifar-10-batches-py"
    members = [write_cifar_batch(staging / "data_batch_1", cifar_images(3), [6, 9, 9]),
               write_cifar_batch(staging / "test_batch", cifar_images(2), [3, 8]),
               write_cifar_meta(staging / "batches.meta")]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in members:
            tar.add(path, arcname=f"cifar-10-batches-py/{path.name}")
    archive = buffer.getvalue()
    monkeypatch.setattr(vision, "CIFAR10_ARCHIVE_MD5", hashlib.md5(archive).hexdigest())
    for path in members:
        monkeypatch.setitem(vision.CIFAR10_DIGESTS, path.name, (None, sha256(path)))
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(archive))

    bundle = load("cifar10")
    assert bundle.train.y.tolist() == [6, 9, 9] and bundle.test.y.tolist() == [3, 8]
    assert "found 1 of 5 training batches (data_batch_1)" in bundle.notes[0]
    extracted = cache_dir() / "cifar10" / "cifar-10-batches-py"
    assert sorted(p.name for p in extracted.iterdir()) == ["batches.meta", "data_batch_1", "test_batch"]
