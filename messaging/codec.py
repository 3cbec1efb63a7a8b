"""Strict field readers shared by messaging's JSON parsers, on top of :mod:`strictjson`.

Every document messaging reads (session state, prekey state, trust records,
prekey bundles and uploads, message content, relay answers) is loaded with
``strictjson.loads`` and checked with ``strictjson.fields``, each with the
error type of the layer that reads it. Two kinds of value recur in them and are
read here, once:

- binary values as **lowercase hex** (what ``bytes.hex()`` writes): upper case,
  odd lengths and the spaces ``bytes.fromhex`` tolerates are refused, so a
  parsed document re-encodes to the bytes it was parsed from;
- **times** as seconds since the Unix epoch: an ``int`` or a finite ``float``
  (never ``bool``) in ``0..2**64-1``, the range the wire's chain time carries
  (:mod:`messaging.wire`), returned as ``float``.
"""

from __future__ import annotations

import re

from messaging.limits import MAX_EPOCH_SECONDS

_LOWER_HEX = re.compile(r"(?:[0-9a-f]{2})*")


def hex_bytes(value: object, *, what: str, error: type[Exception], length: int | None = None,
              max_length: int | None = None) -> bytes:
    """Decode lowercase hex of exactly ``length`` (or at most ``max_length``) bytes, else
    raise ``error`` naming ``what``."""
    if not isinstance(value, str):
        raise error(f"{what} must be a hex string")
    if max_length is not None and len(value) > 2 * max_length:
        raise error(f"{what} is longer than {max_length} bytes")
    if not _LOWER_HEX.fullmatch(value):
        raise error(f"{what} is not lowercase hex")
    raw = bytes.fromhex(value)
    if length is not None and len(raw) != length:
        raise error(f"{what} must be {length} bytes")
    return raw


def epoch_seconds(value: object, *, what: str, error: type[Exception]) -> float:
    """A time in seconds since the epoch (module docstring) as ``float``, else raise ``error``."""
    if type(value) not in (int, float) or not 0 <= value <= MAX_EPOCH_SECONDS:
        raise error(f"{what} must be a number of seconds in 0..2^64-1")
    return float(value)
