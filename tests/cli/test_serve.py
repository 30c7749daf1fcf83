"""`tujie serve RUN_DIR`: the command starts the real server on the port asked for; bad runs and busy ports
are refused in one paragraph."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest
import uvicorn

import tujie as tj
from tujie.cli import main


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve_cli")
    return tj.run("digits-mlp", overrides=["epochs=1", f"output_dir={out}", "run_name=digits"], verbose=0, report=False).run_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_on_the_port_it_was_given_until_stopped(digits_run, monkeypatch, capsys):
    started = []

    class Recorded(uvicorn.Server):  # the real server, remembered so the test can stop it
        def __init__(self, config):
            super().__init__(config)
            started.append(self)

    monkeypatch.setattr(uvicorn, "Server", Recorded)
    port, codes = free_port(), []
    thread = threading.Thread(target=lambda: codes.append(main(["serve", str(digits_run), "--port", str(port), "--onnx",
                                                                  "--max-batch", "4"])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not (started and started[0].started):
        assert time.monotonic() < deadline and thread.is_alive(), f"the server did not start: {codes}"
        time.sleep(0.02)
    try:
        url = f"http://127.0.0.1:{port}"
        health = json.loads(urllib.request.urlopen(url + "/health", timeout=10).read())
        metadata = json.loads(urllib.request.urlopen(url + "/metadata", timeout=10).read())
        body = json.dumps({"inputs": [[0.0] * 64, [1.0] * 64]}).encode()
        request = urllib.request.Request(url + "/predict", data=body, headers={"Content-Type": "application/json"})
        answer = json.loads(urllib.request.urlopen(request, timeout=10).read())
    finally:
        started[0].should_exit = True
        thread.join(20)
    assert codes == [0]
    assert health == {"status": "ok", "model": "digits"}
    assert metadata["backend"] == "onnxruntime" and metadata["server"]["max_batch"] == 4
    assert len(answer["predictions"]) == 2
    assert f"http://127.0.0.1:{port}" in capsys.readouterr().out  # the URL is printed


def test_a_folder_that_is_no_run_is_refused_in_one_paragraph(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nowhere"), "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert "nowhere" in error and "Traceback" not in error and "tujie run" in error


def test_a_busy_port_is_refused_with_another_to_try(digits_run, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", str(digits_run), "--port", str(port)]) == 2
    error = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}" in error and "--port" in error and "Traceback" not in error


def test_a_negative_max_batch_is_refused(digits_run, capsys):
    assert main(["serve", str(digits_run), "--max-batch", "-1"]) == 2
    assert "--max-batch" in capsys.readouterr().err
