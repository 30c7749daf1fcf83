"""resolve(): where files are looked for, checksums, the download path and the digest memo."""

import hashlib
import io
import os
import time
import urllib.error
import urllib.request

import pytest

from tujie.data import _files, cache_dir, resolve
from tujie.errors import ChecksumError, DataNotFoundError


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def put(path, content: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_finds_file_in_dataset_subfolder_and_flat(tmp_path):
    nested = put(tmp_path / "toy" / "a.bin", b"nested")
    flat = put(tmp_path / "b.bin", b"flat")
    assert resolve("toy", "a.bin", data_dir=tmp_path) == nested
    assert resolve("toy", "b.bin", data_dir=tmp_path) == flat


def test_resolution_order_data_dir_then_env_then_cache(tmp_path, monkeypatch):
    explicit, env, cache = tmp_path / "explicit", tmp_path / "env", tmp_path / "cache"
    for root in (explicit, env, cache):
        put(root / "toy" / "f.bin", root.name.encode())
    monkeypatch.setenv("TUJIE_DATA", str(env))
    monkeypatch.setenv("TUJIE_CACHE", str(cache))

    assert resolve("toy", "f.bin", data_dir=explicit).read_bytes() == b"explicit"
    assert resolve("toy", "f.bin").read_bytes() == b"env"
    (explicit / "toy" / "f.bin").unlink()  # data_dir replaces TUJIE_DATA: next comes the cache
    assert resolve("toy", "f.bin", data_dir=explicit).read_bytes() == b"cache"
    (env / "toy" / "f.bin").unlink()
    assert resolve("toy", "f.bin").read_bytes() == b"cache"


def test_checksum_mismatch_names_file_expected_and_actual_digest(tmp_path):
    path = put(tmp_path / "toy" / "f.bin", b"corrupted")
    with pytest.raises(ChecksumError) as info:
        resolve("toy", "f.bin", sha256=sha(b"original"), data_dir=tmp_path, urls=["http://mirror/f.bin"])
    message = str(info.value)
    assert str(path) in message
    assert sha(b"original") in message and sha(b"corrupted") in message
    assert "Delete or replace" in message and "http://mirror/f.bin" in message


def test_either_digest_is_accepted_and_verify_false_skips(tmp_path):
    content = b"rebuilt copy"
    put(tmp_path / "toy" / "f.bin", content)
    md5 = hashlib.md5(content).hexdigest()
    assert resolve("toy", "f.bin", sha256="0" * 64, md5=md5, data_dir=tmp_path)
    assert resolve("toy", "f.bin", sha256=sha(content), md5="0" * 32, data_dir=tmp_path)
    with pytest.raises(ChecksumError):
        resolve("toy", "f.bin", sha256="0" * 64, md5="0" * 32, data_dir=tmp_path)
    assert resolve("toy", "f.bin", sha256="0" * 64, data_dir=tmp_path, verify=False)


def test_missing_file_lists_every_place_searched_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("TUJIE_DATA", str(tmp_path / "env"))
    with pytest.raises(DataNotFoundError) as info:
        resolve("toy", "f.bin")
    message = str(info.value)
    for place in (tmp_path / "env" / "toy" / "f.bin", tmp_path / "env" / "f.bin", cache_dir() / "toy" / "f.bin"):
        assert str(place) in message
    assert "TUJIE_DATA=" in message and "data_dir=" in message
    assert isinstance(info.value, FileNotFoundError)  # callers may catch the builtin
    assert "\n" not in message  # one paragraph


def test_missing_file_without_env_says_only_the_cache_was_searched():
    with pytest.raises(DataNotFoundError, match="TUJIE_DATA is not set"):
        resolve("toy", "f.bin")


def test_download_fails_fast_without_network_and_tries_every_mirror(monkeypatch):
    calls = []

    def offline(url, timeout):
        calls.append((url, timeout))
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as info:
        resolve("toy", "f.bin", sha256="0" * 64, urls=["http://a.example/f.bin", "http://b.example/f.bin"])
    assert time.perf_counter() - start < 1.0
    assert [url for url, _ in calls] == ["http://a.example/f.bin", "http://b.example/f.bin"]
    assert all(timeout <= 10 for _, timeout in calls)
    message = str(info.value)
    assert "http://a.example/f.bin" in message and "http://b.example/f.bin" in message and "no route to host" in message
    assert not cache_dir().exists() or not any(cache_dir().rglob("*"))


def test_download_is_verified_before_it_is_moved_into_place(monkeypatch):
    good, bad = b"the real file" * 1000, b"an error page"
    served = {"http://bad.example/f.bin": bad, "http://good.example/f.bin": good}
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(served[url]))

    path = resolve("toy", "f.bin", sha256=sha(good), urls=list(served))
    assert path == cache_dir() / "toy" / "f.bin" and path.read_bytes() == good
    assert [p.name for p in path.parent.iterdir()] == ["f.bin"]  # no temporary file left behind
    assert resolve("toy", "f.bin", sha256=sha(good)) == path  # now found in the cache


def test_download_with_only_bad_copies_leaves_nothing(monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"an error page"))
    with pytest.raises(DataNotFoundError, match="do not match the published digest"):
        resolve("toy", "f.bin", sha256=sha(b"real"), urls=["http://bad.example/f.bin"])
    folder = cache_dir() / "toy"
    assert not folder.exists() or not any(folder.iterdir())


def test_unchanged_file_is_hashed_once_per_process(tmp_path, monkeypatch):
    calls = []
    real_hash = _files._hash_file
    monkeypatch.setattr(_files, "_hash_file", lambda path, names: calls.append(path) or real_hash(path, names))
    path = put(tmp_path / "toy" / "f.bin", b"v1")

    resolve("toy", "f.bin", sha256=sha(b"v1"), data_dir=tmp_path)
    resolve("toy", "f.bin", sha256=sha(b"v1"), data_dir=tmp_path)
    assert len(calls) == 1

    path.write_bytes(b"v2!")  # another size and mtime: must be hashed again, and fail
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(ChecksumError):
        resolve("toy", "f.bin", sha256=sha(b"v1"), data_dir=tmp_path)
    assert len(calls) == 2
