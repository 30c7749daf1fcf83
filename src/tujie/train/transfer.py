"""Transfer learning's controls (chapters 13–14): freeze and unfreeze blocks, per-block learning rates,
gradual unfreezing.

A model's **blocks** are its top-level named children that hold parameters, in the order they
were registered (a ResNet: conv1, bn1, layer1 ... layer4, fc; a `tj.Sequential`: its layers).
The **head** is the last of them; the **body** is the others.

    tj.freeze(model)                       # the body: everything but the head (a linear probe)
    tj.freeze(model, until="layer3")       # conv1 ... layer3; layer4 and fc keep training
    tj.freeze(model, "layer1", model.bn1)  # these blocks (names or modules)
    tj.unfreeze(model)                     # everything trains again
    torch.optim.AdamW(tj.param_groups(model, lr=1e-3, lr_mult={"layer4": 0.1, "layer3": 0.01}))
    torch.optim.AdamW(tj.param_groups(model, lr=1e-3, layer_decay=0.5))   # each block down, half the rate
    tj.Learner(model, callbacks=[tj.GradualUnfreezing(every=1)])          # ULMFiT: one more block each epoch

Batch norm in a frozen block keeps its running statistics (it runs in eval mode even while the
model trains: fine-tuning on a small set would otherwise drift them away from what the frozen
weights expect); `bn="train"` lets them follow the new data. A frozen parameter stays in the
optimizer's groups (with no gradient, torch's optimizers skip it), so unfreezing it later needs
no new optimizer.

Example:
    >>> from torch import nn
    >>> net = nn.Sequential()
    >>> net.add_module("body", nn.Linear(4, 8)); net.add_module("head", nn.Linear(8, 2))
    >>> freeze(net)
    ['body']
    >>> [n for n, p in net.named_parameters() if p.requires_grad]
    ['head.weight', 'head.bias']
    >>> [g["lr"] for g in param_groups(net, lr=0.1, layer_decay=0.5)]
    [0.05, 0.1]
"""

from __future__ import annotations

from torch import nn

