"""Signed append requests: how a party that does not hold the log's key appends to it.

A custodian node, the portal or any other appender serves its own process; the log runs in
another (docs/audit_log.md, "Appending over HTTP"). Each appender holds an Ed25519 note key
(a C2SP signer key file, :mod:`audit.keyfile`) whose verifier key is registered at the log
(:class:`AppenderRegistry`); the key's name is the actor it appends as. So the log records
only events an appender signed, under that appender's own name: a compromised portal cannot
append a custodian's decision.

A request is a C2SP signed note (:mod:`audit.note`) whose text is the RFC 8785 encoding of::

    {"v": 1, "type": str, "actor": str, "payload": object, "time": seconds, "nonce": hex}

and a newline, signed by the key named ``actor``. :class:`ReplayGuard` refuses a request
twice: its ``time`` must be within :data:`MAX_CLOCK_SKEW` of the log's clock and not before
the guard started (so a request signed before a restart is never accepted after it), and
its nonce must not have been seen within the window. Every refusal is an
:class:`AppendRequestError` subclass and appends nothing.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785

import strictjson
from audit.clock import Clock
from audit.entries import Entry
from audit.errors import AuditError, EntryError, NoteError
from audit.note import SIG_TYPE_ED25519, SignedNote, Signer, Verifier, parse_note

REQUEST_VERSION = 1
MAX_REQUEST_BYTES = 80 * 1024
MAX_CLOCK_SKEW = 300.0  # seconds either side of the log's clock
NONCE_BYTES = 16
MAX_APPENDERS = 1024
MAX_TIME = 1 << 53  # RFC 8785 numbers are IEEE doubles: integers are exact below 2^53
_NONCE = re.compile(rf"[0-9a-f]{{{2 * NONCE_BYTES}}}")


class AppendRequestError(AuditError):
    """A malformed append request (HTTP 400)."""


class AppenderUnknownError(AppendRequestError):
    """The actor is not a registered appender, or the signature is not its key's (403)."""


class AppendReplayError(AppendRequestError):
    """The request's nonce was already used (409)."""


class AppendStaleError(AppendRequestError):
    """The request's time is outside the log's window (422)."""


@dataclass(frozen=True)
class AppendRequest:
    """One parsed append request; its signature is checked by :meth:`AppenderRegistry.check`."""

    type: str
    actor: str
    payload: Mapping[str, Any]
    time: float
    nonce: str
    note: SignedNote = field(repr=False)


def sign_request(signer: Signer, type: str, payload: Mapping[str, Any], time: float,
                 nonce: str | None = None) -> bytes:
    """The request body for appending ``(type, signer's name, payload)``, signed by
    ``signer``. The event is checked as the log will check it (:class:`~audit.entries.Entry`),
    so a bad one fails here, before anything is sent."""
    Entry(type, signer.name, 0, payload)
    body = {"v": REQUEST_VERSION, "type": type, "actor": signer.name, "payload": dict(payload),
            "time": time, "nonce": nonce or secrets.token_hex(NONCE_BYTES)}
    text = rfc8785.dumps(body).decode("utf-8") + "\n"
    return SignedNote(text, (signer.sign(text),)).encode().encode("utf-8")


def parse_request(data: bytes) -> AppendRequest:
    """Parse a request body strictly (:class:`AppendRequestError`); nothing is verified yet
    but its shape: a signed note whose text is exactly the six fields, canonical, with their
    types, and a well-formed event."""
    if not isinstance(data, bytes) or len(data) > MAX_REQUEST_BYTES:
        raise AppendRequestError(f"an append request is at most {MAX_REQUEST_BYTES} bytes")
    try:
        note = parse_note(data.decode("utf-8"))
    except (UnicodeDecodeError, NoteError) as exc:
        raise AppendRequestError(f"an append request is a signed note: {exc}") from None
    obj = strictjson.loads(note.text, what="append request", error=AppendRequestError)
    strictjson.fields(obj, {"v": int, "type": str, "actor": str, "payload": dict,
                            "time": (int, float), "nonce": str},
                      what="append request", error=AppendRequestError)
    if obj["v"] != REQUEST_VERSION:
        raise AppendRequestError(f"unsupported append request version {obj['v']!r}")
    if not _NONCE.fullmatch(obj["nonce"]):
        raise AppendRequestError(f"the nonce is {NONCE_BYTES} bytes in lower-case hex")
    if not 0 <= obj["time"] < MAX_TIME:
        raise AppendRequestError("the request's time is seconds since 1970, below 2^53")
    try:
        canonical = rfc8785.dumps(obj).decode("utf-8") + "\n"
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise AppendRequestError(f"the request cannot be canonicalised: {exc}") from None
    if canonical != note.text:
        raise AppendRequestError("the request is not in canonical (RFC 8785) form")
    try:
        Entry(obj["type"], obj["actor"], 0, obj["payload"])
    except EntryError as exc:
        raise AppendRequestError(str(exc)) from None
    return AppendRequest(obj["type"], obj["actor"], obj["payload"], float(obj["time"]),
                         obj["nonce"], note)


