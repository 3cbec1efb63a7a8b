"""Groups: pairwise fan-out; membership changes are messages every member sees."""

from __future__ import annotations

import pytest

from messaging.content import encode_content
from messaging.errors import GroupError
from messaging.events import ReceiveFailed
from messaging.groups import GroupChanged


@pytest.fixture
def trio(make):
    alice = make("alice")
    bob1 = make("bob")
    bob2 = bob1.link_device(2)
    carol = make("carol")
    return alice, bob1, bob2, carol


def _drain(*devices):
    return {d.address: d.receive_all() for d in devices}


def test_group_creation_reaches_every_member_device(trio, relay):
    alice, bob1, bob2, carol = trio
    group = alice.groups.create("book club", ["bob", "carol"])
    _drain(bob1, bob2, carol)
    for device in (bob1, bob2, carol):
        assert device.groups.get(group.group_id).members == {"alice", "bob", "carol"}
        [event] = [e for e in device.drain_events() if isinstance(e, GroupChanged)]
        assert event.by == "alice" and event.added == ("alice", "bob", "carol")
    entries = relay.archive.entries(group.conversation_id)
    assert sorted(e.recipient for e in entries) == ["bob:1", "bob:2", "carol:1"]


def test_group_text_fans_out_pairwise(trio, relay):
    alice, bob1, bob2, carol = trio
    group = alice.groups.create("book club", ["bob", "carol"])
    _drain(bob1, bob2, carol)
    ids = carol.groups.send(group.group_id, "hello group")
    assert sorted(relay.archive.entry(i).recipient for i in ids) == \
        ["alice:1", "bob:1", "bob:2"]
    received = _drain(alice, bob1, bob2)
    for messages in received.values():
        assert [(m.sender, m.body) for m in messages] == [("carol:1", "hello group")]


def test_removal_is_seen_by_everyone_including_the_removed(trio):
    alice, bob1, bob2, carol = trio
    group = alice.groups.create("book club", ["bob", "carol"])
    _drain(bob1, bob2, carol)
    alice.groups.remove_members(group.group_id, ["carol"])
    _drain(bob1, bob2, carol)
    for device in (alice, bob1, bob2, carol):
        assert device.groups.get(group.group_id).members == {"alice", "bob"}
        assert device.groups.get(group.group_id).revision == 2
    with pytest.raises(GroupError, match="not a member"):
        carol.groups.send(group.group_id, "am I still here?")
    ids = alice.groups.send(group.group_id, "just us")
    assert len(ids) == 2


def test_added_member_gets_the_group_and_later_messages(trio, make):
    alice, bob1, bob2, carol = trio
    dave = make("dave")
    group = alice.groups.create("book club", ["bob"])
    _drain(bob1, bob2)
    bob1.groups.add_members(group.group_id, ["dave"])
    _drain(alice, bob2, dave)
    assert dave.groups.get(group.group_id).members == {"alice", "bob", "dave"}
    alice.groups.send(group.group_id, "welcome dave")
    assert [m.body for m in dave.receive_all()] == ["welcome dave"]


def test_group_text_from_a_non_member_is_refused(trio):
    alice, bob1, bob2, carol = trio
    group = alice.groups.create("pair", ["bob"])
    _drain(bob1, bob2)
    forged = encode_content("group-text", "let me in", carol.clock.now(),
                            group={"id": group.group_id, "revision": 1})
    carol.send_content(group.conversation_id, ("alice",), forged)
    assert alice.receive_all() == []
    [event] = [e for e in alice.drain_events() if isinstance(e, ReceiveFailed)]
    assert "not a member" in event.reason


def test_stale_or_foreign_membership_change_is_refused(trio):
    alice, bob1, bob2, carol = trio
    group = alice.groups.create("club", ["bob"])
    _drain(bob1, bob2)
    bogus = dict(group.to_json(), members=["carol"], revision=5)
    carol.send_content(group.conversation_id, ("bob",),
                       encode_content("group-update", "", carol.clock.now(), group=bogus))
    stale = dict(group.to_json(), members=["alice", "bob"], revision=1)
    alice.send_content(group.conversation_id, ("bob",),
                       encode_content("group-update", "", alice.clock.now(), group=stale))
    assert bob1.receive_all() == []
    reasons = [e.reason for e in bob1.drain_events() if isinstance(e, ReceiveFailed)]
    assert any("not a member" in r for r in reasons)
    assert any("stale" in r for r in reasons)
    assert bob1.groups.get(group.group_id).members == {"alice", "bob"}


def test_group_arguments_are_validated(trio):
    alice = trio[0]
    with pytest.raises(GroupError):
        alice.groups.create("", ["bob"])
    with pytest.raises(GroupError):
        alice.groups.create("x", ["Not A User"])
    with pytest.raises(GroupError):
        alice.groups.get("0" * 16)


@pytest.mark.parametrize(("kind", "change"), [
    ("group-update", {"members": "bob"}),  # a string is not a list of users
    ("group-update", {"members": ["alice", "bob", "bob"]}),
    ("group-update", {"members": [["alice"], "bob"]}),
    ("group-update", {"members": ["alice", 5]}),
    ("group-update", {"revision": True}),
    ("group-update", {"revision": 2.0}),
    ("group-update", {"name": None}),
    ("group-update", {"extra": 1}),
    ("group-text", {"name": "x"}),
    ("group-text", {"revision": "1"}),
    ("group-text", {"id": 7}),
    ("group-text", {"revision": 0}),
    ("group-update", {"name": ""}),
    ("group-update", {"members": []}),
    ("group-update", {"members": ["alice", "Bob"]}),
], ids=range(15))
def test_a_malformed_group_object_is_refused_and_changes_nothing(trio, kind, change):
    alice, bob1, bob2, _ = trio
    group = alice.groups.create("club", ["bob"])
    _drain(bob1, bob2)
    before = bob1.groups.get(group.group_id)
    session = bob1.store.load_session(group.conversation_id, "alice:1")
    if kind == "group-update":
        body = {**group.to_json(), "revision": 2, **change}
    else:
        body = {"id": group.group_id, "revision": 1, **change}
    alice.send_content(group.conversation_id, ("bob",), encode_content(kind, "", 1.0, group=body))
    assert bob1.receive_all() == []
    [event] = [e for e in bob1.drain_events() if isinstance(e, ReceiveFailed)]
    assert "malformed group" in event.reason
    assert bob1.groups.get(group.group_id) == before
    assert bob1.store.load_session(group.conversation_id, "alice:1") == session
