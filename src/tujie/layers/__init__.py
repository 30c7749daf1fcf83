"""Layers with the Keras contract: declared without input sizes, sized by the first batch.

Every layer is a plain `torch.nn.Module`; mix them freely with `torch.nn` modules.
"""

from ._base import Layer
from .activations import ACTIVATIONS, get_activation
from .conv import AvgPool2D, Conv2D, MaxPool2D
from .core import Activation, Dense, Dropout, Flatten, Reshape

MaxPooling2D, AveragePooling2D = MaxPool2D, AvgPool2D  # Keras spellings

__all__ = ["Layer", "Dense", "Flatten", "Reshape", "Dropout", "Activation", "Conv2D", "MaxPool2D",
           "AvgPool2D", "MaxPooling2D", "AveragePooling2D", "get_activation", "ACTIVATIONS"]
