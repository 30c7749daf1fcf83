"""Speech: spoken digit strings read by a CTC model (the practice notes' speech application).

- `audio`: WAV files (scipy), the Free Spoken Digit Dataset with its checksums, a user's folder.
- `features`: log-mel features in plain torch (HTK mel filterbank built by hand).
- `strings`: 1–5 recordings of one speaker joined with random silences, new every epoch.
- `decoding`: greedy and prefix-beam CTC decoding; CER and WER through jiwer.
- `training`: the CTC training loop and the evaluations (strings, isolated digits, per speaker).

The model is `tujie.models.create("ctc_digits")`; the `speech_ctc` kind and the `fsdd-ctc` recipe
put it all together.

Example:
    >>> from tujie.speech import greedy_decode, log_mel
    >>> callable(greedy_decode) and callable(log_mel)
    True
"""

from .audio import Recording, load_fsdd, read_folder, read_wav
from .decoding import error_rates, greedy_decode, prefix_beam_search, transcript
from .features import log_mel, mel_filterbank
from .strings import DigitString, batch_features, make_strings

__all__ = ["Recording", "load_fsdd", "read_folder", "read_wav", "error_rates", "greedy_decode", "prefix_beam_search",
           "transcript", "log_mel", "mel_filterbank", "DigitString", "batch_features", "make_strings"]
