"""S27 metadata-leak (docs/scenarios.md): what escrow records reveal per message, and what they
link.

Three sessions (S1 Alice-Bob, S2 Alice-Carol, S3 Carol-Dave) run under each
mode; the envelopes' own addressing is set aside, so what is counted is what
the *records* add (under sealed sender that is all an observer would have).

- ``leaf16``, family-key holder: every LEAF decrypts to (version, width, unit
  id). The unit id is a permanent device identifier: it links every session a
  device ever sent in, across conversations.
- ``leaf16``, archive reader without the family key: only version and width;
  the rest is fresh ciphertext per chain.
- ``threshold`` / ``crumple``, archive reader: version, mode, set fingerprint,
  epoch, t, n, SLIP-39 identifier, secret length and n sealed shares. The
  deployment-wide fields are identical in every record and the identifier and
  shares are fresh per chain, so records link no session to any device.
"""

from collections import defaultdict

import pytest

from escrow.crumple.hook import CrumpleEscrow
from escrow.leaf16.leaf import IV_LENGTH, LEAF_VERSION, parse_leaf
from escrow.record import RECORD_VERSION, parse_record
from escrow.threshold.hook import ThresholdEscrow
from messaging.wire import parse_envelope
from tests.builders import session_pair
from tests.escrow.helpers import make_custodians, make_set
from tests.escrow.leaf16.helpers import ees_world

SESSIONS = {"S1": ("alice", "bob"), "S2": ("alice", "carol"), "S3": ("carol", "dave")}


def run_sessions(hook_for) -> dict[str, list[tuple[str, bytes]]]:
    """Each session exchanges messages both ways; returns {session: [(sender, record)]}."""
    records: dict[str, list[tuple[str, bytes]]] = {}
    for name, (first, second) in SESSIONS.items():
        pair = session_pair(hook_for(first), hook_for(second))
        sent = [(first, pair.first_envelope)]
        for i in range(2):
            envelope = pair.bob.encrypt(b"reply %d" % i)
            pair.alice.decrypt(envelope)
            sent.append((second, envelope))
            envelope = pair.alice.encrypt(b"message %d" % i)
            pair.bob.decrypt(envelope)
            sent.append((first, envelope))
        records[name] = [(who, parse_envelope(env).header.record) for who, env in sent]
    return records


def linked_sessions(records, key_of) -> dict:
    """{record-derived key: sessions whose records carry it}."""
    links = defaultdict(set)
    for session, items in records.items():
        for _, record in items:
            links[key_of(record)].add(session)
    return links


def test_a_family_key_holder_reads_a_device_id_per_message_and_links_sessions_to_devices():
    world = ees_world()
    hooks = {user: world.hook() for user in ("alice", "bob", "carol", "dave")}
    records = run_sessions(lambda user: hooks[user])
    decryptor = world.decryptor()
    fields = {"version", "width", "unit_id"}
    per_message = [
        {"version": record[0], "width": parse_leaf(record).width,
         "unit_id": decryptor.read(record).unit_id}
        for items in records.values() for _, record in items
    ]
    assert all(set(m) == fields for m in per_message)
    # The unit id names the sending device in every message.
    unit_of = {}
    for items in records.values():
        for who, record in items:
            unit_of.setdefault(who, set()).add(decryptor.read(record).unit_id)
    assert all(len(units) == 1 for units in unit_of.values())
    assert len({next(iter(u)) for u in unit_of.values()}) == 4
    links = linked_sessions(records, lambda r: decryptor.read(r).unit_id)
    alice, carol = next(iter(unit_of["alice"])), next(iter(unit_of["carol"]))
    assert links[alice] == {"S1", "S2"}
    assert links[carol] == {"S2", "S3"}
    assert sum(len(s) for s in links.values()) == 6  # every session linked to both its devices


def test_without_the_family_key_a_leaf_shows_version_and_width_and_links_nothing():
    world = ees_world()
    hooks = {user: world.hook() for user in ("alice", "bob", "carol", "dave")}
    records = run_sessions(lambda user: hooks[user])
    chains = {record for items in records.values() for _, record in items}
    headers = {record[:2] for record in chains}
    assert headers == {bytes((LEAF_VERSION, 16))}
    # Every other byte is fresh per chain: no 4-byte window repeats across LEAFs.
    windows = defaultdict(set)
    for record in chains:
        for i in range(2, len(record) - 3):
            windows[(i, record[i:i + 4])].add(record)
    assert all(len(owners) == 1 for owners in windows.values())
    assert all(len(record) == 2 + IV_LENGTH + 48 for record in chains)


@pytest.mark.parametrize("mode", ["threshold", "crumple"])
def test_an_archive_reader_of_threshold_or_crumple_records_links_no_session_to_a_device(mode):
    custodian_set = make_set(make_custodians(5), 3)
    hook = ThresholdEscrow(custodian_set) if mode == "threshold" else CrumpleEscrow(
        custodian_set, 8)
    records = run_sessions(lambda user: hook)
    chains = {record for items in records.values() for _, record in items}
    parsed = [parse_record(record) for record in chains]
    deployment = {(p.version, p.mode, p.parameters, p.set_fingerprint, p.set_epoch,
                   p.threshold, len(p.shares), p.secret_length) for p in parsed}
    parameters = hook.mode_parameters()  # none for threshold; k for crumple, per deployment
    assert deployment == {(RECORD_VERSION, mode, parameters, custodian_set.fingerprint, 1, 3, 5,
                           32)}
    # The fields that differ per chain are fresh: no value repeats across chains.
    per_chain = [p.identifier for p in parsed]
    ephemerals = [p.ephemeral_public for p in parsed]  # one per record (docs/formats.md)
    assert len(set(ephemerals)) == len(ephemerals) == len(chains)
    sealed = [share for p in parsed for share in p.shares]
    assert len(set(sealed)) == len(sealed) == 5 * len(chains)
    assert len(set(per_chain)) >= len(chains) - 1  # 15-bit ids: a collision is a coincidence
    # Linkability by record content: the deployment fields put every session in one group.
    links = linked_sessions(records, lambda r: parse_record(r).set_fingerprint)
    assert list(links.values()) == [set(SESSIONS)]
