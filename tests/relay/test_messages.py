"""Envelopes: parsed, archived with the relay's receipt time and escrow record, queued."""

from __future__ import annotations

import pytest

from messaging.relay import RelayError, RelayLimits
from messaging.wire import parse_envelope
from tests.relay.helpers import call, refused, session_to, signed, table_counts


def test_accepted_envelope_is_archived_with_metadata_and_record(relay, register, clock):
    alice = register("alice:1")
    bob = register("bob:1")
    envelope = session_to(alice, bob, "dm:alice:bob").encrypt(b"hello")
    clock.set(1_700_000_500.0)
    [archive_id] = alice.client.send([envelope])
    [entry] = relay.archive.entries()
    assert entry.id == archive_id
    assert entry.received_at == 1_700_000_500.0
    assert (entry.sender, entry.recipient, entry.conversation_id) == \
        ("alice:1", "bob:1", "dm:alice:bob")
    assert entry.envelope == envelope
    assert entry.record == parse_envelope(envelope).header.record
    assert entry.parsed().header.message_number == 0
    [queued], more = bob.client.fetch()
    assert queued.envelope == envelope and not more


def test_malformed_envelope_is_400_and_nothing_stored(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    good = session_to(alice, bob).encrypt(b"x")
    before = table_counts(relay)
    for bad in (good[:-1], good + b"\x00", b"\x02" + good[1:], b""):
        with pytest.raises(RelayError) as caught:
            alice.client.send([good, bad])
        assert caught.value.status == 400
    assert table_counts(relay) == before


def test_malformed_json_bodies_are_400(relay, register):
    alice = register("alice:1")
    for body in (b"not json", b"[1,2]", b'{"envelopes": "ab"}', b'{"envelopes": ["zz"]}',
                 b'{"envelopes": [], "extra": 1}', b'{"envelopes": ["00"], '
                 b'"require_complete": "yes"}'):
        response = call(relay, signed(relay, alice.identity, "alice:1", "POST",
                                      "/v1/messages", body))
        assert response.status == 400, body


def test_a_device_cannot_send_as_another(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    carol = register("carol:1")
    forged = session_to(alice, bob).encrypt(b"from alice")
    with refused(relay, 403):
        carol.client.send([forged])


def test_unknown_recipient_is_404(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    envelope = session_to(alice, bob, "dm:alice:zed").encrypt(b"x")
    relay_bob_gone = envelope.replace(b"bob:1", b"zed:1")
    with refused(relay, 404):
        alice.client.send([relay_bob_gone])


def test_missing_recipient_device_is_409_with_the_current_list(relay, register):
    alice = register("alice:1")
    bob1 = register("bob:1")
    register("bob:2", linked_by=bob1)
    envelope = session_to(alice, bob1).encrypt(b"only one of bob's devices")
    with refused(relay, 409) as caught:
        alice.client.send([envelope])
    assert caught.value.extra["devices"] == {"bob": ["bob:1", "bob:2"]}
    assert alice.client.send([envelope], require_complete=False)


def test_missing_own_other_device_is_409(relay, register):
    alice1 = register("alice:1")
    register("alice:2", linked_by=alice1)
    bob = register("bob:1")
    envelope = session_to(alice1, bob).encrypt(b"no copy for alice:2")
    with pytest.raises(RelayError) as caught:
        alice1.client.send([envelope])
    assert caught.value.extra["devices"] == {"alice": ["alice:2"]}


def test_fetch_pages_and_ack_is_idempotent(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    session = session_to(alice, bob)
    for i in range(4):
        alice.client.send([session.encrypt(b"m%d" % i)])
    first, more = bob.client.fetch(limit=3)
    assert len(first) == 3 and more
    assert bob.client.ack([i.id for i in first]) == 3
    assert bob.client.ack([i.id for i in first]) == 0
    rest, more = bob.client.fetch(limit=3)
    assert len(rest) == 1 and not more
    assert len(relay.archive.entries()) == 4


def test_unknown_route_is_404(relay, register):
    alice = register("alice:1")
    response = call(relay, signed(relay, alice.identity, "alice:1", "GET", "/v1/everything"))
    assert response.status == 404


@pytest.mark.parametrize("limits", [RelayLimits(max_fetch_bytes=1)])
def test_fetch_is_bounded_in_bytes_but_always_makes_progress(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    session = session_to(alice, bob)
    for i in range(3):
        alice.client.send([session.encrypt(b"m%d" % i)])
    items, more = bob.client.fetch(limit=10)
    assert len(items) == 1 and more


def test_sync_acknowledges_then_fetches(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    session = session_to(alice, bob)
    alice.client.send([session.encrypt(b"one")])
    [first], _ = bob.client.sync([], limit=10)
    alice.client.send([session.encrypt(b"two")])
    [second], more = bob.client.sync([first.id], limit=10)
    assert second.id != first.id and not more
    assert [i.id for i in bob.client.fetch()[0]] == [second.id]
    for bad in ({"ack": "x", "limit": 1, "wait": 0}, {"ack": [], "limit": -1, "wait": 0},
                {"ack": [], "limit": 1}):
        with pytest.raises(RelayError) as caught:
            bob.client.call("POST", "/v1/messages/sync", bad)
        assert caught.value.status == 400
