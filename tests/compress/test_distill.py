"""Distillation (Hinton et al. 2015): the loss against its formula, the frozen teacher, a student that learns."""

import math

import pytest
import torch
import torch.nn.functional as F

import tujie as tj
from tujie.compress.distill import DistillationLoss, Distiller, distill, teacher_logits
from tujie.errors import ConfigError


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32) / 16  # (1797, 64)
    y = torch.tensor(data.target)
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


@pytest.fixture(scope="module")
def teacher(digits):
    tj.seed_everything(0)
    model = tj.models.create("mlp", hidden=(128,))
    tj.Learner(model, optimizer="adam", lr=3e-3).fit(digits[0], epochs=6, batch_size=64, verbose=0)
    return model.eval()


def test_the_loss_is_hintons_formula_on_hand_made_logits():
    student = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    teacher = torch.tensor([[3.0, 1.0, -2.0], [-1.0, 0.0, 4.0]])
    y = torch.tensor([0, 2])
    t, alpha = 2.0, 0.7
    kl = 0.0
    for s_row, t_row in zip(student.tolist(), teacher.tolist()):
        zs = sum(math.exp(v / t) for v in s_row)
        zt = sum(math.exp(v / t) for v in t_row)
        for s_v, t_v in zip(s_row, t_row):
            p_t, p_s = math.exp(t_v / t) / zt, math.exp(s_v / t) / zs
            kl += p_t * math.log(p_t / p_s)
    kl /= 2  # averaged over the batch
    ce = sum(-math.log(math.exp(row[label]) / sum(math.exp(v) for v in row)) for row, label in zip(student.tolist(), [0, 2])) / 2
    expected = alpha * t * t * kl + (1 - alpha) * ce
    total, soft, hard = DistillationLoss(temperature=t, alpha=alpha).parts(student, teacher, y)
    assert float(total) == pytest.approx(expected, rel=1e-5)
    assert float(soft) == pytest.approx(t * t * kl, rel=1e-5)
    assert float(hard) == pytest.approx(ce, rel=1e-5)


def test_the_t_squared_factor_keeps_the_soft_gradients_scale_at_high_temperature():
    # Hinton et al. §2.1: for large T the soft gradient is (z - v) / (N T²); times T² it no longer depends on T
    torch.manual_seed(0)
    teacher = torch.randn(4, 10)
    teacher -= teacher.mean(-1, keepdim=True)
    grads = []
    for t in (20.0, 40.0):
        student = torch.randn(4, 10, generator=torch.Generator().manual_seed(1))
        student = (student - student.mean(-1, keepdim=True)).requires_grad_()
        DistillationLoss(temperature=t, alpha=1.0)(student, teacher, torch.zeros(4, dtype=torch.long)).backward()
        grads.append(student.grad)
    expected = (student.detach() - teacher) / (4 * 10)  # (z - v) / (N · classes)
    def relative(a, b):
        return float((a - b).norm() / b.norm())

    assert relative(grads[0], grads[1]) < 0.03   # the same scale at T = 20 and T = 40 (4× apart without T²)
    assert relative(grads[1], expected) < 0.03


def test_alpha_zero_is_plain_cross_entropy():
    student, teacher, y = torch.randn(6, 5), torch.randn(6, 5), torch.randint(0, 5, (6,))
    loss = DistillationLoss(temperature=3.0, alpha=0.0)(student, teacher, y)
    assert float(loss) == pytest.approx(float(F.cross_entropy(student, y)), rel=1e-6)


@pytest.mark.parametrize("arguments", [{"temperature": 0}, {"temperature": -1.0}, {"alpha": 1.5}, {"alpha": -0.1}])
def test_bad_temperature_or_alpha_is_refused(arguments):
    with pytest.raises(ConfigError, match="temperature|alpha"):
        DistillationLoss(**arguments)


def test_the_teacher_is_frozen_never_optimized_and_not_saved(digits, teacher):
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    student = tj.models.create("mlp", hidden=(16,))
    distiller = Distiller(student, teacher)
    learner = tj.Learner(distiller, optimizer="adam", lr=1e-2)
    learner.fit(digits[0], epochs=1, batch_size=128, verbose=0)
    optimized = {id(p) for group in learner.optimizer.param_groups for p in group["params"]}
    assert not optimized & {id(p) for p in teacher.parameters()}
    assert optimized == {id(p) for p in student.parameters()}
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    assert not teacher.training
    assert all(k.startswith("student.") for k in distiller.state_dict())


def test_the_distilled_student_learns_and_precomputed_logits_change_nothing(digits, teacher):
    train, test = digits
    runs = []
    for precompute in (True, False):
        student = tj.models.create("mlp", hidden=(32,))
        student, history = distill(teacher, student, train, temperature=4.0, alpha=0.9, epochs=8, batch_size=64,
                                   lr=3e-3, validation_data=test, precompute=precompute)
        runs.append(history.epochs[-1])
    assert runs[0]["val_accuracy"] > 0.8  # ten classes: chance is 0.1
    assert runs[0]["val_loss"] == pytest.approx(runs[1]["val_loss"], rel=1e-4)
    assert history["val_loss"][-1] < history["val_loss"][0]


def test_teacher_logits_are_computed_once_in_eval_mode():
    teacher = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3)).train()
    x = torch.randn(10, 4)
    first, second = teacher_logits(teacher, x, batch_size=3), teacher_logits(teacher, x)
    assert torch.allclose(first, second, atol=1e-6)  # dropout off
    assert teacher.training  # its mode given back


def test_precomputed_logits_with_augmentation_are_refused(digits, teacher):
    with pytest.raises(ConfigError, match="augmentation"):
        distill(teacher, tj.models.create("mlp", hidden=(8,)), digits[0], epochs=1, precompute=True,
                learner_options={"augment": lambda x: x})


def test_the_student_cannot_be_its_own_teacher(teacher):
    with pytest.raises(ConfigError, match="same model"):
        Distiller(teacher, teacher)
