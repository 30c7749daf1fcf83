"""Style transfer (Gatys et al. 2016): pictures in, a feature network read at named layers, a picture optimised.

- `images`: content photos (scikit-image), style paintings (`style-images/`, verified), any file; PNG out.
- `features`: a VGG's convolutions read out by the paper's layer names; a user's VGG-19 weights loaded.
- `gatys`: content and Gram-matrix style losses, the L-BFGS optimisation of the picture.

Example:
    >>> from tujie.style import gram_matrix
    >>> gram_matrix(torch.ones(1, 4, 2, 2)).shape
    torch.Size([1, 4, 4])
"""

import torch  # noqa: F401 - the docstring's example uses it

from .features import FeatureExtractor, default_layers, layer_names, load_feature_weights
from .gatys import TransferResult, gram_matrix, total_variation, transfer
from .images import CONTENT_IMAGES, STYLE_IMAGES, load_content, load_style, read_image, save_png

__all__ = ["CONTENT_IMAGES", "STYLE_IMAGES", "FeatureExtractor", "TransferResult", "default_layers", "gram_matrix",
           "layer_names", "load_content", "load_feature_weights", "load_style", "read_image", "save_png",
           "total_variation", "transfer"]
