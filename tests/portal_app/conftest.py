"""Fixtures of the portal tests: a world (chats in the archive, custodians, log, app,
accounts) in the test's temporary folder, and signed-in clients by account name."""

from __future__ import annotations

import pytest

from escrowlab.portal.world import build
from tests.portal_app.helpers import Client

FAST_HASH = {"argon2__rounds": 1, "argon2__memory_cost": 1024, "argon2__parallelism": 1}
"""argon2id still, at the lowest cost, so that a test signs in quickly."""
TEST_CONFIG = {"SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS": FAST_HASH,
               "PORTAL_RATE_LIMITS": {"login": "1000 per minute", "totp": "1000 per minute",
                                      "approval": "1000 per minute"}}


def make_world(directory, **options):
    return build(directory, messages=6, config={**TEST_CONFIG, **options.pop("config", {})},
                 **options)


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


@pytest.fixture
def clients(world):
    made = {}

    def client(name: str) -> Client:
        if name not in made:
            made[name] = Client(world.app, world.accounts[name])
        return made[name]

    return client
