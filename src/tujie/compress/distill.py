"""Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network").

A large trained teacher knows more than its arg-max: which wrong answers are almost right (this 2
looks like a 3, hardly like a 7). Softened by a temperature T, its output distribution carries
that "dark knowledge", and a small student trained to match it learns more from the same images
than from the hard labels alone. The student's objective (the paper's section 2):

    alpha * T² * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, y)

The gradient of the soft term scales as 1/T², so multiplying it by T² keeps the two terms' weights
comparable whatever T is chosen.

- `DistillationLoss(temperature, alpha)`: that objective on (student logits, teacher logits, labels).
- `Distiller(student, teacher, loss)`: an `nn.Module` with its own `train_step` / `eval_step`, so
  `tj.Learner(Distiller(...)).fit(data)` trains the student through tujie's loop (clipping,
  schedules, callbacks). The teacher is frozen in eval mode and kept outside the module tree:
  never in the optimizer, never in the state dict.
- `distill(teacher, student, train, ...)`: all of it in one call, returning the trained student.

Teacher logits are computed once per dataset (`precompute=True`, the default when the training data
are in-memory arrays and no augmentation is asked for): every epoch then costs only the student's
forward and backward. With augmentation the teacher must see each augmented batch, so it runs live.

Example:
    >>> import torch
    >>> loss = DistillationLoss(temperature=4.0, alpha=0.9)
    >>> student, teacher, y = torch.randn(8, 10), torch.randn(8, 10), torch.randint(0, 10, (8,))
    >>> bool(loss(teacher, teacher, y) < loss(student, teacher, y))   # matching the teacher costs less
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, DataError

__all__ = ["DistillationLoss", "Distiller", "distill", "teacher_logits"]


class DistillationLoss(nn.Module):
    """Hinton et al.'s soft-target loss mixed with the hard-label cross-entropy.

    Args:
        temperature: T > 0; the paper used 1-20 (T = 20 for its MNIST nets); higher T softens more.
        alpha: weight of the soft term in [0, 1]; 0 is plain cross-entropy on the labels.

    Input: student logits (batch, classes), teacher logits (batch, classes), labels (batch,).
    Output: a scalar, `alpha * T² * KL(p_teacher || p_student) + (1 - alpha) * CE(student, y)`,
    the KL averaged over the batch. `parts(...)` returns `(total, soft, hard)`.

    Example:
        >>> s, t, y = torch.zeros(2, 3), torch.zeros(2, 3), torch.tensor([0, 1])
        >>> round(float(DistillationLoss(alpha=0.5)(s, t, y)), 4)   # equal logits: KL 0, CE log 3, halved
        0.5493
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9):
        super().__init__()
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ConfigError("Invalid value received for `temperature` of DistillationLoss.", expected="a number > 0 (Hinton et al. used 1 to 20)",
                              received=f"temperature={temperature!r}", fix="Pass temperature=4.0, for example.")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise ConfigError("Invalid value received for `alpha` of DistillationLoss.", expected="a weight between 0 and 1",
                              received=f"alpha={alpha!r}", fix="Pass alpha=0.9 (mostly soft targets), or 0 for the labels alone.")
        self.temperature, self.alpha = float(temperature), float(alpha)

    def parts(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor):
        """`(total, soft, hard)`: the objective, the T²-scaled KL term and the cross-entropy."""
        if student_logits.shape != teacher_logits.shape:
            raise DataError("The student's and the teacher's logits have different shapes.",
                            expected="both (batch, classes) with the same classes",
                            received=f"student {tuple(student_logits.shape)}, teacher {tuple(teacher_logits.shape)}",
                            fix="Give the student the teacher's number of outputs.")
        t = self.temperature
        student_log_p = F.log_softmax(student_logits.float() / t, dim=-1)        # (batch, classes)
        teacher_log_p = F.log_softmax(teacher_logits.float() / t, dim=-1)        # (batch, classes)
        soft = F.kl_div(student_log_p, teacher_log_p, log_target=True, reduction="batchmean") * t * t
        hard = F.cross_entropy(student_logits.float(), y.long())
        return self.alpha * soft + (1.0 - self.alpha) * hard, soft, hard

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.parts(student_logits, teacher_logits, y)[0]

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"


