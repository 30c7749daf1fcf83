"""Keras names: tj.callbacks, tj.optimizers, tj.losses, each checked against torch or by real training."""

import importlib
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tujie as tj
from tujie import callbacks, losses, optimizers
from tujie.errors import ConfigError
from tujie.i18n import language
from tujie.train.losses import get_loss, loss_kind

from .test_loop import blobs


# ------------------------------------------------------------------ losses against hand computations
def _probs(n=6, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g).softmax(-1), torch.randint(0, k, (n,), generator=g)


def test_sparse_categorical_crossentropy_reads_probabilities_by_default():
    probs, y = _probs()
    expected = F.nll_loss(probs.clamp(1e-7, 1 - 1e-7).log(), y)  # Keras: log of the clamped probabilities, then NLL
    assert losses.SparseCategoricalCrossentropy()(probs, y).item() == pytest.approx(expected.item(), rel=1e-6)
    assert losses.sparse_categorical_crossentropy(probs, y).item() == pytest.approx(expected.item(), rel=1e-6)
    assert get_loss("sparse_categorical_crossentropy")(probs, y.unsqueeze(1)).item() == pytest.approx(expected.item(), rel=1e-6)
    # a zero probability on the true class is clamped, not infinite
    zero = losses.SparseCategoricalCrossentropy()(torch.tensor([[1.0, 0.0]]), torch.tensor([1]))
    assert zero.item() == pytest.approx(-math.log(1e-7), rel=1e-5)


def test_sparse_categorical_crossentropy_from_logits_is_torch_cross_entropy():
    logits, y = torch.randn(5, 3), torch.randint(0, 3, (5,))
    expected = F.cross_entropy(logits, y)
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(logits, y).item() == pytest.approx(expected.item(), rel=1e-6)
    assert losses.sparse_categorical_crossentropy(logits, y, from_logits=True).item() == pytest.approx(expected.item(), rel=1e-6)


def test_categorical_crossentropy_one_hot_and_soft_targets():
    probs, y = _probs()
    onehot = F.one_hot(y, 4).float()
    soft = torch.rand(6, 4).softmax(-1)
    log_p = probs.clamp(1e-7, 1 - 1e-7).log()
    for target in (onehot, soft):
        expected = -(target * log_p).sum(-1).mean()
        assert losses.CategoricalCrossentropy()(probs, target).item() == pytest.approx(expected.item(), rel=1e-6)
        assert get_loss("categorical_crossentropy")(probs, target).item() == pytest.approx(expected.item(), rel=1e-6)
        logits = torch.randn(6, 4)
        expected_logits = -(target * logits.log_softmax(-1)).sum(-1).mean()
        got = losses.CategoricalCrossentropy(from_logits=True)(logits, target)
        assert got.item() == pytest.approx(expected_logits.item(), rel=1e-5)
    # the sparse loss takes mixup's soft targets as well (a recipe may mix with any cross-entropy)
    assert losses.SparseCategoricalCrossentropy()(probs, soft).item() == pytest.approx(-(soft * log_p).sum(-1).mean().item(), rel=1e-6)
    smoothed = onehot * 0.9 + 0.1 / 4
    expected = -(smoothed * log_p).sum(-1).mean()
    assert losses.CategoricalCrossentropy(label_smoothing=0.1)(probs, onehot).item() == pytest.approx(expected.item(), rel=1e-6)


def test_binary_crossentropy_probabilities_and_logits():
    logits = torch.randn(8, 1)
    p, y = logits.sigmoid(), torch.randint(0, 2, (8,))
    t = y.float().reshape(8, 1)
    expected = -(t * p.clamp(1e-7, 1 - 1e-7).log() + (1 - t) * (1 - p).clamp(1e-7, 1 - 1e-7).log()).mean()
    assert losses.BinaryCrossentropy()(p, y).item() == pytest.approx(expected.item(), rel=1e-5)
    assert get_loss("binary_crossentropy")(p, y).item() == pytest.approx(expected.item(), rel=1e-5)
    expected_logits = F.binary_cross_entropy_with_logits(logits, t)
    assert losses.BinaryCrossentropy(from_logits=True)(logits, y).item() == pytest.approx(expected_logits.item(), rel=1e-6)
    assert losses.binary_crossentropy(logits, y, from_logits=True).item() == pytest.approx(expected_logits.item(), rel=1e-6)


def test_keras_losses_report_probabilities_or_logits():
    # kind: the metrics' task (unchanged vocabulary); task: whether the outputs are probabilities or logits
    assert loss_kind(get_loss("sparse_categorical_crossentropy")) == "multiclass"
    assert get_loss("sparse_categorical_crossentropy").task == "multiclass_probs"
    assert get_loss("categorical_crossentropy").task == "multiclass_probs"
    assert get_loss("SparseCategoricalCrossentropy", from_logits=True).task == "multiclass_logits"
    assert loss_kind(losses.BinaryCrossentropy()) == losses.BinaryCrossentropy().task == "binary_probs"
    assert loss_kind(losses.BinaryCrossentropy(from_logits=True)) == "binary_logits"
    fn = losses.sparse_categorical_crossentropy  # the function as a loss says it too
    assert (loss_kind(fn), fn.task) == ("multiclass", "multiclass_probs")
    assert loss_kind(get_loss("cross_entropy")) == "multiclass"  # unchanged: torch's name reads logits


