"""Digit canvases: MNIST digits pasted at random positions and scales onto blank canvases.

No object-detection dataset can be downloaded here, so this one is built from real handwriting:
each canvas holds 1 to 5 MNIST digits (the train split's digits for `split="train"`, the test
split's for `split="test"`, so no test digit was ever seen in training), each resized by a factor
drawn from `scale` and pasted at a random place. Item i is a deterministic function of
(seed, split, i): nothing is stored, any item can be regenerated alone, and two runs see the
same canvases.

Boxes and masks are exact and consistent:

- a digit's *ink* is its resized pixels at or above `INK` (0.25 on the [0, 1] scale);
- its box is tight around its ink, xyxy in pixels with the right/bottom edge exclusive
  (a digit whose ink spans columns 10..29 has x0=10, x1=30), the COCO convention;
- the mask is int64 (H, W): 0 for background, class+1 where that digit's ink is.

Overlaps: boxes never overlap. A digit is placed only where its box touches no earlier box
(50 tries at random places); a digit that finds no free place is left out, so a canvas can
hold fewer digits than drawn (rare: a 128x128 canvas holds five digits at scale 2 easily).
So every mask pixel of class c lies in exactly one box, of class c, and no digit hides another:
a box's content is the whole digit, which keeps both the detection and the segmentation targets
honest (an occluded digit has no single right box).

Example:
    >>> digits = torch.zeros(2, 28, 28, dtype=torch.uint8); digits[:, 8:20, 10:18] = 255
    >>> canvases = DigitCanvases("train", count=4, seed=0, source=(digits, torch.tensor([3, 7])))
    >>> item = canvases[0]
    >>> item["image"].shape, item["mask"].shape, item["boxes"].shape[1]
    (torch.Size([1, 128, 128]), torch.Size([128, 128]), 4)
    >>> bool((canvases[0]["image"] == item["image"]).all())   # item i is a function of (seed, i)
    True
    >>> batch = collate([canvases[0], canvases[1]])
    >>> batch["image"].shape, len(batch["boxes"])
    (torch.Size([2, 1, 128, 128]), 2)
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError
from ..i18n import _

INK = 0.25            # a resized pixel at or above this (on [0, 1]) is ink: box and mask are drawn from it
PLACEMENT_TRIES = 50  # random places tried per digit before it is left out
CLASSES = [str(d) for d in range(10)]
_SPLIT_CODE = {"train": 0, "test": 1}  # mixed into the seed so train and test canvases differ in layout too


@functools.lru_cache(maxsize=2)
def _mnist(data_dir):
    from ..data.vision import mnist

    return mnist(data_dir=data_dir)  # both splits: the files are read once per process


def mnist_digits(split: str, data_dir=None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST's digits of one split as (images (N, 28, 28) uint8, labels (N,) int64), read once per process.

    Example:
        >>> images, labels = mnist_digits("test")  # doctest: +SKIP
        >>> images.shape, labels[:3].tolist()  # doctest: +SKIP
        (torch.Size([10000, 28, 28]), [7, 2, 1])
    """
    raw = _mnist(None if data_dir is None else str(data_dir))
    part = raw.train if split == "train" else raw.test
    return part.x[:, 0], part.y  # (N, 28, 28) uint8, (N,) int64


