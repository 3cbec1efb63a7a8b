"""Fixtures of the portal tests: a world (chats in the archive, custodians, log, app,
accounts) in the test's temporary folder, one per test or one shared by the session."""

from __future__ import annotations

import pytest

from tests.portal_app.helpers import make_world


@pytest.fixture
def world(tmp_path):
    built = make_world(tmp_path / "world")
    yield built
    built.close()


@pytest.fixture(scope="session")
def shared_world(tmp_path_factory):
    """One world for the tests that each file their own warrants and change no one else's
    account."""
    built = make_world(tmp_path_factory.mktemp("world"))
    yield built
    built.close()
