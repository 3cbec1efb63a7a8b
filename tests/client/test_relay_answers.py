"""The relay is untrusted: a malformed answer is a ``bad-response`` RelayError, nothing else."""

from __future__ import annotations

import http.server
import threading

import pytest

from messaging.clock import ManualClock
from messaging.identity import IdentityKeyPair
from messaging.outbox import _mismatched_users
from messaging.relay_protocol import RelayError, RelayResponse
from messaging.transport import HttpTransport, RelayClient

IDENTITY = IdentityKeyPair.generate()
GOOD_IDENTITY = IdentityKeyPair.generate().public.encode().hex()


class Canned:
    """A transport that answers every request with one canned body."""

    def __init__(self, body, status: int = 200) -> None:
        self.body, self.status = body, status

    def request(self, request) -> RelayResponse:
        return RelayResponse(self.status, self.body)


def _client(body) -> RelayClient:
    return RelayClient(Canned(body), "bob:1", IDENTITY, ManualClock())


def _message(**changes):
    return {"id": 1, "envelope": "00ff", "received_at": 1_700_000_000.0, **changes}


BAD_FETCHES = [
    {}, {"messages": None, "more": False}, {"messages": [], "more": 0},
    {"messages": [_message(id="1")], "more": False},
    {"messages": [_message(id=True)], "more": False},
    {"messages": [_message(id=-1)], "more": False},
    {"messages": [_message(id=2**63)], "more": False},
    {"messages": [_message(envelope="00FF")], "more": False},
    {"messages": [_message(envelope="0 0")], "more": False},
    {"messages": [_message(envelope=7)], "more": False},
    {"messages": [_message(received_at=10**400)], "more": False},
    {"messages": [_message(received_at=True)], "more": False},
    {"messages": [_message(received_at=float("nan"))], "more": False},
    {"messages": ["x"], "more": False},
]


@pytest.mark.parametrize("body", BAD_FETCHES, ids=range(len(BAD_FETCHES)))
def test_a_malformed_fetch_answer_is_a_bad_response(body):
    with pytest.raises(RelayError) as caught:
        _client(body).fetch()
    assert caught.value.code == "bad-response"
    with pytest.raises(RelayError, match="malformed"):
        _client(body).sync([1])


def test_a_well_formed_fetch_answer_is_read_and_fields_a_newer_relay_adds_are_ignored():
    [item], more = _client({"messages": [_message()], "more": True}).fetch()
    assert (item.id, item.envelope, item.received_at, more) == (1, b"\x00\xff", 1.7e9, True)
    [item], _ = _client({"messages": [_message(handle="h")], "more": False, "x": 1}).fetch()
    assert item.id == 1
    devices = _client({"devices": [{"address": "bob:1", "identity": GOOD_IDENTITY,
                                    "since": 1}]}).devices("bob")
    assert list(devices) == ["bob:1"]


@pytest.mark.parametrize("devices", [
    None, [{"address": "bob:1"}], [{"address": "bob:1", "identity": "00"}],
    [{"address": "bo\ud800b:1", "identity": GOOD_IDENTITY}],
    [{"address": "Bob:1", "identity": GOOD_IDENTITY}],
    [{"address": "carol:1", "identity": GOOD_IDENTITY}],  # another user's device
    [{"address": "bob:1", "identity": GOOD_IDENTITY.upper()}],
    [{"address": "bob:1", "identity": GOOD_IDENTITY}] * 2,
], ids=range(8))
def test_a_malformed_device_list_is_a_bad_response(devices):
    with pytest.raises(RelayError, match="malformed"):
        _client({"user": "bob", "devices": devices}).devices("bob")


@pytest.mark.parametrize(("method", "body"), [
    (lambda c: c.send([b"e"]), {"accepted": [1, 2]}),
    (lambda c: c.send([b"e"]), {"accepted": ["1"]}),
    (lambda c: c.send([b"e"]), {}),
    (lambda c: c.ack([1]), {"acknowledged": True}),
    (lambda c: c.ack([1]), {"acknowledged": -1}),
    (lambda c: c.prekey_counts(), {"one_time": 1}),
    (lambda c: c.prekey_counts(), {"one_time": 1.0, "kem_one_time": 1}),
    (lambda c: c.fetch(), {"messages": [_message(envelope="\ud800")], "more": False}),
], ids=range(8))
def test_other_malformed_answers_are_bad_responses(method, body):
    with pytest.raises(RelayError, match="malformed"):
        method(_client(body))


@pytest.mark.parametrize("extra", [{}, {"devices": ["bob"]}, {"devices": {"Bob": []}},
                                   {"devices": {"b\ud800": []}}, {"devices": {}}])
def test_a_malformed_device_list_mismatch_is_a_bad_response(extra):
    refusal = RelayError(409, "device-list-mismatch", "changed", extra)
    with pytest.raises(RelayError) as caught:
        _mismatched_users(refusal)
    assert caught.value.code == "bad-response"


class _Canned(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("body", [
    b'{"messages":[],"more":' + b"9" * 5000 + b"}", b"[" * 100_000, b'{"a":1,"a":2}',
    b'{"error":"\\ud800"}', b"\xff", b"not json", b'{"messages":[],"more":NaN}',
], ids=["5000 digits", "deep", "duplicate", "surrogate", "not UTF-8", "not JSON", "NaN"])
def test_an_http_answer_that_is_not_strict_json_is_a_bad_response(body):
    handler = type("Handler", (_Canned,), {"body": body})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        transport = HttpTransport(f"http://127.0.0.1:{server.server_port}", timeout=5)
        client = RelayClient(transport, "bob:1", IDENTITY, ManualClock())
        with pytest.raises(RelayError) as caught:
            client.fetch()
        assert caught.value.code == "bad-response"
        transport.close()
    finally:
        server.shutdown()
        server.server_close()
