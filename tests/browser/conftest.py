"""Playwright against pytest-django's live server, driving Debian's Chromium (no browser download)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from leads.roles import Role


@pytest.fixture(autouse=True)
def role_groups(transactional_db):
    """Recreate the role groups the data migration made: each live-server test ends with a flush.

    (`serialized_rollback` would restore them, but Django keeps the serialized copy on a connection
    object that is context-local, and Playwright's sync API runs the test in another context.)
    """
    for role in Role:
        Group.objects.get_or_create(name=role.value)


@pytest.fixture(scope="session")
def browser(chromium_browser):
    return chromium_browser


@pytest.fixture
def page(browser, live_server):
    """Return a fresh browser tab (own cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot when LEADOPS_SCREENSHOT_DIR is set (for looking at layouts by hand)."""
    folder = os.environ.get("LEADOPS_SCREENSHOT_DIR")

    def take(tab, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    return take


def log_in(tab, username: str, password: str) -> None:
    """Log in through the real login form, as a person would."""
    tab.goto("/accounts/login/")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Log in").click()
    tab.wait_for_load_state()
