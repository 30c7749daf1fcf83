"""Examples sections."""

from __future__ import annotations

import math

from ... import plots as figures
from ...i18n import _, ngettext
from ..format import _as_float, _e, _finite, _fmt, _img, _note, _section
from ..run_files import RunFiles, _one_model
from .header import _is_classification


def _samples_arrays(run: RunFiles, prefix: str):
    samples = run.samples or {}
    images, probs, labels = (samples.get(f"{prefix}{k}") for k in ("images", "probs", "labels"))
    if images is None or probs is None or labels is None or len(images) == 0:
        return None
    return images, probs, labels


def _class_names(run: RunFiles) -> list[str] | None:
    classes = (run.evaluation or {}).get("classes")
    return [str(c) for c in classes] if classes else None


def _legend_predictions() -> str:
    return ('<p class="legend">' + _('<span class="ok-text">blue caption</span> = correct, '
                                     '<span class="bad-text">red caption</span> = wrong. In the bars, the '
                                     '<span class="bad-text">red bar</span> is the predicted class and the '
                                     '<span class="ok-text">blue bar</span> the true class.') + '</p>')


def _predictions_section(run: RunFiles) -> str:
    how = _('Test images with the model\'s answer under each one: "predicted class, its '
            'probability, (true class)". Beside each image, the probability the model gives to '
            'every class; a confident model puts almost all of it on one bar.')
    arrays = _samples_arrays(run, "")
    if arrays is None:
        why = (_("<code>samples.safetensors</code> is missing") if "samples.safetensors" not in run.found
               else _("<code>samples.safetensors</code> holds no images"))
        return _section("predictions", _("Predictions on test images"), how,
                        _note(_("No example predictions: {why}.").format(why=why)))
    images, probs, labels = arrays
    shown = min(len(images), 15)
    png = figures.prediction_grid(images, probs, labels, _class_names(run), columns=3, max_rows=5)
    body = _legend_predictions() + _img(png, _("{count} test images with predicted probabilities").format(count=shown))
    return _section("predictions", _("Predictions on test images"), how, body)


def _wrong_section(run: RunFiles) -> str:
    how = _("The test images the model got wrong while being most sure of itself. They often show "
            "ambiguous or mislabelled examples, or a pattern the model has not learned.")
    arrays = _samples_arrays(run, "wrong_")
    if arrays is None:
        has_samples = run.samples is not None
        why = (_("the model made no mistakes on the sampled test examples, or none were saved")
               if has_samples else _("<code>samples.safetensors</code> is missing"))
        return _section("wrong", _("Most confident mistakes"), how, _note(_("Nothing to show: {why}.").format(why=why)))
    images, probs, labels = arrays
    png = figures.prediction_grid(images, probs, labels, _class_names(run), columns=3, max_rows=5)
    more = ('<p class="aside">' + ngettext("Showing the 15 most confident of {count} saved mistake.",
                                           "Showing the 15 most confident of {count} saved mistakes.",
                                           len(images)).format(count=len(images)) + '</p>'
            if len(images) > 15 else "")
    body = _legend_predictions() + _img(png, _("the most confidently wrong test predictions")) + more
    return _section("wrong", _("Most confident mistakes"), how, body)


def _text_mistakes_section(run: RunFiles) -> str:
    how = _("The test texts the model got wrong while being most sure of itself, with the label it "
            "gave, the true one and its confidence. Sarcasm, negation (\u201cnot bad at all\u201d) and "
            "reviews that change their mind halfway are the usual suspects; a text cut at the "
            "length limit may have lost the sentence that decides it.")
    data = run.text_samples or {}
    cards = []
    for row in data.get("wrong", []):
        text = str(row.get("text", ""))
        shown = text if len(text) <= 900 else text[:900] + " …"
        tokens = _("{count} tokens").format(count=_e(_fmt(row.get("tokens"))))
        cards.append(
            f'<div class="textcard"><p class="meta"><span class="bad-text">{_predicted_words(row)}</span> '
            f'{_sure_words(row)} · {_true_words(row)} · {tokens}</p>'
            f'<p class="review">{_e(shown)}</p></div>')
    if not cards:
        return _section("text-mistakes", _("Most confident mistakes"), how,
                        _note(_("Nothing to show: the model made no mistake on the test texts, or none were saved.")))
    return _section("text-mistakes", _("Most confident mistakes"), how, "".join(cards))


