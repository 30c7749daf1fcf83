"""The `speech_ctc` kind: spoken digit strings read by a CTC model, tested on a speaker it never heard.

1. **Data**: the Free Spoken Digit Dataset (`tujie.speech.audio.load_fsdd`, checked against its
   sha256 sums), or a folder of the user's `{digit}_{speaker}_{index}.wav` files (`speech_ctc.folder`;
   a file at another sample rate is resampled to 8 kHz and said so). One speaker
   (`held_out_speaker`) is kept out entirely: the test. Of every other speaker, the files of index
   below `validation_index_below` (FSDD's official test files are 0–4) are the validation set;
   the rest train.
2. **Strings**: 1–5 recordings of one speaker joined with random silences, drawn anew each epoch
   (`speech.strings.make_strings`, seeded by seed + epoch); validation and test strings are drawn
   once, from their own recordings.
3. **Model**: the recipe's `model:` (`ctc_digits`: conv front end + bidirectional GRU + linear to
   10 digits and the blank), trained with `torch.nn.CTCLoss` (`speech.training.train_ctc`): AdamW at
   `optimizer.lr` (one-cycle), `train.epochs` of `strings_per_epoch` strings in batches of `train.batch_size`.
4. **Evaluation**: greedy decoding and prefix beam search; CER and WER through jiwer (over the digits'
   names), the string error rate; isolated-digit accuracy: each single recording of the unheard
   speaker decoded as a string and counted right only when exactly its digit is read (no classifier
   head); the same per speaker (seen speakers: their validation recordings and strings).

Writes speech_ctc.json and the trained weights (ctc_digits.safetensors). Recipe: fsdd-ctc.
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
from ..report.format import _e, _img, _note, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register


class SpeechCTCConfig(Strict):
    folder: str | None = Field(None, description="a folder of {digit}_{speaker}_{index}.wav files instead of FSDD")
    held_out_speaker: str = Field("theo", description="the speaker never heard in training: the test")
    validation_index_below: Int = Field(5, ge=1, description="each seen speaker's files of index below this: validation")
    strings_per_epoch: Int = Field(640, ge=1, description="training strings drawn anew every epoch")
    min_digits: Int = Field(1, ge=1)
    max_digits: Int = Field(5, ge=1)
    silence: tuple[Float, Float] = Field((0.05, 0.3), description="shortest and longest pause, seconds")
    validation_strings: Int = Field(40, ge=1, description="validation strings per seen speaker")
    test_strings: Int = Field(300, ge=1, description="strings of the unheard speaker")
    beam: Int = Field(8, ge=1, description="prefix beam search's width")


def _recordings(context: RunContext, section: SpeechCTCConfig):
    """(recordings, notes): FSDD (data.limit keeps the files of index below it) or the user's folder."""
    from ..speech.audio import load_fsdd, read_folder

    data = context.config.data
    if section.folder:
        return read_folder(section.folder)
    return load_fsdd(data_dir=data.data_dir, max_index=data.limit), []


def _split(recordings, section: SpeechCTCConfig):
    speakers = sorted({r.speaker for r in recordings})
    if section.held_out_speaker not in speakers or len(speakers) < 2:
        raise ConfigError(f"The held-out speaker {section.held_out_speaker!r} is not one of the recordings' speakers, "
                          "or there is no other speaker to train on.",
                          expected=f"one of {', '.join(speakers)}, and at least two speakers",
                          received=f"speech_ctc.held_out_speaker={section.held_out_speaker!r}",
                          fix="Set speech_ctc.held_out_speaker to one of the speakers listed.")
    test = [r for r in recordings if r.speaker == section.held_out_speaker]
    seen = [r for r in recordings if r.speaker != section.held_out_speaker]
    validation = [r for r in seen if r.index < section.validation_index_below]
    train = [r for r in seen if r.index >= section.validation_index_below]
    if not train or not validation:
        raise ConfigError("The split leaves no training or no validation recordings.",
                          expected="seen speakers' files both below and at or above validation_index_below",
                          received=f"validation_index_below={section.validation_index_below}, {len(seen)} seen recordings",
                          fix="Lower speech_ctc.validation_index_below, or raise data.limit.")
    return train, validation, test, speakers


