"""Graph attention network for node classification (Veličković et al., ICLR 2018, "Graph Attention Networks").

Two GAT layers, as the paper's transductive model (Cora, Citeseer): the hidden layer has 8
attention heads of 8 features each, concatenated (64 per node) and passed through an ELU; the
output layer has one head giving the class logits. Dropout 0.6 on each layer's input and on the
attention coefficients (a node sees a random subset of its neighbours each step). Training is
full-batch, the loss on the labelled nodes only, as for `gcn`.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import layers as L
from ..errors import ShapeError
from ._common import check_positive
from ._graph import SparseInputDropout, example_graph
from ._registry import register_model


class GAT(nn.Module):
    """Dropout → GATConv(hidden × heads, ELU) → Dropout → GATConv(num_classes, output_heads averaged): logits per node.

    Args:
        num_classes: classes per node.
        in_features: node feature size; None sizes the model on its first graph (lazy).
        hidden: features per head of the hidden layer (8 in the paper).
        heads: attention heads of the hidden layer, concatenated (8).
        output_heads: heads of the output layer, averaged (1 for Cora; 8 in the paper's PubMed model).
        dropout: on the inputs of both layers and on the attention coefficients (0.6).

    Input: x (num_nodes, in_features), edge_index (2, num_edges) int64.
    Output shape: (num_nodes, num_classes).

    Example:
        >>> model = GAT(num_classes=3, in_features=8)
        >>> x, edge_index = torch.randn(5, 8), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
        >>> model(x, edge_index).shape
        torch.Size([5, 3])
    """

    def __init__(self, num_classes: int, in_features: int | None = None, hidden: int = 8, heads: int = 8,
                 output_heads: int = 1, dropout: float = 0.6):
        super().__init__()
        check_positive("gat", num_classes=num_classes, hidden=hidden, heads=heads, output_heads=output_heads,
                       **({} if in_features is None else {"in_features": in_features}))
        self.in_features = in_features
        self.input_dropout = SparseInputDropout(dropout)  # bag-of-words features: mostly zeros
        self.conv1 = L.GATConv(hidden, heads=heads, dropout=dropout, activation="elu", name="conv1")
        self.hidden_dropout = L.Dropout(dropout, name="hidden_dropout")
        self.conv2 = L.GATConv(num_classes, heads=output_heads, concat=False, dropout=dropout, name="conv2")
        if in_features is not None:  # known sizes: weights now, so an optimizer can be made before any data
            self.conv1.build(torch.empty(0, in_features))  # (nodes, in_features): only the shape is read
            self.conv2.build(torch.empty(0, hidden * heads))

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        if self.in_features is not None and (x.ndim != 2 or x.shape[1] != self.in_features):
            raise ShapeError("Model 'gat' received node features of the wrong shape.",
                             expected=f"(num_nodes, {self.in_features})", received=f"x of shape {tuple(x.shape)}",
                             fix=f"Build the model with in_features={x.shape[-1]}, or pass the graph's node feature matrix.")
        h = self.conv1(self.input_dropout(x), edge_index)  # (num_nodes, heads * hidden)
        return self.conv2(self.hidden_dropout(h), edge_index)  # (num_nodes, num_classes)


@register_model(example_input=example_graph, output_shape=None, test_kwargs={"in_features": 8, "num_classes": 3})
def gat(num_classes: int = 7, in_features: int | None = None, hidden: int = 8, heads: int = 8, output_heads: int = 1,
        dropout: float = 0.6) -> GAT:
    """Veličković et al.'s 2-layer GAT node classifier (8 heads × 8 features, ELU, dropout 0.6; sized for Cora's 7 classes).

    On Cora (in_features=1433, num_classes=7) it has 92,373 parameters: 1433·64 weights, 2·64 attention
    and 64 bias in the hidden layer; 64·7 + 2·7 + 7 in the output layer.

    Example:
        >>> gat(num_classes=4, in_features=34)(torch.eye(34), torch.tensor([[0, 1], [1, 0]])).shape
        torch.Size([34, 4])
    """
    return GAT(num_classes=num_classes, in_features=in_features, hidden=hidden, heads=heads, output_heads=output_heads,
               dropout=dropout)
