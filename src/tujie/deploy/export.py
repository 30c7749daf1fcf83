"""`tujie export RUN_DIR`: a trained classifier as files that run without tujie, checked against torch.

Three formats, each a folder (default RUN_DIR/export-FORMAT) that also holds the run's data
contract (data.json), its config.yaml, the tokenizer of a text run, and export.json (what was
written, the parity check, the latency):

- `onnx`: model.onnx with a dynamic batch axis (text: batch and sequence), checked by onnx's
  checker, then run by ONNX Runtime on up to 1,000 test inputs of the run's own dataset beside
  torch: the largest difference of the outputs must stay within 1e-4 (else the file is removed
  and the export refused), and how often both pick the same class is reported. The latency of
  ONNX Runtime and torch at batch 1 and 64 is measured in the same process.
- `torchscript`: the format's name is kept, but `torch.jit` is deprecated in torch 2.13
  ("Please switch to torch.compile or torch.export"), so the model is written with
  `torch.export` as model.pt2 (`torch.export.load(path).module()`), dynamic batch axis. Models
  whose forward checks its input's values (the text classifiers check every id against the
  vocabulary, a data-dependent branch torch.export refuses) fall back to `torch.jit.trace`
  (model.pt, `torch.jit.load`), said in the notes.
- `safetensors`: weights.safetensors + architecture.json, the folder `tj.load_model` rebuilds.

`load_servable(folder, backend="onnxruntime")` serves an ONNX export from the folder alone.

Example:
    >>> result = export_run("runs/digits-mlp-20261206-101500", format="onnx")  # doctest: +SKIP
    >>> print(result.describe())  # doctest: +SKIP
    >>> result.max_abs_diff < 1e-4, result.agreement  # doctest: +SKIP
    (True, 1.0)
"""

from __future__ import annotations

import datetime as dt
import io
import statistics
import time
import warnings
from contextlib import contextmanager, redirect_stderr
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .._io import write_bytes, write_json
from ..errors import ConfigError, TujieError, closest
from ..i18n import _
from . import runs
from .runs import DATA_FILE, EXPORT_FILE, ONNX_FILE, RunModel, load_run_model, model_input, probabilities

FORMATS = ("onnx", "torchscript", "safetensors")
TOLERANCE = 1e-4  # float models: the largest |ONNX Runtime - torch| allowed on any output
QUANTIZED_AGREEMENT = 0.999  # int8 models: the share of inputs on which they must pick torch's class
INT8_FILE = "model.int8.onnx"
CHECK_SAMPLES = 1000
MODEL_FILES = (ONNX_FILE, INT8_FILE, "model.pt2", "model.pt", "weights.safetensors", "architecture.json")  # what formats write
LATENCY_BATCHES = (1, 64)


class ParityError(TujieError, RuntimeError):
    """The exported model does not compute what the torch model computes (beyond the tolerance)."""


