"""A reverse-mode automatic-differentiation engine written from the chain rule (book chapter 4).

Readable in one sitting: a `Tensor` holds a float64 numpy array (a scalar is a 0-d array), the
operation that made it, its parents, and a `_backward` closure that applies that operation's local
derivative. `backward()` visits the graph in reverse topological order, so every node's gradient
is complete before it is passed on to its parents:

    ∂L/∂parent += ∂L/∂node · ∂node/∂parent          (the chain rule, 4.3.1)

Operations: + * ** exp log tanh sigmoid relu sum matmul (numpy broadcasting for + and *), and
neg, -, / and mean built from them. No torch anywhere: tests/fundamentals compares it with
torch.autograd on random expression graphs (values and every gradient to 1e-6).

Example:
    >>> x, w, b = Tensor(2.0, label="x"), Tensor(-0.5, label="w"), Tensor(0.5, label="b")
    >>> y = (w * x + b).tanh()              # tanh(−0.5)
    >>> y.backward()                        # ∂y/∂w = (1 − tanh²)·x, ∂y/∂x = (1 − tanh²)·w
    >>> round(float(y.data), 4), round(float(w.grad), 4), round(float(x.grad), 4), round(float(b.grad), 4)
    (-0.4621, 1.5729, -0.3932, 0.7864)
"""

from __future__ import annotations

import numpy as np


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient back down to `shape`: broadcasting copied the input, so its gradient adds up the copies."""
    while grad.ndim > len(shape):  # leading axes that broadcasting added
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):  # axes of size 1 that were stretched
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Tensor:
    """A value in the computation graph: data, gradient, and how it was made.

    Args:
        data: a number or an array (kept as float64).
        label: a name for drawings of the graph (optional).

    Example:
        >>> a = Tensor([[1.0, 2.0]])            # (1, 2)
        >>> W = Tensor([[3.0], [4.0]])          # (2, 1)
        >>> out = (a @ W).sum()                 # 1·3 + 2·4
        >>> out.backward()
        >>> float(out.data), a.grad.tolist(), W.grad.tolist()
        (11.0, [[3.0, 4.0]], [[1.0], [2.0]])
    """

    def __init__(self, data, label: str = "", _parents: tuple = (), _op: str = ""):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self.label = label
        self._parents = _parents
        self._op = _op
        self._backward = lambda: None

    # ------------------------------------------------------------------ plumbing
    @property
    def shape(self) -> tuple:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Tensor({self.data!r}, grad={self.grad!r})"

    @staticmethod
    def _lift(other) -> Tensor:
        return other if isinstance(other, Tensor) else Tensor(other)

    # ------------------------------------------------------------------ the primitive operations
    def __add__(self, other) -> Tensor:
        other = self._lift(other)
        out = Tensor(self.data + other.data, _parents=(self, other), _op="+")

        def _backward():  # d(a+b)/da = 1
            self.grad += _unbroadcast(out.grad, self.shape)
            other.grad += _unbroadcast(out.grad, other.shape)
        out._backward = _backward
        return out

    def __mul__(self, other) -> Tensor:
        other = self._lift(other)
        out = Tensor(self.data * other.data, _parents=(self, other), _op="*")

        def _backward():  # d(ab)/da = b
            self.grad += _unbroadcast(out.grad * other.data, self.shape)
            other.grad += _unbroadcast(out.grad * self.data, other.shape)
        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, Tensor):
            raise TypeError("Tensor ** Tensor is not an operation of this engine; the exponent must be a number")
        out = Tensor(self.data ** exponent, _parents=(self,), _op=f"**{exponent:g}")

        def _backward():  # d(a^n)/da = n a^(n-1)
            self.grad += out.grad * exponent * self.data ** (exponent - 1)
        out._backward = _backward
        return out

    def exp(self) -> Tensor:
        out = Tensor(np.exp(self.data), _parents=(self,), _op="exp")

        def _backward():  # d(e^a)/da = e^a
            self.grad += out.grad * out.data
        out._backward = _backward
        return out

    def log(self) -> Tensor:
        out = Tensor(np.log(self.data), _parents=(self,), _op="log")

        def _backward():  # d(ln a)/da = 1/a
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self) -> Tensor:
        out = Tensor(np.tanh(self.data), _parents=(self,), _op="tanh")

        def _backward():  # d tanh(a)/da = 1 - tanh²(a)
            self.grad += out.grad * (1.0 - out.data ** 2)
        out._backward = _backward
        return out

    def sigmoid(self) -> Tensor:
        # 1/(1+e^-a), written through tanh so a large |a| never overflows exp
        out = Tensor(0.5 * (1.0 + np.tanh(0.5 * self.data)), _parents=(self,), _op="sigmoid")

        def _backward():  # dσ/da = σ(1-σ)
            self.grad += out.grad * out.data * (1.0 - out.data)
        out._backward = _backward
        return out

    def relu(self) -> Tensor:
        out = Tensor(np.maximum(self.data, 0.0), _parents=(self,), _op="relu")

        def _backward():  # 1 where a > 0, else 0 (0 at a = 0, as torch)
            self.grad += out.grad * (self.data > 0)
        out._backward = _backward
        return out

    def sum(self, axis: int | None = None) -> Tensor:
        out = Tensor(self.data.sum(axis=axis), _parents=(self,), _op="sum")

        def _backward():  # every summed element gets the output's gradient
            grad = out.grad if axis is None else np.expand_dims(out.grad, axis)
            self.grad += np.broadcast_to(grad, self.shape)
        out._backward = _backward
        return out

    def __matmul__(self, other) -> Tensor:
        other = self._lift(other)
        if self.data.ndim != 2 or other.data.ndim != 2 or self.shape[1] != other.shape[0]:
            raise ValueError(f"matmul needs (n, k) @ (k, m); received {self.shape} @ {other.shape}")
        out = Tensor(self.data @ other.data, _parents=(self, other), _op="@")

        def _backward():  # C = AB: dL/dA = dL/dC · Bᵀ, dL/dB = Aᵀ · dL/dC
            self.grad += out.grad @ other.data.T
            other.grad += self.data.T @ out.grad
        out._backward = _backward
        return out

    # ------------------------------------------------------------------ built from the primitives
    def __neg__(self) -> Tensor:
        return self * -1.0

    def __sub__(self, other) -> Tensor:
        return self + (-self._lift(other))

    def __truediv__(self, other) -> Tensor:
        return self * self._lift(other) ** -1.0

    def __radd__(self, other) -> Tensor:
        return self + other

    def __rmul__(self, other) -> Tensor:
        return self * other

    def __rsub__(self, other) -> Tensor:
        return self._lift(other) - self

    def __rtruediv__(self, other) -> Tensor:
        return self._lift(other) / self

    def mean(self) -> Tensor:
        return self.sum() * (1.0 / self.data.size)

    # ------------------------------------------------------------------ the backward pass
    def topological_order(self) -> list[Tensor]:
        """Every node this one depends on, each after all of its parents (depth-first, no recursion limit)."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents if id(p) not in seen)
        return order

    def backward(self) -> None:
        """Fill `.grad` of every node in the graph with ∂self/∂node (self's own gradient starts at 1).

        Gradients add up (a node used twice gets both contributions), so call `zero_grad` on the
        leaves before a second backward through new graphs.
        """
        order = self.topological_order()
        for node in order:
            if node is not self and node._parents:  # intermediate results are recomputed each pass
                node.grad = np.zeros_like(node.data)
        self.grad = np.ones_like(self.data)
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        self.grad = np.zeros_like(self.data)


__all__ = ["Tensor"]
