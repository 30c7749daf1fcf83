"""Atomic file writes: a crash or Ctrl-C never leaves a half-written file behind.

Each writer writes to a temporary file in the same folder, flushes it to disk, then
renames it over the target (`os.replace` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError, OutputError


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; on success rename it to `path`, else delete it.

    Example:
        >>> with atomic_path("/tmp/x.bin") as tmp:
        ...     Path(tmp).write_bytes(b"data")
        4
    """
    path = Path(path)
    tmp = None
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; the file gets the user's usual permissions
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb+") as f:  # make the bytes durable before the rename publishes them
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, OutputError) and e.errno in _OUTPUT_PROBLEMS:
            raise output_error(path, e) from None
        raise


# errno -> (what went wrong, how to fix it): the problems of the place written to, not of the program
_OUTPUT_PROBLEMS = {
    errno.ENOSPC: ("no space is left on the device", "Free some disk space, or set output_dir (or the output path) to another disk."),
    errno.EDQUOT: ("the disk quota is exceeded", "Free some space in your quota, or write to another disk."),
    errno.EACCES: ("the place is not writable (permission denied)", "Pick a folder you may write to, or fix its permissions."),
    errno.EPERM: ("the place is not writable (operation not permitted)", "Pick a folder you may write to, or fix its permissions."),
    errno.EROFS: ("the file system is read-only", "Pick a folder on a writable disk."),
    errno.EISDIR: ("a folder of that name is already there", "Name a file inside the folder, e.g. FOLDER/name.ext."),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "Pick a path whose parents are folders, or move the file away."),
    errno.EEXIST: ("a file of that name is in the way of a folder", "Pick another path, or move the file away."),
}


def output_error(path, error: OSError) -> OutputError:
    """The error template for an `OSError` met while writing `path` (full disk, read-only place, file in the way)."""
    what, fix = _OUTPUT_PROBLEMS.get(error.errno, (error.strerror or str(error), "Pick another place to write to."))
    return OutputError(f"Cannot write {path}: {what}.", expected="a writable path with free space",
                       received=f"{type(error).__name__}: {error}", fix=fix)


def _umask() -> int:
    """The process umask (read without changing it where /proc allows; else set and restored at once)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_file(path, example: str) -> None:
    """Refuse an `--output` that is a folder or lies where nothing can be written, before any work is done.

    `example` is a file name for the fix ("lr_find.png", "compare.html").

    Example:
        >>> import tempfile
        >>> check_output_file(Path(tempfile.mkdtemp()) / "page.html", "page.html")  # a new file in a writable folder
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"--output {path} is a folder.", expected=f"a file name, e.g. {example}",
                          received=f"--output {path}", fix=f"Pass --output {path / example}.")
    parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--output {path} cannot be written: {parent} is {'a file' if not parent.is_dir() else 'not writable'}.",
                          expected="a file in a folder you may write to", received=f"--output {path}",
                          fix=f"Pass --output {example} (the current folder), or a path in a writable folder.")


def remove_leftovers(folder) -> list[Path]:
    """Delete the temporary files (`.<name>.*.tmp`) a killed write left in `folder` and below; returns them."""
    found = [p for p in Path(folder).rglob(".*.tmp") if p.is_file()]
    for p in found:
        p.unlink(missing_ok=True)
    return found


def write_bytes(path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def write_jsonl(path, records) -> Path:
    """Write one JSON line per record, replacing the file atomically."""
    return write_text(path, "".join(json.dumps(r, default=_jsonable) + "\n" for r in records))


def append_jsonl(path, record: dict) -> None:
    """Append one JSON line; rewritten atomically so a reader never sees a partial line."""
    path = Path(path)
    old = path.read_bytes() if path.exists() else b""
    write_bytes(path, old + (json.dumps(record, default=_jsonable) + "\n").encode("utf-8"))


def _jsonable(obj):
    """Turn tensors/numpy scalars/paths into JSON-friendly values."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return str(obj)
