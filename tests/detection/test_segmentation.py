"""Segmentation: the U-Net's shapes, the per-pixel scores against a NumPy reference, the losses, a toy training run."""

import numpy as np
import pytest
import torch

from tujie.detection.canvases import DigitCanvases
from tujie.detection.segmentation import (SegmentationScores, check_masks, score_masks, segmentation_loss, soft_dice_loss, stack,
                                          train_segmenter)
from tujie.errors import ConfigError, DataError, ShapeError
from tujie.models.unet import UNet


@pytest.mark.parametrize("upsample", ["bilinear", "transposed"])
def test_unet_gives_one_logit_per_class_per_pixel(upsample):
    model = UNet(num_classes=5, in_channels=2, base=4, depth=3, upsample=upsample)
    assert model(torch.randn(2, 2, 24, 40)).shape == (2, 5, 24, 40)


def test_unet_refuses_sizes_it_cannot_halve_and_unknown_upsampling():
    with pytest.raises(ShapeError, match="multiples of 4"):
        UNet(base=4, depth=2)(torch.zeros(1, 1, 30, 32))
    with pytest.raises(ShapeError, match="channel"):
        UNet(base=4, depth=2)(torch.zeros(1, 32, 32))
    with pytest.raises(ConfigError, match="upsample"):
        UNet(upsample="nearest")


def _reference(pred: np.ndarray, truth: np.ndarray, k: int):
    """IoU and Dice per class from a confusion matrix in plain NumPy; NaN for a class never seen."""
    matrix = np.zeros((k, k))
    np.add.at(matrix, (truth.ravel(), pred.ravel()), 1)
    tp, fp, fn = np.diag(matrix), matrix.sum(0) - np.diag(matrix), matrix.sum(1) - np.diag(matrix)
    seen = tp + fp + fn > 0
    iou = np.where(seen, tp / np.maximum(tp + fp + fn, 1), np.nan)
    dice = np.where(seen, 2 * tp / np.maximum(2 * tp + fp + fn, 1), np.nan)
    return iou, dice


def test_scores_match_a_numpy_reference_and_accumulate_over_batches():
    generator = torch.Generator().manual_seed(0)
    truth = torch.randint(0, 5, (6, 16, 16), generator=generator)
    pred = torch.where(torch.rand(6, 16, 16, generator=generator) < 0.7, truth, torch.randint(0, 5, (6, 16, 16), generator=generator))
    truth[truth == 4] = 3  # class 4 never true ...
    pred[pred == 4] = 0    # ... nor predicted: no IoU at all, left out of the means
    iou, dice = _reference(pred.numpy(), truth.numpy(), 6)
    scores = SegmentationScores(num_classes=6)
    for i in range(0, 6, 2):  # three batches, as a test loop feeds them
        scores.update(pred[i:i + 2], truth[i:i + 2])
    result = scores.compute()
    assert result["per_class_iou"][4] is None and result["per_class_iou"][5] is None
    np.testing.assert_allclose([v for v in result["per_class_iou"] if v is not None], iou[~np.isnan(iou)], rtol=1e-6)
    np.testing.assert_allclose([v for v in result["per_class_dice"] if v is not None], dice[~np.isnan(dice)], rtol=1e-6)
    assert result["miou"] == pytest.approx(np.nanmean(iou)) and result["dice"] == pytest.approx(np.nanmean(dice))
    assert result["pixel_accuracy"] == pytest.approx(float((pred == truth).float().mean()))
    assert score_masks(pred, truth, 6)["miou"] == pytest.approx(result["miou"])  # one call, the same figure


def test_losses_reward_the_right_mask():
    truth = torch.zeros(2, 8, 8, dtype=torch.long)
    truth[:, 2:6, 2:6] = 3
    right = 20 * torch.nn.functional.one_hot(truth, 4).permute(0, 3, 1, 2).float()  # (2, 4, 8, 8)
    wrong = right.roll(1, dims=1)
    assert soft_dice_loss(right, truth) < 0.01 < 0.5 < soft_dice_loss(wrong, truth)  # class 2, absent from both, counts as matched
    assert segmentation_loss(wrong, truth, dice_weight=1.0) > segmentation_loss(wrong, truth) > segmentation_loss(right, truth)


def test_masks_outside_the_classes_are_refused():
    with pytest.raises(DataError, match="outside 0..10"):
        check_masks(torch.full((1, 4, 4), 11), 11)
    with pytest.raises(DataError, match="class maps"):
        check_masks(torch.zeros(1, 4, 4), 11)


def _shapes():
    """Two 'digits' with distinct shapes: a solid square (class 0) and a thin cross (class 1), 28x28 uint8."""
    images = torch.zeros(2, 28, 28, dtype=torch.uint8)
    images[0, 6:22, 6:22] = 255
    images[1, 12:16, 2:26] = 255
    images[1, 2:26, 12:16] = 255
    return images, torch.tensor([0, 1])


def test_a_small_unet_learns_to_segment_two_shapes():
    torch.manual_seed(0)
    source = _shapes()

    def canvases(seed, n=24):
        return stack(DigitCanvases("train", count=n, size=32, digits=(1, 2), scale=(0.6, 1.0), seed=seed, source=source))

    validation = canvases(99)
    model = UNet(num_classes=3, base=4, depth=2)  # classes: background, square, cross
    history = train_segmenter(model, canvases, validation, epochs=8, batch_size=4, lr=1e-2, num_classes=3, background_weight=0.2)
    assert history[-1]["loss"] < 0.8 * history[0]["loss"]
    assert history[-1]["val_miou"] > history[0]["val_miou"] + 0.2  # the shapes' pixels found and told apart, not only the background


def test_the_segmentation_kind_trains_on_a_coco_folder_with_its_own_classes(tmp_path):
    import json

    from PIL import Image

    import tujie as tj

    folder = tmp_path / "coco"
    folder.mkdir()
    images, annotations = [], []
    for i in range(5):  # a square (category 4) and a bar (category 9) in each image, the bar outlined by a polygon
        pixels = torch.zeros(32, 32, dtype=torch.uint8)
        pixels[2 + 2 * i:10 + 2 * i, 4:12] = 255
        pixels[20:24, 8 + i:28] = 160
        Image.fromarray(pixels.numpy()).save(folder / f"{i}.png")
        images.append({"id": i, "file_name": f"{i}.png", "width": 32, "height": 32})
        annotations += [{"id": 2 * i, "image_id": i, "category_id": 4, "bbox": [4, 2 + 2 * i, 8, 8]},
                        {"id": 2 * i + 1, "image_id": i, "category_id": 9, "bbox": [8 + i, 20, 20 - i, 4],
                         "segmentation": [[8 + i, 20, 28, 20, 28, 24, 8 + i, 24]]}]
    (folder / "annotations.json").write_text(json.dumps({"images": images, "annotations": annotations,
                                                         "categories": [{"id": 4, "name": "square"}, {"id": 9, "name": "bar"}]}))
    result = tj.run("digits-segmentation", overrides=[f"segmentation.coco={folder}", "segmentation.canvas_size=32",
                                                      "segmentation.shown=1", "epochs=2", "batch_size=2", "model.base=4",
                                                      "model.depth=2", f"output_dir={tmp_path / 'runs'}"], verbose=0, report=False)
    record = json.loads((result.run_dir / "segmentation.json").read_text())
    assert record["source"] == "coco" and record["classes"] == ["background", "square", "bar"] and record["test_images"] == 1
    assert len(record["test"]["per_class_iou"]) == 3 and 0.0 <= result.summary["results"]["miou"] <= 1.0
    assert len(record["history"]) == 2
