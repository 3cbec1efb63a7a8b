"""S27 metadata-leak (docs/scenarios.md, "Catalogue"): what escrow records reveal per message,
and what they link.

Three sessions (S1 Alice-Bob, S2 Alice-Carol, S3 Carol-Dave) run under each mode; the
envelopes' own addressing is set aside, so what is counted is what the *records* add
(under sealed sender that is all an observer would have). ``metadata_fields`` is the
number of fields a record shows that observer.

- ``leaf16``, family-key holder: every LEAF decrypts to (version, width, unit id); the
  unit id is a permanent device identifier, linking every session a device sent in.
- ``leaf16``, archive reader without the family key: only version and width; the rest is
  fresh ciphertext per chain.
- ``threshold`` / ``crumple``, archive reader: version, mode, parameters, set fingerprint,
  epoch, t, n, SLIP-39 identifier, secret length, the record's ephemeral key and n sealed
  shares; the deployment-wide
  fields are identical in every record and the per-chain ones fresh, so records link no
  session to any device.
- ``none``: no record, nothing added.
"""

from __future__ import annotations

from collections import defaultdict

from escrow.crumple.hook import CrumpleEscrow
from escrow.leaf16.leaf import IV_LENGTH, LEAF_VERSION
from escrow.record import RECORD_VERSION, parse_record
from escrow.threshold.hook import ThresholdEscrow
from escrowlab.scenarios.fixture import (
    QUICK_PUZZLE_BITS,
    Ees,
    make_custodians,
    make_set,
    session_pair,
)
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.hooks import NoEscrow
from messaging.wire import parse_envelope

SESSIONS = {"S1": ("alice", "bob"), "S2": ("alice", "carol"), "S3": ("carol", "dave")}
RECORD_FIELDS = ("version", "mode", "parameters", "set_fingerprint", "set_epoch", "threshold",
                 "n", "identifier", "secret_length", "ephemeral_public", "shares")


def run_sessions(hook_for, exchanges: int) -> dict[str, list[tuple[str, bytes]]]:
    """Each session exchanges messages both ways; {session: [(sender, record)]}."""
    records: dict[str, list[tuple[str, bytes]]] = {}
    for name, (first, second) in SESSIONS.items():
        pair = session_pair(hook_for(first), hook_for(second))
        sent = [(first, pair.first_envelope)]
        for i in range(exchanges):
            sent.append((second, pair.send("bob", b"reply %d" % i)))
            sent.append((first, pair.send("alice", b"message %d" % i)))
        records[name] = [(who, parse_envelope(env).header.record) for who, env in sent]
    return records


def linked_sessions(records, key_of) -> dict:
    """{record-derived key: sessions whose records carry it}."""
    links = defaultdict(set)
    for session, items in records.items():
        for _, record in items:
            links[key_of(record)].add(session)
    return links


def _leaf16(exchanges: int) -> list[Outcome]:
    ees = Ees(16)
    hooks = {user: ees.hook() for user in ("alice", "bob", "carol", "dave")}
    records = run_sessions(lambda user: hooks[user], exchanges)
    decryptor = ees.decryptor()
    messages = sum(len(items) for items in records.values())
    units: dict[str, set] = {}
    for items in records.values():
        for who, record in items:
            units.setdefault(who, set()).add(decryptor.read(record).unit_id)
    per_device = all(len(u) == 1 for u in units.values())
    distinct = len({next(iter(u)) for u in units.values()})
    links = linked_sessions(records, lambda r: decryptor.read(r).unit_id)
    by_user = {user: sorted(links[next(iter(u))]) for user, u in units.items()}
    pairs_linked = sum(len(s) for s in links.values())
    family = Outcome(
        "S27", "leaf16", "family-key holder",
        "a device id per message; every session linked to both its devices",
        per_device and distinct == 4 and pairs_linked == 6,
        {"metadata_fields": 3, "detectable": "none"},
        {"fields": ["version", "width", "unit_id"], "messages": messages,
         "unit_ids_per_device": 1 if per_device else None, "devices": distinct,
         "sessions_by_device": by_user, "session_device_links": pairs_linked})
    chains = {record for items in records.values() for _, record in items}
    headers = sorted({record[:2].hex() for record in chains})
    windows = defaultdict(set)
    for record in chains:
        for i in range(2, len(record) - 3):
            windows[(i, record[i:i + 4])].add(record)
    repeats = sum(len(owners) > 1 for owners in windows.values())
    lengths = sorted({len(record) for record in chains})
    reader = Outcome(
        "S27", "leaf16", "archive reader",
        "version and width only; nothing links", headers == [bytes((LEAF_VERSION, 16)).hex()]
        and repeats == 0 and lengths == [2 + IV_LENGTH + 48],
        {"metadata_fields": 2, "detectable": "none"},
        {"fields": ["version", "width"], "headers": headers, "repeated_windows": repeats,
         "record_lengths": lengths, "chains": len(chains)})
    return [family, reader]


