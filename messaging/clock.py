"""Injected time (STYLE.md, pyca/cryptography's ``encrypt_at_time`` pattern).

Anything that reads the time takes a clock: an object with ``now() -> float``
(seconds since the Unix epoch). Tests and scenarios pass a :class:`ManualClock`
and move it; production code uses :class:`SystemClock`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to. Starts at 2023-11-14T22:13:20Z by default."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a ManualClock only moves forward; use set() to go back")
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = float(when)
