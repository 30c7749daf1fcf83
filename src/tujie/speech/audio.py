"""Reading WAV files and the Free Spoken Digit Dataset (FSDD), with its checksums.

`read_wav(path, rate=8000)` reads a WAV file with `scipy.io.wavfile` and returns float32 samples
in [-1, 1], one channel. A file at another sample rate is **resampled** to `rate` with
`scipy.signal.resample_poly` (a polyphase filter, exact for integer ratios such as 16000/8000)
and a note naming the file is returned with it: refusing would stop a user whose phone records at
16 kHz, and a silent resample would hide that the audio was changed. A file that cannot be decoded
is a `DataError` naming it.

FSDD (Jackson et al., github.com/Jakobovski/free-spoken-digit-dataset, CC BY-SA 4.0): 3,000
recordings `recordings/{digit}_{speaker}_{index}.wav`, 8 kHz mono, six speakers, fifty of each
digit per speaker. `load_fsdd()` finds them through `tujie.data._files.resolve` (`data_dir`, then
`$TUJIE_DATA`, then the cache), each checked against its sha256 in `SHA256SUMS`; a user who is
online and has none downloads them from the repository's tag v1.0.10 and the list of their
digests is checked as a whole against the one digest pinned here.

Example:
    >>> import numpy as np, tempfile
    >>> from pathlib import Path
    >>> from scipy.io import wavfile
    >>> path = Path(tempfile.mkdtemp()) / "3_me_0.wav"
    >>> wavfile.write(path, 16000, (np.sin(np.arange(1600) / 5) * 10000).astype(np.int16))
    >>> samples, note = read_wav(path, rate=8000)
    >>> samples.shape, samples.dtype, "resampled" in note
    ((800,), dtype('float32'), True)
    >>> parse_name("7_theo_12.wav")
    (7, 'theo', 12)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

RATE = 8000  # FSDD's sample rate
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
DIGITS = tuple(range(10))
INDICES = tuple(range(50))
# sha256 of SHA256SUMS, the list of the 3,000 recordings' digests in `sha256sum` format (sorted by name)
SUMS_SHA256 = "04e1baae96c6a26e39c623f2b01d0182ddae627ba0ac02a3cdc17ba2af99fd9b"
BASE_URL = "https://raw.githubusercontent.com/Jakobovski/free-spoken-digit-dataset/v1.0.10/"
_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


@dataclass
class Recording:
    """One recording: its samples (float32, at `RATE`), the digit said, the speaker and the file's index."""

    samples: np.ndarray
    digit: int
    speaker: str
    index: int
    path: str = ""


def parse_name(name: str) -> tuple[int, str, int]:
    """(digit, speaker, index) of an FSDD file name `{digit}_{speaker}_{index}.wav`; other names are refused."""
    match = _NAME.match(Path(name).name)
    if not match:
        raise DataError(f"The file name {name!r} is not an FSDD recording's name.",
                        expected="{digit}_{speaker}_{index}.wav, e.g. 7_theo_12.wav", received=repr(name),
                        fix="Rename the file so its first field is the digit said and its second the speaker.")
    return int(match.group(1)), match.group(2), int(match.group(3))


def read_wav(path, rate: int = RATE) -> tuple[np.ndarray, str | None]:
    """A WAV file's samples as float32 in [-1, 1], mono, at `rate`; and a note when it had to be changed.

    Args:
        path: the WAV file.
        rate: the sample rate wanted; another rate is resampled (`resample_poly`) and noted.

    Returns:
        (samples (n,), note or None). Stereo is averaged to mono (noted too).

    Raises:
        DataError: the file is missing, not a WAV file, empty, or of a sample type tujie cannot read.
    """
    from scipy.io import wavfile

    path = Path(path)
    try:
        file_rate, data = wavfile.read(path)
    except (OSError, ValueError, EOFError) as e:  # scipy raises ValueError for a bad header, OSError for a missing file
        raise DataError(f"The audio file {path} could not be read as WAV ({type(e).__name__}: {e}).",
                        expected="a PCM or float WAV file", received=f"{path} ({path.stat().st_size:,} bytes)" if path.is_file()
                        else f"{path}: no such file", fix="Convert it with e.g. `ffmpeg -i IN -ar 8000 -ac 1 OUT.wav`, or remove it.") from None
    notes = []
    if data.ndim == 2:
        data = data.mean(axis=1) if np.issubdtype(data.dtype, np.floating) else data.astype(np.float64).mean(axis=1).astype(data.dtype)
        notes.append("stereo averaged to mono")
    if data.size == 0:
        raise DataError(f"The audio file {path} holds no samples.", expected="a recording of at least one sample",
                        received="0 samples", fix="Remove the file or record it again.")
    if data.dtype == np.uint8:  # 8-bit WAV is unsigned, centred at 128
        samples = (data.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.integer):
        samples = data.astype(np.float32) / float(np.iinfo(data.dtype).max + 1)
    elif np.issubdtype(data.dtype, np.floating):
        samples = data.astype(np.float32)
    else:
        raise DataError(f"The audio file {path} has samples of type {data.dtype}.", expected="8/16/32-bit PCM or float WAV",
                        received=str(data.dtype), fix="Convert it to 16-bit PCM, e.g. `ffmpeg -i IN -ar 8000 -ac 1 OUT.wav`.")
    if file_rate != rate:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(int(file_rate), int(rate))
        samples = resample_poly(samples, rate // g, int(file_rate) // g).astype(np.float32)
        notes.append(f"{path.name}: resampled from {file_rate} Hz to {rate} Hz")
    return samples, ("; ".join(notes) or None)


def _sums(data_dir=None) -> dict[str, str]:
    """name -> sha256 of every recording, from SHA256SUMS (checked against its own digest)."""
    from ..data._files import resolve

    path = resolve("fsdd", "SHA256SUMS", sha256=SUMS_SHA256, data_dir=data_dir)
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.lstrip("*")] = digest
    return sums


