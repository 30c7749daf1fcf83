"""A finite-difference gradient check for any tujie model (any `torch.nn.Module`).

Each checked weight is nudged by ±h and the change of a scalar read-out of the model's output
is measured: (f(w+h) − f(w−h)) / 2h, the central difference, whose error falls as h². It is
compared with what autograd says (`.grad` after one backward). In float64 (the model is copied
and converted; the original is untouched) the two agree to ~1e-8 on a correct model; a wrong
backward (a custom `autograd.Function` with a slip in its derivative) shows as an error near 1.

The read-out is `(output · r).sum()` with a fixed random `r`: it weighs every output element,
so one check covers the whole Jacobian in one random direction. The model is run in eval mode
(dropout off, batch norm with its running statistics), so every pass sees the same function.
Where a ReLU or a max-pool has a kink within ±h of the point, no finite difference is a
derivative: each entry is measured with steps h and h/4, and an entry whose two slopes disagree
is left out (counted in `skipped`) rather than reported as an error.

Example:
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    >>> result = gradcheck(model, torch.randn(5, 3))
    >>> result.ok, sorted(result.errors)[:2]
    (True, ['0.bias', '0.weight'])
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from ..errors import ConfigError, DataError

_FLOOR = 1e-4  # below this a gradient entry is compared absolutely: rounding noise, not a slip


@dataclass
class GradCheck:
    """What the check found: the largest relative error of each parameter (and of the float inputs)."""

    errors: dict = field(default_factory=dict)   # name -> max relative error over its checked entries
    checked: dict = field(default_factory=dict)  # name -> how many entries were checked
    skipped: dict = field(default_factory=dict)  # name -> entries left out: a kink within ±h (see `gradcheck`)
    tolerance: float = 1e-5

    @property
    def worst(self) -> tuple[str, float]:
        name = max(self.errors, key=self.errors.get)
        return name, self.errors[name]

    @property
    def ok(self) -> bool:
        return sum(self.checked.values()) > 0 and self.worst[1] <= self.tolerance

    def failing(self) -> list[str]:
        return [name for name, error in self.errors.items() if error > self.tolerance]


def _as_tuple(inputs) -> tuple:
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _readout(output, directions: list) -> torch.Tensor:
    """Σ output · r over every floating tensor of the output (a tensor, or a tuple/dict of them)."""
    if isinstance(output, dict):
        output = list(output.values())
    tensors = [t for t in _as_tuple(output) if torch.is_tensor(t) and t.is_floating_point()]
    if not tensors:
        raise DataError("The model's output has no floating-point tensor to differentiate.",
                        expected="a float tensor (or a tuple/dict holding some)",
                        received=f"{type(output).__name__}", fix="Check a model whose forward returns real numbers.")
    if not directions:  # one fixed random direction per output tensor, drawn on the first call
        generator = torch.Generator().manual_seed(1234)
        directions.extend(torch.randn(t.shape, generator=generator, dtype=torch.float64) for t in tensors)
    return sum((t.double() * r).sum() for t, r in zip(tensors, directions))


def gradcheck(model: torch.nn.Module, inputs, *, h: float = 1e-5, tolerance: float = 1e-5,
              entries: int = 8, check_inputs: bool | None = None, seed: int = 0) -> GradCheck:
    """Compare autograd's gradients of `model` with central finite differences, in float64.

    Args:
        model: any `nn.Module` (a `tj.models.create(...)` model, a custom one); it is copied, not changed.
        inputs: a batch (a tensor or a tuple of tensors); keep it small (2–4 examples).
        h: the step of the central difference.
        tolerance: the largest relative error that passes.
        entries: entries checked per parameter (drawn at random, seeded; every entry of a small one).
        check_inputs: also check ∂/∂input of the floating inputs (default: when there are any).
        seed: picks the entries.

    Returns:
        A `GradCheck`: `errors` (name → max |autograd − numeric| / max(|autograd|, |numeric|, 1e-4)): relative,
            absolute below 1e-4 where float64 rounding (~1e-11·|f|/h) would swamp a relative error), `ok`, `worst`.

    Raises:
        ConfigError: the model has nothing to check: no floating parameter and no floating input
            (for instance token ids into a frozen embedding), or `check_inputs=True` with integer inputs.
    """
    inputs = _as_tuple(inputs)
    if not all(torch.is_tensor(x) for x in inputs):
        raise DataError("The gradient check needs its inputs as torch tensors.", expected="a tensor or a tuple of tensors",
                        received=", ".join(type(x).__name__ for x in inputs), fix="Pass torch.as_tensor(batch).")
    model = copy.deepcopy(model).eval()
    with torch.no_grad():  # lazy layers learn their sizes on a first call, in the original precision
        model(*inputs)
    model = model.double()
    inputs = tuple(x.detach().double() if x.is_floating_point() else x for x in inputs)
    floating = [i for i, x in enumerate(inputs) if x.is_floating_point()]
    if check_inputs is None:
        check_inputs = bool(floating)
    if check_inputs and not floating:
        raise ConfigError("Gradients with respect to the inputs were asked for, but every input is an integer tensor.",
                          expected="floating-point inputs for check_inputs=True",
                          received=", ".join(str(x.dtype) for x in inputs),
                          fix="Pass check_inputs=False: token ids and class indices have no gradient; the weights are still checked.")
    params = {name: p for name, p in model.named_parameters() if p.requires_grad and p.is_floating_point()}
    targets = dict(params)
    if check_inputs:
        inputs = tuple(x.requires_grad_(True) if i in floating else x for i, x in enumerate(inputs))
        targets.update({f"input[{i}]": inputs[i] for i in floating})
    if not targets:
        raise ConfigError("This model has nothing a gradient check can differentiate.",
                          expected="a trainable floating-point parameter or a floating-point input",
                          received=f"{type(model).__name__} with {sum(1 for _ in model.parameters())} parameters, "
                                   f"none trainable in floating point; inputs {', '.join(str(x.dtype) for x in inputs)}",
                          fix="Unfreeze a parameter (requires_grad=True) or check a model with real-valued inputs.")

    directions: list = []
    model.zero_grad(set_to_none=True)
    _readout(model(*inputs), directions).backward()
    analytic = {name: (t.grad.detach().clone() if t.grad is not None else torch.zeros_like(t)) for name, t in targets.items()}

    generator = torch.Generator().manual_seed(seed)
    result = GradCheck(tolerance=tolerance)
    with torch.no_grad():
        for name, tensor in targets.items():
            flat = tensor.view(-1)  # a view: nudging it nudges the model's weight
            picks = (torch.arange(flat.numel()) if flat.numel() <= entries
                     else torch.randperm(flat.numel(), generator=generator)[:entries])
            worst, skipped = 0.0, 0
            for index in picks.tolist():
                original = flat[index].item()

                def slope(step, original=original, index=index, flat=flat):
                    flat[index] = original + step
                    up = _readout(model(*inputs), directions).item()
                    flat[index] = original - step
                    down = _readout(model(*inputs), directions).item()
                    flat[index] = original
                    return (up - down) / (2 * step)

                numeric, finer = slope(h), slope(h / 4)
                if abs(numeric - finer) > tolerance * max(abs(numeric), abs(finer), _FLOOR):
                    # the two steps disagree: a kink (ReLU at 0, a max-pool tie) lies within ±h, where no
                    # finite difference is a derivative. A wrong backward shows as steps that agree with
                    # each other but not with autograd, so skipping these hides no slip.
                    skipped += 1
                    continue
                exact = analytic[name].view(-1)[index].item()
                worst = max(worst, abs(exact - numeric) / max(abs(exact), abs(numeric), _FLOOR))
            result.errors[name], result.checked[name] = worst, len(picks) - skipped
            if skipped:
                result.skipped[name] = skipped
    return result


class _SlippedSquare(torch.autograd.Function):
    """x², with the classic slip in its backward: x instead of 2x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # should be grad * 2 * x


class SlippedModel(torch.nn.Module):
    """Linear(3, 4) → x² with a wrong backward → Linear(4, 2): what a gradient check exists to catch.

    Example:
        >>> result = gradcheck(SlippedModel(), torch.randn(3, 3))
        >>> result.ok, "second.weight" in result.failing(), "first.weight" in result.failing()
        (False, False, True)
    """

    def __init__(self):
        super().__init__()
        self.first, self.second = torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)

    def forward(self, x):  # (b, 3) -> (b, 2)
        return self.second(_SlippedSquare.apply(self.first(x)))


__all__ = ["GradCheck", "SlippedModel", "gradcheck"]
