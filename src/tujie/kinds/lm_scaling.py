"""The `lm_scaling` kind: GPTs of several sizes on the same tokens of the Tang poems, and the power law of their losses.

1. **Corpus**: every Tang poem (`lm.runs.build_corpus`, the `lm` kind's corpus), a seeded hold-out
   of poems for validation, one character per token.
2. **Train** each size of `lm_scaling.sizes` (≈ 0.05M to 10M non-embedding parameters) from the
   same seed on the SAME number of tokens (`tokens`) with `tujie.lm.train_lm`, at Kaplan et al.'s
   size-dependent learning rate LR(N) ≈ 0.003239 − 0.0001395·ln N unless `lr` is set.
3. **Fit** L(N) = (N_c / N)^α_N to the final validation losses (`tujie.lm.scaling`, a t-interval
   for α), and a power law in compute C ≈ 6·N·tokens to the frontier of the learning curves.
4. **Report** the loss against parameters and against compute (log–log) beside Kaplan et al.'s
   α_N ≈ 0.076 and α_C ≈ 0.050, GPT-3's 175 billion parameters as a labelled extrapolation, the
   wall time per size and what each size writes after the same first line.

Equal tokens means the larger models are under-trained for their size: the fitted exponent
describes this token budget, not Kaplan et al.'s converged L(N) nor the compute-optimal frontier.
Writes lm_scaling.json. Recipe: gpt-scaling.

Example:
    >>> from tujie import kinds
    >>> kinds.get("lm_scaling").section
    'lm_scaling'
"""

from __future__ import annotations

import math
import time

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..errors import ConfigError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _data, _e, _fixed as _num, _fmt_seconds, _img, _note, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register


def _default_sizes() -> dict:
    from ..lm.scaling import SIZES

    return {name: list(shape) for name, shape in SIZES.items()}


class LMScalingConfig(Strict):
    corpus: str = Field("poetry-quatrains", description="the poems the sizes read (a poetry corpus of the lm kind)")
    sizes: dict[str, list[Int]] = Field(default_factory=_default_sizes, min_length=2,
                                        description="name -> [n_layer, n_head, n_embd] of each GPT")
    tokens: Int = Field(262_144, ge=1, description="training tokens of every size (steps = tokens / (batch_size · block_size))")
    batch_size: Int = Field(32, ge=1)
    block_size: Int = Field(32, ge=2, description="characters of context (a seven-character quatrain is 33 with its newline)")
    lr: Float | None = Field(None, gt=0.0, description="one peak rate for every size; None: Kaplan et al.'s LR(N)")
    warmup: Float = Field(0.1, ge=0.0, lt=1.0, description="share of the steps of linear warm-up")
    weight_decay: Float = Field(0.1, ge=0.0)
    eval_every: Int = Field(32, ge=1, description="steps between validation points (the compute curves)")
    eval_batches: Int = Field(16, ge=1, description="batches of fixed validation windows per point")
    validation: Float = Field(0.05, gt=0.0, lt=1.0, description="share of the poems held out")
    poem_files: Int | None = Field(None, ge=1, le=58, description="read only the first N of the 58 poem files (quick runs)")
    prompt: str = Field("白日依山盡，", description="the first line every size continues in the report")
    sample_chars: Int = Field(40, ge=1)
    temperature: Float = Field(0.8, ge=0.0)


def kaplan_lr(parameters: float) -> float:
    """Kaplan et al. 2020 (appendix D.6): LR(N) ≈ 0.003239 − 0.0001395·ln N, the rate that suited each size.

    Example:
        >>> round(kaplan_lr(1e5), 5), round(kaplan_lr(1e7), 5)
        (0.00163, 0.00099)
    """
    return max(1e-4, 0.003239 - 0.0001395 * math.log(parameters))


def frontier(points) -> list[tuple[float, float]]:
    """The (compute, loss) points that no point of smaller compute beats: the lower envelope of the curves.

    Example:
        >>> frontier([(1, 5.0), (2, 4.0), (3, 4.5), (4, 3.0)])
        [(1, 5.0), (2, 4.0), (4, 3.0)]
    """
    best, kept = math.inf, []
    for c, loss in sorted(points):
        if loss < best:
            best = loss
            kept.append((c, loss))
    return kept