class Distiller(nn.Module):
    """A student and its frozen teacher, trained by `tj.Learner` through its own `train_step`.

    Args:
        student: the model to train (its parameters are the only ones the optimizer sees).
        teacher: a trained model; put in eval mode, never updated, not registered as a submodule
            (so it is neither in `parameters()` nor in `state_dict()`).
        loss: a `DistillationLoss` (default T = 4, alpha = 0.9).

    Batches are `(x, y)` (the teacher runs on each, after the Learner's `augment`) or
    `(x, teacher_logits, y)` (precomputed, see `teacher_logits`). The training logs are `loss`
    (the distillation objective), `soft_loss`, `hard_loss` and `accuracy`; `eval_step` reports
    the student's plain cross-entropy as `loss` and its `accuracy`, comparable with a student trained
    alone. `forward` is the student's (one input), so `learner.predict` gives the student's logits.

    Example:
        >>> import torch, tujie as tj
        >>> teacher, student = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
        >>> x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
        >>> history = tj.Learner(Distiller(student, teacher), optimizer="adam").fit((x, y), epochs=1, verbose=0)
        >>> sorted(k for k in history.epochs[-1] if k.endswith("loss"))
        ['hard_loss', 'loss', 'soft_loss']
    """

    def __init__(self, student: nn.Module, teacher: nn.Module, loss: DistillationLoss | None = None):
        super().__init__()
        if student is teacher:
            raise ConfigError("The student and the teacher are the same model.", expected="two different models",
                              received=f"student is teacher ({type(student).__name__})", fix="Pass a fresh, smaller student.")
        self.student = student
        self.__dict__["teacher"] = teacher.eval()  # kept out of the module tree: no optimizer, no state dict, no .train()
        self.loss = loss if loss is not None else DistillationLoss()

    def forward(self, x: torch.Tensor, teacher_logits: torch.Tensor | None = None) -> torch.Tensor:
        return self.student(x)  # a precomputed batch's logits reach forward only when the Learner sizes lazy layers

    @torch.no_grad()
    def teacher_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen teacher's logits for a batch, on the batch's device (the teacher follows it there)."""
        if self.teacher.training:  # someone switched it back: dropout would make the targets noisy
            self.teacher.eval()
        device = next((p.device for p in self.teacher.parameters()), x.device)
        if device != x.device:
            self.teacher.to(x.device)
        return self.teacher(x)

    def train_step(self, batch, learner) -> dict:
        """One optimizer step of the student on the distillation objective, with the Learner's options."""
        x, given, y = _split_batch(batch)
        if learner.augment is not None:
            if given is not None:
                raise ConfigError("Precomputed teacher logits cannot be used with augmentation.",
                                  expected="(x, y) batches, so the teacher sees each augmented image",
                                  received="(x, teacher_logits, y) batches and Learner(augment=...)",
                                  fix="Pass precompute=False to distill(), or drop the augmentation.")
            x = learner.augment(x)
        with learner.device_autocast:
            teacher = given if given is not None else self.teacher_logits(x)    # (batch, classes)
            student = self.student(x)                                           # (batch, classes)
            total, soft, hard = self.loss.parts(student, teacher, y)
        logs = learner.backward(total)
        return {**logs, "loss": total.detach(), "soft_loss": soft.detach(), "hard_loss": hard.detach(),
                "accuracy": (student.argmax(-1) == y).float().mean()}

    @torch.no_grad()
    def eval_step(self, batch, learner=None) -> dict:
        """The student alone on a labelled batch: its cross-entropy (`loss`) and `accuracy`."""
        x, _, y = _split_batch(batch)
        logits = self.student(x)
        return {"loss": F.cross_entropy(logits.float(), y.long()), "accuracy": (logits.argmax(-1) == y).float().mean()}


def _split_batch(batch):
    """`(x, y)` → (x, None, y); `(x, teacher_logits, y)` → as it is."""
    parts = tuple(batch)
    if len(parts) == 2:
        return parts[0], None, parts[1]
    if len(parts) == 3:
        return parts
    raise DataError("A distillation batch has the wrong number of parts.", expected="(x, y) or (x, teacher_logits, y)",
                    received=f"{len(parts)} tensors", fix="Pass (x, y) training data.")


