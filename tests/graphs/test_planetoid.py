"""The Planetoid Cora loader: the standard split, the graph's shape, checksums, and the restricted unpickler."""

from __future__ import annotations

import io
import os
import pickle

import pytest
import torch

from tujie.errors import ChecksumError, ConfigError, DataError, DataNotFoundError
from tujie.graphs import planetoid
from tujie.graphs.planetoid import PlanetoidUnpickler, load_planetoid


@pytest.fixture(scope="module")
def cora():
    if not os.environ.get("TUJIE_DATA"):
        pytest.skip("needs the real datasets: run with TUJIE_DATA=/path/to/data")
    return load_planetoid("cora")


@pytest.mark.data
def test_cora_has_the_planetoid_split_and_shape(cora):
    assert cora.x.shape == (2708, 1433) and cora.y.shape == (2708,) and cora.num_classes == 7
    assert [int(m.sum()) for m in (cora.train_mask, cora.val_mask, cora.test_mask)] == [140, 500, 1000]
    assert not (cora.train_mask & cora.val_mask).any() and not ((cora.train_mask | cora.val_mask) & cora.test_mask).any()
    assert torch.bincount(cora.y[cora.train_mask]).tolist() == [20] * 7  # 20 labelled nodes per class
    assert torch.bincount(cora.y).tolist() == [351, 217, 418, 818, 426, 298, 180]  # Cora's class sizes
    assert cora.test_mask.nonzero().min() == 1708 and cora.test_mask.nonzero().max() == 2707
    assert torch.allclose(cora.x.sum(1), torch.ones(2708))  # rows normalised to sum 1 (Kipf & Welling)


@pytest.mark.data
def test_cora_edges_are_undirected_without_self_loops(cora):
    edges = cora.edge_index
    assert edges.dtype == torch.int64 and cora.num_undirected_edges == 5278  # SOURCES.md: 5,278 undirected edges
    assert not (edges[0] == edges[1]).any()
    pairs = set(map(tuple, edges.t().tolist()))
    assert len(pairs) == edges.shape[1] and all((b, a) in pairs for a, b in pairs)


def _fake_folder(tmp_path, corrupt: str | None = None, missing: str | None = None):
    folder = tmp_path / "cora" / "planetoid"
    folder.mkdir(parents=True)
    for part in planetoid.PARTS:
        if part != missing:
            (folder / f"ind.cora.{part}").write_bytes(b"not the real file")
    return tmp_path


def test_a_file_with_the_wrong_checksum_is_refused_by_name(tmp_path):
    with pytest.raises(ChecksumError, match=r"ind\.cora\.x"):
        load_planetoid("cora", data_dir=_fake_folder(tmp_path))


def test_a_missing_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("TUJIE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(planetoid, "PLANETOID_URL", (tmp_path / "offline" / "{name}").as_uri())  # no network in tests
    with pytest.raises(DataNotFoundError, match=r"ind\.cora\.x.*TUJIE_DATA"):
        planetoid.planetoid_files("cora", data_dir=tmp_path / "empty")


def test_an_unknown_planetoid_dataset_is_a_config_error():
    with pytest.raises(ConfigError, match="cora"):
        planetoid.planetoid_files("citeseer-typo")


def test_the_unpickler_refuses_any_other_global():
    payload = pickle.dumps(os.getcwd, protocol=2)  # a global the files never need
    with pytest.raises(DataError, match="ind.cora.evil.*refused"):
        PlanetoidUnpickler(io.BytesIO(payload), "ind.cora.evil").load()


def test_the_unpickler_rebuilds_csr_matrices_and_defaultdicts():
    import collections

    import numpy as np
    import scipy.sparse as sp

    matrix = sp.csr_matrix(np.eye(3, dtype=np.float32))
    graph = collections.defaultdict(list, {0: [1], 1: [0]})
    back_matrix, back_graph = PlanetoidUnpickler(io.BytesIO(pickle.dumps([matrix, graph], protocol=4)), "x").load()
    assert (back_matrix.toarray() == np.eye(3)).all() and back_graph[1] == [0]
