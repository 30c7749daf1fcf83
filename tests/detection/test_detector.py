"""The detector's parts: NMS against a brute-force reference, targets that decode back to their boxes,
a loss that training lowers, and mAP by COCOeval that rewards right boxes and punishes wrong ones."""

import itertools

import pytest
import torch

from tujie.detection.boxes import batched_nms, box_iou, nms
from tujie.detection.canvases import DigitCanvases
from tujie.detection.centernet import decode, encode
from tujie.detection.metrics import coco_map
from tujie.detection.training import evaluate_detector, train_detector
from tujie.models.detector import CenterNet


def _random_boxes(n, generator):
    corner = torch.rand(n, 2, generator=generator) * 50
    side = 5 + torch.rand(n, 2, generator=generator) * 30
    return torch.cat([corner, corner + side], 1)


def _reference_iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _reference_nms(boxes, scores, labels, threshold):
    """The definition, one box at a time: visit by score; keep a box unless a kept box of its class overlaps it too much."""
    kept = []
    for i in sorted(range(len(boxes)), key=lambda i: -scores[i]):
        if all(labels[i] != labels[j] or _reference_iou(boxes[i], boxes[j]) <= threshold for j in kept):
            kept.append(i)
    return kept


def test_box_iou_matches_the_definition():
    g = torch.Generator().manual_seed(0)
    a, b = _random_boxes(6, g), _random_boxes(5, g)
    iou = box_iou(a, b)
    for i, j in itertools.product(range(6), range(5)):
        assert iou[i, j].item() == pytest.approx(_reference_iou(a[i].tolist(), b[j].tolist()), abs=1e-6)


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.7])
def test_batched_nms_matches_the_brute_force_reference(threshold):
    g = torch.Generator().manual_seed(int(threshold * 10))
    for _ in range(5):
        boxes, scores = _random_boxes(40, g), torch.rand(40, generator=g)
        labels = torch.randint(0, 3, (40,), generator=g)
        expected = _reference_nms(boxes.tolist(), scores.tolist(), labels.tolist(), threshold)
        assert batched_nms(boxes, scores, labels, threshold).tolist() == expected
        assert nms(boxes, scores, threshold).tolist() == _reference_nms(boxes.tolist(), scores.tolist(), [0] * 40, threshold)
    assert batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.5).tolist() == []


def _blob_canvases(count, seed=0):
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    images = torch.stack([(((yy - 14) / r) ** 2 + ((xx - 14) / (r / 2)) ** 2 <= 1).to(torch.uint8) * 255 for r in (6, 9, 12)])
    return DigitCanvases("train", count=count, size=64, digits=(1, 3), scale=(0.75, 1.5), seed=seed,
                         source=(images, torch.tensor([0, 1, 2])))


def test_perfect_maps_decode_to_the_true_boxes():
    data = _blob_canvases(6)
    items = [data[i] for i in range(6)]
    target = encode([it["boxes"] for it in items], [it["labels"] for it in items], num_classes=10, grid=(16, 16))
    logits = torch.where(target["heatmap"] == 1, 10.0, -10.0)  # certain at the centres, nothing elsewhere
    found = decode({"heatmap": logits, "size": target["size"], "offset": target["offset"]}, score_threshold=0.5)
    for item, detections in zip(items, found):
        def by_corner(boxes):
            return boxes[(boxes[:, 0] * 1000 + boxes[:, 1]).argsort()]
        assert torch.allclose(by_corner(detections["boxes"]), by_corner(item["boxes"]), atol=1e-4)
    result = coco_map(found, items, num_classes=10, image_size=(64, 64))
    assert result["map_50"] == pytest.approx(1.0) and result["map_50_95"] == pytest.approx(1.0)
    # the same boxes with the wrong classes find nothing
    wrong = [{**d, "labels": (d["labels"] + 1) % 10} for d in found]
    assert coco_map(wrong, items, num_classes=10, image_size=(64, 64))["map_50"] == pytest.approx(0.0)
    # boxes shifted by half their width: found at no threshold
    shifted = [{**d, "boxes": d["boxes"] + torch.stack([(d["boxes"][:, 2] - d["boxes"][:, 0]) * 0.7] * 2 + [torch.zeros(len(d["boxes"]))] * 2, 1)[:, [0, 2, 1, 3]]}
               for d in found]
    assert coco_map(shifted, items, num_classes=10, image_size=(64, 64))["map_50"] < 0.05


def test_training_lowers_the_loss_and_evaluation_reports_map():
    torch.manual_seed(0)
    model, data = CenterNet(num_classes=3, width=4), _blob_canvases(64, seed=1)
    history = train_detector(model, data, steps=16, batch_size=4, lr=1e-2, warmup=2, log_every=4)
    assert [h["step"] for h in history] == [4, 8, 12, 16]
    assert history[-1]["loss"] < 0.75 * history[0]["loss"] and history[-1]["size"] < 0.75 * history[0]["size"]
    result = evaluate_detector(model, _blob_canvases(4, seed=9), num_classes=3)
    assert result["images"] == 4 and 0.0 <= result["map_50_95"] <= result["map_50"] <= 1.0
    assert len(result["pr_curves"]) == 3
