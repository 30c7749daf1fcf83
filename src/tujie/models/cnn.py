"""Small convolutional networks from the textbook's practice chapters."""

from __future__ import annotations

from .. import layers as L
from ._registry import register_model
from .sequential import Sequential


@register_model(example_input=(1, 28, 28), output_shape=(10,))
def small_cnn(num_classes: int = 10, filters=(32, 64), dense: int = 128, dropout: float = 0.0,
              padding: str = "valid") -> Sequential:
    """The MNIST walkthrough's CNN (seeds/003): [Conv 3×3 ReLU → MaxPool 2] per filter count → Dense → logits.

    With the defaults on 28×28 input: Conv32 → 26×26 → pool 13×13 → Conv64 → 11×11 → pool 5×5
    → Flatten 1600 → Dense 128 → Dense 10 (225,034 parameters).

    Example:
        >>> small_cnn()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """
    stack = []
    for f in filters:
        stack += [L.Conv2D(int(f), 3, padding=padding, activation="relu"), L.MaxPool2D(2)]
    stack += [L.Flatten(), L.Dense(int(dense), activation="relu")]
    if dropout:
        stack.append(L.Dropout(dropout))
    stack.append(L.Dense(num_classes))
    return Sequential(stack)
