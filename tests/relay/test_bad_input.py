"""Hostile request bodies and queries: each a clear 4xx JSON error, nothing stored."""

from __future__ import annotations

import json

import pytest

from messaging.identity import IdentityKeyPair
from messaging.relay.app import create_relay_app
from tests.relay.helpers import call, signed, table_counts


@pytest.mark.parametrize("path, body", [
    ("/v1/messages/ack", b"[" * 30_000),
    ("/v1/messages/ack", b'{"ids": ' + b"[" * 30_000),
    ("/v1/messages", b'{"envelopes": ' + b'{"a":' * 10_000),
])
def test_json_nested_past_the_parser_stack_is_400(relay, register, path, body):
    alice = register("alice:1")
    before = table_counts(relay)
    response = call(relay, signed(relay, alice.identity, "alice:1", "POST", path, body))
    assert response.status == 400 and "nested deeper than" in response.body["message"]
    assert table_counts(relay) == before


@pytest.mark.parametrize("ids", [[2**63], [-(2**63) - 1], [2**70, 1]])
def test_acknowledged_ids_outside_64_bits_are_400(relay, register, ids):
    alice = register("alice:1")
    for path, payload in (("/v1/messages/ack", {"ids": ids}),
                          ("/v1/messages/sync", {"ack": ids, "limit": 1, "wait": 0})):
        response = call(relay, signed(relay, alice.identity, "alice:1", "POST", path, payload))
        assert response.status == 400 and "integers" in response.body["message"], path


@pytest.mark.parametrize("query", ["limit=%C2%B2", "limit=\u00b2", "wait=\u0663",
                                   "limit=\uff11"])
def test_non_ascii_digits_in_the_query_are_400(relay, register, query):
    alice = register("alice:1")
    response = call(relay, signed(relay, alice.identity, "alice:1", "GET",
                                  f"/v1/messages?{query}"))
    assert response.status == 400


@pytest.mark.parametrize("field, value", [("limit", "\u00b2"), ("wait", "\u0663")])
def test_non_ascii_digits_in_a_sync_body_are_400(relay, register, field, value):
    alice = register("alice:1")
    payload = {"ack": [], "limit": 1, "wait": 0, field: value}
    response = call(relay, signed(relay, alice.identity, "alice:1", "POST",
                                  "/v1/messages/sync", payload))
    assert response.status == 400 and f"'{field}'" in response.body["message"]


def test_an_unexpected_failure_is_a_json_500_without_details(relay, monkeypatch):
    def explode(_service, _request):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("messaging.relay.app.dispatch", explode)
    app = create_relay_app(relay)
    response = app.test_client().get("/v1/keys")
    assert response.status_code == 500
    assert response.is_json
    body = json.loads(response.data)
    assert body["error"] == "internal" and "secret" not in response.data.decode()


def test_a_percent_escaped_path_is_checked_as_signed_and_refused_for_what_it_is(relay, register):
    alice = register("alice:1")
    register("bob:1")
    client = create_relay_app(relay).test_client()
    for path, status, words in (("/v1/keys/bob%3A1", 400, "an address is"),
                                ("/v1/users/b%6Fb/devices", 400, "user name")):
        request = signed(relay, alice.identity, "alice:1", "GET", path)
        response = client.get(path, headers=dict(request.headers))
        assert response.status_code == status, (path, response.data)
        assert words in json.loads(response.data)["message"]


def test_an_overlong_address_header_is_refused_without_echoing_it(relay, register):
    register("alice:1")
    identity = IdentityKeyPair.generate()
    response = call(relay, signed(relay, identity, "a" * 5000, "GET", "/v1/keys"))
    assert response.status == 401 and len(response.body["message"]) < 100
