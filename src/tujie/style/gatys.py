"""Gatys, Ecker & Bethge 2016, "Image style transfer using convolutional neural networks" (CVPR).

The picture itself is optimised: starting from the content photo, its pixels move to keep the
feature network's activations at one layer (the content) while matching the Gram matrices of
several layers of the style image (the style: which features occur together, wherever they are).

    content loss  L_c = mean over (C, H, W) of (F_l(x) − F_l(p))²                  one layer l
    Gram matrix   G_l = F_l F_lᵀ / (H_l W_l)                                       (C_l, C_l)
    style loss    L_s = Σ_l w_l · mean over (C_l, C_l) of (G_l(x) − G_l(a))²       w_l = 1 / len(layers)
    total         α L_c + β L_s + γ TV(x)

The normalisation: the paper's E_l = Σ(G − A)² / (4 N_l² M_l²) with the raw Gram F Fᵀ
(N_l channels, M_l = H_l W_l positions) equals a quarter of our per-layer term, so L_s is the
paper's style loss times 4 (and our G does not grow with the image's size). The optimiser is
L-BFGS, as in the paper (torch.optim.LBFGS with a strong-Wolfe line search); every evaluation
of the loss counts as one step (the line search's trial points included); the curves record the
loss at each accepted iterate. The picture is clamped to [0, 1] between L-BFGS iterations.

Example:
    >>> from tujie.models.vgg import vgg_mini, CONFIGS
    >>> from tujie.style.features import FeatureExtractor
    >>> torch.manual_seed(0) and None
    >>> net = FeatureExtractor(vgg_mini().features, CONFIGS["vgg_mini"])
    >>> content, style = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    >>> out = transfer(net, content, style, steps=10, content_layer="relu2_2", style_layers=["relu1_1", "relu2_1"])
    >>> out.image.shape, out.history[-1]["step"] >= 10, out.history[-1]["style"] < out.history[0]["style"]
    (torch.Size([1, 3, 16, 16]), True, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, C, C): which channels fire together, averaged over positions.

    Example:
        >>> gram_matrix(torch.ones(1, 2, 3, 3))
        tensor([[[1., 1.],
                 [1., 1.]]])
    """
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)                                    # (B, C, HW)
    return flat @ flat.transpose(1, 2) / (h * w)                            # (B, C, C)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels (a smoothness prior; off by default).

    Example:
        >>> float(total_variation(torch.zeros(1, 3, 4, 4)))
        0.0
    """
    return ((image[..., 1:, :] - image[..., :-1, :]) ** 2).mean() + ((image[..., :, 1:] - image[..., :, :-1]) ** 2).mean()


@dataclass
class TransferResult:
    """One optimised picture and how it got there.

    Attributes:
        image: (1, 3, H, W) in [0, 1].
        history: one row per logged step: {"step", "content", "style", "total"} (the unweighted losses).
        seconds: wall time of the optimisation.
        style_layers: the per-layer style losses at the start and the end.
    """

    image: torch.Tensor
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    style_layers: dict = field(default_factory=dict)


class StyleLoss:
    """The targets of one (content, style) pair: the content's features and the style's Gram matrices."""

    def __init__(self, extractor, content: torch.Tensor, style: torch.Tensor, content_layer: str, style_layers):
        self.extractor, self.content_layer, self.style_layers = extractor, content_layer, list(style_layers)
        with torch.no_grad():
            self.content_target = extractor(content, [content_layer])[content_layer]       # (1, C, H, W)
            style_features = extractor(style, self.style_layers)
            self.gram_targets = {n: gram_matrix(style_features[n]) for n in self.style_layers}  # (1, C_l, C_l)

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """(content loss, style loss, per-layer style losses) of `image`."""
        features = self.extractor(image, [self.content_layer, *self.style_layers])
        content = torch.mean((features[self.content_layer] - self.content_target) ** 2)
        layers = {n: torch.mean((gram_matrix(features[n]) - self.gram_targets[n]) ** 2) for n in self.style_layers}
        return content, sum(layers.values()) / len(layers), layers


def transfer(extractor, content: torch.Tensor, style: torch.Tensor, *, content_layer: str, style_layers,
             style_weight: float = 1e3, content_weight: float = 1.0, tv_weight: float = 0.0, steps: int = 300,
             optimizer: str = "lbfgs", lr: float = 0.02, init: str = "content", log_every: int = 10, seed: int = 0) -> TransferResult:
    """Optimise a picture to have `content`'s content and `style`'s style (Gatys et al. 2016).

    Args:
        extractor: a `FeatureExtractor` (frozen).
        content, style: (1, 3, H, W) and (1, 3, H', W') in [0, 1]; the result has the content's size.
        content_layer, style_layers: layer names (`features.layer_names`).
        style_weight, content_weight, tv_weight: β, α, γ above (the ratio β/α sets how stylised).
        steps: loss evaluations (L-BFGS: at least; its last line search may take a few more) or Adam steps.
        optimizer: "lbfgs" (the paper's) or "adam" (lr `lr`).
        init: "content" (start from the photo) or "noise" (the paper's white noise).
        log_every: record the losses every this many steps (and the first and last).

    Returns:
        A `TransferResult`.
    """
    target = StyleLoss(extractor, content, style, content_layer, style_layers)
    generator = torch.Generator().manual_seed(seed)
    start = content.clone() if init == "content" else torch.rand(content.shape, generator=generator)
    image = start.requires_grad_(True)                                     # (1, 3, H, W), the only parameters
    history, first_layers, step, logged, fresh = [], {}, 0, -log_every, True
    began = time.perf_counter()

    def closure():
        nonlocal step, first_layers, logged, fresh
        opt.zero_grad()
        c, s, layers = target(image)
        loss = content_weight * c + style_weight * s + (tv_weight * total_variation(image) if tv_weight else 0.0)
        loss.backward()
        if step == 0:
            first_layers = {n: float(v.detach()) for n, v in layers.items()}
        # only the first evaluation of an iteration is at an accepted picture; the line search's trials are not
        if fresh and step - logged >= log_every:
            history.append({"step": step, "content": float(c.detach()), "style": float(s.detach()), "total": float(loss.detach())})
            logged = step
        fresh = False
        step += 1
        return loss

    if optimizer == "lbfgs":  # one iteration per call: the picture is clamped between iterations
        # no tolerances: the losses are means, so a large picture's gradients are tiny and torch's defaults
        # (1e-7 on the gradient) would stop it after a few iterations; the budget is `steps`
        # and max_eval: torch's default for one iteration (1) would end the iteration before its line search
        opt = torch.optim.LBFGS([image], lr=1.0, max_iter=1, max_eval=steps + 25, history_size=50,
                                line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)
    else:
        opt = torch.optim.Adam([image], lr=lr)
    while step < steps:
        before, fresh = step, True
        if optimizer == "lbfgs":
            opt.step(closure)
        else:
            closure()
            opt.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        if step == before:  # L-BFGS converged: nothing left to move
            break
    with torch.no_grad():
        c, s, layers = target(image)
    history.append({"step": step, "content": float(c), "style": float(s),
                    "total": float(content_weight * c + style_weight * s)})
    return TransferResult(image.detach(), history, time.perf_counter() - began,
                          {n: {"first": first_layers.get(n), "last": float(v)} for n, v in layers.items()})
