"""The `adversarial` kind: how easily a model is fooled, and how adversarial training hardens it (chapter 19).

1. **Train** two models of the recipe's architecture on the same images: a plain one, and one trained
   on PGD examples at `adversarial.train_epsilon` (Madry et al. 2018: every batch is first attacked
   with `train_steps` PGD steps on the current weights, then trained on). `warmup_epochs` raise the
   training ε linearly from 0 (a small model trained at ε = 0.3 from the first batch often learns nothing).
2. **Attack** both on `test_limit` test images with FGSM and PGD (L∞, random start) at every ε of
   `epsilons`; ε is in pixel units of [0, 1] images (a normalised model is wrapped with its
   normalisation, `trust.adversarial.PixelSpace`, so the attack works on pixels).
3. **Report** robust accuracy against ε (both models, both attacks), adversarial examples with their
   amplified perturbations and predicted labels, and the training curves (clean and PGD test accuracy
   per epoch). Writes adversarial.json, adversarial_examples.safetensors, plain.safetensors and
   adversarial.safetensors.

Summary keys: `clean_accuracy_plain`, `robust_pgd_30_adversarial` (PGD at ε = 0.30), ...

Example:
    >>> from tujie import kinds
    >>> kinds.get("adversarial").section
    'adversarial'
"""

from __future__ import annotations

import time

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..errors import ConfigError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _img, _note, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register

ATTACKS = ("fgsm", "pgd")
MODELS = ("plain", "adversarial")
_MODEL_NAMES = {"plain": N_("plain model"), "adversarial": N_("adversarially trained model")}


class AdversarialConfig(Strict):
    epsilons: list[Float] = Field([0.0, 0.1, 0.2, 0.3], min_length=1, description="the attack radii (L∞, pixel units in [0, 1])")
    attacks: list[str] = Field(list(ATTACKS), min_length=1, description="fgsm, pgd")
    pgd_steps: Int = Field(20, ge=1, description="PGD steps when evaluating")
    pgd_step_size: Float = Field(0.01, gt=0.0, description="PGD's α when evaluating (at least 2.5·ε/steps is used)")
    train_epsilon: Float = Field(0.3, ge=0.0, le=1.0, description="adversarial training's ε")
    train_steps: Int = Field(7, ge=1, description="PGD steps per training batch")
    train_step_size: Float = Field(0.1, gt=0.0, description="PGD's α in training")
    plain_epochs: Int = Field(2, ge=1)
    adversarial_epochs: Int = Field(5, ge=1)
    warmup_epochs: Int = Field(1, ge=0, description="epochs over which the training ε rises linearly from 0")
    test_limit: Int = Field(1000, ge=1, description="test images attacked")
    monitor_limit: Int = Field(200, ge=1, description="test images attacked after every epoch (the training curves)")
    examples: Int = Field(8, ge=1, le=16, description="adversarial examples shown")
    example_epsilon: Float | None = Field(None, description="the examples' ε; None: the largest of `epsilons`")


def _key(epsilon: float) -> str:
    return f"{round(epsilon * 100):d}"


def _check(section: AdversarialConfig, data) -> None:
    bad = [a for a in section.attacks if a not in ATTACKS]
    if bad or any(not 0 <= e <= 1 for e in section.epsilons):
        raise ConfigError("adversarial.attacks or adversarial.epsilons is not valid.",
                          expected=f"attacks among {', '.join(ATTACKS)}; every ε in [0, 1] (pixel units)",
                          received=f"attacks={section.attacks}, epsilons={section.epsilons}", fix="Correct the list.")
    if getattr(data, "task", None) != "classification" or len(getattr(data, "input_shape", ())) != 3:
        raise ConfigError(f"The adversarial kind attacks images; {getattr(data, 'name', '?')} is not an image classification dataset.",
                          expected="mnist, fashion-mnist or cifar10", received=f"data.name={getattr(data, 'name', '?')}",
                          fix="Set data.name to an image dataset.")


def _optimizer(config, model):
    import torch

    o = config.optimizer
    if o.name == "adam":
        return torch.optim.Adam(model.parameters(), lr=o.lr, weight_decay=o.weight_decay or 0.0)
    if o.name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=o.lr, momentum=o.momentum or 0.0, weight_decay=o.weight_decay or 0.0)
    raise ConfigError(f"The adversarial kind trains with adam or sgd, not {o.name!r}.", expected="optimizer.name: adam or sgd",
                      received=f"optimizer.name={o.name!r}", fix="Set optimizer.name to adam or sgd.")