def _download_all(data_dir=None) -> dict[str, str]:
    """No SHA256SUMS anywhere: fetch every recording from the repository, then check the list of digests as a whole."""
    from ..data._files import resolve

    names = [f"recordings/{d}_{s}_{i}.wav" for d in DIGITS for s in SPEAKERS for i in INDICES]
    sums = {}
    for name in names:
        path = resolve("fsdd", name, urls=[BASE_URL + name], data_dir=data_dir, verify=False)
        sums[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    listing = "".join(f"{sums[n]}  {n}\n" for n in sorted(sums))  # the `sha256sum` format of SHA256SUMS
    if hashlib.sha256(listing.encode()).hexdigest() != SUMS_SHA256:
        raise DataError("The downloaded FSDD recordings differ from the ones tujie was checked against.",
                        expected=f"recordings whose list of sha256 digests has digest {SUMS_SHA256}",
                        received="another set of files (the repository may have changed)",
                        fix="Download the tag v1.0.10 of Jakobovski/free-spoken-digit-dataset into $TUJIE_DATA/fsdd/.")
    return sums


def load_fsdd(data_dir=None, speakers=None, verify: bool = True, max_index: int | None = None) -> list[Recording]:
    """Every FSDD recording (or those of `speakers`), checked and read, sorted by speaker, digit and index.

    Args:
        data_dir: a folder holding `fsdd/` (else `$TUJIE_DATA`, else the cache, else a download).
        speakers: keep only these speakers (None: all six).
        verify: check each file's sha256 (about 0.1 s for all 3,000).
        max_index: keep only the files of index below this (a quick run: 2 keeps 120 recordings).

    Example:
        >>> recordings = load_fsdd(speakers=["theo"])  # doctest: +SKIP
        >>> len(recordings), recordings[0].speaker  # doctest: +SKIP
        (500, 'theo')
    """
    from ..data._files import resolve
    from ..errors import DataNotFoundError

    try:
        sums = _sums(data_dir)
    except DataNotFoundError:
        sums = _download_all(data_dir)
    if speakers is not None:
        unknown = sorted(set(speakers) - set(SPEAKERS))
        if unknown:
            raise DataError(f"FSDD has no speaker {', '.join(map(repr, unknown))}.", expected=f"some of {', '.join(SPEAKERS)}",
                            received=f"speakers={list(speakers)}", fix="Name speakers of FSDD.")
    recordings = []
    for name, digest in sums.items():
        digit, speaker, index = parse_name(name)
        if (speakers is not None and speaker not in speakers) or (max_index is not None and index >= max_index):
            continue
        path = resolve("fsdd", name, sha256=digest if verify else None, data_dir=data_dir, verify=verify,
                       urls=[BASE_URL + name])
        samples, note = read_wav(path)
        if note:  # FSDD is 8 kHz throughout: a changed file is someone else's copy
            raise DataError(f"The FSDD file {path} is not 8 kHz mono.", expected="FSDD's 8,000 Hz mono recordings",
                            received=note, fix="Restore the original file from the repository.")
        recordings.append(Recording(samples, digit, speaker, index, str(path)))
    recordings.sort(key=lambda r: (r.speaker, r.digit, r.index))
    return recordings


def read_folder(folder, rate: int = RATE) -> tuple[list[Recording], list[str]]:
    """A user's folder of `{digit}_{speaker}_{index}.wav` files: (recordings, notes of resampled files).

    Example:
        >>> import tempfile
        >>> from scipy.io import wavfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> wavfile.write(folder / "1_ann_0.wav", 8000, np.zeros(400, dtype=np.int16))
        >>> recordings, notes = read_folder(folder)
        >>> [(r.digit, r.speaker) for r in recordings], notes
        ([(1, 'ann')], [])
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise DataError(f"The folder {folder} holds no .wav files.", expected="files named {digit}_{speaker}_{index}.wav",
                        received=f"{folder}: {'no such folder' if not folder.is_dir() else 'no .wav file'}",
                        fix="Point at the folder of recordings.")
    recordings, notes = [], []
    for path in files:
        digit, speaker, index = parse_name(path.name)
        samples, note = read_wav(path, rate)
        if note:
            notes.append(note)
        recordings.append(Recording(samples, digit, speaker, index, str(path)))
    return recordings, notes
