"""A trained run as something that answers: `load_servable(path).predict_proba(raw inputs)`.

A run directory holds the model (config.yaml, best.safetensors) and, since issue 16, its data
contract `data.json`: which dataset, the classes, one sample's shape, and how raw input became
the model's input (the normalisation, with its mean and std; for text the tokenizer and max_len).
A `Servable` applies that contract itself, so a caller hands it what a person has: pixels in
[0, 1], a table's raw feature values, or texts. Runs older than data.json rebuild the contract
from config.yaml and the dataset registry, which needs the data.

The same contract travels with `tujie export`: a folder it writes (model.onnx, data.json,
export.json, tokenizer.json for text) is a servable of its own with backend "onnxruntime".

Example:
    >>> import tempfile
    >>> import tujie as tj
    >>> run = tj.run("digits-mlp", overrides=["epochs=1"], verbose=0).run_dir  # doctest: +SKIP
    >>> servable = load_servable(run)  # doctest: +SKIP
    >>> x = tj.datasets.load("digits").test.x[:3]   # pixels in [0, 1]  # doctest: +SKIP
    >>> servable.predict_proba(x).shape  # doctest: +SKIP
    (3, 10)
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .._io import write_json
from ..errors import CheckpointError, ConfigError, DataError, ShapeError
from ..i18n import _

DATA_FILE = "data.json"  # the data contract
EXPORT_FILE = "export.json"  # what `tujie export` wrote, and how the model's output reads
ONNX_FILE = "model.onnx"
WEIGHT_FILES = ("best.safetensors", "last.safetensors")
CONTRACT_FORMAT = "tujie-data-1"
BACKENDS = ("torch", "onnxruntime")
TASKS = ("image", "tabular", "text")
_MAKE_RUN = "Train one with `tujie run RECIPE` (e.g. `tujie run digits-mlp`) and pass its folder runs/RECIPE-DATE-TIME/."


# ------------------------------------------------------------------ the data contract
def data_contract(data) -> dict:
    """data.json's content for a loaded dataset bundle (`tujie.data.load`) or text bundle.

    Example:
        >>> from tujie import data
        >>> contract = data_contract(data.load("digits", normalize="standard"))
        >>> contract["task"], contract["input_shape"], contract["pixel_max"], len(contract["mean"])
        ('image', [1, 8, 8], 16.0, 1)
    """
    def floats(values):
        return None if values is None else [float(v) for v in values]

    if getattr(data, "tokenizer", None) is not None:  # a text bundle: ids come from the tokenizer, no scaling
        return {"format": CONTRACT_FORMAT, "dataset": data.name, "task": "text", "classes": list(data.classes),
                "input_shape": None, "normalize": None, "mean": None, "std": None, "pixel_max": None,
                "tokenizer": "tokenizer.json", "max_len": int(data.max_len)}
    pixel_max = getattr(data, "pixel_max", None)
    return {"format": CONTRACT_FORMAT, "dataset": data.name, "task": "image" if pixel_max is not None else "tabular",
            "classes": None if data.classes is None else [str(c) for c in data.classes],
            "input_shape": [int(s) for s in data.input_shape], "normalize": data.normalize,
            "mean": floats(data.mean), "std": floats(data.std), "pixel_max": None if pixel_max is None else float(pixel_max)}


def write_data_contract(run_dir, data) -> Path:
    """Write `data.json` into a run directory (the `train` kind does, for every run)."""
    return write_json(Path(run_dir) / DATA_FILE, data_contract(data))


def read_data_contract(run_dir, config=None) -> tuple[dict, list[str]]:
    """The run's data contract and notes: data.json, else rebuilt from config.yaml (needs the dataset's files).

    Args:
        run_dir: the run directory (or an export folder, which always has data.json).
        config: the run's validated config (read from config.yaml when None).

    Returns:
        `(contract, notes)`; the notes say when the contract was rebuilt.
    """
    run_dir = Path(run_dir)
    if (run_dir / DATA_FILE).is_file():
        try:
            contract = json.loads((run_dir / DATA_FILE).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise DataError(f"{run_dir / DATA_FILE} is not valid JSON ({e}).", expected="the data contract the run wrote",
                            received=f"{(run_dir / DATA_FILE).stat().st_size:,} bytes",
                            fix=f"Delete {DATA_FILE}: it is then rebuilt from config.yaml and the dataset.") from None
        if not isinstance(contract, dict) or contract.get("task") not in TASKS:
            raise DataError(f"{run_dir / DATA_FILE} does not describe the run's data.", expected=f"a {CONTRACT_FORMAT} contract",
                            received=str(contract)[:120], fix=f"Delete {DATA_FILE}: it is then rebuilt from config.yaml.")
        return contract, []
    config = config if config is not None else read_run_config(run_dir)
    from ..text.classification import _classes_of, is_text_corpus

    d = config.data
    if is_text_corpus(d.name):  # the tokenizer file holds everything: no data needed
        contract = {"format": CONTRACT_FORMAT, "dataset": d.name, "task": "text", "classes": _classes_of(config),
                    "input_shape": None, "normalize": None, "mean": None, "std": None, "pixel_max": None,
                    "tokenizer": "tokenizer.json", "max_len": int(config.text.max_len)}
        return contract, [_("{run} has no data.json (runs write it since issue 16): its data contract was read from "
                            "config.yaml.").format(run=run_dir.name)]
    from .. import data as datasets

    bundle = datasets.load(d.name, data_dir=d.data_dir, validation_split=d.validation_split, seed=config.seed,
                           normalize=d.normalize, limit=d.limit)
    return data_contract(bundle), [_("{run} has no data.json (runs write it since issue 16): its normalisation was rebuilt "
                                     "from config.yaml and the {dataset} data, which this needs.").format(run=run_dir.name,
                                                                                                          dataset=d.name)]


def read_run_config(run_dir):
    """The run's config.yaml, validated (its kind's own sections dropped; the starting weights too)."""
    import yaml

    from .. import config as cfg

    path = Path(run_dir) / "config.yaml"
    check_run_dir(run_dir, ("config.yaml",))
    try:
        saved = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise DataError(f"{path} is not valid YAML ({e}).", expected="the config.yaml a run writes", fix=_MAKE_RUN) from None
    if not isinstance(saved, dict):
        raise DataError(f"{path} holds no run configuration.", expected="the config.yaml a run writes",
                        received=str(saved)[:80], fix=_MAKE_RUN)
    if saved.get("trained_from") == "python":
        raise DataError(f"{run_dir} was trained from Python with fit(..., run_dir=...): its config.yaml is a record, not a recipe, "
                        "so the model cannot be rebuilt from it.", expected="a run directory written by `tujie run`",
                        received=f"{path} (trained_from: python)",
                        fix="Save the model with tj.save_model(model, FOLDER), or train it with `tujie run RECIPE`.")
    saved = cfg.base_only(saved)
    (saved.get("model") or {}).pop("weights", None)  # the starting weights: the run's own weights replace them
    return cfg.validate(saved)


def check_run_dir(path, needed: tuple[str, ...] = ()) -> Path:
    """`path` as a folder holding `needed`, refused in the error template (what is missing, how to make it)."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path} is not a folder.", expected="a run directory (config.yaml, best.safetensors) or a folder written "
                        "by `tujie export`", received="a file" if path.exists() else "no such path", fix=_MAKE_RUN)
    missing = [name for name in needed if not (path / name).is_file()]
    if missing:
        held = ", ".join(sorted(p.name for p in path.iterdir())[:8]) or "nothing"
        raise DataError(f"{path} has no {' and no '.join(missing)}.", expected=f"a run directory with {', '.join(needed)}",
                        received=f"a folder holding {held}", fix=_MAKE_RUN)
    return path