def _train(context, name, data, x, y, x_test, y_test, epochs, section, attack_training: bool) -> tuple:
    """One model trained for `epochs`; (model in pixel space, per-epoch history, seconds)."""
    import torch

    from ..trust.adversarial import PixelSpace, clean_accuracy, robust_accuracy, train_epoch
    from ._common import build_model

    config = context.config
    context.seed()
    model = PixelSpace(build_model(config, data), data.mean, data.std)
    with torch.no_grad():  # lazy layers learn their sizes from one forward
        model(x[:2])
    optimizer = _optimizer(config, model)
    history, started = [], time.perf_counter()
    monitor = slice(0, min(section.monitor_limit, len(x_test)))
    for epoch in range(1, epochs + 1):
        epsilon = 0.0
        if attack_training:
            ramp = min(1.0, epoch / (section.warmup_epochs + 1))  # warm-up epochs at a fraction of ε, then ε itself
            epsilon = section.train_epsilon * ramp
        stats = train_epoch(model, optimizer, x, y, batch_size=config.train.batch_size, epsilon=epsilon,
                            step_size=min(section.train_step_size, max(epsilon, 1e-6)), steps=section.train_steps if attack_training else 0,
                            seed=config.seed + epoch)
        pgd = robust_accuracy(model, x_test[monitor], y_test[monitor], "pgd", [section.train_epsilon], step_size=section.pgd_step_size,
                              steps=min(section.pgd_steps, 10), seed=config.seed)[float(section.train_epsilon)]
        row = {"epoch": epoch, "epsilon": epsilon, **stats, "test_clean": clean_accuracy(model, x_test[monitor], y_test[monitor]),
               "test_pgd": pgd, "seconds": time.perf_counter() - started}
        history.append(row)
        context.say(_("{model}, epoch {epoch}/{epochs}: training ε {epsilon:.2f}, loss {loss:.4f}, clean test accuracy {clean:.4f}, "
                      "PGD test accuracy {pgd:.4f}").format(model=_(_MODEL_NAMES[name]), epoch=epoch, epochs=epochs, epsilon=epsilon,
                                                            loss=stats["loss"], clean=row["test_clean"], pgd=pgd))
    return model, history, time.perf_counter() - started


def run(context: RunContext) -> dict:
    """Train the plain and the adversarially trained model, attack both at every ε, keep examples."""
    import torch
    from safetensors.torch import save

    from .._io import write_bytes
    from ..train.checkpoint import save_weights
    from ..trust.adversarial import attack_batch, robust_accuracy

    config = context.config
    section = config.adversarial or AdversarialConfig()
    data = context.data
    _check(section, data)
    data, run_dir = context.open()
    test = data.test if data.test is not None else data.val
    x, y = data.denormalize(data.train.x), data.train.y.long()  # (N, C, H, W) pixels in [0, 1]
    n_test = min(section.test_limit, len(test))
    x_test, y_test = data.denormalize(test.x[:n_test]), test.y[:n_test].long()
    started = time.perf_counter()
    models, histories, seconds = {}, {}, {}
    for name, epochs in (("plain", section.plain_epochs), ("adversarial", section.adversarial_epochs)):
        context.say(_("Training the {model} on {n} images for {epochs} epochs").format(model=_(_MODEL_NAMES[name]), n=f"{len(x):,}",
                                                                                      epochs=epochs))
        models[name], histories[name], seconds[name] = _train(context, name, data, x, y, x_test, y_test, epochs, section,
                                                              attack_training=name == "adversarial")
        save_weights(run_dir / f"{name}.safetensors", models[name].model)

    curves, attack_seconds = {m: {} for m in MODELS}, {}
    epsilons = sorted({float(e) for e in section.epsilons})
    for name in MODELS:
        for attack in section.attacks:
            t0 = time.perf_counter()
            accuracy = robust_accuracy(models[name], x_test, y_test, attack, epsilons, step_size=section.pgd_step_size,
                                       steps=section.pgd_steps, seed=config.seed)
            attack_seconds[f"{attack}_{name}"] = time.perf_counter() - t0
            curves[name][attack] = [[e, a] for e, a in accuracy.items()]
            context.say(_("{model}, {attack}: {accuracies}").format(
                model=_(_MODEL_NAMES[name]), attack=attack.upper(), accuracies=", ".join(f"ε={e:g}: {a:.4f}" for e, a in accuracy.items())))

    # examples: the first test images, attacked with PGD at the examples' ε against each model
    example_epsilon = float(section.example_epsilon if section.example_epsilon is not None else max(epsilons))
    k = min(section.examples, n_test)
    tensors = {"original": x_test[:k].contiguous(), "labels": y_test[:k].contiguous()}
    for name in MODELS:
        alpha = max(section.pgd_step_size, 2.5 * example_epsilon / section.pgd_steps)
        x_adv = attack_batch(models[name], x_test[:k], y_test[:k], "pgd", example_epsilon, step_size=alpha, steps=section.pgd_steps,
                             generator=torch.Generator().manual_seed(config.seed))
        with torch.no_grad():
            tensors[f"{name}.adversarial"] = x_adv.contiguous()
            tensors[f"{name}.clean_prediction"] = models[name](x_test[:k]).argmax(1).contiguous()
            tensors[f"{name}.adversarial_prediction"] = models[name](x_adv).argmax(1).contiguous()
    write_bytes(run_dir / "adversarial_examples.safetensors", save(tensors))

    results = {}
    for name in MODELS:
        curve = curves[name].get("pgd") or curves[name].get(section.attacks[0])
        results[f"clean_accuracy_{name}"] = dict((e, a) for e, a in curve)[0.0] if 0.0 in epsilons else None
        for attack, points in curves[name].items():
            for e, a in points:
                if e > 0:
                    results[f"robust_{attack}_{_key(e)}_{name}"] = a
    results = {k2: v for k2, v in results.items() if v is not None}
    write_json(run_dir / "adversarial.json", {
        "dataset": data.name, "classes": data.classes, "train": len(x), "test": n_test, "epsilons": epsilons,
        "attacks": section.attacks, "pgd_steps": section.pgd_steps, "pgd_step_size": section.pgd_step_size,
        "train_epsilon": section.train_epsilon, "train_steps": section.train_steps, "train_step_size": section.train_step_size,
        "plain_epochs": section.plain_epochs, "adversarial_epochs": section.adversarial_epochs, "warmup_epochs": section.warmup_epochs,
        "example_epsilon": example_epsilon, "curves": curves, "histories": histories, "train_seconds": seconds,
        "attack_seconds": attack_seconds, "results": results})
    return {"results": results, "timings": {**{f"train_{m}_s": s for m, s in seconds.items()}, **{f"{k2}_s": v for k2, v in
                                                                                                 attack_seconds.items()},
                                            "total_s": time.perf_counter() - started}}


