"""Pruning: remove the weights (or whole channels) a trained network needs least.

Unstructured magnitude pruning (Han et al. 2015, "Learning both Weights and Connections for
Efficient Neural Networks") zeroes the smallest |w|, either in every layer alike
(`torch.nn.utils.prune.l1_unstructured`) or over the whole network at once
(`global_unstructured`: layers with many redundant weights give up more). Han et al. prune
iteratively: prune a little, retrain the survivors, prune more; LeNet-300-100 kept 1/12 of its
weights with error 1.64% → 1.59%. `iterative_pruning` is that schedule; the masks stay applied
while fine-tuning (torch's pruning hook recomputes `weight = weight_orig * weight_mask` before
every forward, so a pruned weight gets zero gradient and stays zero).

Unstructured zeros do not make a dense tensor smaller or a dense matmul faster: the state dict
still stores every zero. What shrinks is the count of nonzero parameters (what a sparse format or
a compressor would store). Structured pruning (`prune_channels`) removes whole neurons, filters
and channels, so the tensors themselves shrink and the model gets faster. It is built on
torch-pruning's dependency graph (Fang et al. 2023, "DepGraph"): removing a filter also removes
the batch-norm channel after it and the input channel of every layer that reads it, and layers
joined by a residual add are pruned together, so the adds stay consistent. A channel that passes
through zero padding (ResNet-20's parameter-free "option A" shortcut) cannot be mapped, so such
groups are left whole: only the inner channels of each block are pruned, as Li et al. 2017
("Pruning Filters for Efficient ConvNets") did for the CIFAR ResNets.

Example:
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(20, 10), torch.nn.ReLU(), torch.nn.Linear(10, 2))
    >>> _ = prune_magnitude(model, 0.75)
    >>> [round(row["sparsity"], 2) for row in sparsity_per_layer(model)]
    [0.75, 0.75]
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import prune

from ..errors import ConfigError

__all__ = [
    "as_torch_layers",
    "finetune",
    "global_sparsity",
    "iterative_pruning",
    "make_permanent",
    "prunable_layers",
    "prune_channels",
    "prune_magnitude",
    "sparsity_per_layer",
]

SCOPES = ("layer", "global")


def _check_sparsity(sparsity: float, name: str = "sparsity") -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0.0 <= sparsity < 1.0:
        raise ConfigError(f"Invalid value received for `{name}`.", expected="a share of the weights to remove, 0 <= s < 1 (0.9: keep 1/10)",
                          received=f"{name}={sparsity!r}", fix=f"Pass e.g. {name}=0.9.")
    return float(sparsity)


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The (name, module) pairs whose `weight` is a matrix or a kernel: Linear, Dense, Conv (not norms or embeddings).

    Example:
        >>> [name for name, _ in prunable_layers(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)))]
        ['0']
    """
    layers = []
    for name, module in model.named_modules():
        weight = getattr(module, "weight_orig", None)
        if weight is None:
            weight = module._parameters.get("weight") if hasattr(module, "_parameters") else None
        if isinstance(weight, nn.Parameter) and weight.dim() >= 2 and not isinstance(module, nn.Embedding):
            layers.append((name, module))
    return layers


def prune_magnitude(model: nn.Module, sparsity: float, *, scope: str = "layer", permanent: bool = False) -> nn.Module:
    """Zero the smallest-magnitude weights until `sparsity` of them are zero (in place).

    Args:
        model: a model with built layers. Called again on a pruned model, it prunes further
            (the new share counts from all the weights, not from the survivors).
        sparsity: share of each layer's weights (scope "layer") or of all prunable weights
            (scope "global") that are zero afterwards, 0 <= s < 1.
        scope: "layer" (`l1_unstructured` per layer) or "global" (`global_unstructured`).
        permanent: make the zeros part of the weights and drop the masks (`prune.remove`);
            otherwise the masks stay and keep the pruned weights at zero during fine-tuning.

    Returns:
        The same model.

    Example:
        >>> layer = torch.nn.Linear(100, 10)
        >>> _ = prune_magnitude(layer, 0.9, permanent=True)
        >>> int((layer.weight == 0).sum())
        900
    """
    sparsity = _check_sparsity(sparsity)
    if scope not in SCOPES:
        raise ConfigError(f"Unknown pruning scope {scope!r}.", expected="'layer' or 'global'", received=f"scope={scope!r}",
                          fix="Pass scope='layer' (every layer alike) or scope='global' (one threshold for all).")
    layers = prunable_layers(model)
    if not layers:
        raise ConfigError("The model has no layer to prune.", expected="Linear, Dense or Conv layers with built weights",
                          received=type(model).__name__, fix="Run one batch through a model with lazy layers first.")
    weights = [_weight(m) for _, m in layers]
    already = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
    if scope == "global":
        remaining = 1.0 - already
        amount = 0.0 if remaining <= 0 else max(0.0, (sparsity - already) / remaining)
        prune.global_unstructured([(m, "weight") for _, m in layers], pruning_method=prune.L1Unstructured,
                                  amount=min(amount, 1.0))
    else:
        for (_, module), weight in zip(layers, weights):
            zeros = int((weight == 0).sum())
            # torch counts a repeated prune's amount among the survivors: remove what is missing to reach the target
            missing = max(0, round(sparsity * weight.numel()) - zeros)
            prune.l1_unstructured(module, "weight", amount=missing)
    if permanent:
        make_permanent(model)
    return model