def run(context: RunContext) -> dict:
    """Train every size on the same tokens, fit the power laws, write lm_scaling.json."""
    from ..lm.runs import POETRY_CORPORA, build_corpus, continue_prompts
    from ..lm.scaling import GPT3_PARAMETERS, KAPLAN_ALPHA_C, KAPLAN_ALPHA_N, fit_power_law, training_flops
    from ..lm.train import train_lm
    from ..models import create

    config, say = context.config, context.say
    section = config.lm_scaling or LMScalingConfig()
    per_step = section.batch_size * section.block_size
    steps = section.tokens // per_step
    if steps < 1:
        raise ConfigError(f"lm_scaling.tokens={section.tokens:,} is less than one step of {per_step:,} tokens.",
                          expected=f"at least batch_size × block_size = {per_step:,} tokens",
                          received=f"lm_scaling.tokens={section.tokens}", fix="Raise lm_scaling.tokens, or lower the batch size.")
    if section.corpus not in POETRY_CORPORA:
        raise ConfigError(f"lm_scaling reads the Tang poems, and {section.corpus!r} is not one of their corpora.",
                          expected=", ".join(POETRY_CORPORA), received=f"lm_scaling.corpus={section.corpus!r}",
                          fix="Set lm_scaling.corpus to poetry-quatrains or poetry-all.")
    for name, shape in section.sizes.items():
        if len(shape) != 3 or min(shape) < 1 or shape[2] % shape[1]:
            raise ConfigError(f"The size {name!r} of lm_scaling.sizes is not [n_layer, n_head, n_embd].",
                              expected="three positive whole numbers, n_embd divisible by n_head",
                              received=f"{name}: {shape}", fix="Write each size as [n_layer, n_head, n_embd], e.g. [4, 4, 128].")
    corpus = build_corpus(section.corpus, simplified=False, validation=section.validation, seed=config.seed,
                          data_dir=config.data.data_dir, poem_files=section.poem_files)
    run_dir = context.run_dir
    for note in corpus.notes:
        say(_("Data: {note}").format(note=note))
    started = time.perf_counter()
    sizes = []
    for name, (n_layer, n_head, n_embd) in section.sizes.items():
        context.seed()
        model = create("gpt", vocab_size=corpus.tokenizer.vocab_size, block_size=section.block_size, size=None,
                       n_layer=n_layer, n_head=n_head, n_embd=n_embd, dropout=0.0)
        n = model.num_parameters()
        lr = section.lr or kaplan_lr(n)
        say(_("Size {name}: {layers} layers, width {width}, {parameters} non-embedding parameters, learning rate {lr}").format(
            name=name, layers=n_layer, width=n_embd, parameters=f"{n:,}", lr=f"{lr:.2e}"))
        out = train_lm(model, corpus.train_ids, corpus.val_ids, steps=steps, batch_size=section.batch_size,
                       block_size=section.block_size, lr=lr, warmup=round(section.warmup * steps),
                       weight_decay=section.weight_decay, eval_every=section.eval_every, eval_batches=section.eval_batches,
                       seed=config.seed, say=say)
        model.eval()
        sample = continue_prompts(model, corpus.tokenizer, corpus.layout, [section.prompt], max_new=section.sample_chars,
                                  temperature=section.temperature, top_k=None, seed=config.seed)[0]
        sizes.append({"name": name, "n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "parameters": n,
                      "parameters_total": model.num_parameters(exclude_embeddings=False), "lr": lr, "steps": out["steps"],
                      "tokens": out["tokens"], "seconds": out["seconds"], "tokens_per_second": out["tokens_per_second"],
                      "val_loss": out["val_loss"], "val_bpc": out["val_bpc"], "train_loss": out["history"][-1]["train_loss"],
                      "compute": training_flops(n, out["tokens"]), "sample": sample,
                      "history": [{k: h[k] for k in ("step", "tokens", "train_loss", "val_loss")} for h in out["history"]]})
        say(_("Size {name}: validation loss {loss} nats per character after {tokens} tokens, {seconds}").format(
            name=name, loss=f"{out['val_loss']:.3f}", tokens=f"{out['tokens']:,}", seconds=_fmt_seconds(out["seconds"])))
    fit = fit_power_law([s["parameters"] for s in sizes], [s["val_loss"] for s in sizes])
    curve_points = [(training_flops(s["parameters"], h["tokens"]), h["val_loss"]) for s in sizes for h in s["history"]
                    if h["tokens"] > 0 and math.isfinite(h["val_loss"])]
    front = frontier(curve_points)
    fit_c = fit_power_law(*zip(*front)) if len({c for c, _ in front}) >= 3 else None
    write_json(run_dir / "lm_scaling.json", {
        "corpus": section.corpus, "notes": corpus.notes, "vocab_size": corpus.tokenizer.vocab_size,
        "train_characters": len(corpus.train_ids), "val_characters": len(corpus.val_ids),
        "settings": section.model_dump(), "steps": steps, "tokens": steps * per_step, "sizes": sizes,
        "fit": fit.to_dict(), "fit_compute": fit_c.to_dict() if fit_c else None, "frontier": front,
        "extrapolation": {"parameters": GPT3_PARAMETERS, "val_loss": fit.predict(GPT3_PARAMETERS)},
        "anchors": {"source": "Kaplan et al. 2020, Scaling Laws for Neural Language Models (WebText2, BPE tokens)",
                    "alpha_n": KAPLAN_ALPHA_N, "alpha_c": KAPLAN_ALPHA_C}})
    results = {"scaling_alpha": fit.alpha, "scaling_alpha_ci_low": fit.alpha_low, "scaling_alpha_ci_high": fit.alpha_high,
               "scaling_alpha_compute": fit_c.alpha if fit_c else None, "scaling_r2": fit.r2}
    results.update({f"val_loss_{s['name']}": s["val_loss"] for s in sizes})
    say(_("Fitted exponent α_N = {alpha} (95% interval {low} to {high}); Kaplan et al.: {kaplan}").format(
        alpha=_num(fit.alpha), low=_num(fit.alpha_low), high=_num(fit.alpha_high), kaplan=KAPLAN_ALPHA_N))
    return {"results": results, "timings": {"total_s": time.perf_counter() - started}}


