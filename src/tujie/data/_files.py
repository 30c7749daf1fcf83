"""Find a dataset file on disk or download it, and check its digest before anyone reads it.

`resolve("mnist", "train-images-idx3-ubyte.gz", sha256=...)` looks in this order:

1. the `data_dir` argument if given, else the folder named by the `TUJIE_DATA` environment
   variable: `<dir>/mnist/train-images-idx3-ubyte.gz`, then `<dir>/train-images-idx3-ubyte.gz`;
2. the user cache (`$TUJIE_CACHE`, default `~/.cache/tujie`): `<cache>/mnist/train-images-idx3-ubyte.gz`;
3. each url in turn, downloaded into that cache path.

A file that is found but has the wrong digest is an error, not a reason to look further:
silently training on another copy than the one the user pointed at would hide the problem.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .._io import atomic_path
from ..errors import ChecksumError, DataNotFoundError

CHUNK_BYTES = 1 << 20  # hash and download in 1 MiB pieces: constant memory whatever the file size
DOWNLOAD_TIMEOUT_S = 10.0  # a dead mirror (or no network at all) should cost seconds, not minutes

# (absolute path, size, mtime_ns) -> {"sha256": hex, ...}. Loading a dataset twice in one
# process (a sweep, a notebook) then hashes its ~50 MB once; any change to the file changes
# its size or mtime and so forces a fresh hash.
_digest_memo: dict[tuple[str, int, int], dict[str, str]] = {}


def cache_dir() -> Path:
    """The download cache: `$TUJIE_CACHE`, else `~/.cache/tujie`.

    Example:
        >>> cache_dir()  # with TUJIE_CACHE unset  # doctest: +SKIP
        PosixPath('/home/me/.cache/tujie')
    """
    return Path(os.environ.get("TUJIE_CACHE") or Path.home() / ".cache" / "tujie").expanduser()


def search_paths(dataset: str, filename: str, data_dir=None) -> list[Path]:
    """The local paths `resolve` tries, in order (the last one is where downloads go).

    Example:
        >>> [p.as_posix() for p in search_paths("mnist", "x.gz", data_dir="/d")][:2]
        ['/d/mnist/x.gz', '/d/x.gz']
    """
    root = data_dir if data_dir is not None else os.environ.get("TUJIE_DATA")
    paths = []
    if root:
        root = Path(root).expanduser()
        paths += [root / dataset / filename, root / filename]
    return paths + [cache_dir() / dataset / filename]


def resolve(dataset: str, filename: str, *, sha256: str | None = None, md5: str | None = None,
            urls=(), data_dir=None, verify: bool = True) -> Path:
    """The path of a verified copy of `filename`, found locally or downloaded into the cache.

    Args:
        dataset: the dataset's folder name, e.g. "mnist".
        filename: the file's name inside that folder; may contain a sub-folder.
        sha256, md5: expected hex digests. When both are given a match on either is accepted
            (a dataset whose local copy was rebuilt matches one, the original the other).
        urls: mirrors to download from, tried in order, when no local copy exists.
        data_dir: a folder to look in before the cache; replaces `$TUJIE_DATA`.
        verify: check the digests (False skips it, for files you changed on purpose).

    Returns:
        The path of the file.

    Raises:
        ChecksumError: a copy was found (or downloaded) but its digest differs.
        DataNotFoundError: no copy anywhere, and no url worked.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "toy.txt").write_text("hi")
        >>> resolve("toy", "toy.txt", data_dir=folder, md5="49f68a5c8493ec2c0bf489821c21fc3b").name
        'toy.txt'
    """
    expected = {name: value.lower() for name, value in (("sha256", sha256), ("md5", md5)) if value} if verify else {}
    places = search_paths(dataset, filename, data_dir)
    for path in places:
        if path.is_file():
            actual = _digests(path, expected)
            if not _matches(expected, actual):
                raise _checksum_error(path, expected, actual, urls)
            return path

    target, failures = places[-1], []
    for url in urls:
        try:
            return _download(url, target, expected)
        except Exception as e:  # no network, HTTP error, bad digest...: every failure means "try the next mirror"
            failures.append(f"{url} ({e})")

    where = "no data_dir was given and TUJIE_DATA is not set, so only the cache was searched; " \
        if data_dir is None and not os.environ.get("TUJIE_DATA") else ""
    tried = f"downloading failed from {'; '.join(failures)}" if failures else "no download url is known for it"
    raise DataNotFoundError(
        f"Data file `{filename}` of dataset `{dataset}` was not found.",
        expected=f"the file at one of: {', '.join(str(p) for p in places)}",
        received=f"{where}{tried}",
        fix=f"Set TUJIE_DATA=/path/to/data (the folder holding `{dataset}/`) or pass data_dir=..., "
            f"or copy the file to {target}.")


def _download(url: str, target: Path, expected: dict[str, str]) -> Path:
    """Stream `url` into a temporary file beside `target`, check it, then rename it into place."""
    import urllib.request  # imported here: it pulls in http/ssl/email, which `import tujie` should not pay for

    hashers = {name: hashlib.new(name, usedforsecurity=False) for name in expected}
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, atomic_path(target) as tmp:
        with open(tmp, "wb") as f:
            while chunk := response.read(CHUNK_BYTES):
                f.write(chunk)
                for h in hashers.values():
                    h.update(chunk)
        actual = {name: h.hexdigest() for name, h in hashers.items()}
        if not _matches(expected, actual):  # raising here makes atomic_path delete the bad download
            raise ChecksumError("the downloaded bytes do not match the published digest",
                                expected=" or ".join(f"{n} {v}" for n, v in expected.items()),
                                received=", ".join(f"{n} {v}" for n, v in actual.items()))
    return target


def _digests(path: Path, expected: dict[str, str]) -> dict[str, str]:
    """The digests of `path` named in `expected`, hashed in one pass and memoised per (path, size, mtime)."""
    stat = path.stat()
    known = _digest_memo.setdefault((str(path.resolve()), stat.st_size, stat.st_mtime_ns), {})
    missing = [name for name in expected if name not in known]
    if missing:
        known.update(_hash_file(path, missing))
    return {name: known[name] for name in expected}


def _hash_file(path: Path, names: list[str]) -> dict[str, str]:
    hashers = {name: hashlib.new(name, usedforsecurity=False) for name in names}  # integrity check, not security
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            for h in hashers.values():
                h.update(chunk)
    return {name: h.hexdigest() for name, h in hashers.items()}


def _matches(expected: dict[str, str], actual: dict[str, str]) -> bool:
    return not expected or any(actual[name] == value for name, value in expected.items())


def _checksum_error(source, expected, actual, urls) -> ChecksumError:
    fresh = f" (a fresh copy: {urls[0]})" if urls else ""
    return ChecksumError(
        f"Checksum mismatch for `{source}`: the file is corrupted, truncated or a different version.",
        expected=" or ".join(f"{name} {value}" for name, value in expected.items()),
        received=", ".join(f"{name} {value}" for name, value in actual.items()),
        fix=f"Delete or replace `{source}` with an intact copy{fresh}; pass verify=False only if you changed it on purpose.")