def weights_file(run_dir) -> Path:
    """The run's best weights, else its last checkpoint (a run stopped before any best epoch)."""
    run_dir = Path(run_dir)
    for name in WEIGHT_FILES:
        if (run_dir / name).is_file():
            return run_dir / name
    raise DataError(f"{run_dir} holds no weights.", expected=f"{' or '.join(WEIGHT_FILES)} in the run directory",
                    received=f"a folder holding {', '.join(sorted(p.name for p in run_dir.iterdir())[:8]) or 'nothing'}",
                    fix="The weights are written after the run's first epoch: let the run finish one, or pass another run.")


# ------------------------------------------------------------------ the model of a run
@dataclass
class RunModel:
    """A run's model rebuilt with its weights, and what the export and the servable need to know about it."""

    model: object  # nn.Module, in eval mode
    model_name: str  # the zoo name, e.g. "lenet5"
    contract: dict
    output: str  # "logits", "probabilities", "binary_logits" or "binary_probabilities"
    run_dir: Path
    weights: Path
    notes: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.contract["task"]


def output_kind(config) -> str:
    """What the model's output is, from the run's loss: logits or probabilities, K columns or one (binary)."""
    from ..train.losses import get_loss, loss_kind

    loss = get_loss(config.train.loss)
    kind = loss_kind(loss)
    probs = str(getattr(loss, "task", "")).endswith("_probs")
    if kind == "multiclass":
        return "probabilities" if probs else "logits"
    if kind in ("binary_logits", "binary_probs"):
        return "binary_probabilities" if kind == "binary_probs" else "binary_logits"
    raise ConfigError(f"The run was trained with loss {config.train.loss!r} ({kind}), not as a classifier.",
                      expected="a classifier (cross_entropy, bce_with_logits, ...)", received=f"train.loss={config.train.loss!r}",
                      fix="Export or serve a classification run; regression models are not served yet.")


