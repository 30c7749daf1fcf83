"""Image datasets: MNIST and Fashion-MNIST (IDX gzip files) and CIFAR-10 (python pickles).

Each loader finds its files with `resolve` (data_dir, $TUJIE_DATA, the cache, then the
official mirrors), checks their digests, parses them with numpy alone, and returns uint8
images (N, C, H, W) and int64 labels (N,); `load` does the splitting and scaling.

Example:
    >>> b = load("mnist", normalize="standard")  # doctest: +SKIP
    >>> b.train.x.shape, b.mean, b.classes[:3]  # doctest: +SKIP
    (torch.Size([60000, 1, 28, 28]), (0.1307,), ['0', '1', '2'])
"""

from __future__ import annotations

import gzip
import os
import pickle
import zlib
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_path
from ..errors import DataError, DataNotFoundError
from ..i18n import _
from ._files import cache_dir, resolve, search_paths
from ._registry import RawData, register
from .arrays import ArrayDataset

# ---- MNIST and Fashion-MNIST -------------------------------------------------------------

MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
FASHION_MNIST_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

# sha256 of the original gz files (shared/data/SOURCES.md; the local copies are byte-identical).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path, ndim: int) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes (LeCun's format for MNIST).

    The header is 4 magic bytes (0, 0, 0x08 = uint8, number of dimensions), then each
    dimension as a big-endian uint32; the values follow in row-major order.

    Args:
        path: the `.gz` file.
        ndim: expected number of dimensions: 3 for images (N, H, W), 1 for labels (N,).

    Returns:
        A uint8 array of the shape the header states.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "labels.gz"
        >>> _ = path.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])))
        >>> read_idx(path, ndim=1)
        array([7, 2, 1], dtype=uint8)
    """
    fix = f"Delete `{path}` and download it again, or replace it with an intact copy."
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:  # not gzip, or cut off mid-stream
        raise DataError(f"Could not decompress `{path}`.", expected="a complete gzip-compressed IDX file",
                        received=f"{type(e).__name__}: {e}", fix=fix) from None
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:4] != bytes([0, 0, 0x08, ndim]):
        raise DataError(f"`{path}` is not an IDX file of {ndim}-dimensional unsigned bytes.",
                        expected=f"magic number 0x000008{ndim:02x}", received=f"first bytes {raw[:4].hex() or 'none'}",
                        fix=fix)
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    if len(raw) - header != int(np.prod(dims)):
        raise DataError(f"`{path}` is truncated or has trailing bytes.",
                        expected=f"{int(np.prod(dims)):,} bytes of data for shape {dims}",
                        received=f"{len(raw) - header:,} bytes", fix=fix)
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _load_idx_dataset(dataset: str, title: str, sha256: dict[str, str], mirrors, classes: list[str],
                      mean: float, std: float, data_dir) -> RawData:
    """The four IDX files of an MNIST-like dataset as RawData (images (N, 1, 28, 28), labels (N,))."""
    def read(split: str):
        images_name, labels_name = f"{split}-images-idx3-ubyte.gz", f"{split}-labels-idx1-ubyte.gz"
        images_path, labels_path = (resolve(dataset, name, sha256=sha256[name], urls=[m + name for m in mirrors],
                                            data_dir=data_dir) for name in (images_name, labels_name))
        images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)  # (N, H, W), (N,)
        if len(images) != len(labels) or (len(labels) and labels.max() >= len(classes)):
            raise DataError(f"`{images_path}` and `{labels_path}` do not belong together.",
                            expected=f"one label in 0..{len(classes) - 1} per image",
                            received=f"{len(images):,} images, {len(labels):,} labels (max {labels.max(initial=0)})",
                            fix="Replace both files with copies of the same release.")
        x = torch.tensor(images).unsqueeze(1)  # (N, 1, H, W) uint8; tensor() copies out of the read-only buffer
        return ArrayDataset(x, torch.tensor(labels, dtype=torch.int64), classes), images_path.parent

    train, folder = read("train")
    test, _test_folder = read("t10k")  # not `_`: that name is the translation function here
    notes = [_("{title}: {train} training and {test} test images from {folder}.").format(
        title=title, train=f"{len(train):,}", test=f"{len(test):,}", folder=folder)]
    return RawData(train, test, classes, pixel_max=255.0, mean=(mean,), std=(std,), notes=notes)


@register("mnist")
def mnist(data_dir=None) -> RawData:
    """MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grey, classes "0".."9".

    Normalisation statistics: mean 0.1307, std 0.3081 (the training set's).

    Example:
        >>> raw = mnist()  # doctest: +SKIP
        >>> raw.train.x.shape, raw.train.y[:5].tolist()  # doctest: +SKIP
        (torch.Size([60000, 1, 28, 28]), [5, 0, 4, 1, 9])
    """
    return _load_idx_dataset("mnist", "MNIST", MNIST_SHA256, MNIST_MIRRORS, [str(d) for d in range(10)],
                             mean=0.1307, std=0.3081, data_dir=data_dir)


@register("fashion-mnist", aliases=("fashion_mnist",))
def fashion_mnist(data_dir=None) -> RawData:
    """Fashion-MNIST (Zalando): 60,000 training and 10,000 test 28x28 grey images of 10 clothing classes.

    Normalisation statistics: mean 0.2860, std 0.3530.

    Example:
        >>> fashion_mnist().classes[9]  # doctest: +SKIP
        'Ankle boot'
    """
    return _load_idx_dataset("fashion-mnist", "Fashion-MNIST", FASHION_MNIST_SHA256, FASHION_MNIST_MIRRORS,
                             FASHION_MNIST_CLASSES, mean=0.2860, std=0.3530, data_dir=data_dir)


# ---- CIFAR-10 ------------------------------------------------------------------------------

CIFAR10_ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5")
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# name -> (md5 published for the original file, sha256 of the copy rebuilt in shared/data).
# The shared data_batch_1 and test_batch were rebuilt from lossless PNGs (shared/data/SOURCES.md):
# same pixels and labels, but other names in b"filenames", so their md5 cannot match the
# original's. `resolve` accepts either digest: the original from the archive, or that rebuild.
CIFAR10_DIGESTS = {
    "batches.meta": ("5ff9c542aee3614f3951f8cda6e48888", None),  # the shared copy is the original
    "data_batch_1": ("c99cafc152244af753f735de768cd75f", "7398e977450f19822d543708f21c1888f0b4f6bb0e0dbc7856f57956da3c113b"),
    "data_batch_2": ("d4bba439e000b95fd0a9bffe97cbabec", None),
    "data_batch_3": ("54ebc095f3ab1f0389bbae665268c751", None),
    "data_batch_4": ("634d18415352ddfa80567beed471001a", None),
    "data_batch_5": ("482c414d41f54cd18b22e5b47cb7c3cb", None),
    "test_batch": ("40351d587109b95175f43aff81a1287e", "3a2907e08077c30981d6145597f666258339b424e1a3855ef900a4758e61d62d"),
}


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and plain containers, and nothing else.

    A pickle can name any importable function and have it called (`os.system`, ...), so
    `pickle.load` on a downloaded file runs whatever its author wanted. The CIFAR batches
    need only three globals to rebuild their arrays; every other global is refused before
    it is imported.

    Example:
        >>> import io
        >>> NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(np.arange(3), protocol=4)), "x").load()
        array([0, 1, 2])
    """

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def __init__(self, file, path, **kwargs):
        super().__init__(file, **kwargs)
        self.path = path

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise DataError(f"`{self.path}` asks to load `{module}.{name}`, which a data file never needs; refused.",
                            expected="a pickle of numpy arrays, lists, dicts, numbers and strings",
                            received=f"global {module}.{name}",
                            fix=f"Delete `{self.path}`: it is not a genuine CIFAR file. Download it again from "
                                f"{CIFAR10_ARCHIVE_URL}.")
        # Returned directly rather than through super().find_class, so no module is imported by name.
        return {"_reconstruct": _numpy_reconstruct(), "ndarray": np.ndarray, "dtype": np.dtype}[name]


def read_pickle(path) -> object:
    """Load a Python-2 era pickle of numpy arrays safely (strings come back as bytes).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "batch"
        >>> _ = path.write_bytes(pickle.dumps({b"labels": [3, 8]}, protocol=4))
        >>> read_pickle(path)
        {b'labels': [3, 8]}
    """
    try:
        with open(path, "rb") as f:
            return NumpyOnlyUnpickler(f, path, encoding="bytes").load()
    except DataError:
        raise
    except Exception as e:  # truncated or garbled: EOFError, UnpicklingError, ValueError...
        raise DataError(f"Could not read `{path}` as a pickle.", expected="a complete CIFAR python batch file",
                        received=f"{type(e).__name__}: {e}",
                        fix=f"Delete `{path}` and restore it from {CIFAR10_ARCHIVE_URL}.") from None


def read_cifar_batch(path) -> tuple[torch.Tensor, torch.Tensor]:
    """One CIFAR python batch as images (N, 3, 32, 32) uint8 and labels (N,) int64.

    Each row of `b"data"` holds 1024 red, then 1024 green, then 1024 blue values, each a
    32x32 image in row-major order, so a reshape gives channels-first images directly.
    """
    batch = read_pickle(path)
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(b"labels") if isinstance(batch, dict) else None
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072
            and labels is not None and len(labels) == len(data)):
        got = f"data {getattr(data, 'shape', None)} {getattr(data, 'dtype', type(data).__name__)}, " \
              f"{'no' if labels is None else len(labels)} labels"
        raise DataError(f"`{path}` is not a CIFAR-10 batch.",
                        expected="a dict with b'data' (N, 3072) uint8 and N b'labels'",
                        received=got, fix=f"Restore `{path}` from {CIFAR10_ARCHIVE_URL}.")
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())  # (N, 3, 32, 32): copy() owns writable memory
    return images, torch.tensor(labels, dtype=torch.int64)


