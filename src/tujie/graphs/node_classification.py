"""Full-batch node classification over seeds, with the papers' early stopping, and the hidden embeddings in 2-D.

The whole graph is one batch: every step runs the model over all nodes and takes the
cross-entropy on the training nodes only (`graph.train_mask`). Each epoch then measures the
validation nodes, and one of two early-stopping rules decides when to stop:

- `"kipf"` (Kipf & Welling's code): stop once the validation loss exceeds the mean of the
  previous `patience` (10) epochs' losses; the final weights are the ones tested.
- `"gat"` (Veličković et al.'s code): reset a counter whenever the validation accuracy or loss
  improves, keep the weights of the epoch where both did, stop after `patience` (100) epochs
  without either; the kept weights are the ones tested.

Weight decay (L2) is Adam's `weight_decay`, on the first layer only (`decay="first_layer"`, as
Kipf & Welling) or on every parameter (`"all"`, as GAT). The test accuracy of every seed is
returned; the report gives their mean ± std beside the published figure.

Example:
    >>> from tujie.models import create
    >>> graph = toy_graph(seed=1)
    >>> run = train_node_classifier(graph, lambda: create("gcn", num_classes=2, in_features=4), epochs=60, stopping="none")
    >>> run["test_accuracy"] >= 0.9, len(run["history"])
    (True, 60)
"""

from __future__ import annotations

import copy
import time
from typing import Callable

import torch
from torch import nn

from ..errors import ConfigError
from ..utils import seed_everything
from .planetoid import Graph

STOPPING = ("kipf", "gat", "none")
DECAY = ("first_layer", "all")


def toy_graph(seed: int = 0, nodes_per_class: int = 30) -> Graph:
    """Two communities of nodes, densely linked inside and sparsely across, with noisy 4-feature rows (tests, examples).

    Example:
        >>> g = toy_graph()
        >>> g.x.shape, g.num_classes, int(g.train_mask.sum())
        (torch.Size([60, 4]), 2, 10)
    """
    generator = torch.Generator().manual_seed(seed)
    n = 2 * nodes_per_class
    y = torch.arange(n) // nodes_per_class  # (n,) 0 then 1
    x = torch.randn(n, 4, generator=generator) + 0.5 * torch.nn.functional.one_hot(y, 4).float()  # (n, 4): a weak class signal
    same = y[:, None] == y[None, :]
    chance = torch.where(same, torch.tensor(0.2), torch.tensor(0.01))
    linked = torch.triu(torch.rand(n, n, generator=generator) < chance, diagonal=1)
    edges = linked.nonzero().t()  # (2, undirected edges)
    edge_index = torch.cat([edges, edges.flip(0)], dim=1)  # (2, 2 * undirected edges)
    order = torch.randperm(n, generator=generator)
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    masks[0][order[:10]], masks[1][order[10:25]], masks[2][order[25:]] = True, True, True
    return Graph(x=x, y=y, edge_index=edge_index, train_mask=masks[0], val_mask=masks[1], test_mask=masks[2],
                 classes=("a", "b"), name="toy")


def _optimizer(model: nn.Module, lr: float, weight_decay: float, decay: str) -> torch.optim.Optimizer:
    """Adam, with weight decay on the first layer's parameters only (Kipf & Welling) or on all of them."""
    if decay not in DECAY:
        raise ConfigError(f"Unknown weight-decay rule {decay!r}.", expected=f"one of {', '.join(DECAY)}",
                          received=f"decay={decay!r}", fix="Use first_layer (Kipf & Welling) or all (Veličković et al.).")
    if decay == "all":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    first = next(name for name, child in model.named_children() if any(True for _ in child.parameters()))
    decayed = [p for n, p in model.named_parameters() if n.startswith(first + ".")]
    rest = [p for n, p in model.named_parameters() if not n.startswith(first + ".")]
    return torch.optim.Adam([{"params": decayed, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}], lr=lr)


def _measure(logits: torch.Tensor, graph: Graph, mask: torch.Tensor) -> tuple[float, float]:
    """(cross-entropy, accuracy) over the nodes of `mask`."""
    loss = nn.functional.cross_entropy(logits[mask], graph.y[mask])
    accuracy = (logits[mask].argmax(1) == graph.y[mask]).float().mean()
    return float(loss), float(accuracy)


