"""One Chromium for the whole test session, shared by every browser test (a pytest plugin).

Playwright's sync API allows one running instance per thread: a second `sync_playwright()` inside the
first fails, so every browser test, whatever folder it lives in, takes its browser from here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between page
# steps are still plain synchronous calls, so Django's async-safety guard would refuse them wrongly.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("LEADOPS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_browser():
    """Launch Debian's Chromium once (headless) and close it at the end of the session."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"No Chromium at {CHROMIUM}: .ci/run installs Debian's chromium package.")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
