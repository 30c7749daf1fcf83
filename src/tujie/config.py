"""Run configuration: a validated schema (pydantic) for recipes and `--set key=value` overrides.

A recipe YAML file and every override are checked against `RunConfig`; an unknown key
or a value of the wrong type is refused with the valid keys listed, before any work starts.
"""

from __future__ import annotations

from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError, closest
from .timeseries.forecast import ForecastConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpectedResult(_Strict):
    metric: str = Field(description="summary key, e.g. test_accuracy")
    value: float
    source: str = Field(description="where the number comes from")


class DataConfig(_Strict):
    name: str = "mnist"
    validation_split: float = Field(0.2, ge=0.0, lt=1.0)
    normalize: Literal["unit", "standard"] | None = "unit"
    limit: int | None = Field(None, gt=0, description="keep only the first N train/test samples (smoke runs)")
    data_dir: str | None = None
    augment: list[str | dict] = Field([], description="batch augmentations, e.g. [horizontal_flip, {random_crop: {size: 32, padding: 4}}]: "
                                      "kornia image transforms, mixup/cutmix, token_dropout/token_swap for text")


class ModelConfig(BaseModel):
    """`name` of a registered model; every other key is passed to its builder (checked by `models.create`)."""
    model_config = ConfigDict(extra="allow")
    name: str = "mlp"


class OptimizerConfig(_Strict):
    name: str = "adam"
    lr: float | None = Field(None, gt=0.0)
    momentum: float = Field(0.0, ge=0.0)
    nesterov: bool = False
    weight_decay: float = Field(0.0, ge=0.0)


class SchedulerConfig(BaseModel):
    """`name` of a scheduler (step, exponential, cosine, onecycle, plateau) or null; other keys go to it."""
    model_config = ConfigDict(extra="allow")
    name: str | None = None


class EarlyStoppingConfig(_Strict):
    monitor: str = "val_loss"
    mode: Literal["min", "max", "auto"] = "auto"
    patience: int = Field(5, ge=1)
    min_delta: float = Field(0.0, ge=0.0)
    restore_best_weights: bool = True


class TrainConfig(_Strict):
    epochs: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)
    loss: str = "cross_entropy"
    metrics: list[str] = ["accuracy"]
    monitor: str = Field("val_loss", description="metric that picks best.safetensors")
    early_stopping: EarlyStoppingConfig | None = None
    l1: float = Field(0.0, ge=0.0, description="L1 penalty l1 * sum|w| on weight matrices and kernels")
    l2: float = Field(0.0, ge=0.0, description="L2 penalty l2 * sum w^2 (decoupled decay: optimizer adamw + weight_decay)")
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    max_norm: float | None = Field(None, gt=0.0, description="max L2 norm of each unit's incoming weights")
    clip_grad_norm: float | None = Field(None, gt=0.0)
    clip_grad_value: float | None = Field(None, gt=0.0)
    accumulate: int = Field(1, ge=1, description="batches per optimizer step (gradient accumulation)")
    precision: Literal["32", "bf16", "fp16"] = "32"
    ema: float | None = Field(None, gt=0.0, lt=1.0, description="decay of an EMA of the weights, e.g. 0.999")
    track_grad_norm: bool = Field(False, description="log the global gradient norm per epoch")
    grad_stats_every: int | None = Field(None, ge=1, description="log per-layer gradient/weight norms every N steps")


class TextConfig(_Strict):
    """How text corpora (imdb, sst2) become token ids: used only when data.name is a text corpus."""
    tokenizer: Literal["word", "bpe"] = "word"
    vocab_size: int | None = Field(None, ge=8, description="vocabulary cap (word) or BPE target size")
    min_freq: int = Field(2, ge=1, description="rarer training-split words map to <unk>")
    max_len: int = Field(400, ge=1, description="tokens kept per text; longer ones are truncated (counted in the notes)")
    vectors: str | None = Field(None, description="pretrained word vectors for the model's embedding: a vectors.safetensors "
                                                  "file, an embeddings run directory, or an embeddings recipe name "
                                                  "(imdb-word2vec: its newest run in output_dir)")
    freeze_vectors: bool = Field(False, description="keep the pretrained vectors fixed instead of fine-tuning them")