def train_node_classifier(graph: Graph, make_model: Callable[[], nn.Module], *, epochs: int = 200, lr: float = 0.01,
                          weight_decay: float = 5e-4, decay: str = "first_layer", stopping: str = "kipf",
                          patience: int = 10, seed: int = 0) -> dict:
    """Train one model on one graph, full-batch, from one seed; its curves and accuracies.

    Args:
        graph: the graph, its labels and its train/val/test masks.
        make_model: builds a fresh model `model(x, edge_index) -> (num_nodes, num_classes)` (called after seeding).
        epochs: the most epochs (Kipf & Welling: 200).
        lr, weight_decay: Adam's (Kipf & Welling: 0.01 and 5e-4; GAT: 0.005 and 5e-4).
        decay: "first_layer" or "all" (which parameters weight decay applies to).
        stopping: "kipf", "gat" or "none" (see the module's docstring); patience: its window.
        seed: seeds torch (weights, dropout) before the model is built.

    Returns:
        {"seed", "test_accuracy", "val_accuracy", "epochs", "best_epoch", "seconds", "history": [{epoch,
        train_loss, train_accuracy, val_loss, val_accuracy}, ...], "model": the trained model (the tested weights)}.

    Example:
        >>> from tujie.models import create
        >>> run = train_node_classifier(toy_graph(), lambda: create("gat", num_classes=2, in_features=4), epochs=3,
        ...                             stopping="none")
        >>> [row["epoch"] for row in run["history"]]
        [1, 2, 3]
    """
    if stopping not in STOPPING:
        raise ConfigError(f"Unknown early-stopping rule {stopping!r}.", expected=f"one of {', '.join(STOPPING)}",
                          received=f"stopping={stopping!r}", fix="Use kipf (GCN's paper), gat (GAT's paper) or none.")
    started = time.perf_counter()
    seed_everything(seed)
    model = make_model()
    optimizer = _optimizer(model, lr, weight_decay, decay)
    history, kept, best_epoch = [], None, 0
    best_accuracy, best_loss, waited = -1.0, float("inf"), 0
    for epoch in range(1, epochs + 1):
        model.train()
        optimizer.zero_grad()
        logits = model(graph.x, graph.edge_index)  # (num_nodes, num_classes), with dropout
        loss = nn.functional.cross_entropy(logits[graph.train_mask], graph.y[graph.train_mask])
        loss.backward()
        optimizer.step()
        train_accuracy = float((logits[graph.train_mask].argmax(1) == graph.y[graph.train_mask]).float().mean())
        model.eval()
        with torch.no_grad():
            val_loss, val_accuracy = _measure(model(graph.x, graph.edge_index), graph, graph.val_mask)
        history.append({"epoch": epoch, "train_loss": float(loss.detach()), "train_accuracy": train_accuracy,
                        "val_loss": val_loss, "val_accuracy": val_accuracy})
        if stopping == "kipf":
            best_epoch = epoch
            window = [row["val_loss"] for row in history[-(patience + 1):-1]]
            if epoch > patience and val_loss > sum(window) / len(window):
                break
        elif stopping == "gat":
            if val_accuracy >= best_accuracy or val_loss <= best_loss:
                if val_accuracy >= best_accuracy and val_loss <= best_loss:
                    kept, best_epoch = copy.deepcopy(model.state_dict()), epoch
                best_accuracy, best_loss, waited = max(val_accuracy, best_accuracy), min(val_loss, best_loss), 0
            else:
                waited += 1
                if waited >= patience:
                    break
        else:
            best_epoch = epoch
    if kept is not None:
        model.load_state_dict(kept)
    model.eval()
    with torch.no_grad():
        logits = model(graph.x, graph.edge_index)  # (num_nodes, num_classes)
    return {"seed": seed, "test_accuracy": _measure(logits, graph, graph.test_mask)[1],
            "val_accuracy": _measure(logits, graph, graph.val_mask)[1], "epochs": len(history), "best_epoch": best_epoch,
            "seconds": time.perf_counter() - started, "history": history, "model": model}


def hidden_embeddings(model: nn.Module, graph: Graph, layer: str = "conv1") -> torch.Tensor:
    """The output of the model's hidden layer for every node (eval mode): (num_nodes, hidden).

    Example:
        >>> from tujie.models import create
        >>> hidden_embeddings(create("gcn", num_classes=2, in_features=4, hidden=5), toy_graph()).shape
        torch.Size([60, 5])
    """
    module = getattr(model, layer, None)
    if not isinstance(module, nn.Module):
        raise ConfigError(f"The model has no layer named {layer!r} to read embeddings from.",
                          expected="a model with a hidden graph layer `conv1` (gcn, gat)",
                          received=f"layers {', '.join(n for n, _m in model.named_children())}",
                          fix="Use the gcn or gat model.")
    seen = []
    handle = module.register_forward_hook(lambda _module, _inputs, output: seen.append(output.detach()))
    try:
        model.eval()
        with torch.no_grad():
            model(graph.x, graph.edge_index)
    finally:
        handle.remove()
    return seen[0]  # (num_nodes, hidden)


def project_2d(embeddings: torch.Tensor, method: str = "tsne", seed: int = 0) -> torch.Tensor:
    """(num_nodes, hidden) to (num_nodes, 2): scikit-learn's t-SNE (as Kipf & Welling's and GAT's figures) or PCA.

    Example:
        >>> project_2d(torch.randn(40, 6), method="pca").shape
        torch.Size([40, 2])
    """
    import numpy as np

    values = embeddings.double().numpy()
    if method == "tsne":
        from sklearn.manifold import TSNE

        points = TSNE(n_components=2, init="pca", perplexity=min(30.0, (len(values) - 1) / 3), random_state=seed).fit_transform(values)
    elif method == "pca":
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=seed).fit_transform(values)
    else:
        raise ConfigError(f"Unknown projection {method!r}.", expected="tsne or pca", received=f"embedding={method!r}",
                          fix="Use tsne (the papers' figures) or pca (instant).")
    return torch.from_numpy(np.asarray(points, dtype=np.float32))  # (num_nodes, 2)
