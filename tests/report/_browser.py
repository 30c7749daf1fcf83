"""Render an HTML file in headless Chromium and report broken images and console errors.

No extra dependency: Chromium's own `--dump-dom` and `--screenshot` modes. To learn what
happened inside the page, `check_page` loads a COPY of the file with a small probe script
injected at the top of <head> (before any Content-Security-Policy, so the policy does not
block the probe). On `load` the probe writes into the DOM how many images there are, which
ones did not decode (naturalWidth == 0), and every error the page raised (failed resource,
uncaught exception, `console.error`, CSP violation). Chromium's stderr is scanned as well
for console lines coming from the page; its own noise (dbus, gpu, sandbox) is ignored.

Example:
    >>> result = check_page("report.html", "/tmp/check", require_chromium())  # doctest: +SKIP
    >>> result.images, result.broken, result.errors                           # doctest: +SKIP
    (4, [], [])
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
PROBE_ID = "__tujie_probe"
PROBE = """<script>(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) {
      errors.push("failed to load <" + t.tagName.toLowerCase() + "> " + String(t.currentSrc || t.src || t.href || "").slice(0, 80));
    } else {
      errors.push("uncaught error: " + e.message);
    }
  }, true);
  window.addEventListener("unhandledrejection", function (e) { errors.push("unhandled rejection: " + e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) {
    errors.push("blocked by the page's security policy: " + e.blockedURI + " (" + e.violatedDirective + ")");
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.map.call(arguments, String).join(" "));
    return consoleError.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    var broken = images.filter(function (i) { return !i.complete || i.naturalWidth === 0; })
                       .map(function (i) { return String(i.getAttribute("src") || "").slice(0, 60); });
    var out = document.createElement("pre");
    out.id = "%s";
    out.textContent = JSON.stringify({images: images.length, broken: broken, errors: errors});
    document.body.appendChild(out);
  });
})();</script>""" % PROBE_ID
_CONSOLE_LINE = re.compile(r":CONSOLE[^\]]*\]\s*(.*)$")


def find_chromium() -> str | None:
    """Path of a Chromium executable ($TUJIE_CHROMIUM first), or None."""
    override = os.environ.get("TUJIE_CHROMIUM")
    for candidate in ((override,) if override else ()) + CHROMIUM_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def require_chromium() -> str:
    """Chromium's path; skip the test when it is missing, but FAIL on CI (env var CI set),
    where a silently skipped browser test would hide a broken report."""
    path = find_chromium()
    if path is None:
        message = ("Chromium not found (looked for $TUJIE_CHROMIUM, /usr/bin/chromium, chromium, "
                   "chromium-browser, google-chrome); install it with `apt-get install -y chromium`.")
        if os.environ.get("CI"):
            pytest.fail(message + " CI is set, so the browser test may not be skipped.")
        pytest.skip(message)
    return path


@dataclass
class PageCheck:
    """What the probe saw: number of <img>, the ones that did not decode, and every error."""

    images: int
    broken: list[str]
    errors: list[str]
    console: list[str]
    dom: str
    stderr: str

    @property
    def ok(self) -> bool:
        return not self.broken and not self.errors and not self.console


def _run(chromium: str, args: list[str], profile: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=timeout)


def check_page(html_path, workdir, chromium: str, budget_ms: int = 5000) -> PageCheck:
    """Load a probed copy of `html_path` in headless Chromium and collect what went wrong.

    Args:
        html_path: the page to check (left untouched; a copy is probed).
        workdir: a scratch folder for the copy and Chromium's profile.
        chromium: path of the Chromium executable (see `require_chromium`).
        budget_ms: virtual time given to the page to load.

    Returns:
        A PageCheck; `.ok` is True when every image decoded and nothing logged an error.
    """
    html_path, workdir = Path(html_path), Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    page = html_path.read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", page, flags=re.IGNORECASE)
    assert head, f"{html_path} has no <head>"
    copy = workdir / f"probed_{html_path.name}"
    copy.write_text(page[:head.end()] + PROBE + page[head.end():], encoding="utf-8")
    done = _run(chromium, [f"--virtual-time-budget={budget_ms}", "--dump-dom", copy.resolve().as_uri()],
                workdir / "profile")
    match = re.search(rf'<pre id="{PROBE_ID}">(.*?)</pre>', done.stdout, flags=re.DOTALL)
    assert match, ("the probe script did not report: the page never fired `load`, or Chromium failed.\n"
                   f"exit code {done.returncode}\nstderr tail:\n{done.stderr[-3000:]}")
    import html as html_lib
    found = json.loads(html_lib.unescape(match.group(1)))
    console = [m.group(1) for line in done.stderr.splitlines() if (m := _CONSOLE_LINE.search(line))]
    return PageCheck(images=found["images"], broken=found["broken"], errors=found["errors"],
                     console=console, dom=done.stdout, stderr=done.stderr)


def screenshot(html_path, png_path, chromium: str, width: int = 1200, height: int = 3000,
               budget_ms: int = 3000) -> Path:
    """Save a PNG of the page as Chromium renders it at `width` x `height` CSS pixels.

    Example:
        >>> screenshot("report.html", "/tmp/report.png", require_chromium())  # doctest: +SKIP
    """
    png_path = Path(png_path)
    profile = png_path.parent / f".{png_path.stem}_profile"
    done = _run(chromium, [f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}",
                           f"--screenshot={png_path.resolve()}", Path(html_path).resolve().as_uri()],
                profile)
    shutil.rmtree(profile, ignore_errors=True)
    assert png_path.is_file(), f"Chromium wrote no screenshot:\n{done.stderr[-3000:]}"
    return png_path