def _predicted_words(row: dict) -> str:
    """'predicted positive' (escaped HTML)."""
    return _("predicted {label}").format(label=_e(row.get("predicted")))


def _sure_words(row: dict) -> str:
    """'(93.00% sure)' (escaped HTML)."""
    return _("({confidence} sure)").format(confidence=_e(_fmt(_as_float(row.get("confidence")), "accuracy")))


def _true_words(row: dict) -> str:
    """'true <span class="ok-text">negative</span>'."""
    return _("true {label}").format(label=f'<span class="ok-text">{_e(row.get("label"))}</span>')


def _has_text_attention(run: RunFiles) -> bool:
    return isinstance(run.text_samples, dict) and bool(run.text_samples.get("attention"))


_ATTENTION_RGB = "245, 158, 11"  # amber: black text stays readable on it at full strength


_MAX_ATTENTION_TOKENS = 600


def _text_attention_section(run: RunFiles) -> str:
    how = _("Where the classifier's attention went while it read a few test reviews. The darker a word's "
            "background, the more weight the model gave it (the darkest word had the most; hover over a word to "
            "see its weight); the weights add up to 1 over the review. Attention shows what the model looked "
            "at, not why it decided: weight on \u201cnot\u201d and \u201cbad\u201d together is a good sign, weight on "
            "punctuation, names or the padding suggests a shortcut.")
    items = run.text_samples["attention"]
    if not isinstance(items, list):
        raise ValueError(f"text_samples.json's attention is a {type(items).__name__}, not a list")
    cards = []
    for number, item in enumerate(items[:4], 1):
        tokens = item.get("tokens") if isinstance(item, dict) else None
        weights = item.get("weights") if isinstance(item, dict) else None
        if not isinstance(tokens, list) or not isinstance(weights, list) or not tokens or len(tokens) != len(weights):
            raise ValueError(f"text_samples.json's attention item {number} needs lists tokens and weights of the "
                             f"same, non-zero, length")
        values = [_as_float(w) for w in weights]
        top = max(_finite(values), default=0.0)
        spans = []
        weight_words = _("weight {value}")
        for token, weight in zip(tokens[:_MAX_ATTENTION_TOKENS], values):
            strength = weight / top if top > 0 and math.isfinite(weight) and weight > 0 else 0.0
            spans.append(f'<span style="background: rgba({_ATTENTION_RGB}, {strength:.3f})" '
                         f'title="{_e(weight_words.format(value=_fmt(weight)))}">{_e(token)}</span>')
        if len(tokens) > _MAX_ATTENTION_TOKENS:
            more = _("… {count} more words").format(count=f"{len(tokens) - _MAX_ATTENTION_TOKENS:,}")
            spans.append(f'<span class="sub">{more}</span>')
        right = str(item.get("predicted")) == str(item.get("label"))
        heaviest = tokens[values.index(top)] if top > 0 else None
        words = _("{count} words").format(count=f"{len(tokens):,}")
        meta = (f'<span class="{"ok-text" if right else "bad-text"}">{_predicted_words(item)}</span> '
                f'{_sure_words(item)} · {_true_words(item)} · {words}'
                + (" · " + _("most weight on {word} ({weight})").format(word=f"<b>{_e(heaviest)}</b>",
                                                                        weight=_e(_fmt(top)))
                   if heaviest is not None else ""))
        cards.append(f'<div class="textcard"><p class="meta">{meta}</p>'
                     f'<p class="review attention">{" ".join(spans)}</p></div>')
    background, little, most = _("Background:"), _("little weight"), _("the most weight in the review")
    legend = (f'<p class="legend">{background} <span class="swatch" style="background: rgba('
              f'{_ATTENTION_RGB}, 0.15)">{little}</span> <span class="swatch" style="background: '
              f'rgba({_ATTENTION_RGB}, 1)">{most}</span></p>')
    return _section("text-attention", _("Attention over the words"), how, legend + "".join(cards))


def _has_samples(run: RunFiles) -> bool:
    # a text run shows its examples as text (text_samples.json), never as images
    return _is_classification(run) and run.text_samples is None and (_one_model(run) or run.samples is not None)
