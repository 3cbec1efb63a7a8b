"""Sesame fan-out: every recipient device and every other own device gets its own copy."""

from __future__ import annotations

from sqlalchemy import update

from messaging.addresses import direct_conversation_id
from messaging.client import Device
from messaging.events import DeviceListChanged
from messaging.identity import IdentityKeyPair
from messaging.relay import schema
from messaging.trust import IdentityChanged


def test_message_reaches_every_device_of_recipient_and_sender(make, relay):
    alice1 = make("alice")
    alice2 = alice1.link_device(2)
    bob1 = make("bob")
    bob2 = bob1.link_device(2)
    ids = alice1.send_text("bob", "to all of bob")
    entries = [relay.archive.entry(i) for i in ids]
    assert sorted(e.recipient for e in entries) == ["alice:2", "bob:1", "bob:2"]
    assert {e.conversation_id for e in entries} == {direct_conversation_id("alice", "bob")}
    for device in (bob1, bob2):
        [m] = device.receive_all()
        assert (m.sender, m.body, m.own_copy) == ("alice:1", "to all of bob", False)
    [copy] = alice2.receive_all()
    assert copy.own_copy and copy.to == "bob" and copy.body == "to all of bob"


def test_conversation_id_is_symmetric():
    assert direct_conversation_id("bob", "alice") == direct_conversation_id("alice", "bob")


def test_new_recipient_device_raises_an_event_and_gets_the_message(make):
    alice = make("alice")
    bob1 = make("bob")
    alice.send_text("bob", "before")
    bob1.receive_all()
    assert alice.drain_events() == []
    bob3 = bob1.link_device(3)
    alice.send_text("bob", "after bob linked a laptop")
    assert alice.drain_events() == [DeviceListChanged("bob", ("bob:3",), ())]
    assert [m.body for m in bob3.receive_all()] == ["after bob linked a laptop"]


def test_ghost_device_added_by_the_provider_reads_along_but_raises_an_event(
        make, relay, transport, clock):
    alice = make("alice")
    bob = make("bob")
    alice.send_text("bob", "hi")
    ghost_identity = IdentityKeyPair.generate()
    relay.provider_add_device("bob:66", ghost_identity.public)
    ghost = Device.attach("bob:66", ghost_identity, transport, clock=clock)
    events = []
    alice.subscribe(events.append)
    alice.send_text("bob", "who else reads this?")
    assert DeviceListChanged("bob", ("bob:66",), ()) in events
    assert [m.body for m in ghost.receive_all()] == ["who else reads this?"]
    assert [m.body for m in bob.receive_all()] == ["hi", "who else reads this?"]


def test_removed_device_stops_receiving_and_siblings_see_the_change(make):
    alice = make("alice")
    bob1 = make("bob")
    bob2 = bob1.link_device(2)
    alice.send_text("bob", "first")
    bob1.remove_device("bob:2")
    assert bob1.drain_events()[-1] == DeviceListChanged("bob", (), ("bob:2",))
    ids = alice.send_text("bob", "second")
    assert len(ids) == 1
    assert alice.drain_events() == [DeviceListChanged("bob", (), ("bob:2",))]
    assert [m.body for m in bob1.receive_all()] == ["first", "second"]
    assert bob2.known_devices("bob")  # bob2 still has its local state


def test_identity_change_is_reported_with_fingerprints(make, relay):
    alice = make("alice")
    bob = make("bob")
    alice.send_text("bob", "hi")
    before = alice.safety_number("bob:1")
    substituted = IdentityKeyPair.generate().public
    with relay.engine.begin() as conn:
        conn.execute(update(schema.devices).where(schema.devices.c.address == "bob:1")
                     .values(identity=substituted.encode()))
    alice.refresh_devices("bob")
    [event] = [e for e in alice.drain_events() if isinstance(e, IdentityChanged)]
    assert event.address == "bob:1"
    assert event.old_fingerprint != event.new_fingerprint
    assert alice.safety_number("bob:1") != before
    assert bob.address == "bob:1"
