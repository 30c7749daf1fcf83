"""The `lora` kind: adapt a poetry GPT to one poet's style, with LoRA against full fine-tuning (chapter 13).

1. **Split** the Tang poems: the poet's own (`lora.poet`, 李白 by default) and everyone else's.
   A seeded 20% of the poet's poems are held out: every method is scored on them.
2. **Pretrain** a character GPT on everyone else's poems (never the poet's), or load one
   (`lora.base_run`: an earlier `lora` run of the same poet, whose base never read him, or an `lm`
   run, whose corpus may hold the poet's poems: the report says which). The base pretrained here
   is saved as an `lm` run's files (model.safetensors, lm_model.json, tokenizer.json): pretrain
   once, adapt many times, and `tujie generate RUN_DIR` writes with it.
3. **Adapt** copies of it to the poet's training poems, each with the same steps: full
   fine-tuning (every weight), and LoRA (`tujie.lm.lora`, through peft by default) at each rank of
   `lora.ranks` on every linear layer of the blocks (attention's q/k/v and output projections,
   the MLP's two layers), everything else frozen; the adapters are then merged back into the
   weights and the merged model is scored again (it must score the same).
4. **Report** the trainable-parameter share, the validation loss on the poet's held-out poems
   (no fine-tuning, full, each rank), the wall time and what each writes.

Writes lora.json (and the base's three files). Recipe: tang-poetry-lora.

Example:
    >>> from tujie import kinds
    >>> kinds.get("lora").section
    'lora'
"""

from __future__ import annotations

import copy
import math
import time
from collections import Counter
from typing import Literal

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..errors import DataError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _data, _e, _fixed as _num, _fmt_seconds, _img, _section, _table
from ..report.run_files import RunFiles
from . import Kind, RunContext, register


class LoRAKindConfig(Strict):
    poet: str = Field("李白", description="the author whose poems are the target (as the corpus writes the name)")
    validation: Float = Field(0.2, gt=0.0, lt=1.0, description="share of the poet's poems held out for validation")
    base_run: str | None = Field(None, description="a lora or lm run directory whose GPT is the base (default: pretrain one here)")
    base_size: list[Int] = Field([4, 4, 128], min_length=3, max_length=3, description="[n_layer, n_head, n_embd] of the base GPT")
    base_steps: Int = Field(600, ge=1, description="pretraining steps on the other poets")
    base_lr: Float = Field(2e-3, gt=0.0)
    steps: Int = Field(150, ge=1, description="fine-tuning steps of every method")
    lr_full: Float = Field(5e-4, gt=0.0, description="full fine-tuning's peak rate")
    lr_lora: Float = Field(3e-3, gt=0.0, description="LoRA's peak rate (only the small adapters move)")
    ranks: list[Int] = Field([4, 8], min_length=1)
    alpha: Float | None = Field(None, gt=0.0, description="LoRA's scale α (the change is multiplied by α / r); None: 2·r")
    backend: Literal["peft", "tujie"] = Field("peft", description="peft (Hugging Face's library) or tujie (tujie.lm.lora.LoRALinear)")
    targets: list[str] | None = Field(None, description="names of the linear layers to adapt; None: every one of the blocks")
    train_embedding: bool = Field(False, description="LoRA methods also train the token embedding (tied to the output head)")
    block_size: Int = Field(64, ge=2)
    batch_size: Int = Field(16, ge=1)
    eval_every: Int = Field(25, ge=1)
    eval_batches: Int = Field(16, ge=1)
    poem_files: Int | None = Field(None, ge=1, le=58, description="read only the first N of the 58 poem files (quick runs)")
    prompt: str = Field("明月出天山，", description="the first line every model continues in the report")
    sample_chars: Int = Field(48, ge=1)
    temperature: Float = Field(0.8, ge=0.0)


def _authors_note(poems, poet: str) -> str:
    counts = Counter(p.author for p in poems)
    return ", ".join(f"{name} ({n})" for name, n in counts.most_common(5))


