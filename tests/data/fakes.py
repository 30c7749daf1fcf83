"""Tiny stand-ins for the real data files, written the way the originals are laid out."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """A gzip IDX file of uint8: magic (0, 0, 0x08, ndim), big-endian uint32 dims, then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    return path


def write_mnist_like(folder: Path, n_train: int = 30, n_test: int = 10, seed: int = 0) -> dict:
    """The four MNIST files with random 28x28 images; returns the arrays and each file's sha256."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        arrays[f"{split}-images-idx3-ubyte.gz"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{split}-labels-idx1-ubyte.gz"] = rng.integers(0, 10, n, dtype=np.uint8)
    digests = {name: sha256(write_idx(folder / name, a)) for name, a in arrays.items()}
    return {"arrays": arrays, "sha256": digests}


def cifar_images(n: int, seed: int = 0) -> np.ndarray:
    """(n, 3, 32, 32) uint8 where every red value is < 100, green 100..199, blue 200..255: channels are recognisable."""
    rng = np.random.default_rng(seed)
    low = np.array([0, 100, 200]).reshape(1, 3, 1, 1)
    high = np.array([100, 200, 256]).reshape(1, 3, 1, 1)
    return rng.integers(low, high, (n, 3, 32, 32)).astype(np.uint8)


def write_cifar_batch(path: Path, images: np.ndarray, labels) -> Path:
    """A CIFAR python batch: a dict of bytes keys, `data` (N, 3072) uint8 rows of R, G, B planes."""
    batch = {b"batch_label": b"training batch", b"labels": [int(v) for v in labels],
             b"data": images.reshape(len(images), 3072), b"filenames": [b"%d.png" % i for i in range(len(images))]}
    path.parent.mkdir(parents=True, exist_ok=True)
    # Protocol 4 stores bytes natively; protocol 2 from Python 3 would route them through
    # `_codecs.encode`, which the safe unpickler (rightly) refuses.
    path.write_bytes(pickle.dumps(batch, protocol=4))
    return path


def write_cifar_meta(path: Path) -> Path:
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({b"num_cases_per_batch": 10000, b"label_names": names, b"num_vis": 3072}, protocol=4))
    return path
