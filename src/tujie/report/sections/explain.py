"""Explanations section: what `tujie explain RUN_DIR` wrote (explain.json, explain.safetensors), for any classifier run.

The maps are computed by `tujie.trust.explain` (a domain this floor does not import); this file
only reads the two files back, so `tujie report RUN_DIR` redraws the section at any time.
"""

from __future__ import annotations

import math

from ... import plots as figures
from ...i18n import N_, _
from ...plots.explain import attribution_grid
from ..format import _e, _img, _note, _section, _table
from ..run_files import RunFiles

MAPS_FILE = "explain.safetensors"
_NAMES = {"saliency": N_("Saliency"), "ig": N_("Integrated gradients"), "gradcam": N_("Grad-CAM"),
          "occlusion": N_("Occlusion")}
_SHOWN = 6  # rows per figure


def _has_explanations(run: RunFiles) -> bool:
    return run.explain is not None


def _maps(run: RunFiles) -> dict | None:
    try:
        from safetensors.numpy import load_file

        return load_file(str(run.folder / MAPS_FILE))
    except Exception:  # noqa: BLE001  a missing or damaged file: the section says so instead
        return None


def _name(method: str) -> str:
    return _(_NAMES.get(method, method))


def _figure_name(method: str) -> str:
    return figures.figure_label(_NAMES.get(method, method))


def _captions(examples: list[dict], classes: list[str]) -> tuple[list[str], list[str]]:
    def cls(i):
        return classes[i] if 0 <= i < len(classes) else str(i)

    captions, colors = [], []
    for e in examples:
        p, t = int(e.get("predicted", -1)), int(e.get("label", -1))
        captions.append(figures.figure_label("{predicted} ({confidence:.0%}), true {true}").format(
            predicted=cls(p), confidence=float(e.get("confidence", 0.0)), true=cls(t)))
        colors.append(figures.CORRECT_COLOR if p == t else figures.WRONG_COLOR)
    return captions, colors


def _grid(tensors: dict, methods: list[str], rows: list[int], examples: list[dict], classes: list[str],
          prefix: str = "map_") -> str | None:
    if not rows:
        return None
    maps = [(_figure_name(m), tensors[f"{prefix}{m}"][rows]) for m in methods if f"{prefix}{m}" in tensors]
    captions, colors = _captions([examples[r] for r in rows], classes)
    return attribution_grid(tensors["images"][rows], maps, captions, colors)


def _rho(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):.2f}"


def _explain_section(run: RunFiles) -> str:
    how = _("Which pixels made the model choose its class, by four methods: <b>saliency</b> (how strongly each pixel's "
            "gradient moves the class score), <b>integrated gradients</b> (gradients summed along the path from a black "
            "image; red pixels argue for the class, blue against, and they add up to the score's change), "
            "<b>Grad-CAM</b> (where the last convolution's features that raise the score lie) and <b>occlusion</b> "
            "(how much the score falls when a small square is blacked out). The sanity check of Adebayo et al. (2018) "
            "redraws every weight at random and explains again: a method whose maps barely change (rank correlation "
            "near 1) shows the image, not what the model learned.")
    info = run.explain or {}
    if info.get("task") == "text":
        return _text_section(run, info)
    tensors = _maps(run)
    methods = [str(m) for m in info.get("methods", [])]
    if tensors is None or "images" not in tensors:
        return _section("explain", _("Explanations"), how,
                        _note(_("<code>{file}</code> is missing or unreadable: run <code>tujie explain RUN_DIR</code> "
                                "again.").format(file=MAPS_FILE)))
    examples, classes = list(info.get("examples", [])), [str(c) for c in info.get("classes", [])]
    seconds, rhos, ink = info.get("seconds_per_image", {}), info.get("spearman", {}), info.get("spearman_ink", {})
    rows = [[_e(_name(m)), _e(f"{1000 * float(seconds.get(m, float('nan'))):.2f}"), _e(_rho(rhos.get(m))), _e(_rho(ink.get(m))),
             _("passes") if rhos.get(m) is not None and abs(float(rhos[m])) < 0.5 else _("fails: the map follows the image")]
            for m in methods]
    table = _table([_("method"), _("ms per image"), _("rank correlation with the randomised model"),
                    _("the same, on the pixels that are not black"), _("sanity check")], rows)
    gap = info.get("ig_gap_relative")
    completeness = ("" if gap is None else '<p class="aside">' + _(
        "Integrated gradients' completeness: the attributions add up to the score's change from the black image within "
        "{gap:.1%} of it ({steps} steps).").format(gap=float(gap), steps=int(info.get("ig_steps", 0))) + '</p>')
    correct = [i for i, e in enumerate(examples) if e.get("group") == "correct"][:_SHOWN]
    wrong = [i for i, e in enumerate(examples) if e.get("group") == "mistake"][:_SHOWN]
    body = [table, completeness]
    for picked, title in ((correct, _("correct predictions")), (wrong, _("the most confident mistakes"))):
        png = _grid(tensors, methods, picked, examples, classes)
        if png is not None:
            body.append(f"<h3>{_e(title)}</h3>" + _img(png, title))
    if wrong == [] and correct:
        body.append(_note(_("No mistakes among the test images searched.")))
    sanity = sorted(correct[:1] + wrong[:1])
    if sanity and all(f"random_{m}" in tensors for m in methods):
        pairs = [(_figure_name(m), [tensors[f"map_{m}"][i] for i in sanity] + [tensors[f"random_{m}"][i] for i in sanity])
                 for m in methods]
        labels = [figures.figure_label("trained")] * len(sanity) + [figures.figure_label("randomised")] * len(sanity)
        png = attribution_grid(tensors["images"][sanity + sanity], pairs, labels)
        body.append("<h3>" + _e(_("Sanity check: the trained model (top) and the randomised one (bottom)")) + "</h3>"
                    + _img(png, _("sanity check")))
    return _section("explain", _("Explanations"), how, "".join(body))


