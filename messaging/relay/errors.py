"""The relay's error type: one class carrying the HTTP status a client sees.

Every refusal of the relay (bad signature, stale or replayed request, unknown
device, exceeded limit, malformed body) raises :class:`RelayError` (defined with
the request format in :mod:`messaging.relay_protocol`, so that clients read it
without importing the relay) before any
state is written, so the enclosing transaction rolls back and nothing changes.
Messages name the problem, never key material.

:class:`RelayDatabaseError` is the other refusal: a database that is not (or
not yet) a relay database, refused when the relay or its archive is opened.
"""

from __future__ import annotations

from collections.abc import Callable

from messaging.errors import MessagingError
from messaging.relay_protocol import RelayError


class RelayDatabaseError(MessagingError):
    """A database the relay refuses to open: missing, empty, foreign or of another version."""


def _refusal(status: int, code: str) -> Callable[[str], RelayError]:
    def make(message: str) -> RelayError:
        return RelayError(status, code, message)

    make.__name__ = make.__qualname__ = code.replace("-", "_")
    make.__doc__ = f"A {status} ``{code}`` refusal with ``message``."
    return make


bad_request = _refusal(400, "bad-request")
unauthorized = _refusal(401, "unauthorized")
forbidden = _refusal(403, "forbidden")
not_found = _refusal(404, "not-found")
conflict = _refusal(409, "conflict")
too_large = _refusal(413, "too-large")
too_many = _refusal(429, "rate-limited")
storage_unavailable = _refusal(503, "storage-unavailable")
queue_full = _refusal(507, "queue-full")