class TranslationConfig(_Strict):
    """A translation run: the parallel corpus, its direction and filter, the tokenizers, decoding."""
    corpus: Literal["tatoeba", "multi30k"] = "tatoeba"
    direction: str = Field("fr-en", description="source-target language codes, e.g. fr-en or de-en")
    max_words: int | None = Field(10, ge=2, description="tatoeba: keep pairs shorter than this (the tutorial's filter)")
    prefixes: bool = Field(True, description="tatoeba: keep only English sides starting 'i am', 'he is', ... (the tutorial's)")
    tokenizer: Literal["word", "bpe"] = "word"
    min_freq: int = Field(1, ge=1)
    vocab_size: int | None = Field(None, ge=8)
    max_len: int = Field(50, ge=3, description="most tokens per sentence, specials included")
    beam: int = Field(5, ge=1, description="beam width for the test BLEU (greedy BLEU is reported too)")
    length_penalty: float = Field(0.6, ge=0.0, description="GNMT length-penalty alpha")


class EmbeddingsConfig(_Strict):
    """A word-vector run (`kind: embeddings`): the method, its settings, and how it is judged."""
    method: Literal["skipgram", "cbow", "glove"] = "skipgram"
    corpus: Literal["imdb"] = Field("imdb", description="the texts trained on: the 25,000 IMDB training reviews")
    dim: int = Field(100, ge=2)
    window: int = Field(5, ge=1, description="largest distance between centre and context word")
    negative: int = Field(5, ge=1, description="word2vec: noise words per example")
    min_count: int = Field(5, ge=1, description="words seen fewer times are dropped")
    sample: float = Field(1e-3, ge=0.0, description="word2vec: subsampling threshold for frequent words (0: off)")
    epochs: int = Field(5, ge=1)
    lr: float | None = Field(None, gt=0.0, description="starting learning rate (None: the method's default)")
    workers: int = Field(2, ge=1, description="threads sharing the tables (1 gives the same vectors every run)")
    probes: list[str] = Field(["good", "bad", "movie", "actor", "funny", "horror", "music", "boring"],
                              description="words whose neighbours the report lists and maps")
    projection: Literal["pca", "tsne"] = "pca"


class ThresholdConfig(_Strict):
    criterion: Literal["f1", "recall", "precision"] = "f1"
    target: float | None = Field(None, gt=0.0, le=1.0, description="the recall/precision to reach")


class EvaluateConfig(_Strict):
    threshold: ThresholdConfig | None = Field(None, description="binary classifiers: tune the decision threshold on the validation split")


class CrossValidationConfig(_Strict):
    k: int = Field(5, ge=2)
    stratified: bool = True
    processes: int = Field(1, ge=1, description="folds run in parallel worker processes")


class EnsembleConfig(_Strict):
    members: int = Field(5, ge=2)
    method: Literal["average", "vote", "weighted"] = "average"
    bagging: bool = Field(False, description="train each member on a bootstrap resample")


class LabVariant(_Strict):
    name: str
    description: str = ""
    set: list[str] = Field([], description="--set style overrides applied to the recipe for this variant")


class LabConfig(_Strict):
    train_size: int = Field(1000, ge=10, description="training images drawn (seeded) from the training split")
    variants: list[LabVariant] = Field(min_length=1)


class ReportConfig(_Strict):
    samples: int = Field(15, ge=0, description="test images in the prediction grid")
    wrong: int = Field(9, ge=0, description="most confidently wrong images shown")


class RunConfig(_Strict):
    recipe: str
    description: str = ""
    expected: ExpectedResult | None = None
    kind: Literal["train", "cross_validation", "ensemble", "overfitting_lab", "forecast", "translation", "embeddings"] = "train"
    seed: int = 0
    device: str = "auto"
    output_dir: str = "runs"
    run_name: str | None = None
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    text: TextConfig = TextConfig()
    cross_validation: CrossValidationConfig | None = None
    ensemble: EnsembleConfig | None = None
    lab: LabConfig | None = None
    forecast: ForecastConfig | None = None
    translation: TranslationConfig | None = None
    embeddings: EmbeddingsConfig | None = None
    report: ReportConfig = ReportConfig()


