"""`tujie serve`'s app: the real server (uvicorn on 127.0.0.1, a free port) answering real HTTP requests.

A digits MLP trained for one epoch (seconds, no data files) is the real model; small stand-ins
count forward passes (micro-batching), read text, or fail on purpose (the 500 handler).
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest

import tujie as tj
from tujie.deploy.inputs import RequestRefused, image_or_tabular_batch, text_batch
from tujie.deploy.runs import load_servable
from tujie.deploy.server import BackgroundServer, create_app, render_page
from tujie.errors import DataError

MAX_ITEMS, MAX_BYTES = 8, 64_000


def call(url: str, body: bytes | None = None, headers: dict | None = None, method: str | None = None):
    """(status, decoded JSON or text, headers) of one real HTTP request."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, got = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), error.headers
    text = raw.decode("utf-8")
    return status, (json.loads(text) if got.get("content-type", "").startswith("application/json") else text), got


def post_json(url: str, payload) -> tuple:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return call(url + "/predict", body, {"Content-Type": "application/json"})[:2]


def post_files(url: str, files: list[tuple[str, bytes]], query: str = "") -> tuple:
    boundary = uuid.uuid4().hex
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                    f"Content-Type: image/png\r\n\r\n".encode() + data + b"\r\n" for name, data in files)
    body += f"--{boundary}--\r\n".encode()
    return call(url + "/predict" + query, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})[:2]


