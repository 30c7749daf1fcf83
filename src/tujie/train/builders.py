"""From a validated run config to the objects that train: the model, the Learner, batch transforms.

Recipes, run kinds and benchmarks all build through these, so a recipe trains the same model
whichever of them starts it.

Example:
    >>> from tujie.config import RunConfig
    >>> from types import SimpleNamespace
    >>> config = RunConfig(recipe="demo", model={"name": "mlp", "hidden": [8]})
    >>> model = build_model(config, SimpleNamespace(num_classes=3))
    >>> learner = build_learner(config, model, num_classes=3)
    >>> type(learner).__name__, learner.model is model
    ('Learner', True)
"""

from __future__ import annotations

from ..config import RunConfig
from ..errors import ConfigError

MIXING = ("mixup", "cutmix")
TEXT_AUGMENTATIONS = ("token_dropout", "token_swap")
BINARY_LOSSES = ("bce", "bce_with_logits", "binary_crossentropy", "hinge")


def build_model(config: RunConfig, data):
    """The recipe's model, with `num_classes` (and a text model's `vocab_size`) taken from the data unless set.

    Binary tasks trained with a binary loss (bce, bce_with_logits) get one output, not two.
    `data` is anything with `num_classes` (and optionally `vocab_size`): a dataset bundle, or a
    `SimpleNamespace(num_classes=10)` when the data are not at hand (worker processes, reloads).
    """
    from .. import models

    model_args = {k: v for k, v in config.model.model_dump().items() if k != "name"}
    if data.num_classes is not None:
        binary_loss = config.train.loss.lower().replace("-", "_") in BINARY_LOSSES
        model_args.setdefault("num_classes", 1 if binary_loss and data.num_classes == 2 else data.num_classes)
    if getattr(data, "vocab_size", None) is not None:  # text: the embedding table is as large as the vocabulary
        model_args.setdefault("vocab_size", data.vocab_size)
    return models.create(config.model.name, **model_args)


def build_learner(config: RunConfig, model, callbacks=(), num_classes: int | None = None):
    """A Learner with the recipe's loss, optimizer, scheduler, metrics, training options, device and seed."""
    from .loop import Learner

    from .transfer import Freeze, GradualUnfreezing

    o, t = config.optimizer, config.train
    augment, mixing = build_batch_transforms(config.data.augment, num_classes)
    if t.freeze:  # "body": all but the head (a linear probe); at fit's start, when lazy layers have their sizes
        callbacks = [Freeze(*([] if t.freeze == "body" else t.freeze)), *callbacks]
    if t.unfreeze_every:
        callbacks = [*callbacks, GradualUnfreezing(every=t.unfreeze_every)]
    transfer = {k: v for k, v in (("lr_mult", o.lr_mult), ("layer_decay", o.layer_decay)) if v is not None}
    return Learner(model, loss=t.loss, optimizer=o.name, lr=o.lr, metrics=t.metrics,
                   scheduler=config.scheduler.model_dump() if config.scheduler.name else None, device=config.device,
                   callbacks=callbacks, seed=config.seed, augment=augment, mixing=mixing,
                   optimizer_options={"momentum": o.momentum, "nesterov": o.nesterov, "weight_decay": o.weight_decay, **transfer},
                   l1=t.l1, l2=t.l2, label_smoothing=t.label_smoothing, max_norm=t.max_norm, clip_grad_norm=t.clip_grad_norm,
                   clip_grad_value=t.clip_grad_value, accumulate=t.accumulate, precision=t.precision, ema=t.ema,
                   track_grad_norm=t.track_grad_norm)


def build_batch_transforms(spec, num_classes: int | None = None):
    """Split a recipe's `augment` list into `(augment, mixing)` for the Learner.

    Image transforms go to kornia (`build_augmentation`), token dropout/swap to
    `build_text_augmentation` (both act on the inputs alone); mixup and cutmix, which mix
    inputs *and* targets, become the Learner's `mixing`.
    """
    from ..data.augment import NAMES, build_augmentation

    groups: dict[str, list] = {"image": [], "text": [], "mixing": []}
    for item in spec or ():
        name = item if isinstance(item, str) else next(iter(item)) if isinstance(item, dict) and len(item) == 1 else None
        group = "mixing" if name in MIXING else "text" if name in TEXT_AUGMENTATIONS else "image"
        if group == "image" and name not in NAMES:
            from ..errors import closest

            valid = (*NAMES, *MIXING, *TEXT_AUGMENTATIONS)
            raise ConfigError(f"Unknown augmentation {name or item!r}. {closest(str(name or item), valid)}",
                              expected=f"one of {', '.join(valid)}, as a name or a {{name: {{options}}}} mapping",
                              received=repr(item), fix="Fix the `data.augment` list of the recipe.")
        groups[group].append(item)
    if groups["image"] and groups["text"]:
        raise ConfigError("Image and text augmentations were mixed in one `augment` list.",
                          received=repr(list(spec)), fix="Keep image transforms for image data and token_* for text.")
    augment = build_augmentation(groups["image"])
    if groups["text"]:
        from ..data.text_augment import build_text_augmentation

        augment = build_text_augmentation(groups["text"])
    mixing = None
    if groups["mixing"]:
        from ..data.mixing import build_mixing

        mixing = build_mixing(groups["mixing"], num_classes=num_classes)
    return augment, mixing
