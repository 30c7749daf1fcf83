"""Text classification data for the runner: a corpus, tokenised and numericalised, split, ready to batch.

`load_text_classification("imdb")` reads the reviews, trains the tokenizer on the training
split only (never on validation or test text), encodes every text (truncating to `max_len`
tokens, counted in the notes) and returns a `TextBundle` whose `train` / `val` / `test` are
`TextDataset`s: `Learner.fit(bundle)` batches them by length, padded, as `(tokens, lengths, y)`.

Example:
    >>> bundle = load_text_classification("imdb", limit=2000, validation_split=0.1)  # doctest: +SKIP
    >>> bundle.vocab_size, len(bundle.train), bundle.classes  # doctest: +SKIP
    (11234, 1800, ['negative', 'positive'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..errors import ConfigError
from ..i18n import N_, _

CORPORA = ("imdb", "sst2")

# One note per split on the texts cut to max_len (a whole sentence each, so a translation may name the split its own way).
_TRUNCATED = {
    "train": N_("train: {cut} of {n} texts ({share}) were longer than {max_len} tokens and were truncated."),
    "validation": N_("validation: {cut} of {n} texts ({share}) were longer than {max_len} tokens and were truncated."),
    "test": N_("test: {cut} of {n} texts ({share}) were longer than {max_len} tokens and were truncated."),
}


@dataclass
class TextBundle:
    """Split, encoded text data and the tokenizer that encoded it (saved with every run)."""

    name: str
    train: object  # TextDataset
    val: object | None
    test: object | None
    tokenizer: object
    classes: list[str]
    max_len: int
    notes: list[str] = field(default_factory=list)
    task: str = "classification"
    mean = std = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def input_shape(self) -> tuple:
        return (self.max_len,)  # token ids; the real length varies per batch


def is_text_corpus(name: str) -> bool:
    return str(name).lower().replace("-", "") in CORPORA


def load_text_classification(name: str, *, data_dir=None, validation_split: float = 0.1, seed: int = 0,
                             limit: int | None = None, tokenizer: str = "word", vocab_size: int | None = None,
                             min_freq: int = 2, max_len: int = 400) -> TextBundle:
    """Load a sentiment corpus, train a tokenizer on its training split, and encode every split.

    Args:
        name: "imdb" (25,000 train / 25,000 test reviews) or "sst2" (67,349 train sentences; the
            872-sentence GLUE dev set serves as test, since GLUE's test labels are not public).
        data_dir: folder holding `imdb/` and `sst2/`; default `$TUJIE_DATA`, then the cache.
        validation_split: fraction of the training texts held out (seeded, before the tokenizer sees them).
        seed: seeds the validation split and the `limit` draw.
        limit: keep a seeded random `limit` of the training and of the test texts (smoke runs;
            IMDB's files are sorted by label, so "the first N" would be one class only).
        tokenizer: "word" (lower-cased words and punctuation) or "bpe" (subwords, `tokenizers`).
        vocab_size: vocabulary cap (word: the most frequent words; bpe: the merges' target size).
        min_freq: words seen fewer times in the training split map to <unk>.
        max_len: tokens kept per text; longer texts are cut (the notes say how many).

    Returns:
        A `TextBundle`.
    """
    from .tokenizers import build_tokenizer
    from .corpus import load_imdb, load_sst2
    from .data import TextDataset

    key = str(name).lower().replace("-", "")
    if key not in CORPORA:
        raise ConfigError(f"Unknown text corpus {name!r}.", expected=f"one of {', '.join(CORPORA)}",
                          received=f"data.name={name!r}", fix="Use imdb or sst2 for text classification.")
    if not isinstance(max_len, int) or max_len < 1:
        raise ConfigError("Invalid value received for `max_len`.", expected="an integer >= 1 (tokens per text)",
                          received=f"max_len={max_len!r}", fix="Pass max_len=400, for example.")
    corpus = (load_imdb if key == "imdb" else load_sst2)(data_dir=data_dir)
    notes = list(corpus.notes)
    generator = torch.Generator().manual_seed(seed)
    train, test = list(corpus.train), list(corpus.test)
    if limit is not None:
        train = [train[i] for i in torch.randperm(len(train), generator=generator)[:limit].tolist()]
        test = [test[i] for i in torch.randperm(len(test), generator=generator)[:limit].tolist()]
        notes.append(_("limit={limit}: a seeded random {train} training and {test} test texts.").format(
            limit=limit, train=f"{len(train):,}", test=f"{len(test):,}"))
    val: list = []
    if validation_split:
        order = torch.randperm(len(train), generator=generator).tolist()
        n_val = int(len(train) * validation_split)
        val, train = [train[i] for i in order[:n_val]], [train[i] for i in order[n_val:]]
        notes.append(_("Held out {val} of {total} training texts for validation (seed {seed}).").format(
            val=f"{len(val):,}", total=f"{len(train) + len(val):,}", seed=seed))

    options = {"min_freq": min_freq}
    if vocab_size is not None:
        options["vocab_size" if tokenizer == "bpe" else "max_size"] = vocab_size
    encoder = build_tokenizer(tokenizer, **options).train(text for text, _ in train)  # training text only
    trained = {"tokenizer": tokenizer, "n": f"{len(train):,}", "vocab": f"{encoder.vocab_size:,}", "min_freq": min_freq}
    if vocab_size:
        notes.append(_("{tokenizer} tokenizer trained on the {n} training texts: {vocab} tokens (min_freq {min_freq}, "
                       "cap {cap}).").format(**trained, cap=f"{vocab_size:,}"))
    else:
        notes.append(_("{tokenizer} tokenizer trained on the {n} training texts: {vocab} tokens (min_freq {min_freq}).").format(
            **trained))

    def encode(pairs, split):
        if not pairs:
            return None
        texts = [text for text, _ in pairs]
        full = encoder.encode_batch(texts)
        cut = sum(len(ids) > max_len for ids in full)
        if cut:
            notes.append(_(_TRUNCATED[split]).format(cut=f"{cut:,}", n=f"{len(texts):,}", share=f"{cut / len(texts):.1%}",
                                                     max_len=max_len))
        sequences = [ids[:max_len] or [encoder.unk_id] for ids in full]  # an empty text becomes one <unk>
        return TextDataset(sequences, torch.tensor([label for _, label in pairs]), texts)

    train_ds, val_ds, test_ds = encode(train, "train"), encode(val, "validation"), encode(test, "test")
    unknown = encoder.unknown_rate(t for t, _ in test[:2000]) if test else 0.0
    notes.append(_("Unknown tokens in the test texts: {rate} (words the training split never showed often enough).").format(
        rate=f"{unknown:.1%}"))
    return TextBundle(name=key, train=train_ds, val=val_ds, test=test_ds, tokenizer=encoder, classes=list(corpus.classes),
                      max_len=max_len, notes=notes)


class TextClassifier:
    """A trained text classifier reloaded from its run directory, for prediction on new texts.

    The run directory holds everything needed: `config.yaml` (the model and its sizes),
    `tokenizer.json` (the exact vocabulary of training) and `best.safetensors` (the weights).
    Words the training split never showed map to `<unk>`; texts longer than the run's
    `max_len` tokens are cut, with a warning that says by how much.

    Example:
        >>> clf = TextClassifier.from_run("runs/imdb-lstm-20261123-101500")  # doctest: +SKIP
        >>> clf.predict(["A wonderful, moving film."])[0]["label"]  # doctest: +SKIP
        'positive'
    """

    def __init__(self, model, tokenizer, classes: list[str], max_len: int, kind: str = "multiclass"):
        self.model, self.tokenizer, self.classes, self.max_len, self.kind = model.eval(), tokenizer, classes, max_len, kind

    @classmethod
    def from_run(cls, run_dir) -> "TextClassifier":
        from pathlib import Path

        import yaml

        from .. import config as cfg
        from ..errors import DataError
        from ..train.builders import build_model
        from ..train.checkpoint import check_compatible, load_weights
        from ..train.losses import get_loss, loss_kind
        from .tokenizers import load_tokenizer

        run_dir = Path(run_dir)
        for name in ("config.yaml", "tokenizer.json", "best.safetensors"):
            if not (run_dir / name).is_file():
                raise DataError(f"Run directory {run_dir} has no {name}.",
                                expected="a text-classification run written by `tujie run` (config.yaml, tokenizer.json, best.safetensors)",
                                received=f"{sorted(p.name for p in run_dir.iterdir())[:10] if run_dir.is_dir() else 'no such folder'}",
                                fix="Pass the folder of a finished imdb-*/sst2-* run; the tokenizer is written when the run starts, "
                                    "the weights after its first epoch.")
        saved = cfg.base_only(yaml.safe_load((run_dir / "config.yaml").read_text()))
        (saved.get("model") or {}).pop("weights", None)  # the starting weights: best.safetensors replaces them below
        config = cfg.validate(saved)
        tokenizer = load_tokenizer(run_dir / "tokenizer.json")
        classes = _classes_of(config)
        shape = type("Sizes", (), {"num_classes": len(classes), "vocab_size": tokenizer.vocab_size})()
        model = build_model(config, shape)
        weights = load_weights(run_dir / "best.safetensors")
        check_compatible(run_dir / "best.safetensors", model, weights)
        model.load_state_dict(weights)
        return cls(model, tokenizer, classes, config.text.max_len, loss_kind(get_loss(config.train.loss)))

    @torch.no_grad()
    def predict_proba(self, texts) -> torch.Tensor:
        """Class probabilities (N, K) for a list of texts (or one text)."""
        import warnings

        from ..errors import DataError
        from .data import pad_sequences

        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise DataError("Empty text given for prediction.", expected="non-empty strings",
                            received=repr(texts[:3]), fix="Remove empty lines before predicting.")
        full = self.tokenizer.encode_batch(texts)
        cut = [i for i, ids in enumerate(full) if len(ids) > self.max_len]
        if cut:
            warnings.warn(f"{len(cut)} of {len(texts)} texts were longer than the model's max_len={self.max_len} "
                          f"tokens and were truncated (the longest had {max(len(full[i]) for i in cut)}).", stacklevel=2)
        tokens, lengths = pad_sequences([ids[: self.max_len] or [self.tokenizer.unk_id] for ids in full])
        out = self.model(tokens, lengths).float()
        if self.kind == "multiclass":
            return out.softmax(-1)
        p = out.reshape(-1).sigmoid()
        return torch.stack([1 - p, p], dim=1)

    def predict(self, texts) -> list[dict]:
        """`[{"label", "confidence", "probabilities": {class: p}}]`, one per text."""
        probs = self.predict_proba(texts)
        confidence, index = probs.max(-1)
        return [{"label": self.classes[int(i)], "confidence": float(c),
                 "probabilities": {name: float(p) for name, p in zip(self.classes, row)}}
                for c, i, row in zip(confidence, index, probs)]


def _classes_of(config) -> list[str]:
    return ["negative", "positive"]  # both corpora (imdb, sst2) are binary sentiment
