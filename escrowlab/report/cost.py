"""What each proposal costs honest users (docs/benchmarks.md), measured at small sizes with the
benchmarks' own session timer (:func:`escrowlab.benchmarks.time_sessions`).

Per mode, on two real sessions with the registry's default deployment of that mode:

- ``burst_ratio`` / ``pingpong_ratio``: messages/s with the mode's hook over messages/s
  with ``none`` timed in turns with it (burst: one chain; ping-pong: a new chain, so a
  record made and checked, every message); best of ``rounds``;
- ``bytes_per_message``: mean envelope size in ping-pong, and ``overhead_bytes`` over
  ``none`` (the record rides with every message of its chain);
- ``check_us``: the recipient's check of one chain's record (``check_chain``), best of
  ``rounds`` over ``records`` records.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from escrow.modes import MODES, get_mode
from escrowlab.benchmarks import time_sessions
from escrowlab.scenarios.fixture import chain_context, session_pair
from messaging.hooks import NoEscrow

MESSAGE_SIZE = 1024
DEFAULT_MESSAGES = 200


def _check(received: bytes, sent: bytes) -> None:
    if received != sent:
        raise AssertionError("a decrypted message differs from what was sent")


def _hooks(mode: str):
    deployment = get_mode(mode).deployment()
    return deployment.hook_for("alice:1"), deployment.hook_for("bob:1")


def _session_seconds(mode: str, kind: str, messages: int) -> float:
    alice_hook, bob_hook = _hooks(mode) if mode != "none" else (NoEscrow(), NoEscrow())
    pair = session_pair(alice_hook, bob_hook)
    return time_sessions(pair.alice, pair.bob, kind, messages, MESSAGE_SIZE, _check)


def _envelope_bytes(mode: str, messages: int) -> float:
    alice_hook, bob_hook = _hooks(mode) if mode != "none" else (NoEscrow(), NoEscrow())
    pair = session_pair(alice_hook, bob_hook)
    sizes = [len(pair.send("bob" if i % 2 else "alice", os.urandom(MESSAGE_SIZE)))
             for i in range(messages)]
    return statistics.mean(sizes)


def _check_us(mode: str, records: int, rounds: int) -> float | None:
    if mode == "none":
        return None
    sender, recipient = _hooks(mode)
    contexts = [chain_context(mode, chain_number=i) for i in range(records)]
    made = [(c, sender.record_for_chain(c)) for c in contexts]
    best = None
    for _ in range(rounds):
        start = time.perf_counter()
        for context, record in made:
            recipient.check_chain(context, record)
        elapsed = (time.perf_counter() - start) / records * 1e6
        best = elapsed if best is None else min(best, elapsed)
    return best


def measure(messages: int = DEFAULT_MESSAGES, records: int = 20, rounds: int = 3
            ) -> dict[str, Any]:
    """The cost figures of every registered mode (module docstring), and how they were
    measured: each mode's sessions are timed in turns with ``none``'s, best of ``rounds``
    each, so that a load spike hits both sides of a ratio alike (``none`` against itself
    shows the noise floor)."""
    base_bytes = _envelope_bytes("none", messages)
    modes = {}
    for mode in MODES:
        best: dict[tuple[str, str], float] = {}
        for _ in range(rounds):
            for kind in ("burst", "pingpong"):
                for side in ("none", mode):
                    seconds = _session_seconds(side, kind, messages)
                    best[side, kind] = min(seconds, best.get((side, kind), seconds))
        size = _envelope_bytes(mode, messages)
        modes[mode] = {
            "burst_ratio": best["none", "burst"] / best[mode, "burst"],
            "pingpong_ratio": best["none", "pingpong"] / best[mode, "pingpong"],
            "bytes_per_message": size, "overhead_bytes": size - base_bytes,
            "check_us": _check_us(mode, records, rounds),
            "parameters": get_mode(mode).values(),
        }
    return {"messages": messages, "message_size": MESSAGE_SIZE, "records": records,
            "rounds": rounds, "modes": modes,
            "how": "best of rounds, each mode timed in turns with none; two in-process "
                   "sessions; registry default deployments"}