# ----------------------------------------------------------------------------------- report
def _mono(text) -> str:
    return f'<span class="mono">{_e(text)}</span>'


def _robustness_section(run: RunFiles) -> str:
    from ..plots.adversarial import robustness_curves

    a = run.adversarial
    curves = {m: {attack: [tuple(p) for p in points] for attack, points in (a.get("curves") or {}).get(m, {}).items()}
              for m in MODELS}
    how = _("Test accuracy on {n} test images attacked inside an L∞ ball of radius ε (pixel units: ε = 0.3 lets every pixel "
            "move by 30% of the grey range). FGSM takes one step along the sign of the gradient; PGD takes {steps} such steps "
            "from a random start, projected back into the ball after each, and is the stronger attack: its accuracy is the "
            "one to trust. The adversarially trained model (Madry et al. 2018: trained on PGD examples at ε = {train}) usually "
            "gives up a little clean accuracy for much more accuracy under attack.").format(
        n=f"{a.get('test', 0):,}", steps=a.get("pgd_steps", "?"), train=a.get("train_epsilon", "?"))
    epsilons = a.get("epsilons") or []
    header = [_("model"), _("attack"), *(f"ε = {e:g}" for e in epsilons)]
    rows = []
    for m in MODELS:
        for attack, points in curves[m].items():
            by_eps = dict(points)
            rows.append([_e(_(_MODEL_NAMES[m])), _mono(attack.upper()),
                         *(_e(f"{100 * by_eps[e]:.1f}%") if e in by_eps else "—" for e in epsilons)])
    anchor = _("Anchor: Madry et al. 2018 report about 89% accuracy under PGD at ε = 0.3 on MNIST with their full budget "
               "(a larger network, 100,000 training steps on 40-step PGD examples, attacked with 100 steps). This run: "
               "{epochs} epochs on {n} images with {steps}-step PGD.").format(
        epochs=a.get("adversarial_epochs", "?"), n=f"{a.get('train', 0):,}", steps=a.get("train_steps", "?"))
    return _section("adversarial-robustness", _("Robust accuracy against the attack's radius ε"), how,
                    _img(robustness_curves(curves), _("test accuracy against ε")) + _table(header, rows, "numbers")
                    + f'<p class="aside">{_e(anchor)}</p>')