def load_run_model(run_dir) -> RunModel:
    """Rebuild a run's model from config.yaml with its best weights (else its last), in eval mode."""
    from ..models.saving import load_weights
    from ..train.builders import build_model

    run_dir = check_run_dir(run_dir, ("config.yaml",))
    weights = weights_file(run_dir)
    config = read_run_config(run_dir)
    contract, notes = read_data_contract(run_dir, config)
    if not contract.get("classes"):
        raise ConfigError(f"{run_dir.name} was trained on {contract.get('dataset')}, which has no classes (a regression).",
                          expected="a classification run", received=f"data.name={contract.get('dataset')!r}",
                          fix="Export or serve a classification run; regression models are not served yet.")
    sizes = SimpleNamespace(num_classes=len(contract["classes"]), vocab_size=None)
    if contract["task"] == "text":
        sizes.vocab_size = _tokenizer(run_dir, contract).vocab_size
    model = build_model(config, sizes)
    try:
        load_weights(model, weights)  # names and shapes checked; lazy layers take their sizes from the weights
    except CheckpointError as e:  # a damaged or foreign file: the same paragraph, as the data error serving expects
        raise DataError(e.what, expected=e.expected, received=e.received, fix=e.fix) from None
    return RunModel(model.eval(), config.model.name, contract, output_kind(config), run_dir, weights, notes)


def _tokenizer(folder: Path, contract: dict):
    from ..text.tokenizers import load_tokenizer

    name = contract.get("tokenizer") or "tokenizer.json"
    if not (folder / name).is_file():
        raise DataError(f"{folder} has no {name}, which a text model needs to turn texts into token ids.",
                        expected=f"{name} beside the weights (every text run writes it when it starts)",
                        received=f"a folder holding {', '.join(sorted(p.name for p in folder.iterdir())[:8])}",
                        fix="Pass the run directory itself, or export it again with `tujie export RUN_DIR`.")
    return load_tokenizer(folder / name)


