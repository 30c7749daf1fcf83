"""Graph layers: torch_geometric's numbers behind the tujie contract, lazy sizes, clear errors; the GCN model trains."""

import doctest
import subprocess
import sys

import pytest
import torch
from torch import nn

import tujie as tj
import tujie.layers.graph as graph_module
from tujie.errors import ConfigError, ShapeError
from tujie.layers import GATConv, GCNConv, SAGEConv

pyg_nn = pytest.importorskip("torch_geometric.nn")


@pytest.fixture(scope="module")
def karate():
    """Zachary's karate club: 34 nodes, one-hot features, 156 directed edges, 4 communities (ships with PyG)."""
    from torch_geometric.datasets import KarateClub

    return KarateClub()[0]


def test_importing_tujie_layers_does_not_import_torch_geometric():
    code = "import sys, tujie.layers; assert 'torch_geometric' not in sys.modules, 'imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_gcnconv_matches_torch_geometric_with_the_same_weights(karate):
    layer = GCNConv(4, activation="relu")
    assert not layer.built and list(layer.parameters()) == []
    y = layer(karate.x, karate.edge_index)
    assert y.shape == (34, 4) and layer.in_features == 34
    reference = pyg_nn.GCNConv(34, 4)
    reference.load_state_dict(layer.conv.state_dict())
    torch.testing.assert_close(y, torch.relu(reference(karate.x, karate.edge_index)))
    weights = torch.rand(karate.edge_index.shape[1])  # (num_edges,)
    torch.testing.assert_close(layer(karate.x, karate.edge_index, weights),
                               torch.relu(reference(karate.x, karate.edge_index, weights)))


def test_gcnconv_init_equals_torch_geometric_for_the_same_seed(karate):
    torch.manual_seed(5)
    layer = GCNConv(3)
    layer(karate.x, karate.edge_index)
    torch.manual_seed(5)
    reference = pyg_nn.GCNConv(34, 3)
    for (name, ours), (_, theirs) in zip(layer.conv.named_parameters(), reference.named_parameters()):
        torch.testing.assert_close(ours, theirs, msg=name)


@pytest.mark.parametrize("concat", [True, False])
def test_gatconv_matches_torch_geometric_and_concatenates_heads(karate, concat):
    layer = GATConv(5, heads=3, concat=concat)
    y = layer(karate.x, karate.edge_index)
    assert y.shape == (34, 15 if concat else 5)
    reference = pyg_nn.GATConv(34, 5, heads=3, concat=concat)
    reference.load_state_dict(layer.conv.state_dict())
    torch.testing.assert_close(y, reference(karate.x, karate.edge_index))


@pytest.mark.parametrize("aggr", ["mean", "max"])
def test_sageconv_matches_torch_geometric(karate, aggr):
    layer = SAGEConv(6, aggr=aggr, activation="tanh")
    y = layer(karate.x, karate.edge_index)
    reference = pyg_nn.SAGEConv(34, 6, aggr=aggr)
    reference.load_state_dict(layer.conv.state_dict())
    torch.testing.assert_close(y, torch.tanh(reference(karate.x, karate.edge_index)))


@pytest.mark.parametrize("make", [lambda: GCNConv(4), lambda: GATConv(2, heads=2), lambda: SAGEConv(4)])
def test_graph_layers_build_from_a_checkpoint(karate, make):
    trained = make()
    trained(karate.x, karate.edge_index)
    fresh = make()
    fresh.load_state_dict(trained.state_dict())
    assert fresh.in_features == 34
    trained.eval(), fresh.eval()
    torch.testing.assert_close(fresh(karate.x, karate.edge_index), trained(karate.x, karate.edge_index))


def test_graph_input_errors_name_the_layer_and_the_fix():
    x, edge_index = torch.randn(4, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])
    layer = GCNConv(2)
    with pytest.raises(ShapeError, match="num_nodes, in_features"):
        layer(torch.randn(1, 4, 3), edge_index)
    with pytest.raises(ShapeError, match="num_nodes, in_features"):
        layer(torch.randn(4), edge_index)
    with pytest.raises(ShapeError, match=r"shape \(3, 2\)") as e:
        layer(x, edge_index.t())
    assert "edge_index.t().contiguous()" in str(e.value) and "'gcnconv'" in str(e.value)
    with pytest.raises(ShapeError, match="torch.int32"):
        layer(x, edge_index.int())
    with pytest.raises(ShapeError, match="x has 3 nodes"):
        layer(x[:3], edge_index)
    layer(x, edge_index)
    with pytest.raises(ShapeError, match=r"\(num_nodes, 3\)"):
        layer(torch.randn(4, 5), edge_index)


def test_graph_argument_errors():
    with pytest.raises(ConfigError, match="units"):
        GCNConv(0)
    with pytest.raises(ConfigError, match="heads"):
        GATConv(4, heads=0)
    with pytest.raises(ConfigError, match="dropout"):
        GATConv(4, dropout=1.0)


def test_gcn_model_trains_on_karate_club_to_over_90_percent(karate):
    torch.manual_seed(0)
    model = tj.models.create("gcn", in_features=34, num_classes=4)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)  # the paper's settings
    for _ in range(200):  # full batch: the whole graph is one batch
        model.train()
        loss = nn.functional.cross_entropy(model(karate.x, karate.edge_index), karate.y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(karate.x, karate.edge_index).argmax(1) == karate.y).float().mean().item()
    assert accuracy > 0.9, accuracy  # 1.0 for 7 of 8 seeds, 0.97 for the other


def test_gcn_model_sizes_and_errors(karate):
    model = tj.models.create("gcn", in_features=34, num_classes=4)
    assert sum(p.numel() for p in model.parameters()) == 34 * 16 + 16 + 16 * 4 + 4  # weights exist before any graph
    with pytest.raises(ShapeError, match="Model 'gcn'"):
        model(torch.randn(34, 10), karate.edge_index)
    lazy = tj.models.create("gcn", num_classes=4)
    assert lazy(karate.x, karate.edge_index).shape == (34, 4)
    with pytest.raises(ConfigError, match="num_classes"):
        tj.models.create("gcn", num_classes=0)


@pytest.mark.parametrize("module", [graph_module, "tujie.models.gcn"])
def test_docstring_examples_run(module):
    import importlib

    module = importlib.import_module(module) if isinstance(module, str) else module
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": nn})
    assert result.failed == 0 and result.attempted >= 2