@dataclass
class ExportResult:
    """What `export_run` wrote and measured; `describe()` says it in a few lines for the terminal."""

    format: str
    output: Path
    files: list[Path]
    run_dir: Path
    checked: bool = False
    samples: int = 0  # inputs compared
    source: str = ""  # where they came from: the test split, or synthetic inputs
    max_abs_diff: float | None = None  # largest |exported - torch| over the outputs
    agreement: float | None = None  # share of inputs where both predict the same class
    latency: dict = field(default_factory=dict)  # {"torch": {"1": ms, "64": ms}, "onnxruntime": {...}}
    notes: list[str] = field(default_factory=list)
    quantized: dict | None = None  # onnx with quantize=True: the int8 file's size, agreement and latency

    def describe(self) -> str:
        lines = [_("Exported {run} as {format} to {output}").format(run=self.run_dir.name, format=self.format, output=self.output)]
        lines.append(_("Files: {files}").format(files=", ".join(p.name for p in self.files)))
        if self.checked:
            lines.append(_("Parity with torch on {n} inputs ({source}): max |difference| {diff}, same class {agreement}").format(
                n=f"{self.samples:,}", source=self.source, diff=f"{self.max_abs_diff:.2e}", agreement=f"{self.agreement:.2%}"))
        for batch in (str(b) for b in LATENCY_BATCHES):
            if batch in self.latency.get("onnxruntime", {}):
                ort, torch_ms = self.latency["onnxruntime"][batch], self.latency["torch"][batch]
                lines.append(_("Latency at batch {batch}: ONNX Runtime {ort} ms, torch {torch} ms (torch ÷ ONNX Runtime = {ratio})").format(
                    batch=batch, ort=f"{ort:.3f}", torch=f"{torch_ms:.3f}", ratio=f"{torch_ms / ort:.2f}"))
        q = self.quantized
        if q:
            lines.append(_("int8 ({file}, ONNX Runtime dynamic quantization): {int8} MB against {float} MB").format(
                file=q["file"], int8=f"{q['size_mb']['int8']:.3f}", float=f"{q['size_mb']['float']:.3f}"))
            if q.get("agreement") is not None:
                lines.append(_("int8 against torch: same class {agreement}, max |difference| {diff}; latency {b1} ms at "
                               "batch 1, {b64} ms at batch 64").format(
                    agreement=f"{q['agreement']:.2%}", diff=f"{q['max_abs_diff']:.2e}", b1=f"{q['latency']['1']:.3f}",
                    b64=f"{q['latency']['64']:.3f}"))
        lines += self.notes
        return "\n".join(lines)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(output=str(self.output), run_dir=str(self.run_dir), files=[p.name for p in self.files])
        return data


def export_run(run_dir, *, format: str = "onnx", output=None, check: bool = True,  # noqa: A002 (the CLI's name)
               quantize: bool = False) -> ExportResult:
    """Export a trained classifier run to `output` (default RUN_DIR/export-FORMAT) and check the result against torch.

    Args:
        run_dir: a train run directory (config.yaml and best.safetensors, else last.safetensors).
        format: "onnx", "torchscript" (written with torch.export, see the module docstring) or "safetensors".
        output: the folder to write; made if missing, its files replaced.
        check: compare the exported model with torch on up to 1,000 test inputs (onnx: also onnx's checker and
            the latency of ONNX Runtime against torch at batch 1 and 64).
        quantize: onnx only: also write model.int8.onnx, quantized by ONNX Runtime (dynamic int8: weights int8,
            activations quantized on the fly), refused unless it predicts the same class as torch on >= 99.9% of
            the inputs. (torch's own int8 models cannot be exported; see `onnx_graph.unsupported`.)

    Returns:
        An `ExportResult`; export.json in the folder holds the same numbers.

    Raises:
        DataError: the run directory is missing or incomplete. ConfigError: an unknown format, or a model with an
        operation the exporter cannot write (named). ParityError: the exported model computes something else.
    """
    if format not in FORMATS:
        raise ConfigError("Invalid value received for `format`.", expected=" or ".join(FORMATS), received=f"format={format!r}",
                          fix=f"{closest(str(format), FORMATS)} Pass --format onnx, torchscript or safetensors.".lstrip())
    if quantize and format != "onnx":
        raise ConfigError("Only ONNX exports are quantized here.", expected="format onnx with quantize",
                          received=f"format={format!r}, quantize=True", fix="Export with --format onnx, or leave quantize off.")
    run = load_run_model(run_dir)
    output = _output_folder(run.run_dir, format, output)
    files = _contract_files(run, output)
    result = ExportResult(format, output, [], run.run_dir, notes=list(run.notes))
    inputs = _check_inputs(run, result) if check else []
    refused = None
    if format == "onnx":
        files.insert(0, _export_onnx(run, output, inputs, result, check))
        if quantize:
            try:
                files.insert(1, _quantize_onnx(run, files[0], inputs, result))
            except ParityError as e:  # the float export stands (export.json below); the int8 one is refused
                refused = e
    elif format == "torchscript":
        files.insert(0, _export_program(run, output, inputs, result))
    else:
        files[:0] = _export_safetensors(run, output, inputs, result)
    result.files = files + [output / EXPORT_FILE]
    write_json(output / EXPORT_FILE, _export_info(run, result))  # written last: a folder with export.json is complete
    if refused is not None:
        raise refused
    return result


