"""Argument types shared by the command-line modules (argparse ``type=`` callables).

Every numeric option of ``escrowlab`` is range-checked at parse time through these,
so a value outside what the help states is a usage error (exit 2) that names the
allowed values, before any work starts.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence


def int_in_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type accepting whole numbers in ``low..high`` (no upper bound if None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"in {low}..{high}"
            raise argparse.ArgumentTypeError(f"expected a whole number {bound}, got {value}")
        return value

    return parse


positive_int = int_in_range(1)


def float_in_range(low: float, high: float) -> Callable[[str], float]:
    """An argparse type accepting finite numbers in ``low..high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a number in {low:g}..{high:g}, "
                                             f"got {text}")
        return value

    return parse


def _describe(allowed: Sequence[int]) -> str:
    if isinstance(allowed, range) and allowed.step == 1:
        return f"in {allowed.start}..{allowed.stop - 1}"
    return "one of " + ", ".join(map(str, allowed))


def int_list(allowed: Sequence[int], what: str, note: str = "") -> Callable[[str], tuple]:
    """An argparse type for a comma-separated list of whole numbers, each in ``allowed``
    (a range or the exact values); the error names the allowed values and ``note``."""
    choices = _describe(allowed)
    hint = f" ({note})" if note else ""

    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {what}, each {choices}; got {text!r}") from None
        wrong = [v for v in values if v not in allowed]
        if wrong:
            raise argparse.ArgumentTypeError(
                f"{what} must each be {choices}{hint}; got "
                f"{', '.join(map(str, wrong))}")
        return values

    return parse