# ----------------------------------------------------------------------------------- report
def _parameters_section(run: RunFiles) -> str:
    from ..plots.scaling import loss_vs_parameters

    d = run.lm_scaling
    sizes, fit = d.get("sizes") or [], d.get("fit") or {}
    anchors = d.get("anchors") or {}
    how = _("Validation loss of each size after the same {tokens} training characters, against its non-embedding "
            "parameters, both axes logarithmic: a power law L = (N_c / N)^α is a straight line there, and α is minus its "
            "slope. The interval is the t-interval of the least-squares slope over {n} sizes (wide with few sizes). "
            "Kaplan et al. (2020) measured α_N ≈ {kaplan} on English web text with models trained to convergence; the "
            "dotted line has their slope. Every size here read the same tokens, so the larger ones are under-trained "
            "for their size: this exponent describes this budget, not their converged law. The dashed line carries the "
            "fit on to GPT-3's 175 billion parameters: an extrapolation over four orders of magnitude, not a measurement.").format(
        tokens=_e(f"{d.get('tokens', 0):,}"), n=_e(len(sizes)), kaplan=_e(anchors.get("alpha_n", 0.076)))
    figure = _img(loss_vs_parameters([(s.get("name"), s.get("parameters"), s.get("val_loss")) for s in sizes], fit,
                                     kaplan_alpha=anchors.get("alpha_n", 0.076)), _("validation loss against parameters"))
    summary = _("Fitted exponent α_N = {alpha} (95% interval {low} to {high}, R² = {r2}); Kaplan et al.: {kaplan}.").format(
        alpha=_e(_num(fit.get("alpha"))), low=_e(_num(fit.get("alpha_low"))), high=_e(_num(fit.get("alpha_high"))),
        r2=_e(_num(fit.get("r2"))), kaplan=_e(anchors.get("alpha_n", 0.076)))
    rows = [[_data(s.get("name")), _e(f"{s.get('n_layer')} × {s.get('n_embd')}"), _e(f"{s.get('parameters', 0):,}"),
             _e(f"{s.get('parameters_total', 0):,}"), _e(f"{s.get('lr', math.nan):.2e}"), _e(_num(s.get("val_loss"))),
             _e(_num((s.get("val_loss") or math.nan) / math.log(2))), _e(_fmt_seconds(s.get("seconds"))),
             _e(f"{s.get('tokens_per_second', 0):,.0f}")] for s in sizes]
    table = _table([_("size"), _("layers × width"), _("non-embedding parameters"), _("all parameters"), _("learning rate"),
                    _("validation loss (nats/char)"), _("bits per character"), _("wall time"), _("tokens per second")],
                   rows, "numbers")
    return _section("scaling-parameters", _("Loss against size"), how, f"<p>{summary}</p>" + figure + table)