def _custodian(mode: str, exchanges: int) -> Outcome:
    custodian_set = make_set(make_custodians(5), 3)
    hook = ThresholdEscrow(custodian_set) if mode == "threshold" else CrumpleEscrow(
        custodian_set, QUICK_PUZZLE_BITS)
    records = run_sessions(lambda user: hook, exchanges)
    chains = {record for items in records.values() for _, record in items}
    parsed = [parse_record(record) for record in chains]
    deployment = {(p.version, p.mode, p.parameters, p.set_fingerprint, p.set_epoch,
                   p.threshold, len(p.shares), p.secret_length) for p in parsed}
    expected = {(RECORD_VERSION, mode, hook.mode_parameters(), custodian_set.fingerprint, 1, 3,
                 5, 32)}
    identifiers = [p.identifier for p in parsed]
    ephemerals = [p.ephemeral_public for p in parsed]  # one per record (docs/formats.md)
    sealed = [share for p in parsed for share in p.shares]
    links = linked_sessions(records, lambda r: parse_record(r).set_fingerprint)
    groups = [sorted(s) for s in links.values()]
    holds = (deployment == expected and len(set(ephemerals)) == len(ephemerals) == len(chains)
             and len(set(sealed)) == len(sealed) == 5 * len(chains)
             and len(set(identifiers)) >= len(chains) - 1
             and groups == [sorted(SESSIONS)])
    return Outcome("S27", mode, "archive reader",
                   "deployment fields identical, per-chain fields fresh: no session linked to "
                   "a device", holds,
                   {"metadata_fields": len(RECORD_FIELDS), "detectable": "none"},
                   {"fields": list(RECORD_FIELDS), "deployment_values": len(deployment),
                    "deployment_as_pinned": deployment == expected, "chains": len(chains),
                    "distinct_ephemerals": len(set(ephemerals)), "ephemerals": len(ephemerals),
                    "distinct_sealed_shares": len(set(sealed)), "sealed_shares": len(sealed),
                    # 15-bit random ids: one collision is chance, so only the verdict is
                    # reported (the seed fixes everything but the cryptographic randomness)
                    "identifiers_fresh": len(set(identifiers)) >= len(chains) - 1,
                    "fingerprint_groups": groups})


@scenario("S27", "metadata-leak", "what escrow records reveal and link",
          ("none", "threshold", "leaf16", "crumple"))
def metadata_leak(params: Params, mode: str) -> list[Outcome]:
    exchanges = 2 if not params.full else 10
    if mode == "leaf16":
        return _leaf16(exchanges)
    if mode != "none":
        return [_custodian(mode, exchanges)]
    records = run_sessions(lambda user: NoEscrow(), exchanges)
    added = sum(len(record) for items in records.values() for _, record in items)
    return [Outcome("S27", mode, "archive reader", "records add nothing", added == 0,
                    {"metadata_fields": 0, "detectable": "none"}, {"record_bytes": added})]