class DigitCanvases(Dataset):
    """`count` canvases of 1–5 MNIST digits each, with exact boxes and masks; item i depends only on (seed, i).

    Args:
        split: "train" (digits from MNIST's 60,000 training images) or "test" (its 10,000 test images).
        count: number of canvases (the dataset's length).
        size: canvas side in pixels.
        digits: (fewest, most) digits drawn per canvas, inclusive.
        scale: (smallest, largest) resize factor of the 28x28 digit (0.75 → 21 px, 2.0 → 56 px).
        seed: the seed; with `split` and the index it fixes everything about an item.
        source: (images (N, 28, 28) uint8, labels (N,) int64) to paste instead of MNIST (tests, other digits).
        data_dir: where MNIST's files are, if not under $TUJIE_DATA or the cache.

    Returns (per item): a dict with
        image: (1, size, size) float32 in [0, 1];
        boxes: (k, 4) float32 xyxy in pixels, tight around each digit's ink (right/bottom exclusive);
        labels: (k,) int64 digit classes 0..9;
        mask: (size, size) int64, 0 background, class+1 on a digit's ink.
    """

    classes = CLASSES

    def __init__(self, split: str = "train", count: int = 1000, size: int = 128, digits=(1, 5),
                 scale=(0.75, 2.0), seed: int = 0, source=None, data_dir=None):
        if split not in _SPLIT_CODE:
            raise ConfigError(_("Unknown canvas split `{split}`.").format(split=split),
                              expected='"train" or "test"', received=repr(split),
                              fix=_('Use split="train" or split="test".'))
        lo, hi = (int(v) for v in digits)
        if not 1 <= lo <= hi:
            raise ConfigError(_("The digits per canvas must be a range (fewest, most) with 1 <= fewest <= most."),
                              expected="e.g. (1, 5)", received=repr(tuple(digits)),
                              fix=_("Give two whole numbers, the smaller first."))
        smin, smax = (float(v) for v in scale)
        if not 0 < smin <= smax or round(28 * smax) > size:
            raise ConfigError(_("The digit scale must be a range (smallest, largest) of positive factors "
                                "whose largest digit fits the canvas."),
                              expected=f"0 < smallest <= largest <= {size / 28:.2f} for a {size}-pixel canvas",
                              received=repr(tuple(scale)), fix=_("Lower the largest scale or enlarge the canvas."))
        self.split, self.count, self.size, self.seed = split, int(count), int(size), int(seed)
        self.digits, self.scale = (lo, hi), (smin, smax)
        images, labels = source if source is not None else mnist_digits(split, data_dir)
        if images.ndim != 3 or len(images) != len(labels) or len(images) == 0:
            raise DataError(_("The digits to paste have the wrong shape."),
                            expected="images (N, H, W) uint8 and labels (N,), N >= 1",
                            received=f"images {tuple(images.shape)}, labels {tuple(labels.shape)}",
                            fix=_("Pass source=(images, labels) with one label per image."))
        self.images = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()  # (N, 28, 28) in [0, 1]
        self.labels = labels.long()

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.count:
            raise IndexError(f"canvas {index} out of range for {self.count} canvases")
        # One generator per item, seeded by (seed, split, index): items are independent and reproducible.
        rng = np.random.default_rng([self.seed, _SPLIT_CODE[self.split], int(index)])
        size = self.size
        image = torch.zeros(size, size)                    # (H, W)
        mask = torch.zeros(size, size, dtype=torch.int64)  # (H, W)
        boxes, labels = [], []
        for _digit in range(int(rng.integers(self.digits[0], self.digits[1] + 1))):
            pick = int(rng.integers(len(self.images)))
            side = max(4, int(round(self.images.shape[-1] * rng.uniform(*self.scale))))
            digit = F.interpolate(self.images[pick][None, None], size=(side, side), mode="bilinear",
                                  align_corners=False, antialias=True)[0, 0].clamp(0, 1)  # (side, side)
            ink = digit >= INK
            rows, cols = ink.any(1).nonzero()[:, 0], ink.any(0).nonzero()[:, 0]
            if len(rows) == 0:
                continue  # a blank digit has no box
            digit = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # (h, w): cropped to its ink
            ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
            h, w = digit.shape
            for _try in range(PLACEMENT_TRIES):
                y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
                if all(x >= b[2] or b[0] >= x + w or y >= b[3] or b[1] >= y + h for b in boxes):
                    break
            else:
                continue  # no free place: left out (boxes never overlap)
            image[y:y + h, x:x + w] = digit
            mask[y:y + h, x:x + w][ink] = int(self.labels[pick]) + 1
            boxes.append((x, y, x + w, y + h))
            labels.append(int(self.labels[pick]))
        return {"image": image[None],                                                   # (1, H, W)
                "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),       # (k, 4)
                "labels": torch.tensor(labels, dtype=torch.int64),                      # (k,)
                "mask": mask}                                                           # (H, W)


def collate(items: list[dict]) -> dict:
    """Batch canvas items: images and masks stacked, boxes and labels kept as lists (each canvas has its own k).

    Returns:
        dict(image=(B, 1, H, W), mask=(B, H, W), boxes=[(k_b, 4)], labels=[(k_b,)]).

    Example:
        >>> item = {"image": torch.zeros(1, 8, 8), "mask": torch.zeros(8, 8, dtype=torch.int64),
        ...         "boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
        >>> collate([item, item])["mask"].shape
        torch.Size([2, 8, 8])
    """
    return {"image": torch.stack([it["image"] for it in items]),
            "mask": torch.stack([it["mask"] for it in items]),
            "boxes": [it["boxes"] for it in items],
            "labels": [it["labels"] for it in items]}