# ------------------------------------------------------------------ the servable
@dataclass
class Servable:
    """A trained classifier ready to answer: the model and what turns raw input into its input.

    Build it with `load_servable`. `predict_proba` takes raw input (pixels in [0, 1], a table's raw
    feature values, or texts) and returns class probabilities; the run's normalisation, or its
    tokenizer and max_len, are applied inside.
    """

    name: str  # the run's folder name
    task: str  # "image", "tabular" or "text"
    classes: list[str]
    input_shape: tuple | None  # one sample as the model takes it, e.g. (1, 28, 28); None for text
    run_dir: Path
    backend: str  # "torch" or "onnxruntime"
    model_name: str = ""
    parameters: int | None = None
    contract: dict = field(default_factory=dict, repr=False)
    output: str = "logits"
    notes: list[str] = field(default_factory=list, repr=False)
    _forward: object = field(default=None, repr=False)  # numpy inputs -> numpy (N, K) raw outputs
    _keep: object = field(default=None, repr=False)  # what must live as long as the servable (a temporary export folder)
    _tokenizer: object = field(default=None, repr=False)  # text: the run's tokenizer
    _text: object = field(default=None, repr=False)  # text: the TextClassifier around this backend, made on first use

    def predict_proba(self, inputs) -> np.ndarray:
        """Class probabilities, (N, K) float32, each row summing to 1.

        Args:
            inputs: image/tabular: array-like (N, *input_shape) of raw values (pixels in [0, 1] as
                `tj.datasets.load(name, normalize="unit")` gives them; a table's raw feature values).
                text: a list of strings (or one string).
        """
        if self.task == "text":
            return self._text_classifier().predict_proba(inputs).numpy().astype(np.float32)
        return probabilities(self._forward(self.prepare(inputs)), self.output)

    def predict(self, inputs) -> list[dict]:
        """`[{"label", "confidence", "probabilities": {class: p}}]`, one per input."""
        probs = self.predict_proba(inputs)
        return [{"label": self.classes[int(row.argmax())], "confidence": float(row.max()),
                 "probabilities": {name: float(p) for name, p in zip(self.classes, row)}} for row in probs]

    def prepare(self, inputs) -> np.ndarray:
        """Raw image/tabular inputs (N, *input_shape) → the model's input, float32, with the run's normalisation."""
        try:
            x = np.asarray(inputs, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise DataError(f"Model {self.name} takes numbers.", expected=f"an array of shape (N, {_shape(self.input_shape)})",
                            received=f"{type(inputs).__name__} ({e})", fix="Send numbers only, one nested list per sample.") from None
        if x.ndim != len(self.input_shape) + 1 or tuple(x.shape[1:]) != tuple(self.input_shape) or not len(x):
            fix = ("Add the batch axis: send a list of samples, even of one." if tuple(x.shape) == tuple(self.input_shape)
                   else f"Reshape each sample to {tuple(self.input_shape)}.")
            raise ShapeError(f"Model {self.name} received input of the wrong shape.",
                             expected=f"(N, {_shape(self.input_shape)}) with N >= 1", received=f"shape {tuple(x.shape)}", fix=fix)
        if not np.isfinite(x).all():
            raise DataError(f"Model {self.name} received NaN or infinite values.", expected="finite numbers",
                            received=f"{int((~np.isfinite(x)).sum())} non-finite values", fix="Replace the missing values first.")
        return model_input(x, self.contract)

    def metadata(self) -> dict:
        """What `GET /metadata` shows: the model, its classes and input, the backend and the versions."""
        import torch

        from .. import __version__

        versions = {"tujie": __version__, "torch": torch.__version__}
        if self.backend == "onnxruntime":
            import onnxruntime

            versions["onnxruntime"] = onnxruntime.__version__
        meta = {"name": self.name, "task": self.task, "classes": list(self.classes),
                "input_shape": None if self.input_shape is None else list(self.input_shape), "model": self.model_name,
                "parameters": self.parameters, "backend": self.backend, "versions": versions, "run_dir": str(self.run_dir),
                "dataset": self.contract.get("dataset")}
        if self.task == "text":
            meta["max_len"] = self.contract.get("max_len")
        return meta

    def _text_classifier(self):
        """The text path of `tujie.text.classification.TextClassifier` (tokenise, truncate, pad) around this backend."""
        from ..text.classification import TextClassifier

        if self._text is None:
            kind = "multiclass" if self.output in ("logits", "probabilities") else "binary_logits"
            self._text = TextClassifier(_AsLogits(self._forward, self.output), self._tokenizer, self.classes,
                                        int(self.contract["max_len"]), kind)
        return self._text


class _AsLogits:
    """A backend as the (tokens, lengths) → logits model `TextClassifier` drives (probabilities become their logits)."""

    def __init__(self, forward, output: str):
        self.forward, self.output = forward, output

    def eval(self):
        return self

    def __call__(self, tokens, lengths):
        import torch

        out = torch.as_tensor(self.forward(tokens.numpy(), lengths.numpy())).float()
        if self.output == "probabilities":
            return out.clamp_min(1e-12).log()  # softmax(log p) = p
        if self.output == "binary_probabilities":
            return torch.logit(out.clamp(1e-7, 1 - 1e-7))  # sigmoid(logit p) = p
        return out


def model_input(x: np.ndarray, contract: dict) -> np.ndarray:
    """Raw values (N, *input_shape) on the unit scale → the model's input, as the run's data contract says.

    Images: pixels in [0, 1] become what the run trained on (the same, standardised per channel, or
    0..pixel_max); tables: raw feature values, standardised with the training split's mean and std.

    Example:
        >>> contract = {"pixel_max": 255.0, "normalize": "standard", "mean": [0.5], "std": [0.25]}
        >>> model_input(np.full((1, 1, 2, 2), 0.75, np.float32), contract).ravel().tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    x = np.asarray(x, dtype=np.float32)
    if contract.get("pixel_max") is not None and contract.get("normalize") is None:  # trained on raw 0..pixel_max values
        x = x * np.float32(contract["pixel_max"])
    if contract.get("mean") is not None:
        shape = (-1,) + (1,) * (x.ndim - 2)  # (C, 1, 1) for images (N, C, H, W), (F,) for tables (N, F)
        x = (x - np.asarray(contract["mean"], np.float32).reshape(shape)) / np.asarray(contract["std"], np.float32).reshape(shape)
    return np.ascontiguousarray(x, dtype=np.float32)


def probabilities(output: np.ndarray, kind: str) -> np.ndarray:
    """A model's raw output (N, K) or (N, 1) as probabilities (N, K): softmax, or two columns for one binary output.

    Example:
        >>> probabilities(np.array([[0.0], [2.0]]), "binary_logits").round(3)
        array([[0.5  , 0.5  ],
               [0.119, 0.881]], dtype=float32)
    """
    out = np.asarray(output, dtype=np.float64)
    if kind.startswith("binary"):
        p = out.reshape(len(out), -1)[:, -1]
        p = 1.0 / (1.0 + np.exp(-p)) if kind == "binary_logits" else np.clip(p, 0.0, 1.0)
        return np.stack([1.0 - p, p], axis=1).astype(np.float32)
    if kind == "probabilities":
        return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)
    out = np.exp(out - out.max(axis=1, keepdims=True))  # a stable softmax
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)


def _shape(shape) -> str:
    return ", ".join(str(s) for s in shape)


# ------------------------------------------------------------------ loading
def load_servable(path, *, backend: str = "torch") -> Servable:
    """A run directory, or a folder written by `tujie export`, as a `Servable`.

    Args:
        path: a train run directory (config.yaml + best.safetensors, else last.safetensors), or an
            export folder (export.json beside model.onnx, or a safetensors export).
        backend: "torch", or "onnxruntime" (reads the folder's model.onnx; for a run directory an
            ONNX file is exported on the fly into a temporary folder).

    Raises:
        DataError: the folder is not a run or an export, or misses a file (named, with how to make it).
    """
    if backend not in BACKENDS:
        raise ConfigError("Invalid value received for `backend`.", expected=" or ".join(map(repr, BACKENDS)),
                          received=f"backend={backend!r}", fix='Pass backend="torch", or "onnxruntime" for the ONNX model.')
    path = check_run_dir(path)
    if (path / EXPORT_FILE).is_file():
        return _from_export(path, backend)
    run = load_run_model(path)
    if backend == "torch":
        return _servable(run.contract, path, path.name, "torch", run.model_name, _count(run.model), run.output,
                         _torch_forward(run.model), run.notes)
    from .onnx_graph import min_sequence, write_onnx

    folder = tempfile.TemporaryDirectory(prefix="tujie-onnx-")  # removed when the servable is
    onnx_file = write_onnx(run.model, Path(folder.name) / ONNX_FILE, task=run.task, input_shape=_input_shape(run.contract))
    return _servable(run.contract, path, path.name, "onnxruntime", run.model_name, _count(run.model), run.output,
                     _ort_forward(onnx_file, min_sequence(run.model)), run.notes, keep=folder)


def _from_export(path: Path, backend: str) -> Servable:
    """A folder written by `tujie export`: export.json says what the model is, data.json how input reaches it."""
    try:
        info = json.loads((path / EXPORT_FILE).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path / EXPORT_FILE} is not valid JSON ({e}).", expected="the export.json `tujie export` writes",
                        fix="Export the run again: tujie export RUN_DIR.") from None
    check_run_dir(path, (DATA_FILE,))
    contract, _ = read_data_contract(path)
    name, model_name = info.get("run") or path.name, info.get("model", "")
    output, parameters = info.get("output", "logits"), info.get("parameters")
    if backend == "onnxruntime":
        if not (path / ONNX_FILE).is_file():
            raise DataError(f"{path} holds a {info.get('format')} export, not an ONNX model.", expected=f"{ONNX_FILE} in the folder",
                            received=f"a folder holding {', '.join(sorted(p.name for p in path.iterdir())[:8])}",
                            fix="Export with `tujie export RUN_DIR --format onnx`, or load this folder with backend torch.")
        return _servable(contract, path, name, "onnxruntime", model_name, parameters, output, _ort_forward(path / ONNX_FILE, int(info.get("min_tokens") or 1)))
    from ..models.saving import ARCHITECTURE, WEIGHTS, load_model

    if not (path / ARCHITECTURE).is_file():
        raise DataError(f"{path} holds a {info.get('format')} export, which torch cannot load as a model here.",
                        expected=f"{ARCHITECTURE} and {WEIGHTS} (a `--format safetensors` export) for backend torch",
                        received=f"a folder holding {', '.join(sorted(p.name for p in path.iterdir())[:8])}",
                        fix="Load it with backend onnxruntime (`tujie serve FOLDER --onnx`), or pass the run directory.")
    model = load_model(path, compile=False)
    return _servable(contract, path, name, "torch", model_name, _count(model), output, _torch_forward(model))


def _servable(contract, run_dir, name, backend, model_name, parameters, output, forward, notes=(), keep=None) -> Servable:
    servable = Servable(name=name, task=contract["task"], classes=[str(c) for c in contract["classes"]],
                        input_shape=_input_shape(contract), run_dir=Path(run_dir), backend=backend, model_name=model_name,
                        parameters=parameters, contract=contract, output=output, notes=list(notes), _forward=forward, _keep=keep)
    if servable.task == "text":
        servable._tokenizer = _tokenizer(Path(run_dir), contract)
    return servable


def _input_shape(contract: dict) -> tuple | None:
    return None if contract.get("input_shape") is None else tuple(int(s) for s in contract["input_shape"])


def _count(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def _torch_forward(model):
    """numpy in, numpy out, no gradients: the torch backend."""
    import torch

    model.eval()

    def forward(*arrays):
        with torch.inference_mode():
            return model(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays)).float().numpy()
    return forward


def _ort_forward(onnx_file: Path, min_tokens: int = 1):
    """numpy in, numpy out: one ONNX Runtime session, its inputs fed by position (input, or tokens [, lengths]).

    Token ids shorter than `min_tokens` are padded with id 0 (their lengths unchanged; see `onnx_graph.min_sequence`).
    """
    from .onnx_graph import ort_session

    try:
        session = ort_session(onnx_file)
    except Exception as e:  # noqa: BLE001  ONNX Runtime's own errors (a damaged or foreign file) have no common base
        raise DataError(f"ONNX Runtime cannot read {onnx_file} ({type(e).__name__}: {str(e)[:200]}).",
                        expected="a model.onnx written by `tujie export`", received=f"{Path(onnx_file).stat().st_size:,} bytes",
                        fix="Export the run again: tujie export RUN_DIR --format onnx.") from None
    names = [i.name for i in session.get_inputs()]

    def forward(*arrays):
        first = arrays[0]
        if first.dtype.kind in "iu" and first.ndim == 2 and first.shape[1] < min_tokens:  # (batch, seq) token ids
            arrays = (np.pad(first, ((0, 0), (0, min_tokens - first.shape[1]))), *arrays[1:])
        return session.run(None, {n: np.ascontiguousarray(a) for n, a in zip(names, arrays)})[0]
    return forward
