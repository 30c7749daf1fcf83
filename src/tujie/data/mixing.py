"""Batch mixing with soft targets: MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019).

Both take a batch `(x, y)` and return `(x_mixed, y_soft)`, where `y_soft` (batch, classes)
holds class probabilities that `torch.nn.functional.cross_entropy` (and tujie's
"cross_entropy" loss) accept as targets. One coefficient λ and one partner permutation
are drawn per batch, as in both papers' reference code (and timm's default "batch" mode):

    mixup:  λ ~ Beta(α, α);  x = λ·x + (1-λ)·x[perm];  y = λ·onehot(y) + (1-λ)·onehot(y[perm])
    cutmix: λ ~ Beta(α, α);  a box of area ≈ (1-λ)·H·W is pasted from x[perm] (clipped at the
            border), then λ = 1 - box area / (H·W) is recomputed from the box actually pasted.

Why not kornia's `RandomMixUpV2` / `RandomCutMixV2` (kornia 0.9)? They were read and not used:
- `RandomMixUpV2` draws λ ~ Uniform(lambda_val), not Beta(α, α), so the paper's α
  (0.2 on ImageNet) cannot be expressed; and it accepts images (B, C, H, W) only, while
  mixup is as useful on tabular features and embeddings.
- Both take 1-D class ids only and return (B, 3) `[y_a, y_b, λ]` rows (kornia's λ weighs
  the *partner*), so targets that are already soft (label smoothing, a previous mixing)
  cannot pass through, and the loss needs a custom two-term formula.
- Both draw from torch's global RNG with no generator argument, so a seeded, reproducible
  stream independent of the model's own randomness would need forking the global state.
- `RandomCutMixV2` builds a (B, C, H, W) boolean mask and copies through it; pasting the
  box with one slice assignment copies only the box.
The direct torch code below is a few lines per method, and the tests check it against the
formulas above.

In a recipe (see `build_mixing`):

    mixing:
      - mixup: {alpha: 0.2}
      - cutmix: {alpha: 1.0}     # several: one is chosen at random for each batch
"""

from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError, closest


