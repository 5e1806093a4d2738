"""Real Chromium (Debian's package) driven by Playwright against the live app."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium not found: `make test` installs Debian's chromium package")
    return path


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls
    # our tests make between page actions are still plain synchronous code.
    # Browser tests run last (tests/conftest.py orders them), so this only
    # relaxes Django's check for them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        yield playwright


def launch_chromium(playwright, *extra_args: str):
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=[*CHROMIUM_FLAGS, *extra_args])


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = launch_chromium(playwright_instance)
    yield browser
    browser.close()


@pytest.fixture
def page(browser, live_app):
    context = browser.new_context(base_url=live_app)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url("**/dashboard/")
