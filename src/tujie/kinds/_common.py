"""Helpers the kinds share: the recipe's data, and its model with pretrained word vectors when asked."""

from __future__ import annotations

from pathlib import Path

from .. import config as cfg
from ..errors import ConfigError
from ..train.builders import build_model as _build_model


def load_data(config: cfg.RunConfig):
    """The recipe's data: a `DatasetBundle` from the registry, or a `TextBundle` for text corpora (imdb, sst2)."""
    from .. import data as datasets
    from ..text.classification import is_text_corpus, load_text_classification

    d = config.data
    if is_text_corpus(d.name):
        t = config.text
        return load_text_classification(d.name, data_dir=d.data_dir, validation_split=d.validation_split, seed=config.seed,
                                        limit=d.limit, tokenizer=t.tokenizer, vocab_size=t.vocab_size,
                                        min_freq=t.min_freq, max_len=t.max_len)
    return datasets.load(d.name, data_dir=d.data_dir, validation_split=d.validation_split, seed=config.seed,
                         normalize=d.normalize, limit=d.limit)


def build_model(config: cfg.RunConfig, data):
    """The recipe's model (`train.builders.build_model`), with pretrained word vectors when `text.vectors` names them.

    `model.weights` may name a recipe: its newest run's best weights (as `text.vectors` does).

    A reloaded run has its vectors in its weights already; only a fresh text run needs them.
    """
    if getattr(config.model, "weights", None):  # a recipe name becomes its newest run's folder (models.create reads it)
        resolved = str(_weights_path(config))
        if resolved != str(config.model.weights):
            config = config.model_copy(update={"model": config.model.model_copy(update={"weights": resolved})})
    model = _build_model(config, data)
    if config.text.vectors and getattr(data, "tokenizer", None) is not None:
        use_pretrained_vectors(model, config, data)
    return model


def _vectors_path(config: cfg.RunConfig) -> Path:
    """text.vectors as a path: a file, a run directory, or a recipe name meaning its newest run in output_dir."""
    return newest_run_path(config.text.vectors, config.output_dir, "text.vectors", ("vectors.safetensors",), "a vectors file")


def _weights_path(config: cfg.RunConfig) -> Path:
    """model.weights as a path: a file, a run directory (its best weights), or a recipe name meaning its newest run."""
    return newest_run_path(config.model.weights, config.output_dir, "model.weights", ("best.safetensors", "last.safetensors"),
                           "a weights file")


def newest_run_path(value: str, output_dir, key: str, files: tuple[str, ...], other: str) -> Path:
    """`value` as a path; a recipe's name (and no such path) means that recipe's newest run in output_dir holding `files`."""
    from ..errors import DataNotFoundError
    from ..recipes import list_recipes

    path = Path(value)
    if path.exists() or value not in list_recipes():
        return path
    runs = sorted((p for p in Path(output_dir).glob(f"{value}-*") if any((p / f).exists() for f in files)),
                  key=lambda p: p.stat().st_mtime)
    if not runs:
        raise DataNotFoundError(f"{key} names the recipe '{value}', but {output_dir}/ holds no finished run of it.",
                                expected=f"a folder {output_dir}/{value}-*/ with {' or '.join(files)}",
                                received=f"no such folder in {Path(output_dir).resolve()}",
                                fix=f"Run `tujie run {value}` first (same output_dir), or pass {other} or run directory.")
    return runs[-1]


def use_pretrained_vectors(model, config: cfg.RunConfig, data) -> None:
    """Replace the model's `embedding` by pretrained word vectors in the tokenizer's id order (text.vectors)."""
    from torch import nn

    from ..errors import ConfigError
    from ..text.vectors import WordVectors

    path = _vectors_path(config)
    vectors = WordVectors.load(path)  # a vectors folder (an embeddings run) or its vectors.safetensors
    current = getattr(model, "embedding", None)
    width = getattr(current, "embedding_dim", None) or (current.weight.shape[1] if current is not None else None)
    if not isinstance(current, nn.Module) or width != vectors.dim:
        raise ConfigError(f"Model '{config.model.name}' cannot take the pretrained vectors in {path}.",
                          expected=f"a model with an `embedding` of width {vectors.dim} (the vectors' size)",
                          received="no `embedding` attribute" if current is None else f"an embedding of width {width}",
                          fix=f"Set model.embed_dim={vectors.dim}, or train vectors of the model's width.")
    model.embedding = vectors.to_embedding(data.tokenizer, freeze=config.text.freeze_vectors, seed=config.seed)
    data.notes.append(f"Embedding: pretrained vectors from {path} ({len(vectors):,} words, dim {vectors.dim}) for "
                      f"{model.embedding.coverage:.1%} of the vocabulary, {'frozen' if config.text.freeze_vectors else 'fine-tuned'}.")


def verbose_of(say) -> int:
    """1 (progress bars) when the run prints, else 0."""
    return 1 if say is print else 0



def filmstrip_section(run, filename: str, section_id: str, how: str) -> str:
    """A report section drawing the frames of one episode kept in the run's `filename` (safetensors, key "frames")."""
    from safetensors.numpy import load

    from ..i18n import _
    from ..plots.rl import filmstrip
    from ..report.format import _e, _img, _note, _section

    path = run.folder / filename
    if not path.is_file():
        return _section(section_id, _("One greedy episode"), how, _note(_e(_("The frames file is missing."))))
    frames = load(path.read_bytes())["frames"]  # (frames, height, width, 3) uint8
    return _section(section_id, _("One greedy episode"), how, _img(filmstrip(list(frames)), _("frames of one episode")))


def check_epoch_checkpoint(run_dir, config, saved_config: dict) -> None:
    """`Kind.check_resume` of the kinds that train by epochs (train, gan): refuse a resume without last.safetensors, with nothing left to train, or from weights already NaN, before anything is written."""
    import torch

    from ..train.checkpoint import read_checkpoint

    path = run_dir / "last.safetensors"
    if not path.is_file():
        raise ConfigError(f"Cannot resume from {run_dir}: it has no last.safetensors.",
                          expected="a run directory written by `tujie run` after at least one epoch",
                          fix="Check the path, or start a new run without --resume.")
    tensors, meta = read_checkpoint(path)
    done = int((meta.get("state") or {}).get("epoch", 0))
    epochs = config.train.epochs
    if epochs <= done:
        raise ConfigError(f"Nothing to resume: {run_dir} has already trained {done} epochs, and {epochs} were asked for.",
                          expected=f"train.epochs above {done}, the epochs done", received=f"train.epochs={epochs}",
                          fix=f"Extend the run with --set epochs={done + 5} (for example), or open its report: tujie report {run_dir}.")
    broken = [k[len("model."):] for k, t in tensors.items()
              if k.startswith("model.") and t.is_floating_point() and not torch.isfinite(t).all()]
    if broken:
        raise ConfigError(f"Cannot resume from {path}: its weights hold NaN or infinite values ({', '.join(broken[:4])}"
                          f"{' ...' if len(broken) > 4 else ''}).", expected="finite weights (a checkpoint written before the loss diverged)",
                          received=f"{len(broken)} broken weight tensors", fix="Start a new run, with a lower learning rate or gradient clipping; "
                          "the run directory was left as it was.")
