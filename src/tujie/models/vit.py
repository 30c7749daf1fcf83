"""Vision Transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words"): an image as a sequence of patches.

The image is cut into patch_size × patch_size patches, each linearly embedded (a Conv2d whose
stride is its kernel), a learned class token is put in front, learned position embeddings are
added, and a pre-norm Transformer encoder runs over the sequence; the class token's final
vector, normalised, goes through a linear head. Sizes follow the DeiT paper's Ti and S
(Touvron et al. 2021), as timm's `vit_tiny_patch16_224` and `vit_small_patch16_224`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from ..layers import LearnedPositionalEmbedding, TransformerEncoder
from ._common import check_image_input, check_positive
from ._registry import register_model


class VisionTransformer(nn.Module):
    """ViT classifier: patch embedding → [class token; patches] + position → pre-norm encoder → head.

    Args:
        image_size: height and width of the (square) input images; a multiple of patch_size.
        patch_size: side of each patch (16 in ViT-B/16).
        in_channels: image channels.
        num_classes: outputs of the head (logits).
        d_model: size of each token vector (the paper's D).
        depth: encoder layers.
        num_heads: attention heads; must divide d_model.
        mlp_dim: hidden size of each feed-forward network (4 * d_model in the paper).
        dropout: dropout in the encoder and after the position embedding.
        model_name: the name used in error messages.

    Input shape: (batch, in_channels, image_size, image_size). Output shape: (batch, num_classes).

    Example:
        >>> model = VisionTransformer(image_size=32, patch_size=8, num_classes=10, d_model=64, depth=2, num_heads=4, mlp_dim=128)
        >>> model(torch.zeros(2, 3, 32, 32)).shape, model.num_patches
        (torch.Size([2, 10]), 16)
    """

    def __init__(self, image_size: int = 224, patch_size: int = 16, in_channels: int = 3, num_classes: int = 1000,
                 d_model: int = 768, depth: int = 12, num_heads: int = 12, mlp_dim: int = 3072, dropout: float = 0.0,
                 model_name: str = "vision_transformer"):
        super().__init__()
        check_positive(model_name, image_size=image_size, patch_size=patch_size, in_channels=in_channels,
                       num_classes=num_classes, d_model=d_model, depth=depth, num_heads=num_heads, mlp_dim=mlp_dim)
        if image_size % patch_size:
            raise ConfigError(f"Invalid value received for argument `patch_size` of model '{model_name}': it must divide image_size.",
                              expected=f"a divisor of image_size={image_size}", received=f"patch_size={patch_size}",
                              fix=f"Use patch_size in {[p for p in range(1, image_size + 1) if image_size % p == 0][-6:]}, "
                                  "or resize the images to a multiple of the patch size.")
        self.model_name, self.image_size, self.patch_size, self.in_channels = model_name, image_size, patch_size, in_channels
        self.num_patches = (image_size // patch_size) ** 2
        self.patch_embed = nn.Conv2d(in_channels, d_model, kernel_size=patch_size, stride=patch_size)  # one vector per patch
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))  # (1, 1, d_model)
        self.pos_embed = LearnedPositionalEmbedding(d_model, max_len=self.num_patches + 1, dropout=dropout)
        self.encoder = TransformerEncoder(d_model, num_heads, num_layers=depth, dim_feedforward=mlp_dim, dropout=dropout,
                                          activation="gelu", norm_first=True, layer_norm_eps=1e-6, final_norm=True)
        self.head = nn.Linear(d_model, num_classes)
        nn.init.normal_(self.cls_token, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_input(self.model_name, x, self.in_channels, self.patch_size)
        if tuple(x.shape[2:]) != (self.image_size, self.image_size):
            raise ShapeError(f"Model '{self.model_name}' received images of the wrong size.",
                             expected=f"(batch, {self.in_channels}, {self.image_size}, {self.image_size}): the position embeddings "
                                      f"cover {self.num_patches} patches of {self.patch_size}x{self.patch_size}",
                             received=f"input of shape {tuple(x.shape)}",
                             fix=f"Resize the images to {self.image_size}x{self.image_size}, or build the model with "
                                 f"image_size={x.shape[2]} if the images are square.")
        patches = self.patch_embed(x)  # (batch, d_model, image_size / patch, image_size / patch)
        tokens = patches.flatten(2).transpose(1, 2)  # (batch, num_patches, d_model)
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # (batch, 1, d_model)
        tokens = self.pos_embed(torch.cat([cls, tokens], dim=1))  # (batch, 1 + num_patches, d_model)
        tokens = self.encoder(tokens)  # (batch, 1 + num_patches, d_model), final LayerNorm included
        return self.head(tokens[:, 0])  # (batch, num_classes), from the class token


def _vit(name: str, d_model: int, num_heads: int, mlp_dim: int, num_classes: int, image_size: int, patch_size: int,
         in_channels: int, depth: int, dropout: float) -> VisionTransformer:
    return VisionTransformer(image_size, patch_size, in_channels, num_classes, d_model, depth, num_heads, mlp_dim, dropout,
                             model_name=name)


_TEST = {"image_size": 32, "patch_size": 8, "num_classes": 10, "depth": 2}
_PAPER = {"num_classes": 1000, "image_size": 224, "patch_size": 16}


@register_model(example_input=(3, 32, 32), output_shape=(10,), test_kwargs=_TEST, paper_params=5_717_416, paper_kwargs=_PAPER)
def vit_tiny(num_classes: int = 1000, image_size: int = 224, patch_size: int = 16, in_channels: int = 3, depth: int = 12,
             dropout: float = 0.0) -> VisionTransformer:
    """ViT-Ti/16: d_model 192, 12 layers, 3 heads, MLP 768 (5,717,416 parameters with 1000 classes at 224×224).

    Example:
        >>> vit_tiny(num_classes=10, image_size=32, patch_size=8, depth=1)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return _vit("vit_tiny", 192, 3, 768, num_classes, image_size, patch_size, in_channels, depth, dropout)


@register_model(example_input=(3, 32, 32), output_shape=(10,), test_kwargs=_TEST, paper_params=22_050_664, paper_kwargs=_PAPER)
def vit_small(num_classes: int = 1000, image_size: int = 224, patch_size: int = 16, in_channels: int = 3, depth: int = 12,
              dropout: float = 0.0) -> VisionTransformer:
    """ViT-S/16: d_model 384, 12 layers, 6 heads, MLP 1536 (22,050,664 parameters with 1000 classes at 224×224).

    Example:
        >>> vit_small(num_classes=10, image_size=32, patch_size=8, depth=1)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return _vit("vit_small", 384, 6, 1536, num_classes, image_size, patch_size, in_channels, depth, dropout)
