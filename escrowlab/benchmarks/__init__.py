"""Benchmarks: commands that print figures and ratios (never timed assertions in tests).

Each module exposes ``register(subparsers)`` for ``escrowlab bench <name>`` and a
``run(...) -> dict`` that returns the figures under the JSON keys its issue names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


def progress_printer(name: str) -> Callable[[str], None] | None:
    """Progress lines on stderr for ``escrowlab bench NAME``, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    return lambda what: print(f"bench {name}: timing {what} ...", file=sys.stderr)
