"""Mean average precision through pycocotools' COCOeval, the reference implementation of the COCO metric.

torchmetrics' `MeanAveragePrecision` wraps exactly this COCOeval (its default backend), but it
imports torchvision, which cannot run here, so tujie calls pycocotools directly: the same numbers.

- `coco_map(predictions, targets)`: mAP@0.5 (PASCAL VOC's threshold) and mAP@0.5:0.95 (COCO's
  primary metric: the mean over IoU thresholds 0.50, 0.55 ... 0.95), each averaged over classes,
  and per class the precision–recall curve at IoU 0.5 from COCOeval's own `precision` array
  (101 recall points, precision made monotone as COCO does).

Example:
    >>> import torch
    >>> truth = [{"boxes": torch.tensor([[10., 10., 30., 40.]]), "labels": torch.tensor([2])}]
    >>> found = [{"boxes": torch.tensor([[10., 10., 30., 35.]]), "scores": torch.tensor([0.9]), "labels": torch.tensor([2])}]
    >>> result = coco_map(found, truth, num_classes=3)   # IoU 500/600: a hit at thresholds 0.50 ... 0.80, 7 of 10
    >>> round(result["map_50"], 3), round(result["map_50_95"], 3)
    (1.0, 0.7)
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

RECALL_POINTS = np.linspace(0.0, 1.0, 101)  # COCOeval's recall thresholds


def _xywh(boxes) -> list[list[float]]:
    b = boxes.detach().cpu().double().reshape(-1, 4)
    return [[x0, y0, x1 - x0, y1 - y0] for x0, y0, x1, y1 in b.tolist()]


def coco_map(predictions: list[dict], targets: list[dict], num_classes: int, image_size=(128, 128)) -> dict:
    """mAP@0.5, mAP@0.5:0.95 and per-class precision–recall at IoU 0.5, by pycocotools' COCOeval.

    Args:
        predictions: per image dict(boxes=(n, 4) xyxy, scores=(n,), labels=(n,)).
        targets: per image dict(boxes=(k, 4) xyxy, labels=(k,)), in the same order.
        num_classes: classes 0..num_classes-1 (COCO category ids 1..num_classes).
        image_size: (H, W) recorded for each image (COCOeval does not use it for boxes).

    Returns:
        dict(map_50, map_50_95, per_class_ap_50 (list; NaN for a class with no true box),
        pr_curves: per class dict(recall=[...], precision=[...]) at IoU 0.5 (empty for absent classes),
        images, objects, detections).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for image_id, (found, truth) in enumerate(zip(predictions, targets), start=1):
        images.append({"id": image_id, "height": int(image_size[0]), "width": int(image_size[1])})
        for box, label in zip(_xywh(truth["boxes"]), truth["labels"].tolist()):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(label) + 1,
                                "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
        for box, score, label in zip(_xywh(found["boxes"]), found["scores"].tolist(), found["labels"].tolist()):
            results.append({"image_id": image_id, "category_id": int(label) + 1, "bbox": box, "score": float(score)})
    summary = {"images": len(images), "objects": len(annotations), "detections": len(results)}
    empty = {"map_50": 0.0, "map_50_95": 0.0, "per_class_ap_50": [float("nan")] * num_classes,
             "pr_curves": [{"recall": [], "precision": []} for _c in range(num_classes)], **summary}
    if not annotations or not results:  # COCOeval cannot load an empty result list; no detections score 0
        return empty
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations,
                         "categories": [{"id": c + 1, "name": str(c)} for c in range(num_classes)]}
        truth.createIndex()
        found = truth.loadRes(results)
        evaluation = COCOeval(truth, found, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    # precision: (T=10 IoU thresholds, R=101 recall points, K classes, A=4 area ranges, M=3 max detections);
    # -1 marks a class with no true box. Area "all" (0), up to 100 detections per image (2).
    precision = evaluation.eval["precision"][:, :, :, 0, 2]  # (T, R, K)
    per_class, curves = [], []
    for k in range(num_classes):
        curve = precision[0, :, k]  # IoU 0.5
        if (curve < 0).all():
            per_class.append(float("nan"))
            curves.append({"recall": [], "precision": []})
        else:
            per_class.append(float(np.clip(curve, 0, None).mean()))
            curves.append({"recall": RECALL_POINTS.round(2).tolist(), "precision": np.clip(curve, 0, None).round(4).tolist()})
    return {"map_50": float(evaluation.stats[1]), "map_50_95": float(evaluation.stats[0]),
            "per_class_ap_50": per_class, "pr_curves": curves, **summary}
