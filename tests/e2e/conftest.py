"""Chromium for the browser tests: Debian's package driven by Playwright (its own browser
download does not work offline). Each test gets a fresh browser; `page` is one logged-out tab."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM

# Headless as root, and no background traffic: the machine has no network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_tab(browser, *, width: int = 1400, height: int = 1000):
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def page(browser):
    return new_tab(browser)


@pytest.fixture(scope="session", autouse=True)
def _drop_live_server_connections(django_db_setup, django_db_blocker):
    """The live server's request threads can leave an idle PostgreSQL session behind (seen after
    a browser's keep-alive requests), and PostgreSQL then refuses to drop the test database at the
    end of the run. Torn down before `django_db_setup`, this ends those sessions first."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
