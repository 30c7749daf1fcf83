"""The scratch engine against torch.autograd: random expression graphs, chapter 4's case, and whole trainings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tujie.fundamentals import backprop as bp
from tujie.fundamentals.autodiff import Tensor

SHAPES = [(), (3,), (2, 3), (1, 3), (3, 2)]


def _unary(rng):
    """(engine op, torch op) pairs that keep values in their domains (log of a positive, a bounded exp)."""
    return [
        (lambda a: a.tanh(), torch.tanh),
        (lambda a: a.sigmoid(), torch.sigmoid),
        (lambda a: a.relu(), torch.relu),
        (lambda a: a.tanh().exp(), lambda a: a.tanh().exp()),
        (lambda a: (a * a + 0.5).log(), lambda a: (a * a + 0.5).log()),
        (lambda a: a ** 2, lambda a: a ** 2),
        (lambda a: a ** 3, lambda a: a ** 3),
        (lambda a: (a * a + 1.0) ** -1.5, lambda a: (a * a + 1.0) ** -1.5),
        (lambda a: -a, lambda a: -a),
        (lambda a: a.sum(), lambda a: a.sum()),
        (lambda a: a.mean(), lambda a: a.mean()),
    ][rng.integers(11)]


def _broadcastable(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _random_graph(seed: int):
    """Leaves of several shapes, 4–12 random operations, a scalar at the end: (engine leaves, torch leaves, both outputs)."""
    rng = np.random.default_rng(seed)
    leaves = [rng.normal(size=SHAPES[rng.integers(len(SHAPES))]) for _ in range(rng.integers(2, 5))]
    mine = [Tensor(v) for v in leaves]
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in leaves]
    pool = list(zip(mine, theirs))
    for _ in range(rng.integers(4, 13)):
        i, j = rng.integers(len(pool)), rng.integers(len(pool))
        (a, ta), (b, tb) = pool[i], pool[j]
        choice = rng.integers(6)
        if choice == 0 and a.data.ndim == 2 and b.data.ndim == 2 and a.shape[1] == b.shape[0]:
            pool.append((a @ b, ta @ tb))
        elif choice == 1 and a.data.ndim == 2:
            axis = int(rng.integers(2))
            pool.append((a.sum(axis=axis), ta.sum(dim=axis)))
        elif choice in (2, 3) and _broadcastable(a.shape, b.shape):
            op = [lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x - y,
                  lambda x, y: x / (y * y + 1.0), lambda x, y: 2.0 - x * 0.5 + y][rng.integers(5)]
            pool.append((op(a, b), op(ta, tb)))
        else:
            ours, torchs = _unary(rng)
            pool.append((ours(a), torchs(ta)))
    out, tout = pool[-1]
    # every node of the pool feeds the end, so every leaf gets a gradient through some path
    for node, tnode in pool[:-1]:
        out, tout = out + node.sum() * 0.1, tout + tnode.sum() * 0.1
    return mine, theirs, out.sum(), tout.sum()


@pytest.mark.parametrize("block", range(4))
def test_random_graphs_equal_torch_autograd_in_values_and_every_gradient(block):
    for seed in range(block * 50, block * 50 + 50):  # 200 graphs in all
        mine, theirs, out, tout = _random_graph(seed)
        out.backward()
        tout.backward()
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-6, atol=1e-6, err_msg=f"value, graph {seed}")
        for k, (leaf, tleaf) in enumerate(zip(mine, theirs)):
            expected = tleaf.grad.numpy() if tleaf.grad is not None else np.zeros(leaf.shape)
            np.testing.assert_allclose(leaf.grad, expected, rtol=1e-6, atol=1e-6, err_msg=f"grad of leaf {k}, graph {seed}")


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
    assert np.asarray(scratch["snapshots"][0]["probs"]).shape == (6, 6)


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