class AppenderRegistry:
    """The appenders a log accepts: their Ed25519 note verifier keys, by name (the actor)."""

    def __init__(self, appenders: Sequence[Verifier]) -> None:
        if not appenders or len(appenders) > MAX_APPENDERS:
            raise AppendRequestError(f"register 1..{MAX_APPENDERS} appenders")
        self._keys: dict[str, Verifier] = {}
        for verifier in appenders:
            if verifier.sig_type != SIG_TYPE_ED25519:
                raise AppendRequestError(f"appender {verifier.name!r}: an Ed25519 note key")
            if verifier.name in self._keys:
                raise AppendRequestError(f"appender {verifier.name!r} is registered twice")
            self._keys[verifier.name] = verifier

    @classmethod
    def loads(cls, data: bytes) -> AppenderRegistry:
        """From its JSON file: ``{"appenders": [verifier key, ...]}``."""
        obj = strictjson.loads(data, what="appender registry", error=AppendRequestError)
        strictjson.fields(obj, {"appenders": list}, what="appender registry",
                          error=AppendRequestError)
        try:
            return cls([Verifier.from_vkey(vkey) for vkey in obj["appenders"]])
        except NoteError as exc:
            raise AppendRequestError(f"appender registry: {exc}") from None

    @property
    def verifiers(self) -> tuple[Verifier, ...]:
        return tuple(self._keys.values())

    @staticmethod
    def dumps(appenders: Sequence[Verifier]) -> bytes:
        return rfc8785.dumps({"appenders": [v.vkey for v in appenders]})

    def check(self, request: AppendRequest) -> None:
        """Raise :class:`AppenderUnknownError` unless ``request.actor`` is registered and
        its key signed the request."""
        verifier = self._keys.get(request.actor)
        if verifier is None:
            raise AppenderUnknownError(f"{request.actor!r} is not a registered appender")
        try:
            verified = request.note.verify([verifier])
        except NoteError:
            verified = {}
        if verifier.vkey not in verified:
            raise AppenderUnknownError(f"the request is not signed by {request.actor!r}'s key")


class ReplayGuard:
    """Refuses a request's nonce twice and a request outside the time window (module
    docstring). Thread-safe: :meth:`admit` is atomic."""

    def __init__(self, clock: Clock, skew: float = MAX_CLOCK_SKEW) -> None:
        self.clock = clock
        self.skew = skew
        self.started = clock.now()
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def admit(self, request: AppendRequest) -> None:
        """Record ``request``'s nonce, or raise :class:`AppendStaleError` /
        :class:`AppendReplayError` and record nothing."""
        now = self.clock.now()
        if abs(request.time - now) > self.skew:
            raise AppendStaleError(f"the request's time is more than {self.skew:g} s from "
                                   "the log's clock")
        if request.time < self.started:
            raise AppendStaleError("the request was signed before the log started serving")
        with self._lock:
            for nonce, seen in list(self._seen.items()):
                if seen < now - 2 * self.skew:
                    del self._seen[nonce]
            if request.nonce in self._seen:
                raise AppendReplayError("this append request was already received")
            self._seen[request.nonce] = request.time

    def forget(self, request: AppendRequest) -> None:
        """Drop ``request``'s nonce (its append failed before anything was written)."""
        with self._lock:
            self._seen.pop(request.nonce, None)
