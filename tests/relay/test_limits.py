"""Limits: each exceeded limit gets a clear HTTP error and changes nothing."""

from __future__ import annotations

import pytest

from messaging.relay import RelayError
from tests.relay.helpers import call, refused, session_to, signed, table_counts


def test_oversized_body_is_413_before_anything(relay, register):
    alice = register("alice:1")
    before = table_counts(relay)
    body = b"x" * (relay.limits.max_request_bytes + 1)
    response = call(relay, signed(relay, alice.identity, "alice:1", "POST", "/v1/messages", body))
    assert response.status == 413
    assert "exceeds" in response.body["message"]
    assert table_counts(relay) == before


def test_full_queue_is_507_and_nothing_of_the_batch_is_stored(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    session = session_to(alice, bob)
    for _ in range(relay.limits.max_queue_per_device - 1):
        alice.client.send([session.encrypt(b"m")])
    with refused(relay, 507) as caught:
        alice.client.send([session.encrypt(b"a"), session.encrypt(b"b")])
    assert "queue of bob:1 is full" in caught.value.message
    alice.client.send([session.encrypt(b"fits")])
    items, _ = bob.client.fetch()
    assert len(items) == relay.limits.max_queue_per_device


def test_bundle_fetch_rate_is_429_and_consumes_no_prekey(relay, register, clock):
    register("bob:1", one_time=20, kem=10)
    alice = register("alice:1")
    for _ in range(relay.limits.bundle_fetches_per_window):
        alice.client.fetch_bundle("bob:1")
    before = table_counts(relay)
    with pytest.raises(RelayError) as caught:
        alice.client.fetch_bundle("bob:1")
    assert caught.value.status == 429
    after = table_counts(relay)
    assert after["one_time_prekeys"] == before["one_time_prekeys"]
    assert after["kem_prekeys"] == before["kem_prekeys"]
    assert after["bundle_fetches"] == before["bundle_fetches"]
    clock.advance(relay.limits.bundle_fetch_window + 1)
    assert alice.client.fetch_bundle("bob:1").one_time_prekey is not None


def test_too_many_envelopes_in_one_request_is_413(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    session = session_to(alice, bob)
    batch = [session.encrypt(b"m") for _ in range(relay.limits.max_envelopes_per_request + 1)]
    with refused(relay, 413):
        alice.client.send(batch)


def test_device_count_per_user_is_limited(relay, register):
    first = register("dana:1", upload=False)
    for n in range(2, relay.limits.max_devices_per_user + 1):
        register(f"dana:{n}", linked_by=first, upload=False)
    with refused(relay, 413):
        register(f"dana:{relay.limits.max_devices_per_user + 1}", linked_by=first)


def test_too_many_one_time_prekeys_is_413(relay, register):
    bob = register("bob:1", one_time=20, kem=2)
    with refused(relay, 413):
        bob.client.upload_prekeys(bob.prekeys.replenish(relay.limits.max_one_time_prekeys, 0))
