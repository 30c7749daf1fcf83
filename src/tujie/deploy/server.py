"""`tujie serve`: a trained model behind a web service (FastAPI + uvicorn), with a page to try it.

Routes of the app `create_app(servable)` builds:

- `POST /predict`: `{"inputs": [...]}` (a batch of arrays for image and tabular models, a batch
  of strings for text models) or, for image models, PNG/JPEG files as multipart/form-data
  (`curl -F file=@digit.png http://127.0.0.1:8000/predict`). Answers
  `{"predictions": [{"label", "confidence", "probabilities": {class: p}}], "model": name}`.
- `GET /health` (`{"status": "ok", "model": name}`), `GET /metadata` (the model's classes,
  input shape, backend, versions, and the server's limits), `GET /docs` and `/openapi.json`
  (FastAPI's own).
- `GET /`: a page to try the model (a canvas to draw a digit on for small grayscale image
  models, a box to type a review in for text models, a JSON box otherwise), `?lang=zh` in Chinese.

Every input is checked before the model sees it (`deploy/inputs.py`); a refusal answers 422
(wrong shape, type, NaN, empty batch), 413 (too many samples, body too large) or 415 (a file
for a model that takes no images) with one paragraph `{"detail": "..."}` saying what was wrong
and how to fix it. An unexpected failure answers 500 with a short message; the traceback goes
to the server's log, never to the client. With `max_batch > 0`, requests that wait together
share one forward pass (`deploy/batching.py`).

Example:
    >>> import numpy as np
    >>> predictions(np.array([[0.25, 0.75]]), ["cat", "dog"])
    [{'label': 'dog', 'confidence': 0.75, 'probabilities': {'cat': 0.25, 'dog': 0.75}}]
    >>> serve("runs/mnist-lenet5-20261206-101500", port=8000)  # doctest: +SKIP
    Serving mnist-lenet5-20261206-101500 (torch) at http://127.0.0.1:8000 ...
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import math
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ConfigError, TujieError
from ..i18n import _, check_language, current_language, language
from .batching import MicroBatcher
from .inputs import RequestRefused, check_batch_size, image_file_sample, image_or_tabular_batch, text_batch

if TYPE_CHECKING:
    from .runs import Servable

log = logging.getLogger("tujie.serve")

DEFAULT_MAX_REQUEST_BYTES = 8 * 2**20  # 8 MiB: 256 MNIST images as JSON are ~1.5 MB
DEFAULT_MAX_ITEMS = 256
# How long the first request of a micro-batch waits for company. 0: none, the batch is whatever queued while the
# model was busy; measured best here at concurrency 1, 8 and 32 (bench/serve_load.py, docs/benchmarks.md §22.2).
BATCH_WAIT_MS = 0.0
PAGE_DIR = Path(__file__).with_name("page")
# The page loads nothing from elsewhere: this policy makes the browser refuse it if it ever tried.
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class PredictRequest(BaseModel):
    """The JSON body of POST /predict."""

    model_config = ConfigDict(extra="forbid")
    inputs: list[Any] = Field(
        ..., description="A batch of samples: for image and tabular models each sample a nested list of numbers "
                         "in the model's input shape (pixels in [0, 1]), for text models each sample a string.")


class Prediction(BaseModel):
    label: str = Field(description="the most probable class")
    confidence: float = Field(description="its probability")
    probabilities: dict[str, float] = Field(description="every class's probability; they sum to 1")


class PredictResponse(BaseModel):
    predictions: list[Prediction] = Field(description="one per sample, in the order sent")
    model: str = Field(description="the name of the model that answered")


class Health(BaseModel):
    status: Literal["ok"]
    model: str


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong and how to fix it, in one paragraph")


ERRORS = {status: {"model": ErrorResponse, "description": text} for status, text in (
    (413, "Too large: more samples than the server's max_items, or a body over max_request_bytes."),
    (415, "An image file sent to a model that takes no images, or Pillow missing."),
    (422, "The input is wrong: shape, type, NaN, an empty batch, a file that is no image."),
    (500, "The server or the model failed; the server's log has the details."))}


def predictions(probabilities: np.ndarray, classes: list[str]) -> list[dict]:
    """Probabilities (N, K) -> one {"label", "confidence", "probabilities"} per sample."""
    answers = []
    for row in np.asarray(probabilities, dtype=np.float64):  # (K,)
        best = int(row.argmax())
        answers.append({"label": classes[best], "confidence": float(row[best]),
                        "probabilities": {name: float(p) for name, p in zip(classes, row)}})
    return answers


def _refusal(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _validation_paragraph(errors: list[dict], where: str = "The request") -> str:
    """FastAPI's/pydantic's list of errors -> one paragraph in the house template."""
    parts = []
    for error in errors[:5]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    in_query = all(str(next(iter(error.get("loc", ())), "")) == "query" for error in errors)
    expected = ("the query parameters /docs lists (POST /predict?invert=true or false)" if in_query else
                'a JSON body {"inputs": [sample, ...]} (POST /predict), or image files as multipart/form-data for image models')
    return str(RequestRefused(f"{where} is not what this route takes: {'; '.join(parts)}{more}.", expected=expected,
                              fix="See the schema at /docs (or /openapi.json) and the model's input shape at /metadata."))


class _BodyLimit:
    """ASGI middleware: refuse a request body over `max_bytes` with 413, before anything parses it.

    The body is read here (at most `max_bytes` of it) and replayed to the app, so a client that
    sends no Content-Length (chunked) is held to the same limit.
    """

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(scope, send, int(declared))
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            total += len(chunks[-1])
            if total > self.max_bytes:
                return await self._refuse(scope, send, total, more=True)
            if not message.get("more_body"):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)

    async def _refuse(self, scope, send, size: int, more: bool = False):
        detail = str(RequestRefused(
            "The request body is too large.", status=413,
            expected=f"at most {self.max_bytes:,} bytes (the server's max_request_bytes)",
            received=f"{'more than ' if more else ''}{size:,} bytes",
            fix="Send fewer samples per request, or start the server with a larger max_request_bytes."))
        await JSONResponse({"detail": detail}, status_code=413, headers={"Connection": "close"})(scope, None, send)


def _example(servable) -> dict | None:
    """A small example body for /docs: a text, or zeros of the model's shape when they are few."""
    if servable.task == "text":
        return {"inputs": ["A wonderful film: I laughed and cried."]}
    shape = tuple(servable.input_shape or ())
    if shape and math.prod(shape) <= 100:
        return {"inputs": [np.zeros(shape).tolist()]}
    return None


