"""Log entries: typed, versioned events in canonical JSON (RFC 8785, JCS).

An entry is the JSON object ``{"v": 1, "type": ..., "actor": ..., "time": ...,
"payload": {...}}`` serialised with the ``rfc8785`` package, so the same event always
yields the same bytes (and the same RFC 9162 leaf hash). ``time`` is an integer number
of milliseconds since the Unix epoch, taken from an injected clock.

Parsing is strict: the bytes are read with :func:`strictjson.loads` (bounded depth and
integer digits, no floats, no duplicate names, no lone surrogates), the fields must be
exactly these five with exactly these JSON types (``"v": true`` or ``"v": 1.0`` is not
version 1), the version known, the sizes bounded, and the bytes exactly the canonical
serialisation.

No secret may go into an entry. Payload keys that name secret material (``secret``,
``password``, ``private_key``, ...) are refused, and personal identifiers (a phone
number, an account name) are recorded as :func:`salted_hash` values, which reveal
nothing without the salt but let a holder of the salt check a given identifier.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import hashes, hmac

import strictjson
from audit.errors import EntryError

ENTRY_VERSION = 1
MAX_ENTRY_BYTES = 64 * 1024
MAX_DEPTH = 8
TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,7}")
FORBIDDEN_KEY_PARTS = ("secret", "password", "passphrase", "private_key", "privkey",
                       "chain_key", "seed", "mnemonic", "plaintext")
SALTED_HASH_PREFIX = "hmac-sha256:"
MIN_SALT_BYTES = 16


def salted_hash(salt: bytes, identifier: str) -> str:
    """``hmac-sha256:<hex>`` of a personal identifier under a secret salt (>= 16 bytes).

    HMAC-SHA-256 (RFC 2104) keyed by the salt: without the salt the value cannot be
    reversed by enumerating phone numbers; with it, an auditor can test a candidate.
    """
    if not isinstance(salt, bytes) or len(salt) < MIN_SALT_BYTES:
        raise EntryError(f"salt must be at least {MIN_SALT_BYTES} random bytes")
    if not isinstance(identifier, str) or not identifier:
        raise EntryError("identifier must be a non-empty string")
    mac = hmac.HMAC(salt, hashes.SHA256())
    mac.update(identifier.encode("utf-8"))
    return SALTED_HASH_PREFIX + mac.finalize().hex()


def _check_payload(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise EntryError(f"payload is nested deeper than {MAX_DEPTH}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EntryError("payload keys must be strings")
            lowered = key.lower()
            if any(part in lowered for part in FORBIDDEN_KEY_PARTS):
                raise EntryError(f"payload key {key!r} names secret material; log a hash")
            _check_payload(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_payload(item, depth + 1)
    elif isinstance(value, float):
        raise EntryError("payload numbers must be integers")
    elif value is not None and not isinstance(value, str | int | bool):
        raise EntryError(f"payload value of type {type(value).__name__} is not JSON")


@dataclass(frozen=True)
class Entry:
    """One event: what happened (``type``), who did it (``actor``), when, and details."""

    type: str
    actor: str
    time: int
    payload: Mapping[str, Any]
    version: int = ENTRY_VERSION

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version != ENTRY_VERSION:
            raise EntryError(f"unsupported entry version {self.version!r}")
        if not isinstance(self.type, str) or not TYPE_PATTERN.fullmatch(self.type) or len(
            self.type
        ) > 64:
            raise EntryError("entry type must look like 'warrant.filed' (a-z, 0-9, _, .)")
        if not isinstance(self.actor, str) or not 0 < len(self.actor) <= 256 or any(
            ord(ch) < 0x20 for ch in self.actor
        ):
            raise EntryError("entry actor must be 1-256 printable characters")
        if isinstance(self.time, bool) or not isinstance(self.time, int) or self.time < 0:
            raise EntryError("entry time must be a non-negative integer (milliseconds)")
        if not isinstance(self.payload, Mapping):
            raise EntryError("entry payload must be a JSON object")
        _check_payload(self.payload)

    def to_json(self) -> dict[str, Any]:
        return {"v": self.version, "type": self.type, "actor": self.actor,
                "time": self.time, "payload": dict(self.payload)}

    def encode(self) -> bytes:
        """The canonical (RFC 8785) bytes that go into the log as a leaf."""
        try:
            data = rfc8785.dumps(self.to_json())
        except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
            raise EntryError(f"entry cannot be canonicalised: {exc}") from None
        if len(data) > MAX_ENTRY_BYTES:
            raise EntryError(f"entry is larger than {MAX_ENTRY_BYTES} bytes")
        return data

    @classmethod
    def decode(cls, data: bytes) -> Entry:
        """Parse entry bytes strictly: canonical JCS, exactly the five known fields."""
        if not isinstance(data, bytes) or len(data) > MAX_ENTRY_BYTES:
            raise EntryError(f"an entry is at most {MAX_ENTRY_BYTES} bytes")
        obj = strictjson.loads(data, what="entry", error=EntryError, max_depth=MAX_DEPTH + 2,
                               allow_floats=False)
        strictjson.fields(obj, {"v": int, "type": str, "actor": str, "time": int,
                                "payload": dict}, what="entry", error=EntryError)
        entry = cls(obj["type"], obj["actor"], obj["time"], obj["payload"], obj["v"])
        if entry.encode() != data:
            raise EntryError("entry is not in canonical (RFC 8785) form")
        return entry