# ------------------------------------------------------------------ the folder
def _output_folder(run_dir: Path, format: str, output) -> Path:  # noqa: A002
    from .._io import output_error

    output = Path(output) if output is not None else run_dir / f"export-{format}"
    if output.exists() and not output.is_dir():
        raise ConfigError(f"Cannot export into {output}: it is a file.", expected="a folder (made if missing)",
                          received=str(output), fix="Pass another --output folder, or move the file away.")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise output_error(output, e) from None
    # an earlier export's model files would be served as this one's: gone, and export.json last of all (written again last)
    for name in (*MODEL_FILES, EXPORT_FILE):
        (output / name).unlink(missing_ok=True)
    return output


def _contract_files(run: RunModel, output: Path) -> list[Path]:
    """data.json, config.yaml and (text) the tokenizer, copied beside the model: the folder is served alone."""
    files = [write_json(output / DATA_FILE, run.contract), write_bytes(output / "config.yaml", (run.run_dir / "config.yaml").read_bytes())]
    if run.task == "text":
        name = run.contract.get("tokenizer") or "tokenizer.json"
        files.append(write_bytes(output / name, (run.run_dir / name).read_bytes()))
    return files


def _export_info(run: RunModel, result: ExportResult) -> dict:
    import torch

    from .. import __version__
    from .onnx_graph import min_sequence, takes_lengths

    text = run.task == "text"
    inputs = (["tokens", "lengths"] if takes_lengths(run.model) else ["tokens"]) if text else ["input"]
    versions = {"tujie": __version__, "torch": torch.__version__}
    if result.format == "onnx":
        import onnx
        import onnxruntime

        versions.update(onnx=onnx.__version__, onnxruntime=onnxruntime.__version__)
    return {"format": result.format, "run": run.run_dir.name, "run_dir": str(run.run_dir), "model": run.model_name,
            "task": run.task, "output": run.output, "parameters": int(sum(p.numel() for p in run.model.parameters())),
            "weights": run.weights.name, "inputs": inputs, "min_tokens": min_sequence(run.model) if text else None,
            "versions": versions, "exported": dt.datetime.now().isoformat(timespec="seconds"),
            "check": {k: v for k, v in result.to_dict().items() if k in ("checked", "samples", "source", "max_abs_diff",
                                                                           "agreement", "latency", "notes", "quantized")},
            "files": [p.name for p in result.files]}


# ------------------------------------------------------------------ the inputs of the check
def _check_inputs(run: RunModel, result: ExportResult, n: int = CHECK_SAMPLES) -> list[tuple]:
    """Up to `n` test inputs of the run's own dataset, as the model takes them, in batches of ≤ 64 (tuples of arrays).

    When the data are not there, synthetic inputs of the right shape (said in the result's source).
    """
    try:
        batches, source = (_text_inputs if run.task == "text" else _array_inputs)(run, n)
    except TujieError as e:  # the dataset is not on this machine: the check still runs, on made-up inputs
        rng = np.random.default_rng(0)
        batches = _synthetic_text(run, n, rng) if run.task == "text" else _synthetic_arrays(run, n, rng)
        source = _("synthetic inputs: the {dataset} data are not here").format(dataset=run.contract.get("dataset"))
        result.notes.append(_("The check used synthetic inputs ({error}).").format(error=type(e).__name__))
    result.samples, result.source = sum(len(b[0]) for b in batches), source
    return batches


def _array_inputs(run: RunModel, n: int):
    from .. import data as datasets

    contract = run.contract
    bundle = datasets.load(contract["dataset"], normalize=None, limit=n)  # raw values: the contract scales them as serving does
    x = bundle.test.x[:n].numpy().astype(np.float32)
    if contract.get("pixel_max") is not None:
        x = x / np.float32(contract["pixel_max"])  # pixels in [0, 1], what a Servable is given
    x = model_input(x, contract)
    source = _("the first {n} test samples of {dataset}").format(n=f"{len(x):,}", dataset=contract["dataset"])
    return [(x[i:i + 64],) for i in range(0, len(x), 64)], source