def _find_cifar10(data_dir) -> dict[str, Path]:
    """The CIFAR-10 files present (and intact) in the usual places, by name."""
    found = {}
    for name, (md5, sha256) in CIFAR10_DIGESTS.items():
        try:
            found[name] = resolve("cifar10", f"{CIFAR10_FOLDER}/{name}", md5=md5, sha256=sha256, data_dir=data_dir)
        except DataNotFoundError:
            pass
    return found


def _fetch_cifar10_archive(data_dir, missing: str) -> None:
    """Find or download cifar-10-python.tar.gz and extract its batches into the cache."""
    import tarfile
    import tempfile

    try:
        archive = resolve("cifar10", "cifar-10-python.tar.gz", md5=CIFAR10_ARCHIVE_MD5, urls=[CIFAR10_ARCHIVE_URL],
                          data_dir=data_dir)
    except DataNotFoundError as e:
        places = [*search_paths("cifar10", f"{CIFAR10_FOLDER}/{missing}", data_dir),
                  *search_paths("cifar10", "cifar-10-python.tar.gz", data_dir)]
        raise DataNotFoundError(
            f"CIFAR-10 file `{CIFAR10_FOLDER}/{missing}` was not found, and neither was the archive holding it.",
            expected=f"the file or the archive at one of: {', '.join(map(str, places))}", received=e.received,
            fix=f"Set TUJIE_DATA=/path/to/data (the folder holding `cifar10/{CIFAR10_FOLDER}/`) or pass "
                f"data_dir=..., or put cifar-10-python.tar.gz ({CIFAR10_ARCHIVE_URL}) in {cache_dir() / 'cifar10'}.") from None

    target = cache_dir() / "cifar10" / CIFAR10_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, tarfile.open(archive, "r:gz") as tar:
        # filter="data" refuses absolute paths, "..", links leaving `tmp` and device files.
        tar.extractall(tmp, filter="data")
        for name in CIFAR10_DIGESTS:
            extracted = Path(tmp) / CIFAR10_FOLDER / name
            if extracted.is_file():
                with atomic_path(target / name) as part:  # published by an atomic rename, fsynced first
                    os.replace(extracted, part)


