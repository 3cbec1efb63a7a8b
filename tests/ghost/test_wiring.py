"""Key transparency wired into the messenger (docs/key_transparency.md, docs/ghost.md):
clients verify every device list and bundle; owners see every device added."""

import pytest

from escrow.ghost import GhostHook
from escrowlab.keytrans.attacks import (
    RewritingTransport,
    hide_devices,
    substitute_bundle,
    substitute_identity,
)
from escrowlab.keytrans.world import build
from messaging.addresses import direct_conversation_id
from messaging.client import Device
from messaging.directory import DirectoryRefusedError
from messaging.errors import HandshakeError
from messaging.identity import IdentityKeyPair


@pytest.fixture
def world():
    w = build(hook=GhostHook())
    yield w
    w.close()


def bundle_of(world, address):
    with world.relay.transaction() as conn:
        return world.relay.fetch_bundle(conn, address, address)


def test_every_device_list_a_client_uses_is_verified(world):
    alice = world.device("alice", 1)
    bob = world.device("bob", 1)
    world.device("bob", 2, linked_by=bob)
    alice.send_text("bob", "hi")
    assert alice.directory.accepted == 1 and alice.directory.refused == 0
    assert world.directory.epoch == 2  # one epoch per registration or link


def test_a_list_the_directory_does_not_commit_to_is_refused_and_changes_nothing(world):
    bob = world.device("bob", 1)
    mallory = IdentityKeyPair.generate()
    alice = world.device("alice", 1, transport=RewritingTransport(
        world.transport, substitute_identity("bob:1", mallory.public)))
    with pytest.raises(DirectoryRefusedError, match="does not commit"):
        alice.refresh_devices("bob")
    assert alice.trust.record("bob:1") is None and "bob" not in alice._devices
    assert bob.identity.public.encode() != mallory.public.encode()


def test_a_list_with_a_device_hidden_is_refused(world):
    bob = world.device("bob", 1)
    world.device("bob", 2, linked_by=bob)
    alice = world.device("alice", 1, transport=RewritingTransport(
        world.transport, hide_devices({"bob:2"})))
    with pytest.raises(DirectoryRefusedError):
        alice.send_text("bob", "hi")


def test_a_substituted_prekey_bundle_is_refused(world):
    world.device("bob", 1)
    world.device("mallory", 1)
    alice = world.device("alice", 1, transport=RewritingTransport(
        world.transport, substitute_bundle("bob:1", bundle_of(world, "mallory:1"))))
    with pytest.raises(HandshakeError, match="not signed by its registered identity"):
        alice.send_text("bob", "hi")
    assert alice.session_with(direct_conversation_id("alice", "bob"), "bob:1") is None


def test_without_key_transparency_a_substituted_identity_shows_only_as_a_safety_number_change(
        world):
    world.device("bob", 1)
    alice = world.device("alice", 1, verify=False)
    before = alice.refresh_devices("bob")["bob:1"]
    mallory = IdentityKeyPair.generate()
    alice.relay.transport = RewritingTransport(world.transport,
                                               substitute_identity("bob:1", mallory.public))
    alice.drain_events()
    alice.refresh_devices("bob")
    changes = [e for e in alice.drain_events() if type(e).__name__ == "IdentityChanged"]
    assert [c.address for c in changes] == ["bob:1"]
    assert changes[0].old_fingerprint != changes[0].new_fingerprint
    assert before.encode() != mallory.public.encode()


def test_the_owner_sees_every_device_added_to_its_account(world):
    bob = world.device("bob", 1)
    watch = world.watch(bob)
    world.device("bob", 2, linked_by=bob)
    assert watch.kt_alarm() == [] and watch.device_list_alarm() == ()
    ghost = IdentityKeyPair.generate()
    world.relay.provider_add_device("bob:99", ghost.public)
    alerts = watch.kt_alarm()
    assert [(a.epoch, a.added) for a in alerts] == [(world.directory.epoch, ("bob:99",))]
    assert watch.device_list_alarm() == ("bob:99",)


def test_a_provider_added_device_reads_what_is_sent_after_it_was_added(world):
    alice = world.device("alice", 1)
    world.device("bob", 1)
    alice.send_text("bob", "before")
    ghost_id = IdentityKeyPair.generate()
    world.relay.provider_add_device("bob:99", ghost_id.public)
    ghost = Device.attach("bob:99", ghost_id, world.transport, hook=GhostHook(),
                          clock=world.clock, one_time_prekeys=4, kem_prekeys=2)
    alice.send_text("bob", "after")
    assert [m.body for m in ghost.receive_all()] == ["after"]
