"""The Planetoid citation graphs (Yang, Cohen & Salakhutdinov, ICML 2016), Cora first, in the split every paper uses.

The eight files `ind.cora.{x,y,tx,ty,allx,ally,graph,test.index}` of kimiyoung/planetoid are
Python-2 pickles (the last one is text). They are found through `tujie.data._files.resolve`
(TUJIE_DATA, then the cache, then the download, each file checked against its sha256 first),
and unpickled by `PlanetoidUnpickler`, which rebuilds numpy arrays, SciPy CSR matrices, lists
and a defaultdict and refuses every other global before anything is imported.

The split is the one of Kipf & Welling's `utils.load_data` (and PyG's `Planetoid("Cora")`):
20 labelled nodes per class for training (nodes 0–139), the next 500 for validation (140–639),
the 1,000 nodes named in `test.index` for testing. The test rows are stored out of order
(`tx`), so they are put back at the positions `test.index` names. Features are bag-of-words
rows, each row divided by its sum as Kipf & Welling do; edges are undirected (both directions
listed, duplicates and self-loops dropped: the layers add self-loops themselves).

Example:
    >>> graph = load_planetoid("cora")  # doctest: +SKIP
    >>> graph.x.shape, int(graph.train_mask.sum()), int(graph.val_mask.sum()), int(graph.test_mask.sum())  # doctest: +SKIP
    (torch.Size([2708, 1433]), 140, 500, 1000)
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError

PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data/{name}"
FOLDER = "cora/planetoid"  # where the files sit under TUJIE_DATA (and the cache)
PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")

# sha256 of the unmodified files of kimiyoung/planetoid (commit af6abf468a77), as /work/shared/data/SOURCES.md §7 lists them
SHA256 = {
    "cora": {
        "ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
        "ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
        "ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
        "ind.cora.test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
        "ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
        "ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
        "ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
        "ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
    },
}

# Cora's seven subject areas in the order of Planetoid's one-hot label columns. The files carry no names; the
# sizes identify them, since Cora's seven classes all differ in size (Sen et al. 2008): column 0 has 351 papers
# (Theory), 1: 217 (Reinforcement_Learning), 2: 418 (Genetic_Algorithms), 3: 818 (Neural_Networks),
# 4: 426 (Probabilistic_Methods), 5: 298 (Case_Based), 6: 180 (Rule_Learning).
CLASSES = {"cora": ("Theory", "Reinforcement_Learning", "Genetic_Algorithms", "Neural_Networks", "Probabilistic_Methods",
                    "Case_Based", "Rule_Learning")}

NUM_VALIDATION = 500  # Planetoid's validation nodes, right after the training ones


@dataclass
class Graph:
    """One graph for node classification, PyG-style: tensors, plus what the report names.

    Attributes:
        x: (num_nodes, num_features) float32 node features.
        y: (num_nodes,) int64 class of every node.
        edge_index: (2, num_edges) int64, both directions of each undirected edge.
        train_mask, val_mask, test_mask: (num_nodes,) bool.
        classes: the class names; name: the dataset's name.
    """

    x: torch.Tensor
    y: torch.Tensor
    edge_index: torch.Tensor
    train_mask: torch.Tensor
    val_mask: torch.Tensor
    test_mask: torch.Tensor
    classes: tuple
    name: str

    @property
    def num_nodes(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_undirected_edges(self) -> int:
        return int(self.edge_index.shape[1]) // 2


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class PlanetoidUnpickler(pickle.Unpickler):
    """Rebuilds what the Planetoid files hold (numpy arrays, a CSR matrix, a defaultdict of lists) and nothing else.

    A pickle can name any importable callable and have it run; these files need five globals,
    so every other one is refused before it is imported, with the file named.

    Example:
        >>> import io
        >>> PlanetoidUnpickler(io.BytesIO(pickle.dumps([np.arange(2)], protocol=4)), "x").load()
        [array([0, 1])]
    """

    def __init__(self, file, path, **kwargs):
        super().__init__(file, encoding="latin1", **kwargs)  # Python-2 strings inside numpy's pickles are bytes
        self.path = path

    def find_class(self, module, name):
        import collections

        import scipy.sparse

        allowed = {("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct, ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
                   ("numpy", "ndarray"): lambda: np.ndarray, ("numpy", "dtype"): lambda: np.dtype,
                   ("scipy.sparse.csr", "csr_matrix"): lambda: scipy.sparse.csr_matrix,
                   ("scipy.sparse._csr", "csr_matrix"): lambda: scipy.sparse.csr_matrix,
                   ("collections", "defaultdict"): lambda: collections.defaultdict,
                   ("__builtin__", "list"): lambda: list, ("builtins", "list"): lambda: list}
        if (module, name) not in allowed:
            raise DataError(f"`{self.path}` asks to load `{module}.{name}`, which a Planetoid file never needs; refused.",
                            expected="numpy arrays, a SciPy CSR matrix, lists and a defaultdict",
                            received=f"global {module}.{name}",
                            fix=f"Delete `{self.path}`: it is not a genuine Planetoid file; download it again from "
                                f"{PLANETOID_URL.format(name=Path(str(self.path)).name)}.")
        return allowed[(module, name)]()  # returned directly: no module is imported by the name the file gives


def _read(path: Path):
    with open(path, "rb") as f:
        try:
            return PlanetoidUnpickler(f, path).load()
        except DataError:
            raise
        except Exception as error:  # truncated or not a pickle: say which file
            raise DataError(f"`{path}` could not be read as a Planetoid pickle.", expected="an unmodified file of kimiyoung/planetoid",
                            received=f"{type(error).__name__}: {error}", fix=f"Delete `{path}` and fetch it again.") from error


def planetoid_files(name: str = "cora", data_dir=None, verify: bool = True) -> dict[str, Path]:
    """The verified paths of a Planetoid dataset's eight files, by part ("x", ..., "test.index").

    Each is looked for under `data_dir` (else TUJIE_DATA, else the cache) at `cora/planetoid/ind.cora.<part>`,
    downloaded from kimiyoung/planetoid when missing, and checked against its sha256.

    Raises:
        ConfigError: a dataset other than the pinned ones.
        ChecksumError / DataNotFoundError (both DataError): a file altered, or found nowhere.

    Example:
        >>> sorted(planetoid_files("cora"))[:2]  # doctest: +SKIP
        ['allx', 'ally']
    """
    from ..data._files import resolve

    if name not in SHA256:
        raise ConfigError(f"Unknown Planetoid dataset {name!r}.", expected=f"one of {', '.join(SHA256)}",
                          received=f"dataset={name!r}", fix="Set graph.dataset: cora.")
    files = {}
    for part in PARTS:
        filename = f"ind.{name}.{part}"
        files[part] = resolve(FOLDER.replace("cora", name), filename, sha256=SHA256[name][filename], data_dir=data_dir,
                              urls=(PLANETOID_URL.format(name=filename),), verify=verify)
    return files


def load_planetoid(name: str = "cora", data_dir=None, normalize_features: bool = True, verify: bool = True) -> Graph:
    """A Planetoid dataset as a `Graph` with its standard split (Cora: 140 train, 500 validation, 1,000 test).

    Args:
        name: "cora".
        data_dir: a folder holding `cora/planetoid/`; None: TUJIE_DATA, then the cache.
        normalize_features: divide each feature row by its sum (Kipf & Welling's preprocessing).
        verify: check the sha256 of every file.

    Example:
        >>> graph = load_planetoid("cora")  # doctest: +SKIP
        >>> graph.num_undirected_edges, graph.classes[2]  # doctest: +SKIP
        (5278, 'Genetic_Algorithms')
    """
    import scipy.sparse as sp

    files = planetoid_files(name, data_dir, verify)
    x, y, tx, ty, allx, ally, adjacency = (_read(files[p]) for p in ("x", "y", "tx", "ty", "allx", "ally", "graph"))
    try:
        test_index = np.array([int(line) for line in files["test.index"].read_text().split()], dtype=np.int64)
    except ValueError as error:
        raise DataError(f"`{files['test.index']}` is not a list of node numbers.", expected="one integer per line",
                        received=str(error), fix=f"Delete `{files['test.index']}` and fetch it again.") from error
    test_sorted = np.sort(test_index)
    features = sp.vstack((allx, tx)).tolil()  # (2708, 1433): allx's 1708 rows, then the 1,000 test rows
    features[test_index, :] = features[test_sorted, :]  # tx's rows belong at the positions test.index names
    labels = np.vstack((ally, ty))  # (2708, 7) one-hot
    labels[test_index, :] = labels[test_sorted, :]
    features = np.asarray(features.todense(), dtype=np.float32)
    if normalize_features:
        sums = features.sum(1, keepdims=True)
        features = np.divide(features, sums, out=np.zeros_like(features), where=sums > 0)
    n = features.shape[0]
    edges = np.array([(a, b) for a, neighbours in adjacency.items() for b in neighbours], dtype=np.int64).T  # (2, listed)
    edge_index = torch.from_numpy(np.concatenate([edges, edges[::-1]], axis=1))  # both directions
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]  # self-loops: the layers add their own
    edge_index = torch.unique(edge_index, dim=1)  # (2, 2 * undirected edges), sorted by source
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    masks[0][:len(y)] = True  # nodes 0..139: 20 per class
    masks[1][len(y):len(y) + NUM_VALIDATION] = True  # 140..639
    masks[2][torch.from_numpy(test_sorted)] = True  # 1708..2707, 1,000 nodes
    return Graph(x=torch.from_numpy(features), y=torch.from_numpy(labels.argmax(1)).long(), edge_index=edge_index,
                 train_mask=masks[0], val_mask=masks[1], test_mask=masks[2], classes=CLASSES[name], name=name)
