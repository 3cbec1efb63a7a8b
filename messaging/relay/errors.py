"""The relay's error type: one class carrying the HTTP status a client sees.

Every refusal of the relay (bad signature, stale or replayed request, unknown
device, exceeded limit, malformed body) raises :class:`RelayError` before any
state is written, so the enclosing transaction rolls back and nothing changes.
Messages name the problem, never key material.
"""

from __future__ import annotations

from messaging.errors import MessagingError


class RelayError(MessagingError):
    """A request the relay refuses; ``status`` is the HTTP status, ``code`` a stable slug."""

    def __init__(self, status: int, code: str, message: str, extra: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})

    def to_json(self) -> dict:
        return {**self.extra, "error": self.code, "message": self.message}


def bad_request(message: str) -> RelayError:
    return RelayError(400, "bad-request", message)


def unauthorized(message: str) -> RelayError:
    return RelayError(401, "unauthorized", message)


def forbidden(message: str) -> RelayError:
    return RelayError(403, "forbidden", message)


def not_found(message: str) -> RelayError:
    return RelayError(404, "not-found", message)


def conflict(message: str) -> RelayError:
    return RelayError(409, "conflict", message)


def too_large(message: str) -> RelayError:
    return RelayError(413, "too-large", message)


def too_many(message: str) -> RelayError:
    return RelayError(429, "rate-limited", message)


def queue_full(message: str) -> RelayError:
    return RelayError(507, "queue-full", message)
