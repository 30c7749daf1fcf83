"""Object detection and segmentation on real digits: the digit canvases, COCO folders, a one-stage detector.

No detection dataset can be downloaded here, so `canvases` builds one from MNIST: digits pasted at
random positions and scales onto 128x128 canvases, with exact boxes and pixel masks. The parts,
each in its own module (imported lazily: `import tujie.detection` stays light):

- `canvases`: `DigitCanvases`, item i a deterministic function of (seed, i); `collate`.
- `coco`: a user's COCO-format folder (images + annotations JSON) read into the same items.
- `boxes`: IoU and batched non-maximum suppression in plain torch (torchvision cannot run here).
- `centernet`: the detector's targets, loss and decoding (CenterNet, Zhou et al. 2019).
- `metrics`: mAP@0.5 and mAP@0.5:0.95 and the precision-recall curves through pycocotools' COCOeval.

Example:
    >>> from tujie.detection import canvases
    >>> canvases.collate.__name__
    'collate'
"""

import importlib

__all__ = ["boxes", "canvases", "centernet", "coco", "metrics"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
