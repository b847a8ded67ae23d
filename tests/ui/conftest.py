"""Fixtures for the console's browser tests: one headless Chromium per module, from the OS packages
(never a downloaded browser), and a fresh tab per test whose screenshot is kept when the test fails."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from console_harness import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS  # noqa: E402


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs it with apt-get install -y chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
            accept_downloads=True,
        )
        context.set_default_timeout(20_000)
        try:
            yield context
        finally:
            context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser_context: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab with no cookies; a screenshot of it is kept when the test fails."""
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    # The browser's language, as a page would see it (a context-wide locale would override a test's own).
    tab.set_extra_http_headers({"Accept-Language": "en-US,en;q=0.9"})
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("dialog", lambda dialog: (errors.append(f"unexpected dialog: {dialog.message}"), dialog.dismiss()))
    try:
        yield tab
        assert errors == [], errors  # no script errors and no alert() (an escaped `<script>` never runs)
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"{request.node.name}.png"
            tab.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
        tab.close()
