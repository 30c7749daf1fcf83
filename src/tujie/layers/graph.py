"""Graph layers (GCN, GAT, GraphSAGE): torch_geometric's message passing behind the tujie layer contract.

Each layer takes node features and an edge list, `layer(x, edge_index)`, sizes itself on
the first call like `Dense`, and applies an optional activation. The work is done by the
matching `torch_geometric.nn` layer (in `layer.conv` once built), so results and weight
initialisation are exactly PyG's. torch_geometric is imported only when a graph layer is
created, so `import tujie` stays fast and works without it.

Shapes: x (num_nodes, in_features) float; edge_index (2, num_edges) int64, row 0 the source
and row 1 the target node of each edge (PyG's layout; list both directions for an undirected graph).
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, ShapeError
from ._base import Layer
from .activations import get_activation

__all__ = ["GCNConv", "GATConv", "SAGEConv"]


def _pyg_nn():
    """torch_geometric.nn, imported on first use (it takes a second and is an optional dependency)."""
    try:
        import torch_geometric.nn as pyg_nn
    except ImportError as error:
        raise ImportError("Graph layers need torch_geometric, which could not be imported. "
                          f"Received: {error}. Fix: pip install torch_geometric -c constraints.txt") from error
    return pyg_nn


class _GraphConv(Layer):
    """Shared by the graph layers: argument and input checks, lazy creation of the PyG layer, activation."""

    weight_key = "lin.weight"  # the PyG weight whose second dimension is the input size (read from checkpoints)

    def __init__(self, units: int, activation=None, name: str | None = None):
        super().__init__(name)
        layer = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ConfigError(f"Invalid value received for argument `units` of {layer}.", expected="a positive integer",
                              received=f"units={units!r}", fix=f"Pass the output features per node, e.g. {layer}(16).")
        _pyg_nn()  # a missing torch_geometric is reported here, where the model is declared
        self.units = units
        self.activation_name = activation if isinstance(activation, str) or activation is None else getattr(activation, "__name__", "custom")
        self.activation = get_activation(activation)
        self.in_features: int | None = None

    def _make(self, pyg_nn, in_features: int) -> torch.nn.Module:
        raise NotImplementedError

    def build(self, x: torch.Tensor) -> None:
        if x.ndim != 2:
            raise self.shape_error(x, "node features (num_nodes, in_features)",
                                   "Pass one graph's node features as a 2-D tensor; batch graphs PyG-style into one "
                                   "disjoint graph rather than stacking them.")
        self._create(x.shape[1], x.device, x.dtype if x.is_floating_point() else torch.get_default_dtype())

    def _create(self, in_features: int, device=None, dtype=None) -> None:
        self.in_features = in_features
        self.conv = self._make(_pyg_nn(), in_features).to(device=device, dtype=dtype)
        self.built = True

    def _check(self, x: torch.Tensor, edge_index: torch.Tensor) -> None:
        if not torch.is_tensor(x):
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) received node features that are not a tensor.",
                             expected="a (num_nodes, in_features) float tensor", received=f"x of type {type(x).__name__}",
                             fix="Call layer(data.x, data.edge_index) with a PyG Data object's tensors.")
        if x.ndim != 2 or (self.built and x.shape[1] != self.in_features):
            raise self.shape_error(x, f"node features (num_nodes, {self.in_features or 'in_features'})",
                                   "Pass one graph's node features as a 2-D tensor (num_nodes, features).")
        layer = f"Layer '{self.name}' ({type(self).__name__})"
        if not torch.is_tensor(edge_index) or edge_index.ndim != 2 or edge_index.shape[0] != 2 or edge_index.dtype != torch.int64:
            received = (f"edge_index of shape {tuple(edge_index.shape)} and dtype {edge_index.dtype}" if torch.is_tensor(edge_index)
                        else f"edge_index of type {type(edge_index).__name__}")
            raise ShapeError(f"{layer} received an edge_index of the wrong shape or dtype.",
                             expected="a (2, num_edges) int64 tensor: source node ids in row 0, target node ids in row 1",
                             received=received, fix="Transpose an edge list of shape (num_edges, 2) with "
                                                    "edge_index.t().contiguous(), and convert ids with .long().")
        if edge_index.numel() and edge_index.device.type != "meta":
            low, high = (int(v) for v in torch.aminmax(edge_index))  # one cheap pass, for an error in the user's terms
            if low < 0 or high >= x.shape[0]:
                raise ShapeError(f"{layer} received an edge_index naming nodes that x does not have.",
                                 expected=f"node ids in [0, {x.shape[0] - 1}] (x has {x.shape[0]} nodes)",
                                 received=f"node ids from {low} to {high}",
                                 fix="Pass the whole graph's node features, or renumber the edges of a subgraph "
                                     "(torch_geometric.utils.subgraph(..., relabel_nodes=True)).")

    def _run(self, x: torch.Tensor, edge_index: torch.Tensor, *extra) -> torch.Tensor:
        self._check(x, edge_index)
        if not self.built:
            self.build(x)
        y = self.conv(x, edge_index, *extra)  # (num_nodes, units) or (num_nodes, heads * units)
        return y if self.activation is None else self.activation(y)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A fresh lazy layer learns its size from the checkpoint, so loading needs no dummy graph.
        weight = state_dict.get(prefix + "conv." + self.weight_key)
        if not self.built and weight is not None:
            self._create(weight.shape[1], weight.device, weight.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, units={self.units}, activation={self.activation_name}"


class GCNConv(_GraphConv):
    """Graph convolution of Kipf & Welling (2017): each node averages its neighbours' transformed features.

    `activation(D^-1/2 (A + I) D^-1/2 X W + b)`, computed by `torch_geometric.nn.GCNConv`.

    Args:
        units: output features per node.
        activation: a name, a callable, or None.
        use_bias: add a learned bias.
        improved: weigh self-loops by 2 (A + 2I), as in the paper's "renormalization" variant.
        add_self_loops: add each node as its own neighbour; normalize: apply the symmetric normalization.
        cached: compute the normalized graph once and reuse it (only for a fixed graph, transductive training).

    Input: x (num_nodes, in_features) float, edge_index (2, num_edges) int64, and optionally
    edge_weight (num_edges,). Output shape: (num_nodes, units).

    Example:
        >>> x = torch.randn(4, 3)
        >>> edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])  # a path 0-1-2-3, both directions
        >>> GCNConv(8, activation="relu")(x, edge_index).shape
        torch.Size([4, 8])
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True, improved: bool = False,
                 add_self_loops: bool = True, normalize: bool = True, cached: bool = False, name: str | None = None):
        super().__init__(units, activation, name)
        self.use_bias, self.improved, self.add_self_loops, self.normalize, self.cached = (
            use_bias, improved, add_self_loops, normalize, cached)

    def _make(self, pyg_nn, in_features: int) -> torch.nn.Module:
        return pyg_nn.GCNConv(in_features, self.units, improved=self.improved, cached=self.cached,
                              add_self_loops=self.add_self_loops, normalize=self.normalize, bias=self.use_bias)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        return self._run(x, edge_index, edge_weight)


