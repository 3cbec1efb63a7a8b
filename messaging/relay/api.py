"""The relay's request protocol, independent of HTTP: authenticate, route, answer JSON.

Both the Flask blueprint (:mod:`messaging.relay.app`) and the in-process
transport (:mod:`messaging.relay.inprocess`) hand a
:class:`~messaging.relay_protocol.RelayRequest` to :func:`dispatch`, so the
in-process relay enforces exactly what the HTTP relay does. Routes (all
requests signed, see :mod:`messaging.relay.auth`)::

    POST   /v1/devices                 {"identity", "link": null | {"by", "signature"}}
    GET    /v1/users/<user>/devices    the user's active devices and identities
    DELETE /v1/devices/<address>       remove a device of the caller's own user
    PUT    /v1/keys                    a PrekeyUpload (publish or replenish)
    GET    /v1/keys                    the caller's remaining one-time prekeys on the relay
    GET    /v1/keys/<address>          one PrekeyBundle (one-time prekeys handed out once)
    POST   /v1/messages                {"envelopes": [hex, ...], "require_complete": bool}
    GET    /v1/messages?limit=N&wait=S the caller's own queue, oldest first; with S > 0
                                       an empty queue is held open up to S seconds
    POST   /v1/messages/ack            {"ids": [int, ...]}
    POST   /v1/messages/sync           {"ack": [int, ...], "limit": N, "wait": S}: acknowledge,
                                       then fetch as above (one round trip per batch)

Order of checks: body size (413), authentication headers and freshness (401),
the route (404 for an unknown path, 405 for a known path with another
method), then in one transaction: signature (401), nonce replay (401), the
body (400), the operation. A body is parsed only once its signature verified,
except registration's, which carries the key that signs it: that one is parsed
first, by the same strict parser. Bodies are JSON read by :func:`strictjson.loads`
(bounded depth and integer digits, no duplicate names, no lone surrogates,
UTF-8 only) and checked field by field with exact types (``true`` is not an
integer). Any refusal rolls the transaction back: nothing is stored.
Every answer, refusals included, is a JSON object (docs/relay.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import strictjson
from messaging.errors import HandshakeError
from messaging.identity import SIGNATURE_LENGTH, IdentityPublic
from messaging.limits import MAX_ADDRESS_LENGTH, MAX_LIMIT_DIGITS, MAX_WAIT_DIGITS
from messaging.prekey_records import PrekeyUpload
from messaging.relay.auth import RequestAuth, check_fresh, check_signature, parse_auth_headers
from messaging.relay.errors import bad_request, not_found, too_large, unauthorized
from messaging.relay.service import RelayService
from messaging.relay_protocol import RelayError, RelayRequest, RelayResponse

_USER_DEVICES = re.compile(r"/v1/users/([^/]+)/devices")
_DEVICE = re.compile(r"/v1/devices/([^/]+)")
_KEYS_FOR = re.compile(r"/v1/keys/([^/]+)")
_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() also accepts '²' and '٣', which int() refuses
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1  # what the database's INTEGER column holds


def dispatch(service: RelayService, request: RelayRequest) -> RelayResponse:
    """Answer one request; every refusal is a :class:`RelayResponse` with the error JSON."""
    try:
        with service.admission:
            return RelayResponse(200, _handle(service, request))
    except RelayError as exc:
        return RelayResponse(exc.status, exc.to_json())


def _handle(service: RelayService, request: RelayRequest) -> dict:
    method = request.method.upper()
    body = request.body
    if len(body) > service.limits.max_request_bytes:
        raise too_large(f"request body exceeds {service.limits.max_request_bytes} bytes")
    auth = parse_auth_headers(request.headers)
    check_fresh(auth, service.clock.now(), service.limits.clock_skew)
    split = urlsplit(request.path)
    route = split.path
    query = parse_qs(split.query, strict_parsing=False)

    if method == "POST" and route == "/v1/devices":
        identity, linked_by, signature = _registration(body)
        with service.transaction(admitted=True) as conn:
            _authenticate(service, conn, auth, identity, method, request.path, body)
            return service.register_device(conn, auth.address, identity, linked_by, signature)

    endpoint = _route(method, route, query, service.limits.max_poll_wait)
    version = service.queue_version(auth.address)
    with service.transaction(admitted=True) as conn:
        identity = service.device_identity(conn, auth.address)
        if identity is None:
            raise unauthorized(f"unknown device {auth.address!r}: register it first")
        _authenticate(service, conn, auth, identity, method, request.path, body)
        operation = endpoint(body)
        result = operation.run(service, conn, auth.address)
    if operation.wait and not result["messages"]:
        service.admission.release()  # a waiting fetch does not count against admission
        try:
            arrived = service.wait_for_queue(auth.address, version, operation.wait)
        finally:
            service.admission.acquire()
        if arrived and len(arrived) <= operation.limit and \
                sum(len(m["envelope"]) for m in arrived) <= 2 * service.limits.max_fetch_bytes:
            result = {"messages": arrived, "more": False}
        elif arrived is not None:
            with service.transaction(admitted=True) as conn:
                result = operation.refetch(service, conn, auth.address)
    return result


@dataclass(frozen=True)
class _Operation:
    """A parsed request, ready to run inside a transaction.

    A queue fetch with ``wait`` > 0 that finds nothing is held open until an
    envelope is queued for the caller (or ``wait`` seconds pass); it answers
    with the envelopes committed meanwhile (at most ``limit``), or runs
    ``refetch`` in a new transaction when it cannot know them all.
    """

    run: Callable
    wait: float = 0.0
    refetch: Callable | None = None
    limit: int = 0


_Endpoint = Callable[[bytes], _Operation]
"""Parses an authenticated request's body into the operation to run."""

ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/v1/devices"),
    ("GET", "/v1/users/<user>/devices"),
    ("DELETE", "/v1/devices/<address>"),
    ("PUT", "/v1/keys"),
    ("GET", "/v1/keys"),
    ("GET", "/v1/keys/<address>"),
    ("POST", "/v1/messages"),
    ("GET", "/v1/messages"),
    ("POST", "/v1/messages/ack"),
    ("POST", "/v1/messages/sync"),
)
"""Every (method, path) of the API, for 405 answers and docs/relay.md."""