def _pretrained_without(run_dir, poet: str) -> bool:
    """Whether `run_dir` is a lora run that pretrained its base here without `poet`'s poems."""
    import json
    from pathlib import Path

    try:
        record = json.loads((Path(run_dir) / "lora.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record.get("poet") == poet and (record.get("base") or {}).get("without_poet") is True


def run(context: RunContext) -> dict:
    """Pretrain (or load) the base, fine-tune it fully and with LoRA at each rank on the poet; write lora.json."""
    import torch

    from ..lm import poetry
    from ..lm.lora import add_lora, merge_lora, trainable_parameters
    from ..lm.runs import continue_prompts, load_run, save_run
    from ..lm.train import evaluate_lm, train_lm
    from ..models import create
    from ..text.tokenizers import UNK_ID, CharTokenizer

    config, say = context.config, context.say
    section = config.lora or LoRAKindConfig()
    poems = poetry.load_poems(config.data.data_dir, files=section.poem_files)
    own = [p for p in poems if p.author == section.poet]
    if len(own) < 5:
        raise DataError(f"The poet {section.poet!r} has {len(own)} poems in the {len(poems):,} read.",
                        expected="at least 5 poems by lora.poet, written as the corpus writes the name (traditional characters)",
                        received=f"lora.poet={section.poet!r}", fix=f"Choose a poet with more poems, e.g. {_authors_note(poems, section.poet)}.")
    poet_train, poet_val = poetry.split_poems(own, section.validation, config.seed)
    others = [p for p in poems if p.author != section.poet]
    run_dir = context.run_dir
    started = time.perf_counter()
    base_record: dict = {}
    if section.base_run:
        base, tokenizer = load_run(section.base_run)
        without_poet = _pretrained_without(section.base_run, section.poet)
        base_record = {"run": str(section.base_run), "parameters": base.num_parameters(exclude_embeddings=False),
                       "without_poet": without_poet}
        if without_poet:
            say(_("Base: the GPT of {run}, pretrained without {poet}'s poems").format(run=section.base_run, poet=section.poet))
        else:
            say(_("Base: the GPT of {run} (its corpus may include the poet's poems)").format(run=section.base_run))
    else:
        other_train, other_val = poetry.split_poems(others, 0.02, config.seed)
        train_text = poetry.training_text(other_train)
        tokenizer = CharTokenizer().train([train_text])
        context.seed()
        n_layer, n_head, n_embd = section.base_size
        base = create("gpt", vocab_size=tokenizer.vocab_size, block_size=section.block_size, size=None, n_layer=n_layer,
                      n_head=n_head, n_embd=n_embd, dropout=0.0)
        say(_("Pretraining the base GPT on {poems} poems of the other poets ({chars} characters), never {poet}'s").format(
            poems=f"{len(other_train):,}", chars=f"{len(train_text):,}", poet=section.poet))
        out = train_lm(base, torch.tensor(tokenizer.encode(train_text)), torch.tensor(tokenizer.encode(poetry.training_text(other_val))),
                       steps=section.base_steps, batch_size=section.batch_size, block_size=section.block_size,
                       lr=section.base_lr, warmup=max(1, section.base_steps // 20), eval_every=max(1, section.base_steps // 4),
                       eval_batches=section.eval_batches, seed=config.seed, say=say)
        base_record = {"run": None, "parameters": base.num_parameters(exclude_embeddings=False), "poems": len(other_train),
                       "characters": len(train_text), "steps": out["steps"], "seconds": out["seconds"],
                       "val_loss_others": out["val_loss"], "without_poet": True}
        save_run(run_dir, base, tokenizer, name="gpt", layout="lines")  # `lora.base_run: RUN_DIR` reuses it
    block = min(section.block_size, base.block_size)
    poet_train_ids = torch.tensor(tokenizer.encode(poetry.training_text(poet_train)))
    poet_val_ids = torch.tensor(tokenizer.encode(poetry.training_text(poet_val)))
    unknown = float((poet_val_ids == UNK_ID).float().mean())
    say(_("{poet}: {train} poems to adapt to, {val} held out ({chars} characters; {unknown} of them unknown to the base's vocabulary)").format(
        poet=section.poet, train=len(poet_train), val=len(poet_val), chars=f"{len(poet_val_ids):,}", unknown=f"{unknown:.2%}"))

    def score(model) -> float:
        return evaluate_lm(model, poet_val_ids, block_size=block, batch_size=section.batch_size, batches=section.eval_batches)

    def sample(model) -> str:
        model.eval()
        return continue_prompts(model, tokenizer, "lines", [section.prompt], max_new=section.sample_chars,
                                temperature=section.temperature, seed=config.seed)[0]

    total = trainable_parameters(base)[1]
    base.eval()
    methods = [{"name": "none", "rank": None, "trainable": 0, "total": total, "share": 0.0, "val_loss": score(base),
                "seconds": None, "history": [], "sample": sample(base)}]
    say(_("No fine-tuning: validation loss {loss} on {poet}'s held-out poems").format(loss=f"{methods[0]['val_loss']:.3f}",
                                                                                      poet=section.poet))
    for rank in [None, *section.ranks]:
        model = copy.deepcopy(base)
        alpha = (section.alpha or 2.0 * rank) if rank else None
        if rank:
            model = add_lora(model, r=rank, alpha=alpha, targets=section.targets, backend=section.backend)
            if section.train_embedding:  # the characters' vectors (and the tied head): where a poet's choice of characters lives
                model.wte.weight.requires_grad_(True)
        trainable, _total = trainable_parameters(model)
        tick = time.perf_counter()
        out = train_lm(model, poet_train_ids, poet_val_ids, steps=section.steps, batch_size=section.batch_size, block_size=block,
                       lr=section.lr_lora if rank else section.lr_full, warmup=max(1, section.steps // 10), weight_decay=0.0,
                       eval_every=section.eval_every, eval_batches=section.eval_batches, seed=config.seed, say=lambda *a: None)
        seconds = time.perf_counter() - tick
        record = {"name": f"lora_r{rank}" if rank else "full", "rank": rank, "alpha": alpha, "trainable": trainable,
                  "train_embedding": bool(rank and section.train_embedding),
                  "total": total, "share": trainable / total, "val_loss": out["val_loss"], "seconds": seconds,
                  "tokens_per_second": out["tokens_per_second"],
                  "history": [{"step": h["step"], "val_loss": h["val_loss"], "train_loss": h["train_loss"]} for h in out["history"]]}
        if rank:
            merged = merge_lora(model)  # W ← W + (α/r)·BA: a plain GPT again, as fast as the base
            record["merged_val_loss"] = score(merged)
            model = merged
        record["sample"] = sample(model)
        methods.append(record)
        say(_("{method}: {trainable} trainable parameters ({share} of {total}), validation loss {loss}, {seconds}").format(
            method=_method_label(record), trainable=f"{trainable:,}", share=f"{trainable / total:.2%}", total=f"{total:,}",
            loss=f"{out['val_loss']:.3f}", seconds=_fmt_seconds(seconds)))
    write_json(run_dir / "lora.json", {
        "poet": section.poet, "poet_poems": len(own), "poet_train": len(poet_train), "poet_val": len(poet_val),
        "poet_val_characters": len(poet_val_ids), "unknown_share": unknown, "vocab_size": tokenizer.vocab_size,
        "backend": section.backend, "targets": section.targets, "settings": section.model_dump(), "base": base_record,
        "methods": methods})
    by_name = {m["name"]: m for m in methods}
    results = {"val_loss_base": by_name["none"]["val_loss"], "val_loss_full": by_name["full"]["val_loss"]}
    for rank in section.ranks:
        m = by_name[f"lora_r{rank}"]
        results[f"lora_val_loss_r{rank}"] = m["val_loss"]
        results[f"lora_trainable_share_r{rank}"] = m["share"]
        results[f"lora_seconds_r{rank}"] = m["seconds"]
    results["lora_seconds_full"] = by_name["full"]["seconds"]
    return {"results": results, "timings": {"total_s": time.perf_counter() - started}}


# ----------------------------------------------------------------------------------- report
_NAMES = {"none": N_("no fine-tuning"), "full": N_("full fine-tuning")}


def _method_label(m: dict) -> str:
    if m.get("rank") and m.get("train_embedding"):
        return _("LoRA r={rank} + token embedding").format(rank=m["rank"])
    if m.get("rank"):
        return _("LoRA r={rank}").format(rank=m["rank"])
    return _(_NAMES.get(m.get("name"), m.get("name") or ""))


def _comparison_section(run: RunFiles) -> str:
    from ..plots.scaling import fine_tuning_losses

    d = run.lora
    methods, base = d.get("methods") or [], d.get("base") or {}
    if not base.get("run"):
        origin = _("pretrained here on the other poets' poems ({poems} poems, {steps} steps), never on the poet's").format(
            poems=_e(f"{base.get('poems', 0):,}"), steps=_e(base.get("steps")))
    elif base.get("without_poet"):
        origin = _("loaded from the run {run}, pretrained there without the poet's poems").format(run=_data(base.get("run")))
    else:
        origin = _("loaded from the run {run}, whose corpus may include the poet's poems").format(run=_data(base.get("run")))
    how = _("The same base GPT ({origin}), adapted to the poems of {poet} with the same steps: every weight (full "
            "fine-tuning), or LoRA (Hu et al. 2022: the weights frozen, a trainable low-rank change (α/r)·BA beside every "
            "linear layer of the blocks), each rank once. Validation loss in nats per character on {val} held-out poems of "
            "the poet ({chars} characters); lower means the model expects the poet's next character better. {unknown} of "
            "those characters are unknown to the base's vocabulary. After training the adapters are merged into the "
            "weights; the merged model's loss is in the last column (it must equal the adapted one's).").format(
        origin=origin, poet=_data(d.get("poet")), val=_e(d.get("poet_val")), chars=_e(f"{d.get('poet_val_characters', 0):,}"),
        unknown=_e(f"{d.get('unknown_share', 0):.2%}"))
    figure = _img(fine_tuning_losses([(_method_label(m), m.get("val_loss"), m.get("seconds") or 0.0) for m in methods]),
                  _("validation loss and wall time per method"))
    rows = [[_e(_method_label(m)), _e(f"{m.get('trainable', 0):,}"), _e(f"{m.get('share', 0):.2%}"), _e(_num(m.get("val_loss"))),
             _e(_num((m.get("val_loss") or math.nan) / math.log(2))), _e(_fmt_seconds(m.get("seconds"))),
             _e(_num(m.get("merged_val_loss")))] for m in methods]
    table = _table([_("method"), _("trainable parameters"), _("share of all"), _("validation loss (nats/char)"),
                    _("bits per character"), _("wall time"), _("after merging")], rows, "numbers")
    return _section("lora-comparison", _("Fine-tuning towards one poet"), how, figure + table)


def _curves_section(run: RunFiles) -> str:
    from ..plots.scaling import fine_tuning_curves

    how = _("Validation loss on the poet's held-out poems during fine-tuning, per method; the flat line is the base "
            "without fine-tuning.")
    methods = run.lora.get("methods") or []
    curves = {_method_label(m): [(h["step"], h["val_loss"]) for h in m.get("history") or []] for m in methods if m.get("history")}
    base = next((m.get("val_loss") for m in methods if m.get("name") == "none"), None)
    return _section("lora-curves", _("Validation loss during fine-tuning"), how,
                    _img(fine_tuning_curves(curves, base), _("validation loss during fine-tuning")))


def _samples_section(run: RunFiles) -> str:
    d = run.lora
    settings = d.get("settings") or {}
    how = _("What each model writes after the same first line (temperature {temperature}, the same seed).").format(
        temperature=_e(settings.get("temperature")))
    rows = [[_e(_method_label(m)), _data(str(settings.get("prompt", "")) + str(m.get("sample", "")))] for m in d.get("methods") or []]
    return _section("lora-samples", _("What each model writes"), how, _table([_("method"), _("first line and continuation")], rows))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    methods = {m.get("name"): m for m in run.lora.get("methods") or []}
    stats = []
    for name in ("none", "full"):
        if name in methods:
            stats.append((_num(methods[name].get("val_loss")), _("{method}: validation loss").format(method=_method_label(methods[name]))))
    ranks = sorted((m for m in methods.values() if m.get("rank")), key=lambda m: m["rank"])
    if ranks:
        top = ranks[-1]
        stats.append((_num(top.get("val_loss")), _("{method}: validation loss, {share} of the parameters trained").format(
            method=_method_label(top), share=f"{top.get('share', 0):.2%}")))
    return stats


def _facts(run: RunFiles) -> list[str]:
    d = run.lora
    return [_("{poet}'s {n} poems: {train} to adapt to, {val} held out; LoRA through {backend}").format(
        poet=d.get("poet"), n=d.get("poet_poems"), train=d.get("poet_train"), val=d.get("poet_val"), backend=d.get("backend"))]


def _has(run: RunFiles) -> bool:
    return run.lora is not None


REPORT = KindReport("lora", files=("lora.json",), result_file="lora.json",
                    missing={"lora.json": N_("the fine-tuning methods' losses")},
                    sections=(Section("lora-comparison", N_("Fine-tuning towards one poet"), _comparison_section, _has, order=61),
                              Section("lora-curves", N_("Validation loss during fine-tuning"), _curves_section, _has, order=62),
                              Section("lora-samples", N_("What each model writes"), _samples_section, _has, order=63)),
                    headline=_headline, facts=_facts)
register(Kind("lora", run, N_("adapt a poetry GPT to one poet: LoRA at several ranks against full fine-tuning and none"),
              section="lora", config=LoRAKindConfig, report=REPORT, order=87,
              smoke=("tang-poetry-lora", ("lora.poem_files=1", "lora.base_size=[1, 2, 16]", "lora.base_steps=4", "lora.steps=4",
                                          "lora.block_size=16", "lora.batch_size=4", "lora.eval_every=2", "lora.eval_batches=1",
                                          "lora.sample_chars=6", "lora.ranks=[2]")),
              smoke_needs_data=True))
