"""CenterNet's targets, loss and decoding (Zhou et al. 2019, "Objects as Points"), for `models.detector.CenterNet`.

- `encode`: each true box becomes a Gaussian bump on its class's heatmap, peak 1 at the cell of its
  centre (σ proportional to the box's size, as the paper's size-adaptive radius), plus the box's
  width/height and the centre's sub-cell offset, stored at that one cell.
- `centernet_loss`: the paper's penalty-reduced focal loss on the heatmaps (α=2, β=4: cells near
  a centre are punished less for firing), plus L1 on size (weight 0.1) and offset (weight 1) at
  the centres, each divided by the number of objects.
- `decode`: heatmap peaks (a cell that is the maximum of its 3x3 neighbourhood) → the top-k
  scores → boxes from the size and offset at the peak, then class-wise NMS. CenterNet needs
  little NMS (one peak per object); it removes the rare double peak on a long digit.

Example:
    >>> boxes, labels = [torch.tensor([[8., 8., 24., 40.]])], [torch.tensor([3])]
    >>> target = encode(boxes, labels, num_classes=10, grid=(16, 16))
    >>> target["heatmap"].shape, float(target["heatmap"][0, 3, 6, 4])   # the centre (16, 24) / 4
    (torch.Size([1, 10, 16, 16]), 1.0)
    >>> out = {"heatmap": (target["heatmap"] * 20 - 10), "size": target["size"], "offset": target["offset"]}
    >>> found = decode(out, score_threshold=0.5)[0]
    >>> found["boxes"].tolist(), found["labels"].tolist()
    ([[8.0, 8.0, 24.0, 40.0]], [3])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .boxes import batched_nms

STRIDE = 4
SIGMA_PER_SIZE = 0.15  # the Gaussian's σ per axis, as a share of the box's side there (in grid cells)


def encode(boxes: list, labels: list, num_classes: int, grid: tuple[int, int], stride: int = STRIDE) -> dict:
    """Dense training targets for a batch.

    Args:
        boxes: per image a (k, 4) xyxy pixel tensor; labels: per image (k,) int64.
        num_classes: heatmap channels.
        grid: (h, w) of the output grid (image size / stride).

    Returns:
        dict(heatmap=(B, C, h, w) in [0, 1], size=(B, 2, h, w) in cells, offset=(B, 2, h, w) in cells,
        centres=(B, 1, h, w) 1 at each object's centre cell, else 0).
    """
    batch, (h, w) = len(boxes), grid
    heatmap = torch.zeros(batch, num_classes, h, w)
    size = torch.zeros(batch, 2, h, w)
    offset = torch.zeros(batch, 2, h, w)
    centres = torch.zeros(batch, 1, h, w)
    ys, xs = torch.arange(h, dtype=torch.float32)[:, None], torch.arange(w, dtype=torch.float32)[None, :]
    for b, (image_boxes, image_labels) in enumerate(zip(boxes, labels)):
        for (x0, y0, x1, y1), label in zip((image_boxes / stride).tolist(), image_labels.tolist()):
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2  # the centre, in cells
            i, j = min(int(cy), h - 1), min(int(cx), w - 1)
            sx, sy = max(SIGMA_PER_SIZE * (x1 - x0), 0.5), max(SIGMA_PER_SIZE * (y1 - y0), 0.5)
            bump = torch.exp(-((xs - j) ** 2) / (2 * sx * sx) - ((ys - i) ** 2) / (2 * sy * sy))  # (h, w), 1 at (i, j)
            heatmap[b, label] = torch.maximum(heatmap[b, label], bump)
            size[b, :, i, j] = torch.tensor([x1 - x0, y1 - y0])
            offset[b, :, i, j] = torch.tensor([cx - j, cy - i])
            centres[b, 0, i, j] = 1.0
    return {"heatmap": heatmap, "size": size, "offset": offset, "centres": centres}


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, summed (divide by the number of objects).

    At a centre (target 1): −(1−p)^α log p. Elsewhere: −(1−y)^β p^α log(1−p), so cells inside an
    object's Gaussian (y near 1) are barely punished for firing.

    Example:
        >>> target = torch.tensor([[1.0, 0.5, 0.0]])
        >>> bool(focal_loss(torch.tensor([[5.0, -5.0, -5.0]]), target) < focal_loss(torch.zeros(1, 3), target))
        True
    """
    log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)  # stable log p and log(1 − p)
    p = log_p.exp()
    positive = target.eq(1).float()
    pos = (1 - p) ** alpha * log_p * positive
    neg = (1 - target) ** beta * p ** alpha * log_not_p * (1 - positive)
    return -(pos.sum() + neg.sum())