def _compute_section(run: RunFiles) -> str:
    from ..lm.scaling import training_flops
    from ..plots.scaling import loss_vs_compute

    d = run.lm_scaling
    sizes, fit_c = d.get("sizes") or [], d.get("fit_compute")
    how = _("Each size's validation loss along its training, against the compute spent so far, C ≈ 6·N·tokens "
            "floating-point operations (N non-embedding parameters; Kaplan et al.'s estimate). A small model is "
            "cheapest early on, a larger one wins once enough compute is spent; the circles mark the lowest loss "
            "reached for each amount of compute (the frontier), and the dashed line is a power law fitted to them. "
            "Kaplan et al. report α_C ≈ {kaplan} for compute-optimal training at far larger scale.").format(
        kaplan=_e((d.get("anchors") or {}).get("alpha_c", 0.05)))
    curves = {s.get("name"): [(training_flops(s.get("parameters", 0), h["tokens"]), h["val_loss"])
                              for h in s.get("history") or [] if h.get("tokens")] for s in sizes}
    figure = _img(loss_vs_compute(curves, [tuple(p) for p in d.get("frontier") or []], fit_c), _("validation loss against compute"))
    if fit_c:
        text = _("Frontier fit: α_C = {alpha} (95% interval {low} to {high}, {n} points).").format(
            alpha=_e(_num(fit_c.get("alpha"))), low=_e(_num(fit_c.get("alpha_low"))), high=_e(_num(fit_c.get("alpha_high"))),
            n=_e(fit_c.get("points")))
    else:
        text = _("Too few frontier points for a fit.")
    return _section("scaling-compute", _("Loss against compute"), how, f"<p>{text}</p>" + figure)


def _samples_section(run: RunFiles) -> str:
    d = run.lm_scaling
    settings = d.get("settings") or {}
    how = _("What each size writes after the same first line (temperature {temperature}, one sample each, the same "
            "seed): more parameters, after the same reading, give more of the form and fewer broken lines.").format(
        temperature=_e(settings.get("temperature")))
    rows = [[_data(s.get("name")), _e(f"{s.get('parameters', 0):,}"),
             _data(str(settings.get("prompt", "")) + str(s.get("sample", "")))] for s in d.get("sizes") or []]
    if not rows:
        return _section("scaling-samples", _("What each size writes"), how, _note(_e(_("No size was trained."))))
    return _section("scaling-samples", _("What each size writes"), how,
                    _table([_("size"), _("non-embedding parameters"), _("first line and continuation")], rows))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    d = run.lm_scaling
    fit, sizes = d.get("fit") or {}, d.get("sizes") or []
    stats = [(f"{_num(fit.get('alpha'))} [{_num(fit.get('alpha_low'))}, {_num(fit.get('alpha_high'))}]",
              _("fitted exponent α_N (Kaplan et al.: 0.076)"))]
    if sizes:
        best = min(sizes, key=lambda s: s.get("val_loss") or math.inf)
        stats.append((_num(best.get("val_loss")), _("lowest validation loss (nats per character)")))
    return stats


def _facts(run: RunFiles) -> list[str]:
    d = run.lm_scaling
    s = d.get("settings") or {}
    return [_("{n} GPT sizes, each trained on the same {tokens} characters of the Tang poems ({vocab} characters in the "
              "vocabulary), batch {batch} × {block} characters").format(
        n=len(d.get("sizes") or []), tokens=f"{d.get('tokens', 0):,}", vocab=f"{d.get('vocab_size', 0):,}",
        batch=s.get("batch_size"), block=s.get("block_size"))]


def _has(run: RunFiles) -> bool:
    return run.lm_scaling is not None


REPORT = KindReport("lm_scaling", files=("lm_scaling.json",), result_file="lm_scaling.json",
                    missing={"lm_scaling.json": N_("the sizes' losses and the fitted power laws")},
                    sections=(Section("scaling-parameters", N_("Loss against size"), _parameters_section, _has, order=61),
                              Section("scaling-compute", N_("Loss against compute"), _compute_section, _has, order=62),
                              Section("scaling-samples", N_("What each size writes"), _samples_section, _has, order=63)),
                    headline=_headline, facts=_facts)
register(Kind("lm_scaling", run, N_("GPTs of several sizes on the same tokens of the Tang poems: the power law of loss against "
                                    "parameters and compute"),
              section="lm_scaling", config=LMScalingConfig, report=REPORT, order=86,
              smoke=("gpt-scaling", ("lm_scaling.poem_files=1", "lm_scaling.sizes={a: [1, 1, 8], b: [1, 2, 16], c: [2, 2, 16]}",
                                     "lm_scaling.tokens=1024", "lm_scaling.batch_size=4", "lm_scaling.block_size=32",
                                     "lm_scaling.eval_every=2", "lm_scaling.eval_batches=1", "lm_scaling.sample_chars=8")),
              smoke_needs_data=True))
