"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates", section 3.3), as fastai's `lr_find`.

Train for a few dozen steps while the learning rate grows exponentially from `start_lr` to
`end_lr`; record the loss at each step; stop once it blows up. The loss stays flat while
the rate is too small to matter, falls fastest where the rate is useful, and explodes
when it is too large. The suggestion is the rate where the smoothed loss falls fastest.
The model comes back exactly as it went in: weights, buffers, training modes, device,
and the global random state.

Example:
    >>> import torch
    >>> x = torch.cat([torch.randn(200, 2) + 3, torch.randn(200, 2) - 3])
    >>> y = torch.cat([torch.zeros(200), torch.ones(200)]).long()
    >>> result = lr_find(torch.nn.Linear(2, 2), (x, y), num_steps=60, device="cpu")
    >>> 1e-7 <= result.suggestion <= 10.0, len(result.lrs) == len(result.losses)
    (True, True)
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data.arrays import ArrayDataset, Batcher
from ..errors import ConfigError, DataError, TrainingDiverged
from ..utils import select_device
from .losses import get_loss
from .optimizers import get_optimizer

SKIP_START = 10  # the first steps are noise around the initial loss; pytorch-lr-finder skips 10 as well


@dataclass
class LRFinderResult:
    """What `lr_find` measured.

    Attributes:
        lrs: the learning rate of each step (exponentially increasing).
        losses: the smoothed training loss after each step (an exponential moving average).
        raw_losses: the batch losses themselves.
        suggestion: the rate at the steepest descent of the smoothed loss (fastai's "steep"
            rule, the one pytorch-lr-finder uses, not fastai's "valley"): the most negative
            slope of `losses` against log(lr), searched from step 10 up to the lowest loss.
        stopped_early: True when the loss diverged before `end_lr` (the usual case).
    """

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggestion: float
    stopped_early: bool

    def to_dict(self) -> dict:
        """A plain, JSON-ready dict of the fields."""
        return asdict(self)

    def plot(self) -> bytes:
        """The loss against the learning rate (log scale), the suggestion marked; PNG bytes.

        Example:
            >>> LRFinderResult([1e-3, 1e-2, 1e-1], [1.0, 0.6, 2.0], [1.0, 0.5, 2.5], 1e-2, True).plot()[:4]
            b'\\x89PNG'
        """
        from ..plots import INK_COLOR, NEUTRAL_COLOR, TRAIN_COLOR, WRONG_COLOR, new_figure, figure_style, png_bytes

        finite = [v for v in self.losses if math.isfinite(v)]
        with figure_style():
            fig = new_figure(6.0, 3.4)
            ax = fig.subplots()
            ax.plot(self.lrs[:len(self.raw_losses)], self.raw_losses, color=NEUTRAL_COLOR, linewidth=0.9, alpha=0.7,
                    label="batch loss")
            ax.plot(self.lrs[:len(self.losses)], self.losses, color=TRAIN_COLOR, linewidth=1.8, label="smoothed loss")
            ax.set_xscale("log")
            if finite:  # the divergence runs off to huge values: keep the readable part in view
                low, start = min(finite), finite[0]
                top = max(start, low) + 0.25 * max(start - low, abs(start) * 0.1, 1e-8)
                ax.set_ylim(low - 0.05 * (top - low), top)
            ax.axvline(self.suggestion, color=WRONG_COLOR, linestyle="--", linewidth=1.2,
                       label=f"suggestion {self.suggestion:.2g}")
            ax.set_xlabel("learning rate (log scale)")
            ax.set_ylabel("training loss")
            ax.set_title("Learning-rate range test" + (" (stopped at divergence)" if self.stopped_early else ""),
                         color=INK_COLOR)
            ax.legend(loc="lower left", fontsize=8)
            return png_bytes(fig)


