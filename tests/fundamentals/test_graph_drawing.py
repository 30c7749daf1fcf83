"""The computation-graph drawing: matplotlib without graphviz, graphviz's DOT when both its package and `dot` exist."""

from __future__ import annotations

import sys
import types

from tujie.fundamentals import backprop as bp
from tujie.plots import graph


class _FakeDigraph:
    """Records what graphviz.Digraph is asked to draw (graphviz is not installed on every machine)."""

    def __init__(self, graph_attr=None, node_attr=None):
        self.nodes, self.edges, self.graph_attr = {}, [], graph_attr

    def node(self, name, label, **attrs):
        self.nodes[name] = label

    def edge(self, a, b, **attrs):
        self.edges.append((a, b))

    def pipe(self, format):
        return b"\x89PNG fake"


def test_graphviz_is_used_when_installed_and_gets_every_node_and_edge(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", types.SimpleNamespace(Digraph=_FakeDigraph))
    monkeypatch.setattr(graph.shutil, "which", lambda name: "/usr/bin/dot")
    traced = bp.trace(bp.network_graph())
    assert graph.graphviz_available()
    dot = graph.graphviz_source(traced["nodes"], traced["edges"])
    assert len(dot.nodes) == len(traced["nodes"]) and len(dot.edges) == len(traced["edges"])
    w5 = next(str(n["id"]) for n in traced["nodes"] if n["label"] == "w5")
    assert "w5" in dot.nodes[w5] and "0.4" in dot.nodes[w5] and "0.08217" in dot.nodes[w5]
    assert graph.computation_graph(traced["nodes"], traced["edges"]) == b"\x89PNG fake"


def test_matplotlib_draws_it_without_dot(monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    traced = bp.trace(bp.neuron_graph())
    assert not graph.graphviz_available()
    assert graph.computation_graph(traced["nodes"], traced["edges"])[:4] == b"\x89PNG"
