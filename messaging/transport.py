"""How a device reaches the relay: one transport interface, two implementations.

A :class:`Transport` carries one signed :class:`~messaging.relay_protocol.RelayRequest`
and returns the relay's :class:`~messaging.relay_protocol.RelayResponse`:

- :class:`messaging.relay.inprocess.InProcessTransport` (for the demo and fast
  tests) calls the relay's request handler directly, so authentication, limits
  and every check run exactly as over HTTP; it lives with the relay, so this
  module and the client never import the relay's server or its database;
- :class:`HttpTransport` speaks HTTP/1.1 with keep-alive to a relay server
  (``escrowlab relay serve``), one connection per thread.

:class:`RelayClient` signs every request with the device's identity key
(:mod:`messaging.relay_protocol`), retries on a lost connection with a fresh
signature (the relay refuses a replayed nonce, so a retry is a new request),
and turns refusals into :class:`~messaging.relay_protocol.RelayError`. Answers
are parsed strictly (:func:`strictjson.loads` over HTTP, then the type of every
field used): a malformed answer is a 502 ``bad-response`` ``RelayError``, never
another exception.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import strictjson
from messaging.addresses import AddressError, parse_address
from messaging.clock import Clock, SystemClock
from messaging.codec import epoch_seconds, hex_bytes
from messaging.errors import HandshakeError, MessagingError, WireFormatError
from messaging.identity import IdentityKeyPair, IdentityPublic
from messaging.limits import DEFAULT_FETCH_LIMIT, MAX_QUEUE_ID
from messaging.prekey_records import PrekeyBundle, PrekeyUpload
from messaging.relay_protocol import (
    RelayError,
    RelayRequest,
    RelayResponse,
    link_signing_input,
    sign_request,
)


class RelayUnavailableError(MessagingError):
    """The relay could not be reached (connection refused, reset or timed out)."""


class Transport(Protocol):
    def request(self, request: RelayRequest) -> RelayResponse:
        """Deliver one request; raise :class:`RelayUnavailableError` if the relay is unreachable."""
        ...


class HttpTransport:
    """HTTP/1.1 to ``base_url`` (``http://127.0.0.1:8470``), keep-alive, a connection per thread."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("the relay URL is http://HOST:PORT")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def request(self, request: RelayRequest) -> RelayResponse:
        conn = self._connection()
        headers = dict(request.headers)
        if request.body:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(request.method, request.path, body=request.body or None,
                         headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise RelayUnavailableError(
                f"relay at {self.host}:{self.port} unreachable: {type(exc).__name__}") from exc
        try:
            body = strictjson.loads(data, what="the relay's answer",
                                    error=WireFormatError) if data else {}
        except WireFormatError as exc:
            return RelayResponse(502, {"error": "bad-response", "message": str(exc)})
        return RelayResponse(response.status, body if isinstance(body, dict) else {})


@dataclass(frozen=True)
class QueuedEnvelope:
    """One envelope waiting in this device's queue on the relay."""

    id: int
    envelope: bytes
    received_at: float


class RelayClient:
    """The relay API for one device: every request signed by the device's identity key."""

    def __init__(
        self,
        transport: Transport,
        address: str,
        identity: IdentityKeyPair,
        clock: Clock | None = None,
        *,
        retry_for: float = 0.0,
    ) -> None:
        self.transport = transport
        self.address = address
        self.identity = identity
        self.clock = clock or SystemClock()
        self.retry_for = retry_for

    def call(self, method: str, path: str, payload: dict | None = None) -> dict:
        """Sign and send one request; return the JSON answer or raise ``RelayError``."""
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        deadline = time.monotonic() + self.retry_for
        delay = 0.05
        while True:
            headers = sign_request(self.identity, self.address, method, path, body,
                                   self.clock.now())
            try:
                response = self.transport.request(RelayRequest(method, path, headers, body))
                break
            except RelayUnavailableError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        if response.status != 200:
            extra = {k: v for k, v in response.body.items() if k not in ("error", "message")}
            raise RelayError(response.status, str(response.body.get("error", "error")),
                             str(response.body.get("message", f"HTTP {response.status}")), extra)
        return response.body

    # -- devices ---------------------------------------------------------------------------

    def register(self, linked_by: tuple[str, IdentityKeyPair] | None = None) -> dict:
        """Register this device; a further device of an existing user needs ``linked_by``."""
        link = None
        if linked_by is not None:
            by, key = linked_by
            signature = key.sign(link_signing_input(self.address, self.identity.public))
            link = {"by": by, "signature": signature.hex()}
        return self.call("POST", "/v1/devices",
                         {"identity": self.identity.public.encode().hex(), "link": link})

    def devices(self, user: str) -> dict[str, IdentityPublic]:
        """The active devices of ``user`` and their identities, as the relay claims them.

        Each entry has an ``address``, well-formed, of ``user`` and listed once, and an
        ``identity`` whose key binding verifies; anything else is a 502
        ``bad-response`` :class:`RelayError`.
        """
        answer = self.call("GET", f"/v1/users/{user}/devices")
        devices: dict[str, IdentityPublic] = {}
        for entry in _field(answer, "devices", list):
            address = _field(entry, "address", str)
            try:
                owner = parse_address(address)[0]
                identity = IdentityPublic.decode(hex_bytes(
                    _field(entry, "identity", str), what="device identity",
                    error=HandshakeError))
            except (AddressError, HandshakeError) as exc:
                raise _bad_response(f"malformed device list: {exc}") from None
            if owner != user or address in devices:
                raise _bad_response(f"the device list of {user} lists {address} wrongly")
            devices[address] = identity
        return devices

    def remove_device(self, address: str) -> dict:
        return self.call("DELETE", f"/v1/devices/{address}")

    # -- prekeys ---------------------------------------------------------------------------

    def upload_prekeys(self, upload: PrekeyUpload) -> dict:
        return self.call("PUT", "/v1/keys", upload.to_json())

    def prekey_counts(self) -> dict:
        """``{"one_time": n, "kem_one_time": m}``: this device's prekeys left on the relay."""
        answer = self.call("GET", "/v1/keys")
        counts = {name: _field(answer, name, int) for name in ("one_time", "kem_one_time")}
        if not all(_is_id(n) for n in counts.values()):
            raise _bad_response("prekey counts are not counts")
        return counts

    def fetch_bundle(self, address: str) -> PrekeyBundle:
        """One verified prekey bundle of ``address`` (``HandshakeError`` if it fails to verify)."""
        return PrekeyBundle.from_json(self.call("GET", f"/v1/keys/{address}"))

    # -- envelopes -------------------------------------------------------------------------

    def send(self, envelopes: list[bytes], require_complete: bool = True) -> list[int]:
        """Send ``envelopes`` in one request; return the archive id of each, in order."""
        answer = self.call("POST", "/v1/messages", {
            "envelopes": [e.hex() for e in envelopes], "require_complete": require_complete})
        ids = _field(answer, "accepted", list)
        if len(ids) != len(envelopes) or not all(_is_id(i) for i in ids):
            raise _bad_response("the accepted ids do not match the envelopes sent")
        return ids

    def fetch(self, limit: int = DEFAULT_FETCH_LIMIT, wait: int = 0
              ) -> tuple[list[QueuedEnvelope], bool]:
        """Up to ``limit`` envelopes of this device's queue and whether more are waiting;
        with ``wait`` > 0 an empty queue is held open up to ``wait`` seconds (long polling)."""
        path = f"/v1/messages?limit={int(limit)}"
        if wait:
            path += f"&wait={int(wait)}"
        return _queued(self.call("GET", path))

    def sync(self, ack: list[int], limit: int = DEFAULT_FETCH_LIMIT, wait: int = 0
             ) -> tuple[list[QueuedEnvelope], bool]:
        """Acknowledge ``ack`` and fetch the next batch in one round trip (see :meth:`fetch`)."""
        return _queued(self.call("POST", "/v1/messages/sync",
                                 {"ack": list(ack), "limit": int(limit), "wait": int(wait)}))

    def ack(self, ids: list[int]) -> int:
        if not ids:
            return 0
        acknowledged = _field(self.call("POST", "/v1/messages/ack", {"ids": list(ids)}),
                               "acknowledged", int)
        if not _is_id(acknowledged):
            raise _bad_response("the acknowledged count is not a count")
        return acknowledged



def _bad_response(detail: str) -> RelayError:
    return RelayError(502, "bad-response", f"the relay sent a malformed answer: {detail}")


def _field(answer: object, name: str, kinds: type | tuple[type, ...]) -> Any:
    """Field ``name`` of a relay answer (or of an entry in one), of exactly one of the types
    ``kinds``; a string must be valid text. Answers are read this way, field by field,
    with every value used checked and other fields ignored (a newer relay may add some)."""
    if not isinstance(answer, dict):
        raise _bad_response(f"expected an object holding {name!r}")
    value = answer.get(name)
    if type(value) not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise _bad_response(f"{name!r} is missing or of the wrong type")
    if isinstance(value, str):
        try:
            strictjson.text(value, what=repr(name), error=WireFormatError)
        except WireFormatError as exc:
            raise _bad_response(str(exc)) from None
    return value


def _is_id(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_QUEUE_ID


def _queued(answer: dict) -> tuple[list[QueuedEnvelope], bool]:
    """The envelopes of a fetch or sync answer (each with ``id``, ``envelope`` and
    ``received_at``) and whether more are waiting."""
    items = []
    for entry in _field(answer, "messages", list):
        queue_id = _field(entry, "id", int)
        try:
            envelope = hex_bytes(_field(entry, "envelope", str), what="queued envelope",
                                 error=WireFormatError)
            received_at = epoch_seconds(_field(entry, "received_at", (int, float)),
                                        what="received_at", error=WireFormatError)
        except WireFormatError as exc:
            raise _bad_response(str(exc)) from None
        if not _is_id(queue_id):
            raise _bad_response("a queue id is not an integer in 0..2^63-1")
        items.append(QueuedEnvelope(queue_id, envelope, received_at))
    return items, _field(answer, "more", bool)
