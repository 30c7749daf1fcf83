"""Graph convolutional network for node classification (Kipf & Welling, ICLR 2017, "Semi-Supervised
Classification with Graph Convolutional Networks").

Two GCN layers with dropout before each: node features and the graph's edges in, one row of
class logits per node out. Training is full-batch: the whole graph is one batch, and the
loss is taken on the labelled nodes only (a mask over the rows of the output).
"""

from __future__ import annotations

import torch
from torch import nn

from .. import layers as L
from ..errors import ShapeError
from ._common import check_positive
from ._graph import SparseInputDropout
from ._registry import register_model


class GCN(nn.Module):
    """Dropout → GCNConv(hidden, ReLU) → Dropout → GCNConv(num_classes): logits for every node.

    Args:
        num_classes: classes per node.
        in_features: node feature size; None sizes the model on its first graph (lazy, as tujie layers).
        hidden: units of the hidden GCN layer (16 in the paper).
        dropout: dropout rate on the input and hidden features (0.5 in the paper).

    Input: x (num_nodes, in_features), edge_index (2, num_edges) int64.
    Output shape: (num_nodes, num_classes).

    Example:
        >>> model = GCN(num_classes=3, in_features=8)
        >>> x, edge_index = torch.randn(5, 8), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
        >>> model(x, edge_index).shape
        torch.Size([5, 3])
    """

    def __init__(self, num_classes: int, in_features: int | None = None, hidden: int = 16, dropout: float = 0.5):
        super().__init__()
        check_positive("gcn", num_classes=num_classes, hidden=hidden, **({} if in_features is None else {"in_features": in_features}))
        self.in_features = in_features
        self.input_dropout = SparseInputDropout(dropout)  # bag-of-words features: mostly zeros
        self.conv1 = L.GCNConv(hidden, activation="relu", name="conv1")
        self.hidden_dropout = L.Dropout(dropout, name="hidden_dropout")
        self.conv2 = L.GCNConv(num_classes, name="conv2")
        if in_features is not None:  # known sizes: create the weights now, so an optimizer can be made before any data
            self.conv1.build(torch.empty(0, in_features))  # (nodes, in_features): only the shape is read
            self.conv2.build(torch.empty(0, hidden))

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        if self.in_features is not None and (x.ndim != 2 or x.shape[1] != self.in_features):
            raise ShapeError("Model 'gcn' received node features of the wrong shape.",
                             expected=f"(num_nodes, {self.in_features})", received=f"x of shape {tuple(x.shape)}",
                             fix=f"Build the model with in_features={x.shape[-1]}, or pass the graph's node feature matrix.")
        h = self.conv1(self.input_dropout(x), edge_index)  # (num_nodes, hidden)
        return self.conv2(self.hidden_dropout(h), edge_index)  # (num_nodes, num_classes)


def _example_graph(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A ring over batch * 5 nodes with 8 features each, edges in both directions."""
    n = batch * 5
    source = torch.arange(n)
    target = (source + 1) % n
    edge_index = torch.cat([torch.stack([source, target]), torch.stack([target, source])], dim=1)  # (2, 2n)
    return torch.randn(n, 8), edge_index


@register_model(example_input=_example_graph, output_shape=None, test_kwargs={"in_features": 8, "num_classes": 3})
def gcn(num_classes: int = 7, in_features: int | None = None, hidden: int = 16, dropout: float = 0.5) -> GCN:
    """Kipf & Welling's 2-layer GCN node classifier (hidden 16, dropout 0.5; defaults sized for Cora's 7 classes).

    On Cora (in_features=1433, num_classes=7) it has 1433·16 + 16 + 16·7 + 7 = 23,063 parameters.

    Example:
        >>> gcn(num_classes=4, in_features=34)(torch.eye(34), torch.tensor([[0, 1], [1, 0]])).shape
        torch.Size([34, 4])
    """
    return GCN(num_classes=num_classes, in_features=in_features, hidden=hidden, dropout=dropout)