def lr_find(model: nn.Module, data, *, loss="cross_entropy", optimizer="sgd", start_lr: float = 1e-7, end_lr: float = 10.0,
            num_steps: int = 100, batch_size: int = 64, smoothing: float = 0.05, diverge_factor: float = 4.0,
            device="auto", seed: int = 0, **optimizer_options) -> LRFinderResult:
    """Run the learning-rate range test on `model` and leave the model as it was.

    Args:
        model: any `nn.Module`; lazy tujie layers are built from two samples first.
        data: an `(x, y)` tuple (`(x1, x2, ..., y)` for several inputs), an `ArrayDataset`,
            a dataset bundle from `tj.datasets.load` (its `.train`), a torch `Dataset`, a
            `Batcher` or a `DataLoader`. Batches are cycled when `num_steps` exceeds an epoch.
        loss: a loss name, module or callable (see `tujie.train.losses.get_loss`).
        optimizer: an optimizer name, `{"name": ...}` dict or factory (see `get_optimizer`).
        start_lr, end_lr: the range, 0 < start_lr < end_lr; the rate grows by the same
            factor each step and reaches end_lr at the last step.
        num_steps: steps at most (>= 10).
        batch_size: samples per step for in-memory data and datasets.
        smoothing: weight of each new loss in the moving average, 0 < smoothing <= 1
            (pytorch-lr-finder's `smooth_f`; fastai's beta = 0.98 is smoothing = 0.02; 1 = none).
            The average trails the batch losses by about (1 - smoothing) / smoothing steps
            (19 at 0.05, about 1.5 decades of lr over the default range), which moves the
            suggestion to larger rates, as in both libraries; more steps shrink the shift.
        diverge_factor: stop once the smoothed loss exceeds diverge_factor x its lowest value.
        device: "auto", "cpu", "cuda", ...; the model returns to its own device afterwards.
        seed: seeds the batch order and the random state seen by the model (dropout), so
            the test repeats exactly; the caller's random state is restored afterwards.
        optimizer_options: momentum, weight_decay, betas, ... for a named optimizer.

    Returns:
        An `LRFinderResult` (lrs, smoothed losses, raw losses, suggestion, stopped_early).

    Raises:
        ConfigError: for a bad range, step count, smoothing or factor.
        TrainingDiverged: when the loss is not finite even at start_lr.
    """
    _check_arguments(start_lr, end_lr, num_steps, smoothing, diverge_factor)
    device = select_device(device)
    loss_fn = get_loss(loss)
    generator = torch.Generator().manual_seed(seed)
    batches = _batches(data, batch_size, generator)

    home = next((t.device for t in (*model.parameters(), *model.buffers())), torch.device("cpu"))
    modes = {m: m.training for m in model.modules()}
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # the caller's CPU (and this GPU's) random state comes back afterwards
        torch.random.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(cuda[0]):
                torch.cuda.manual_seed(seed)
        try:
            model.to(device)
            _build_lazy_layers(model, _to_device(_first_batch(batches), device))
            state = copy.deepcopy(model.state_dict())  # parameters and persistent buffers
            others = {name: b.detach().clone() for name, b in model.named_buffers() if name not in state}  # non-persistent ones
            grads = {p: p.grad for p in model.parameters()}  # usually None; the test's own gradients must not stay behind
            try:
                lrs, raw, smooth, stopped = _range_test(model, batches, loss_fn, optimizer, optimizer_options, device,
                                                        start_lr, end_lr, num_steps, smoothing, diverge_factor)
            finally:
                model.load_state_dict(state)
                for name, saved in others.items():
                    model.get_buffer(name).copy_(saved)
                for param, grad in grads.items():
                    param.grad = grad
        finally:
            model.to(home)
            for module, training in modes.items():
                module.training = training
    if not any(math.isfinite(v) for v in raw):
        raise TrainingDiverged("The loss was not finite even at the first learning rate of the range test.",
                               expected="a finite loss at start_lr", received=f"start_lr={start_lr:g}, loss={raw[0]}",
                               fix="Check the data (NaN/inf values, labels out of range) or lower start_lr.")
    return LRFinderResult(lrs, smooth, raw, _steepest(lrs, smooth), stopped)


