"""Fixtures of the portal tests: a world (chats in the archive, custodians, log, app,
accounts) in the test's temporary folder, and signed-in clients by account name."""

from __future__ import annotations

import pytest

from escrowlab.portal.world import build
from tests.portal_app.helpers import Client


@pytest.fixture
def world(tmp_path):
    built = build(tmp_path / "world", messages=6)
    yield built
    built.close()


@pytest.fixture
def clients(world):
    made = {}

    def client(name: str) -> Client:
        if name not in made:
            made[name] = Client(world.app, world.accounts[name])
        return made[name]

    return client
