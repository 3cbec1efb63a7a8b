"""Users and devices: the first device registers, others must be linked by a sibling."""

from __future__ import annotations

import pytest

from messaging.identity import IdentityKeyPair
from messaging.limits import MAX_ADDRESS_LENGTH
from messaging.relay import RelayError
from messaging.relay.inprocess import InProcessTransport
from messaging.transport import RelayClient
from tests.relay.helpers import refused


def test_second_device_needs_a_link_signature(relay, register):
    register("bob:1")
    with refused(relay, 403) as caught:
        register("bob:2")
    assert "must be linked" in caught.value.message


def test_link_by_another_user_or_with_a_bad_signature_is_refused(relay, register, clock):
    register("bob:1")
    alice = register("alice:1")
    with pytest.raises(RelayError) as caught:
        register("bob:2", linked_by=alice)
    assert caught.value.status == 403
    identity = IdentityKeyPair.generate()
    client = RelayClient(InProcessTransport(relay), "bob:2", identity, clock)
    with pytest.raises(RelayError) as caught:
        client.call("POST", "/v1/devices", {"identity": identity.public.encode().hex(),
                                            "link": {"by": "bob:1", "signature": "00" * 64}})
    assert caught.value.status == 403
    assert "does not verify" in caught.value.message


def test_device_list_and_idempotent_registration(relay, register, clock):
    bob1 = register("bob:1")
    bob2 = register("bob:2", linked_by=bob1)
    devices = bob1.client.devices("bob")
    assert devices == {"bob:1": bob1.identity.public, "bob:2": bob2.identity.public}
    assert bob2.client.register((bob1.address, bob1.identity))["registered"] is False
    impostor = RelayClient(InProcessTransport(relay), "bob:2", IdentityKeyPair.generate(), clock)
    with pytest.raises(RelayError) as caught:
        impostor.register((bob1.address, bob1.identity))
    assert caught.value.status == 409


def test_removing_devices_is_for_the_same_user_only(relay, register):
    bob1 = register("bob:1")
    bob2 = register("bob:2", linked_by=bob1)
    alice = register("alice:1")
    with pytest.raises(RelayError) as caught:
        alice.client.remove_device("bob:2")
    assert caught.value.status == 403
    bob1.client.remove_device("bob:2")
    assert set(alice.client.devices("bob")) == {"bob:1"}
    with pytest.raises(RelayError) as caught:
        bob2.client.prekey_counts()
    assert caught.value.status == 401
    assert relay.archive.identity("bob:2") == bob2.identity.public


def test_provider_can_add_a_ghost_device_without_a_link(relay, register):
    register("bob:1")
    ghost = IdentityKeyPair.generate()
    relay.provider_add_device("bob:9", ghost.public)
    alice = register("alice:1")
    assert set(alice.client.devices("bob")) == {"bob:1", "bob:9"}


def test_bad_addresses_and_identities_are_400(relay, register, clock):
    alice = register("alice:1")
    for user in ("Bob", "a" * 65):
        with pytest.raises(RelayError) as caught:
            alice.client.devices(user)
        assert caught.value.status in (400, 404)
    identity = IdentityKeyPair.generate()
    client = RelayClient(InProcessTransport(relay), "Bad:1", identity, clock)
    with pytest.raises(RelayError) as caught:
        client.register()
    assert caught.value.status == 400
    client = RelayClient(InProcessTransport(relay), "eve:1", identity, clock)
    with pytest.raises(RelayError) as caught:
        client.call("POST", "/v1/devices", {"identity": "00" * 128, "link": None})
    assert caught.value.status == 400
    with pytest.raises(RelayError) as caught:
        alice.client.devices("nobody")
    assert caught.value.status == 404


def test_a_link_by_longer_than_any_address_is_a_bad_request(relay, register, clock):
    register("bob:1")
    identity = IdentityKeyPair.generate()
    client = RelayClient(InProcessTransport(relay), "bob:2", identity, clock)
    with pytest.raises(RelayError) as caught:
        client.call("POST", "/v1/devices", {"identity": identity.public.encode().hex(),
                                            "link": {"by": "b" * (MAX_ADDRESS_LENGTH + 1),
                                                     "signature": "00" * 64}})
    assert caught.value.status == 400
    assert f"'link.by' is at most {MAX_ADDRESS_LENGTH} characters" in caught.value.message
