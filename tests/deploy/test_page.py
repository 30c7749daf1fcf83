"""The page at GET /, in headless Chromium against the real server: draw a digit, read the bars.

Chromium is driven over the DevTools protocol through a pipe (`--remote-debugging-pipe`: JSON
messages ending in a NUL byte on file descriptors 3 and 4), so the mouse events are real
browser input and no websocket library is needed. Chromium is found as the report's browser
tests find it (tests/report/_browser.py): skipped without it, failed without it on CI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tujie.deploy.server import BackgroundServer, create_app

pytestmark = pytest.mark.browser


def _browser_helpers():
    """tests/report/_browser.py (find_chromium, require_chromium, Chromium's flags), loaded by path."""
    if "_report_browser" not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "report" / "_browser.py"
        spec = importlib.util.spec_from_file_location("_report_browser", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["_report_browser"] = module  # before running it: its dataclass looks itself up there
        spec.loader.exec_module(module)
    return sys.modules["_report_browser"]


class DevTools:
    """A headless Chromium and one page of it, driven over the DevTools protocol on a pipe."""

    def __init__(self, chromium: str, profile: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        flags = " ".join(_browser_helpers()._FLAGS)
        # bash puts our pipe ends on the descriptors 3 and 4 Chromium reads and writes (no preexec_fn:
        # the server runs in a thread of this process)
        command = (f'exec "{chromium}" {flags} --remote-debugging-pipe --user-data-dir="{profile}" '
                   f"--window-size=900,900 about:blank 3<&{to_browser_r} 4>&{from_browser_w}")
        self.process = subprocess.Popen(["bash", "-c", command], pass_fds=(to_browser_r, from_browser_w),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer, self._next_id, self.session = b"", 0, None
        page = self.call("Target.createTarget", url="about:blank")["targetId"]  # our own tab: no race with the first one
        self.session = self.call("Target.attachToTarget", targetId=page, flatten=True)["sessionId"]

    def call(self, method: str, timeout: float = 30, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next_id:
                    assert "error" not in reply, f"{method}: {reply['error']}"
                    return reply.get("result", {})
            chunk = os.read(self._from_browser, 1 << 16)
            assert chunk, "Chromium closed the DevTools pipe"
            self._buffer += chunk
        raise TimeoutError(method)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20):
        deadline = time.monotonic() + timeout
        guarded = f"(function () {{ try {{ return ({expression}); }} catch (e) {{ return false; }} }})()"  # mid-navigation: no body yet
        while time.monotonic() < deadline:
            value = self.evaluate(guarded)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"the page never made `{expression}` true within {timeout:.0f} s")

    def mouse(self, kind: str, x: float, y: float, buttons: int = 1):
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=buttons,
                  clickCount=1 if kind != "mouseMoved" else 0)

    def close(self):
        try:
            os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close", "params": {}}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


class PixelServable:
    """A 28×28 grayscale "model" whose answer depends on where the ink is: class k for ink in column band k.

    Enough to check that the page's drawing reaches the server as a centred 28×28 image on [0, 1].
    """

    name, task, backend, input_shape = "ink-bands", "image", "torch", (1, 28, 28)
    run_dir = Path(".")

    def __init__(self):
        self.classes, self.seen = [str(k) for k in range(10)], []

    def predict_proba(self, x):
        x = np.asarray(x, dtype=np.float64)  # (N, 1, 28, 28)
        self.seen.append(x.copy())
        ink = x.reshape(len(x), 28, 28).sum(axis=1)  # (N, 28) ink per column
        bands = np.stack([ink[:, 3 * k:3 * k + 3].sum(axis=1) for k in range(10)], axis=1) + 1e-3  # (N, 10)
        return bands / bands.sum(axis=1, keepdims=True)

    def metadata(self):
        return {"name": self.name, "task": self.task, "classes": self.classes, "input_shape": list(self.input_shape)}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the module (starting one takes seconds); each test opens its own page in it."""
    chromium = _browser_helpers().require_chromium()
    devtools = DevTools(chromium, tmp_path_factory.mktemp("chromium") / "profile")
    yield devtools
    devtools.close()


def _draw_stroke(browser, url: str, points) -> dict:
    browser.call("Page.navigate", url=url)
    browser.wait_for("document.readyState === 'complete' && document.body.getAttribute('data-ready') === '1'")
    box = browser.evaluate("(function(){var r=document.getElementById('pad').getBoundingClientRect();"
                           "return {x:r.left, y:r.top, w:r.width, h:r.height};})()")
    (x0, y0), rest = points[0], points[1:]
    browser.mouse("mousePressed", box["x"] + x0 * box["w"], box["y"] + y0 * box["h"])
    for x, y in rest:
        browser.mouse("mouseMoved", box["x"] + x * box["w"], box["y"] + y * box["h"])
    x1, y1 = points[-1]
    browser.mouse("mouseReleased", box["x"] + x1 * box["w"], box["y"] + y1 * box["h"], buttons=0)
    browser.wait_for("Number(document.body.getAttribute('data-answers') || 0) >= 1")
    time.sleep(0.3)  # the last stroke's answer may still be on its way
    browser.wait_for("!document.getElementById('answer').textContent.includes('…') && "
                     "document.getElementById('answer').hasAttribute('data-label')")
    # the bars as drawn on the screen, once their transition has ended: each as long as its probability
    browser.wait_for("""Array.prototype.every.call(document.querySelectorAll('.bar'), function (row) {
        var shown = row.querySelector('.fill').getBoundingClientRect().width /
                    row.querySelector('.track').getBoundingClientRect().width;
        return Math.abs(shown - Number(row.getAttribute('data-p'))) < 0.02; })""", timeout=5)
    return browser.evaluate("""(function () {
      var bars = Array.prototype.map.call(document.querySelectorAll('.bar'), function (row) {
        return {name: row.getAttribute('data-class'), p: Number(row.getAttribute('data-p')),
                shown: row.querySelector('.fill').getBoundingClientRect().width /
                       row.querySelector('.track').getBoundingClientRect().width};
      });
      return {label: document.getElementById('answer').getAttribute('data-label'),
              answer: document.getElementById('answer').textContent, bars: bars,
              error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
              title: document.querySelector('h1').textContent};
    })()""")


def test_drawing_on_the_canvas_shows_the_models_answer_as_bars(browser):
    servable = PixelServable()
    with BackgroundServer(create_app(servable)) as server:
        # a vertical stroke: after MNIST's centring it lands in the middle columns (band 4)
        seen = _draw_stroke(browser, server.url + "/", [(0.5, 0.2 + 0.05 * i) for i in range(13)])
    assert seen["error"] is None
    assert [bar["name"] for bar in seen["bars"]] == servable.classes
    total = sum(bar["p"] for bar in seen["bars"])
    assert total == pytest.approx(1.0, abs=1e-6)
    best = max(seen["bars"], key=lambda bar: bar["p"])
    assert seen["label"] == best["name"] == "4"  # the stroke was centred: columns 12-14
    for bar in seen["bars"]:  # the bars as drawn on the screen: each as long as its probability
        assert bar["shown"] == pytest.approx(bar["p"], abs=0.02)
    assert best["shown"] > 0.3
    image = servable.seen[-1][0, 0]  # (28, 28) as the page sent it
    assert image.min() >= 0 and image.max() > 0.6 and image[0].max() == 0  # white strokes on black, on [0, 1]
    rows, columns = np.nonzero(image > 0.2)
    assert 4 <= rows.min() and rows.max() <= 23  # fitted into the middle 20×20, like MNIST
    assert abs(columns.mean() - 13.5) < 2


def test_the_page_speaks_chinese_with_lang_zh(browser):
    with BackgroundServer(create_app(PixelServable())) as server:
        seen = _draw_stroke(browser, server.url + "/?lang=zh", [(0.3, 0.5), (0.5, 0.5), (0.7, 0.5)])
    assert seen["title"] == "试一试模型"
    assert seen["answer"].startswith("预测结果")


class ReviewServable:
    """A "sentiment model" that counts happy and sad words: enough to see the page send what was typed."""

    name, task, backend, input_shape = "word-counter", "text", "torch", None
    run_dir = Path(".")

    def __init__(self):
        self.classes, self.seen = ["negative", "positive"], []

    def predict_proba(self, texts):
        self.seen.extend(texts)
        happy = np.array([1 + sum(w in t.lower() for w in ("wonderful", "great", "loved")) for t in texts], dtype=float)
        sad = np.array([1 + sum(w in t.lower() for w in ("dull", "boring", "awful")) for t in texts], dtype=float)
        return np.stack([sad, happy], axis=1) / (happy + sad)[:, None]

    def metadata(self):
        return {"name": self.name, "task": self.task, "classes": self.classes}


def test_typing_a_review_shows_the_text_models_answer(browser):
    servable = ReviewServable()
    with BackgroundServer(create_app(servable)) as server:
        browser.call("Page.navigate", url=server.url + "/")
        browser.wait_for("document.readyState === 'complete' && document.body.getAttribute('data-ready') === '1'")
        assert browser.evaluate("document.getElementById('pad') === null || document.getElementById('draw').hidden")
        browser.evaluate("document.getElementById('review').focus()")
        browser.call("Input.insertText", text="A wonderful film, I loved it")
        browser.wait_for("document.getElementById('answer').getAttribute('data-label') === 'positive'")
        bars = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('.bar'), "
                                "function (row) { return Number(row.getAttribute('data-p')); })")
    assert servable.seen[-1] == "A wonderful film, I loved it"
    assert sum(bars) == pytest.approx(1.0) and bars[1] == pytest.approx(0.75)