from ..errors import ConfigError, closest
from .callbacks import Callback

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's blocks: top-level named children that hold parameters, in registration order.

    A model whose parameters all sit in one child (a wrapper) is looked into, so a `Sequential`
    inside a wrapper still has its layers as blocks.
    """
    found = [(name, child) for name, child in model.named_children() if any(True for _ in child.parameters())]
    if len(found) == 1 and len(list(found[0][1].named_children())) > 1:
        inner = blocks(found[0][1])
        return [(f"{found[0][0]}.{name}", module) for name, module in inner]
    return found


def _select(model: nn.Module, targets, until) -> list[tuple[str, nn.Module]]:
    """The blocks (or any named submodules) that `targets` / `until` name; unknown names are refused."""
    named = dict(model.named_modules())
    block_list = blocks(model)
    if not any(True for _ in model.parameters()):  # lazy layers (Dense, Conv2D) get their weights on the first batch
        raise ConfigError(f"{type(model).__name__} has no parameters yet: its lazy layers are built by the first batch.",
                          expected="a built model", received=f"{type(model).__name__} with 0 parameters",
                          fix="Call model(sample_batch) once before freezing, or freeze when fit begins: "
                              "callbacks=[tj.Freeze()] (train.freeze in a recipe).")
    if not block_list:
        raise ConfigError(f"{type(model).__name__} has no named blocks with parameters to freeze.",
                          expected="a model built of named submodules (nn.Sequential, a tujie model, a class with attributes)",
                          received=type(model).__name__, fix="Freeze its parameters yourself: p.requires_grad_(False).")
    if until is not None:
        names = [n for n, _ in block_list]
        if until not in names:
            _unknown(until, block_list, named)
        return block_list[:names.index(until) + 1]
    if not targets:  # the body: every block but the head
        return block_list[:-1]
    chosen = []
    by_module = {id(m): n for n, m in named.items()}
    for target in targets:
        if isinstance(target, nn.Module):
            if id(target) not in by_module:
                raise ConfigError(f"The module {type(target).__name__} given to freeze/unfreeze is not part of the model.",
                                  expected="a submodule of the model (e.g. model.layer1)", received=repr(target)[:80],
                                  fix="Pass a submodule of this model, or its name.")
            chosen.append((by_module[id(target)], target))
        elif target in named and target != "":
            chosen.append((target, named[target]))
        else:
            _unknown(target, block_list, named)
    return chosen


def _unknown(name, block_list, named) -> None:
    names = [n for n, _ in block_list]
    raise ConfigError(f"The model has no layer named {name!r}. {closest(str(name), [n for n in named if n])}",
                      expected=f"one of its blocks ({', '.join(names)}) or a dotted submodule name (e.g. {names[0]}.0)",
                      received=f"{name!r}", fix="Use one of the listed names (tj.blocks(model) lists them).")


def _set(modules, trainable: bool, bn: str) -> None:
    for _, module in modules:
        for p in module.parameters():
            p.requires_grad_(trainable)
        for m in module.modules():
            if isinstance(m, _BN):
                handle = m.__dict__.pop("_tujie_frozen_bn", None)
                if handle is not None:
                    handle.remove()
                if not trainable and bn == "frozen":  # eval mode at every forward, whatever model.train() said
                    m.__dict__["_tujie_frozen_bn"] = m.register_forward_pre_hook(lambda mod, args: mod.train(False) and None)


def freeze(model: nn.Module, *targets, until: str | None = None, bn: str = "frozen") -> list[str]:
    """Stop parameters from training; returns the names frozen.

    Args:
        model: any `nn.Module`.
        targets: blocks or submodules to freeze, by name ("layer1", "features.3") or as modules;
            none (and no `until`): the body, every block but the head.
        until: freeze every block from the first through this one (a block's name).
        bn: "frozen" keeps the running statistics of batch norm in frozen parts fixed (eval mode);
            "train" lets them update.
    """
    if bn not in ("frozen", "train"):
        raise ConfigError(f"Unknown bn={bn!r}.", expected='"frozen" or "train"', received=f"bn={bn!r}",
                          fix='bn="frozen" keeps batch-norm statistics of frozen blocks fixed.')
    chosen = _select(model, targets, until)
    _set(chosen, False, bn)
    return [name for name, _ in chosen]


def unfreeze(model: nn.Module, *targets, until: str | None = None) -> list[str]:
    """Let parameters train again (all of them when no target is named); returns the names unfrozen."""
    chosen = _select(model, targets, until) if (targets or until) else [("", model)]
    _set(chosen, True, "train")
    return [name for name, _ in chosen]


def frozen_blocks(model: nn.Module) -> list[str]:
    """The blocks none of whose parameters train."""
    return [name for name, module in blocks(model) if not any(p.requires_grad for p in module.parameters())]


def param_groups(model: nn.Module, lr: float, *, lr_mult: dict | None = None, layer_decay: float | None = None) -> list[dict]:
    """Torch optimizer parameter groups, one per block, each with its own learning rate.

    Args:
        lr: the head's rate (and of every block `lr_mult` leaves out).
        lr_mult: block name -> multiplier of `lr`, e.g. {"layer4": 0.1, "layer3": 0.01}.
        layer_decay: each block below the head gets this factor once more: head lr, the block before
            lr × decay, the one before that lr × decay², ... (layer-wise learning-rate decay).

    Every parameter is in a group, frozen or not, so a block unfrozen later trains at its rate with
    the same optimizer. Each group carries a "name" (its block), which the report reads.
    """
    block_list = blocks(model)
    known = dict(block_list)
    for name in lr_mult or {}:
        if name not in known:
            _unknown(name, block_list, dict(model.named_modules()))
    if layer_decay is not None and not 0 < layer_decay <= 1:
        raise ConfigError("layer_decay must be in (0, 1].", expected="e.g. 0.8: each block below the head at 0.8× the rate above",
                          received=f"layer_decay={layer_decay}", fix="Pass a number between 0 and 1.")
    groups, seen = [], set()
    for depth, (name, module) in enumerate(reversed(block_list)):
        rate = lr * (layer_decay ** depth if layer_decay else 1.0) * (lr_mult or {}).get(name, 1.0)
        params = [p for p in module.parameters() if id(p) not in seen]
        seen.update(map(id, params))
        if params:
            groups.append({"params": params, "lr": rate, "name": name})
    rest = [p for p in model.parameters() if id(p) not in seen]  # parameters of the model itself, outside any block
    if rest:
        groups.append({"params": rest, "lr": lr, "name": "(model)"})
    return list(reversed(groups))


def check_something_trains(model: nn.Module) -> None:
    """Refuse to fine-tune a model whose every parameter is frozen: the run would change nothing."""
    params = list(model.parameters())
    if params and not any(p.requires_grad for p in params):
        raise ConfigError("Every parameter of the model is frozen, so training would change nothing.",
                          expected="at least one trainable block (the head, for a linear probe)",
                          received=f"{type(model).__name__}: {sum(p.numel() for p in params):,} parameters, all frozen",
                          fix="Freeze the body only: tj.freeze(model) leaves the head trainable; or tj.unfreeze(model, 'fc').")


def optimizer_params(model: nn.Module, name, options: dict):
    """What the Learner hands its optimizer: every parameter (frozen ones too, so unfreezing later needs no
    new optimizer), in per-block groups when `options` asks for `lr_mult` or `layer_decay` (popped from it).
    A model with nothing left to train is refused."""
    from .optimizers import OPTIMIZERS

    lr_mult, layer_decay = options.pop("lr_mult", None), options.pop("layer_decay", None)
    check_something_trains(model)
    if not lr_mult and layer_decay is None:
        return list(model.parameters())
    lr = options.get("lr") or OPTIMIZERS.get(str(name).lower(), (None, {"lr": 1e-3}))[1]["lr"]
    return param_groups(model, lr, lr_mult=lr_mult, layer_decay=layer_decay)


class Freeze(Callback):
    """Freeze blocks when `fit` begins, after lazy layers know their sizes (`train.freeze` in a recipe).

    Args:
        targets: block names; none: the body (every block but the head).
        bn: as in `freeze`.
    """

    def __init__(self, *targets, bn: str = "frozen"):
        self.targets, self.bn = targets, bn

    def on_fit_begin(self, learner) -> None:
        freeze(learner.model, *self.targets, bn=self.bn)
        check_something_trains(learner.model)


class GradualUnfreezing(Callback):
    """ULMFiT's gradual unfreezing: the body starts frozen and one more block, from the top down, trains
    every `every` epochs (Howard & Ruder 2018, "Universal Language Model Fine-tuning").

    Args:
        every: epochs between two unfreezings.
        blocks: the blocks to unfreeze, in order (default: the model's, from the one below the head
            down to the first).
        bn: batch norm of still-frozen blocks ("frozen": fixed statistics).
    """

    def __init__(self, every: int = 1, blocks: list[str] | None = None, bn: str = "frozen"):
        if not isinstance(every, int) or every < 1:
            raise ConfigError("GradualUnfreezing needs every >= 1.", expected="epochs between unfreezings, e.g. 1",
                              received=f"every={every!r}", fix="Pass every=1.")
        self.every, self.order, self.bn = every, blocks, bn
        self.unfrozen: list[tuple[int, str]] = []

    def on_fit_begin(self, learner) -> None:
        names = [n for n, _ in blocks(learner.model)]
        self.order = self.order or names[-2::-1]
        unknown = [n for n in self.order if n not in names]
        if unknown:
            _unknown(unknown[0], blocks(learner.model), dict(learner.model.named_modules()))
        if learner.epoch == 0:
            freeze(learner.model, *self.order, bn=self.bn)

    def on_epoch_begin(self, learner, epoch: int) -> None:
        count = (epoch - 1) // self.every  # blocks open from this epoch on
        for name in self.order[:count]:
            if any(not p.requires_grad for p in learner.model.get_submodule(name).parameters()):
                unfreeze(learner.model, name)
                self.unfrozen.append((epoch, name))

    def state_dict(self) -> dict:
        return {"unfrozen": [list(x) for x in self.unfrozen]}

    def load_state_dict(self, state: dict) -> None:
        self.unfrozen = [tuple(x) for x in state.get("unfrozen", [])]


class BlockSchedule(Callback):
    """Write `blocks.json`: per epoch, each block's learning rate and the share of it that trained (the
    report's picture of which layers trained when, at what rate). Rewritten whole, atomically, each epoch."""

    def __init__(self, path):
        from pathlib import Path

        self.path = Path(path)
        self.epochs: list[dict] = []

    def on_fit_begin(self, learner) -> None:
        import json

        self.epochs = []
        if learner.epoch and self.path.is_file():  # a resumed run: keep the epochs before the checkpoint
            try:
                kept = json.loads(self.path.read_text(encoding="utf-8")).get("epochs") or []
                self.epochs = [e for e in kept if isinstance(e, dict) and e.get("epoch", 0) <= learner.epoch]
            except (OSError, ValueError):
                self.epochs = []

    def on_epoch_end(self, learner, epoch: int, logs: dict) -> None:
        from .._io import write_json

        rates = {}
        if learner.optimizer is not None:
            for group in learner.optimizer.param_groups:
                rates.update({id(p): group["lr"] for p in group["params"]})
        rows = []
        for name, module in blocks(learner.model):
            params = list(module.parameters())
            trained = sum(p.numel() for p in params if p.requires_grad) / max(sum(p.numel() for p in params), 1)
            lr = next((rates[id(p)] for p in params if id(p) in rates), None)
            rows.append({"block": name, "trained": trained, "lr": lr if trained else 0.0})
        self.epochs.append({"epoch": epoch, "blocks": rows})
        write_json(self.path, {"epochs": self.epochs})


# ------------------------------------------------------------------ comparing ways of transferring
def label_share(labels, fraction: float, seed: int):
    """Indices of a stratified, seeded `fraction` of the samples (at least one per class), sorted.

    What "1% of the labels" means in a label-efficiency curve: each class keeps its share, so a
    rare class is not left out by chance.

    Example:
        >>> import torch
        >>> label_share(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), 0.5, seed=0).shape
        torch.Size([4])
    """
    import torch

    labels = torch.as_tensor(labels)
    generator = torch.Generator().manual_seed(seed)
    picked = []
    for c in torch.unique(labels):
        index = torch.nonzero(labels == c).flatten()
        take = max(1, round(fraction * len(index)))
        picked.append(index[torch.randperm(len(index), generator=generator)[:take]])
    return torch.cat(picked).sort().values


def label_efficiency_runs(train, *, fractions, seeds: int, ways, share, run_one, batch_size: int, epochs: int,
                          min_steps: int, say=print) -> list[dict]:
    """Every way of transferring at every share of the labels and every seed: the rows of a label-efficiency curve.

    Args:
        train: the target's training set; `share(train, fraction, seed)` draws a subset of it (`label_share`).
        run_one: `run_one(way, subset, epochs, seed) -> (test accuracy, seconds)`.
        epochs, min_steps: each run trains `epochs`, or more when that would be fewer than `min_steps`
            optimizer steps of `batch_size` (a small label set needs more passes).

    Returns:
        One row per run: {"way", "fraction", "labels", "seed", "epochs", "test_accuracy", "seconds"}.
    """
    import math

    from ..i18n import _

    results = []
    for fraction in fractions:
        for seed in range(seeds):
            subset = share(train, fraction, seed)
            run_epochs = max(epochs, math.ceil(min_steps / math.ceil(len(subset) / batch_size)))
            for way in ways:
                accuracy, seconds = run_one(way, subset, run_epochs, seed)
                results.append({"way": way, "fraction": fraction, "labels": len(subset), "seed": seed, "epochs": run_epochs,
                                "test_accuracy": accuracy, "seconds": seconds})
                say(_("{way} with {labels} labels ({fraction}), seed {seed}: test accuracy {accuracy:.4f}").format(
                    way=way, labels=f"{len(subset):,}", fraction=f"{fraction:.0%}", seed=seed, accuracy=accuracy))
    return results


def summarise_runs(results: list[dict], value: str = "test_accuracy") -> list[dict]:
    """One row per (way, fraction): {"way", "fraction", "labels", "mean", "std", "n"} over the seeds.

    Example:
        >>> rows = summarise_runs([{"way": "a", "fraction": 0.1, "labels": 5, "test_accuracy": 0.5},
        ...                        {"way": "a", "fraction": 0.1, "labels": 5, "test_accuracy": 0.7}])
        >>> round(rows[0]["mean"], 2), round(rows[0]["std"], 3), rows[0]["n"]
        (0.6, 0.141, 2)
    """
    import statistics

    rows = []
    for way in dict.fromkeys(r["way"] for r in results):
        for fraction in dict.fromkeys(r["fraction"] for r in results):
            runs = [r for r in results if r["way"] == way and r["fraction"] == fraction]
            if not runs:
                continue
            values = [r[value] for r in runs]
            rows.append({"way": way, "fraction": fraction, "labels": runs[0]["labels"], "mean": statistics.fmean(values),
                         "std": statistics.stdev(values) if len(values) > 1 else 0.0, "n": len(values)})
    return rows


def head_inputs(model: nn.Module, batches):
    """What the model's head (its last block) reads, for every sample of `batches`: (N, features), no gradients.

    Feature extraction, the simplest transfer: a pretrained body's output, for a scikit-learn
    model on top. Each batch is a tuple of the model's inputs (`model(*batch)`), or one tensor.

    Example:
        >>> import torch
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> head_inputs(net, [torch.randn(3, 4), torch.randn(2, 4)]).shape
        torch.Size([5, 8])
    """
    import torch

    head = blocks(model)[-1][1]
    captured = []
    hook = head.register_forward_pre_hook(lambda module, args: captured.append(args[0].flatten(1).detach()))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            for batch in batches:
                model(*batch) if isinstance(batch, (tuple, list)) else model(batch)
    finally:
        hook.remove()
        model.train(was_training)
    return torch.cat(captured)


def logistic_probe(train_x, train_y, test_x, test_y) -> float:
    """Test accuracy of scikit-learn's logistic regression on standardised features (arrays).

    Example:
        >>> import numpy as np
        >>> x = np.r_[np.zeros((5, 2)), np.ones((5, 2))]; y = np.r_[np.zeros(5), np.ones(5)]
        >>> logistic_probe(x, y, x, y)
        1.0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_x)
    classifier = LogisticRegression(max_iter=2000).fit(scaler.transform(train_x), train_y)
    return float(classifier.score(scaler.transform(test_x), test_y))
