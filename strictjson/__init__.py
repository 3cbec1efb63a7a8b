"""Strict JSON for every package: one loader, one field checker, one text check.

escrowlab reads JSON from the network (relay request bodies, message content),
from disk (device stores, trust records, keystores, witness state, evidence
files) and from people (warrants, releases). Python's :mod:`json` accepts far
more than RFC 8259 interoperably means, and fails in ways a parser must not:

- integers of any length (``10**400`` then breaks ``float()``/``math.isfinite``,
  and literals over 4,300 digits raise a bare ``ValueError``);
- ``NaN``, ``Infinity`` and floats that overflow to ``inf``;
- nesting deep enough to raise ``RecursionError``;
- duplicate object names, the last one silently winning (RFC 8259 section 4
  says names SHOULD be unique; I-JSON, RFC 7493 section 2.3, MUST);
- ``"\\ud800"``: a lone surrogate, which is not Unicode text and crashes the first
  ``str.encode('utf-8')`` (I-JSON section 2.1 forbids it);
- ``true`` where an integer is meant (``bool`` is a subclass of ``int``).

:func:`loads` refuses all of these with the caller's own error type, so that a
malformed document is always that package's clear error and never another
exception. :func:`fields` then checks an object's names and value types exactly
(unknown names refused, ``bool`` never taken for ``int``), and :func:`text`
checks a string that came from Python code rather than from :func:`loads`.

This package imports nothing of ours: it sits below ``messaging``, ``audit``
and ``escrow`` in the import graph (see ``docs/architecture.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "StrictJSONError", "fields", "loads", "text"]

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects any of our documents needs, with room to spare."""

MAX_INT_DIGITS = 40
"""Longest integer literal accepted: 2**128 has 39 digits; every counter, size and time fits."""


class StrictJSONError(ValueError):
    """Default error type; callers normally pass their package's own (``error=...``)."""


class _Refused(Exception):
    """Raised inside json's hooks and turned into the caller's error type by :func:`loads`."""


def _duplicate_free(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused("duplicate object name")
    return result


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def loads(data: str | bytes, *, what: str = "JSON document",
          error: type[Exception] = StrictJSONError, max_depth: int = MAX_DEPTH,
          max_int_digits: int = MAX_INT_DIGITS, allow_floats: bool = True,
          max_bytes: int | None = None) -> Any:
    """Parse RFC 8259 JSON text strictly, or raise ``error`` naming ``what``.

    ``bytes`` must be UTF-8 (RFC 8259 section 8.1). Refused: text longer than
    ``max_bytes``, integer literals longer than ``max_int_digits`` digits,
    non-finite numbers, floats when ``allow_floats`` is false, nesting deeper
    than ``max_depth``, duplicate names, lone surrogates. The message never
    echoes the input.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data)
        if max_bytes is not None and len(data) > max_bytes:
            raise error(f"{what}: longer than {max_bytes} bytes")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise error(f"{what}: not UTF-8 text") from None
    elif not isinstance(data, str):
        raise error(f"{what}: expected JSON text, got {type(data).__name__}")
    elif max_bytes is not None and len(data) > max_bytes:
        raise error(f"{what}: longer than {max_bytes} characters")

    def parse_int(literal: str) -> int:
        if len(literal.lstrip("-")) > max_int_digits:
            raise _Refused(f"integer longer than {max_int_digits} digits")
        return int(literal)

    def parse_float(literal: str) -> float:
        if not allow_floats:
            raise _Refused("fractional or exponent numbers are not accepted")
        if len(literal) > 64:
            raise _Refused("number literal too long")
        value = float(literal)
        if not math.isfinite(value):
            raise _Refused("number out of range")
        return value

    try:
        value = json.loads(data, parse_int=parse_int, parse_float=parse_float,
                           parse_constant=_refuse_constant, object_pairs_hook=_duplicate_free)
    except _Refused as exc:
        raise error(f"{what}: {exc}") from None
    except RecursionError:
        raise error(f"{what}: nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # json.JSONDecodeError, and anything int() refuses
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "invalid number"
        raise error(f"{what}: not valid JSON ({reason})") from None
    _check_tree(value, what=what, error=error, max_depth=max_depth)
    return value


def _check_tree(value: Any, *, what: str, error: type[Exception], max_depth: int) -> None:
    """Depth bound and valid Unicode text for every string and name, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            text(item, what=what, error=error)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise error(f"{what}: nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for name, member in item.items():
                    text(name, what=what, error=error)
                    stack.append((member, depth + 1))
            else:
                stack.extend((member, depth + 1) for member in item)


def text(value: Any, *, what: str = "text", error: type[Exception] = StrictJSONError,
         max_length: int | None = None) -> str:
    """Return ``value`` if it is a ``str`` of valid Unicode (no lone surrogates), else raise."""
    if not isinstance(value, str):
        raise error(f"{what}: expected text, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{what}: not valid Unicode text (lone surrogate)") from None
    if max_length is not None and len(value) > max_length:
        raise error(f"{what}: longer than {max_length} characters")
    return value


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def fields(obj: Any, required: Mapping[str, type | tuple[type, ...]],
           optional: Mapping[str, type | tuple[type, ...]] | None = None, *,
           what: str = "object", error: type[Exception] = StrictJSONError) -> dict[str, Any]:
    """Check that ``obj`` is an object with exactly these names and value types.

    Every ``required`` name must be present, no name outside ``required`` and
    ``optional`` may be, and each value's type must be one of those given,
    matched exactly: ``bool`` is never accepted for ``int``, nor ``int`` for
    ``float``. Strings are checked as :func:`text`. Returns ``obj``.
    """
    optional = optional or {}
    if not isinstance(obj, dict):
        raise error(f"{what}: expected an object, got {type(obj).__name__}")
    missing = [name for name in required if name not in obj]
    if missing:
        raise error(f"{what}: missing field(s) {', '.join(sorted(missing))}")
    unknown = [name for name in obj if name not in required and name not in optional]
    if unknown:
        shown = ", ".join(sorted(repr(text(n, what=what, error=error))[:40] for n in unknown))
        raise error(f"{what}: unknown field(s) {shown}")
    for name, value in obj.items():
        kind = required.get(name) or optional[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if type(value) not in kinds:
            raise error(f"{what}: field {name!r} must be {_type_name(kind)}, "
                        f"got {type(value).__name__}")
        if isinstance(value, str):
            text(value, what=f"{what}: field {name!r}", error=error)
    return obj