def run(context: RunContext) -> dict:
    """Train the CTC model on the seen speakers' strings, then test on the unheard speaker; write speech_ctc.json."""
    import torch

    from ..models import create
    from ..speech.strings import batch_features, make_strings
    from ..speech.training import evaluate_strings, isolated_accuracy, posteriors, train_ctc
    from ..train.checkpoint import save_weights

    config, say = context.config, context.say
    section = config.speech_ctc or SpeechCTCConfig()
    if section.min_digits > section.max_digits:
        raise ConfigError("speech_ctc.min_digits is above max_digits.", expected="min_digits <= max_digits",
                          received=f"{section.min_digits} > {section.max_digits}", fix="Set e.g. min_digits=1, max_digits=5.")
    started = time.perf_counter()
    recordings, notes = _recordings(context, section)
    train, validation, test, speakers = _split(recordings, section)
    run_dir = context.run_dir
    for note in notes[:3]:  # a folder recorded at 16 kHz: three files named, then a count
        say(_("Data: {note}").format(note=note))
    if len(notes) > 3:
        say(_("Data: {count} more files changed the same way").format(count=len(notes) - 3))
    say(_("{train} training, {val} validation recordings of {seen} speakers; {test} of {held} kept for the test").format(
        train=len(train), val=len(validation), seen=len(speakers) - 1, test=len(test), held=section.held_out_speaker))
    pauses = tuple(section.silence)
    draw = dict(min_digits=section.min_digits, max_digits=section.max_digits, silence=pauses)
    val_strings = [s for i, speaker in enumerate(sorted({r.speaker for r in validation}))
                   for s in make_strings([r for r in validation if r.speaker == speaker], section.validation_strings,
                                         seed=config.seed + 1_000 + i, **draw)]
    test_strings = make_strings(test, section.test_strings, seed=config.seed + 2_000, **draw)
    kwargs = config.model.model_dump()
    name, weights = kwargs.pop("name"), kwargs.pop("weights", None)
    context.seed()
    model = create(name, weights=weights, **kwargs)
    if not hasattr(model, "blank") or not hasattr(model, "output_lengths"):
        raise ConfigError(f"Model {name!r} is not a CTC model.", expected="a model with `blank` and `output_lengths` (ctc_digits)",
                          received=f"model.name={name!r}", fix="Set model.name: ctc_digits.")
    lr = config.optimizer.lr or 6e-3

    def validate(m):
        return {"val_" + k: v for k, v in evaluate_strings(m, val_strings).items() if k in ("cer", "wer", "string_error")}

    def log(record):
        say(_("epoch {epoch}: CTC loss {loss}, validation CER {cer} ({seconds} s)").format(
            epoch=record["epoch"], loss=f"{record['loss']:.3f}", cer=f"{record['val_cer']:.1%}", seconds=f"{record['seconds']:.0f}"))

    with one_thread():  # small batches of a small GRU: a second thread only waits
        history = train_ctc(model, train, config.train.epochs, section.strings_per_epoch, config.train.batch_size, lr, config.seed,
                            clip=config.train.clip_grad_norm or 5.0, evaluate=validate, log=log, **draw)
        trained = time.perf_counter()
        results = {}
        for decoder, beam in (("greedy", None), ("beam", section.beam)):
            results[decoder] = {"test": evaluate_strings(model, test_strings, beam),
                                "validation": evaluate_strings(model, val_strings, beam),
                                "isolated_test": isolated_accuracy(model, test, beam),
                                "isolated_validation": isolated_accuracy(model, validation, beam)}
        example = test_strings[0]
        feats, lengths = batch_features([example.wave])  # (1, n_mels, frames)
        post = posteriors(model, [example.wave])[0]  # (frames', classes)
    save_weights(run_dir / "ctc_digits.safetensors", model, {"model": name, "held_out_speaker": section.held_out_speaker})
    beam = results["beam"]
    frame_step = int(round(int(lengths[0]) / max(1, post.shape[0])))
    write_json(run_dir / "speech_ctc.json", {
        "held_out_speaker": section.held_out_speaker, "speakers": speakers, "model": name, "beam": section.beam,
        "counts": {"train": len(train), "validation": len(validation), "test": len(test),
                   "validation_strings": len(val_strings), "test_strings": len(test_strings),
                   "strings_per_epoch": section.strings_per_epoch, "epochs": config.train.epochs},
        "history": history, "results": results,
        "alignment": {"digits": example.digits, "logmel": torch.round(feats[0] * 100).div(100).tolist(),
                      "log_posteriors": torch.round(post * 1000).div(1000).tolist(), "frame_step": frame_step,
                      "blank": int(model.blank)},
        "timings": {"train_s": trained - started, "evaluate_s": time.perf_counter() - trained}})
    say(_("Unheard speaker {speaker}: CER {cer} (beam), {greedy} (greedy); isolated digits {accuracy}").format(
        speaker=section.held_out_speaker, cer=f"{beam['test']['cer']:.2%}", greedy=f"{results['greedy']['test']['cer']:.2%}",
        accuracy=f"{beam['isolated_test']['accuracy']:.1%}"))
    out = {"cer": beam["test"]["cer"], "wer": beam["test"]["wer"], "digit_accuracy": beam["isolated_test"]["accuracy"],
           "cer_greedy": results["greedy"]["test"]["cer"], "wer_greedy": results["greedy"]["test"]["wer"],
           "digit_accuracy_greedy": results["greedy"]["isolated_test"]["accuracy"],
           "string_error": beam["test"]["string_error"], "val_cer": beam["validation"]["cer"]}
    return {"results": out, "timings": {"total_s": time.perf_counter() - started}}