def centernet_loss(out: dict, target: dict, size_weight: float = 0.1, offset_weight: float = 1.0) -> tuple:
    """The detector's loss: (total, dict(heatmap=..., size=..., offset=...)), each per object.

    Args:
        out: the model's output (heatmap logits, size, offset).
        target: `encode`'s dict, on the same device.
    """
    objects = target["centres"].sum().clamp(min=1.0)
    heat = focal_loss(out["heatmap"], target["heatmap"]) / objects
    centres = target["centres"]  # (B, 1, h, w): the L1 terms count at the centres only
    size = (F.l1_loss(out["size"], target["size"], reduction="none") * centres).sum() / objects
    offset = (F.l1_loss(out["offset"], target["offset"], reduction="none") * centres).sum() / objects
    total = heat + size_weight * size + offset_weight * offset
    return total, {"heatmap": heat.detach(), "size": size.detach(), "offset": offset.detach()}


@torch.no_grad()
def decode(out: dict, stride: int = STRIDE, top_k: int = 100, score_threshold: float = 0.05,
           nms_iou: float = 0.5, image_size: tuple[int, int] | None = None, class_agnostic: bool = False) -> list[dict]:
    """Detections per image from the model's output.

    Args:
        out: heatmap (B, C, h, w) logits, size (B, 2, h, w), offset (B, 2, h, w).
        top_k: peaks kept per image before NMS.
        score_threshold: the lowest score kept (a low one serves mAP, which needs the whole ranking).
        nms_iou: class-wise NMS threshold.
        image_size: (H, W) to clip boxes to; default the grid times the stride.
        class_agnostic: NMS across classes too (a box suppresses overlapping boxes of any class): right
            where objects never overlap, as on the digit canvases, where it removes a second guess of
            another class at the same place.

    Returns:
        per image dict(boxes=(n, 4) xyxy pixels, scores=(n,), labels=(n,) int64), by decreasing score.
    """
    heat = out["heatmap"].sigmoid()                                          # (B, C, h, w)
    batch, classes, h, w = heat.shape
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)     # non-peaks to 0
    scores, index = peaks.reshape(batch, -1).topk(min(top_k, classes * h * w))  # (B, k)
    labels, cell = index // (h * w), index % (h * w)
    ys, xs = (cell // w), (cell % w)
    height, width = image_size or (h * stride, w * stride)
    results = []
    for b in range(batch):
        keep = scores[b] >= score_threshold
        y, x, c = ys[b][keep], xs[b][keep], cell[b][keep]
        size = out["size"][b].reshape(2, -1)[:, c]      # (2, n) in cells
        offset = out["offset"][b].reshape(2, -1)[:, c]  # (2, n)
        cx, cy = (x + offset[0]) * stride, (y + offset[1]) * stride
        bw, bh = size[0].clamp(min=0) * stride, size[1].clamp(min=0) * stride
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)  # (n, 4)
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
        kept = batched_nms(boxes, scores[b][keep], labels[b][keep] * (not class_agnostic), nms_iou)
        results.append({"boxes": boxes[kept], "scores": scores[b][keep][kept], "labels": labels[b][keep][kept]})
    return results
