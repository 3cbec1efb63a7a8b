"""leaf16 recovery over the relay's archive: every chain reported, an injected envelope
stops nothing, and over-collection counts everything the released unit keys open, in
every conversation."""

import os

import pytest

from escrow.leaf16.recovery import recover
from escrow.scope import FORGED, NOT_ESCROWED, NOT_PARTICIPANT, RECOVERED, ListArchive
from messaging.client import Device
from messaging.clock import ManualClock
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport
from messaging.wire import parse_envelope
from tests.escrow.helpers import Entry, RelayWorld, forge_envelope
from tests.escrow.leaf16.helpers import ees_world

UNITS = {"alice": 0xA11CE, "bob": 0xB0B, "carol": 0xCA201}


@pytest.fixture(scope="module")
def world():
    ees = ees_world()
    clock = ManualClock()
    relay = RelayService("sqlite://", clock=clock)
    transport = InProcessTransport(relay)
    devices = {user: Device.create(user, 1, transport, hook=ees.hook(unit), clock=clock,
                                   one_time_prekeys=4, kem_prekeys=2)
               for user, unit in UNITS.items()}
    w = RelayWorld(relay, clock, devices)
    dm = w.talk("alice", "bob", 8, 2)
    w.talk("alice", "carol", 6, 2)
    w.talk("bob", "carol", 4, 2)
    entries = w.entries(dm)
    return ees, w, dm, entries[3].received_at, entries[6].received_at


def test_over_collection_counts_what_the_released_unit_keys_open_everywhere(world):
    ees, w, dm, start, end = world
    report = recover(ees.decryptor(), ees.agents, w.archive, dm, start, end, "W-1")
    assert report.complete and report.messages_recovered == report.messages_in_scope > 0
    released = {UNITS["alice"], UNITS["bob"]}
    assert set(report.unit_ids) == released
    # every archived envelope whose LEAF names alice's or bob's unit opens with its key
    everything = [e for e in w.entries()
                  if ees.decryptor().read(parse_envelope(e.envelope).header.record).unit_id
                  in released]
    assert report.out_of_scope_recoverable == len(everything) - report.messages_recovered
    other_conversations = [e for e in everything if e.conversation_id != dm]
    assert len(other_conversations) > 0
    assert report.out_of_scope_recoverable > len(w.entries(dm)) - report.messages_recovered
    basis = report.to_json()["out_of_scope_computed_against"]
    assert basis["archived_envelopes"] == len(w.entries())
    assert "every conversation" in basis["scope"]


def test_injected_envelopes_are_reported_and_every_genuine_chain_recovered(world):
    ees, w, dm, start, end = world
    clean = recover(ees.decryptor(), ees.agents, w.archive, dm, start, end, "W-2")
    genuine = w.entries(dm)[4].envelope
    injected = [
        forge_envelope(genuine, sender="eve:1", header_chain_number=70, ciphertext=os.urandom(48)),
        forge_envelope(genuine, header_chain_number=71, header_record=b"",
                       ciphertext=os.urandom(48)),
        forge_envelope(genuine, header_chain_number=72, header_record=os.urandom(66),
                       ciphertext=os.urandom(48)),
        forge_envelope(genuine, header_chain_number=73, ciphertext=os.urandom(48)),
        forge_envelope(genuine, ciphertext=os.urandom(48)),
    ]
    archive = ListArchive([*w.entries(), *(Entry(e, start + 1) for e in injected)],
                          w.identity_of)
    report = recover(ees.decryptor(), ees.agents, archive, dm, start, end, "W-3")
    assert report.chains_recovered == clean.chains_recovered
    assert {m.plaintext for m in report.messages} == {m.plaintext for m in clean.messages}
    assert report.messages_undecryptable == 1
    counts = report.outcome_counts()
    assert counts[NOT_PARTICIPANT] == counts[NOT_ESCROWED] == 1
    assert counts[FORGED] == 2 and counts[RECOVERED] == clean.chains_recovered
    copy = next(c for c in report.chains if c.chain_number == 73)
    assert copy.outcome == FORGED and "made for another chain" in copy.reason
