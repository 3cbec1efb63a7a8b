"""A small directory world for the key-transparency tests: a directory on a witnessed log."""

from __future__ import annotations

import os

from audit.kt.directory import KeyDirectory
from audit.kt.lookup import KTTrust


def identity() -> bytes:
    return os.urandom(128)


def trust_of(log_signer, witnesses, threshold: int = 2) -> KTTrust:
    return KTTrust(log_signer.verifier, tuple(w.verifier for w in witnesses), threshold)


def populated(log, users: int = 5) -> tuple[KeyDirectory, dict[str, dict[str, bytes]]]:
    """A directory with ``users`` users of one device each, published as epoch 0."""
    directory = KeyDirectory(log)
    lists = {f"user{i}": {f"user{i}:1": identity()} for i in range(users)}
    for user, devices in lists.items():
        directory.stage(user, devices)
    directory.publish_epoch()
    return directory, lists