def _range_test(model, batches, loss_fn, optimizer, optimizer_options, device, start_lr, end_lr, num_steps,
                smoothing, diverge_factor):
    """The loop: one step per learning rate, until `num_steps` or divergence."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("The model has no trainable parameters for the range test.", expected="parameters with requires_grad=True",
                          received=f"{type(model).__name__} with no trainable parameter", fix="Unfreeze some layers first.")
    opt = get_optimizer(optimizer, params, **{**optimizer_options, "lr": start_lr})
    factor = (end_lr / start_lr) ** (1.0 / (num_steps - 1))  # lr_i = start_lr * factor**i; lr_{n-1} = end_lr
    model.train()
    lrs, raw, smooth = [], [], []
    best, stopped = math.inf, False
    iterator = iter(batches)
    for step in range(num_steps):
        try:
            batch = next(iterator)
        except StopIteration:  # more steps than batches in an epoch: start another epoch
            iterator = iter(batches)
            batch = next(iterator)
        *inputs, y = _to_device(batch, device)
        lr = start_lr * factor ** step
        for group in opt.param_groups:
            group["lr"] = lr
        loss = loss_fn(model(*inputs), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = float(loss.detach())  # one sync per step: the loss decides whether to go on
        average = value if not smooth else smoothing * value + (1.0 - smoothing) * smooth[-1]
        lrs.append(lr)
        raw.append(value)
        smooth.append(average)
        if not math.isfinite(average) or average > diverge_factor * best:
            stopped = True
            break
        best = min(best, average)
    return lrs, raw, smooth, stopped


def _steepest(lrs: list[float], losses: list[float]) -> float:
    """The rate where the loss falls fastest per unit of log(lr), between step 10 and the lowest loss.

    Example:
        >>> lrs = [10 ** (k / 4 - 6) for k in range(19)]       # 1e-6 .. 1e-1.5, four steps a decade
        >>> losses = [2.0] * 12 + [1.9, 1.5, 0.7, 0.5, 0.45, 0.44, 3.0]
        >>> f"{_steepest(lrs, losses):.3g}"                      # step 13: from 1.9 to 0.7 around it
        '0.00178'
    """
    finite = [i for i, v in enumerate(losses) if math.isfinite(v)]
    lowest = min(finite, key=lambda i: losses[i])
    start = min(SKIP_START, max(lowest - 2, 0))
    if lowest - start < 2:  # no descent to measure: fall back on the old rule of thumb, a tenth of the best rate
        return max(lrs[lowest] / 10, lrs[0])
    log_lr = [math.log(lr) for lr in lrs[start:lowest + 1]]
    curve = losses[start:lowest + 1]
    slopes = [(curve[i + 1] - curve[i - 1]) / (log_lr[i + 1] - log_lr[i - 1]) for i in range(1, len(curve) - 1)]
    return lrs[start + 1 + min(range(len(slopes)), key=slopes.__getitem__)]


def _check_arguments(start_lr, end_lr, num_steps, smoothing, diverge_factor) -> None:
    if not isinstance(start_lr, (int, float)) or not isinstance(end_lr, (int, float)) or not 0 < start_lr < end_lr:
        raise ConfigError("Invalid learning-rate range for the range test.", expected="0 < start_lr < end_lr",
                          received=f"start_lr={start_lr!r}, end_lr={end_lr!r}", fix="Pass start_lr=1e-7, end_lr=10.")
    if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 10:
        raise ConfigError("Invalid value received for `num_steps`.", expected="an integer >= 10 (100 is usual)",
                          received=f"num_steps={num_steps!r}", fix="Pass num_steps=100.")
    if not isinstance(smoothing, (int, float)) or not 0 < smoothing <= 1:
        raise ConfigError("Invalid value received for `smoothing`.", expected="0 < smoothing <= 1 (the weight of each new loss)",
                          received=f"smoothing={smoothing!r}", fix="Pass smoothing=0.05, or smoothing=1 for no smoothing.")
    if not isinstance(diverge_factor, (int, float)) or not diverge_factor > 1:
        raise ConfigError("Invalid value received for `diverge_factor`.", expected="a number > 1",
                          received=f"diverge_factor={diverge_factor!r}", fix="Pass diverge_factor=4.")


def _batches(data, batch_size: int, generator: torch.Generator):
    """Shuffled batches `(x, ..., y)` from the data kinds `Learner.fit` accepts."""
    if hasattr(data, "train") and hasattr(data, "val"):  # a bundle from tj.datasets.load
        data = data.train
    if isinstance(data, (Batcher, DataLoader)):
        return data  # the caller's loader keeps its own batching
    if isinstance(data, (tuple, list)) and len(data) >= 2:
        tensors = ArrayDataset(*data).tensors if len(data) == 2 else tuple(ArrayDataset(t).x for t in data)
        if len({len(t) for t in tensors}) != 1:
            raise DataError("The arrays of a data tuple have different numbers of samples.", expected="one row per sample in each",
                            received=", ".join(str(tuple(t.shape)) for t in tensors), fix="Pass aligned arrays.")
        return Batcher(*tensors, batch_size=batch_size, shuffle=True, generator=generator, drop_last=len(tensors[0]) > batch_size)
    if isinstance(data, ArrayDataset):
        if data.y is None:
            raise DataError("The range test needs targets.", expected="an ArrayDataset with y, or an (x, y) tuple",
                            received="an ArrayDataset without y", fix="Pass lr_find(model, (x, y)).")
        return Batcher(*data.tensors, batch_size=batch_size, shuffle=True, generator=generator, drop_last=len(data) > batch_size)
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=True, generator=generator, drop_last=len(data) > batch_size)
    raise DataError("Unsupported data for the range test.",
                    expected="an (x, y) tuple, an ArrayDataset, a dataset bundle, a torch Dataset, a Batcher or a DataLoader",
                    received=type(data).__name__, fix="Wrap your arrays as (x, y).")


def _first_batch(batches):
    if isinstance(batches, Batcher):
        return tuple(t[:2] for t in batches.tensors)  # read directly: the shuffle order is untouched
    return next(iter(batches))


def _to_device(batch, device: torch.device):
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise DataError("The range test received batches without targets.", expected="batches (x, y) or (x1, ..., y)",
                        received=f"a batch of type {type(batch).__name__}", fix="Make the loader yield (inputs, targets).")
    return tuple(t.to(device, non_blocking=True) if torch.is_tensor(t) else t for t in batch)


def _build_lazy_layers(model: nn.Module, batch) -> None:
    """Create the parameters of lazy layers from two samples, as `Learner` does, before the snapshot."""
    from .loop import needs_build

    if needs_build(model):
        model.eval()
        with torch.no_grad():
            model(*(t[:2] for t in batch[:-1]))
