"""The extension points for the other two kinds of proposal (docs/architecture.md, "Three
kinds of proposal"): the client asks its directory verifier about every device list and its
content hook about every outgoing plaintext, and a refusal by either changes nothing."""

from __future__ import annotations

import pytest

from messaging.content_hook import ContentHook, ContentRefusedError, NoScanning
from messaging.directory import DirectoryRefusedError, DirectoryVerifier, TrustTheRelay
from messaging.identity import IdentityKeyPair


class ListsOnlyWhatItKnows:
    """A directory verifier that accepts a user's list only as it was first seen: the
    smallest thing a key-transparency client does against a ghost device."""

    def __init__(self):
        self.seen = {}
        self.asked = []

    def verify_devices(self, user, devices):
        self.asked.append((user, tuple(sorted(devices))))
        first = self.seen.setdefault(user, set(devices))
        if set(devices) != first:
            raise DirectoryRefusedError(f"{user}'s device list is not the one in the directory")


class Recorder:
    mode = "record"

    def __init__(self, refuse=False):
        self.seen, self.refuse = [], refuse

    def inspect(self, outgoing):
        self.seen.append(outgoing)
        if self.refuse:
            raise ContentRefusedError("listed content")


def test_the_defaults_accept_everything_and_satisfy_the_protocols(make):
    alice = make("alice")
    assert isinstance(alice.directory, TrustTheRelay)
    assert isinstance(alice.directory, DirectoryVerifier)
    assert isinstance(alice.content_hook, NoScanning)
    assert isinstance(alice.content_hook, ContentHook)


def test_a_refused_device_list_changes_nothing_and_sends_nothing(make, relay):
    alice, bob = make("alice"), make("bob")
    verifier = ListsOnlyWhatItKnows()
    alice.directory = verifier
    alice.send_text("bob", "hi")
    assert ("bob", ("bob:1",)) in verifier.asked
    relay.provider_add_device("bob:66", IdentityKeyPair.generate().public)
    before = (alice.known_devices("bob"), alice.outbox_size, alice.drain_events())
    with pytest.raises(DirectoryRefusedError):
        alice.refresh_devices("bob")
    assert (alice.known_devices("bob"), alice.outbox_size, alice.drain_events()) == \
        (before[0], before[1], [])
    assert [m.body for m in bob.receive_all()] == ["hi"]


def test_the_content_hook_sees_every_plaintext_before_encryption(make):
    alice, bob = make("alice"), make("bob")
    hook = Recorder()
    alice.content_hook = hook
    alice.send_text("bob", "look at this")
    (outgoing,) = hook.seen
    assert outgoing.sender == "alice:1" and outgoing.recipients == ("bob",)
    assert outgoing.conversation_id == "dm:alice:bob"
    assert b"look at this" in outgoing.plaintext
    assert "look at this" not in repr(outgoing)
    assert [m.body for m in bob.receive_all()] == ["look at this"]


def test_a_refusing_content_hook_stops_the_send_with_nothing_queued(make):
    alice, bob = make("alice"), make("bob")
    alice.send_text("bob", "first")
    alice.content_hook = Recorder(refuse=True)
    with pytest.raises(ContentRefusedError):
        alice.send_text("bob", "second")
    assert alice.outbox_size == 0
    assert [m.body for m in bob.receive_all()] == ["first"]


class Published:
    def __init__(self, refuse_user=None):
        self.lists, self.refuse_user = [], refuse_user

    def publish_devices(self, user, devices, at):
        if user == self.refuse_user:
            raise DirectoryRefusedError("the directory is down")
        self.lists.append((user, tuple(sorted(devices)), at))


def test_the_relay_publishes_every_new_device_list_the_provider_added_one_included(clock):
    from messaging.client import Device
    from messaging.relay import RelayService
    from messaging.relay.directory import DevicePublisher
    from messaging.relay.inprocess import InProcessTransport

    published = Published()
    assert isinstance(published, DevicePublisher)
    relay = RelayService(clock=clock, publisher=published)
    transport = InProcessTransport(relay)
    bob = Device.create("bob", 1, transport, clock=clock)
    bob.link_device(2)
    relay.provider_add_device("bob:66", IdentityKeyPair.generate().public)
    bob.remove_device("bob:2")
    assert [lists for _, lists, _ in published.lists] == [
        ("bob:1",), ("bob:1", "bob:2"), ("bob:1", "bob:2", "bob:66"), ("bob:1", "bob:66")]


def test_a_publisher_that_raises_rolls_the_device_change_back(clock):
    from messaging.relay import RelayService

    relay = RelayService(clock=clock, publisher=Published(refuse_user="eve"))
    with pytest.raises(DirectoryRefusedError):
        relay.provider_add_device("eve:1", IdentityKeyPair.generate().public)
    relay.devices.publisher = Published()
    relay.provider_add_device("eve:1", IdentityKeyPair.generate().public)  # not left behind
