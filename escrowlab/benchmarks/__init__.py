"""Benchmarks: commands that print figures and ratios (never timed assertions in tests).

Each module exposes ``register(subparsers)`` for ``escrowlab bench <name>`` and a
``run(...) -> dict`` that returns the figures under the JSON keys its issue names.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable


def progress_printer(name: str) -> Callable[[str], None] | None:
    """Progress lines on stderr for ``escrowlab bench NAME``, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    return lambda what: print(f"bench {name}: timing {what} ...", file=sys.stderr)


def time_sessions(alice, bob, mode: str, messages: int, message_size: int,
                  check: Callable[[bytes, bytes], None]) -> float:
    """Seconds for ``messages`` random messages between two sessions, every one checked.

    ``burst``: Alice sends all of them on one chain; ``pingpong``: the sides
    alternate, so every message starts a new DH ratchet step (and a new escrow
    record). ``check(received, sent)`` raises when a decryption differs.
    """
    plaintexts = [os.urandom(message_size) for _ in range(messages)]
    pingpong = mode == "pingpong"
    start = time.perf_counter()
    for i, plaintext in enumerate(plaintexts):
        if pingpong and i % 2:
            received = alice.decrypt(bob.encrypt(plaintext))
        else:
            received = bob.decrypt(alice.encrypt(plaintext))
        check(received, plaintext)
    return time.perf_counter() - start