_FOR, _AGAINST = "214, 39, 40", "31, 95, 209"  # red: evidence for the predicted class; blue: against it
_MAX_TOKENS = 200


def _shaded(tokens: list, values: list) -> str:
    top = max((abs(float(v)) for v in values), default=0.0) or 1.0
    spans = []
    for token, value in list(zip(tokens, values))[:_MAX_TOKENS]:
        v = float(value)
        rgb = _FOR if v > 0 else _AGAINST
        spans.append(f'<span style="background: rgba({rgb}, {min(1.0, abs(v) / top):.3f})" title="{v:+.3f}">{_e(token)}</span>')
    if len(tokens) > _MAX_TOKENS:
        spans.append('<span class="sub">' + _("… {count} more words").format(count=f"{len(tokens) - _MAX_TOKENS:,}") + "</span>")
    return '<p class="review attention">' + " ".join(spans) + "</p>"


def _text_section(run: RunFiles, info: dict) -> str:
    how = _("Integrated gradients over the word embeddings: how much each word moved the score of the class the model "
            "chose, from an empty text (all padding) to this one. <span style=\"background: rgba(214, 39, 40, 0.6)\">Red"
            "</span> words argue for that class, <span style=\"background: rgba(31, 95, 209, 0.6)\">blue</span> ones "
            "against it (hover over a word for its value). The sanity check of Adebayo et al. (2018) explains the same "
            "texts with every weight redrawn at random: the words lit up should change.")
    classes = [str(c) for c in info.get("classes", [])]
    seconds, rho = info.get("seconds_per_image", {}).get("ig"), info.get("spearman", {}).get("ig")
    facts = '<p class="aside">' + _("{ms} ms per text; rank correlation with the randomised model {rho}.").format(
        ms=_e("—" if seconds is None else f"{1000 * float(seconds):.1f}"), rho=_e(_rho(rho))) + "</p>"
    cards = []
    for e in info.get("examples", [])[: 2 * _SHOWN]:
        p, t = int(e.get("predicted", -1)), int(e.get("label", -1))

        def cls(i):
            return classes[i] if 0 <= i < len(classes) else str(i)
        meta = _("predicted {predicted} ({confidence:.0%}), true {true}").format(
            predicted=f'<span class="mono">{_e(cls(p))}</span>', confidence=float(e.get("confidence", 0.0)),
            true=f'<span class="mono">{_e(cls(t))}</span>')
        cards.append(f'<div class="textcard"><p class="meta {"ok-text" if p == t else "bad-text"}">{meta}</p>'
                     + _shaded(list(e.get("tokens", [])), list(e.get("attributions", []))) + "</div>")
    return _section("explain", _("Explanations"), how, facts + "".join(cards))
