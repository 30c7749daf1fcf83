"""Boxes in plain torch: IoU and non-maximum suppression (torchvision's `box_iou`/`batched_nms` cannot run here).

Boxes are xyxy in pixels, (N, 4). `nms` is the greedy algorithm every detector uses: keep the
highest-scoring box, drop the boxes that overlap it by more than `iou_threshold`, repeat.
`batched_nms` runs it per class at once with torchvision's trick: each class's boxes are shifted
by a class-dependent offset larger than any coordinate, so boxes of different classes never overlap.

Example:
    >>> boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]])
    >>> nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5).tolist()
    [0, 2]
    >>> batched_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 1, 0]), 0.5).tolist()
    [0, 1, 2]
"""

from __future__ import annotations

import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas of (N, 4) xyxy boxes: (N,)."""
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of every pair: a (N, 4), b (M, 4) xyxy → (N, M).

    Example:
        >>> box_iou(torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 0., 3., 2.]])).tolist()
        [[0.3333333432674408]]
    """
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])      # (N, M, 2)
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])  # (N, M, 2)
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)       # (N, M)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clamp(min=1e-9)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression: the indices of the kept boxes, highest score first.

    Args:
        boxes: (N, 4) xyxy.
        scores: (N,).
        iou_threshold: a box whose IoU with a kept, higher-scoring box exceeds this is dropped.

    Returns:
        (K,) int64 indices into `boxes`, by decreasing score.
    """
    order = scores.argsort(descending=True, stable=True)
    if len(order) == 0:
        return order
    iou = box_iou(boxes[order], boxes[order])  # (N, N): one matrix, then a cheap loop over rows
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, dtype=torch.int64)]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS within each class (a box never suppresses one of another class): kept indices, highest score first.

    Args:
        boxes: (N, 4) xyxy; scores: (N,); labels: (N,) int64 class of each box.
    """
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.int64)
    shift = labels.to(boxes.dtype)[:, None] * (boxes.max() - boxes.min() + 1)  # (N, 1): classes never overlap
    return nms(boxes + shift, scores, iou_threshold)
