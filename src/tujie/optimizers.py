"""Keras-style optimizers: `tj.optimizers.Adam(learning_rate=1e-3)`, made before the model has parameters.

An object here only describes the optimizer, with Keras' argument names and defaults
(`learning_rate`, `beta_1`, `beta_2`, `epsilon=1e-7`, `rho` ...). The Learner builds the real
`torch.optim` optimizer from it once the first batch has sized the model: the object is a
factory `params -> torch.optim.Optimizer`, which `model.compile(optimizer=...)` and
`tj.Learner(optimizer=...)` accept like a name ("adam") or a ready torch optimizer.

As in Keras, `weight_decay` is decoupled (it shrinks the weights directly, AdamW-style):
`Adam(weight_decay=...)` builds `torch.optim.AdamW`; SGD, RMSprop, Adagrad and Adadelta pass it to
torch's own `weight_decay` (an L2 gradient term, which equals decoupled decay for SGD without momentum).
`clipnorm` (each weight's gradient), `global_clipnorm` (all gradients together) and `clipvalue`
clip the gradients just before every step, as Keras does.

Example:
    >>> import torch, tujie as tj
    >>> opt = tj.optimizers.Adam(learning_rate=3e-4)
    >>> built = opt([torch.nn.Parameter(torch.zeros(2))])
    >>> type(built).__name__, built.param_groups[0]["lr"], built.defaults["eps"]
    ('Adam', 0.0003, 1e-07)
"""

from __future__ import annotations

import torch

from .errors import ConfigError, closest
from .train.optimizers import get_optimizer


