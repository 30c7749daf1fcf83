"""Run configuration: a validated schema (pydantic) for recipes and `--set key=value` overrides.

`RunConfig` is the base every run shares (data, model, optimizer, scheduler, train, ...).
Each kind of run (`tujie.kinds`) adds its own section, e.g. `translation:`; `schema(sections)`
makes the full model from the base and those sections, and the runner validates a recipe
against it. This module is the ground floor: it knows no kind, domain or report.

A recipe YAML file and every override are checked against the schema; an unknown key
or a value of the wrong type is refused with the valid keys listed, before any work starts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from .errors import ConfigError, closest


def _no_bool(value):
    """pydantic turns `true` into 1 for an int field; a recipe saying `epochs: true` is a mistake, not 1."""
    if isinstance(value, bool):
        raise ValueError(f"a number is needed, not the boolean {str(value).lower()}")  # noqa: TRY004 - pydantic reports ValueError only
    return value


Int = Annotated[int, BeforeValidator(_no_bool)]      # an integer that refuses true/false (use in kinds' sections too)
Float = Annotated[float, BeforeValidator(_no_bool)]  # a number that refuses true/false


def _plain_name(name: str) -> str:
    """A run_name with a folder in it (`../x`, `a/b`) would put the run outside output_dir."""
    if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError("run_name must be a plain folder name (no '/', '\\', '..'), so the run stays inside output_dir")
    return name


RunName = Annotated[str, AfterValidator(_plain_name)]


class Strict(BaseModel):
    """A config section that refuses unknown keys (a misspelt key is an error, never ignored)."""
    model_config = ConfigDict(extra="forbid")


_Strict = Strict


class ExpectedResult(_Strict):
    metric: str = Field(description="summary key, e.g. test_accuracy")
    value: Float
    source: str = Field(description="where the number comes from")


class DataConfig(_Strict):
    name: str = "mnist"
    validation_split: Float = Field(0.2, ge=0.0, lt=1.0)
    normalize: Literal["unit", "standard"] | None = "unit"
    limit: Int | None = Field(None, gt=0, description="keep only the first N train/test samples (smoke runs)")
    data_dir: str | None = None
    augment: list[str | dict] = Field([], description="batch augmentations, e.g. [horizontal_flip, {random_crop: {size: 32, padding: 4}}]: "
                                      "kornia image transforms, mixup/cutmix, token_dropout/token_swap for text")


class ModelConfig(BaseModel):
    """`name` of a registered model; every other key is passed to its builder (checked by `models.create`)."""
    model_config = ConfigDict(extra="allow")
    name: str = "mlp"


class OptimizerConfig(_Strict):
    name: str = "adam"
    lr: Float | None = Field(None, gt=0.0)
    momentum: Float = Field(0.0, ge=0.0)
    nesterov: bool = False
    weight_decay: Float = Field(0.0, ge=0.0)
    lr_mult: dict[str, Float] | None = Field(None, description="block name -> multiplier of lr (discriminative rates), "
                                                               "e.g. {layer4: 0.1, layer3: 0.01}")
    layer_decay: Float | None = Field(None, gt=0.0, le=1.0, description="each block below the head at this factor "
                                                                         "of the rate above it (layer-wise decay)")


class SchedulerConfig(BaseModel):
    """`name` of a scheduler (step, exponential, cosine, onecycle, plateau) or null; other keys go to it."""
    model_config = ConfigDict(extra="allow")
    name: str | None = None


class EarlyStoppingConfig(_Strict):
    monitor: str = "val_loss"
    mode: Literal["min", "max", "auto"] = "auto"
    patience: Int = Field(5, ge=1)
    min_delta: Float = Field(0.0, ge=0.0)
    restore_best_weights: bool = True


class TrainConfig(_Strict):
    epochs: Int = Field(5, ge=1)
    batch_size: Int = Field(32, ge=1)
    loss: str = "cross_entropy"
    metrics: list[str] = ["accuracy"]
    monitor: str = Field("val_loss", description="metric that picks best.safetensors")
    early_stopping: EarlyStoppingConfig | None = None
    l1: Float = Field(0.0, ge=0.0, description="L1 penalty l1 * sum|w| on weight matrices and kernels")
    l2: Float = Field(0.0, ge=0.0, description="L2 penalty l2 * sum w^2 (decoupled decay: optimizer adamw + weight_decay)")
    label_smoothing: Float = Field(0.0, ge=0.0, lt=1.0)
    max_norm: Float | None = Field(None, gt=0.0, description="max L2 norm of each unit's incoming weights")
    clip_grad_norm: Float | None = Field(None, gt=0.0)
    clip_grad_value: Float | None = Field(None, gt=0.0)
    accumulate: Int = Field(1, ge=1, description="batches per optimizer step (gradient accumulation)")
    precision: Literal["32", "bf16", "fp16"] = "32"
    ema: Float | None = Field(None, gt=0.0, lt=1.0, description="decay of an EMA of the weights, e.g. 0.999")
    track_grad_norm: bool = Field(False, description="log the global gradient norm per epoch")
    grad_stats_every: Int | None = Field(None, ge=1, description="log per-layer gradient/weight norms every N steps")
    freeze: Literal["body"] | list[str] | None = Field(None, description="blocks that do not train: body (all but the head) "
                                                                         "or a list of block names, e.g. [conv1, layer1]")
    unfreeze_every: Int | None = Field(None, ge=1, description="gradual unfreezing (ULMFiT): the body starts frozen and one "
                                                               "more block, top down, trains every N epochs")


class TextConfig(_Strict):
    """How text corpora (imdb, sst2) become token ids: used only when data.name is a text corpus."""
    tokenizer: Literal["word", "bpe"] = "word"
    vocab_size: Int | None = Field(None, ge=8, description="vocabulary cap (word) or BPE target size")
    min_freq: Int = Field(2, ge=1, description="rarer training-split words map to <unk>")
    max_len: Int = Field(400, ge=1, description="tokens kept per text; longer ones are truncated (counted in the notes)")
    vectors: str | None = Field(None, description="pretrained word vectors for the model's embedding: a vectors.safetensors "
                                                  "file, an embeddings run directory, or an embeddings recipe name "
                                                  "(imdb-word2vec: its newest run in output_dir)")
    freeze_vectors: bool = Field(False, description="keep the pretrained vectors fixed instead of fine-tuning them")


class ThresholdConfig(_Strict):
    criterion: Literal["f1", "recall", "precision"] = "f1"
    target: Float | None = Field(None, gt=0.0, le=1.0, description="the recall/precision to reach")


class EvaluateConfig(_Strict):
    threshold: ThresholdConfig | None = Field(None, description="binary classifiers: tune the decision threshold on the validation split")


class ReportConfig(_Strict):
    samples: Int = Field(15, ge=0, description="test images in the prediction grid")
    wrong: Int = Field(9, ge=0, description="most confidently wrong images shown")


class TuneConfig(_Strict):
    """A hyperparameter search over this recipe (`tujie tune`): the space, the objective, the defaults.

    Each `space` entry maps a config key to one distribution: `{log_uniform: [1e-4, 1e-1]}`,
    `{uniform: [0.0, 0.5]}`, `{int: [1, 4]}`, `{log_int: [16, 256]}` or `{choice: [32, 64, 128]}`.
    `tujie.runner.tuning` checks them against the schema before any trial runs.
    """
    space: dict[str, dict] = Field(description="config key -> distribution, e.g. optimizer.lr: {log_uniform: [1e-4, 1e-1]}")
    metric: str = Field("val_accuracy", description="the objective: a per-epoch metric (its best epoch counts; "
                                                    "the pruner sees every epoch), test_<metric>, or a results key")
    direction: Literal["maximize", "minimize"] = "maximize"
    trials: Int = Field(20, ge=1, description="trials in the whole study, over all workers and machines")
    sampler: Literal["grid", "random", "tpe", "gp"] = "tpe"
    pruner: Literal["none", "median", "hyperband"] = "median"
    grid_points: Int = Field(4, ge=2, description="points per continuous range for the grid sampler")


class RunConfig(_Strict):
    recipe: str
    description: str = ""
    expected: ExpectedResult | None = None
    kind: str = Field("train", description="the kind of run (tujie.kinds): train, cross_validation, translation, ...")
    seed: Int = 0
    device: str = "auto"
    output_dir: str = "runs"
    run_name: RunName | None = Field(None, description="the run directory's name inside output_dir (a plain name, no folders)")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    text: TextConfig = TextConfig()
    report: ReportConfig = ReportConfig()
    tune: TuneConfig | None = Field(None, description="the search space and objective of `tujie tune` (ignored by `tujie run`)")


# short spellings accepted by `--set` (kinds add their own, e.g. k -> cross_validation.k)
ALIASES = {"epochs": "train.epochs", "batch_size": "train.batch_size", "lr": "optimizer.lr",
           "optimizer": "optimizer.name", "loss": "train.loss", "dataset": "data.name", "limit": "data.limit",
           "validation_split": "data.validation_split", "model": "model.name", "scheduler": "scheduler.name",
           "patience": "train.early_stopping.patience", "l1": "train.l1", "l2": "train.l2",
           "weight_decay": "optimizer.weight_decay", "precision": "train.precision", "ema": "train.ema",
           "accumulate": "train.accumulate", "clip_grad_norm": "train.clip_grad_norm",
           "max_len": "text.max_len", "tokenizer": "text.tokenizer"}
OPEN_SECTIONS = ("model", "scheduler")  # sections that take free keys
_LAST = "report"  # kind sections go before it, so config.yaml reads as it always did


def schema(sections: tuple[tuple[str, type[BaseModel]], ...] = ()) -> type[RunConfig]:
    """`RunConfig` with one optional section per kind, e.g. (("translation", TranslationConfig),).

    Example:
        >>> class Demo(BaseModel):
        ...     size: int = 3
        >>> Full = schema((("demo", Demo),))
        >>> Full.model_validate({"recipe": "x", "demo": {"size": 5}}).demo.size
        5
    """
    return _schema(tuple(sections))


@lru_cache(maxsize=8)
def _schema(sections: tuple) -> type[RunConfig]:
    if not sections:
        return RunConfig
    fields = {}
    for name, info in RunConfig.model_fields.items():
        if name == _LAST:
            fields.update({section: (model | None, None) for section, model in sections})
        fields[name] = (info.annotation, info)
    return create_model("RunConfig", __config__=ConfigDict(extra="forbid"), __doc__=RunConfig.__doc__, **fields)


def base_only(config: dict) -> dict:
    """The keys of a config mapping that the base `RunConfig` knows (a kind's section left out).

    Library code that needs only the shared parts (a text classifier reloading its model) reads
    a run's config.yaml with `validate(base_only(mapping))`, whatever kind wrote it.
    """
    return {k: v for k, v in config.items() if k in RunConfig.model_fields}


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


def apply_overrides(config: dict, overrides, model: type[BaseModel] = RunConfig, aliases: dict | None = None) -> dict:
    """Apply `key=value` strings (values parsed as YAML) to a config mapping; returns a new mapping.

    Args:
        config: the recipe as a mapping.
        overrides: strings `key=value`; `key` is dotted (`optimizer.lr`) or a short alias (`lr`).
        model: the schema whose keys are valid (`schema(...)` for a kind's section).
        aliases: short spellings besides `ALIASES`.

    Example:
        >>> apply_overrides({"recipe": "x"}, ["epochs=3", "lr=0.01"])
        {'recipe': 'x', 'train': {'epochs': 3}, 'optimizer': {'lr': 0.01}}
    """
    import copy

    config = copy.deepcopy(config)
    keys = valid_keys(model)
    aliases = {**ALIASES, **(aliases or {})}
    for item in overrides or ():
        if "=" not in item:
            raise ConfigError(f"Override {item!r} is not of the form key=value.", expected="key=value, e.g. epochs=3",
                              received=item, fix="Write --set epochs=3.")
        key, raw = item.split("=", 1)
        key = aliases.get(key.strip(), key.strip())
        is_section = any(k.startswith(key + ".") for k in keys)  # a whole section: train.early_stopping={patience: 3}
        if key not in keys and not is_section and key.split(".")[0] not in OPEN_SECTIONS:
            raise ConfigError(f"Unknown config key {key!r}. {closest(key, keys + list(aliases))}",
                              expected=f"one of {', '.join(list(aliases) + keys)}", received=item,
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


def validate(config: dict, model: type[RunConfig] = RunConfig) -> RunConfig:
    """Check a config mapping against the schema; the first problem is reported with its key and value."""
    try:
        return model.model_validate(config)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            keys = valid_keys(model)
            raise ConfigError(f"Unknown config key {key!r}. {closest(key, keys)}", expected=f"one of {', '.join(keys)}",
                              received=f"{key}={err.get('input')!r}", fix="Remove or rename the key.") from None
        raise ConfigError(f"Invalid value for config key {key!r} ({err['msg'].lower()}).", expected=_describe(err["loc"], model),
                          received=f"{key}={err.get('input')!r}", fix=f"Pass a valid value, e.g. --set {key}=...") from None


def _describe(loc, model: type[BaseModel] = RunConfig) -> str:
    """The schema's type (and bounds) for a config key, e.g. 'integer (>= 1)'."""
    field = None
    for part in loc:
        if model is None or part not in model.model_fields:
            break
        field = model.model_fields[part]
        model = _submodel(field.annotation)
    if field is None:
        return "a value of the right type"
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string", Int: "an integer",
             Float: "a number", Int | None: "an integer or null", Float | None: "a number or null",
             RunName | None: "a plain folder name inside output_dir, or null"}
    kind = names.get(field.annotation) or str(field.annotation).replace("typing.", "")
    bounds = [f"{sym} {getattr(m, attr)}" for m in field.metadata for attr, sym in
              (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if getattr(m, attr, None) is not None]
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def to_yaml(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
