"""The scratch engine against torch.autograd: random expression graphs, chapter 4's case, and whole trainings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tujie.fundamentals import backprop as bp
from tujie.fundamentals.autodiff import Tensor
from tujie.fundamentals.random_graphs import random_graph


@pytest.mark.parametrize("block", range(4))
def test_random_graphs_equal_torch_autograd_in_values_and_every_gradient(block):
    for seed in range(block * 50, block * 50 + 50):  # 200 graphs in all
        mine, theirs, out, tout, _ops = random_graph(seed)
        out.backward()
        tout.backward()
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-6, atol=1e-6, err_msg=f"value, graph {seed}")
        for k, (leaf, tleaf) in enumerate(zip(mine, theirs)):
            expected = tleaf.grad.numpy() if tleaf.grad is not None else np.zeros(leaf.shape)
            np.testing.assert_allclose(leaf.grad, expected, rtol=1e-6, atol=1e-6, err_msg=f"grad of leaf {k}, graph {seed}")


def test_the_random_graphs_use_every_operation():
    used = {op for seed in range(200) for op in random_graph(seed)[4]}
    assert {"matmul", "sum(axis)", "add", "mul", "sub", "div", "tanh", "sigmoid", "relu", "exp", "log", "pow2",
            "pow-1.5", "neg", "mean"} <= used


def test_a_node_used_twice_gets_both_gradients_and_broadcasting_sums_back():
    a, b = Tensor([[1.0, 2.0, 3.0]]), Tensor([[1.0], [2.0]])   # (1, 3) and (2, 1) broadcast to (2, 3)
    out = (a * b + a).sum()
    out.backward()
    assert a.grad.tolist() == [[5.0, 5.0, 5.0]]                  # Σ over rows of b (3), plus 1 for each of the 2 rows
    assert b.grad.tolist() == [[6.0], [6.0]]                     # Σ over columns of a
    with pytest.raises(ValueError, match=r"\(2, 1\) @ \(1, 3\)|\(1, 3\) @ \(1, 3\)"):
        a @ a


def test_chapter_4_case_matches_torch_and_the_published_numbers():
    graph = bp.trace(bp.network_graph())
    by_label = {n["label"]: n for n in graph["nodes"] if n["label"]}
    # Mazur (2015): out_h1 = 0.593269992, out_o1 = 0.75136507
    assert by_label["h1"]["value"] == pytest.approx(0.593269992, abs=1e-9)
    assert by_label["ŷ"]["value"] == pytest.approx(0.75136507, abs=1e-8)
    w = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in bp.WORKED.items()}
    h1 = torch.sigmoid(w["w1"] * w["x1"] + w["w2"] * w["x2"] + w["b1"])
    h2 = torch.sigmoid(w["w3"] * w["x1"] + w["w4"] * w["x2"] + w["b1"])
    loss = 0.5 * (torch.sigmoid(w["w5"] * h1 + w["w6"] * h2 + w["b2"]) - w["y"]) ** 2
    loss.backward()
    assert by_label["L"]["value"] == pytest.approx(loss.item(), abs=1e-12)
    for name in ("x1", "x2", "w1", "w2", "w3", "w4", "b1", "w5", "w6", "b2"):
        assert by_label[name]["grad"] == pytest.approx(w[name].grad.item(), abs=1e-12), name
    # the constants (target, ½) are folded into operations, not drawn as nodes
    assert any(n["op"] == "× 0.5" for n in graph["nodes"]) and "y" not in by_label
    assert all(a in {n["id"] for n in graph["nodes"]} for a, _b in graph["edges"])


@pytest.mark.parametrize("dataset,hidden", [("moons", [8]), ("xor", [6, 6]), ("circles", [])])
def test_scratch_training_ends_where_torch_training_ends(dataset, hidden):
    x, y = bp.points_2d(dataset, n=64, seed=1)
    scratch = bp.train_scratch(x, y, hidden, epochs=8, lr=0.5, batch_size=16, seed=1, snapshots=(0, 8), grid_steps=6)
    reference = bp.train_torch(x, y, hidden, epochs=8, lr=0.5, batch_size=16, seed=1)
    assert bp.largest_difference(scratch["weights"], reference["weights"]) < 1e-6
    assert scratch["accuracy"] == reference["accuracy"]
    np.testing.assert_allclose(scratch["loss"], reference["loss"], rtol=1e-9)
    assert scratch["loss"][-1] < scratch["loss"][0]                       # it did learn
    assert [s["epoch"] for s in scratch["snapshots"]] == [0, 8]
    assert np.asarray(scratch["snapshots"][0]["logits"]).shape == (6, 6)


def test_a_wrong_gradient_would_show_as_a_difference():
    # the comparison can fail: a single SGD step with a gradient off by 1% moves the weights apart
    x, y = bp.points_2d("moons", n=32, seed=2)
    a = bp.train_torch(x, y, [4], epochs=1, lr=0.5, seed=2)
    b = bp.train_torch(x, y, [4], epochs=1, lr=0.505, seed=2)
    assert bp.largest_difference(a["weights"], b["weights"]) > 1e-4


def test_unknown_point_set_is_refused_with_the_known_ones():
    import tujie as tj

    with pytest.raises(tj.errors.ConfigError, match="moons, circles, xor"):
        bp.points_2d("spirals")
