"""Request authentication: the relay's checks of a signed request.

Every relay request is signed by the device's identity key; the headers and the
exact bytes signed are :mod:`messaging.relay_protocol`. The relay refuses a
request whose timestamp is further than ``RelayLimits.clock_skew`` from its own
clock (stale) and a (address, nonce) pair it has already seen within that window
(replayed); nonces are remembered in the same transaction as the request's
effect, so a refused request leaves no trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from messaging.errors import HandshakeError
from messaging.identity import SIGNATURE_LENGTH, IdentityPublic
from messaging.limits import MAX_ADDRESS_LENGTH, MAX_TIMESTAMP_DIGITS
from messaging.relay.errors import unauthorized
from messaging.relay_protocol import (
    HEADER_ADDRESS,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NONCE_BYTES,
    signing_input,
)

_NONCE = re.compile(rf"[0-9a-f]{{{2 * NONCE_BYTES}}}")
_SIGNATURE = re.compile(rf"[0-9a-f]{{{2 * SIGNATURE_LENGTH}}}")
_TIMESTAMP = re.compile(rf"[0-9]{{1,{MAX_TIMESTAMP_DIGITS}}}")


@dataclass(frozen=True)
class RequestAuth:
    """The parsed authentication headers of one request."""

    address: str
    timestamp_ms: int
    nonce: str
    signature: bytes


def parse_auth_headers(headers: Mapping[str, str]) -> RequestAuth:
    """Read the authentication headers; a missing or malformed one is a 401 ``RelayError``."""
    values = {}
    for name in (HEADER_ADDRESS, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE):
        value = headers.get(name)
        if value is None:
            raise unauthorized(f"missing request authentication header {name}")
        values[name] = value
    if len(values[HEADER_ADDRESS]) > MAX_ADDRESS_LENGTH:
        raise unauthorized(f"{HEADER_ADDRESS} is at most {MAX_ADDRESS_LENGTH} characters")
    if not _TIMESTAMP.fullmatch(values[HEADER_TIMESTAMP]):
        raise unauthorized(f"{HEADER_TIMESTAMP} is milliseconds since the epoch")
    if not _NONCE.fullmatch(values[HEADER_NONCE]):
        raise unauthorized(f"{HEADER_NONCE} is {NONCE_BYTES} bytes in lower-case hex")
    if not _SIGNATURE.fullmatch(values[HEADER_SIGNATURE]):
        raise unauthorized(f"{HEADER_SIGNATURE} is a {SIGNATURE_LENGTH}-byte signature in "
                           "lower-case hex")
    return RequestAuth(
        address=values[HEADER_ADDRESS],
        timestamp_ms=int(values[HEADER_TIMESTAMP]),
        nonce=values[HEADER_NONCE],
        signature=bytes.fromhex(values[HEADER_SIGNATURE]),
    )


def check_fresh(auth: RequestAuth, now: float, clock_skew: float) -> None:
    """Refuse a request whose timestamp is more than ``clock_skew`` seconds from ``now``."""
    if abs(auth.timestamp_ms / 1000.0 - now) > clock_skew:
        raise unauthorized(
            f"stale request: its timestamp is more than {clock_skew:g} s from the relay's clock"
        )


def check_signature(
    identity: IdentityPublic, auth: RequestAuth, method: str, path: str, body: bytes
) -> None:
    """Verify the request signature under ``identity``; raise a 401 ``RelayError`` if it fails."""
    data = signing_input(method, path, body, auth.timestamp_ms, auth.nonce, auth.address)
    try:
        identity.verify(auth.signature, data)
    except HandshakeError as exc:
        raise unauthorized("the request signature does not verify under the device's key") from exc