class GATConv(_GraphConv):
    """Graph attention of Veličković et al. (2018): each node weighs its neighbours by learned attention.

    Computed by `torch_geometric.nn.GATConv`; with several heads, their outputs are
    concatenated (hidden layers) or averaged (`concat=False`, the paper's output layer).

    Args:
        units: output features per node and head.
        heads: number of attention heads.
        concat: concatenate the heads (output heads * units) or average them (output units).
        dropout: dropout on the attention coefficients during training (the paper uses 0.6).
        negative_slope: of the LeakyReLU inside the attention score.
        add_self_loops: let each node attend to itself.
        activation: a name, a callable, or None; use_bias: add a learned bias.

    Input: x (num_nodes, in_features) float, edge_index (2, num_edges) int64.
    Output shape: (num_nodes, heads * units) with concat, else (num_nodes, units).

    Example:
        >>> x, edge_index = torch.randn(3, 5), torch.tensor([[0, 1, 2], [1, 2, 0]])
        >>> GATConv(4, heads=2, activation="elu")(x, edge_index).shape
        torch.Size([3, 8])
        >>> GATConv(4, heads=2, concat=False)(x, edge_index).shape
        torch.Size([3, 4])
    """

    def __init__(self, units: int, heads: int = 1, concat: bool = True, dropout: float = 0.0, negative_slope: float = 0.2,
                 add_self_loops: bool = True, activation=None, use_bias: bool = True, name: str | None = None):
        super().__init__(units, activation, name)
        if isinstance(heads, bool) or not isinstance(heads, int) or heads < 1:
            raise ConfigError("Invalid value received for argument `heads` of GATConv.", expected="a positive integer",
                              received=f"heads={heads!r}", fix="Pass heads=8 (the paper's hidden layers) or heads=1.")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError("Invalid value received for argument `dropout` of GATConv.", expected="0 <= dropout < 1",
                              received=f"dropout={dropout!r}", fix="Pass dropout=0.6 (the paper's) or 0.")
        self.heads, self.concat, self.dropout, self.negative_slope, self.add_self_loops, self.use_bias = (
            heads, concat, dropout, negative_slope, add_self_loops, use_bias)

    def _make(self, pyg_nn, in_features: int) -> torch.nn.Module:
        return pyg_nn.GATConv(in_features, self.units, heads=self.heads, concat=self.concat, negative_slope=self.negative_slope,
                              dropout=self.dropout, add_self_loops=self.add_self_loops, bias=self.use_bias)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self._run(x, edge_index)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", heads={self.heads}, concat={self.concat}"


class SAGEConv(_GraphConv):
    """GraphSAGE of Hamilton et al. (2017): a node's own features plus an aggregate of its neighbours'.

    `activation(W1 x_i + W2 aggr_{j in N(i)} x_j)`, computed by `torch_geometric.nn.SAGEConv`.

    Args:
        units: output features per node.
        aggr: how neighbours are combined: "mean", "max", "sum", ...
        normalize: L2-normalize each output vector.
        root_weight: include the node's own features (W1 x_i).
        activation: a name, a callable, or None; use_bias: add a learned bias.

    Input: x (num_nodes, in_features) float, edge_index (2, num_edges) int64. Output shape: (num_nodes, units).

    Example:
        >>> x, edge_index = torch.randn(3, 5), torch.tensor([[0, 1, 2], [1, 2, 0]])
        >>> SAGEConv(6, aggr="max")(x, edge_index).shape
        torch.Size([3, 6])
    """

    weight_key = "lin_l.weight"

    def __init__(self, units: int, aggr: str = "mean", normalize: bool = False, root_weight: bool = True, activation=None,
                 use_bias: bool = True, name: str | None = None):
        super().__init__(units, activation, name)
        self.aggr, self.normalize, self.root_weight, self.use_bias = aggr, normalize, root_weight, use_bias

    def _make(self, pyg_nn, in_features: int) -> torch.nn.Module:
        return pyg_nn.SAGEConv(in_features, self.units, aggr=self.aggr, normalize=self.normalize,
                               root_weight=self.root_weight, bias=self.use_bias)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self._run(x, edge_index)
