"""Request authentication: every relay request is signed by the device's identity key.

A request carries four headers. The signature is Ed25519 (RFC 8032) by the
device's identity signing key over the domain-separated input::

    b"escrowlab relay request v1\\n" METHOD "\\n" PATH "\\n" hex(SHA-256(body)) "\\n"
    TIMESTAMP "\\n" NONCE "\\n" ADDRESS

where PATH includes the query string, TIMESTAMP is milliseconds since the
epoch and NONCE is 16 random bytes in hex. The relay refuses a request whose
timestamp is further than ``RelayLimits.clock_skew`` from its own clock
(stale) and a (address, nonce) pair it has already seen within that window
(replayed); nonces are remembered in the same transaction as the request's
effect, so a refused request leaves no trace. This is the scheme of HTTP
message signatures (RFC 9421) reduced to the fields the relay needs.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from messaging.errors import HandshakeError
from messaging.identity import IdentityKeyPair, IdentityPublic
from messaging.relay.errors import unauthorized

SIGNATURE_LABEL = b"escrowlab relay request v1"
HEADER_ADDRESS = "X-Relay-Address"
HEADER_TIMESTAMP = "X-Relay-Timestamp"
HEADER_NONCE = "X-Relay-Nonce"
HEADER_SIGNATURE = "X-Relay-Signature"
NONCE_BYTES = 16
MAX_ADDRESS_LENGTH = 80  # the devices table's address column; longer is no device
_NONCE = re.compile(r"[0-9a-f]{32}")
_SIGNATURE = re.compile(r"[0-9a-f]{128}")
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


@dataclass(frozen=True)
class RequestAuth:
    """The parsed authentication headers of one request."""

    address: str
    timestamp_ms: int
    nonce: str
    signature: bytes


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
        raise unauthorized(f"{HEADER_SIGNATURE} is a 64-byte signature in lower-case hex")
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


LINK_LABEL = b"escrowlab device link v1"


def link_signing_input(address: str, identity: IdentityPublic) -> bytes:
    """What an existing device signs to let a new device ``address`` join its user."""
    return LINK_LABEL + b"\n" + address.encode("utf-8") + b"\n" + identity.encode()