def _authenticate(service, conn, auth: RequestAuth, identity, method, path, body) -> None:
    check_signature(identity, auth, method, path, body)
    service.remember_nonce(conn, auth.address, auth.nonce)


def _route(method: str, route: str, query: dict, max_wait: float) -> _Endpoint:
    """Find the endpoint (the query is read here, the body only once authenticated)."""
    if method == "GET" and (m := _USER_DEVICES.fullmatch(route)):
        user = m.group(1)
        return _no_body(lambda s, c, caller: s.list_devices(c, user))
    if method == "DELETE" and (m := _DEVICE.fullmatch(route)):
        address = m.group(1)
        return _no_body(lambda s, c, caller: s.remove_device(c, caller, address))
    if method == "PUT" and route == "/v1/keys":
        return _upload
    if method == "GET" and route == "/v1/keys":
        return _no_body(lambda s, c, caller: s.prekey_counts(c, caller))
    if method == "GET" and (m := _KEYS_FOR.fullmatch(route)):
        address = m.group(1)
        return _no_body(lambda s, c, caller: s.fetch_bundle(c, caller, address))
    if method == "POST" and route == "/v1/messages":
        return _send
    if method == "GET" and route == "/v1/messages":
        limit = _limit(query.get("limit", ["100"]))
        wait = _wait(query.get("wait", ["0"]), max_wait)
        fetch = lambda s, c, caller: s.fetch_queue(c, caller, limit)  # noqa: E731
        operation = _Operation(fetch, wait, fetch, limit)
        return lambda body: _empty(body) or operation
    if method == "POST" and route == "/v1/messages/sync":
        return lambda body: _sync(body, max_wait)
    if method == "POST" and route == "/v1/messages/ack":
        return _ack
    allowed = _methods_of(route)
    shown = route if len(route) <= 100 else route[:100] + "..."  # never echo a long input
    if allowed:
        raise RelayError(405, "method-not-allowed",
                         f"{method[:16]} is not allowed on {shown} (allowed: "
                         f"{', '.join(allowed)})", {"allow": allowed})
    raise not_found(f"no route {method[:16]} {shown}")


def _methods_of(route: str) -> list[str]:
    """The methods the API serves on ``route`` (empty: an unknown path)."""
    patterns = {"<user>": "[^/]+", "<address>": "[^/]+"}
    allowed = []
    for method, template in ROUTES:
        pattern = re.escape(template)
        for name, part in patterns.items():
            pattern = pattern.replace(re.escape(name), part)
        if re.fullmatch(pattern, route) and method not in allowed:
            allowed.append(method)
    return allowed