@torch.no_grad()
def teacher_logits(teacher: nn.Module, x: torch.Tensor, *, batch_size: int = 1024) -> torch.Tensor:
    """The teacher's logits for every input, computed once in eval mode, on the teacher's device, returned on the CPU.

    Example:
        >>> teacher_logits(torch.nn.Linear(4, 3), torch.randn(10, 4), batch_size=4).shape
        torch.Size([10, 3])
    """
    was_training = teacher.training
    teacher.eval()
    device = next((p.device for p in teacher.parameters()), torch.device("cpu"))
    try:
        return torch.cat([teacher(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)])
    finally:
        teacher.train(was_training)


def _in_memory(train):
    """`(x, y)` tensors when `train` is held in memory (a tuple, an ArrayDataset, a bundle), else None."""
    from ..data.arrays import ArrayDataset

    if hasattr(train, "train") and hasattr(train, "val"):  # a bundle from tj.datasets.load
        train = train.train
    if isinstance(train, ArrayDataset) and train.y is not None:
        return train.x, train.y
    if isinstance(train, (tuple, list)) and len(train) == 2 and all(hasattr(t, "shape") for t in train):
        data = ArrayDataset(*train)
        return data.x, data.y
    return None


def distill(teacher: nn.Module, student: nn.Module, train, *, temperature: float = 4.0, alpha: float = 0.9,
            epochs: int = 10, batch_size: int = 128, lr: float | None = 1e-3, optimizer="adam", validation_data=None,
            precompute: bool | None = None, seed: int = 0, verbose: int = 0, learner_options: dict | None = None):
    """Train `student` on `train` with soft targets from `teacher` (Hinton et al. 2015). Returns `(student, history)`.

    Args:
        teacher: a trained model (set to eval mode; never updated).
        student: the model to train (trained in place and returned).
        train: `(x, y)` arrays/tensors, an `ArrayDataset`, a dataset bundle (its train split; its
            validation split is used when `validation_data` is None), a DataLoader or an iterable of batches.
        temperature, alpha: of `DistillationLoss`.
        epochs, batch_size, lr, optimizer: the student's training.
        validation_data: evaluated after every epoch: `val_loss` (the student's cross-entropy) and `val_accuracy`.
        precompute: compute the teacher's logits once for the whole training set (None: whenever the
            data are in memory and `learner_options` has no `augment`). Same result, the teacher's
            forward paid once instead of every epoch.
        seed: seeds the weights' draw order and the shuffling.
        learner_options: more `tj.Learner` keywords (scheduler, callbacks, augment, clip_grad_norm ...).

    Example:
        >>> import torch
        >>> x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
        >>> student, history = distill(torch.nn.Linear(4, 3), torch.nn.Linear(4, 3), (x, y), epochs=2, batch_size=16)
        >>> len(history), isinstance(student, torch.nn.Linear)
        (2, True)
    """
    from ..train.loop import Learner
    from ..utils import seed_everything

    options = dict(learner_options or {})
    in_memory = _in_memory(train)
    if precompute is None:
        precompute = in_memory is not None and options.get("augment") is None
    if precompute and in_memory is None:
        raise ConfigError("Teacher logits can only be precomputed for in-memory training data.",
                          expected="(x, y) tensors or arrays, an ArrayDataset or a dataset bundle",
                          received=type(train).__name__, fix="Pass precompute=False (the teacher then runs on every batch).")
    if precompute and options.get("augment") is not None:
        raise ConfigError("Precomputed teacher logits cannot be used with augmentation.",
                          expected="precompute=False when learner_options has `augment`",
                          received="precompute=True and augment=...", fix="Pass precompute=False.")
    if validation_data is None and hasattr(train, "train") and hasattr(train, "val"):
        validation_data = train.val
    data = train
    if precompute:
        x, y = in_memory
        data = (x, teacher_logits(teacher, x), y)  # (N, ...), (N, classes), (N,)
    seed_everything(seed)
    distiller = Distiller(student, teacher, DistillationLoss(temperature, alpha))
    learner = Learner(distiller, loss="cross_entropy", optimizer=optimizer, lr=lr, seed=seed, **options)
    history = learner.fit(data, epochs=epochs, batch_size=batch_size, validation_data=validation_data, verbose=verbose)
    return student, history
