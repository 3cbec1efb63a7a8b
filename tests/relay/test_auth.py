"""Every relay request is signed by the device's identity key; stale and replayed ones fail."""

from __future__ import annotations

import dataclasses

from messaging.identity import IdentityKeyPair
from messaging.relay.auth import HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP
from tests.relay.helpers import call, signed, table_counts


def test_a_correctly_signed_request_is_answered(relay, register):
    alice = register("alice:1")
    response = call(relay, signed(relay, alice.identity, "alice:1", "GET", "/v1/keys"))
    assert response.status == 200
    assert response.body == {"one_time": 3, "kem_one_time": 2}


def test_unsigned_request_is_refused(relay, register):
    register("alice:1")
    request = signed(relay, IdentityKeyPair.generate(), "alice:1", "GET", "/v1/keys")
    bare = dataclasses.replace(request, headers={})
    response = call(relay, bare)
    assert response.status == 401
    assert "missing request authentication header" in response.body["message"]


def test_signature_by_another_key_is_refused_and_stores_nothing(relay, register):
    register("alice:1")
    before = table_counts(relay)
    mallory = IdentityKeyPair.generate()
    response = call(relay, signed(relay, mallory, "alice:1", "GET", "/v1/messages?limit=5"))
    assert response.status == 401
    assert "does not verify" in response.body["message"]
    assert table_counts(relay) == before


def test_tampered_body_path_or_timestamp_breaks_the_signature(relay, register):
    alice = register("alice:1")
    register("bob:1")
    request = signed(relay, alice.identity, "alice:1", "POST", "/v1/messages/ack", {"ids": [1]})
    for tampered in (
        dataclasses.replace(request, body=b'{"ids": [2]}'),
        dataclasses.replace(request, path="/v1/messages/ack?x=1"),
        dataclasses.replace(request, method="GET", path="/v1/keys", body=b""),
        dataclasses.replace(request, headers={**request.headers, HEADER_TIMESTAMP:
                                              str(int(request.headers[HEADER_TIMESTAMP]) + 1)}),
    ):
        response = call(relay, tampered)
        assert response.status == 401, tampered
        assert "does not verify" in response.body["message"]


def test_stale_requests_are_refused_both_ways(relay, register, clock):
    alice = register("alice:1")
    before = table_counts(relay)
    for skew in (-301, 301):
        request = signed(relay, alice.identity, "alice:1", "GET", "/v1/keys",
                         now=clock.now() + skew)
        response = call(relay, request)
        assert response.status == 401
        assert "stale request" in response.body["message"]
    assert table_counts(relay) == before


def test_replayed_request_is_refused_and_changes_nothing(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    from tests.relay.helpers import session_to

    envelope = session_to(alice, bob).encrypt(b"once")
    request = signed(relay, alice.identity, "alice:1", "POST", "/v1/messages",
                     {"envelopes": [envelope.hex()]})
    assert call(relay, request).status == 200
    before = table_counts(relay)
    replay = call(relay, request)
    assert replay.status == 401
    assert replay.body["error"] == "replayed"
    assert table_counts(relay) == before
    assert len(relay.archive.entries()) == 1


def test_malformed_auth_headers_are_refused(relay, register):
    alice = register("alice:1")
    request = signed(relay, alice.identity, "alice:1", "GET", "/v1/keys")
    for name, value in ((HEADER_NONCE, "zz"), (HEADER_SIGNATURE, "00"),
                        (HEADER_TIMESTAMP, "-5")):
        response = call(relay, dataclasses.replace(request,
                                                   headers={**request.headers, name: value}))
        assert response.status == 401


def test_unknown_device_is_refused(relay):
    stranger = IdentityKeyPair.generate()
    response = call(relay, signed(relay, stranger, "zed:1", "GET", "/v1/keys"))
    assert response.status == 401
    assert "unknown device" in response.body["message"]


def test_a_device_reads_and_acknowledges_only_its_own_queue(relay, register):
    from tests.relay.helpers import session_to

    alice = register("alice:1")
    bob = register("bob:1")
    carol = register("carol:1")
    alice.client.send([session_to(alice, bob).encrypt(b"for bob")])
    items, _ = carol.client.fetch()
    assert items == []
    bob_items, _ = bob.client.fetch()
    assert len(bob_items) == 1
    assert carol.client.ack([bob_items[0].id]) == 0
    assert len(bob.client.fetch()[0]) == 1
    assert bob.client.ack([bob_items[0].id]) == 1
    assert bob.client.fetch()[0] == []


def test_old_nonces_are_purged_but_a_fresh_replay_is_still_refused(relay, register, clock):
    from sqlalchemy import select

    from messaging.relay import schema

    alice = register("alice:1")
    relay.purge_every = 1
    clock.advance(2 * relay.limits.clock_skew + 1)
    request = signed(relay, alice.identity, "alice:1", "GET", "/v1/keys")
    assert call(relay, request).status == 200
    with relay.engine.connect() as conn:
        remaining = conn.execute(select(schema.nonces.c.nonce)).scalars().all()
    assert remaining == [request.headers[HEADER_NONCE]]
    assert call(relay, request).body["error"] == "replayed"