def _synthetic_arrays(run: RunModel, n: int, rng) -> list[tuple]:
    shape = tuple(run.contract["input_shape"])
    unit = rng.random((n, *shape), dtype=np.float32)  # pixels in [0, 1]; for tables, values near the training range
    x = model_input(unit, run.contract) if run.task == "image" else rng.standard_normal((n, *shape)).astype(np.float32)
    return [(x[i:i + 64],) for i in range(0, n, 64)]


def _text_inputs(run: RunModel, n: int):
    import torch

    from ..text.corpus import load_imdb, load_sst2

    dataset = run.contract["dataset"]
    corpus = (load_sst2 if dataset == "sst2" else load_imdb)()
    texts = [text for text, _label in corpus.test]
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(0))[:n].tolist()  # IMDB is sorted by label
    texts = [texts[i] for i in order]
    tokenizer = runs._tokenizer(run.run_dir, run.contract)
    ids = [seq[: run.contract["max_len"]] or [tokenizer.unk_id] for seq in tokenizer.encode_batch(texts)]
    source = _("{n} test texts of {dataset} (seeded draw)").format(n=f"{len(ids):,}", dataset=dataset)
    return _padded_batches(run, ids), source


def _synthetic_text(run: RunModel, n: int, rng) -> list[tuple]:
    vocab = runs._tokenizer(run.run_dir, run.contract).vocab_size
    longest = min(int(run.contract["max_len"]), 64)
    ids = [rng.integers(4, max(vocab, 5), size=int(rng.integers(1, longest + 1))).tolist() for _text in range(n)]
    return _padded_batches(run, ids)


def _padded_batches(run: RunModel, ids: list[list[int]]) -> list[tuple]:
    """Token ids in batches of 64, each padded to its longest text (and to the graph's fewest tokens)."""
    from ..text.data import pad_sequences
    from .onnx_graph import min_sequence, takes_lengths

    fewest = min_sequence(run.model)
    batches = []
    for i in range(0, len(ids), 64):
        tokens, lengths = pad_sequences(ids[i:i + 64])
        tokens = np.pad(tokens.numpy(), ((0, 0), (0, max(0, fewest - tokens.shape[1]))))  # (batch, seq)
        batches.append((tokens, lengths.numpy()) if takes_lengths(run.model) else (tokens,))
    return batches


# ------------------------------------------------------------------ the formats
def _export_onnx(run: RunModel, output: Path, inputs: list[tuple], result: ExportResult, check: bool) -> Path:
    from .onnx_graph import ort_session, write_onnx

    path = write_onnx(run.model, output / ONNX_FILE, task=run.task, input_shape=runs._input_shape(run.contract), check=check)
    if not check:
        return path
    session = ort_session(path)
    names = [i.name for i in session.get_inputs()]

    def ort(*arrays):
        return session.run(None, dict(zip(names, arrays)))[0]

    try:
        _compare(run, inputs, ort, result, what="ONNX Runtime")
    except ParityError:
        path.unlink(missing_ok=True)  # never leave a model that computes something else where a server would find it
        raise
    result.latency = _latency(run, inputs, ort)
    return path


