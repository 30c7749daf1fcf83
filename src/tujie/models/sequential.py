"""Keras-style models that stay plain `nn.Module`s: `Model` (compile/fit/evaluate/predict/summary) and `Sequential`."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError


class Model(nn.Module):
    """An `nn.Module` with Keras' compile/fit/evaluate/predict/summary; subclass it like any module.

    The methods delegate to a `tujie.Learner` built by `compile`, so everything a Learner
    accepts (any torch loss or optimizer object, callbacks, DataLoaders) works here too.
    A subclass may define `train_step(batch, learner)` to take over one training step.

    Example:
        >>> import torch, tujie as tj
        >>> class Net(tj.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = torch.nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x)
        >>> net = Net().compile(optimizer="adam", loss="cross_entropy")
        >>> _ = net.fit((torch.randn(32, 4), torch.randint(0, 2, (32,))), epochs=1, verbose=0)
    """

    def compile(self, optimizer="adam", loss="cross_entropy", metrics=None, *, lr=None, scheduler=None,
                device="auto", callbacks=(), seed=0, **optimizer_options):
        """Choose optimizer, loss and metrics (names or torch objects). Returns self."""
        from ..train.loop import Learner

        # object.__setattr__: keep the learner out of the module tree (it is not a layer and has no weights)
        object.__setattr__(self, "_learner", Learner(self, loss=loss, optimizer=optimizer, lr=lr, metrics=metrics,
                                                     scheduler=scheduler, device=device, callbacks=callbacks,
                                                     seed=seed, optimizer_options=optimizer_options))
        return self

    @property
    def learner(self):
        learner = self.__dict__.get("_learner")
        if learner is None:
            raise ConfigError(f"{type(self).__name__} is not compiled yet.", expected="compile() before fit/evaluate",
                              fix='Call model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"]) first.')
        return learner

    def fit(self, x, y=None, **kwargs):
        """Train; see `Learner.fit` (epochs, batch_size, validation_data, callbacks, verbose...)."""
        return self.learner.fit(x, y, **kwargs)

    def evaluate(self, x, y=None, **kwargs) -> dict:
        """Loss and metrics on a dataset; see `Learner.evaluate`."""
        return self.learner.evaluate(x, y, **kwargs)

    def predict(self, x, **kwargs) -> torch.Tensor:
        """Raw outputs (logits for classifiers); see `predict_proba` for probabilities."""
        learner = self.__dict__.get("_learner")
        if learner is None:
            from ..train.loop import Learner

            learner = Learner(self, loss=None, optimizer=None, metrics=(), device=next((p.device for p in self.parameters()), "cpu"))
        return learner.predict(x, **kwargs)

    def predict_proba(self, x, **kwargs) -> torch.Tensor:
        """Class probabilities (softmax / sigmoid chosen from the compiled loss)."""
        return self.learner.predict_proba(x, **kwargs)

    def summary(self, input_shape=None, print_fn=print) -> dict:
        """Print each layer's output shape and parameter count, and the totals."""
        from ..train.summary import summarize

        learner = self.__dict__.get("_learner")
        shape = input_shape or getattr(self, "input_shape", None) or (learner.input_shape if learner else None)
        return summarize(self, shape, print_fn=print_fn)

    def build(self, input_shape) -> "Model":
        """Create lazy layers' weights now from one sample's shape, e.g. (1, 28, 28)."""
        self.input_shape = tuple(input_shape)
        device = next((p.device for p in self.parameters()), torch.device("cpu"))
        was_training = self.training
        with torch.no_grad():
            self.eval()
            self(torch.zeros(2, *self.input_shape, device=device))
        self.train(was_training)
        return self


class Sequential(Model, nn.Sequential):
    """A stack of layers, each feeding the next: Keras' `Sequential`, and a real `nn.Sequential`.

    Args:
        layers: modules in order (tujie layers or any `nn.Module`).
        input_shape: optional shape of one sample; given, the weights are created at once
            (like `keras.Input(shape=...)`), otherwise on the first batch.

    Example:
        >>> import tujie as tj
        >>> model = tj.Sequential([tj.layers.Flatten(), tj.layers.Dense(128, activation="relu"),
        ...                        tj.layers.Dense(10)], input_shape=(1, 28, 28))
        >>> model(torch.zeros(5, 1, 28, 28)).shape
        torch.Size([5, 10])
    """

    def __init__(self, layers=(), input_shape=None):
        nn.Sequential.__init__(self, *layers)
        counts: dict[str, int] = {}
        for layer in self:  # Keras-style unique names: dense, dense_1, ...
            if hasattr(layer, "name") and isinstance(layer.name, str):
                base = layer.name
                n = counts.get(base, 0)
                counts[base] = n + 1
                layer.name = base if n == 0 else f"{base}_{n}"
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        if input_shape is not None:
            self.build(input_shape)

    def add(self, layer: nn.Module) -> "Sequential":
        """Append a layer (Keras' `model.add`)."""
        self.append(layer)
        return self