class _BatchMixing(nn.Module):
    """Shared plumbing: argument checks, soft targets, random draws, the `p` gate."""

    def __init__(self, alpha: float, num_classes: int | None, p: float, seed: int | None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha > 0:
            raise ConfigError(f"Invalid value received for `alpha` of {name}.", expected="a number > 0 (λ ~ Beta(alpha, alpha))",
                              received=f"alpha={alpha!r}", fix=f"Pass alpha={self.default_alpha}, the paper's value.")
        if num_classes is not None and (not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2):
            raise ConfigError(f"Invalid value received for `num_classes` of {name}.", expected="an integer >= 2, or None",
                              received=f"num_classes={num_classes!r}", fix="Pass the number of classes of the dataset.")
        if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ConfigError(f"Invalid value received for `p` of {name}.", expected="a probability 0 <= p <= 1",
                              received=f"p={p!r}", fix="Pass p=1.0 to mix every batch.")
        self.alpha, self.num_classes, self.p, self.seed = float(alpha), num_classes, float(p), seed
        # Scalars (λ, the gate, the box) come from Python's RNG, the permutation from torch's:
        # seeded, both are private to this module; unseeded, both are the global ones that
        # `tj.seed_everything` seeds.
        self._rng = random if seed is None else random.Random(seed)
        self._generator = None if seed is None else torch.Generator().manual_seed(seed)
        self.last_lam: float | None = None          # λ of the last mixed batch (for logging and tests)
        self.last_index: torch.Tensor | None = None  # its partner permutation, (batch,)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, num_classes={self.num_classes}, p={self.p}"

    def soft_targets(self, y: torch.Tensor, batch: int, dtype: torch.dtype) -> torch.Tensor:
        """Class ids (B,) or (B, 1), or probabilities (B, K), as probabilities (B, K)."""
        name = type(self).__name__
        if not torch.is_tensor(y) or len(y) != batch or y.ndim not in (1, 2):
            shape = tuple(y.shape) if torch.is_tensor(y) else type(y).__name__
            raise ShapeError(f"{name} received targets of the wrong shape.",
                             expected=f"class ids ({batch},) or probabilities ({batch}, num_classes), one row per sample of x",
                             received=f"y of shape {shape}", fix="Pass the batch's targets as a tensor aligned with x.")
        if y.ndim == 2 and not (y.shape[1] == 1 and not y.is_floating_point()):  # already probabilities
            if self.num_classes is not None and y.shape[1] != self.num_classes:
                raise ShapeError(f"{name} received {y.shape[1]} target columns but was built for {self.num_classes} classes.",
                                 expected=f"y of shape ({batch}, {self.num_classes})", received=f"y of shape {tuple(y.shape)}",
                                 fix="Pass num_classes equal to the number of target columns, or None to infer it.")
            return y.to(dtype)
        if y.is_floating_point():
            raise ShapeError(f"{name} received 1-D floating-point targets.",
                             expected="integer class ids, or (batch, num_classes) probabilities",
                             received=f"y of dtype {y.dtype}", fix="Convert class ids with y.long().")
        if self.num_classes is None:
            # y.max() + 1 of one batch undercounts whenever the batch misses the last classes.
            raise ConfigError(f"{name} cannot know the number of classes from class ids.",
                              expected="num_classes=... when the targets are class ids",
                              received="num_classes=None and y of integer class ids",
                              fix=f"Build it with {name}(num_classes=10), say, or pass (batch, num_classes) probabilities.")
        y = y.reshape(batch)
        # Checked where it is free: on a GPU it would stall every batch on a sync.
        if y.device.type == "cpu" and len(y) and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ConfigError(f"{name} received class ids outside 0..{self.num_classes - 1}.",
                              expected=f"0 <= y < num_classes={self.num_classes}",
                              received=f"ids from {int(y.min())} to {int(y.max())}", fix="Pass the dataset's true num_classes.")
        return F.one_hot(y.long(), self.num_classes).to(dtype)  # (B, K)

    def _check_x(self, x: torch.Tensor, ndim: int | None, shape: str) -> None:
        """A ShapeError unless x is a floating-point batch (of exactly `ndim` dimensions when given)."""
        if not torch.is_tensor(x) or x.ndim < 1 or (ndim is not None and x.ndim != ndim) or not x.is_floating_point():
            received = f"x of shape {tuple(x.shape)} and dtype {x.dtype}" if torch.is_tensor(x) else type(x).__name__
            raise ShapeError(f"{type(self).__name__} received an input it cannot mix.", expected=f"a floating-point tensor {shape}",
                             received=received, fix="Convert the batch with x.float() and keep the batch dimension first.")

    def _draw(self, batch: int, device: torch.device, lam: float | None) -> tuple[bool, float, torch.Tensor]:
        """(apply?, λ, partner permutation (B,)) for one batch."""
        if lam is not None and not 0.0 <= lam <= 1.0:
            raise ConfigError("Invalid value received for `lam`.", expected="0 <= lam <= 1", received=f"lam={lam!r}",
                              fix="Pass lam=None to draw it from Beta(alpha, alpha).")
        apply = self.training and batch > 1 and (self.p >= 1.0 or self._rng.random() < self.p)
        if not apply:
            return False, 1.0, torch.arange(batch, device=device)
        lam = self._rng.betavariate(self.alpha, self.alpha) if lam is None else float(lam)
        index = torch.randperm(batch, generator=self._generator).to(device)  # (B,) drawn on the CPU: B ints
        return True, lam, index


class MixUp(_BatchMixing):
    """MixUp (Zhang et al. 2018): convex combinations of sample pairs and of their targets.

    Works on any batch whose first dimension is the sample: images, tabular rows, embeddings.
    In eval mode (`.eval()`), or with probability 1 - p, the batch passes unmixed (targets
    still become one-hot probabilities, so the loss sees one kind of target).

    Args:
        alpha: λ ~ Beta(alpha, alpha); the paper uses 0.2 on ImageNet, 1.0 on CIFAR-10.
            Small alpha puts λ near 0 or 1 (little mixing).
        num_classes: K; required when the targets are class ids (a batch's y.max() + 1 is
            not safe), inferred when they are already probabilities (B, K).
        p: probability of mixing a given batch.
        seed: seeds a private random stream (reproducible); None uses the global RNGs.

    Input shape:
        x (batch, ...) floating point; y (batch,) integer class ids or (batch, K) probabilities.

    Output shape:
        x_mixed like x; y_soft (batch, K) in x's dtype, each row summing to 1.

    Example:
        >>> mixup = MixUp(alpha=0.2, num_classes=3, seed=0)
        >>> x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
        >>> x_mixed, y_soft = mixup(x, y)
        >>> x_mixed.shape, y_soft.shape, bool(torch.allclose(y_soft.sum(1), torch.ones(8)))
        (torch.Size([8, 5]), torch.Size([8, 3]), True)
        >>> logits = torch.nn.Linear(5, 3)(x_mixed)
        >>> loss = torch.nn.functional.cross_entropy(logits, y_soft)  # probability targets
        >>> loss.ndim
        0
    """

    default_alpha = 0.2

    def __init__(self, alpha: float = 0.2, num_classes: int | None = None, p: float = 1.0, *, seed: int | None = None):
        super().__init__(alpha, num_classes, p, seed)

    def forward(self, x: torch.Tensor, y: torch.Tensor, *, lam: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix a batch. `lam` fixes λ instead of drawing it (tests, schedules); None draws it."""
        self._check_x(x, None, "(batch, ...)")
        batch = len(x)
        dtype = x.dtype
        y_soft = self.soft_targets(y, batch, dtype)  # (B, K)
        apply, lam, index = self._draw(batch, x.device, lam)
        self.last_lam, self.last_index = lam, index
        if not apply:
            return x, y_soft
        x_mixed = lam * x + (1.0 - lam) * x[index]                # (B, ...)
        y_mixed = lam * y_soft + (1.0 - lam) * y_soft[index]      # (B, K)
        return x_mixed, y_mixed


class CutMix(_BatchMixing):
    """CutMix (Yun et al. 2019): paste a box from a partner image; targets weighted by area.

    The box follows the paper's reference code: its sides are sqrt(1 - λ)·(H, W), its centre
    uniform over the image, clipped at the border; λ is then recomputed as the share of the
    image that stays the sample's own, so the targets match the pixels. One box per batch.
    In eval mode, or with probability 1 - p, the batch passes unmixed (one-hot targets).

    Args:
        alpha: λ ~ Beta(alpha, alpha); the paper uses 1.0 (λ uniform).
        num_classes: K; required for class-id targets, inferred from (B, K) probabilities.
        p: probability of mixing a given batch (the paper's "cutmix_prob"; 0.5 on CIFAR).
        seed: seeds a private random stream (reproducible); None uses the global RNGs.

    Input shape:
        x (batch, channels, height, width) floating point; y (batch,) class ids or (batch, K).

    Output shape:
        x_mixed like x; y_soft (batch, K). `last_box` holds the pasted (top, bottom, left, right).

    Example:
        >>> cutmix = CutMix(num_classes=10, seed=0)
        >>> images, labels = torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
        >>> mixed, y_soft = cutmix(images, labels)
        >>> mixed.shape, y_soft.shape
        (torch.Size([4, 3, 32, 32]), torch.Size([4, 10]))
        >>> top, bottom, left, right = cutmix.last_box
        >>> abs(cutmix.last_lam - (1 - (bottom - top) * (right - left) / (32 * 32))) < 1e-9
        True
    """

    default_alpha = 1.0

    def __init__(self, alpha: float = 1.0, num_classes: int | None = None, p: float = 1.0, *, seed: int | None = None):
        super().__init__(alpha, num_classes, p, seed)
        self.last_box: tuple[int, int, int, int] | None = None

    def forward(self, x: torch.Tensor, y: torch.Tensor, *, lam: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix a batch. `lam` fixes the λ that sizes the box (λ is still recomputed from the clipped box)."""
        self._check_x(x, 4, "(batch, channels, height, width)")
        batch, _, height, width = x.shape
        y_soft = self.soft_targets(y, batch, x.dtype)  # (B, K)
        apply, lam, index = self._draw(batch, x.device, lam)
        self.last_index, self.last_box = index, None
        if not apply:
            self.last_lam = 1.0
            return x, y_soft
        top, bottom, left, right = self._box(height, width, lam)
        x_mixed = x.clone()  # (B, C, H, W); clone + slice assignment stays differentiable
        x_mixed[:, :, top:bottom, left:right] = x[index, :, top:bottom, left:right]
        lam = 1.0 - (bottom - top) * (right - left) / (height * width)  # the pasted area decides the targets
        self.last_lam, self.last_box = lam, (top, bottom, left, right)
        return x_mixed, lam * y_soft + (1.0 - lam) * y_soft[index]  # (B, K)

    def _box(self, height: int, width: int, lam: float) -> tuple[int, int, int, int]:
        """The box of Yun et al.'s `rand_bbox`: sides sqrt(1-λ)·(H, W), uniform centre, clipped."""
        ratio = math.sqrt(1.0 - lam)
        cut_h, cut_w = int(height * ratio), int(width * ratio)
        cy, cx = self._rng.randrange(height), self._rng.randrange(width)
        top, bottom = min(max(cy - cut_h // 2, 0), height), min(max(cy + cut_h // 2, 0), height)
        left, right = min(max(cx - cut_w // 2, 0), width), min(max(cx + cut_w // 2, 0), width)
        return top, bottom, left, right


class RandomMixing(nn.Module):
    """One of several mixings, chosen at random for each batch (timm's mixup/cutmix switch).

    Args:
        mixings: `MixUp` / `CutMix` modules (or any `(x, y) -> (x, y_soft)` modules).
        seed: seeds the choice; None uses Python's global RNG.

    Example:
        >>> mix = RandomMixing([MixUp(num_classes=3, seed=0), MixUp(alpha=1.0, num_classes=3, seed=1)], seed=0)
        >>> mix(torch.randn(4, 2), torch.tensor([0, 1, 2, 0]))[1].shape
        torch.Size([4, 3])
    """

    def __init__(self, mixings, *, seed: int | None = None):
        super().__init__()
        self.mixings = nn.ModuleList(mixings)
        if len(self.mixings) == 0:
            raise ConfigError("RandomMixing received no mixing to choose from.", expected="at least one mixing module",
                              received="[]", fix="Pass [MixUp(...), CutMix(...)].")
        self.seed = seed
        self._rng = random if seed is None else random.Random(seed)
        self.last_choice: int | None = None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.last_choice = self._rng.randrange(len(self.mixings))
        return self.mixings[self.last_choice](x, y)


MIXINGS = {"mixup": MixUp, "cutmix": CutMix}


def build_mixing(spec, *, num_classes: int | None = None, seed: int | None = None) -> nn.Module | None:
    """A mixing module from a recipe's `mixing` entry: a name, `{name: {options}}`, or a list of them.

    Args:
        spec: None or empty → None; "mixup" / "cutmix"; `{"mixup": {"alpha": 0.4}}`; a list of
            those, or a mapping with several names: then one is chosen at random per batch.
        num_classes: default `num_classes` for every mixing that does not set its own.
        seed: default seed for every mixing (each gets seed + its position) and the choice.

    Returns:
        A `MixUp`, a `CutMix`, a `RandomMixing` over several, or None.

    Example:
        >>> build_mixing({"mixup": {"alpha": 0.4}}, num_classes=10)
        MixUp(alpha=0.4, num_classes=10, p=1.0)
        >>> type(build_mixing(["mixup", "cutmix"], num_classes=10)).__name__
        'RandomMixing'
        >>> build_mixing(None) is None
        True
    """
    if not spec:
        return None
    if isinstance(spec, str):
        items = [spec]
    elif isinstance(spec, dict):
        items = [{name: options} for name, options in spec.items()]
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
    else:
        raise ConfigError("Invalid `mixing` specification.", expected="a name, a {name: {options}} mapping, or a list of them",
                          received=f"{type(spec).__name__}: {spec!r}", fix='Write mixing: [{mixup: {alpha: 0.2}}].')
    mixings = []
    for position, item in enumerate(items):
        if isinstance(item, str):
            name, options = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, options = next(iter(item.items()))
        else:
            name, options = None, None
        key = str(name).lower().replace("-", "_") if name is not None else None
        if key not in MIXINGS:
            raise ConfigError(f"Unknown mixing {name if name is not None else item!r}. {closest(str(key or item), MIXINGS)}",
                              expected=f"one of {', '.join(MIXINGS)}, as a name or a {{name: {{options}}}} mapping",
                              received=repr(item), fix="Fix the `mixing` entry of the recipe.")
        options = dict(options or {})
        options.setdefault("num_classes", num_classes)
        if seed is not None:
            options.setdefault("seed", seed + position)
        try:
            mixings.append(MIXINGS[key](**options))
        except TypeError as e:
            raise ConfigError(f"Invalid options for mixing {key!r}: {e}.", expected="alpha, num_classes, p, seed",
                              received=repr(options), fix="Remove or correct the offending option.") from None
    return mixings[0] if len(mixings) == 1 else RandomMixing(mixings, seed=seed)