def _quantize_onnx(run: RunModel, float_file: Path, inputs: list[tuple], result: ExportResult) -> Path:
    """model.int8.onnx by ONNX Runtime's dynamic quantization, checked for class agreement with torch (>= 99.9%)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from .._io import atomic_path
    from .onnx_graph import ort_session

    path = float_file.with_name(INT8_FILE)
    with atomic_path(path) as tmp, _quiet():  # ORT logs advice on pre-processing, meant for static quantization
        quantize_dynamic(float_file, tmp, weight_type=QuantType.QInt8)
    result.quantized = {"file": path.name, "size_mb": {"float": float_file.stat().st_size / 1e6, "int8": path.stat().st_size / 1e6},
                        "agreement": None, "max_abs_diff": None, "latency": {}}
    if not inputs:
        return path
    session = ort_session(path)
    names = [i.name for i in session.get_inputs()]

    def int8(*arrays):
        return session.run(None, dict(zip(names, arrays)))[0]

    diff, same, total = 0.0, 0, 0
    for arrays in inputs:
        ours, theirs = _torch_outputs(run, arrays), int8(*arrays)
        diff = max(diff, float(np.abs(ours - theirs).max()))
        same += int((probabilities(ours, run.output).argmax(1) == probabilities(theirs, run.output).argmax(1)).sum())
        total += len(ours)
    agreement = same / max(total, 1)
    result.quantized.update(agreement=agreement, max_abs_diff=diff,
                            latency=_latency(run, inputs, int8)["onnxruntime"])
    if agreement < QUANTIZED_AGREEMENT:
        path.unlink(missing_ok=True)
        raise ParityError(f"The int8 model predicts another class than torch on {total - same:,} of {total:,} inputs "
                          f"({result.source}).", expected=f"the same class on >= {QUANTIZED_AGREEMENT:.1%} of the inputs",
                          received=f"{agreement:.2%} (max |difference| {diff:.2e})",
                          fix="The int8 file was removed; model.onnx (float) is exported and checked. Serve the float model, "
                              "or train longer: confident models lose fewer decisions to rounding.")
    return path


def _export_program(run: RunModel, output: Path, inputs: list[tuple], result: ExportResult) -> Path:
    """torch.export → model.pt2 (dynamic batch); a model torch.export refuses falls back to torch.jit.trace → model.pt."""
    import torch

    from .._io import atomic_path
    from .onnx_graph import example_inputs

    example, _names, _axes = example_inputs(run.model, run.task, runs._input_shape(run.contract))
    batch = torch.export.Dim("batch")
    dynamic = [{0: batch, 1: torch.export.Dim("sequence")} if run.task == "text" else {0: batch}]
    dynamic += [{0: batch}] * (len(example) - 1)  # lengths (batch,)
    try:
        with warnings.catch_warnings(), _quiet():
            warnings.simplefilter("ignore")
            program = torch.export.export(run.model, example, dynamic_shapes=tuple(dynamic))
        buffer = io.BytesIO()  # torch.export.save wants a name ending in .pt2 or a buffer; the buffer is written atomically
        torch.export.save(program, buffer)
        path = write_bytes(output / "model.pt2", buffer.getvalue())
        loaded = torch.export.load(str(path)).module()
        what = "torch.export"
    except Exception as e:  # noqa: BLE001  torch.export's refusals come in many kinds; the fallback below is named in the notes
        with warnings.catch_warnings(), _traceable(run.model):
            warnings.simplefilter("ignore")  # torch.jit is deprecated: used only where torch.export cannot go
            traced = torch.jit.trace(run.model, example, check_trace=False)
            path = output / "model.pt"
            with atomic_path(path) as tmp:
                torch.jit.save(traced, str(tmp))
            loaded = torch.jit.load(str(path))
        (output / "model.pt2").unlink(missing_ok=True)
        what = "torch.jit.trace"
        result.notes.append(_("torch.export refused the model ({error}); it was written with torch.jit.trace as model.pt "
                              "(load it with torch.jit.load).").format(error=type(e).__name__))
    if inputs:
        def forward(*arrays):
            with torch.inference_mode():
                return loaded(*(torch.from_numpy(a) for a in arrays)).float().numpy()
        _compare(run, inputs, forward, result, what=what)
    return path


@contextmanager
def _quiet():
    """Silence logging while torch.export tries a model (a refusal logs the whole graph; the fallback is noted instead)."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with redirect_stderr(io.StringIO()):  # torch prints the refused graph itself, too
            yield
    finally:
        logging.disable(previous)


class _NotCompiled:
    """Stands in for a `tj.Model`'s learner while torch.jit.trace reads every attribute (`learner` raises until compiled)."""