def _request_body_schema(servable) -> dict:
    """The OpenAPI requestBody of POST /predict: JSON always, image files for image models."""
    json_schema: dict[str, Any] = {"schema": PredictRequest.model_json_schema()}
    example = _example(servable)
    if example is not None:
        json_schema["example"] = example
    content = {"application/json": json_schema}
    if _takes_images(servable):
        content["multipart/form-data"] = {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"},
                                    "description": "PNG or JPEG images, one sample each"}}}}
    return {"requestBody": {"required": True, "content": content}}


def _takes_images(servable) -> bool:
    shape = tuple(servable.input_shape or ())
    return servable.task == "image" and (len(shape) == 2 or (len(shape) == 3 and shape[0] in (1, 3)))


def create_app(servable: Servable, *, max_batch: int = 0, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
               max_items: int = DEFAULT_MAX_ITEMS, batch_wait_ms: float = BATCH_WAIT_MS) -> FastAPI:
    """The FastAPI app that serves `servable` (see the module docstring for its routes).

    Args:
        servable: a loaded model (`tujie.deploy.runs.load_servable`): name, task, classes,
            input_shape, predict_proba, metadata.
        max_batch: dynamic micro-batching: gather up to this many waiting samples into one
            forward pass (0: every request runs alone).
        max_request_bytes: the largest request body accepted (413 above it).
        max_items: the most samples in one request (413 above it).
        batch_wait_ms: how long the first request of a micro-batch waits for others (0: it takes
            the requests already waiting, which under load are those that came while the model ran).

    Returns:
        The app; `app.state.servable` and `app.state.batcher` (None without micro-batching) hold
        what it serves with. Run it with uvicorn, or `serve(run_dir)`.
    """
    for name, value, low in (("max_batch", max_batch, 0), ("max_request_bytes", max_request_bytes, 1),
                             ("max_items", max_items, 1)):
        if not isinstance(value, int) or value < low:
            raise ConfigError(f"Invalid value received for `{name}`.", expected=f"an integer >= {low}",
                              received=f"{name}={value!r}", fix=f"Pass {name}={max(low, 1)} or more.")
    classes = [str(c) for c in servable.classes]
    # One thread runs the model, off the event loop: torch spreads one forward pass over the cores itself, and
    # passes side by side would each ask for all of them.
    model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tujie-model")

    def in_model_thread(function, *args):
        return asyncio.get_running_loop().run_in_executor(model_thread, function, *args)

    batcher = (MicroBatcher(servable.predict_proba, max_batch, batch_wait_ms / 1000, run=in_model_thread)
               if max_batch > 0 else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if batcher is not None:
            batcher.start()
        yield
        if batcher is not None:
            await batcher.stop()
        model_thread.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title=f"tujie: {servable.name}", lifespan=lifespan,
                  description=f"The {servable.task} classifier `{servable.name}` ({len(classes)} classes), served by tujie. "
                              "Try it at /; its classes and input shape are at /metadata.")
    app.state.servable, app.state.batcher = servable, batcher
    settings = {"max_batch": max_batch, "batch_wait_ms": batch_wait_ms if batcher else None,
                "max_request_bytes": max_request_bytes, "max_items": max_items,
                "accepts": ["application/json"] + (["multipart/form-data"] if _takes_images(servable) else [])}
    app.add_middleware(_BodyLimit, max_bytes=max_request_bytes)
    _add_error_handlers(app)

    async def probabilities_of(inputs) -> np.ndarray:
        if batcher is not None:
            probabilities = await batcher.submit(inputs)
        else:
            probabilities = await in_model_thread(servable.predict_proba, inputs)
        probabilities = np.asarray(probabilities)
        if probabilities.shape != (len(inputs), len(classes)):
            raise RuntimeError(f"the model answered shape {probabilities.shape} for {len(inputs)} samples "
                               f"and {len(classes)} classes")
        return probabilities  # (N, K)

    async def json_inputs(request: Request):
        body = await request.body()
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:  # RecursionError: "[[[[..." nested too deep
            raise RequestRefused(f"The request body is not valid JSON ({type(error).__name__}: {str(error)[:120]}).",
                                 expected='a JSON object {"inputs": [sample, ...]}',
                                 received=f"{len(body):,} bytes starting {body[:40]!r}",
                                 fix="Send JSON with Content-Type: application/json "
                                     "(curl -H 'Content-Type: application/json' -d @body.json ...).") from None
        try:
            inputs = PredictRequest.model_validate(data).inputs
        except ValidationError as error:
            raise RequestRefused(_validation_paragraph(error.errors(), "The JSON body")) from None
        check_batch_size(len(inputs), max_items)
        if servable.task == "text":
            return text_batch(inputs)
        if servable.input_shape is None:
            raise RuntimeError(f"the {servable.task} model {servable.name} has no input shape")
        booleans = b"true" in body or b"false" in body  # numpy would read them as 1.0 and 0.0
        return image_or_tabular_batch(inputs, servable.input_shape, task=servable.task, strict=booleans)

    async def file_inputs(request: Request, invert: bool):
        if not _takes_images(servable):
            what = "text" if servable.task == "text" else f"arrays of shape {tuple(servable.input_shape or ())}"
            raise RequestRefused(f"This {servable.task} model reads {what}, not uploaded files.", status=415,
                                 expected='a JSON body {"inputs": [...]}', received="multipart/form-data",
                                 fix="Send the samples as JSON (see /docs).")
        try:  # the body is at most max_request_bytes already; the count of files is checked below, with a fix
            form = await request.form(max_files=float("inf"), max_fields=max_items + 16)
        except StarletteHTTPException as error:  # python-multipart's own refusals (no boundary, too many fields ...)
            raise RequestRefused(f"The multipart body could not be read: {error.detail}",
                                 expected="multipart/form-data with one file field per image",
                                 fix="Let the client build the body: curl -F file=@digit.png URL/predict, "
                                     "or requests.post(url, files=[('file', open('digit.png', 'rb'))]).") from None
        uploads = [value for _key, value in form.multi_items() if not isinstance(value, str)]
        check_batch_size(len(uploads), max_items, what="files")
        files = [(await upload.read(), upload.filename or f"file {index}") for index, upload in enumerate(uploads)]
        shape = tuple(servable.input_shape)
        samples = await asyncio.to_thread(  # decoding is CPU work: off the event loop
            lambda: [image_file_sample(data, name, shape, invert=invert) for data, name in files])
        return np.stack(samples)  # (N, *input_shape)

    @app.post("/predict", response_model=PredictResponse, responses=ERRORS, openapi_extra=_request_body_schema(servable),
              summary="Classify a batch of samples (JSON) or of image files (multipart/form-data)")
    async def predict(request: Request, invert: bool = False) -> PredictResponse:
        """`invert=true` turns uploaded dark-on-light images (a digit written on paper) into MNIST's light-on-dark."""
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            inputs = await file_inputs(request, invert)
        else:  # JSON whatever the Content-Type says: curl -d sends x-www-form-urlencoded unless told otherwise
            inputs = await json_inputs(request)
        probabilities = await probabilities_of(inputs)
        return PredictResponse(predictions=predictions(probabilities, classes), model=servable.name)

    @app.get("/health", response_model=Health, summary="Is the server up, and which model does it serve")
    async def health() -> Health:
        return Health(status="ok", model=servable.name)

    @app.get("/metadata", summary="The model (classes, input shape, backend, versions) and the server's settings")
    async def metadata() -> dict:
        found = jsonable_encoder(servable.metadata(), custom_encoder={Path: str})
        batch_sizes = batcher.batch_sizes if batcher is not None else []
        return {**found, "server": {**settings, "forward_passes": len(batch_sizes) if batcher else None}}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(lang: str | None = None) -> HTMLResponse:
        return HTMLResponse(render_page(servable, lang=lang), headers={"Content-Security-Policy": PAGE_POLICY})

    @app.get("/page.js", include_in_schema=False)
    async def page_script() -> Response:
        return Response((PAGE_DIR / "page.js").read_bytes(), media_type="text/javascript; charset=utf-8")

    @app.get("/page.css", include_in_schema=False)
    async def page_style() -> Response:
        return Response((PAGE_DIR / "page.css").read_bytes(), media_type="text/css; charset=utf-8")

    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Every failure answers {"detail": one paragraph}; no traceback ever reaches the client."""

    @app.exception_handler(RequestRefused)
    async def refused(request: Request, error: RequestRefused):
        return _refusal(error.status, str(error))

    @app.exception_handler(TujieError)
    async def tujie_error(request: Request, error: TujieError):  # the model's own checks (a text too long ...)
        return _refusal(422, str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        return _refusal(422, _validation_paragraph(list(error.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        return JSONResponse({"detail": str(error.detail)}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception):
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return _refusal(500, f"The server failed while answering {request.method} {request.url.path} "
                             f"({type(error).__name__}). This is a fault of the server or the model, not of the request; "
                             "the server's log has the details. Fix: retry, and if it persists, report it with that log.")


def _page_mode(servable) -> str:
    """"draw" for small square grayscale images (MNIST, digits), "text" for text, "json" otherwise."""
    shape = tuple(servable.input_shape or ())
    square = shape[-2:] if len(shape) >= 2 else ()
    grayscale = len(shape) == 2 or (len(shape) == 3 and shape[0] == 1)
    if servable.task == "image" and grayscale and len(square) == 2 and square[0] == square[1] <= 64:
        return "draw"
    return "text" if servable.task == "text" else "json"


def page_strings() -> dict[str, str]:
    """The page's words in the current language (the page's script fills them in)."""
    return {
        "title": _("Try the model"),
        "draw_hint": _("Draw a digit with the mouse or a finger: white strokes on black, like MNIST. "
                       "The bars update as you draw."),
        "clear": _("Clear"),
        "sees": _("What the model sees"),
        "text_hint": _("Type a review; the bars update as you type."),
        "text_placeholder": _("A wonderful film: I laughed and cried."),
        "json_hint": _("Samples as JSON, a batch in the model's input shape:"),
        "send": _("Predict"),
        "upload": _("Or upload an image (PNG or JPEG):"),
        "invert": _("dark ink on light paper"),
        "waiting": _("Waiting for your input."),
        "prediction": _("Prediction"),
        "refused": _("The server refused the input:"),
        "docs": _("API documentation"),
        "metadata": _("Model metadata"),
        "classes": _("classes"),
        "input_shape": _("input shape"),
        "backend": _("backend"),
    }


def render_page(servable, lang: str | None = None) -> str:
    """The HTML of GET / for `servable`, in `lang` ("zh", "en"; None: the server's language)."""
    lang = check_language(lang, "?lang") if lang else current_language()
    with language(lang):
        strings = page_strings()
    shape = list(servable.input_shape or [])
    mode = _page_mode(servable)
    config = {"mode": mode, "model": servable.name, "task": servable.task, "classes": [str(c) for c in servable.classes],
              "input_shape": shape, "backend": getattr(servable, "backend", ""), "lang": lang,
              "upload": _takes_images(servable), "grayscale": mode == "draw" or (len(shape) == 3 and shape[0] == 1),
              "example": json.dumps(_example(servable) if servable.task == "text" or not shape
                                    else {"inputs": [np.zeros(shape).tolist()]}), "strings": strings}
    if mode == "draw":
        side = shape[-1]
        config["draw"] = {"side": side, "box": max(1, round(side * 20 / 28))}  # MNIST: the digit fits 20×20 of 28×28
    template = (PAGE_DIR / "index.html").read_text(encoding="utf-8")
    script_safe = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")  # no "</script>" inside the JSON
    return (template.replace("{{lang}}", "zh-CN" if lang == "zh" else "en")
            .replace("{{title}}", html.escape(f"{strings['title']}: {servable.name}"))
            .replace("{{config}}", script_safe))


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a ConfigError that says which port to try instead."""
    if not 0 <= int(port) <= 65535:
        raise ConfigError(f"Invalid port {port}.", expected="0 to 65535 (0: any free port)", received=f"--port {port}",
                          fix="Pass --port 8000, for example.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose
    # proto says TCP; with Nagle on, every answer waits ~40 ms for the client's delayed ACK.
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(2048)
        return listening
    except OSError as error:
        listening.close()
        raise ConfigError(f"Cannot listen on {host}:{port}: {error.strerror or error}.",
                          expected="a free port on an address of this machine",
                          received=f"--host {host} --port {port}",
                          fix=f"Pass another port (--port {port + 1 if 0 < port < 65535 else 8000}), or stop the program "
                              "that holds this one.") from None


class BackgroundServer:
    """An app served by uvicorn in a background thread: for notebooks, tests and benchmarks.

    Example:
        >>> with BackgroundServer(create_app(servable)) as server:        # doctest: +SKIP
        ...     urllib.request.urlopen(server.url + "/health").read()
        b'{"status":"ok","model":"digits-mlp-..."}'
    """

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        import uvicorn

        self._socket = _listen(host, port)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level=log_level))
        self._thread = None

    def start(self, timeout: float = 20.0) -> BackgroundServer:
        import threading
        import time

        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True,
                                        name=f"tujie-serve-{self.port}")
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:  # set once the lifespan has run and the socket is served
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {self.port} did not start within {timeout:.0f} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(run_dir, *, host: str = "127.0.0.1", port: int = 8000, onnx: bool = False, max_batch: int = 0,
          batch_wait_ms: float = BATCH_WAIT_MS, log_level: str = "info") -> None:
    """Load the run's model and serve it until Ctrl+C (blocks).

    Args:
        run_dir: a trained run directory, or a folder written by `tujie export`.
        host: the address to listen on ("0.0.0.0": every interface; the service has no login).
        port: the port (0: any free one; the URL printed says which).
        onnx: answer with ONNX Runtime instead of torch.
        max_batch: dynamic micro-batching up to this many samples per forward pass (0: off).
        batch_wait_ms: how long the first request of a micro-batch waits for others (0: take only
            those already waiting).
        log_level: uvicorn's log level ("info" logs every request).
    """
    import uvicorn

    from .runs import load_servable

    if not isinstance(max_batch, int) or max_batch < 0:
        raise ConfigError("Invalid value received for --max-batch.", expected="an integer >= 0 (0: no micro-batching)",
                          received=f"--max-batch {max_batch}", fix="Pass --max-batch 32, for example.")
    servable = load_servable(run_dir, backend="onnxruntime" if onnx else "torch")
    app = create_app(servable, max_batch=max_batch, batch_wait_ms=batch_wait_ms)
    listening = _listen(host, port)
    bound = listening.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else (f"[{host}]" if ":" in host else host)
    url = f"http://{shown}:{bound}"
    print(_("Serving {model} ({backend}) at {url}: try it at {url}/, API documentation at {url}/docs. "
            "Ctrl+C stops.").format(model=servable.name, backend=servable.backend, url=url), flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(_("Listening on {host}: anyone who can reach this machine can use the model (there is no login)."
                ).format(host=host), file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=bound, log_level=log_level))
    server.run(sockets=[listening])
