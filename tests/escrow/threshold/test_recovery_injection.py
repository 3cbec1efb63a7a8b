"""Lawful recovery is not defeatable by one envelope: the relay archives whatever a sender
names, so the window may hold a stranger's envelope, an empty or garbage record, or a
genuine record copied into a bogus envelope. Every chain is reported with its outcome and
reason, every genuine chain is still recovered, and ``records_in_scope`` and recovery agree
on which chains count (one definition, :mod:`escrow.scope`)."""

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.errors import RecoveryError, ReleaseRefusedError
from escrow.release import release_share
from escrow.scope import (
    FORGED,
    NOT_ESCROWED,
    NOT_PARTICIPANT,
    RECOVERED,
    ListArchive,
    participants,
    records_in_scope,
    scan_window,
)
from escrow.threshold.recovery import recover
from messaging.wire import parse_envelope
from tests.escrow.helpers import DAY, Entry, Issuer, custodian_world, forge_envelope

T = 3


@pytest.fixture(scope="module")
def world():
    hook, custodians, w, (dm, other) = custodian_world(5, T, [("alice", "bob", 12, 3),
                                                              ("carol", "dave", 4, 2)])
    entries = w.entries(dm)
    start, end = entries[4].received_at, entries[10].received_at
    return hook, custodians, w, dm, start, end


def _injections(w, dm: str, start: float) -> dict[str, bytes]:
    genuine = w.entries(dm)[4].envelope
    sender = parse_envelope(genuine).sender
    recipient = parse_envelope(genuine).recipient
    return {
        "stranger": forge_envelope(genuine, sender="eve:1", header_chain_number=77,
                           ciphertext=os.urandom(48)),
        "empty record": forge_envelope(genuine, header_chain_number=78, header_record=b"",
                               ciphertext=os.urandom(48)),
        "garbage record": forge_envelope(genuine, header_chain_number=79,
                                 header_record=os.urandom(300), ciphertext=os.urandom(48)),
        "copy, other header": forge_envelope(genuine, header_chain_number=80,
                                     ciphertext=os.urandom(48)),
        "copy, bogus body": forge_envelope(genuine, ciphertext=os.urandom(48)),
        "copy, reversed": forge_envelope(genuine, sender=recipient, recipient=sender,
                                 ciphertext=os.urandom(48)),
    }


def _archive(w, dm, start, injected):
    extra = [Entry(envelope, start + 1 + i) for i, envelope in enumerate(injected)]
    return ListArchive([*w.entries(), *extra], w.identity_of)


def _execute(hook, custodians, w, archive, dm, start, end):
    """records_in_scope, an authorisation, t custodians' releases (refusals skipped),
    recovery."""
    scoped = records_in_scope(hook.check_record, archive, dm, start, end)
    key = X25519PrivateKey.generate()
    issuer = Issuer()
    authorisation = issuer.authorise(scoped, key, w.clock.now() + DAY)
    releases, refused = [], 0
    for custodian in custodians[:T]:
        for item in scoped:
            try:
                releases.append(release_share(custodian, hook.custodian_set, authorisation,
                                              issuer.verifier(), item.envelope, w.clock))
            except ReleaseRefusedError:
                refused += 1
    report = recover(hook, archive, dm, start, end, releases, key, authorisation=authorisation)
    return scoped, report, refused


def test_the_clean_window_recovers_every_chain(world):
    hook, custodians, w, dm, start, end = world
    _, report, refused = _execute(hook, custodians, w, _archive(w, dm, start, []), dm, start,
                                  end)
    assert refused == 0 and report.complete
    assert report.messages_recovered == report.messages_in_scope > 0


@pytest.mark.parametrize("kind", ["stranger", "empty record", "garbage record",
                                  "copy, other header", "copy, bogus body", "copy, reversed"])
def test_one_injected_envelope_does_not_stop_the_genuine_chains(world, kind):
    hook, custodians, w, dm, start, end = world
    clean = _execute(hook, custodians, w, _archive(w, dm, start, []), dm, start, end)[1]
    injected = _injections(w, dm, start)[kind]
    _, report, _ = _execute(hook, custodians, w, _archive(w, dm, start, [injected]), dm,
                            start, end)
    assert report.chains_recovered == clean.chains_recovered
    assert {m.plaintext for m in report.messages} == {m.plaintext for m in clean.messages}
    assert report.messages_in_scope == clean.messages_in_scope + 1
    expected = {"stranger": NOT_PARTICIPANT, "empty record": NOT_ESCROWED,
                "garbage record": FORGED, "copy, other header": FORGED,
                "copy, reversed": FORGED}
    counts = report.to_json()["chain_outcomes"]
    if kind == "copy, bogus body":
        assert report.messages_undecryptable == 1
        assert counts[RECOVERED] == len(report.chains)
    else:
        assert counts[expected[kind]] == 1
        assert counts[RECOVERED] == len(report.chains) - 1
        odd = [c for c in report.chains if c.outcome != RECOVERED]
        assert odd[0].reason and odd[0].messages_recovered == 0