def _examples_section(run: RunFiles) -> str:
    from safetensors.torch import load

    from ..plots.adversarial import example_grid
    from ..plots.style import figure_label

    a = run.adversarial
    epsilon = a.get("example_epsilon", 0.3)
    how = _("The first test images, then PGD's adversarial version of each at ε = {epsilon} against each model, with the "
            "label the model predicts above it, and the perturbation, amplified so that −ε is black "
            "and +ε is white. Against the plain model the perturbation looks like noise yet changes the answer; against the "
            "adversarially trained model it has to draw strokes, and often still fails.").format(epsilon=f"{epsilon:g}")
    path = run.folder / "adversarial_examples.safetensors"
    if not path.is_file():
        return _section("adversarial-examples", _("Adversarial examples and their perturbations"), how,
                        _note(_e(_("The adversarial examples file is missing."))))
    t = load(path.read_bytes())
    classes = a.get("classes") or [str(i) for i in range(10)]

    def names(labels):
        return [classes[int(i)] if int(i) < len(classes) else str(int(i)) for i in labels]

    original = t["original"][:, 0].numpy()  # (k, H, W): the first channel shown in grey
    rows = [(figure_label("original (true label)"), list(original), names(t["labels"]))]
    fooled = []
    for m in MODELS:
        adv = t[f"{m}.adversarial"]
        delta = (adv - t["original"])[:, 0].numpy()
        rows.append((figure_label(_MODEL_NAMES[m]) + "\nPGD", list(adv[:, 0].numpy()), names(t[f"{m}.adversarial_prediction"])))
        rows.append((figure_label("perturbation"), list(0.5 + delta / (2 * max(epsilon, 1e-8))), []))
        fooled.append(_("{model}: {fooled} of {n} fooled").format(
            model=_(_MODEL_NAMES[m]), fooled=int((t[f"{m}.adversarial_prediction"] != t["labels"]).sum()), n=len(t["labels"])))
    return _section("adversarial-examples", _("Adversarial examples and their perturbations"), how,
                    _img(example_grid(rows), _("adversarial examples")) + f'<p class="aside">{_e("; ".join(fooled))}</p>')


def _training_section(run: RunFiles) -> str:
    from ..plots.adversarial import training_curves

    a = run.adversarial
    histories = {m: a.get("histories", {}).get(m) or [] for m in MODELS}
    how = _("Per epoch: the training loss (for the adversarially trained model, on the PGD examples it trained on, so it "
            "stays higher) and the accuracy on the first test images, clean (solid) and under PGD at ε = {epsilon} with at most "
            "10 steps (dashed). The first {warmup} epochs of adversarial training are a warm-up at a fraction of that ε.").format(
        epsilon=a.get("train_epsilon", "?"), warmup=a.get("warmup_epochs", 0))
    seconds = a.get("train_seconds") or {}
    rows = [[_e(_(_MODEL_NAMES[m])), _e(len(histories[m])), _e(f"{seconds.get(m, 0):.0f}")] for m in MODELS]
    return _section("adversarial-training", _("Training: plain against adversarial"), how,
                    _img(training_curves(histories), _("training curves"))
                    + _table([_("model"), _("epochs"), _("seconds")], rows, "numbers"))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    results = (run.adversarial or {}).get("results") or {}
    epsilons = [e for e in (run.adversarial or {}).get("epsilons") or [] if e > 0]
    stats = []
    if epsilons:
        e = max(epsilons)
        for m in MODELS:
            value = results.get(f"robust_pgd_{_key(e)}_{m}")
            if value is not None:
                stats.append((f"{100 * value:.1f}%", _("PGD at ε = {epsilon}, {model}").format(epsilon=f"{e:g}",
                                                                                              model=_(_MODEL_NAMES[m]))))
    return stats


def _has(run: RunFiles) -> bool:
    return run.adversarial is not None


REPORT = KindReport("adversarial", files=("adversarial.json",), result_file="adversarial.json",
                    missing={"adversarial.json": N_("the attacks' results")},
                    sections=(Section("adversarial-robustness", N_("Robust accuracy against the attack's radius ε"), _robustness_section,
                                      _has, order=15),
                              Section("adversarial-examples", N_("Adversarial examples and their perturbations"), _examples_section,
                                      _has, order=16),
                              Section("adversarial-training", N_("Training: plain against adversarial"), _training_section, _has,
                                      order=17)),
                    headline=_headline)
register(Kind("adversarial", run, N_("FGSM and PGD attacks against a plain and an adversarially trained model (Madry et al.)"),
              section="adversarial", config=AdversarialConfig, report=REPORT, order=91,
              smoke=("mnist-adversarial", ("adversarial.plain_epochs=1", "adversarial.adversarial_epochs=1", "adversarial.train_steps=1",
                                           "adversarial.epsilons=[0.0,0.3]",
                                           "adversarial.pgd_steps=1", "adversarial.test_limit=32", "adversarial.monitor_limit=16",
                                           "adversarial.examples=3", "limit=128")),
              smoke_needs_data=True))
