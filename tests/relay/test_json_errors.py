"""Every answer of the relay is a JSON API answer, and hostile bodies are clean 4xx refusals.

Flask and Werkzeug answer some requests themselves (automatic ``OPTIONS``,
slash-merging 308 redirects, HTML 400 for a malformed ``Host``, 404, 405,
413, 500); the relay answers them all as ``{"error", "message"}`` JSON
(docs/relay.md, "Errors"). Request bodies are parsed by :mod:`strictjson`
after the signature verified: huge integers, deep nesting, lone surrogates,
duplicate names, non-UTF-8 and wrong types (``true`` for an integer) in every
endpoint's body are a 4xx JSON answer that stores nothing and logs no traceback.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time

import pytest

from messaging.identity import IdentityKeyPair
from messaging.relay.app import create_relay_app
from messaging.relay_protocol import sign_request
from tests.relay.helpers import call, signed, table_counts
from tests.relay.server import start_relay

HUGE = b"1" * 5000  # over Python's 4,300-digit int() limit: was a 500 with a traceback
DEEP = b"[" * 100_000 + b"]" * 100_000

# (method, path, a well-formed body) of every endpoint that takes a body
BODIES = {
    ("POST", "/v1/devices"): b'{"identity": "00", "link": null}',
    ("PUT", "/v1/keys"): b'{"identity": "00", "mode": "none"}',
    ("POST", "/v1/messages"): b'{"envelopes": [], "require_complete": true}',
    ("POST", "/v1/messages/ack"): b'{"ids": [1]}',
    ("POST", "/v1/messages/sync"): b'{"ack": [1], "limit": 1, "wait": 0}',
}
HOSTILE = {
    "huge int": lambda good: good[:-1] + b', "n": ' + HUGE + b"}",
    "huge int in a list": lambda good: b'{"ids": [' + HUGE + b"]}",
    "deep nesting": lambda good: b'{"ids": ' + DEEP + b"}",
    "nesting past the bound": lambda good: b'{"ids": ' + b"[" * 40 + b"]" * 40 + b"}",
    "lone surrogate": lambda good: good[:-1] + b', "\\ud800": 1}',
    "lone surrogate value": lambda good: b'{"identity": "\\udc00", "link": null}',
    "duplicate names": lambda good: good[:-1] + b", " + good[1:],
    "not UTF-8": lambda good: good[:-1] + b', "\xff\xfe": 1}',
    "not an object": lambda good: b"[" + good + b"]",
    "NaN": lambda good: b'{"ids": [NaN]}',
}
WRONG_TYPES = {
    ("POST", "/v1/devices"): [b'{"identity": true, "link": null}',
                              b'{"identity": "00", "link": {"by": 1, "signature": "00"}}'],
    ("PUT", "/v1/keys"): [b'{"identity": "00", "mode": "none", "signed_prekey": {"id": true}}'],
    ("POST", "/v1/messages"): [b'{"envelopes": [], "require_complete": 1}',
                               b'{"envelopes": [true]}', b'{"envelopes": "00"}'],
    ("POST", "/v1/messages/ack"): [b'{"ids": [true]}', b'{"ids": [1.0]}', b'{"ids": 1}'],
    ("POST", "/v1/messages/sync"): [b'{"ack": [], "limit": true, "wait": 0}',
                                    b'{"ack": [], "limit": 1.0, "wait": 0}',
                                    b'{"ack": [], "limit": 1, "wait": false}',
                                    b'{"ack": [false], "limit": 1, "wait": 0}'],
}
CASES = [(endpoint, name, make(good)) for endpoint, good in BODIES.items()
         for name, make in HOSTILE.items()] + \
        [(endpoint, "wrong type", body) for endpoint, bodies in WRONG_TYPES.items()
         for body in bodies]


@pytest.fixture
def app_client(relay):
    return create_relay_app(relay).test_client()


def _signed_headers(relay, party, method, path, body):
    return dict(signed(relay, party.identity, party.address, method, path, body).headers)


@pytest.mark.parametrize("endpoint, name, body", CASES,
                         ids=[f"{m} {p} {n}" for (m, p), n, _ in CASES])
def test_a_hostile_body_is_a_4xx_json_answer_storing_nothing_and_logging_nothing(
        relay, register, app_client, caplog, endpoint, name, body):
    alice = register("alice:1")
    method, path = endpoint
    if path == "/v1/devices":  # registration is signed by the key its body carries
        newcomer = IdentityKeyPair.generate()
        headers = dict(signed(relay, newcomer, "zed:1", method, path, body).headers)
    else:
        headers = _signed_headers(relay, alice, method, path, body)
    before = table_counts(relay)
    with caplog.at_level(logging.DEBUG):
        response = app_client.open(path, method=method, data=body, headers=headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.data[:200])
    assert response.is_json and set(response.get_json()) >= {"error", "message"}
    assert table_counts(relay) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("method, path", [("GET", "/v1/keys"), ("GET", "/v1/keys/alice:1"),
                                          ("GET", "/v1/users/alice/devices"),
                                          ("GET", "/v1/messages"),
                                          ("DELETE", "/v1/devices/alice:1")])
def test_a_body_on_an_endpoint_without_one_is_400(relay, register, method, path):
    alice = register("alice:1")
    before = table_counts(relay)
    response = call(relay, signed(relay, alice.identity, "alice:1", method, path,
                                  b'{"n": ' + HUGE + b"}"))
    assert response.status == 400 and "takes no body" in response.body["message"]
    assert table_counts(relay) == before


@pytest.mark.parametrize("path", ["/v1/messages/ack", "/v1/messages/sync", "/v1/messages",
                                  "/v1/keys"])
def test_a_body_is_not_parsed_before_its_signature_verified(relay, register, path):
    register("alice:1")
    method = "PUT" if path == "/v1/keys" else "POST"
    forged = signed(relay, IdentityKeyPair.generate(), "alice:1", method, path,
                    b'{"ids": [' + HUGE + b"]}")
    response = call(relay, forged)
    assert response.status == 401 and "does not verify" in response.body["message"]


def test_a_known_path_with_another_method_is_405_with_the_allowed_methods(relay, register):
    alice = register("alice:1")
    response = call(relay, signed(relay, alice.identity, "alice:1", "PATCH", "/v1/keys"))
    assert response.status == 405
    assert response.body["allow"] == ["PUT", "GET"]


@pytest.mark.parametrize("method, path, headers, status", [
    ("OPTIONS", "/v1/keys", {}, 405),               # Flask's automatic OPTIONS: empty 200
    ("OPTIONS", "/healthz", {}, 405),
    ("GET", "/v1//keys", {}, 404),                  # Werkzeug's slash merging: HTML 308
    ("GET", "//healthz", {}, 404),
    ("GET", "/healthz", {"Host": "a" * 70}, 400),   # IDNA-invalid Host: HTML 400
    ("GET", "/nothing", {}, 404),
    ("POST", "/healthz", {}, 405),
    ("POST", "/v1/messages", {"Content-Length": str(64 * 1024 + 1)}, 413),
])
def test_flask_s_own_answers_are_json(app_client, method, path, headers, status):
    body = b"x" * int(headers.get("Content-Length", 0))
    response = app_client.open(path, method=method, headers=headers, data=body or None)
    assert response.status_code == status
    assert response.is_json, response.data[:100]
    assert set(response.get_json()) == {"error", "message"}
    if status == 405:
        assert response.headers["Allow"]


WAITRESS_ANSWERS = [
    (b"GET /v1/keys HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    (b"BROKEN\r\n\r\n", 400),
    (b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b"GET /v1/keys HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n", 431),
]


def _raw(port: int, method: str, path: str, host: str | None = None, body: bytes = b"",
         headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
    if host is not None:
        conn.putheader("Host", host)
    for name, value in {**(headers or {}), "Content-Length": str(len(body))}.items():
        conn.putheader(name, value)
    conn.endheaders(body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type"), data


def test_over_http_every_answer_is_json_and_hostile_bodies_log_no_traceback(tmp_path):
    process, url = start_relay(f"sqlite:///{tmp_path / 'relay.sqlite'}")
    port = int(url.rsplit(":", 1)[1])
    try:
        for method, path, host, status in (("OPTIONS", "/v1/keys", None, 405),
                                           ("GET", "/v1//keys", None, 404),
                                           ("GET", "/healthz", "a" * 70, 400),
                                           ("GET", "/nothing", None, 404),
                                           ("DELETE", "/healthz", None, 405)):
            got, content_type, data = _raw(port, method, path, host)
            assert (got, content_type) == (status, "application/json"), (path, data[:100])
            assert set(json.loads(data)) == {"error", "message"}
        identity = IdentityKeyPair.generate()
        for path, body in (("/v1/devices", b'{"identity": ' + HUGE + b"}"),
                           ("/v1/messages/ack", b'{"ids": [' + HUGE + b"]}"),
                           ("/v1/devices", b'{"identity": "\\ud800", "link": null}')):
            headers = sign_request(identity, "zed:1", "POST", path, body, time.time())
            got, content_type, data = _raw(port, "POST", path, body=body, headers=headers)
            assert 400 <= got < 500 and content_type == "application/json", data[:200]
        for request, status in WAITRESS_ANSWERS:  # docs/relay.md: plain text, from waitress
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                raw.sendall(request)
                answer = raw.recv(65536)
            assert answer.split(b" ", 2)[1] == b"%d" % status, answer[:100]
            assert b"Content-Type: text/plain" in answer
    finally:
        process.kill()
        process.wait(timeout=10)
        stderr = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert "Traceback" not in stderr and "ValueError" not in stderr, stderr[-2000:]


@pytest.mark.parametrize("where, value", [("one_time", True), ("one_time", 1.0),
                                          ("signed", False), ("kem", 2**64),
                                          ("one_time", "3")])
def test_a_prekey_upload_with_a_mistyped_key_id_is_400_and_stores_nothing(
        relay, register, where, value):
    bob = register("bob:1", upload=False)
    upload = bob.prekeys.upload().to_json()
    target = {"one_time": upload["one_time_prekeys"][0], "kem": upload["kem_prekeys"][0],
              "signed": upload["signed_prekey"]}[where]
    target["id"] = value
    before = table_counts(relay)
    response = call(relay, signed(relay, bob.identity, "bob:1", "PUT", "/v1/keys", upload))
    message = response.body["message"]
    assert response.status == 400 and "prekey" in message and "id" in message, message
    assert table_counts(relay) == before
