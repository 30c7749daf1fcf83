"""Training and evaluating the detector: a plain loop over fresh batches, then mAP by COCOeval.

Detection targets are ragged (each image has its own boxes), so the detector trains in its own
short loop (as the RL agents do) rather than through `Learner.fit`: a batch of items → `encode`
→ forward → `centernet_loss` → AdamW step, with a linear warm-up then a cosine decay of the
learning rate. On the digit canvases each step draws canvases never seen before (the dataset is
as long as the training needs), so there is nothing to overfit; a COCO folder is cycled through
in seeded random order.

Example:
    >>> from tujie.detection.canvases import DigitCanvases
    >>> from tujie.models.detector import CenterNet
    >>> digits = torch.zeros(1, 28, 28, dtype=torch.uint8); digits[0, 6:22, 10:18] = 255
    >>> data = DigitCanvases(count=4, size=64, scale=(1.0, 1.5), source=(digits, torch.tensor([1])))
    >>> history = train_detector(CenterNet(width=8), data, steps=2, batch_size=2)
    >>> sorted(history[-1])
    ['heatmap', 'loss', 'lr', 'offset', 'size', 'step']
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Callable

import torch

from .canvases import collate
from .centernet import centernet_loss, decode, encode
from .metrics import coco_map


def bf16_is_fast(device) -> bool:
    """Whether bfloat16 autocast speeds this device up: a CUDA GPU with bf16, or a CPU with native bf16
    (AVX512-BF16 / AMX, where oneDNN's convolutions run about twice as fast as in float32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch built without oneDNN
        return False


def _autocast(device, enabled: bool):
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16) if enabled else contextlib.nullcontext()


def _batches(dataset, batch_size: int, seed: int):
    """Endless batches of items: in order for a dataset at least as long as the training, else seeded reshuffles."""
    generator = torch.Generator().manual_seed(seed)
    epoch = 0
    while True:
        order = torch.arange(len(dataset)) if epoch == 0 else torch.randperm(len(dataset), generator=generator)
        for start in range(0, len(order) - batch_size + 1 if len(order) >= batch_size else 1, batch_size):
            yield collate([dataset[int(i)] for i in order[start:start + batch_size]])
        epoch += 1


def train_detector(model, dataset, steps: int, batch_size: int = 32, lr: float = 2e-3, weight_decay: float = 1e-4,
                   warmup: int = 50, seed: int = 0, log: Callable | None = None, log_every: int = 50,
                   bf16: bool = False, device="cpu") -> list[dict]:
    """Train `model` (a `CenterNet`) for `steps` batches of `dataset` items; the loss history.

    Args:
        model: returns heatmap/size/offset maps at `model.stride`.
        dataset: items dict(image=(C, H, W), boxes=(k, 4), labels=(k,)), e.g. `DigitCanvases` or a COCO folder.
        steps: optimizer steps.
        warmup: steps of linear learning-rate warm-up before the cosine decay.
        log: called as log(step, record) every `log_every` steps.
        bf16: run the forward pass under bfloat16 autocast (the loss in float32); see `bf16_is_fast`.
        device: where the model is and the batches go.

    Returns:
        One record per `log_every` steps (and the last): dict(step, loss, heatmap, size, offset, lr),
        the losses averaged over the steps since the previous record.
    """
    from ..train.optimizers import get_optimizer

    optimizer = get_optimizer("adamw", model.parameters(), lr=lr, weight_decay=weight_decay)  # torch's fused AdamW

    def rate(step):  # warm-up, then cosine to zero
        return min(1.0, (step + 1) / max(1, warmup)) * 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    model.train()
    history, sums, count = [], {}, 0
    batches = _batches(dataset, batch_size, seed)
    for step in range(1, steps + 1):
        batch = next(batches)
        image = batch["image"].to(device)                        # (B, C, H, W)
        grid = (image.shape[-2] // model.stride, image.shape[-1] // model.stride)
        target = encode(batch["boxes"], batch["labels"], model.num_classes, grid, stride=model.stride)
        with _autocast(device, bf16):
            out = model(image)
        out = {k: v.float() for k, v in out.items()}  # the focal loss's logs want float32
        loss, parts = centernet_loss(out, {k: v.to(device) for k, v in target.items()})
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)  # an early bad batch must not wreck the heads
        optimizer.step()
        schedule.step()
        for key, value in (("loss", loss.detach()), *parts.items()):
            sums[key] = sums.get(key, 0.0) + float(value)
        count += 1
        if step % log_every == 0 or step == steps:
            record = {"step": step, **{k: v / count for k, v in sums.items()}, "lr": optimizer.param_groups[0]["lr"]}
            history.append(record)
            sums, count = {}, 0
            if log is not None:
                log(step, record)
    return history


@torch.no_grad()
def predict(model, dataset, batch_size: int = 64, score_threshold: float = 0.05, nms_iou: float = 0.5, bf16: bool = False,
            device="cpu") -> tuple[list, list, float]:
    """Detections (on the CPU) and true boxes for every item of `dataset`: (predictions, targets, seconds per image)."""
    model.eval()
    predictions, targets = [], []
    start = time.perf_counter()
    for first in range(0, len(dataset), batch_size):
        batch = collate([dataset[i] for i in range(first, min(first + batch_size, len(dataset)))])
        image = batch["image"].to(device)
        with _autocast(device, bf16):
            out = model(image)
        out = {k: v.float().cpu() for k, v in out.items()}
        predictions += decode(out, stride=model.stride, score_threshold=score_threshold, nms_iou=nms_iou,
                              image_size=tuple(image.shape[-2:]))
        targets += [{"boxes": b, "labels": lab} for b, lab in zip(batch["boxes"], batch["labels"])]
    return predictions, targets, (time.perf_counter() - start) / max(1, len(dataset))


def evaluate_detector(model, dataset, num_classes: int, batch_size: int = 64, bf16: bool = False, device="cpu") -> dict:
    """`coco_map` of the model's detections on `dataset`, plus the time per image.

    Example:
        >>> from tujie.models.detector import CenterNet
        >>> from tujie.detection.canvases import DigitCanvases
        >>> digits = torch.zeros(1, 28, 28, dtype=torch.uint8); digits[0, 6:22, 10:18] = 255
        >>> data = DigitCanvases(count=2, size=64, scale=(1.0, 1.5), source=(digits, torch.tensor([1])))
        >>> sorted(evaluate_detector(CenterNet(width=8), data, num_classes=10))[:3]
        ['detections', 'images', 'map_50']
    """
    predictions, targets, seconds = predict(model, dataset, batch_size, bf16=bf16, device=device)
    size = tuple(dataset[0]["image"].shape[-2:]) if len(dataset) else (0, 0)
    result = coco_map(predictions, targets, num_classes, image_size=size)
    result["seconds_per_image"] = seconds
    return result
