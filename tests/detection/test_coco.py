"""A user's COCO folder: read into the canvases' item format, and each bad folder refused with the file named."""

import json

import pytest
import torch
from PIL import Image

from tujie.detection.coco import CocoFolder
from tujie.errors import DataError


def _folder(tmp_path, annotations=None, images=None):
    """Two images (64x32 and 32x32) with a bright rectangle where each box is; categories 7 ("cat") and 3 ("dog")."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "images").mkdir()
    first = torch.zeros(32, 64, dtype=torch.uint8)
    first[4:12, 8:24] = 255
    Image.fromarray(first.numpy()).save(tmp_path / "images" / "a.png")
    Image.new("L", (32, 32), 128).save(tmp_path / "b.png")
    spec = {"images": images or [{"id": 1, "file_name": "a.png", "width": 64, "height": 32},
                                 {"id": 2, "file_name": "b.png", "width": 32, "height": 32}],
            "annotations": annotations or [
                {"id": 10, "image_id": 1, "category_id": 7, "bbox": [8, 4, 16, 8]},
                {"id": 11, "image_id": 2, "category_id": 3, "bbox": [0, 0, 10, 20],
                 "segmentation": [[0, 0, 10, 0, 10, 20, 0, 20]]}],
            "categories": [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}]}
    (tmp_path / "annotations.json").write_text(json.dumps(spec))
    return tmp_path


def test_a_coco_folder_becomes_letterboxed_items(tmp_path):
    data = CocoFolder(_folder(tmp_path), size=32)
    assert data.classes == ["dog", "cat"] and len(data) == 2  # categories sorted by id: 3 → 0, 7 → 1
    first = data[0]
    assert first["image"].shape == (1, 32, 32) and first["labels"].tolist() == [1]
    # 64x32 scaled by 1/2 into the top of the square; the box scales alike and still frames the bright rectangle
    assert first["boxes"].tolist() == [[4.0, 2.0, 12.0, 6.0]]
    assert first["image"][0, 2:6, 4:12].mean() > 0.9 and first["image"][0, 16:].max() == 0
    assert (first["mask"] == 2).sum() == 8 * 4 and first["mask"][2:6, 4:12].eq(2).all()
    second = data[1]
    assert second["boxes"].tolist() == [[0.0, 0.0, 10.0, 20.0]]
    assert second["mask"][:20, :10].eq(1).all() and second["mask"][:, 10:].eq(0).all()  # the polygon, as a mask


@pytest.mark.parametrize("problem, message", [
    ("missing image", "b.png"),
    ("unknown image id", "image id 9"),
    ("box outside", "outside its image `a.png`"),
    ("not an image", "cannot be decoded"),
    ("not coco", "not in COCO format"),
])
def test_a_bad_folder_is_refused_naming_the_file(tmp_path, problem, message):
    folder = _folder(tmp_path)
    spec = json.loads((folder / "annotations.json").read_text())
    if problem == "missing image":
        (folder / "b.png").unlink()
    elif problem == "unknown image id":
        spec["annotations"][0]["image_id"] = 9
    elif problem == "box outside":
        spec["annotations"][0]["bbox"] = [50, 4, 30, 8]  # reaches x = 80 in a 64-pixel-wide image
    elif problem == "not an image":
        (folder / "b.png").write_bytes(b"not a png at all")
    else:
        spec = {"images": []}
    (folder / "annotations.json").write_text(json.dumps(spec))
    with pytest.raises(DataError, match="annotations.json|b.png") as error:
        CocoFolder(folder)
    assert message in str(error.value)


def test_the_detection_kind_trains_and_reports_on_a_coco_folder(tmp_path):
    import tujie as tj

    folder = tmp_path / "coco"
    folder.mkdir()
    images, annotations = [], []
    for i in range(4):  # a bright square at a different place in each image
        pixels = torch.zeros(32, 32, dtype=torch.uint8)
        pixels[4 + 4 * i:14 + 4 * i, 6:16] = 255
        Image.fromarray(pixels.numpy()).save(folder / f"{i}.png")
        images.append({"id": i + 1, "file_name": f"{i}.png", "width": 32, "height": 32})
        annotations.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [6, 4 + 4 * i, 10, 10]})
    (folder / "annotations.json").write_text(json.dumps({"images": images, "annotations": annotations,
                                                         "categories": [{"id": 1, "name": "square"}]}))
    result = tj.run("digits-detection", overrides=[f"detection.coco={folder}", "detection.size=32", "detection.steps=2",
                                                   "detection.batch_size=2", "detection.examples=1", "model.width=4",
                                                   f"output_dir={tmp_path / 'runs'}", "run_name=coco"], verbose=0,
                    report=False)  # the contract test renders this kind's report; here the folder's path through it
    record = json.loads((result.run_dir / "detection.json").read_text())
    assert record["source"] == "coco" and record["classes"] == ["square"] and record["test"]["images"] == 1
    assert 0.0 <= result.summary["results"]["map_50"] <= 1.0


def test_a_folder_is_split_with_a_seed_and_one_image_is_too_few(tmp_path):
    from tujie.detection.coco import split_folder
    from tujie.errors import ConfigError

    folder = CocoFolder(_folder(tmp_path / "two"), size=32)
    train, held_out = split_folder(folder, 0.2, seed=0)
    assert sorted(train + held_out) == [0, 1] and len(held_out) == 1 and split_folder(folder, 0.2, seed=0) == (train, held_out)
    one = _folder(tmp_path / "one", images=[{"id": 1, "file_name": "a.png", "width": 64, "height": 32}],
                  annotations=[{"id": 10, "image_id": 1, "category_id": 7, "bbox": [8, 4, 16, 8]}])
    with pytest.raises(ConfigError, match="too few images"):
        split_folder(CocoFolder(one, size=32), 0.2, seed=0)