def test_keras_losses_can_weight_samples():
    probs, y = _probs()
    per_sample = losses.SparseCategoricalCrossentropy(reduction="none")(probs, y)
    assert per_sample.shape == (6,) and per_sample.mean().item() == pytest.approx(losses.SparseCategoricalCrossentropy()(probs, y).item())
    binary = losses.BinaryCrossentropy(reduction="none")(torch.tensor([[0.9], [0.2]]), torch.tensor([1, 0]))
    assert torch.allclose(binary, -torch.tensor([[0.9], [0.8]]).log())


def test_logits_given_to_a_probability_loss_are_refused():
    with pytest.raises(ConfigError, match="from_logits=True"):
        losses.SparseCategoricalCrossentropy()(torch.tensor([[2.0, -1.0]]), torch.tensor([0]))
    with pytest.raises(ConfigError, match="from_logits=True"):
        losses.BinaryCrossentropy()(torch.tensor([[3.0]]), torch.tensor([1]))
    with pytest.raises(ConfigError, match="torch's order"):  # Keras' (y_true, y_pred)
        losses.SparseCategoricalCrossentropy()(torch.tensor([0]), torch.tensor([[0.5, 0.5]]))


class SoftmaxNet(nn.Module):
    """A softmax inside `forward`, where no last-layer check can see it: only the loss says "probabilities"."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, x):
        return self.body(x).softmax(-1)  # (N, 3) probabilities


def test_probability_model_trains_with_the_keras_loss_object():
    x, y = blobs(256)
    torch.manual_seed(0)
    learner = tj.Learner(SoftmaxNet(), loss=losses.SparseCategoricalCrossentropy(), optimizer=optimizers.Adam(learning_rate=0.05),
                         metrics=[], device="cpu")
    history = learner.fit((x, y), epochs=4, batch_size=32, verbose=0)
    assert history["loss"][-1] < 0.2 < history["loss"][0]
    assert (learner.predict(x).argmax(-1) == y).float().mean() > 0.9


def test_predict_proba_keeps_the_probabilities_of_a_probability_loss():
    x, y = blobs(64)
    learner = tj.Learner(SoftmaxNet(), loss="sparse_categorical_crossentropy", device="cpu")
    learner.fit((x, y), epochs=1, verbose=0)
    assert torch.allclose(learner.predict_proba(x[:8]), learner.predict(x[:8]))  # not a softmax of the softmax


def test_softmax_model_trains_with_the_keras_loss_name():
    x, y = blobs(256)
    tj.seed_everything(0)
    model = tj.Sequential([tj.layers.Dense(16, activation="relu"), tj.layers.Dense(3, activation="softmax")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the loss says it reads probabilities: nothing to warn about
        model.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy")
    history = model.fit((x, y), epochs=4, batch_size=32, verbose=0)
    assert history["loss"][-1] < 0.2 < history["loss"][0]
    assert history["accuracy"][-1] > 0.9  # the metrics the task implies are kept
    proba = model.learner.predict_proba(x[:8])
    assert torch.allclose(proba, model.learner.predict(x[:8]))  # the softmax outputs, not a softmax of them
    assert (model.learner.predict(x).argmax(-1) == y).float().mean() > 0.9


# ------------------------------------------------------------------ optimizers
def test_keras_optimizer_made_before_the_model_builds_a_torch_optimizer():
    x, y = blobs(64)
    model = tj.Sequential([tj.layers.Dense(3)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.2, momentum=0.9, nesterov=True), loss="cross_entropy")
    model.fit((x, y), epochs=1, batch_size=16, verbose=0)
    opt = model.learner.optimizer
    assert isinstance(opt, torch.optim.SGD)
    assert (opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"], opt.param_groups[0]["nesterov"]) == (0.2, 0.9, True)


def test_keras_optimizer_arguments_map_onto_torch():
    params = [nn.Parameter(torch.zeros(2))]
    adam = optimizers.Adam(learning_rate=0.01, beta_1=0.8, epsilon=1e-6)(params)
    assert type(adam) is torch.optim.Adam and adam.defaults["betas"] == (0.8, 0.999) and adam.defaults["eps"] == 1e-6
    assert type(optimizers.Adam(weight_decay=0.1)(params)) is torch.optim.AdamW  # Keras' decay is decoupled
    assert optimizers.AdamW()(params).defaults["weight_decay"] == 0.004
    assert optimizers.RMSprop(rho=0.8)(params).defaults["alpha"] == 0.8
    assert optimizers.get(optimizers.RMSprop(rho=0.8).get_config()).options["rho"] == 0.8
    assert optimizers.Adam(lr=0.5).learning_rate == 0.5  # old Keras spelling
    with pytest.raises(ConfigError, match="beta1"):
        optimizers.Adam(beta1=0.9)
    with pytest.raises(ConfigError, match="Only one"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_keras_gradient_clipping_happens_before_the_step():
    w = nn.Parameter(torch.zeros(3))
    opt = optimizers.SGD(learning_rate=1.0, global_clipnorm=0.5)([w])
    w.grad = torch.tensor([30.0, 40.0, 0.0])  # norm 50
    opt.step()
    assert torch.linalg.vector_norm(w.detach()).item() == pytest.approx(0.5, rel=1e-5)
    v = nn.Parameter(torch.zeros(2))
    opt = optimizers.SGD(learning_rate=1.0, clipvalue=0.1)([v])
    v.grad = torch.tensor([5.0, -0.05])
    opt.step()
    assert torch.allclose(v.detach(), torch.tensor([-0.1, 0.05]))


# ------------------------------------------------------------------ callbacks
class ScriptedValLoss(tj.Callback):
    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, learner, epoch, logs):
        logs["val_loss"] = self.values[epoch - 1]


def _learner(*cbs, lr=0.1):
    return tj.Learner(nn.Linear(2, 3), optimizer="sgd", lr=lr, device="cpu", callbacks=list(cbs))


def test_reduce_lr_on_plateau_lowers_the_optimizer_rate(capsys):
    x, y = blobs(64)
    reduce = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=0.02, verbose=1)
    learner = _learner(ScriptedValLoss([1.0, 1.0, 1.0, 0.5, 0.6]), reduce)
    history = learner.fit((x, y), epochs=5, batch_size=16, verbose=0)
    # the lr column is the rate each epoch trained with: halved after each flat epoch, held at min_lr
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.025, 0.025])
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.02)
    assert "reducing learning rate to 0.05" in capsys.readouterr().out
    assert reduce.state_dict()["best"] == 0.5


def test_reduce_lr_on_plateau_cooldown_and_bad_factor():
    x, y = blobs(64)
    reduce = callbacks.ReduceLROnPlateau(factor=0.1, patience=1, cooldown=2)
    learner = _learner(ScriptedValLoss([1.0] * 5), reduce)
    history = learner.fit((x, y), epochs=5, batch_size=16, verbose=0)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])  # epochs 3-4 cool down, as in Keras
    with pytest.raises(ConfigError, match="factor"):
        callbacks.ReduceLROnPlateau(factor=2.0)


def test_learning_rate_scheduler_sets_the_rate_each_epoch_from_zero():
    x, y = blobs(64)
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return 0.1 * 0.5 ** epoch

    learner = _learner(callbacks.LearningRateScheduler(schedule), lr=0.3)
    history = learner.fit((x, y), epochs=3, batch_size=16, verbose=0)
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert seen[0] == (0, 0.3) and [e for e, _ in seen] == [0, 1, 2]
    one_argument = _learner(callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1)))
    assert one_argument.fit((x, y), epochs=2, batch_size=16, verbose=0)["lr"] == pytest.approx([0.01, 0.02])
    with pytest.raises(ConfigError, match="invalid rate"):
        _learner(callbacks.LearningRateScheduler(lambda epoch, lr: "fast")).fit((x, y), epochs=1, verbose=0)


def test_lambda_callback_calls_plain_functions_with_keras_signatures():
    x, y = blobs(64)
    events = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                                  on_epoch_end=lambda epoch, logs: events.append((epoch, round(logs["loss"], 6))),
                                  on_train_batch_end=lambda batch, logs: events.append(batch),
                                  on_train_end=lambda logs: events.append(("end", logs["epoch"])))
    history = _learner(cb).fit((x, y), epochs=2, batch_size=32, verbose=0)
    assert events == ["begin", 0, 1, (0, round(history["loss"][0], 6)), 0, 1, (1, round(history["loss"][1], 6)), ("end", 2)]
    with pytest.raises(ConfigError, match="on_predict_end"):
        callbacks.LambdaCallback(on_predict_end=print)


def test_terminate_on_nan_stops_training():
    x, y = blobs(64)
    x[5] = float("nan")  # the first batch's loss is NaN
    learner = _learner(callbacks.TerminateOnNaN())
    history = learner.fit((x, y), epochs=5, batch_size=16, shuffle=False, verbose=0)
    assert len(history) == 1 and learner.diverged and "became nan" in learner.stop_reason
    assert callbacks.TerminateOnNaN is tj.NaNGuard


# ------------------------------------------------------------------ the namespaces
@pytest.mark.parametrize("module", ["tujie.callbacks", "tujie.optimizers", "tujie.losses"])
def test_namespaces_export_what_they_list(module):
    mod = importlib.import_module(module)
    assert mod.__all__ and all(hasattr(mod, name) for name in mod.__all__)


def test_keras_callback_lines_are_translated():
    with language("zh"):
        line = tj.i18n._("Epoch {epoch}: ReduceLROnPlateau reducing learning rate to {lr}.")
    assert line != "Epoch {epoch}: ReduceLROnPlateau reducing learning rate to {lr}." and "{lr}" in line


@pytest.mark.parametrize("module", ["tujie.callbacks", "tujie.optimizers", "tujie.losses"])
def test_namespace_docstring_examples_run(module):
    import doctest

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and result.failed == 0