def test_all_the_injections_at_once_and_the_report_says_which_is_which(world):
    hook, custodians, w, dm, start, end = world
    clean = _execute(hook, custodians, w, _archive(w, dm, start, []), dm, start, end)[1]
    injected = list(_injections(w, dm, start).values())
    _, report, refused = _execute(hook, custodians, w, _archive(w, dm, start, injected), dm,
                                  start, end)
    assert refused == 2 * T  # the two copies under another header: no share opens
    assert report.chains_recovered == clean.chains_recovered
    assert report.messages_recovered == clean.messages_recovered
    counts = report.to_json()["chain_outcomes"]
    assert counts == {RECOVERED: clean.chains_recovered, NOT_ESCROWED: 1, "not_released": 0,
                      FORGED: 3, NOT_PARTICIPANT: 1}
    assert not any(m.sender.startswith("eve:") for m in report.messages)
    stranger = next(c for c in report.chains if c.outcome == NOT_PARTICIPANT)
    assert "eve:1 not a participant of dm:alice:bob" in stranger.reason


def test_records_in_scope_and_recovery_count_the_same_chains(world):
    hook, custodians, w, dm, start, end = world
    archive = _archive(w, dm, start, list(_injections(w, dm, start).values()))
    scoped, report, _ = _execute(hook, custodians, w, archive, dm, start, end)
    scan = scan_window(archive, dm, start, end, hook.check_record)
    assert [(s.ref.record_digest, s.ref.context_digest) for s in scoped] == \
        [c.key for c in scan.open_chains()]
    assert [c.record_sha256 for c in report.chains] == [c.record_digest.hex()
                                                        for c in scan.chains]
    assert report.messages_in_scope == scan.messages_in_scope


def test_participants_of_a_direct_chat_are_the_two_users_it_names():
    assert participants("dm:alice:bob", []) == {"alice", "bob"}
    assert participants("dm:alice", []) == frozenset()
    assert participants("dm:alice:bob:eve", []) == frozenset()


def test_group_participants_are_the_users_the_archive_shows_receiving(world):
    _, _, w, _, _, _ = world
    fan_out = [parse_envelope(forge_envelope(w.entries()[0].envelope, conversation_id="group:g",
                                     sender=s, recipient=r))
               for s, r in (("alice:1", "bob:1"), ("bob:1", "alice:1"), ("alice:1", "alice:2"),
                            ("eve:1", "alice:1"), ("eve:1", "eve:2"))]
    assert participants("group:g", fan_out) == {"alice", "bob"}


def test_an_unparseable_archive_entry_is_counted_not_raised(world):
    hook, custodians, w, dm, start, end = world

    class Unfiltered:
        """An archive that files a damaged entry under the conversation."""

        def entries(self, conversation_id=None):
            return [*w.entries(conversation_id), Entry(b"\x07 not an envelope", start + 1)]

        identity = staticmethod(w.identity_of)

    scan = scan_window(Unfiltered(), dm, start, end, hook.check_record)
    assert scan.unreadable_entries == 1
    assert scan.messages_in_scope == len([e for e in w.entries(dm)
                                          if start <= e.received_at < end])


def test_over_collection_is_computed_against_the_whole_archived_conversation(world):
    """Through the relay's archive read API, whatever the caller holds: the in-window chains'
    messages outside the window (3 here; passing only the window's entries used to give 0)."""
    hook, custodians, w, dm, start, end = world
    _, report, _ = _execute(hook, custodians, w, w.archive, dm, start, end)
    in_window = {parse_envelope(e.envelope).header.record for e in w.entries(dm)
                 if start <= e.received_at < end}
    outside = [e for e in w.entries(dm) if not start <= e.received_at < end
               and parse_envelope(e.envelope).header.record in in_window]
    assert report.out_of_scope_recoverable == len(outside) == 3
    assert report.to_json()["out_of_scope_computed_against"] == {
        "scope": "whole archived conversation", "conversation_id": dm,
        "archived_envelopes": len(w.entries(dm))}


@pytest.mark.parametrize("conversation_id", ["dm:alice:\ud800", "", "a\nb", 7])
def test_a_conversation_id_the_wire_cannot_carry_is_refused_cleanly(world, conversation_id):
    hook, _, w, _, start, end = world
    with pytest.raises(RecoveryError, match="conversation id"):
        scan_window(w.archive, conversation_id, start, end, hook.check_record)


def test_a_copy_numbered_2_to_the_31_costs_recovery_no_chain_steps(world, monkeypatch):
    """A genuine header renumbered 2^31: before, recovery stepped KDF_CK 2^31 times (hours
    per injected envelope); now the number is beyond MAX_SKIP of every message that opened,
    an honest recipient would refuse it, and it is not tried."""
    import messaging.hooks

    hook, custodians, w, dm, start, end = world
    genuine = w.entries(dm)[4].envelope
    huge = forge_envelope(genuine, header_message_number=2**31)
    clean = _execute(hook, custodians, w, _archive(w, dm, start, []), dm, start, end)[1]
    steps = []
    real = messaging.hooks.kdf_ck
    monkeypatch.setattr(messaging.hooks, "kdf_ck", lambda key: steps.append(1) or real(key))
    _, report, _ = _execute(hook, custodians, w, _archive(w, dm, start, [huge]), dm, start, end)
    assert report.messages_recovered == clean.messages_recovered
    assert report.messages_undecryptable == 1
    assert len(steps) < 1000
