"""What the seeds claim, checked: one test per checkable formula, number or code fragment.

The seeds are ../shared/seeds/000 (the 20-chapter book), 001 and 002 (practice notes with
PyTorch/Keras code) and 003 (an MNIST walkthrough). docs/textbook.md is the table: each claim,
where it is, the test here that checks it, what was measured and the verdict. A test asserts
the verdict, so a refuted claim has a test that asserts how it fails (the seed's formula is
compared with torch and the difference is required).

Code fragments live in tests/seed_fragments/ (verbatim, changes marked `# CHANGED:`) and run
here on tiny synthetic data. Long training is not here: the table cites recipes and benchmarks.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tujie as tj

FRAGMENTS = Path(__file__).parent / "seed_fragments"
DATA = Path(os.environ.get("TUJIE_DATA", "/nonexistent"))


def run_fragment(name: str, **namespace) -> dict:
    """Execute tests/seed_fragments/<name> with `namespace` as its globals; return them afterwards."""
    path = FRAGMENTS / name
    scope = {"__name__": "seed_fragment", "torch": torch, **namespace}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), scope)  # noqa: S102 - our own files
    return scope


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _fd_close(a, b, tol=1e-6):
    return torch.allclose(a, b, atol=tol, rtol=0)


@functools.cache
def _mnist_idx(name: str) -> np.ndarray:
    """One of the four original MNIST files in $TUJIE_DATA, as the uint8 array its header describes."""
    from tujie.data.vision import read_idx
    return read_idx(DATA / "mnist" / f"{name}-idx{3 if 'images' in name else 1}-ubyte.gz", 3 if "images" in name else 1)


# =============================================================== activations (000 §2.1, §3.1; 001 二.4; 002 二.3)
Z = torch.linspace(-8, 8, 161, dtype=torch.float64)

ACTIVATIONS = {
    # name: (the seed's formula, torch's function, the derivative the formula implies)
    "sigmoid": (lambda z: 1 / (1 + torch.exp(-z)), torch.sigmoid, lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z))),
    "tanh": (lambda z: (torch.exp(z) - torch.exp(-z)) / (torch.exp(z) + torch.exp(-z)), torch.tanh,
             lambda z: 1 - torch.tanh(z) ** 2),
    "relu": (lambda z: torch.maximum(torch.zeros_like(z), z), torch.relu, lambda z: (z > 0).double()),
    "leaky_relu": (lambda z: torch.maximum(0.01 * z, z), lambda z: F.leaky_relu(z, 0.01),
                   lambda z: torch.where(z > 0, torch.ones_like(z), torch.full_like(z, 0.01))),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_formula_and_derivative_equal_torch(name):
    formula, theirs, derivative = ACTIVATIONS[name]
    z = Z[Z != 0].clone().requires_grad_()  # ReLU's derivative is undefined at 0
    out = formula(z)
    assert _fd_close(out, theirs(z), 1e-12)
    (grad,) = torch.autograd.grad(out.sum(), z)
    assert _fd_close(grad, derivative(z.detach()), 1e-12)


def test_softmax_formula_is_a_probability_distribution():
    x = torch.randn(5, 10, dtype=torch.float64)
    seed = torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True)  # f(x_i) = exp(x_i) / Σ_j exp(x_j)
    assert _fd_close(seed, torch.softmax(x, dim=1), 1e-12)
    assert ((seed > 0) & (seed < 1)).all() and _fd_close(seed.sum(1), torch.ones(5, dtype=torch.float64), 1e-12)


def test_output_ranges_of_sigmoid_tanh_relu():
    z = torch.linspace(-15, 15, 301, dtype=torch.float64)  # beyond ±19, float64 rounds tanh to ±1 exactly
    s, t, r = torch.sigmoid(z), torch.tanh(z), torch.relu(z)
    assert s.min() > 0 and s.max() < 1 and t.min() > -1 and t.max() < 1 and r.min() == 0
    assert r.max() == 15  # unbounded above: grows with its input


def test_sigmoid_and_tanh_saturate_relu_does_not():
    # 000 §3.1: "对于大数值或小数值而言，梯度几乎为零" for sigmoid (and tanh); ReLU does not saturate for z > 0.
    z = torch.tensor([-10.0, 10.0], dtype=torch.float64, requires_grad=True)
    for f, bound in [(torch.sigmoid, 5e-5), (torch.tanh, 1e-8)]:
        (g,) = torch.autograd.grad(f(z).sum(), z)
        assert (g.abs() < bound).all()
    (g,) = torch.autograd.grad(torch.relu(z).sum(), z)
    assert g.tolist() == [0.0, 1.0]


# =============================================================== losses (000 §3.2, §4.2; 001 二.4; 002 三.2)
def test_mse_formula_equals_torch():
    y, y_hat = torch.randn(32, dtype=torch.float64), torch.randn(32, dtype=torch.float64)
    assert _fd_close(((y - y_hat) ** 2).mean(), nn.MSELoss()(y_hat, y), 1e-12)
    # 000 §4.2 writes L = 1/(2N) Σ(y - ŷ)²: half the MSE, so that dL/dŷ_i = (ŷ_i - y_i) / N exactly
    y_hat.requires_grad_()
    (g,) = torch.autograd.grad(((y - y_hat) ** 2).sum() / (2 * 32), y_hat)
    assert _fd_close(g, (y_hat - y).detach() / 32, 1e-12)


def test_binary_cross_entropy_formula_equals_torch():
    p = torch.rand(64, dtype=torch.float64) * 0.98 + 0.01
    y = (torch.rand(64) > 0.5).double()
    seed = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()  # 000 §3.2.1, 001 BCE
    assert _fd_close(seed, nn.BCELoss()(p, y), 1e-12)
    logits = torch.logit(p)  # 001: BCEWithLogitsLoss = Sigmoid + BCE
    assert _fd_close(nn.BCEWithLogitsLoss()(logits, y), nn.BCELoss()(torch.sigmoid(logits), y), 1e-12)


def test_categorical_cross_entropy_formula_and_crossentropyloss_takes_logits():
    logits = torch.randn(16, 10, dtype=torch.float64)
    labels = torch.randint(0, 10, (16,))
    one_hot = F.one_hot(labels, 10).double()
    seed = -(one_hot * torch.log(torch.softmax(logits, 1))).sum(1).mean()  # -(1/N) ΣΣ y_i log ŷ_i
    assert _fd_close(seed, nn.CrossEntropyLoss()(logits, labels), 1e-12)  # 001: softmax is inside the loss
    # feeding probabilities instead (a softmax twice) gives a different, wrong number
    assert not torch.allclose(nn.CrossEntropyLoss()(torch.softmax(logits, 1), labels), seed, atol=1e-3)


def test_softmax_cross_entropy_gradient_is_prediction_minus_target():
    logits = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 5, (8,))
    (g,) = torch.autograd.grad(F.cross_entropy(logits, labels, reduction="sum"), logits)
    assert _fd_close(g, torch.softmax(logits, 1).detach() - F.one_hot(labels, 5).double(), 1e-12)


def test_mse_gives_the_smaller_gradient_on_a_saturated_sigmoid():
    # 000 §3.2.2: "MSE更容易导致梯度较大，而交叉熵损失则梯度计算更加稳定". With a sigmoid output that is
    # confidently wrong (z = -10, y = 1), dL/dz is σ(z) - y ≈ -1 for cross-entropy and
    # 2(σ(z) - y)σ'(z) ≈ -9e-5 for MSE: MSE's gradient vanishes, it is not the larger one.
    z = torch.tensor([-10.0], dtype=torch.float64, requires_grad=True)
    y = torch.ones(1, dtype=torch.float64)
    (g_ce,) = torch.autograd.grad(F.binary_cross_entropy(torch.sigmoid(z), y), z)
    (g_mse,) = torch.autograd.grad(F.mse_loss(torch.sigmoid(z), y), z)
    assert abs(g_ce.item() + 1) < 1e-4 and abs(g_mse.item()) < 1e-4
    assert abs(g_mse.item()) < abs(g_ce.item()) / 1000


def test_smooth_l1_gradient_is_bounded_where_mse_grows():
    # 001: Smooth L1 "对离群点比MSE更鲁棒": its gradient is capped at 1, MSE's grows with the error.
    err = torch.tensor([0.5, 5.0, 50.0], dtype=torch.float64, requires_grad=True)
    zero = torch.zeros(3, dtype=torch.float64)
    (g_l1,) = torch.autograd.grad(F.smooth_l1_loss(err, zero, reduction="sum"), err)
    (g_l2,) = torch.autograd.grad(F.mse_loss(err, zero, reduction="sum"), err)
    assert g_l1.tolist() == [0.5, 1.0, 1.0] and g_l2.tolist() == [1.0, 10.0, 100.0]


def test_hinge_formula_is_zero_beyond_the_margin():
    y = torch.tensor([1.0, 1.0, -1.0, -1.0])
    score = torch.tensor([2.0, 0.5, -3.0, 0.2])
    hinge = torch.clamp(1 - y * score, min=0)  # 001: max(0, 1 - y_true * y_pred)
    assert hinge.tolist() == pytest.approx([0.0, 0.5, 0.0, 1.2])
    # torch's two-class MultiMarginLoss on scores (-s/2, s/2) is the same function, halved per class
    two = torch.stack([-score / 2, score / 2], 1)
    assert torch.allclose(nn.MultiMarginLoss(reduction="none")(two, ((y + 1) / 2).long()), hinge / 2)


# =============================================================== gradients and backprop (000 §1.2, ch.4; 001 一)
def test_gradient_points_up_not_down():
    # 000 §1.2: "梯度：…表示函数在某点的最陡下降方向". Among unit directions, the gradient gives the
    # largest directional derivative (steepest ascent); the negative gradient is the descent.
    torch.manual_seed(0)
    a = torch.randn(3, 3, dtype=torch.float64)
    f = lambda x: (x @ a @ a.T * x).sum() + x.sum()
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f(x), x)
    u = g / g.norm()
    eps = 1e-3
    assert f(x + eps * u) > f(x) > f(x - eps * u)
    directions = torch.randn(500, 3, dtype=torch.float64)
    directions /= directions.norm(dim=1, keepdim=True)
    assert (directions @ g).max() <= g.norm() + 1e-12  # no direction rises faster than +g


def test_chain_rule_and_weight_gradient_equal_autograd_on_a_2_2_1_network():
    # 000 §4.3: ∂L/∂w = ∂L/∂a · ∂a/∂z · ∂z/∂w and ∂L/∂w_ij = a_i · ∂L/∂z_j, with §4.2's L = 1/(2N) Σ(y - ŷ)².
    torch.manual_seed(1)
    x = torch.randn(4, 2, dtype=torch.float64)  # N = 4 examples, 2 inputs
    y = torch.rand(4, 1, dtype=torch.float64)
    w1 = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)  # w1[i, j]: input i → hidden j
    b1 = torch.randn(2, dtype=torch.float64, requires_grad=True)
    w2 = torch.randn(2, 1, dtype=torch.float64, requires_grad=True)
    b2 = torch.randn(1, dtype=torch.float64, requires_grad=True)
    z1 = x @ w1 + b1; a1 = torch.sigmoid(z1)   # (4, 2)
    z2 = a1 @ w2 + b2; a2 = torch.sigmoid(z2)  # (4, 1)
    loss = ((y - a2) ** 2).sum() / (2 * 4)
    auto = torch.autograd.grad(loss, [w1, b1, w2, b2])
    with torch.no_grad():  # the book's formulas, layer by layer
        dL_da2 = (a2 - y) / 4
        dL_dz2 = dL_da2 * a2 * (1 - a2)          # ∂L/∂a · ∂a/∂z
        dL_dw2 = a1.T @ dL_dz2                   # ∂L/∂w_ij = a_i · ∂L/∂z_j, summed over examples
        dL_dz1 = (dL_dz2 @ w2.T) * a1 * (1 - a1)  # the same step, one layer down
        dL_dw1 = x.T @ dL_dz1
    for mine, theirs in zip([dL_dw1, dL_dz1.sum(0), dL_dw2, dL_dz2.sum(0)], auto):
        assert _fd_close(mine, theirs, 1e-12)


def test_gradient_descent_update_equals_torch_sgd():
    # 000 §4.4 / 001 一: w_new = w_old - η ∇L
    torch.manual_seed(2)
    w = torch.randn(5, dtype=torch.float64, requires_grad=True)
    target = torch.randn(5, dtype=torch.float64)
    opt = torch.optim.SGD([w], lr=0.1)
    w_before = w.detach().clone()
    ((w - target) ** 2).sum().backward()
    expected = w_before - 0.1 * w.grad
    opt.step()
    assert _fd_close(w.detach(), expected, 1e-15)


def test_autograd_fragment_of_001():
    ns = run_fragment("f001_layers.py")
    assert ns["x"].grad.tolist() == [1.0, 1.0]  # y = x.sum(); y.backward(); print(x.grad)
    assert ns["model"](torch.randn(3, 10)).shape == (3, 1)


# =============================================================== optimizers (001 二.4; 002 三.4; 003 §2.4)
def _quadratic_steps(opt_cls, steps=20, **kw):
    torch.manual_seed(3)
    w = torch.randn(4, dtype=torch.float64, requires_grad=True)
    opt = opt_cls([w], **kw)
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        (w ** 2 * torch.arange(1, 5)).sum().backward()
        opt.step()
        traj.append(w.detach().clone())
    return traj


def test_momentum_formula_of_001_equals_torch_sgd_momentum():
    # 001: v = momentum*v - lr*∇w; w = w + v. torch keeps b = μ b + g and steps w -= lr b: with a
    # constant learning rate, v = -lr·b and the two give the same iterates.
    theirs = _quadratic_steps(torch.optim.SGD, lr=0.05, momentum=0.9)
    torch.manual_seed(3)
    w = torch.randn(4, dtype=torch.float64)
    v = torch.zeros(4, dtype=torch.float64)
    for step in range(20):
        grad = 2 * w * torch.arange(1, 5)
        v = 0.9 * v - 0.05 * grad
        w = w + v
        assert _fd_close(w, theirs[step], 1e-12)


def test_rmsprop_and_adagrad_formulas_equal_torch():
    # 001: RMSprop divides by the root of an exponential moving average of squared gradients;
    # Adagrad by the root of their running sum, so its effective step lr/√G only ever shrinks.
    for name, kw in [("rmsprop", {"lr": 0.01, "alpha": 0.99}), ("adagrad", {"lr": 0.01})]:
        theirs = _quadratic_steps(torch.optim.RMSprop if name == "rmsprop" else torch.optim.Adagrad, **kw)
        torch.manual_seed(3)
        w = torch.randn(4, dtype=torch.float64)
        acc = torch.zeros(4, dtype=torch.float64)
        effective = []
        for step in range(20):
            grad = 2 * w * torch.arange(1, 5)
            acc = 0.99 * acc + 0.01 * grad ** 2 if name == "rmsprop" else acc + grad ** 2
            effective.append(kw["lr"] / (acc.sqrt() + 1e-10))
            w = w - kw["lr"] * grad / (acc.sqrt() + (1e-8 if name == "rmsprop" else 1e-10))
            assert _fd_close(w, theirs[step], 1e-9)
        if name == "adagrad":
            assert all((later <= earlier).all() for earlier, later in itertools.pairwise(effective))


@pytest.mark.parametrize("opt", ["optimizer", "adam", "rmsprop", "adagrad", "adadelta"])
def test_optimizer_lines_of_001_run_and_descend(opt):
    ns = run_fragment("f001_layers.py")
    model, optimizer = ns["model"], ns[opt]
    torch.manual_seed(4)
    x, y = torch.randn(64, 10), torch.randn(64, 1)
    before = F.mse_loss(model(x), y).item()
    for _ in range(30):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    assert F.mse_loss(model(x), y).item() < before


def test_weight_decay_is_the_gradient_of_half_lambda_w_squared():
    # 001: Adam(..., weight_decay=0.01) "L2正则化强度0.01"; 002: Loss + λ Σ w². torch adds
    # weight_decay·w to the gradient, the gradient of (weight_decay/2) Σ w²: 002's λ is half of it.
    torch.manual_seed(5)
    w = torch.randn(6, dtype=torch.float64, requires_grad=True)
    data_loss = lambda: (w.sum() - 1) ** 2
    opt = torch.optim.SGD([w], lr=0.1, weight_decay=0.01)
    start = w.detach().clone()
    data_loss().backward()
    opt.step()
    w2 = start.clone().requires_grad_()
    (g,) = torch.autograd.grad((w2.sum() - 1) ** 2 + 0.005 * (w2 ** 2).sum(), w2)  # λ = 0.01 / 2
    assert _fd_close(w.detach(), start - 0.1 * g, 1e-14)
    # L1 (001, 002): the penalty's gradient is λ·sign(w), pushing every weight by the same amount
    (g1,) = torch.autograd.grad(0.01 * w2.abs().sum(), w2)
    assert _fd_close(g1, 0.01 * torch.sign(start), 1e-15)


# =============================================================== layers (001 二.2; 002 四; 000 ch.6)
def test_dense_layer_has_x_times_y_weights_and_y_biases():
    ns = run_fragment("f001_layers.py")
    fc = ns["fc_layer"]
    assert fc.weight.numel() == 128 * 64 and fc.bias.numel() == 64


@pytest.mark.parametrize("size", [5, 28, 32, 33])
@pytest.mark.parametrize("kernel, stride, padding", [(1, 1, 0), (3, 1, 1), (3, 2, 1), (4, 1, 2), (5, 1, 0), (5, 2, 2), (7, 3, 3)])
def test_conv_output_size_formula(size, kernel, stride, padding):
    conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
    out = conv(torch.zeros(1, 1, size, size)).shape[-1]
    assert out == math.floor((size + 2 * padding - kernel) / stride) + 1  # 001's formula


def test_same_padding_rule_holds_for_odd_kernels_only():
    # 001: "当 padding = kernel_size // 2 且 stride=1 时，通常能保持 H_out = H_in"
    for k in (1, 3, 5, 7):
        assert nn.Conv2d(1, 1, k, padding=k // 2)(torch.zeros(1, 1, 28, 28)).shape[-1] == 28
    for k in (2, 4, 6):
        assert nn.Conv2d(1, 1, k, padding=k // 2)(torch.zeros(1, 1, 28, 28)).shape[-1] == 29  # one more


def test_convolution_formula_is_cross_correlation_as_torch_computes():
    # 000 §6.2.1: y_ij = b + Σ_m Σ_n x_{i+m, j+n} w_mn; 002 四.2 the same without b. No kernel flip.
    torch.manual_seed(6)
    x = torch.randn(1, 1, 6, 7, dtype=torch.float64)
    w = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    b = torch.randn(1, dtype=torch.float64)
    seed = torch.empty(4, 5, dtype=torch.float64)
    for i in range(4):
        for j in range(5):
            seed[i, j] = b + sum(x[0, 0, i + m, j + n] * w[0, 0, m, n] for m in range(3) for n in range(3))
    assert _fd_close(seed, F.conv2d(x, w, b)[0, 0], 1e-12)
    flipped = F.conv2d(x, w.flip(-1, -2), b)[0, 0]  # the textbook-of-signals convolution would differ
    assert not torch.allclose(seed, flipped)


def test_pooling_halves_and_takes_max_or_mean():
    ns = run_fragment("f001_layers.py")
    x = torch.randn(2, 3, 8, 6)
    out = ns["max_pool_layer"](x)
    assert out.shape == (2, 3, 4, 3)
    blocks = x.unfold(2, 2, 2).unfold(3, 2, 2)  # (2, 3, 4, 3, 2, 2)
    assert torch.equal(out, blocks.amax((-1, -2)))
    assert torch.allclose(F.avg_pool2d(x, 2), blocks.mean((-1, -2)))


def test_depthwise_separable_convolution_has_far_fewer_parameters():
    # 000 §15.4.1: "使用深度分离卷积结构可以显著减少模型的参数量". For C → C' channels and k×k
    # kernels the ratio (without biases) is 1/C' + 1/k² (Howard et al. 2017).
    c, c_out, k = 64, 128, 3
    standard = nn.Conv2d(c, c_out, k, bias=False)
    separable = nn.Sequential(nn.Conv2d(c, c, k, groups=c, bias=False), nn.Conv2d(c, c_out, 1, bias=False))
    ratio = n_params(separable) / n_params(standard)
    assert ratio == pytest.approx(1 / c_out + 1 / k ** 2)
    assert round(ratio, 4) == 0.1189  # 8,768 against 73,728


def test_dropout_in_torch_scales_in_training_not_at_test_time():
    # 001: "在测试或推理阶段…输出值需要乘以 (1-p) 进行缩放(在PyTorch中…在eval()模式下自动关闭并缩放)".
    # torch uses inverted dropout: kept values are scaled by 1/(1-p) while training, and eval()
    # returns its input unchanged. Both schemes keep the expected value; torch's is not the one described.
    ns = run_fragment("f001_layers.py")
    drop = ns["dropout_layer"]
    x = torch.ones(10_000)
    drop.train()
    out = drop(x)
    assert set(out.unique().tolist()) == {0.0, 2.0}  # 1 / (1 - 0.5) = 2
    drop.eval()
    assert torch.equal(drop(x), x)  # not x * (1 - p)


def test_batchnorm_and_layernorm_formulas_equal_torch():
    # 001: BatchNorm normalises each channel to mean ≈ 0, std ≈ 1, then scales and shifts.
    ns = run_fragment("f001_layers.py")
    bn = ns["bn_layer"]
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    x = torch.randn(8, 16, 5, 5) * 3 + 2
    mean, var = x.mean((0, 2, 3), keepdim=True), x.var((0, 2, 3), unbiased=False, keepdim=True)
    seed = (x - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)
    assert torch.allclose(bn(x), seed, atol=1e-5)
    normalised = (x - mean) / torch.sqrt(var + bn.eps)
    assert normalised.mean((0, 2, 3)).abs().max() < 1e-5 and (normalised.std((0, 2, 3)) - 1).abs().max() < 1e-2
    ln = nn.LayerNorm(5)  # 001's Transformer layer: the same statistics over each example's features
    seed_ln = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + ln.eps)
    assert torch.allclose(ln(x), seed_ln, atol=1e-5)


def test_convolution_is_translation_equivariant_and_global_pooling_invariant():
    # 002 四.7: "平移不变性：能够识别图像中的目标，无论其位置如何变化". A convolution is equivariant (a shifted
    # input gives a shifted output, away from the border); invariance comes from global pooling, and
    # strided pooling keeps it only for shifts by its stride.
    torch.manual_seed(26)
    conv = nn.Conv2d(1, 4, 3)
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 4:7, 4:8] = torch.rand(3, 4)
    shifted = torch.roll(x, shifts=(3, 2), dims=(2, 3))
    assert torch.allclose(torch.roll(conv(x), shifts=(3, 2), dims=(2, 3)), conv(shifted), atol=1e-6)
    assert torch.allclose(conv(x).amax((2, 3)), conv(shifted).amax((2, 3)), atol=1e-6)
    pool = lambda t: F.max_pool2d(conv(t), 2)
    by = lambda rows: torch.roll(x, shifts=(rows, 0), dims=(2, 3))
    assert torch.allclose(pool(by(2)), torch.roll(pool(x), shifts=(1, 0), dims=(2, 3)), atol=1e-6)  # a stride: exact
    assert all(not torch.allclose(pool(by(1)), torch.roll(pool(x), shifts=(k, 0), dims=(2, 3)), atol=1e-3) for k in (0, 1))


def test_int8_quantization_stores_a_quarter_and_keeps_outputs_close():
    # 000 §15.3: quantizing float parameters to fewer bits "极大减少模型的存储需求". Symmetric per-tensor
    # int8: 1 byte instead of 4 per weight, each weight off by at most half a step.
    torch.manual_seed(27)
    layer = nn.Linear(256, 64)
    w = layer.weight.detach()
    scale = w.abs().max() / 127
    q = torch.clamp(torch.round(w / scale), -127, 127).to(torch.int8)  # (64, 256) int8
    assert w.element_size() * w.numel() == 4 * q.element_size() * q.numel()
    assert (q.float() * scale - w).abs().max() <= scale / 2 + 1e-7
    x = torch.randn(32, 256)
    err = (F.linear(x, q.float() * scale, layer.bias) - layer(x)).abs().max()
    assert err < 0.01 * layer(x).abs().max()


def test_gradient_clipping_limits_the_norm():
    # 002 五.2: "梯度裁剪：将梯度的范数限制在一个合理范围内"
    model = nn.Linear(10, 10)
    (model(torch.randn(4, 10) * 100) ** 2).sum().backward()
    before = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    reported = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    after = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    assert before > 1 and torch.isclose(reported, before) and abs(after.item() - 1.0) < 1e-5


# =============================================================== recurrent cells (000 ch.7; 002 五)
def _cat_weights(cell, block):
    """The seed's W·[h, x] + b for one gate block, from torch's split W_ih, W_hh, b_ih, b_hh."""
    h = cell.hidden_size
    rows = slice(block * h, (block + 1) * h)
    w = torch.cat([cell.weight_hh[rows], cell.weight_ih[rows]], dim=1)  # acts on [h_{t-1}, x_t]
    return w, cell.bias_ih[rows] + cell.bias_hh[rows]


def test_rnn_formula_equals_torch_rnn_cell():
    # 000 §7.1: h_t = σ(U x_t + W h_{t-1} + b) (σ = tanh in torch); 002 五.1 the same with W_xh, W_hh, b_h
    torch.manual_seed(7)
    cell = nn.RNNCell(3, 4).double()
    x, h = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    seed = torch.tanh(x @ cell.weight_ih.T + h @ cell.weight_hh.T + cell.bias_ih + cell.bias_hh)
    assert _fd_close(seed, cell(x, h), 1e-12)


@pytest.mark.parametrize("seed_file", ["000 §7.2", "002 五.3"])
def test_lstm_equations_equal_torch_lstm_cell(seed_file):
    # Both seeds: f, i, o = σ(W·[h_{t-1}, x_t] + b), C̃ (000: g_t) = tanh(...), C_t = f C_{t-1} + i C̃, h_t = o tanh(C_t).
    torch.manual_seed(8)
    cell = nn.LSTMCell(3, 4).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    h, c = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    hx = torch.cat([h, x], 1)
    gate = lambda block, act: act(hx @ _cat_weights(cell, block)[0].T + _cat_weights(cell, block)[1])
    i, f, g, o = gate(0, torch.sigmoid), gate(1, torch.sigmoid), gate(2, torch.tanh), gate(3, torch.sigmoid)  # torch's order
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    h_torch, c_torch = cell(x, (h, c))
    assert _fd_close(h_next, h_torch, 1e-12) and _fd_close(c_next, c_torch, 1e-12)


def _gru_seed(cell, x, h, *, z_on_new: bool, reset_after: bool):
    """The seeds' GRU. z_on_new: 000's h_t = (1-z)h + z h̃ (else 002's h_t = z h + (1-z) h̃).
    reset_after=False: the seeds' h̃ = tanh(W_h·[x, r ⊙ h] + b_h); True: torch's r ⊙ (W_hn h + b_hn)."""
    n = cell.hidden_size
    w_ir, w_iz, w_in = cell.weight_ih.split(n)
    w_hr, w_hz, w_hn = cell.weight_hh.split(n)
    b_ir, b_iz, b_in = cell.bias_ih.split(n)
    b_hr, b_hz, b_hn = cell.bias_hh.split(n)
    r = torch.sigmoid(x @ w_ir.T + h @ w_hr.T + b_ir + b_hr)
    z = torch.sigmoid(x @ w_iz.T + h @ w_hz.T + b_iz + b_hz)
    if reset_after:
        cand = torch.tanh(x @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))
    else:
        cand = torch.tanh(x @ w_in.T + (r * h) @ w_hn.T + b_in + b_hn)
    return (1 - z) * h + z * cand if z_on_new else z * h + (1 - z) * cand


def test_gru_update_gate_conventions_of_the_two_seeds():
    # torch: h' = (1 - z) ⊙ n + z ⊙ h. 002 writes the same; 000 §7.3 weighs the new state by z, which
    # is torch's model with z ↔ 1 - z (negate W_z and b_z: σ(-a) = 1 - σ(a)). The reset is taken at
    # torch's place here to isolate the update gate.
    torch.manual_seed(9)
    cell = nn.GRUCell(3, 4).double()
    x, h = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    assert _fd_close(_gru_seed(cell, x, h, z_on_new=False, reset_after=True), cell(x, h), 1e-12)  # 002 = torch
    assert not torch.allclose(_gru_seed(cell, x, h, z_on_new=True, reset_after=True), cell(x, h), atol=1e-3)
    flipped = nn.GRUCell(3, 4).double()
    flipped.load_state_dict(cell.state_dict())
    with torch.no_grad():
        for p in (flipped.weight_ih, flipped.weight_hh, flipped.bias_ih, flipped.bias_hh):
            p[4:8].neg_()  # the z block (torch's order r, z, n)
    assert _fd_close(_gru_seed(flipped, x, h, z_on_new=True, reset_after=True), cell(x, h), 1e-12)  # 000 = torch, z ↔ 1-z


def test_gru_candidate_of_both_seeds_resets_before_the_matrix_unlike_torch():
    # Both seeds: h̃_t = tanh(W_h·[r_t ⊙ h_{t-1}, x_t] + b_h) (Cho et al. 2014). torch (cuDNN) computes
    # tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)): a different function for the same weights. tujie's
    # GRUCellReference(reset_after=False) is the seeds' form.
    torch.manual_seed(10)
    cell = nn.GRUCell(3, 4).double()
    x, h = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    seed = _gru_seed(cell, x, h, z_on_new=False, reset_after=False)
    assert (seed - cell(x, h)).abs().max() > 1e-3
    ref = tj.layers.GRUCellReference(3, 4, reset_after=False).double()
    ref.load_state_dict(cell.state_dict())
    assert _fd_close(ref(x, h), seed, 1e-12)


def test_gru_has_three_quarters_of_the_lstm_parameters():
    # 002 五.4: "GRU的参数比LSTM少": 3 gate blocks against 4
    assert n_params(nn.GRU(32, 64)) * 4 == n_params(nn.LSTM(32, 64)) * 3


def test_lstm_layer_fragment_of_001():
    ns = run_fragment("f001_layers.py")
    out, (h, c) = ns["lstm_layer"](torch.randn(2, 7, 128))
    assert out.shape == (2, 7, 64) and h.shape == c.shape == (2, 2, 64)


# =============================================================== attention (000 §5.2, §8.4; 001 二.2)
def test_scaled_dot_product_attention_formula_equals_torch():
    torch.manual_seed(11)
    q, k, v = (torch.randn(2, 3, 5, 8, dtype=torch.float64) for _ in range(3))
    seed = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(8), dim=-1) @ v  # softmax(QKᵀ/√d_k) V
    assert _fd_close(seed, F.scaled_dot_product_attention(q, k, v), 1e-12)
    assert _fd_close(tj.layers.scaled_dot_product_attention(q, k, v)[0], seed, 1e-12)  # (output, weights)


def test_multiplicative_attention_weights_are_a_softmax_over_encoder_steps():
    # 000 §8.4.2: a_ij = exp(s(e_j, d_i)) / Σ_k exp(s(e_k, d_i)), here with s = dot product
    torch.manual_seed(12)
    e, d = torch.randn(6, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    s = d @ e.T  # (decoder steps i, encoder steps j)
    a = torch.exp(s) / torch.exp(s).sum(1, keepdim=True)
    assert _fd_close(a, torch.softmax(s, 1), 1e-12) and _fd_close(a.sum(1), torch.ones(3, dtype=torch.float64), 1e-12)
    assert _fd_close(a @ e, F.scaled_dot_product_attention(d[None], e[None], e[None], scale=1.0)[0], 1e-12)


def test_simple_attention_fragment_of_001():
    ns = run_fragment("f001_attention.py")
    att = ns["SimpleAttention"](8)
    context, weights = att(torch.randn(2, 8), torch.randn(2, 5, 8))
    assert context.shape == (2, 8) and weights.shape == (2, 5)
    assert torch.allclose(weights.sum(1), torch.ones(2))


def test_multi_head_fragment_of_001_divides_by_sqrt_embed_size_not_sqrt_d_k():
    # 001's MultiHeadAttention comments "除以sqrt(d_k)" but divides by √embed_size = √(heads·d_k).
    # It runs; its output equals per-head attention with scale 1/√embed_size, not 1/√head_dim.
    # (Its Q/K/V projections are also head_dim → head_dim, shared by all heads: not nn.MultiheadAttention.)
    ns = run_fragment("f001_attention.py")
    torch.manual_seed(13)
    mha = ns["MultiHeadAttention"](embed_size=16, heads=4)
    x = torch.randn(2, 5, 16)
    out = mha(x, x, x)
    assert out.shape == (2, 5, 16)
    split = x.reshape(2, 5, 4, 4)
    q, k, v = (proj(split).transpose(1, 2) for proj in (mha.queries, mha.keys, mha.values))  # (N, heads, L, d_k)

    def with_scale(scale):
        heads = F.scaled_dot_product_attention(q, k, v, scale=scale)  # (N, heads, L, d_k)
        return mha.fc_out(heads.transpose(1, 2).reshape(2, 5, 16))

    assert torch.allclose(out, with_scale(1 / math.sqrt(16)), atol=1e-6)
    assert not torch.allclose(out, with_scale(1 / math.sqrt(4)), atol=1e-3)


# =============================================================== GAN losses (000 §10.2.3)
def test_gan_losses_are_binary_cross_entropies():
    torch.manual_seed(14)
    d_real, d_fake = torch.rand(32) * 0.98 + 0.01, torch.rand(32) * 0.98 + 0.01
    l_d = -(torch.log(d_real) + torch.log(1 - d_fake)).mean()
    bce = F.binary_cross_entropy
    assert torch.allclose(l_d, bce(d_real, torch.ones(32)) + bce(d_fake, torch.zeros(32)))
    assert torch.allclose(-torch.log(d_fake).mean(), bce(d_fake, torch.ones(32)))  # L_G = -log D(G(z))


def test_book_generator_loss_keeps_its_gradient_where_the_minimax_loss_loses_it():
    # While D wins (D(G(z)) → 0), d/ds log(1 - σ(s)) = -σ(s) → 0 (minimax, Goodfellow et al. 2014),
    # while d/ds [-log σ(s)] = -(1 - σ(s)) → -1: the book's generator loss still trains.
    s = torch.tensor([-8.0, -4.0, 0.0], dtype=torch.float64, requires_grad=True)  # D's logit on fakes
    (g_minimax,) = torch.autograd.grad(torch.log(1 - torch.sigmoid(s)).sum(), s)
    (g_book,) = torch.autograd.grad((-torch.log(torch.sigmoid(s))).sum(), s)
    assert abs(g_minimax[0].item()) < 5e-4 and abs(g_book[0].item() + 1) < 5e-4
    assert (g_book.abs() >= g_minimax.abs()).all()


# =============================================================== evaluation and RL (000 ch.12, ch.16)
def test_precision_recall_f1_and_auc_formulas_equal_scikit_learn():
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score, roc_curve
    rng = np.random.default_rng(15)
    y = rng.integers(0, 2, 300)
    score = y * 0.8 + rng.normal(0, 0.6, 300)
    pred = (score > 0.4).astype(int)
    tp, fp, fn = ((pred == 1) & (y == 1)).sum(), ((pred == 1) & (y == 0)).sum(), ((pred == 0) & (y == 1)).sum()
    p, r = tp / (tp + fp), tp / (tp + fn)
    assert p == pytest.approx(precision_score(y, pred)) and r == pytest.approx(recall_score(y, pred))
    assert 2 * p * r / (p + r) == pytest.approx(f1_score(y, pred))
    fpr, tpr, _ = roc_curve(y, score)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(y, score))  # AUC = ∫ TPR dFPR


def test_q_learning_update_converges_to_the_bellman_values():
    # 000 §16.3.1: Q(s,a) ← Q(s,a) + α[r + γ max_a' Q(s',a') - Q(s,a)] on a 3-state chain whose
    # optimal values are known in closed form.
    rng = np.random.default_rng(16)
    gamma, alpha = 0.9, 0.5
    n_states = 3  # states 0, 1, 2; 2 is terminal. action 1 moves right, action 0 stays. Reaching 2 pays 1.
    q = np.zeros((n_states, 2))
    for _ in range(3000):
        s, a = rng.integers(0, 2), rng.integers(0, 2)
        s_next = s + 1 if a == 1 else s
        r = 1.0 if s_next == 2 else 0.0
        target = r + (0 if s_next == 2 else gamma * q[s_next].max())
        q[s, a] += alpha * (target - q[s, a])
    q_star = np.array([[0.81, 0.9], [0.9, 1.0]])  # right from 1: 1; right from 0: γ·1; stay: γ·max
    assert np.allclose(q[:2], q_star, atol=1e-6)


# =============================================================== parameter counts and large models
def _seq(*layers):
    return nn.Sequential(*layers)


PARAM_COUNTS = {
    # what the seeds' code builds (Keras layers count as torch's: Dense = Linear, Conv2D = Conv2d)
    "003 MLP 784-128-64-10": (lambda: _seq(nn.Flatten(), nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 10)), 109_386),
    "003 CNN (Keras, 28x28x1)": (lambda: _seq(nn.Conv2d(1, 32, 3), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.MaxPool2d(2),
                                              nn.Flatten(), nn.Linear(5 * 5 * 64, 128), nn.Linear(128, 10)), 225_034),
    "002 TF MLP with Dropout": (lambda: _seq(nn.Flatten(), nn.Linear(784, 128), nn.Dropout(0.2), nn.Linear(128, 10)), 101_770),
    "002 Keras CIFAR CNN": (lambda: _seq(nn.Conv2d(3, 32, 3), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.MaxPool2d(2),
                                         nn.Flatten(), nn.Linear(6 * 6 * 64, 64), nn.Linear(64, 10)), 167_562),
    "002 Keras X-ray CNN (256x256x1)": (lambda: _seq(nn.Conv2d(1, 32, 3), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.MaxPool2d(2),
                                                     nn.Flatten(), nn.Linear(62 * 62 * 64, 64), nn.Linear(64, 1)), 15_763_969),
    "002 Keras NCF (1000 users, 1700 items, 50)": (lambda: _seq(nn.Embedding(1000, 50), nn.Embedding(1700, 50)), 135_000),
}


@pytest.mark.parametrize("name", PARAM_COUNTS)
def test_parameter_counts_of_the_seeds_models(name):
    build, expected = PARAM_COUNTS[name]
    assert n_params(build()) == expected


def test_keras_fragments_as_tujie_layers_count_the_same():
    # keras is not installed here; tujie's Keras-like layers build 003's two models, channels first.
    L = tj.layers
    mlp = tj.Sequential([L.Input((1, 28, 28)), L.Flatten(), L.Dense(128, activation="relu"),
                         L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    cnn = tj.Sequential([L.Input((1, 28, 28)), L.Conv2D(32, 3, activation="relu"), L.MaxPool2D(2),
                         L.Conv2D(64, 3, activation="relu"), L.MaxPool2D(2), L.Flatten(),
                         L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")])
    assert mlp.count_params() == 109_386 and cnn.count_params() == 225_034
    assert cnn(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_simple_cnn_of_001_is_tujies_simple_cnn(tmp_path):
    ns = run_fragment("f001_simple_cnn.py", train_loader=[], test_loader=[(torch.zeros(1, 3, 32, 32), torch.zeros(1).long())],
                      num_epochs=0, save_path=tmp_path / "model.pth")
    assert n_params(ns["SimpleCNN"]()) == 2_122_186 == n_params(tj.models.create("simple_cnn"))


def test_gpt3_has_175_billion_parameters():
    # 000 §5.1: GPT-3 "拥有超过1750亿参数". From the paper's 175B configuration (96 layers, d_model 12,288,
    # 2,048 positions, 50,257 tokens), counted on torch's own layer built without memory (meta device).
    d, layers, ctx, vocab = 12_288, 96, 2_048, 50_257
    block = nn.TransformerEncoderLayer(d, nhead=96, dim_feedforward=4 * d, device="meta")  # attention + MLP + 2 norms
    total = layers * n_params(block) + (vocab + ctx) * d + 2 * d  # + token and position embeddings + final norm
    assert total == 174_604_259_328
    assert abs(total / 175e9 - 1) < 0.003  # "175B" is this, rounded; "超过" (more than) it is not


# =============================================================== seed 003: the MNIST walkthrough
def test_mnist_walkthrough_split_and_steps_arithmetic():
    # 003 §2.2/§2.4: test_size=0.2 of 60,000 → 48,000 for training; batch 32 → 1,500 steps per epoch.
    # (The prose says "拆出 10%", the code splits 20%: 10% would leave 54,000 and 1,688 steps.)
    from sklearn.model_selection import train_test_split
    train_idx, val_idx = train_test_split(np.arange(60_000), test_size=0.2, random_state=42)
    assert (len(train_idx), len(val_idx)) == (48_000, 12_000)
    assert math.ceil(len(train_idx) / 32) == 1_500
    assert math.ceil(60_000 * 0.9 / 32) == 1_688


def test_mnist_mlp_recipe_is_the_walkthroughs_configuration():
    recipe = tj.recipes.load_recipe("mnist-mlp")
    assert recipe["model"]["hidden"] == [128, 64] and recipe["optimizer"] == {"name": "adam", "lr": 0.001}
    assert recipe["train"]["epochs"] == 5 and recipe["train"]["batch_size"] == 32
    assert recipe["data"]["validation_split"] == 0.2 and recipe["data"]["normalize"] == "unit"
    assert recipe["expected"]["value"] == pytest.approx(0.975)


@pytest.mark.data
def test_mnist_files_have_the_shapes_and_dtypes_the_walkthrough_prints():
    shapes = {name: _mnist_idx(name) for name in ("train-images", "train-labels", "t10k-images", "t10k-labels")}
    assert {k: (v.shape, str(v.dtype)) for k, v in shapes.items()} == {
        "train-images": ((60000, 28, 28), "uint8"), "train-labels": ((60000,), "uint8"),
        "t10k-images": ((10000, 28, 28), "uint8"), "t10k-labels": ((10000,), "uint8")}
    assert shapes["train-images"].reshape(60000, -1).shape[1] == 28 * 28 == 784  # Flatten


@pytest.mark.data
def test_cifar10_normalisation_constants_of_001():
    # 001: Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)) "CIFAR10均值和标准差". Only the
    # first training batch (10,000 of 50,000 images) is on this machine. Its channel means agree to 0.003;
    # its pixel standard deviations are 0.248/0.245/0.263. 0.2023/0.1994/0.2010 is close to the mean of
    # each image's own standard deviation (0.203/0.200/0.202), a different statistic.
    from tujie.data.vision import read_cifar_batch
    x = read_cifar_batch(DATA / "cifar10" / "cifar-10-batches-py" / "data_batch_1")[0].double() / 255  # (10000, 3, 32, 32)
    mean, std = x.mean((0, 2, 3)), x.std((0, 2, 3))
    assert torch.allclose(mean, torch.tensor([0.4914, 0.4822, 0.4465], dtype=torch.float64), atol=0.003)
    assert (std - torch.tensor([0.2023, 0.1994, 0.2010], dtype=torch.float64)).min() > 0.04
    assert torch.allclose(std, torch.tensor([0.2476, 0.2446, 0.2626], dtype=torch.float64), atol=5e-4)
    assert torch.allclose(x.std((2, 3)).mean(0), torch.tensor([0.2023, 0.1994, 0.2010], dtype=torch.float64), atol=0.003)


# =============================================================== code fragments of 001 and 002, run
class _Batch(types.SimpleNamespace):
    pass


def _synthetic_images(n, shape, classes=10, seed=17):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=g), torch.randint(0, classes, (n,), generator=g)


def test_simple_cnn_fragment_trains_saves_and_loads(tmp_path):
    torch.manual_seed(18)
    x, y = _synthetic_images(32, (3, 32, 32))
    batches = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 32, 8)]
    ns = run_fragment("f001_simple_cnn.py", train_loader=batches, test_loader=batches[:2], num_epochs=1,
                      save_path=tmp_path / "cifar10_cnn_model.pth")
    assert ns["total"] == 16 and 0 <= ns["correct"] <= 16
    model, loaded = ns["model"], ns["loaded_model"]
    assert torch.equal(model(x[:4]), loaded(x[:4]))  # the saved state dict restores the same network


def test_habit_fragments_of_001_early_stopping_kfold_ensemble(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(19)
    model = nn.Linear(4, 1)
    losses = iter([1.0, 0.8, 0.9, 0.95, 0.85, 0.9, 0.99, 0.7])  # best at epoch 1, then 5 worse ones
    seen = []

    def evaluate(m, loader, criterion):
        with torch.no_grad():
            m.weight.add_(0.1)  # the weights change every epoch, so the reload is visible
        seen.append(m.weight.detach().clone())
        return next(losses)

    small = lambda: nn.Linear(4, 2)
    data = torch.utils.data.TensorDataset(torch.randn(50, 4), torch.zeros(50))
    ns = run_fragment("f001_habits.py", model=model, val_loader=None, criterion=None, evaluate=evaluate, num_epochs=20,
                      train_data=data, DataLoader=torch.utils.data.DataLoader, SimpleCNN=small, AnotherCNN=small,
                      YetAnotherCNN=small, input=torch.randn(3, 4))
    assert ns["epoch"] == 6 and ns["best_val_loss"] == 0.8  # stopped after patience = 5 epochs without progress
    assert torch.equal(model.weight, seen[1])  # best_model.pth (epoch 1) was reloaded
    assert ns["fold"] == 4 and len(ns["val_idx"]) == 10  # five folds of 50
    assert ns["outputs"].shape == (3, 2)


def test_cifar_net_fragment_of_002_trains():
    torch.manual_seed(20)
    x, y = _synthetic_images(64, (3, 32, 32))
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    ns = run_fragment("f002_cifar_net.py", trainloader=batches, testloader=batches, epochs=1)
    assert n_params(ns["net"]) == 62_006 and ns["total"] == 64


@pytest.mark.data
def test_pytorch_mnist_fragment_of_002_learns_on_real_digits():
    bundle = tj.datasets.load("mnist", data_dir=DATA, limit=2_000, seed=0)
    x, y = bundle.train.x, bundle.train.y  # (2000, 1, 28, 28) in [0, 1]
    x = (x - 0.5) / 0.5  # what transforms.Normalize((0.5,), (0.5,)) does after ToTensor
    torch.manual_seed(21)
    order = torch.randperm(len(x))
    loader = [(x[order[i:i + 64]], y[order[i:i + 64]]) for i in range(0, len(x), 64)]
    ns = run_fragment("f002_pytorch_mnist.py", trainloader=loader, epochs=2)
    assert ns["losses"][1] < ns["losses"][0]  # plain SGD at lr 0.01 is slow: 2.18 then 1.92 on 2,000 digits


def test_gram_matrix_fragment_of_002_is_the_normalised_channel_gram():
    # The fragment names the dims (batch, h, w, f_map_num), but for torch's NCHW tensors they are
    # (N, C, H, W): view(N·C, H·W) is one row per channel, which is the correct Gram matrix.
    ns = run_fragment("f002_gram_matrix.py")
    torch.manual_seed(22)
    x = torch.randn(1, 6, 5, 4)
    rows = x.reshape(6, 20)
    assert torch.allclose(ns["gram_matrix"](x), rows @ rows.T / x.numel())
    style = ns["StyleLoss"](x)
    style(x)
    assert style.loss.item() == 0.0


def test_lstm_classifier_fragment_of_002_trains_on_synthetic_tokens():
    torch.manual_seed(23)
    batches = [_Batch(text=torch.randint(0, 50, (12, 8)), label=torch.randint(0, 2, (8,)).float()) for _ in range(2)]
    ns = run_fragment("f002_lstm_classifier.py", train_iterator=batches, vocab_size=50, epochs=1)
    assert ns["model"](batches[0].text).shape == (8, 1)


def test_seq2seq_fragment_of_002_runs():
    ns = run_fragment("f002_seq2seq.py")
    torch.manual_seed(24)
    model = ns["Seq2Seq"](ns["Encoder"](30, 8, 16, 2), ns["Decoder"](40, 8, 16, 2))
    out = model(torch.randint(0, 30, (7, 3)), torch.randint(0, 40, (5, 3)))
    assert out.shape == (4, 3, 40)  # (target length - 1, batch, target vocabulary)


def test_deepspeech_fragment_of_002_is_not_python():
    with pytest.raises(SyntaxError):
        compile((FRAGMENTS / "f002_deepspeech.txt").read_text(encoding="utf-8"), "f002_deepspeech.txt", "exec")


# =============================================================== code fragments of 003 (the walkthrough's own code)
def test_walkthrough_format_spec_as_written_is_invalid():
    # 003 §2.6 and §2.7 print `f"{100 *np.max (p):2.0 f} %"`: the space inside the spec fails.
    with pytest.raises(ValueError, match="Invalid format specifier"):
        eval('f"{100 * 0.5:2.0 f}"')
    assert f"{100 * 0.5:2.0f}" == "50"


@pytest.mark.data
@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # 'SimSong' is not installed; DejaVu has no CJK
@pytest.mark.filterwarnings("ignore:findfont")
def test_walkthrough_inspection_fragment_prints_the_stated_shapes(tmp_path, monkeypatch, capsys):
    import matplotlib
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    arrays = {"x_train": _mnist_idx("train-images"), "y_train": _mnist_idx("train-labels"),
              "x_test": _mnist_idx("t10k-images"), "y_test": _mnist_idx("t10k-labels")}
    data = type("NpzLike", (), {"files": ["x_train", "x_test", "y_train", "y_test"], "__getitem__": lambda self, k: arrays[k]})()
    run_fragment("f003_inspect.py", data=data)
    printed = capsys.readouterr().out
    # the output block the walkthrough shows (its line 18), value for value
    for line in ["['x_train', 'x_test', 'y_train', 'y_test']", "训练图像: (60000, 28, 28) , 类型: uint8",
                 "训练标签: (60000,) , 类型: uint8", "测试图像: (10000, 28, 28) , 类型: uint8", "测试标签: (10000,) , 类型: uint8"]:
        assert line in printed
    assert (tmp_path / "mnist_samples.png").stat().st_size > 0
    assert len(list((tmp_path / "mnist_extracted").glob("train_*_label_*.png"))) == 20
    assert (tmp_path / "mnist_extracted" / "train_0_label_5.png").exists()  # MNIST's first digit is a 5
    import matplotlib.pyplot as plt
    plt.close("all")


def test_walkthrough_prediction_plots_fragment_runs():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(25)
    predictions = rng.dirichlet(np.ones(10), 15)  # (15, 10) rows of probabilities
    labels = rng.integers(0, 10, 15)
    run_fragment("f003_plots.py", np=np, predictions=predictions, test_labels=labels, test_images=rng.random((15, 28, 28)))
    axes = plt.gcf().axes
    assert len(axes) == 30  # 15 images and 15 bar charts
    first = axes[0].get_xlabel()
    assert first.startswith(f"{predictions[0].argmax()} {100 * predictions[0].max():2.0f} %")
    plt.close("all")
