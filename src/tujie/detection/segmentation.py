"""Semantic segmentation: per-pixel losses, scores and a small training loop for a U-Net.

Every pixel is classified: 0 is the background, `c + 1` the ink of a digit `c`. The loss is the
per-pixel cross-entropy, optionally plus a soft Dice loss (Milletari et al. 2016) that weighs every
class alike however few pixels it has: on a canvas most pixels are background. The scores are the
ones segmentation benchmarks report, accumulated over every pixel of the test set (PASCAL VOC's
way, not an average of per-image scores), through torchmetrics:

- IoU per class, |prediction ∩ truth| / |prediction ∪ truth| (`MulticlassJaccardIndex`), and its
  mean over the classes, the mIoU;
- Dice per class, 2|P ∩ T| / (|P| + |T|), which is the pixel-level F1 score (`MulticlassF1Score`),
  and its mean.

Example:
    >>> import torch
    >>> target = torch.zeros(1, 8, 8, dtype=torch.long); target[0, 2:5, 2:5] = 4
    >>> scores = SegmentationScores(num_classes=11)
    >>> scores.update(torch.nn.functional.one_hot(target, 11).permute(0, 3, 1, 2).float(), target)
    >>> result = scores.compute()
    >>> round(result["miou"], 3), round(result["per_class_iou"][4], 3), result["per_class_iou"][1]
    (1.0, 1.0, None)
"""

from __future__ import annotations

import math
import time
from typing import Callable, Iterable

import torch
import torch.nn.functional as F

from ..errors import DataError

NUM_CLASSES = 11  # the background and the ten digits
CLASS_NAMES = ("background", *(str(d) for d in range(10)))


