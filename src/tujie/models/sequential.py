"""Keras-style models that stay plain `nn.Module`s: `Model` (compile/fit/evaluate/predict/summary/save) and `Sequential`."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError
from .saving import _plain, register_container


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
                device="auto", callbacks=(), seed=0, task=None, output_index=None, output_key=None, **optimizer_options):
        """Choose optimizer, loss and metrics (names or torch objects). Returns self.

        `task`, `output_index` and `output_key` go to the Learner: what the outputs are (e.g.
        "multiclass_log_probs"), and which element of a tuple or dict output the metrics read.
        """
        from ..train.loop import Learner

        # names and numbers are saved with the model (`save`), so `load_model` can compile it again
        args = {"optimizer": optimizer, "loss": loss, "metrics": metrics, "lr": lr, "scheduler": scheduler, "seed": seed,
                **optimizer_options}
        self.__dict__["_compile_config"] = args if all(_plain(v) for v in args.values()) else None

        # object.__setattr__: keep the learner out of the module tree (it is not a layer and has no weights)
        object.__setattr__(self, "_learner", Learner(self, loss=loss, optimizer=optimizer, lr=lr, metrics=metrics,
                                                     scheduler=scheduler, device=device, callbacks=callbacks,
                                                     seed=seed, optimizer_options=optimizer_options, task=task,
                                                     output_index=output_index, output_key=output_key))
        return self

    def __getstate__(self):
        # the learner holds local functions (the batch accuracy) that pickle cannot write: torch.save the model alone
        state = dict(super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__)
        state.pop("_learner", None)
        return state

    @property
    def learner(self):
        learner = self.__dict__.get("_learner")
        if learner is None:
            raise ConfigError(f"{type(self).__name__} is not compiled yet.", expected="compile() before fit/evaluate",
                              fix='Call model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"]) first.')
        return learner

    def fit(self, x, y=None, **kwargs):
        """Train; see `Learner.fit` (epochs, batch_size, validation_data, callbacks, verbose, run_dir...)."""
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

    def build(self, input_shape, dtype=None) -> Model:
        """Create lazy layers' weights now from one sample's shape, e.g. (1, 28, 28) (`dtype`: int64 for token ids)."""
        self.input_shape = tuple(input_shape)
        device = next((p.device for p in self.parameters()), torch.device("cpu"))
        was_training = self.training
        with torch.no_grad():
            self.eval()
            shape = tuple(1 if s is None else s for s in self.input_shape)  # a free size (sequence length): any will do
            self(torch.zeros(2, *shape, device=device, dtype=dtype))
        self.train(was_training)
        return self

    # ------------------------------------------------------------ Keras habits
    @property
    def layers(self) -> list[nn.Module]:
        """The model's layers in order (its direct children; a `Sequential`'s `Input` is not a layer, as in Keras)."""
        from ..layers import Input

        return [m for m in self.children() if not isinstance(m, Input)]

    def get_layer(self, name=None, index: int | None = None) -> nn.Module:
        """A layer by its name (`dense_1`, as tujie layers are named; a torch module by its attribute name) or index.

        Example:
            >>> import tujie as tj
            >>> model = tj.Sequential([tj.layers.Dense(4), tj.layers.Dense(2)])
            >>> model.get_layer("dense_1") is model.get_layer(index=1)
            True
        """
        layers = self.layers
        if isinstance(name, int) and not isinstance(name, bool) and index is None:
            name, index = None, name
        if index is not None:
            if not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise ConfigError(f"{type(self).__name__} has no layer at index {index!r}.",
                                  expected=f"an index from 0 to {len(layers) - 1}", received=f"index={index!r}",
                                  fix="Use model.layers to see them.")
            return layers[index]
        names = self._layer_names()
        if name not in names:
            from ..errors import closest

            raise ConfigError(f"{type(self).__name__} has no layer named {name!r}. {closest(str(name), names)}",
                              expected=f"one of {', '.join(map(repr, names))}", received=f"name={name!r}",
                              fix="Use one of the names listed, or get_layer(index=...).")
        return names[name]

    def _layer_names(self) -> dict:
        from ..layers import Input

        return {(m.name if isinstance(getattr(m, "name", None), str) else key): m
                for key, m in self.named_children() if not isinstance(m, Input)}

    def count_params(self) -> int:
        """Number of weights (trainable or not); the model must be built (`Input`, `input_shape=` or one batch)."""
        from ..train.loop import needs_build

        if needs_build(self):
            raise ConfigError(f"count_params() of {type(self).__name__}: the model has no weights yet.",
                              expected="a built model", received="layers still waiting for their first batch",
                              fix="Start a Sequential with tj.layers.Input(shape), pass input_shape=..., call "
                                  "model.build(input_shape), or fit/call the model once.")
        return sum(p.numel() for p in self.parameters())

    @property
    def history(self):
        """The `History` of the last `fit` (None before the model is compiled)."""
        learner = self.__dict__.get("_learner")
        return None if learner is None else learner.history

    def regularization_loss(self) -> torch.Tensor | float:
        """The sum of the layers' `kernel_regularizer` penalties (0.0 when none has one)."""
        from ..layers import regularization_loss

        return regularization_loss(self)

    def save(self, path) -> Path:
        """Save architecture and weights, no pickle: a folder, or one `.tujie` file; see `tujie.models.saving`."""
        from .saving import save_model

        return save_model(self, path)

    def save_weights(self, path) -> Path:
        """Save the weights alone to a safetensors file (atomically)."""
        from .saving import save_weights

        return save_weights(self, path)

    def load_weights(self, path) -> Model:
        """Load weights saved by `save_weights` (names and shapes checked first). Returns self."""
        from .saving import load_weights

        load_weights(self, path)
        return self


@register_container
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
        self._names: dict[str, int] = {}
        for layer in self:
            self._unique_name(layer)
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self._build_from_first_layer()

    def _unique_name(self, layer: nn.Module) -> None:
        """Keras-style unique names: dense, dense_1, ..."""
        if hasattr(layer, "name") and isinstance(layer.name, str):
            base = layer.name
            n = self._names.get(base, 0)
            self._names[base] = n + 1
            layer.name = base if n == 0 else f"{base}_{n}"

    def _build_from_first_layer(self) -> None:
        """Create the weights at once when the input is declared: `Input(shape)`, `input_shape=` here or on the first layer."""
        from ..layers import Input

        first = self[0] if len(self) else None
        dtype = None
        if isinstance(first, Input):
            self.input_shape, dtype = self.input_shape or first.shape, getattr(torch, first.dtype)
        elif self.input_shape is None and getattr(first, "input_shape", None) is not None:
            self.input_shape = tuple(first.input_shape)
        if self.input_shape is not None:
            self.__dict__["_input_dtype"] = dtype
            self.build(self.input_shape, dtype)

    def add(self, layer: nn.Module) -> Sequential:
        """Append a layer (Keras' `model.add`); an `Input` or a first layer with `input_shape=` builds the model."""
        self.append(layer)
        self._unique_name(layer)
        if len(self) == 1:
            self._build_from_first_layer()
        elif self.input_shape is not None:  # a built model stays built: size the new layer now
            self.build(self.input_shape, self.__dict__.get("_input_dtype"))
        return self

