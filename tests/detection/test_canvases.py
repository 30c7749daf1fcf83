"""The digit canvases: reproducible items, boxes tight around each digit's ink, masks and boxes that agree."""

import pytest
import torch

from tujie.detection.canvases import DigitCanvases, collate
from tujie.errors import ConfigError


def _blobs(n=20, seed=0):
    """Digit-like stand-ins: a filled ellipse of random size in each 28x28 image, labels 0..9."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    images = []
    for _ in range(n):
        ry, rx = 4 + 8 * torch.rand(2, generator=g)
        images.append(((((yy - 14) / ry) ** 2 + ((xx - 14) / rx) ** 2) <= 1).to(torch.uint8) * 255)
    return torch.stack(images), torch.arange(n) % 10


def _check_consistent(item, size):
    image, boxes, labels, mask = item["image"], item["boxes"], item["labels"], item["mask"]
    assert image.shape == (1, size, size) and 0 <= image.min() and image.max() <= 1
    assert len(boxes) == len(labels) >= 1
    covered = torch.zeros_like(mask, dtype=torch.bool)
    for (x0, y0, x1, y1), label in zip(boxes.long().tolist(), labels.tolist()):
        assert 0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size
        inside = mask[y0:y1, x0:x1]
        assert set(inside.unique().tolist()) <= {0, label + 1}   # only this digit's ink in its box
        ink = inside == label + 1
        # tight: the ink touches all four edges of the box
        assert ink[0].any() and ink[-1].any() and ink[:, 0].any() and ink[:, -1].any()
        assert not covered[y0:y1, x0:x1].any(), "boxes overlap"
        covered[y0:y1, x0:x1] = True
    assert not mask[~covered].any(), "ink outside every box"


def test_items_are_deterministic_and_consistent():
    source = _blobs()
    canvases = DigitCanvases("train", count=30, seed=3, source=source)
    again = DigitCanvases("train", count=30, seed=3, source=source)
    other = DigitCanvases("train", count=30, seed=4, source=source)
    counts = set()
    for i in range(30):
        item = canvases[i]
        _check_consistent(item, 128)
        counts.add(len(item["labels"]))
        assert torch.equal(item["image"], again[i]["image"]) and torch.equal(item["boxes"], again[i]["boxes"])
    assert counts <= set(range(1, 6)) and len(counts) >= 3
    assert not all(torch.equal(canvases[i]["image"], other[i]["image"]) for i in range(5))
    # the test split lays digits out differently from the train split with the same seed
    assert not torch.equal(canvases[0]["boxes"], DigitCanvases("test", count=1, seed=3, source=source)[0]["boxes"])
    batch = collate([canvases[0], canvases[1]])
    assert batch["image"].shape == (2, 1, 128, 128) and batch["mask"].shape == (2, 128, 128)
    with pytest.raises(IndexError):
        canvases[30]


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="split"):
        DigitCanvases("val", source=_blobs())
    with pytest.raises(ConfigError, match="scale"):
        DigitCanvases(size=32, scale=(1.0, 2.0), source=_blobs())
    with pytest.raises(ConfigError, match="digits"):
        DigitCanvases(digits=(0, 3), source=_blobs())


@pytest.mark.data
def test_mnist_canvases_have_exact_boxes_and_masks():
    canvases = DigitCanvases("test", count=20, seed=0, scale=(0.75, 2.0))
    for i in range(20):
        _check_consistent(canvases[i], 128)
    sides = torch.cat([canvases[i]["boxes"][:, 3] - canvases[i]["boxes"][:, 1] for i in range(20)])
    assert sides.min() < 20 and sides.max() > 35  # the scales really vary