class Optimizer:
    """A Keras-style optimizer description; call it with parameters to build the torch optimizer.

    Subclasses set `name` (the key of `tujie.train.optimizers.OPTIMIZERS`), `DEFAULTS` (Keras'
    arguments and defaults) and `TORCH_NAMES` (Keras argument -> torch keyword).
    """

    name = ""
    DEFAULTS: dict = {}
    TORCH_NAMES = {"learning_rate": "lr", "epsilon": "eps"}

    def __init__(self, learning_rate=None, *, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, lr=None, **options):
        unknown = [k for k in options if k not in self.DEFAULTS]
        if unknown:
            raise ConfigError(f"{type(self).__name__} has no argument {unknown[0]!r}. {closest(unknown[0], self.DEFAULTS)}",
                              expected=f"some of learning_rate, {', '.join(k for k in self.DEFAULTS if k != 'learning_rate')}, "
                                       "clipnorm, clipvalue, global_clipnorm",
                              received=f"{unknown[0]}={options[unknown[0]]!r}", fix="Remove or rename the argument.")
        rate = learning_rate if learning_rate is not None else lr if lr is not None else self.DEFAULTS["learning_rate"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 0:
            raise ConfigError("Invalid value received for argument `learning_rate`.", expected="a number >= 0",
                              received=f"learning_rate={rate!r}",
                              fix="Pass a number; a changing rate is scheduler=... or tj.callbacks.LearningRateScheduler.")
        clips = {k: v for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm))
                 if v is not None}
        if len(clips) > 1:
            raise ConfigError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set.", expected="one of them",
                              received=", ".join(f"{k}={v!r}" for k, v in clips.items()), fix="Keep one.")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in clips.values()):
            raise ConfigError("Invalid value received for gradient clipping.", expected="a number > 0",
                              received=", ".join(f"{k}={v!r}" for k, v in clips.items()), fix="Pass clipnorm=1.0, for example.")
        self.learning_rate = float(rate)
        self.options = {**{k: v for k, v in self.DEFAULTS.items() if k != "learning_rate"}, **options}
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm

    def torch_name(self) -> str:
        """The `OPTIMIZERS` name this description builds."""
        return self.name

    def torch_options(self) -> dict:
        """The torch keyword arguments: Keras names translated, `beta_1`/`beta_2` joined into `betas`."""
        out = {"lr": self.learning_rate}
        options = dict(self.options)
        if "beta_1" in options:
            out["betas"] = (options.pop("beta_1"), options.pop("beta_2"))
        for key, value in options.items():
            if value is not None:
                out[self.TORCH_NAMES.get(key, key)] = value
        return out

    def __call__(self, params) -> torch.optim.Optimizer:
        """Build the torch optimizer for `params` (what the Learner does once the model is sized)."""
        optimizer = get_optimizer(self.torch_name(), params, **self.torch_options())
        if self.clipnorm is not None or self.clipvalue is not None or self.global_clipnorm is not None:
            optimizer.register_step_pre_hook(self._clip)
        return optimizer

    def _clip(self, optimizer, args, kwargs) -> None:
        """Keras' gradient clipping, run by torch just before every `optimizer.step()`."""
        grads = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if self.clipvalue is not None:
            torch.nn.utils.clip_grad_value_(grads, self.clipvalue)
        elif self.global_clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(grads, self.global_clipnorm)
        else:
            for p in grads:  # clipnorm: each weight's gradient on its own
                torch.nn.utils.clip_grad_norm_([p], self.clipnorm)

    def get_config(self) -> dict:
        """Keras' `get_config()`: the name and every argument, enough to rebuild it with `get(config)`."""
        clips = {k: v for k, v in (("clipnorm", self.clipnorm), ("clipvalue", self.clipvalue),
                                   ("global_clipnorm", self.global_clipnorm)) if v is not None}
        return {"name": type(self).__name__, "learning_rate": self.learning_rate, **self.options, **clips}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum. Keras defaults: learning_rate=0.01.

    Example:
        >>> SGD(learning_rate=0.1, momentum=0.9, nesterov=True).torch_options()
        {'lr': 0.1, 'momentum': 0.9, 'nesterov': True}
    """

    name = "sgd"
    DEFAULTS = {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, "weight_decay": None}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015). Keras defaults: learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7.

    `weight_decay` is decoupled as in Keras, so it builds `torch.optim.AdamW`.

    Example:
        >>> Adam(weight_decay=0.01).torch_name()
        'adamw'
    """

    name = "adam"
    DEFAULTS = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False, "weight_decay": None}

    def torch_name(self) -> str:
        return "adamw" if self.options.get("weight_decay") else "adam"


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019). Keras defaults: weight_decay=0.004.

    Example:
        >>> AdamW().torch_options()["weight_decay"]
        0.004
    """

    name = "adamw"
    DEFAULTS = {**Adam.DEFAULTS, "weight_decay": 0.004}

    def torch_name(self) -> str:
        return "adamw"


class RMSprop(Optimizer):
    """RMSprop (Hinton 2012). Keras defaults: learning_rate=0.001, rho=0.9 (torch's `alpha`), epsilon=1e-7."""

    name = "rmsprop"
    DEFAULTS = {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False, "weight_decay": None}
    TORCH_NAMES = {**Optimizer.TORCH_NAMES, "rho": "alpha"}


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011). Keras defaults: learning_rate=0.001, initial_accumulator_value=0.1."""

    name = "adagrad"
    DEFAULTS = {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7, "weight_decay": None}


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012). Keras defaults: learning_rate=0.001, rho=0.95, epsilon=1e-7."""

    name = "adadelta"
    DEFAULTS = {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7, "weight_decay": None}


ALL = {cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta)}


def get(identifier) -> Optimizer:
    """Keras' `optimizers.get`: a name ("adam"), a `get_config()` dict or an optimizer object.

    Example:
        >>> get("rmsprop")
        RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-07, centered=False, weight_decay=None)
        >>> get(Adam(learning_rate=0.01).get_config()).learning_rate
        0.01
    """
    if isinstance(identifier, Optimizer):
        return identifier
    config = dict(identifier) if isinstance(identifier, dict) else {"name": identifier}
    key = str(config.pop("name", "")).lower()
    if key not in ALL:
        raise ConfigError(f"Unknown optimizer {key!r}. {closest(key, ALL)}", expected=f"one of {', '.join(ALL)}",
                          received=f"optimizer={identifier!r}", fix="Pick a name from the list.")
    return ALL[key](**config)


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "get"]
