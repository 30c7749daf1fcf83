"""Graphs (the practice notes' graph chapter): the Planetoid citation graphs and node classification over seeds.

- `planetoid`: Cora's eight Planetoid files, checked and unpickled safely, into a `Graph` with the standard split.
- `node_classification`: full-batch training of a GCN or GAT over seeds with the papers' early stopping,
  test accuracy per seed, and the learned hidden embeddings in two dimensions (t-SNE).

Example:
    >>> from tujie.graphs import CLASSES
    >>> len(CLASSES["cora"])
    7
"""

from .planetoid import CLASSES, Graph, load_planetoid, planetoid_files

__all__ = ["CLASSES", "Graph", "load_planetoid", "planetoid_files"]