# ----------------------------------------------------------------------------------- report
_DECODERS = {"greedy": N_("greedy"), "beam": N_("prefix beam search")}


def _mono(text) -> str:
    return f'<span class="mono">{_e(text)}</span>'


def _pct(value) -> str:
    return "—" if not isinstance(value, (int, float)) or math.isnan(value) else f"{100 * value:.2f}%"


def _alignment_section(run: RunFiles) -> str:
    from ..plots.speech import ctc_alignment

    a = run.speech_ctc.get("alignment") or {}
    how = _("The first test string of the unheard speaker: its log-mel features (top; 10 ms frames, 40 mel channels) "
            "and, per output frame of the model (40 ms), the posterior of each digit and of the blank (bottom). "
            "CTC lets most frames say blank; a digit's spike marks where the model heard it. The white lines are "
            "where the frame-wise argmax path starts a new digit: the greedy reading.")
    if not a.get("logmel"):
        return _section("speech-alignment", _("Spectrogram and CTC alignment"), how, _note(_e(_("No example was kept."))))
    said = _("digits said: {digits}").format(digits=_mono(" ".join(map(str, a.get("digits") or []))))
    return _section("speech-alignment", _("Spectrogram and CTC alignment"), how,
                    f"<p>{said}</p>" + _img(ctc_alignment(a["logmel"], a["log_posteriors"], a.get("frame_step", 4), a.get("blank", 10)),
                                            _("log-mel spectrogram with the CTC path")))


def _rates_section(run: RunFiles) -> str:
    s = run.speech_ctc
    results = s.get("results") or {}
    held = s.get("held_out_speaker")
    rows = []
    for decoder, entry in results.items():
        t, iso = entry.get("test") or {}, entry.get("isolated_test") or {}
        rows.append([_e(_(_DECODERS.get(decoder, decoder))), _pct(t.get("cer")), _pct(t.get("wer")), _pct(t.get("string_error")),
                     _pct(iso.get("accuracy")), _pct((entry.get("validation") or {}).get("cer"))])
    how = _("Strings of 1–5 digits said by {speaker}, whom the model never heard, read by greedy decoding and by prefix "
            "beam search (width {beam}). WER counts wrong, missing and extra digits per digit said; CER does the same on "
            "the letters of the digits' names (jiwer). A string is wrong when any digit is. Isolated digits: each of the "
            "speaker's single recordings decoded as a string, right only when exactly its digit is read. The last column "
            "is the CER on the seen speakers' held-out recordings.").format(speaker=_mono(held), beam=s.get("beam"))
    table = _table([_("decoder"), _("CER"), _("WER"), _("strings wrong"), _("isolated-digit accuracy"),
                    _("validation CER (seen speakers)")], rows, "numbers")
    examples = (results.get("beam") or {}).get("test", {}).get("examples") or []
    example_rows = [[_mono(" ".join(map(str, e["digits"]))), _mono(" ".join(map(str, e["decoded"])) or "∅"),
                     _e(_("right") if e["digits"] == e["decoded"] else _("wrong"))] for e in examples]
    return _section("speech-rates", _("Error rates on the unheard speaker"), how,
                    table + _table([_("digits said"), _("digits read"), _("reading")], example_rows))