def _no_body(run: Callable) -> _Endpoint:
    operation = _Operation(run)
    return lambda body: _empty(body) or operation


def _registration(body: bytes) -> tuple[IdentityPublic, str | None, bytes | None]:
    data = _json(body, required={"identity": str}, optional={"link": (dict, type(None))},
                 what="registration")
    identity = _identity(data["identity"])
    link = data.get("link")
    if link is None:
        return identity, None, None
    link = _fields(link, required={"by": str, "signature": str}, what="link")
    return identity, _address(link["by"], "link.by"), _hex(link["signature"], "link.signature",
                                                         SIGNATURE_LENGTH)


def _upload(body: bytes) -> _Operation:
    try:
        upload = PrekeyUpload.from_json(_json_object(body, "prekey upload"))
    except HandshakeError as exc:
        raise bad_request(f"malformed prekey upload: {exc}") from exc
    return _Operation(lambda s, c, caller: s.upload_prekeys(c, caller, upload))


def _send(body: bytes) -> _Operation:
    data = _json(body, required={"envelopes": list}, optional={"require_complete": bool},
                 what="send")
    envelopes = [_hex(e, "envelope") for e in data["envelopes"]]
    complete = data.get("require_complete", True)
    return _Operation(lambda s, c, caller: s.send(c, caller, envelopes, complete))


def _sync(body: bytes, max_wait: float) -> _Operation:
    data = _json(body, required={"ack": list, "limit": int, "wait": int}, what="sync")
    ids = _ids(data["ack"])
    limit = _limit([str(data["limit"])])
    wait = _wait([str(data["wait"])], max_wait)

    def sync(s, c, caller):
        s.acknowledge(c, caller, ids)
        return s.fetch_queue(c, caller, limit)

    return _Operation(sync, wait, lambda s, c, caller: s.fetch_queue(c, caller, limit), limit)


def _ack(body: bytes) -> _Operation:
    ids = _ids(_json(body, required={"ids": list}, what="acknowledgement")["ids"])
    return _Operation(lambda s, c, caller: s.acknowledge(c, caller, ids))


def _ids(ids: list) -> list[int]:
    if not all(type(i) is int and _INT64_MIN <= i <= _INT64_MAX for i in ids):
        raise bad_request("acknowledged ids are a list of 64-bit integers")
    return ids


def _wait(values: list[str], maximum: float) -> float:
    if len(values) != 1 or not _DIGITS.fullmatch(values[0]) or \
            len(values[0]) > MAX_WAIT_DIGITS:
        raise bad_request("'wait' is a whole number of seconds")
    return min(float(values[0]), maximum)


def _limit(values: list[str]) -> int:
    if len(values) != 1 or not _DIGITS.fullmatch(values[0]) or \
            len(values[0]) > MAX_LIMIT_DIGITS:
        raise bad_request("'limit' is a positive integer")
    return int(values[0])


def _empty(body: bytes) -> None:
    if body:
        raise bad_request("this request takes no body")


class _BodyError(RelayError):
    """A malformed request body: the relay's 400, raised by :mod:`strictjson`'s checks."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "bad-request", message)


def _json_object(body: bytes, what: str) -> dict:
    data = strictjson.loads(body, what=f"the {what} body", error=_BodyError)
    if not isinstance(data, dict):
        raise bad_request(f"the {what} body must be a JSON object")
    return data


def _json(body: bytes, required: dict, optional: dict | None = None, *, what: str) -> dict:
    return _fields(_json_object(body, what), required, optional, what=what)


def _fields(data: object, required: dict, optional: dict | None = None, *,
            what: str) -> dict:
    return strictjson.fields(data, required, optional, what=what, error=_BodyError)


def _address(value: str, name: str) -> str:
    if len(value) > MAX_ADDRESS_LENGTH:
        raise bad_request(f"'{name}' is at most {MAX_ADDRESS_LENGTH} characters")
    return value


def _hex(value: object, name: str, length: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise bad_request(f"'{name}' is a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise bad_request(f"'{name}' is not valid hex") from exc
    if length is not None and len(raw) != length:
        raise bad_request(f"'{name}' is {length} bytes")
    return raw


def _identity(value: str) -> IdentityPublic:
    try:
        return IdentityPublic.decode(_hex(value, "identity"))
    except HandshakeError as exc:
        raise bad_request(f"malformed identity key: {exc}") from exc
