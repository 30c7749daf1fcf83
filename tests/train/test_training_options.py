"""The Learner's training options: penalties, constraints, clipping, accumulation, precision, EMA, schedules, logs."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tujie as tj
from tujie.errors import ConfigError
from tujie.train import GradientStats, LearningRateLogger, get_scheduler


def blobs(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    return centers[y] + torch.randn(n, 2, generator=g) * 0.8, y


def net(seed=0, width=32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, 3))


def weight_norm(model):
    return sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1).sqrt().item()


class Spy(tj.Callback):
    """Calls `check(learner)` after every batch (gradients are still there: they are zeroed before the next backward)."""

    def __init__(self, check):
        self.check, self.calls = check, 0

    def on_train_batch_end(self, learner, step, logs):
        self.check(learner)
        self.calls += 1


def test_l1_l2_penalties_follow_the_formula_and_shrink_the_weights():
    x, y = blobs()
    plain = tj.Learner(net(), optimizer="sgd", lr=0.2)
    plain.fit((x, y), epochs=8, batch_size=32, verbose=0)
    learner = tj.Learner(net(), optimizer="sgd", lr=0.2, l1=1e-3, l2=1e-2)
    learner.fit((x, y), epochs=8, batch_size=32, verbose=0)
    weights = [p for p in learner.model.parameters() if p.ndim > 1]  # biases are not penalised
    expected = 1e-3 * sum(w.abs().sum() for w in weights) + 1e-2 * sum(w.pow(2).sum() for w in weights)
    assert learner.penalty().item() == pytest.approx(expected.item(), rel=1e-6)
    assert weight_norm(learner.model) < 0.9 * weight_norm(plain.model)
    # the logged loss is the data loss, comparable with val_loss: evaluating gives the same number
    assert learner.evaluate((x, y), verbose=0)["loss"] < 1.0


def test_label_smoothing_is_set_on_cross_entropy_and_refused_elsewhere():
    learner = tj.Learner(net(), label_smoothing=0.1)
    assert learner.loss_fn.label_smoothing == 0.1
    out, y = torch.randn(8, 3), torch.randint(0, 3, (8,))
    assert learner.loss_fn(out, y).item() == pytest.approx(F.cross_entropy(out, y, label_smoothing=0.1).item())
    with pytest.raises(ConfigError, match="label_smoothing applies to the cross-entropy loss only"):
        tj.Learner(net(), loss="mse", label_smoothing=0.1)


def test_max_norm_caps_every_units_incoming_weights():
    x, y = blobs()
    learner = tj.Learner(net(width=16), optimizer="sgd", lr=0.5, max_norm=0.5)
    learner.fit((x, y), epochs=3, batch_size=16, verbose=0)
    for w in (p for p in learner.model.parameters() if p.ndim > 1):
        assert w.norm(dim=1).max().item() <= 0.5 + 1e-5
    free = tj.Learner(net(width=16), optimizer="sgd", lr=0.5)
    free.fit((x, y), epochs=3, batch_size=16, verbose=0)
    assert max(p.norm(dim=1).max().item() for p in free.model.parameters() if p.ndim > 1) > 0.5


def test_gradient_clipping_by_norm_logs_the_unclipped_norm_and_clips():
    x, y = blobs()
    seen = []

    def check(learner):
        total = torch.stack([p.grad.norm() for p in learner.model.parameters()]).norm().item()
        seen.append(total)

    learner = tj.Learner(net(), optimizer="sgd", lr=0.1, clip_grad_norm=0.05, callbacks=[Spy(check)])
    history = learner.fit((x * 20, y), epochs=2, batch_size=32, verbose=0)
    assert max(seen) <= 0.05 * (1 + 1e-4)
    assert history.epochs[0]["grad_norm"] > 0.05 and history.epochs[0]["grad_norm_max"] >= history.epochs[0]["grad_norm"]


def test_gradient_clipping_by_value_clamps_each_element():
    x, y = blobs()

    def check(learner):
        assert max(p.grad.abs().max().item() for p in learner.model.parameters()) <= 1e-3 + 1e-9

    spy = Spy(check)
    tj.Learner(net(), optimizer="sgd", clip_grad_value=1e-3, callbacks=[spy]).fit((x * 20, y), epochs=1, batch_size=32, verbose=0)
    assert spy.calls == 8


def test_gradient_accumulation_equals_one_big_batch():
    """Two half batches with accumulate=2 take exactly the step of one full batch (mean loss, SGD)."""
    x, y = blobs(128)
    big = tj.Learner(net(), optimizer="sgd", lr=0.3)
    big.fit((x, y), epochs=2, batch_size=32, shuffle=False, verbose=0)
    small = tj.Learner(net(), optimizer="sgd", lr=0.3, accumulate=2)
    small.fit((x, y), epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(big.model.parameters(), small.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert small.global_step == 16  # batches; the optimizer stepped 8 times, like big's


def test_accumulation_steps_the_scheduler_per_optimizer_step():
    x, y = blobs(64)
    learner = tj.Learner(net(), optimizer="sgd", lr=1.0, accumulate=2,
                         scheduler={"name": "step", "step_size": 1, "gamma": 0.5, "interval": "step"})
    learner.fit((x, y), epochs=1, batch_size=8, verbose=0)  # 8 batches = 4 optimizer steps
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.5 ** 4)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_returns_float32(precision):
    x, y = blobs()
    learner = tj.Learner(net(), optimizer="adam", lr=0.05, precision=precision)
    history = learner.fit((x, y), epochs=4, batch_size=32, verbose=0)
    assert all(math.isfinite(e["loss"]) for e in history.epochs)
    assert learner.predict(x).dtype == torch.float32
    assert learner.evaluate((x, y), verbose=0)["accuracy"] > 0.9
    assert (learner.scaler is not None) == (precision == "fp16")


def test_ema_weights_are_the_running_average_and_replace_the_model_at_the_end():
    x, y = blobs(64)
    raw = []
    learner = tj.Learner(net(), optimizer="sgd", lr=0.5, ema=0.5,
                         callbacks=[Spy(lambda l: raw.append([p.detach().clone() for p in l.model.parameters()]))])
    learner.fit((x, y), epochs=1, batch_size=16, verbose=0)  # 4 steps
    # AveragedModel's EMA: the first step copies, then ema = 0.5 * ema + 0.5 * new
    expected = raw[0]
    for step in raw[1:]:
        expected = [0.5 * e + 0.5 * s for e, s in zip(expected, step)]
    for got, want in zip(learner.model.parameters(), expected):
        torch.testing.assert_close(got, want)
    assert learner.eval_model is learner.ema.module
    assert not torch.equal(next(learner.model.parameters()), raw[-1][0])


def test_ema_state_survives_a_checkpoint(tmp_path):
    x, y = blobs(64)
    learner = tj.Learner(net(), optimizer="sgd", lr=0.5, ema=0.9)
    learner.fit((x, y), epochs=1, batch_size=16, verbose=0)
    learner.save_checkpoint(tmp_path / "last.safetensors")
    again = tj.Learner(net(seed=1), optimizer="sgd", lr=0.5, ema=0.9)
    again.load_checkpoint(tmp_path / "last.safetensors", (x[:2], y[:2]))
    for a, b in zip(learner.ema.state_dict().values(), again.ema.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_gan_optimizer_state_is_saved_and_restored(tmp_path):
    from tujie.models.gan import gan

    torch.manual_seed(0)
    images = torch.rand(32, 1, 28, 28) * 2 - 1
    learner = tj.Learner(gan(latent_dim=8), loss=None, optimizer=None, metrics=())
    learner.fit(images, epochs=1, batch_size=16, verbose=0)
    learner.save_checkpoint(tmp_path / "gan.safetensors")
    torch.manual_seed(1)
    again = tj.Learner(gan(latent_dim=8), loss=None, optimizer=None, metrics=())
    again.load_checkpoint(tmp_path / "gan.safetensors", images[:2])
    saved = learner.model.optimizer_d.state_dict()["state"]
    restored = again.model.optimizer_d.state_dict()["state"]
    assert saved.keys() == restored.keys() and len(saved) > 0
    for pid in saved:
        torch.testing.assert_close(saved[pid]["exp_avg"], restored[pid]["exp_avg"])


def test_mixup_trains_through_the_learner_with_soft_targets():
    from tujie.data.mixing import MixUp

    x, y = blobs()
    learner = tj.Learner(net(), optimizer="adam", lr=0.05, mixing=MixUp(alpha=0.4, num_classes=3, seed=0))
    history = learner.fit((x, y), epochs=6, batch_size=32, verbose=0)
    assert 0.0 <= history.epochs[-1]["accuracy"] <= 1.0
    assert learner.evaluate((x, y), verbose=0)["accuracy"] > 0.9


def test_learning_rate_and_gradient_logs(tmp_path):
    x, y = blobs(64)
    callbacks = [LearningRateLogger(tmp_path / "schedule.json"), GradientStats(tmp_path / "grad_stats.jsonl", every=2)]
    learner = tj.Learner(net(), optimizer="sgd", lr=0.1, callbacks=callbacks,
                         scheduler={"name": "cosine", "interval": "step", "warmup": 2})
    learner.fit((x, y), epochs=2, batch_size=16, verbose=0)  # 8 steps
    schedule = json.loads((tmp_path / "schedule.json").read_text())
    assert schedule["step"] == list(range(1, 9)) and schedule["steps_per_epoch"] == 4
    assert schedule["lr"][0] < schedule["lr"][1] < schedule["lr"][2] and schedule["lr"][-1] < schedule["lr"][2]
    lines = [json.loads(line) for line in (tmp_path / "grad_stats.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4, 6, 8]
    assert set(lines[0]["layers"]) == {"0.weight", "2.weight"}
    assert all(v["grad_norm"] > 0 and v["weight_norm"] > 0 for v in lines[0]["layers"].values())


def test_warm_restarts_jump_back_up():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched, _ = get_scheduler({"name": "cosine_restarts", "T_0": 3}, opt, epochs=9, steps_per_epoch=1)
    lrs = []
    for _ in range(7):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == 1.0 and lrs[2] < lrs[1] < lrs[0] and lrs[3] == pytest.approx(1.0) and lrs[6] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["onecycle", "plateau"])
def test_warmup_is_refused_where_it_does_not_apply(name):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ConfigError, match="does not take a `warmup`"):
        get_scheduler({"name": name, "warmup": 2}, opt, epochs=3, steps_per_epoch=2)


@pytest.mark.parametrize("kwargs, message", [
    ({"accumulate": 0}, "accumulate"), ({"ema": 1.5}, "ema"), ({"precision": "fp8"}, "Unknown precision"),
    ({"l2": -1.0}, "l2"), ({"clip_grad_norm": 0}, "clip_grad_norm"), ({"max_norm": -2}, "max_norm"),
    ({"label_smoothing": 1.0}, "label_smoothing")])
def test_bad_training_options_are_refused_with_the_name(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        tj.Learner(net(), **kwargs)


def test_a_metric_that_does_not_fit_the_task_is_refused():
    with pytest.raises(ConfigError, match="Metric 'accuracy' does not fit a regression task"):
        tj.Learner(nn.Linear(3, 1), loss="mse", metrics=["accuracy"])
    with pytest.raises(ConfigError, match="Metric 'mae' does not fit a classification task"):
        tj.Learner(net(), loss="cross_entropy", metrics=["accuracy", "mae"])
    assert tj.Learner(nn.Linear(3, 1), loss="mse").metric_names == ["mae"]  # the task's own default


def test_recipe_augment_lists_route_each_transform_and_name_the_valid_ones():
    from tujie.data.mixing import MixUp
    from tujie.train.builders import build_batch_transforms

    augment, mixing = build_batch_transforms(["horizontal_flip", {"mixup": {"alpha": 0.4}}], num_classes=10)
    assert augment is not None and isinstance(mixing, MixUp) and mixing.num_classes == 10
    augment, mixing = build_batch_transforms([{"token_dropout": {"p": 0.2}}])
    assert mixing is None and augment(torch.tensor([[5, 6, 7, 0]])).shape == (1, 4)
    with pytest.raises(ConfigError, match="Unknown augmentation 'mixpu'.*mixup"):
        build_batch_transforms(["mixpu"])


def test_evaluate_with_ema_runs_the_ema_copys_own_eval_step():
    class ReportsItsWeight(nn.Linear):  # trained by the default step, evaluated by its own
        def eval_step(self, batch, learner):
            return {"w": self.weight.detach().sum()}

    x = torch.ones(8, 1)
    learner = tj.Learner(ReportsItsWeight(1, 1, bias=False), loss="mse", optimizer="sgd", lr=0.1, ema=0.9)
    learner.fit((x, 2 * x), epochs=1, batch_size=4, verbose=0)
    learner.model.weight.data.fill_(123.0)  # the raw weights now differ from the EMA copy's
    assert learner.evaluate((x, x), verbose=0)["w"] == pytest.approx(learner.ema.module.weight.detach().sum().item())