# short spellings accepted by `--set`
ALIASES = {"epochs": "train.epochs", "batch_size": "train.batch_size", "lr": "optimizer.lr",
           "optimizer": "optimizer.name", "loss": "train.loss", "dataset": "data.name", "limit": "data.limit",
           "validation_split": "data.validation_split", "model": "model.name", "scheduler": "scheduler.name",
           "patience": "train.early_stopping.patience", "l1": "train.l1", "l2": "train.l2",
           "weight_decay": "optimizer.weight_decay", "precision": "train.precision", "ema": "train.ema",
           "accumulate": "train.accumulate", "clip_grad_norm": "train.clip_grad_norm", "k": "cross_validation.k",
           "max_len": "text.max_len", "tokenizer": "text.tokenizer"}
OPEN_SECTIONS = ("model", "scheduler")  # sections that take free keys


def valid_keys(model: type[BaseModel] = RunConfig, prefix: str = "") -> list[str]:
    """Every dotted key `--set` accepts, e.g. ["recipe", ..., "optimizer.lr", ...]."""
    keys = []
    for name, field in model.model_fields.items():
        sub = _submodel(field.annotation)
        keys += valid_keys(sub, f"{prefix}{name}.") if sub else [f"{prefix}{name}"]
    return keys


def _submodel(annotation):
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def apply_overrides(config: dict, overrides) -> dict:
    """Apply `key=value` strings (values parsed as YAML) to a config mapping; returns a new mapping.

    Example:
        >>> apply_overrides({"recipe": "x"}, ["epochs=3", "lr=0.01"])
        {'recipe': 'x', 'train': {'epochs': 3}, 'optimizer': {'lr': 0.01}}
    """
    import copy

    config = copy.deepcopy(config)
    keys = valid_keys()
    for item in overrides or ():
        if "=" not in item:
            raise ConfigError(f"Override {item!r} is not of the form key=value.", expected="key=value, e.g. epochs=3",
                              received=item, fix="Write --set epochs=3.")
        key, raw = item.split("=", 1)
        key = ALIASES.get(key.strip(), key.strip())
        is_section = any(k.startswith(key + ".") for k in keys)  # a whole section: train.early_stopping={patience: 3}
        if key not in keys and not is_section and key.split(".")[0] not in OPEN_SECTIONS:
            raise ConfigError(f"Unknown config key {key!r}. {closest(key, keys + list(ALIASES))}",
                              expected=f"one of {', '.join(list(ALIASES) + keys)}", received=item,
                              fix="Use one of the listed keys (model.* and scheduler.* take any argument of the model/scheduler).")
        node = config
        parts = key.split(".")
        for part in parts[:-1]:
            if node.get(part) is None:
                node[part] = {}
            if not isinstance(node[part], dict):
                raise ConfigError(f"Cannot set {key!r}: {part!r} is not a section.", received=item, fix="Set the section's own keys.")
            node = node[part]
        try:
            node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as e:
            problem = str(getattr(e, "problem", None) or e).strip()
            raise ConfigError(f"The value of override {key!r} is not valid YAML ({problem}).",
                              expected="a YAML value: 3, 0.01, true, [64, 32] or {patience: 3}", received=item,
                              fix="Quote the whole override in the shell: --set 'train.early_stopping={patience: 3}'.") from None
    return config


def validate(config: dict) -> RunConfig:
    """Check a config mapping against the schema; the first problem is reported with its key and value."""
    try:
        return RunConfig.model_validate(config)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"Unknown config key {key!r}. {closest(key, valid_keys())}", expected=f"one of {', '.join(valid_keys())}",
                              received=f"{key}={err.get('input')!r}", fix="Remove or rename the key.") from None
        raise ConfigError(f"Invalid value for config key {key!r} ({err['msg'].lower()}).", expected=_describe(err["loc"]),
                          received=f"{key}={err.get('input')!r}", fix=f"Pass a valid value, e.g. --set {key}=...") from None


def _describe(loc) -> str:
    """The schema's type (and bounds) for a config key, e.g. 'integer (>= 1)'."""
    model, field = RunConfig, None
    for part in loc:
        if model is None or part not in model.model_fields:
            break
        field = model.model_fields[part]
        model = _submodel(field.annotation)
    if field is None:
        return "a value of the right type"
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    kind = names.get(field.annotation) or str(field.annotation).replace("typing.", "")
    bounds = [f"{sym} {getattr(m, attr)}" for m in field.metadata for attr, sym in
              (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if getattr(m, attr, None) is not None]
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def to_yaml(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
