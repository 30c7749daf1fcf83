"""WAV files and FSDD: resampling with a note, unreadable files named, the checksums checked, the speaker split."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from tujie.errors import ChecksumError, ConfigError, DataError
from tujie.speech.audio import Recording, load_fsdd, parse_name, read_folder, read_wav


def test_a_16_khz_file_is_resampled_with_a_note_naming_it(tmp_path):
    t = np.arange(16000) / 16000
    wavfile.write(tmp_path / "4_ann_0.wav", 16000, (np.sin(2 * np.pi * 440 * t) * 20000).astype(np.int16))
    samples, note = read_wav(tmp_path / "4_ann_0.wav")
    assert samples.shape == (8000,) and "4_ann_0.wav" in note and "16000 Hz to 8000 Hz" in note
    spectrum = np.abs(np.fft.rfft(samples))  # the tone survives at 440 Hz (1 Hz bins at 8000 samples)
    assert abs(int(spectrum.argmax()) - 440) <= 1
    recordings, notes = read_folder(tmp_path)
    assert recordings[0].digit == 4 and notes == [note]


def test_an_undecodable_file_is_a_data_error_naming_it(tmp_path):
    bad = tmp_path / "1_bob_0.wav"
    bad.write_bytes(b"RIFF this is not audio")
    with pytest.raises(DataError, match="1_bob_0.wav"):
        read_wav(bad)
    with pytest.raises(DataError, match="1_bob_0.wav"):
        read_folder(tmp_path)
    with pytest.raises(DataError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def test_names_must_say_digit_and_speaker(tmp_path):
    assert parse_name("9_yweweler_49.wav") == (9, "yweweler", 49)
    with pytest.raises(DataError, match="hello.wav"):
        parse_name("hello.wav")
    with pytest.raises(DataError, match="no .wav"):
        read_folder(tmp_path)


def test_the_held_out_speaker_must_be_there():
    from tujie.kinds.speech_ctc import SpeechCTCConfig, _split

    recs = [Recording(np.zeros(10, np.float32), d, s, i) for s in ("ann", "bob") for d in range(10) for i in range(3)]
    train, validation, test, speakers = _split(recs, SpeechCTCConfig(held_out_speaker="bob", validation_index_below=1))
    assert {r.speaker for r in test} == {"bob"} and {r.speaker for r in train + validation} == {"ann"}
    assert all(r.index < 1 for r in validation) and all(r.index >= 1 for r in train) and speakers == ["ann", "bob"]
    with pytest.raises(ConfigError, match="ann, bob"):
        _split(recs, SpeechCTCConfig(held_out_speaker="theo"))


@pytest.mark.data
def test_fsdd_loads_and_a_changed_file_fails_its_checksum(tmp_path):
    import os

    recordings = load_fsdd(speakers=["theo"], max_index=1)
    assert len(recordings) == 10 and sorted(r.digit for r in recordings) == list(range(10))
    assert all(r.samples.dtype == np.float32 and np.abs(r.samples).max() <= 1 for r in recordings)
    source = Path(os.environ["TUJIE_DATA"]) / "fsdd"
    (tmp_path / "fsdd" / "recordings").mkdir(parents=True)
    shutil.copy(source / "SHA256SUMS", tmp_path / "fsdd" / "SHA256SUMS")
    for r in recordings:
        shutil.copy(r.path, tmp_path / "fsdd" / "recordings")
    changed = tmp_path / "fsdd" / "recordings" / "3_theo_0.wav"
    changed.write_bytes(changed.read_bytes()[:-2] + b"\x00\x01")
    with pytest.raises(ChecksumError, match="3_theo_0.wav"):
        load_fsdd(data_dir=tmp_path, speakers=["theo"], max_index=1)
