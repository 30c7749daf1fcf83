"""Multi-layer perceptron: the textbook's first network (the MNIST walkthrough, seeds/003)."""

from __future__ import annotations

from .. import layers as L
from ._registry import register_model
from .sequential import Sequential


@register_model(example_input=(1, 28, 28), output_shape=(10,), paper_params=109_386, paper_kwargs={"num_classes": 10})
def mlp(num_classes: int = 10, hidden=(128, 64), activation: str = "relu", dropout: float = 0.0,
        batch_norm: bool = False) -> Sequential:
    """Flatten → [Dense(h) → activation] for h in hidden → Dense(num_classes) logits.

    The defaults are the walkthrough's network (784 → 128 → 64 → 10, 109,386 parameters on MNIST).
    `batch_norm` normalises each hidden layer before its activation, as Ioffe & Szegedy (2015) do;
    `dropout` drops hidden units after it (Srivastava et al. 2014).

    Example:
        >>> model = mlp()
        >>> model(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """
    stack = [L.Flatten()]
    for units in hidden:
        if batch_norm:  # the normalisation's shift makes the Dense bias redundant
            stack += [L.Dense(int(units), use_bias=False), L.BatchNorm1D(), L.Activation(activation)]
        else:
            stack.append(L.Dense(int(units), activation=activation))
        if dropout:
            stack.append(L.Dropout(dropout))
    stack.append(L.Dense(num_classes))  # logits: the softmax lives in the cross-entropy loss
    return Sequential(stack)
