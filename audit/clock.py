"""The audit package's own clock: any object with ``now() -> float`` (Unix seconds).

``audit`` imports nothing else of ours, so it does not use ``messaging.clock``; any
object of the same shape (``ManualClock`` in tests) works wherever a clock is taken.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()