def check_masks(masks: torch.Tensor, num_classes: int, what: str = "masks") -> None:
    """Raise a DataError unless `masks` is an integer class map (N, H, W) with values in [0, num_classes).

    Example:
        >>> check_masks(torch.tensor([[[0, 12]]]), 11, "canvas masks")
        Traceback (most recent call last):
        ...
        tujie.errors.DataError: The canvas masks hold classes outside 0..10. Expected: ...
    """
    if masks.ndim != 3 or masks.is_floating_point():
        raise DataError(f"The {what} are not per-pixel class maps.", expected="an integer tensor (N, H, W)",
                        received=f"{masks.dtype} of shape {tuple(masks.shape)}", fix="Pass one class number per pixel (0: background).")
    if masks.numel() and (int(masks.min()) < 0 or int(masks.max()) >= num_classes):
        raise DataError(f"The {what} hold classes outside 0..{num_classes - 1}.", expected=f"values in 0..{num_classes - 1} "
                        "(0: background, c + 1: class c)", received=f"values from {int(masks.min())} to {int(masks.max())}",
                        fix="Set num_classes to the number of classes plus one (the background).")


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 − the mean over classes of the soft Dice between the softmax and the one-hot truth.

    Args:
        logits: (N, C, H, W). target: (N, H, W) class numbers.
        eps: smoothing, so a class absent from both counts as a perfect match.

    Example:
        >>> t = torch.zeros(1, 4, 4, dtype=torch.long)
        >>> float(soft_dice_loss(100 * F.one_hot(t, 3).permute(0, 3, 1, 2).float(), t)) < 1e-3
        True
    """
    probs = logits.softmax(1)  # (N, C, H, W)
    truth = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)  # (N, C, H, W)
    overlap = (probs * truth).sum((0, 2, 3))  # (C,)
    sizes = probs.sum((0, 2, 3)) + truth.sum((0, 2, 3))  # (C,)
    return 1 - ((2 * overlap + eps) / (sizes + eps)).mean()


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 0.0, background_weight: float = 1.0) -> torch.Tensor:
    """Per-pixel cross-entropy (the background's pixels weighted by `background_weight`), plus `dice_weight` × soft Dice.

    Most pixels are background: a network first learns to call everything background, and a
    background weight below 1 makes a missed digit pixel cost more than a false one, so the
    digits' classes rise sooner.

    Example:
        >>> t = torch.zeros(2, 4, 4, dtype=torch.long)
        >>> round(segmentation_loss(torch.zeros(2, 3, 4, 4), t).item(), 4), round(math.log(3), 4)  # uniform over 3 classes
        (1.0986, 1.0986)
    """
    weight = None
    if background_weight != 1.0:
        weight = torch.ones(logits.shape[1], device=logits.device, dtype=logits.dtype)
        weight[0] = background_weight
    loss = F.cross_entropy(logits, target, weight=weight)  # weighted mean over the N·H·W pixels
    return loss + dice_weight * soft_dice_loss(logits, target) if dice_weight else loss


class SegmentationScores:
    """Dataset-level IoU and Dice per class, and their means, accumulated batch by batch (torchmetrics).

    A class that appears neither in the truth nor in the predictions of the whole set has no IoU
    (None) and is left out of the means.

    Args:
        num_classes: classes per pixel, the background included.
    """

    def __init__(self, num_classes: int = NUM_CLASSES):
        from torchmetrics.classification import MulticlassF1Score, MulticlassJaccardIndex

        self.num_classes = num_classes
        # both accumulate true/false positives and false negatives per class over every pixel given
        self._iou = MulticlassJaccardIndex(num_classes, average="none")
        self._dice = MulticlassF1Score(num_classes, average="none")  # pixel-level F1 is the Dice coefficient
        self._seen = torch.zeros(num_classes, dtype=torch.long)  # pixels per class in truth or prediction
        self._right = self._pixels = 0

    def update(self, logits_or_classes: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: logits (N, C, H, W) or predicted classes (N, H, W), and the true classes (N, H, W)."""
        preds = (logits_or_classes.argmax(1) if logits_or_classes.ndim == 4 else logits_or_classes).reshape(-1)  # (N·H·W,)
        target = target.reshape(-1)
        self._iou.update(preds, target)
        self._dice.update(preds, target)
        self._seen += torch.bincount(preds, minlength=self.num_classes) + torch.bincount(target, minlength=self.num_classes)
        self._right += int((preds == target).sum())
        self._pixels += target.numel()

    def compute(self) -> dict:
        """`miou`, `dice` (means over the classes seen), `pixel_accuracy`, `per_class_iou`, `per_class_dice` (None: unseen)."""
        seen = (self._seen > 0).tolist()
        per_iou = [float(v) if s else None for v, s in zip(self._iou.compute(), seen)]
        per_dice = [float(v) if s else None for v, s in zip(self._dice.compute(), seen)]
        iou = [v for v in per_iou if v is not None]
        dice = [v for v in per_dice if v is not None]
        return {"miou": sum(iou) / len(iou) if iou else math.nan, "dice": sum(dice) / len(dice) if dice else math.nan,
                "pixel_accuracy": self._right / self._pixels if self._pixels else math.nan,
                "per_class_iou": per_iou, "per_class_dice": per_dice, "pixels": self._pixels}


@torch.no_grad()
def predict_masks(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """The model's class map for every image: (N, 1, H, W) images → (N, H, W) int64.

    Example:
        >>> from tujie.models.unet import UNet
        >>> predict_masks(UNet(num_classes=3, base=4, depth=1), torch.zeros(3, 1, 8, 8)).shape
        torch.Size([3, 8, 8])
    """
    was_training = model.training
    model.eval()
    out = torch.cat([model(images[i:i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return out


def score_masks(predicted: torch.Tensor, truth: torch.Tensor, num_classes: int = NUM_CLASSES) -> dict:
    """`SegmentationScores` of predicted against true class maps, both (N, H, W).

    Example:
        >>> t = torch.tensor([[[0, 1], [1, 1]]])
        >>> round(score_masks(torch.tensor([[[0, 1], [1, 0]]]), t, 2)["miou"], 4)  # IoUs 1/2 and 2/3
        0.5833
    """
    check_masks(truth, num_classes, "true masks")
    scores = SegmentationScores(num_classes)
    scores.update(predicted, truth)
    return scores.compute()


def train_segmenter(model: torch.nn.Module, train_sets: Callable[[int], tuple], validation: tuple | None, *, epochs: int,
                    batch_size: int = 32, lr: float = 1e-3, dice_weight: float = 0.0, background_weight: float = 1.0,
                    num_classes: int = NUM_CLASSES, seed: int = 0,
                    on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
    """Train a segmenter with Adam and a one-cycle schedule; one history row per epoch.

    Args:
        model: (N, 1, H, W) → (N, num_classes, H, W) logits.
        train_sets: `epoch -> (images (N, 1, H, W), masks (N, H, W))`: a fresh set per epoch (canvases drawn anew)
            or the same one every time.
        validation: (images, masks) scored after every epoch, or None.
        epochs, batch_size, lr: the optimisation; the rate rises to `lr` and anneals (one-cycle).
        dice_weight: weight of the soft Dice loss added to the cross-entropy.
        background_weight: the cross-entropy's weight of a background pixel (a digit pixel weighs 1).
        on_epoch: called with each history row (progress lines).

    Returns:
        [{"epoch", "loss", "val_miou", "val_dice", "seconds"}, ...].

    Example:
        >>> from tujie.models.unet import UNet
        >>> x = torch.rand(8, 1, 16, 16); y = (x[:, 0] > 0.5).long()
        >>> rows = train_segmenter(UNet(num_classes=2, base=4, depth=1), lambda e: (x, y), (x, y), epochs=2, batch_size=4,
        ...                        num_classes=2)
        >>> [sorted(r) for r in rows][0]
        ['epoch', 'loss', 'seconds', 'val_dice', 'val_miou']
    """
    first = train_sets(0)
    steps_per_epoch = math.ceil(len(first[0]) / batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    # one-cycle: a short warm-up lets batch norm's statistics settle before the large steps
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15)
    generator = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(epochs):
        started = time.perf_counter()
        images, masks = first if epoch == 0 else train_sets(epoch)
        check_masks(masks, num_classes, "training masks")
        order = torch.randperm(len(images), generator=generator)
        model.train()
        total, count = 0.0, 0
        for step in range(steps_per_epoch):
            index = order[step * batch_size:(step + 1) * batch_size]
            if len(index) == 0:
                break
            loss = segmentation_loss(model(images[index]), masks[index], dice_weight, background_weight)  # logits (B, C, H, W)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total, count = total + float(loss.detach()) * len(index), count + len(index)
        row = {"epoch": epoch + 1, "loss": total / max(count, 1)}
        if validation is not None:
            scores = score_masks(predict_masks(model, validation[0]), validation[1], num_classes)
            row.update(val_miou=scores["miou"], val_dice=scores["dice"])
        else:
            row.update(val_miou=None, val_dice=None)
        row["seconds"] = time.perf_counter() - started
        history.append(row)
        if on_epoch:
            on_epoch(row)
    return history


def stack(items: Iterable[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    """Canvas items (`image` (1, H, W), `mask` (H, W)) as two tensors: images (N, 1, H, W) float, masks (N, H, W) int64.

    Example:
        >>> x, y = stack([{"image": torch.zeros(1, 4, 4), "mask": torch.ones(4, 4, dtype=torch.long)}] * 3)
        >>> x.shape, y.shape, y.dtype
        (torch.Size([3, 1, 4, 4]), torch.Size([3, 4, 4]), torch.int64)
    """
    images, masks = [], []
    for item in items:
        images.append(torch.as_tensor(item["image"], dtype=torch.float32))
        masks.append(torch.as_tensor(item["mask"]).long())
    return torch.stack(images), torch.stack(masks)


def digit_crops(items: Iterable[dict], size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """One `size`×`size` window of every canvas, placed at random so that it holds the centre of one of its digits.

    Training on such windows costs (size / canvas side)² of a whole canvas and skips most of the
    blank background; the U-Net is fully convolutional, so it is still tested on whole canvases.

    Args:
        items: canvas items (`image` (1, H, W), `mask` (H, W), `boxes` (k, 4) xyxy).
        size: the window's side (at most the canvas's).
        seed: fixes the windows.

    Returns:
        images (N, 1, size, size) float, masks (N, size, size) int64.

    Example:
        >>> item = {"image": torch.zeros(1, 32, 32), "mask": torch.zeros(32, 32, dtype=torch.long),
        ...         "boxes": torch.tensor([[20.0, 20.0, 30.0, 30.0]])}
        >>> item["mask"][20:30, 20:30] = 4
        >>> x, y = digit_crops([item], 16)
        >>> x.shape, bool((y == 4).any())
        (torch.Size([1, 1, 16, 16]), True)
    """
    generator = torch.Generator().manual_seed(seed)
    images, masks = [], []
    for item in items:
        image, mask, boxes = item["image"], item["mask"], item.get("boxes")
        height, width = mask.shape
        if size > min(height, width):
            raise DataError(f"A training window of {size} pixels does not fit a {height}x{width} canvas.",
                            expected=f"a window of at most {min(height, width)} pixels", received=f"crop={size}",
                            fix="Lower segmentation.crop, or set it to the canvas size.")
        if boxes is not None and len(boxes):
            box = boxes[int(torch.randint(len(boxes), (1,), generator=generator))]
            cx, cy = int((box[0] + box[2]) / 2), int((box[1] + box[3]) / 2)  # the digit's centre lies in the window
            x = int(torch.randint(max(0, cx - size + 1), min(cx, width - size) + 1, (1,), generator=generator))
            y = int(torch.randint(max(0, cy - size + 1), min(cy, height - size) + 1, (1,), generator=generator))
        else:
            x = int(torch.randint(0, width - size + 1, (1,), generator=generator))
            y = int(torch.randint(0, height - size + 1, (1,), generator=generator))
        images.append(torch.as_tensor(image, dtype=torch.float32)[:, y:y + size, x:x + size])  # (1, size, size)
        masks.append(torch.as_tensor(mask).long()[y:y + size, x:x + size])  # (size, size)
    return torch.stack(images), torch.stack(masks)
