"""The relay over real HTTP: ``escrowlab relay serve`` in a subprocess on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from messaging.client import Device
from messaging.identity import IdentityKeyPair
from messaging.relay import RelayArchive
from messaging.relay.schema import open_engine
from messaging.relay_protocol import sign_request
from messaging.transport import HttpTransport, RelayClient, RelayUnavailableError
from tests.relay.server import start_relay, stop_relay


@pytest.fixture
def served(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'relay.sqlite'}"
    process, url = start_relay(db_url)
    yield url, db_url
    stop_relay(process)


def _raw(url: str, method: str, path: str, body: bytes = b"", headers=None):
    transport = HttpTransport(url)
    conn = http.client.HTTPConnection(transport.host, transport.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    return response.status, data


def test_devices_chat_over_http_with_multi_device_fan_out(served):
    url, db_url = served
    transport = HttpTransport(url)
    alice = Device.create("alice", 1, transport)
    bob1 = Device.create("bob", 1, transport)
    bob2 = bob1.link_device(2)
    alice.send_text("bob", "over a real socket")
    assert [m.body for m in bob1.receive_all()] == ["over a real socket"]
    assert [m.body for m in bob2.receive_all()] == ["over a real socket"]
    bob2.send_text("alice", "reply from the laptop")
    assert [(m.sender, m.body) for m in alice.receive_all()] == \
        [("bob:2", "reply from the laptop")]
    [copy] = bob1.receive_all()
    assert copy.own_copy and copy.to == "alice"
    archive = RelayArchive(open_engine(db_url))
    assert len(archive.entries("dm:alice:bob")) == 4


def test_http_refusals_are_clear_json(served):
    url, _ = served
    status, body = _raw(url, "GET", "/v1/keys")
    assert status == 401 and "missing request authentication header" in body["message"]
    status, body = _raw(url, "POST", "/v1/messages", b"x" * (1024 * 1024 + 1))
    assert status == 413 and body["error"] == "too-large"
    status, body = _raw(url, "GET", "/nothing")
    assert status == 404


def test_replayed_http_request_is_refused(served):
    url, _ = served
    transport = HttpTransport(url)
    identity = IdentityKeyPair.generate()
    client = RelayClient(transport, "erin:1", identity)
    client.register()
    headers = sign_request(identity, "erin:1", "GET", "/v1/keys", b"", time.time())
    first = _raw(url, "GET", "/v1/keys", headers=headers)
    second = _raw(url, "GET", "/v1/keys", headers=headers)
    assert first[0] == 200
    assert second == (401, {"error": "replayed",
                            "message": "replayed request: this nonce was already used"})


def test_unreachable_relay_is_a_clear_error():
    client = RelayClient(HttpTransport("http://127.0.0.1:9"), "a:1", IdentityKeyPair.generate())
    with pytest.raises(RelayUnavailableError, match="unreachable"):
        client.prekey_counts()