@register("cifar10", aliases=("cifar-10",))
def cifar10(data_dir=None) -> RawData:
    """CIFAR-10: 32x32 colour images of 10 classes, from whichever of the 5 training batches are present.

    Needs `test_batch` and at least one `data_batch_*` in `cifar10/cifar-10-batches-py/`;
    when they are missing it downloads and extracts the official archive into the cache.
    Normalisation statistics: mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616).

    Example:
        >>> raw = cifar10()  # doctest: +SKIP
        >>> raw.notes[0]  # doctest: +SKIP
        'CIFAR-10: found 1 of 5 training batches (data_batch_1); training on 10,000 images.'
    """
    found = _find_cifar10(data_dir)
    if "test_batch" not in found or not any(name in found for name in CIFAR10_TRAIN_BATCHES):
        _fetch_cifar10_archive(data_dir, missing="test_batch" if "test_batch" not in found else "data_batch_1")
        found = _find_cifar10(data_dir)
        if "test_batch" not in found or not any(name in found for name in CIFAR10_TRAIN_BATCHES):
            raise DataError("The CIFAR-10 archive lacks its batch files.", expected=f"{CIFAR10_FOLDER}/test_batch "
                            "and data_batch_1..5 inside", received=f"only {sorted(found) or 'nothing'}",
                            fix=f"Delete the archive from {cache_dir() / 'cifar10'} and download it again.")

    names = [name for name in CIFAR10_TRAIN_BATCHES if name in found]
    batches = [read_cifar_batch(found[name]) for name in names]
    train_x, train_y = torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])  # (N, 3, 32, 32), (N,)
    test_x, test_y = read_cifar_batch(found["test_batch"])
    meta = read_pickle(found["batches.meta"]) if "batches.meta" in found else {}
    classes = [n.decode() for n in meta.get(b"label_names", [])] or CIFAR10_CLASSES  # same names; meta is optional

    notes = [_("CIFAR-10: found {n} of 5 training batches ({batches}); training on {images} images.").format(
        n=len(names), batches=", ".join(names), images=f"{len(train_x):,}")]
    if len(names) < 5:
        notes.append(_("Add the other {n} batches to {folder} to train on all 50,000 images.").format(
            n=5 - len(names), folder=found[names[0]].parent))
    return RawData(ArrayDataset(train_x, train_y, classes), ArrayDataset(test_x, test_y, classes), classes,
                   pixel_max=255.0, mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616), notes=notes)
