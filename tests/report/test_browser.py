"""The report as a browser sees it: headless Chromium loads it offline, every image decodes
and the console stays silent. Select with `-m browser`; skipped without Chromium unless $CI is set."""

from __future__ import annotations

import pytest

import _browser
from _browser import check_page


@pytest.mark.browser
def test_report_renders_in_chromium_without_errors(full_report, chromium, tmp_path):
    report = full_report[0] / "report.html"
    result = check_page(report, tmp_path / "browser", chromium)
    assert result.images == 5  # curves, learning rate, confusion matrix, predictions, mistakes
    assert result.broken == [], f"images that did not load: {result.broken}"
    assert result.errors == [] and result.console == [], (result.errors, result.console)


@pytest.mark.browser
@pytest.mark.parametrize("report, figures", [("all_sections_report", 13), ("regression_report", 4)])
def test_every_optional_section_renders_in_chromium(report, figures, chromium, tmp_path, request):
    # The page with every classification section (learning rate, gradients, cross-validation,
    # ensemble, overfitting lab, ROC / PR, calibration, threshold), then the regression page
    # (curves, learning rate, gradients, predicted vs true).
    run_dir, page = request.getfixturevalue(report)
    result = check_page(run_dir / "report.html", tmp_path / "browser", chromium)
    assert result.images == page.count("<img ") == figures
    assert result.broken == [], f"images that did not load: {result.broken}"
    assert result.errors == [] and result.console == [], (result.errors, result.console)


@pytest.mark.browser
def test_the_browser_check_catches_broken_images_and_console_errors(full_report, chromium, tmp_path):
    # Guard against a check that cannot fail: damage a copy and expect every problem reported.
    page = full_report[1]
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace(
        "<main>", '<main><img src="missing.png" alt="x"><img src="data:image/png;base64,AAAA" alt="y">'
        '<script>console.error("boom from the page")</script>'), encoding="utf-8")
    result = check_page(broken, tmp_path / "browser", chromium)
    assert result.images == 7
    assert result.broken == ["missing.png", "data:image/png;base64,AAAA"]
    # The page's policy blocks the inline script, and says so; the missing file fails to load.
    assert any("missing.png" in e for e in result.errors), result.errors
    assert any("security policy" in e for e in result.errors), result.errors
    assert not result.ok

    no_policy = tmp_path / "no_policy.html"
    no_policy.write_text(broken.read_text(encoding="utf-8").replace("Content-Security-Policy", "x-disabled"),
                         encoding="utf-8")
    result = check_page(no_policy, tmp_path / "browser2", chromium)
    assert any("boom from the page" in e for e in result.errors), result.errors
    assert any("boom from the page" in line for line in result.console), result.stderr[-2000:]


def test_missing_chromium_skips_locally_but_fails_on_ci(monkeypatch):
    monkeypatch.setattr(_browser, "find_chromium", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        _browser.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        _browser.require_chromium()
