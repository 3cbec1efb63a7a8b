"""Shared pytest fixtures: the interoperability vectors, PostgreSQL, Chromium, the audit world.

The vectors are copied into the repository (``tests/vectors/``, each folder with
its source and licence) so that the suite runs from any clone on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import chromium_path, launch_args
from tests.paths import VECTORS_DIR
from tests.postgres import PostgresServer, find_bindir

# Fixture modules shared across test packages, registered once here (pytest's
# "Requiring plugins"): the audit log, its signer, witnesses and quorum.
pytest_plugins = ["tests.audit.fixtures"]


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """``tests/vectors`` (see ``tests/vectors/README.md`` for where each folder comes from)."""
    if not VECTORS_DIR.is_dir():
        pytest.fail(f"missing interoperability vectors: {VECTORS_DIR}")
    return VECTORS_DIR


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on 127.0.0.1 for this test session (see ``tests/postgres.py``)."""
    bindir = find_bindir()
    if bindir is None:
        _missing("PostgreSQL server binaries not found (apt-get install postgresql)")
    server = PostgresServer(bindir).start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL of a new, empty PostgreSQL database on the session's server."""
    return postgres_server.new_database()


def _missing(message: str):
    """Fail in CI (where ``.ci/run`` installs everything), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (see ``tests/browser.py``); one per
    test module, so that Playwright's event loop is gone before other modules run (a later
    ``asyncio.run`` in the same worker would otherwise refuse)."""
    executable = chromium_path()
    if executable is None:
        _missing("Chromium not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright not installed (pip install playwright)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=executable, args=launch_args())
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page for one test; closed afterwards."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
