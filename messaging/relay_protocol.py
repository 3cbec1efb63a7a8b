"""What a device and the relay exchange, independent of HTTP and of the relay's storage.

A device sends a :class:`RelayRequest` (method, path with query, headers, JSON
body) signed with its identity key (:func:`sign_request`) and gets back a
:class:`RelayResponse` (HTTP status and JSON body); a refusal is a
:class:`RelayError` carrying the status and a stable ``code``
(docs/relay.md). The client side (:mod:`messaging.transport`) and the relay
(:mod:`messaging.relay.api`, :mod:`messaging.relay.auth`) both build on this
module, so the client never imports the relay's server or its database.

A request carries four headers. The signature is Ed25519 (RFC 8032) by the
device's identity signing key over the domain-separated input::

    b"escrowlab relay request v1\\n" METHOD "\\n" PATH "\\n" hex(SHA-256(body)) "\\n"
    TIMESTAMP "\\n" NONCE "\\n" ADDRESS

where PATH includes the query string, TIMESTAMP is milliseconds since the
epoch and NONCE is 16 random bytes in hex; the relay's checks of them are
:mod:`messaging.relay.auth`. This is the scheme of HTTP message signatures
(RFC 9421) reduced to the fields the relay needs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from messaging.errors import MessagingError
from messaging.identity import IdentityKeyPair, IdentityPublic

SIGNATURE_LABEL = b"escrowlab relay request v1"
HEADER_ADDRESS = "X-Relay-Address"
HEADER_TIMESTAMP = "X-Relay-Timestamp"
HEADER_NONCE = "X-Relay-Nonce"
HEADER_SIGNATURE = "X-Relay-Signature"
NONCE_BYTES = 16
LINK_LABEL = b"escrowlab device link v1"


@dataclass(frozen=True)
class RelayRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class RelayResponse:
    status: int
    body: dict = field(default_factory=dict)


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


def signing_input(
    method: str, path: str, body: bytes, timestamp_ms: int, nonce: str, address: str
) -> bytes:
    """The exact bytes a device signs for one request (see the module docstring)."""
    return b"\n".join(
        [
            SIGNATURE_LABEL,
            method.upper().encode("ascii"),
            path.encode("utf-8"),
            hashlib.sha256(body).hexdigest().encode("ascii"),
            str(timestamp_ms).encode("ascii"),
            nonce.encode("ascii"),
            address.encode("utf-8"),
        ]
    )


def sign_request(
    identity: IdentityKeyPair, address: str, method: str, path: str, body: bytes, now: float
) -> dict[str, str]:
    """The four authentication headers for a request made at time ``now``."""
    timestamp_ms = int(now * 1000)
    nonce = os.urandom(NONCE_BYTES).hex()
    signature = identity.sign(signing_input(method, path, body, timestamp_ms, nonce, address))
    return {
        HEADER_ADDRESS: address,
        HEADER_TIMESTAMP: str(timestamp_ms),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature.hex(),
    }


def link_signing_input(address: str, identity: IdentityPublic) -> bytes:
    """What an existing device signs to let a new device ``address`` join its user."""
    return LINK_LABEL + b"\n" + address.encode("utf-8") + b"\n" + identity.encode()
