"""The CTC model and its loop: output lengths as the convolutions make them, the loss falls, the evaluations count right."""

import numpy as np
import torch

from tujie.models import create
from tujie.speech.audio import Recording
from tujie.speech.training import evaluate_strings, isolated_accuracy, train_ctc
from tujie.speech.strings import make_strings


def test_output_lengths_are_the_frames_the_model_makes():
    model = create("ctc_digits", channels=8, hidden=8).eval()
    for frames in (1, 2, 3, 4, 5, 17, 40):
        out = model(torch.randn(1, 40, frames))
        assert out.shape[1] == int(model.output_lengths(torch.tensor(frames)))


def test_ctc_training_lowers_the_loss_on_tones():
    t = np.arange(1600) / 8000
    recs = [Recording((0.5 * np.sin(2 * np.pi * (300 + 500 * d) * t)).astype(np.float32), d, "tone", i)
            for d in range(3) for i in range(2)]
    torch.manual_seed(0)
    model = create("ctc_digits", channels=16, hidden=16)
    history = train_ctc(model, recs, epochs=3, strings_per_epoch=24, batch_size=8, lr=1e-2, seed=0, max_digits=3)
    assert history[-1]["loss"] < history[0]["loss"] / 2
    result = evaluate_strings(model, make_strings(recs, 6, seed=9, max_digits=3))
    assert 0 <= result["cer"] and set(result["by_speaker"]) == {"tone"}
    iso = isolated_accuracy(model, recs)
    assert iso["count"] == 6 and np.array(iso["confusion"]).sum() == 6 and 0 <= iso["accuracy"] <= 1