@contextmanager
def _traceable(model):
    stand_ins = [m for m in model.modules() if isinstance(getattr(type(m), "learner", None), property)
                 and m.__dict__.get("_learner") is None]
    for module in stand_ins:
        module.__dict__["_learner"] = _NotCompiled()
    try:
        yield
    finally:
        for module in stand_ins:
            module.__dict__.pop("_learner", None)


def _export_safetensors(run: RunModel, output: Path, inputs: list[tuple], result: ExportResult) -> list[Path]:
    """weights.safetensors + architecture.json: what `tj.load_model(folder)` rebuilds, no pickle."""
    import torch

    from ..models.saving import ARCHITECTURE, WEIGHTS, load_model, save_model

    save_model(run.model, output)
    if inputs:
        loaded = load_model(output, compile=False)

        def forward(*arrays):
            with torch.inference_mode():
                return loaded(*(torch.from_numpy(a) for a in arrays)).float().numpy()
        _compare(run, inputs, forward, result, what="tj.load_model")
    return [output / WEIGHTS, output / ARCHITECTURE]


# ------------------------------------------------------------------ parity and latency
def _torch_outputs(run: RunModel, arrays: tuple) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return run.model(*(torch.from_numpy(a) for a in arrays)).float().numpy()


def _compare(run: RunModel, inputs: list[tuple], exported, result: ExportResult, *, what: str) -> None:
    """The largest output difference and the class agreement of `exported` against torch; refused beyond TOLERANCE."""
    diff, same, total = 0.0, 0, 0
    for arrays in inputs:
        ours, theirs = _torch_outputs(run, arrays), np.asarray(exported(*arrays), dtype=np.float32)
        if ours.shape != theirs.shape:
            raise ParityError(f"The exported model ({what}) returns outputs of another shape than torch.",
                              expected=f"shape {ours.shape}", received=f"shape {theirs.shape}",
                              fix="Report it with the model's name; export with --format safetensors meanwhile.")
        diff = max(diff, float(np.abs(ours - theirs).max()))
        same += int((probabilities(ours, run.output).argmax(1) == probabilities(theirs, run.output).argmax(1)).sum())
        total += len(ours)
    result.checked, result.max_abs_diff, result.agreement = True, diff, same / max(total, 1)
    if not diff <= TOLERANCE:  # NaN fails too
        raise ParityError(f"The exported model ({what}) differs from torch by up to {diff:.2e} on {total:,} inputs "
                          f"({result.source}); the largest difference allowed is {TOLERANCE:.0e}.",
                          expected=f"max |exported - torch| <= {TOLERANCE:.0e}", received=f"{diff:.2e}, same class on {same / max(total, 1):.2%}",
                          fix="The exported file was removed. Check the model for operations that behave differently in "
                              "eval mode or on other batch sizes; export with --format safetensors meanwhile.")


def _latency(run: RunModel, inputs: list[tuple], ort) -> dict:
    """Median milliseconds per batch of ONNX Runtime and torch at batch 1 and 64, measured here, one after the other."""
    if not inputs:
        return {}
    first = inputs[0]
    latency: dict = {"torch": {}, "onnxruntime": {}}
    for size in LATENCY_BATCHES:
        reps = -(-size // len(first[0]))  # repeat a short batch up to the size
        arrays = tuple(np.ascontiguousarray(np.concatenate([a] * reps)[:size]) for a in first)
        latency["torch"][str(size)] = _median_ms(lambda: _torch_outputs(run, arrays))
        latency["onnxruntime"][str(size)] = _median_ms(lambda: ort(*arrays))
    return latency


def _median_ms(fn, *, repeats: int = 30, budget_s: float = 1.0) -> float:
    """The median of up to `repeats` timed calls (after 2 warm-ups), stopping early after `budget_s` seconds."""
    fn(), fn()
    times, start = [], time.perf_counter()
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


__all__ = ["ExportResult", "FORMATS", "ParityError", "export_run"]
