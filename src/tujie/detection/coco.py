"""A user's COCO-format folder (images + one annotations JSON) as the same items as the digit canvases.

The folder holds the images and a JSON in COCO's detection format (cocodataset.org/#format-data):

    {"images": [{"id": 1, "file_name": "a.png", "width": 640, "height": 480}, ...],
     "annotations": [{"id": 7, "image_id": 1, "category_id": 3, "bbox": [x, y, w, h],
                      "segmentation": [[x1, y1, x2, y2, ...]]}, ...],
     "categories": [{"id": 3, "name": "cat"}, ...]}

`file_name` is looked up in the folder, then in its `images/` subfolder. Everything is checked
when the folder is opened, and each problem is an error naming the file: a JSON that is not
COCO, an annotation whose image or category is not listed, an image file that is missing or not
an image, a box with no area or outside its image (by more than `BOX_TOLERANCE` pixels; COCO's own
boxes overshoot by a fraction of a pixel, which is clipped). An image that opens but cannot be
decoded is reported when it is read.

Items are letterboxed to `size` x `size` (scaled so the longer side fits, padded with black on
the right and bottom; boxes scaled alike), so images of any size batch together:
dict(image=(C, size, size) in [0, 1], boxes=(k, 4) xyxy, labels=(k,) in 0..K-1 (categories
sorted by id), mask=(size, size) int64, 0 background and label+1 on each object's polygon, or
its box when it has no segmentation; later annotations overwrite earlier ones).

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> folder = Path(tempfile.mkdtemp())
    >>> Image.new("L", (64, 32)).save(folder / "a.png")
    >>> _ = (folder / "annotations.json").write_text(json.dumps({
    ...     "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 32}],
    ...     "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [8, 4, 16, 8]}],
    ...     "categories": [{"id": 5, "name": "box"}]}))
    >>> data = CocoFolder(folder, size=32)
    >>> data.classes, data[0]["image"].shape, data[0]["boxes"].tolist()
    (['box'], torch.Size([1, 32, 32]), [[4.0, 2.0, 12.0, 6.0]])
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError
from ..i18n import _

BOX_TOLERANCE = 1.0  # pixels a box may overshoot its image (then clipped); more is an error
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def find_annotations(folder: Path) -> Path:
    """The annotations JSON of a COCO folder: `annotations.json`, else the only JSON in it or in `annotations/`."""
    for candidate in (folder / "annotations.json", folder / "annotations" / "annotations.json"):
        if candidate.is_file():
            return candidate
    found = sorted(folder.glob("*.json")) or sorted((folder / "annotations").glob("*.json"))
    if len(found) == 1:
        return found[0]
    raise DataError(_("No single annotations JSON in the COCO folder `{folder}`.").format(folder=folder),
                    expected="annotations.json (or exactly one .json) in the folder or its annotations/ subfolder",
                    received=", ".join(p.name for p in found) or "no .json file",
                    fix=_("Name the COCO annotations file annotations.json, or pass its path as `annotations`."))


class CocoFolder(Dataset):
    """A COCO-format folder's images and boxes as detection items (letterboxed to `size` x `size`).

    Args:
        folder: the folder with the images (or an `images/` subfolder) and the annotations JSON.
        annotations: the JSON's path, if not `find_annotations(folder)`.
        size: the side of the square items.
        channels: 1 (grey, as the digit detector) or 3 (RGB).
    """

    def __init__(self, folder, annotations=None, size: int = 128, channels: int = 1):
        from PIL import Image, UnidentifiedImageError

        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DataError(_("The COCO folder `{folder}` does not exist.").format(folder=self.folder),
                            expected="a folder with images and an annotations JSON", received=str(self.folder),
                            fix=_("Check the path given as `detection.coco`."))
        self.annotations_path = Path(annotations) if annotations else find_annotations(self.folder)
        self.size, self.channels = int(size), int(channels)
        spec = self._read_json()
        categories = sorted(int(c["id"]) for c in spec["categories"])
        names = {int(c["id"]): str(c.get("name", c["id"])) for c in spec["categories"]}
        self.classes = [names[c] for c in categories]
        label_of = {c: i for i, c in enumerate(categories)}
        self.records, by_id = [], {}
        for image in spec["images"]:
            path = self._image_path(str(image.get("file_name", "")))
            try:
                with Image.open(path) as opened:  # reads the header only: catches files that are no image
                    width, height = opened.size
            except (UnidentifiedImageError, OSError) as e:
                raise DataError(_("The image `{path}` cannot be decoded.").format(path=path),
                                expected="a PNG, JPEG or other image Pillow can read",
                                received=f"{type(e).__name__}: {e}",
                                fix=_("Replace the file with an intact image, or remove it from {json}.").format(
                                    json=self.annotations_path.name)) from None
            record = {"path": path, "width": width, "height": height, "boxes": [], "labels": [], "polygons": []}
            by_id[image.get("id")] = record
            self.records.append(record)
        for annotation in spec["annotations"]:
            self._add(annotation, by_id, label_of)

    # ---- reading and checking -------------------------------------------------------------
    def _read_json(self) -> dict:
        where = self.annotations_path
        try:
            spec = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DataError(_("The annotations file `{path}` cannot be read as JSON.").format(path=where),
                            expected="a COCO annotations JSON", received=f"{type(e).__name__}: {e}",
                            fix=_("Check the path, or export the annotations again in COCO format.")) from None
        missing = [k for k in ("images", "annotations", "categories") if not isinstance(spec, dict)
                   or not isinstance(spec.get(k), list)]
        if missing:
            raise DataError(_("The annotations file `{path}` is not in COCO format.").format(path=where),
                            expected="a JSON object with lists images, annotations and categories",
                            received=f"missing or not a list: {', '.join(missing)}",
                            fix=_("Export the annotations in COCO detection format.")) from None
        return spec

    def _image_path(self, name: str) -> Path:
        for candidate in (self.folder / name, self.folder / "images" / name):
            if name and candidate.is_file():
                return candidate
        raise DataError(_("The annotations file `{json}` names the image `{name}`, which is not in `{folder}`.").format(
                            json=self.annotations_path.name, name=name, folder=self.folder),
                        expected=f"{self.folder / name} or {self.folder / 'images' / name}", received="no such file",
                        fix=_("Copy the image into the folder, or remove its entry from the annotations file."))

    def _add(self, annotation: dict, by_id: dict, label_of: dict) -> None:
        where = self.annotations_path.name
        ident = annotation.get("id", "?")
        record = by_id.get(annotation.get("image_id"))
        if record is None:
            raise DataError(_("Annotation {id} in `{json}` names image id {image}, which the file does not list.").format(
                                id=ident, json=where, image=annotation.get("image_id")),
                            expected="an image_id from the file's images", received=f"image_id={annotation.get('image_id')!r}",
                            fix=_("Add the image to `images`, or remove the annotation."))
        if annotation.get("category_id") not in label_of:
            raise DataError(_("Annotation {id} in `{json}` has a category that the file does not list.").format(
                                id=ident, json=where),
                            expected=f"one of the category ids {sorted(label_of)}",
                            received=f"category_id={annotation.get('category_id')!r}",
                            fix=_("Add the category to `categories`, or correct the annotation."))
        try:
            x, y, w, h = (float(v) for v in annotation["bbox"])
        except (KeyError, TypeError, ValueError):
            raise DataError(_("Annotation {id} in `{json}` has no valid bbox.").format(id=ident, json=where),
                            expected="bbox: [x, y, width, height] in pixels", received=repr(annotation.get("bbox")),
                            fix=_("Give every annotation a bbox [x, y, width, height].")) from None
        width, height, name = record["width"], record["height"], record["path"].name
        if (w <= 0 or h <= 0 or x < -BOX_TOLERANCE or y < -BOX_TOLERANCE or x + w > width + BOX_TOLERANCE
                or y + h > height + BOX_TOLERANCE):
            raise DataError(_("Annotation {id} in `{json}` has a box outside its image `{name}`.").format(
                                id=ident, json=where, name=name),
                            expected=f"0 <= x, y and x + width <= {width}, y + height <= {height}, with width, height > 0",
                            received=f"bbox=[{x:g}, {y:g}, {w:g}, {h:g}]",
                            fix=_("Correct the box, or check that the image is the one that was annotated."))
        x0, y0 = max(x, 0.0), max(y, 0.0)
        record["boxes"].append((x0, y0, min(x + w, width), min(y + h, height)))
        record["labels"].append(label_of[annotation["category_id"]])
        record["polygons"].append(annotation.get("segmentation"))

    # ---- items ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    def _pixels(self, record: dict) -> torch.Tensor:
        from PIL import Image

        try:
            with Image.open(record["path"]) as opened:
                array = np.asarray(opened.convert("L" if self.channels == 1 else "RGB"), dtype=np.float32) / 255.0
        except OSError as e:  # opened, but the data is cut off or corrupt
            raise DataError(_("The image `{path}` cannot be decoded.").format(path=record["path"]),
                            expected="a PNG, JPEG or other image Pillow can read", received=f"{type(e).__name__}: {e}",
                            fix=_("Replace the file with an intact image, or remove it from {json}.").format(
                                json=self.annotations_path.name)) from None
        image = torch.from_numpy(array)
        return image[None] if image.ndim == 2 else image.permute(2, 0, 1)  # (C, h, w)

    def _mask(self, record: dict, scale: float) -> torch.Tensor:
        from pycocotools import mask as coco_mask

        height, width = record["height"], record["width"]
        mask = np.zeros((height, width), dtype=np.int64)
        for box, label, polygon in zip(record["boxes"], record["labels"], record["polygons"]):
            if polygon:  # polygons or RLE, as COCO stores them
                rle = coco_mask.frPyObjects(polygon, height, width)
                inside = coco_mask.decode(coco_mask.merge(rle) if isinstance(rle, list) else rle).astype(bool)
            else:
                inside = np.zeros((height, width), dtype=bool)
                x0, y0, x1, y1 = (int(round(v)) for v in box)
                inside[y0:y1, x0:x1] = True
            mask[inside] = label + 1
        out = torch.zeros(self.size, self.size, dtype=torch.int64)
        h, w = max(1, round(height * scale)), max(1, round(width * scale))
        out[:h, :w] = F.interpolate(torch.from_numpy(mask)[None, None].float(), size=(h, w), mode="nearest")[0, 0].long()
        return out

    def __getitem__(self, index: int) -> dict:
        record = self.records[index]
        scale = self.size / max(record["width"], record["height"])  # letterbox: the longer side fits
        h, w = max(1, round(record["height"] * scale)), max(1, round(record["width"] * scale))
        pixels = F.interpolate(self._pixels(record)[None], size=(h, w), mode="bilinear", align_corners=False,
                               antialias=True)[0].clamp(0, 1)  # (C, h, w)
        image = torch.zeros(self.channels, self.size, self.size)
        image[:, :h, :w] = pixels
        boxes = torch.tensor(record["boxes"], dtype=torch.float32).reshape(-1, 4) * scale  # (k, 4)
        return {"image": image, "boxes": boxes, "labels": torch.tensor(record["labels"], dtype=torch.int64),
                "mask": self._mask(record, scale)}


def split_folder(folder: CocoFolder, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(training, held-out) image indices of a COCO folder: a seeded `fraction` held out, at least one image."""
    if len(folder) < 2:
        raise ConfigError(_("The COCO folder `{folder}` has too few images to hold some out.").format(folder=folder.folder),
                          expected="at least 2 images", received=f"{len(folder)} image(s)",
                          fix=_("Add images to the folder, or annotate more of them."))
    order = torch.randperm(len(folder), generator=torch.Generator().manual_seed(seed)).tolist()
    held = max(1, round(fraction * len(folder)))
    return order[held:], order[:held]