def _speakers_section(run: RunFiles) -> str:
    from ..plots.speech import speaker_bars

    s = run.speech_ctc
    beam = (s.get("results") or {}).get("beam") or {}
    held = s.get("held_out_speaker")
    rates = dict((beam.get("validation") or {}).get("by_speaker") or {})
    rates.update((beam.get("test") or {}).get("by_speaker") or {})
    iso = dict((beam.get("isolated_validation") or {}).get("by_speaker") or {})
    iso.update((beam.get("isolated_test") or {}).get("by_speaker") or {})
    speakers = sorted(rates)
    how = _("CER of prefix beam search per speaker: the seen speakers on strings of their held-out recordings (never "
            "trained on, but their voices were heard), {speaker} (red) on strings of all their recordings. The gap is "
            "what an unheard voice costs. Isolated-digit accuracy likewise.").format(speaker=_mono(held))
    rows = [[_mono(k) + (" " + _e(_("(never heard)")) if k == held else ""), _pct(rates[k].get("cer")), _pct(rates[k].get("wer")),
             _pct((iso.get(k) or {}).get("accuracy")), _e((iso.get(k) or {}).get("count", "—"))] for k in speakers]
    figure = _img(speaker_bars(speakers, [rates[k].get("cer", math.nan) for k in speakers], held_out=held),
                  _("CER per speaker")) if speakers else ""
    return _section("speech-speakers", _("Error rates per speaker"), how,
                    figure + _table([_("speaker"), _("CER"), _("WER"), _("isolated-digit accuracy"), _("single recordings")],
                                    rows, "numbers"))


def _training_section(run: RunFiles) -> str:
    from ..plots.speech import training_curves

    history = run.speech_ctc.get("history") or []
    how = _("The CTC loss of each epoch's fresh training strings (log scale) and the greedy CER and string error "
            "on the seen speakers' validation strings after each epoch. CTC usually sits on a plateau first, saying "
            "blank everywhere, before the digits appear.")
    if not history:
        return _section("speech-training", _("Training curves"), how, _note(_e(_("No epoch was recorded."))))
    epochs = [h["epoch"] for h in history]
    series = {"validation CER": [h.get("val_cer", math.nan) for h in history],
              "validation strings wrong": [h.get("val_string_error", math.nan) for h in history]}
    return _section("speech-training", _("Training curves"), how,
                    _img(training_curves(epochs, [h["loss"] for h in history], series), _("training curves")))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    s = run.speech_ctc
    beam = (s.get("results") or {}).get("beam") or {}
    held = s.get("held_out_speaker")
    return [(_pct((beam.get("test") or {}).get("cer")), _("CER on the unheard speaker {speaker}").format(speaker=held)),
            (_pct((beam.get("isolated_test") or {}).get("accuracy")), _("isolated-digit accuracy, {speaker}").format(speaker=held))]


def _facts(run: RunFiles) -> list[str]:
    c = run.speech_ctc.get("counts") or {}
    return [_("{train} training recordings of {seen} speakers, {strings} fresh strings per epoch, {epochs} epochs").format(
        train=c.get("train"), seen=len(run.speech_ctc.get("speakers") or []) - 1, strings=c.get("strings_per_epoch"),
        epochs=c.get("epochs"))]


def _has(run: RunFiles) -> bool:
    return run.speech_ctc is not None


_TEXT_FIGURE = (N_("validation CER"), N_("validation strings wrong"))  # the curves' labels, drawn through figure_label
REPORT = KindReport("speech_ctc", files=("speech_ctc.json",), result_file="speech_ctc.json",
                    missing={"speech_ctc.json": N_("the recognition results")},
                    sections=(Section("speech-alignment", N_("Spectrogram and CTC alignment"), _alignment_section, _has, order=61),
                              Section("speech-rates", N_("Error rates on the unheard speaker"), _rates_section, _has, order=62),
                              Section("speech-speakers", N_("Error rates per speaker"), _speakers_section, _has, order=63),
                              Section("speech-training", N_("Training curves"), _training_section, _has, order=64)),
                    headline=_headline, facts=_facts)
register(Kind("speech_ctc", run, N_("spoken digit strings (FSDD) read by a CTC model, tested on a speaker never heard"),
              section="speech_ctc", config=SpeechCTCConfig, report=REPORT, order=84,
              smoke=("fsdd-ctc", ("epochs=1", "limit=2", "batch_size=8", "speech_ctc.validation_index_below=1",
                                  "speech_ctc.strings_per_epoch=16", "speech_ctc.validation_strings=2", "speech_ctc.test_strings=4",
                                  "speech_ctc.beam=2", "model.channels=8", "model.hidden=8")),
              smoke_needs_data=True))
