"""The archive read API: entries by conversation and receipt-time window, identities."""

from __future__ import annotations

import dataclasses

import pytest

from messaging.relay import RelayError
from messaging.relay.archive import ArchiveEntry
from tests.relay.helpers import session_to


def test_entries_filter_by_conversation_and_half_open_window(relay, register, clock):
    alice = register("alice:1")
    bob = register("bob:1")
    carol = register("carol:1")
    dm = session_to(alice, bob, "dm:alice:bob")
    other = session_to(alice, carol, "dm:alice:carol")
    times = []
    for i in range(3):
        clock.advance(100)
        times.append(clock.now())
        alice.client.send([dm.encrypt(b"b%d" % i)], require_complete=False)
        alice.client.send([other.encrypt(b"c%d" % i)], require_complete=False)
    archive = relay.archive
    assert len(archive.entries()) == 6
    assert [e.conversation_id for e in archive.entries("dm:alice:bob")] == ["dm:alice:bob"] * 3
    window = archive.entries("dm:alice:bob", start=times[1], end=times[2])
    assert [e.received_at for e in window] == [times[1]]
    assert archive.conversations() == ["dm:alice:bob", "dm:alice:carol"]
    assert archive.identity("carol:1") == carol.identity.public
    first = archive.entries()[0]
    assert archive.entry(first.id) == first
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.record = b"x"  # type: ignore[misc]
    assert isinstance(first, ArchiveEntry)


def test_unknown_identity_or_entry_is_an_error(relay):
    with pytest.raises(RelayError):
        relay.archive.identity("nobody:1")
    with pytest.raises(RelayError):
        relay.archive.entry(12345)