def png(pixels: np.ndarray) -> bytes:
    """A grayscale PNG of pixels in [0, 1] (H, W)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.round(pixels * 255).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve")
    return tj.run("digits-mlp", overrides=["epochs=1", f"output_dir={out}", "run_name=digits"], verbose=0, report=False).run_dir


@pytest.fixture(scope="module")
def digits(digits_run):
    return load_servable(digits_run)


@pytest.fixture(scope="module")
def samples():
    """Eight test digits (8, 1, 8, 8), pixels on the unit scale."""
    return tj.datasets.load("digits", normalize="unit").test.x[:8].numpy()


@pytest.fixture(scope="module")
def running(digits):
    with BackgroundServer(create_app(digits, max_items=MAX_ITEMS, max_request_bytes=MAX_BYTES)) as background:
        yield background


@pytest.fixture(scope="module")
def server(running):
    return running.url


def test_predict_answers_every_sample_with_the_models_own_probabilities(server, digits, samples):
    status, answer = post_json(server, {"inputs": samples[:3].tolist()})
    assert status == 200 and answer["model"] == digits.name == "digits"
    expected = digits.predict_proba(samples[:3])  # (3, 10), straight from the model
    assert len(answer["predictions"]) == 3
    for prediction, row in zip(answer["predictions"], expected):
        probabilities = np.array([prediction["probabilities"][c] for c in digits.classes])
        np.testing.assert_allclose(probabilities, row, atol=1e-6)
        assert prediction["label"] == digits.classes[int(row.argmax())]
        assert prediction["confidence"] == pytest.approx(row.max(), abs=1e-6)
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_a_sample_may_come_flat_or_without_its_channel_axis(server, samples):
    shaped = post_json(server, {"inputs": samples[:1].tolist()})[1]["predictions"]
    flat = post_json(server, {"inputs": [samples[0].ravel().tolist()]})[1]["predictions"]
    squeezed = post_json(server, {"inputs": [samples[0, 0].tolist()]})[1]["predictions"]
    assert shaped == flat == squeezed


def test_uploaded_png_files_answer_like_their_pixels(server, digits, samples):
    pixels = np.round(samples[:2, 0] * 255) / 255  # (2, 8, 8): what a PNG can hold
    status, answer = post_files(server, [("a.png", png(pixels[0])), ("b.png", png(pixels[1]))])
    assert status == 200 and len(answer["predictions"]) == 2
    expected = digits.predict_proba(pixels[:, None])  # (2, 10)
    for prediction, row in zip(answer["predictions"], expected):
        np.testing.assert_allclose([prediction["probabilities"][c] for c in digits.classes], row, atol=1e-5)
    # a larger image is resized to the model's 8×8; dark ink on paper is inverted on request
    big = np.kron(pixels[0], np.ones((4, 4)))  # (32, 32)
    status, resized = post_files(server, [("big.png", png(big))])
    assert status == 200 and resized["predictions"][0]["label"] == answer["predictions"][0]["label"]
    status, inverted = post_files(server, [("paper.png", png(1 - pixels[0]))], query="?invert=true")
    np.testing.assert_allclose(list(inverted["predictions"][0]["probabilities"].values()),
                               list(answer["predictions"][0]["probabilities"].values()), atol=1e-5)


def test_health_metadata_and_the_openapi_schema(server, digits):
    status, health, _ = call(server + "/health")
    assert status == 200 and health == {"status": "ok", "model": digits.name}
    status, metadata, _ = call(server + "/metadata")
    assert status == 200
    assert metadata["classes"] == [str(k) for k in range(10)] and metadata["input_shape"] == [1, 8, 8]
    assert metadata["backend"] == "torch" and "torch" in metadata["versions"] and metadata["model"] == "mlp"
    assert metadata["server"]["max_items"] == MAX_ITEMS and metadata["server"]["max_batch"] == 0
    status, schema, _ = call(server + "/openapi.json")
    predict = schema["paths"]["/predict"]["post"]
    assert set(predict["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert predict["requestBody"]["content"]["application/json"]["schema"]["required"] == ["inputs"]
    assert {"200", "413", "422", "500"} <= set(predict["responses"])
    assert {"PredictResponse", "Prediction", "ErrorResponse"} <= set(schema["components"]["schemas"])
    assert {"/health", "/metadata"} <= set(schema["paths"]) and "/" not in schema["paths"]
    status, docs, _ = call(server + "/docs")
    assert status == 200 and "openapi.json" in docs


NOT_AN_IMAGE = b"GIF89a but not really"
REFUSALS = [  # (what is sent, status, a phrase the detail must hold)
    (b'{"inputs": [[0.1, ', 422, "not valid JSON"),
    (b'{"inputs": ' + b"[" * 50_000, 422, "RecursionError"),
    ({"inputs": []}, 422, "is empty"),
    ({"samples": [[0.0] * 64]}, 422, "inputs: Field required"),
    ({"inputs": "0.5"}, 422, "valid list"),
    ({"inputs": [[0.5] * 63]}, 422, "wrong shape"),
    ({"inputs": [[[0.5] * 8] * 7 + [[0.5] * 7]]}, 422, "ragged"),
    (b'{"inputs": [[' + b", ".join([b"0.5"] * 63 + [b"NaN"]) + b"]]}", 422, "NaN"),
    ({"inputs": [[0.5] * 63 + ["0.5"]]}, 422, "not numbers (str)"),
    ({"inputs": [[0.5] * 63 + [True]]}, 422, "not numbers"),
    ({"inputs": ["a text for an image model"]}, 422, "is a str"),
    ({"inputs": [[255.0] * 64]}, 422, "Divide 0–255 pixels by 255"),
    ({"inputs": [[0.0] * 64] * (MAX_ITEMS + 1)}, 413, "Too many samples"),
    ({"inputs": [[0.123456789] * 64] * 200}, 413, "body is too large"),
]


@pytest.mark.parametrize("sent, status, phrase", REFUSALS, ids=[phrase for _, _, phrase in REFUSALS])
def test_bad_input_is_refused_in_one_paragraph_that_says_how_to_fix_it(server, sent, status, phrase):
    got, answer = post_json(server, sent)
    assert got == status, answer
    detail = answer["detail"]
    assert isinstance(detail, str) and phrase in detail
    assert "\n" not in detail and "Traceback" not in detail and "Fix:" in detail


def test_files_are_refused_when_too_many_or_not_images_and_queries_are_checked(server, samples):
    got, answer = post_files(server, [("notes.png", NOT_AN_IMAGE)])
    assert got == 422 and "not an image Pillow can read" in answer["detail"]
    got, answer = post_files(server, [(f"{k}.png", png(samples[0, 0])) for k in range(MAX_ITEMS + 4)])
    assert got == 413 and "Too many samples" in answer["detail"]
    got, answer = call(server + "/predict", b"--x\r\n", {"Content-Type": "multipart/form-data"})[:2]  # no boundary
    assert got == 422 and "multipart body could not be read" in answer["detail"] and "curl -F" in answer["detail"]
    got, answer = post_files(server, [("a.png", png(samples[0, 0]))], query="?invert=perhaps")
    assert got == 422 and "invert" in answer["detail"] and "\n" not in answer["detail"]


def test_a_chunked_body_is_held_to_the_same_limit(server):
    chunks = (b'{"inputs": [' + b",".join([b"[0.5]"] * 20_000) + b"]}",)  # no Content-Length: sent chunked
    request = urllib.request.Request(server + "/predict", data=iter(chunks), headers={"Content-Type": "application/json"},
                                     method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413 and "too large" in json.loads(refused.value.read())["detail"]


class Stub:
    """A stand-in model: `answer(x)` gives its probabilities; every call is recorded."""

    backend, run_dir = "torch", Path(".")

    def __init__(self, task="image", input_shape=(2,), classes=("a", "b"), answer=None, delay=0.0):
        self.name, self.task, self.input_shape, self.classes = f"stub-{task}", task, input_shape, list(classes)
        self.answer, self.delay, self.calls = answer, delay, []
        self.lock = threading.Lock()

    def predict_proba(self, inputs):
        with self.lock:
            self.calls.append(len(inputs))
        time.sleep(self.delay)
        return self.answer(inputs)

    def metadata(self):
        return {"name": self.name, "task": self.task, "classes": self.classes, "run_dir": self.run_dir}


def one_hot_of_value(inputs):
    """Sample k (all values k/10) -> class k for sure: an answer that shows whose rows a caller got."""
    values = np.rint(np.asarray(inputs)[:, 0] * 10).astype(int)  # (N,)
    return np.eye(10)[values]


def concurrent_predictions(url, count):
    answers = [None] * count

    def ask(k):
        answers[k] = post_json(url, {"inputs": [[k / 10, k / 10]]})

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def test_micro_batching_gathers_concurrent_requests_into_one_forward_pass(tmp_path):
    stub = Stub(input_shape=(2,), task="tabular", classes=[str(k) for k in range(10)], answer=one_hot_of_value, delay=0.05)
    with BackgroundServer(create_app(stub, max_batch=32, batch_wait_ms=250)) as running:
        answers = concurrent_predictions(running.url, 10)
        metadata = call(running.url + "/metadata")[1]
    assert all(status == 200 for status, _ in answers)
    assert [answer["predictions"][0]["label"] for _, answer in answers] == [str(k) for k in range(10)]  # each its own
    assert sum(stub.calls) == 10 and len(stub.calls) <= 3  # ten requests, a few forward passes
    assert max(stub.calls) >= 4
    assert metadata["server"]["max_batch"] == 32 and metadata["server"]["forward_passes"] == len(stub.calls)


def test_by_default_the_requests_that_queue_during_a_forward_pass_are_the_next_batch():
    stub = Stub(input_shape=(2,), task="tabular", classes=[str(k) for k in range(10)], answer=one_hot_of_value, delay=0.3)
    with BackgroundServer(create_app(stub, max_batch=32)) as running:  # batch_wait_ms=0: nobody waits for company
        answers = concurrent_predictions(running.url, 10)
    assert [answer["predictions"][0]["label"] for _, answer in answers] == [str(k) for k in range(10)]
    assert sum(stub.calls) == 10 and len(stub.calls) <= 4  # one at once, then those that came meanwhile, together


def test_micro_batches_never_exceed_max_batch_and_errors_reach_every_caller():
    stub = Stub(input_shape=(2,), task="tabular", classes=[str(k) for k in range(10)], answer=one_hot_of_value, delay=0.05)
    with BackgroundServer(create_app(stub, max_batch=3, batch_wait_ms=100)) as running:
        answers = concurrent_predictions(running.url, 9)
    assert [answer["predictions"][0]["label"] for _, answer in answers] == [str(k) for k in range(9)]
    assert max(stub.calls) <= 3 and sum(stub.calls) == 9

    def broken(inputs):
        raise RuntimeError("secret internal state")

    failing = Stub(input_shape=(2,), answer=broken)
    with BackgroundServer(create_app(failing, max_batch=4, batch_wait_ms=50)) as running:
        answers = concurrent_predictions(running.url, 3)
        health = call(running.url + "/health")[0]
    assert [status for status, _ in answers] == [500, 500, 500] and health == 200  # the worker survived


def test_the_real_model_batched_answers_as_it_does_alone(digits, samples):
    with BackgroundServer(create_app(digits, max_batch=16, batch_wait_ms=250)) as running:
        answers = [None] * 6
        threads = [threading.Thread(target=lambda k=k: answers.__setitem__(k, post_json(running.url, {"inputs": samples[k:k + 1].tolist()})))
                   for k in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        batches = running.server.config.app.state.batcher.batch_sizes
    expected = digits.predict_proba(samples[:6])
    for k, (status, answer) in enumerate(answers):
        assert status == 200
        np.testing.assert_allclose([answer["predictions"][0]["probabilities"][c] for c in digits.classes], expected[k], atol=1e-5)
    assert len(batches) < 6


def test_an_unexpected_failure_is_a_short_500_without_the_traceback(caplog):
    def broken(inputs):
        raise RuntimeError("secret internal state")

    with BackgroundServer(create_app(Stub(answer=broken))) as running:
        status, answer = post_json(running.url, {"inputs": [[0.1, 0.2]]})
        wrong_width = Stub(answer=lambda x: np.ones((len(x), 3)) / 3)
    assert status == 500
    assert "RuntimeError" in answer["detail"] and "server's log" in answer["detail"]
    assert "secret" not in answer["detail"] and "Traceback" not in answer["detail"] and "File " not in answer["detail"]
    with BackgroundServer(create_app(wrong_width)) as running:  # a model answering 3 columns for 2 classes
        status, answer = post_json(running.url, {"inputs": [[0.1, 0.2]]})
    assert status == 500 and "\n" not in answer["detail"]


def test_a_text_model_reads_strings_and_refuses_numbers_and_files():
    def sentiment(texts):  # "good" -> positive
        positive = np.array([0.9 if "good" in t else 0.2 for t in texts])
        return np.stack([1 - positive, positive], axis=1)

    def too_long(texts):
        raise DataError("A text is longer than the model reads.", expected="at most 10 words", fix="Shorten it.")

    text = Stub(task="text", input_shape=None, classes=["negative", "positive"], answer=sentiment)
    with BackgroundServer(create_app(text)) as running:
        status, answer = post_json(running.url, {"inputs": ["a good film", "a dull film"]})
        assert status == 200 and [p["label"] for p in answer["predictions"]] == ["positive", "negative"]
        status, refused = post_json(running.url, {"inputs": [[0.1, 0.2]]})
        assert status == 422 and "this model reads text" in refused["detail"]
        status, refused = post_json(running.url, {"inputs": ["fine", 3]})
        assert status == 422 and "inputs[1] is an int" in refused["detail"]
        status, refused = post_json(running.url, {"inputs": ["   "]})
        assert status == 422 and "empty text" in refused["detail"]
        status, refused = post_files(running.url, [("a.png", png(np.zeros((4, 4))))])
        assert status == 415 and "not uploaded files" in refused["detail"]
        schema = call(running.url + "/openapi.json")[1]
        assert set(schema["paths"]["/predict"]["post"]["requestBody"]["content"]) == {"application/json"}
        page = call(running.url + "/")[1]
        assert '"mode": "text"' in page
    text.answer = too_long  # the model's own refusal (a TujieError) is the client's fault: 422
    with BackgroundServer(create_app(text)) as running:
        status, refused = post_json(running.url, {"inputs": ["good " * 50]})
    assert status == 422 and "longer than the model reads" in refused["detail"]


def test_the_page_is_self_contained_and_speaks_both_languages(server, digits):
    status, page, headers = call(server + "/")
    assert status == 200 and "default-src 'self'" in headers["content-security-policy"]
    assert '"mode": "draw"' in page and '"side": 8' in page  # 8×8 grayscale digits: the drawing pad
    for asset in ("/page.js", "/page.css"):
        status, text, _ = call(server + asset)
        assert status == 200 and len(text) > 500
        assert "http://" not in text and "https://" not in text  # nothing loaded from elsewhere: works offline
    assert "http://" not in page and "https://" not in page
    assert "试一试模型" in call(server + "/?lang=zh")[1] and "Try the model" in page
    status, refused, _ = call(server + "/?lang=klingon")
    assert status == 422 and "Unknown language" in refused["detail"]
    assert "</script><script>" not in render_page(Stub(classes=["</script><script>alert(1)//", "b"]))


def test_the_onnx_backend_answers_as_torch_does(digits_run, digits, samples):
    onnx = load_servable(digits_run, backend="onnxruntime")
    with BackgroundServer(create_app(onnx)) as running:
        status, answer = post_json(running.url, {"inputs": samples[:4].tolist()})
        backend = call(running.url + "/metadata")[1]["backend"]
    assert status == 200 and backend == "onnxruntime"
    got = np.array([[p["probabilities"][c] for c in digits.classes] for p in answer["predictions"]])
    np.testing.assert_allclose(got, digits.predict_proba(samples[:4]), atol=1e-4)


def test_inputs_are_converted_or_refused_without_a_server():
    batch = image_or_tabular_batch([[1, 2, 3]], (3,), task="tabular")
    assert batch.dtype == np.float32 and batch.tolist() == [[1.0, 2.0, 3.0]]
    assert image_or_tabular_batch([[[0.5, 0.5]]], (2, 1), task="image").shape == (1, 2, 1)  # size-1 axis moved: same numbers
    with pytest.raises(RequestRefused, match="wrong shape"):
        image_or_tabular_batch([[1, 2]], (3,), task="tabular")
    with pytest.raises(RequestRefused, match="outside") as refused:
        image_or_tabular_batch([[-0.5, 0.5]], (2,), task="image")
    assert refused.value.status == 422
    assert image_or_tabular_batch([[-0.5, 7.0]], (2,), task="tabular").tolist() == [[-0.5, 7.0]]  # tables: any finite number
    with pytest.raises(RequestRefused, match="is a dict"):
        text_batch([{"text": "hello"}])
    with pytest.raises(Exception, match="max_batch"):
        create_app(Stub(), max_batch=-1)


def test_answers_leave_without_waiting_for_nagles_algorithm(running):
    """The listening socket says it is TCP, so asyncio turns Nagle off on every connection (40 ms per answer otherwise)."""
    import http.client
    import socket

    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        connection.request("GET", "/health")
        assert connection.getresponse().read()
        sockets = [c.transport.get_extra_info("socket") for c in running.server.server_state.connections]
        assert sockets and all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)
    finally:
        connection.close()


def test_image_files_without_pillow_are_refused_with_how_to_install_it(monkeypatch):
    from tujie.deploy.inputs import image_file_sample

    monkeypatch.setitem(sys.modules, "PIL", None)  # `import PIL` now fails, as without Pillow
    with pytest.raises(RequestRefused, match="Pillow is not installed") as refused:
        image_file_sample(b"\x89PNG...", "digit.png", (1, 28, 28))
    assert refused.value.status == 415 and "pip install pillow" in str(refused.value)