def _weight(module: nn.Module) -> torch.Tensor:
    """The weight the forward uses (masked when a pruning mask is attached)."""
    return module.weight.detach()


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every pruning mask into its weight (`prune.remove`): plain parameters again, zeros kept.

    Example:
        >>> layer = prune_magnitude(torch.nn.Linear(4, 4), 0.5)
        >>> sorted(n for n, _ in make_permanent(layer).named_parameters())
        ['bias', 'weight']
    """
    for module in model.modules():
        for name in [k[:-5] for k in list(module._parameters) if k.endswith("_orig")]:
            if prune.is_pruned(module) and hasattr(module, name + "_mask"):
                prune.remove(module, name)
    return model


def sparsity_per_layer(model: nn.Module) -> list[dict]:
    """One row per prunable layer: {"layer", "kind", "shape", "parameters", "nonzero", "sparsity"}.

    Example:
        >>> rows = sparsity_per_layer(torch.nn.Linear(3, 2))
        >>> rows[0]["parameters"], rows[0]["sparsity"]
        (6, 0.0)
    """
    rows = []
    for name, module in prunable_layers(model):
        weight = _weight(module)
        nonzero = int(torch.count_nonzero(weight))
        rows.append({"layer": name or type(module).__name__, "kind": type(module).__name__, "shape": list(weight.shape),
                     "parameters": weight.numel(), "nonzero": nonzero, "sparsity": 1.0 - nonzero / max(weight.numel(), 1)})
    return rows


def global_sparsity(model: nn.Module) -> float:
    """Share of zeros among all prunable weights (biases and norms left out, as Han et al. count)."""
    rows = sparsity_per_layer(model)
    return 1.0 - sum(r["nonzero"] for r in rows) / max(sum(r["parameters"] for r in rows), 1)


def iterative_pruning(model: nn.Module, sparsity: float, *, steps: int = 3, scope: str = "layer",
                      finetune: Callable[[nn.Module], object] | None = None, on_step: Callable[[int, float], None] | None = None
                      ) -> nn.Module:
    """Han et al.'s schedule: prune to sparsity·k/steps, fine-tune, for k = 1..steps; then make it permanent.

    Args:
        model: the trained model (changed in place).
        sparsity: the final share of zeros (per layer or global, see `scope`).
        steps: pruning rounds; each prunes a step more than the last.
        scope: "layer" or "global" (as `prune_magnitude`).
        finetune: `finetune(model)` trains the survivors after each round (e.g. a few epochs with
            the Learner); the masks stay attached meanwhile, so the pruned weights stay zero.
            None: prune only (one-shot pruning when steps == 1).
        on_step: called after each round with (round, sparsity reached), for progress lines.

    Returns:
        The same model, its zeros made permanent.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.ReLU(), torch.nn.Linear(10, 2))
        >>> round(global_sparsity(iterative_pruning(model, 0.8, steps=4)), 2)
        0.8
    """
    sparsity = _check_sparsity(sparsity)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError("Invalid value received for `steps` of iterative pruning.", expected="a positive integer",
                          received=f"steps={steps!r}", fix="Pass steps=3 (three prune–fine-tune rounds).")
    for step in range(1, steps + 1):
        prune_magnitude(model, sparsity * step / steps, scope=scope)
        if finetune is not None:
            finetune(model)
        if on_step is not None:
            on_step(step, global_sparsity(model))
    return make_permanent(model)


# ------------------------------------------------------------------------------ structured pruning
class _Apply(nn.Module):
    """A function (a Dense layer's activation) as a module, so a model can hold it in a Sequential."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function(x)


def as_torch_layers(model: nn.Module) -> nn.Module:
    """Replace every built tujie `Dense` by `nn.Linear` (+ its activation), in place; other layers stay.

    torch-pruning and torch's quantization know `nn.Linear`, not tujie's lazy `Dense`; the
    numbers are the same, only the state-dict names of those layers gain a `.0`.

    Example:
        >>> from tujie import layers
        >>> model = torch.nn.Sequential(layers.Dense(3, activation="relu"))
        >>> _ = model(torch.zeros(1, 2))                 # a lazy layer learns its size from one batch
        >>> type(as_torch_layers(model)[0][0]).__name__
        'Linear'
    """
    from ..layers import Dense

    for name, child in list(model.named_children()):
        if isinstance(child, Dense):
            if not child.built:
                raise ConfigError(f"Layer {name!r} has not been built yet.", expected="built Dense layers (sized by one batch)",
                                  received=f"{name}: Dense({child.units}) without weights", fix="Run one batch through the model first.")
            linear = nn.Linear(child.in_features, child.units, bias=child.bias is not None,
                               device=child.weight.device, dtype=child.weight.dtype)
            with torch.no_grad():
                linear.weight.copy_(child.weight)
                if child.bias is not None:
                    linear.bias.copy_(child.bias)
            setattr(model, name, linear if child.activation is None else nn.Sequential(linear, _Apply(child.activation)))
        else:
            as_torch_layers(child)
    return model


def _output_layers(model: nn.Module, example: torch.Tensor) -> list[nn.Module]:
    """The layers whose outputs are the model's outputs (the classifier head: its classes must stay)."""
    last = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    return last[-1:]


def _unmappable_groups(graph, roots) -> list[nn.Module]:
    """Layers of dependency groups that pass through channel padding (torch-pruning cannot map those indices)."""
    skipped = []
    for group in graph.get_all_groups(root_module_types=roots):
        names = [str(dep.source.name) + " " + str(dep.target.name) for dep, _ in group.items]
        if any("Pad" in n for n in names):
            # only the layers whose *outputs* are these channels; the layers reading them may still lose their own
            skipped += [dep.target.module for dep, _ in group.items
                        if isinstance(dep.target.module, roots) and "out_channels" in getattr(dep.handler, "__name__", "")]
    return skipped


def prune_channels(model: nn.Module, example: torch.Tensor, ratio: float, *, ignored=(), importance: str = "l1") -> nn.Module:
    """Remove `ratio` of the channels (filters, neurons) of every prunable group, in place; the model really shrinks.

    Built on torch-pruning's `DependencyGraph` and `MetaPruner`: every filter removed takes its
    batch-norm channel and the input channels that read it along; layers joined by a residual
    add are pruned together. The output layer keeps its classes; groups through channel padding
    are left whole (see the module docstring).

    Args:
        model: a trained model (tujie `Dense` layers are turned into `nn.Linear` first).
        example: an input batch, shape (batch, ...), to trace the graph.
        ratio: share of channels removed from each group, 0 <= r < 1.
        ignored: more layers to leave whole.
        importance: "l1" (sum of |w| of a channel's weights, Li et al. 2017) or "l2".

    Returns:
        The same model object, with smaller layers. Fine-tune it afterwards.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
        >>> _ = prune_channels(model, torch.randn(2, 8), 0.5)
        >>> model[0].out_features, model(torch.randn(2, 8)).shape
        (8, torch.Size([2, 3]))
    """
    import torch_pruning as tp

    ratio = _check_sparsity(ratio, "ratio")
    if importance not in ("l1", "l2"):
        raise ConfigError(f"Unknown channel importance {importance!r}.", expected="'l1' or 'l2'",
                          received=f"importance={importance!r}", fix="Pass importance='l1'.")
    as_torch_layers(model)
    was_training = model.training
    model.eval()
    roots = (nn.Conv2d, nn.Linear)
    graph = tp.DependencyGraph().build_dependency(model, example_inputs=example)
    ignored = [*ignored, *_output_layers(model, example), *_unmappable_groups(graph, roots)]
    pruner = tp.pruner.MetaPruner(model, example, importance=tp.importance.MagnitudeImportance(p=1 if importance == "l1" else 2),
                                  pruning_ratio=ratio, ignored_layers=ignored, root_module_types=list(roots))
    pruner.step()
    model.train(was_training)
    return model


def finetune(model: nn.Module, train, epochs: int, *, lr: float = 1e-3, batch_size: int = 128, optimizer: str = "adam",
             verbose: int = 0) -> nn.Module:
    """Train `model` a few epochs on `train` ((x, y) or a dataset with .x/.y) with the Learner: the retraining of prune–retrain.

    Example:
        >>> model = torch.nn.Linear(4, 2)
        >>> _ = finetune(model, (torch.randn(32, 4), torch.randint(0, 2, (32,))), 1)
    """
    from ..train import Learner

    x, y = (train.x, train.y) if hasattr(train, "x") else train
    learner = Learner(model, loss="cross_entropy", optimizer=optimizer, lr=lr, metrics=["accuracy"], seed=None)
    learner.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model
