"""Custodian scenarios S01, S02, S03, S05 (docs/scenarios.md, "Catalogue").

Each runs the standard world (three conversations through a real relay) under a mode's
deployment from the registry, and the custodians (for ``leaf16``: the two escrow agents)
act through the real release and recovery code: stolen, colluding, refusing or lying.

- S01 cust-single: k of the parties' keys stolen, k = 1..t; one share alone; a t = 1
  configuration.
- S02 cust-collude: t parties collude with no judge (an authorisation of their own); the
  smallest coalition that reads C1; nothing in the protocol notices.
- S03 key-theft: a thief copies t custodians' keystores (file and passphrase) and the
  archive, and decrypts offline; under ``none`` the same theft opens nothing.
- S05 cust-dos: k custodians refuse, m return bad shares (flipped bit, random value)
  signed with their own keys; and one release altered in transit.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from escrow import ceremony, keystore
from escrow.context import RecordContext
from escrow.errors import CeremonyError, CustodianSetError, KeystoreError, ReleaseRefusedError
from escrow.release import open_own_share, seal_release
from escrow.scope import FORGED, NOT_RELEASED, ListArchive, Window
from escrow.workflow import LawfulAccess
from escrowlab.scenarios.fixture import (
    CONVERSATIONS,
    DAY,
    THRESHOLD,
    Issuer,
    coalition_read,
    deploy,
    exposed,
    make_custodians,
    make_set,
    party,
    read_with,
    standard_world,
    stolen_custodian,
)
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.events import ReceiveFailed
from messaging.wire import parse_envelope

CUSTODIAN_MODES = ("threshold", "crumple")
ESCROW_MODES = ("threshold", "leaf16", "crumple")
PASSPHRASE = "custodian passphrase"  # noqa: S105 - the thief copies it with the store


def talks(params: Params, scale: int = 1) -> list[tuple[str, str, int, int]]:
    """C1, C2, C3 with ``(messages, ratchet_every)`` of the quick run, or more with --full."""
    sizes = ((12, 3), (8, 2), (6, 3)) if not params.full else ((60, 3), (40, 2), (30, 4))
    return [(a, b, m * scale, r) for (a, b), (m, r) in zip(CONVERSATIONS, sizes, strict=True)]


# -- S01 -----------------------------------------------------------------------------------

@scenario("S01", "cust-single", "one custodian's keys stolen, or t-1 of them", ESCROW_MODES)
def cust_single(params: Params, mode: str) -> list[Outcome]:
    world = standard_world(mode, talks(params))
    deployment = world.deployment
    t = deployment.threshold
    total = len(world.entries())
    out = []
    for stolen in range(1, t + 1):
        count = exposed(deployment, range(stolen), world)
        below = stolen < t
        out.append(Outcome("S01", mode, f"{stolen} of {len(deployment.parties)} stolen",
                           "0 messages below t" if below else "the whole archive at t",
                           count == 0 if below else count == total,
                           {"exposed_total": count},
                           {"stolen": stolen, "threshold": t, "archived": total}))
    one = coalition_read(deployment, [0], world.archive, world.conversations[0], world.clock)
    details = {"reasons": sorted({c.reason for c in one.chains}),
               "outcomes": sorted({c.outcome for c in one.chains})}
    if mode in CUSTODIAN_MODES:
        entry = world.entries()[0]
        _, index, value = open_own_share(deployment.custodians[0], deployment.custodian_set,
                                         entry.envelope)
        details.update(share_index=index, share_length=len(value))
    out.append(Outcome("S01", mode, "one share alone", "the real recovery reads nothing",
                       one.messages_recovered == 0 and details["outcomes"] == [NOT_RELEASED],
                       {"exposed_total": one.messages_recovered}, details))
    if mode in CUSTODIAN_MODES:
        out.append(_t_equal_one(mode))
    return out


def _t_equal_one(mode: str) -> Outcome:
    """A 1-of-n set and a 1-of-n ceremony: both refused, the ceremony writes nothing."""
    errors = {}
    try:
        make_set(make_custodians(3), 1)
    except CustodianSetError as exc:
        errors["custodian_set"] = str(exc)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "ceremony"
        try:
            ceremony.run_ceremony(target, 3, 1, ["passphrase"] * 3, kdf=keystore.FAST_KDF)
        except CeremonyError as exc:
            errors["ceremony"] = str(exc)
        unchanged = not target.exists()
    refused = set(errors) == {"custodian_set", "ceremony"}
    return Outcome("S01", mode, "t=1 configuration", "refused by the set and the ceremony",
                   refused and unchanged, {"state_unchanged": unchanged},
                   {"errors": errors})


# -- S02 -----------------------------------------------------------------------------------

@scenario("S02", "cust-collude", "t custodians collude without a warrant",
          ("none", *ESCROW_MODES))
def cust_collude(params: Params, mode: str) -> list[Outcome]:
    world = standard_world(mode, talks(params))
    deployment = world.deployment
    t, n = deployment.threshold, len(deployment.parties)
    total = len(world.entries())
    if mode == "none":
        access = LawfulAccess(deployment, world.archive)
        scoped = sum(len(access.scope(Window(c, 0.0, 1e12))) for c in world.conversations)
        records = sum(entry.record != b"" for entry in world.entries())
        return [Outcome("S02", mode, "no parties", "nobody holds anything to collude with",
                        scoped == 0 and records == 0,
                        {"exposed_total": 0, "min_coalition": None, "detectable": "none"},
                        {"archived": total, "parties": len(deployment.parties),
                         "records_in_scope": scoped, "records_in_archive": records})]
    coalition = range(n - t, n)
    count = exposed(deployment, coalition, world)
    minimum = None
    for size in range(1, n + 1):
        if coalition_read(deployment, range(size), world.archive, world.conversations[0],
                          world.clock).complete:
            minimum = size
            break
    alice, bob = world.devices["alice"], world.devices["bob"]

    def sessions():
        return (alice.session_with(world.conversations[0], "bob:1").serialize(),
                bob.session_with(world.conversations[0], "alice:1").serialize())

    before, archive_before = sessions(), [(e.id, e.envelope) for e in world.entries()]
    coalition_read(deployment, range(t), world.archive, world.conversations[0], world.clock)
    untouched = sessions() == before and \
        [(e.id, e.envelope) for e in world.entries()] == archive_before
    alice.drain_events()
    bob.drain_events()
    world.talk("alice", "bob", 2, 1)
    failures = sum(isinstance(e, ReceiveFailed) for d in (alice, bob) for e in d.drain_events())
    return [
        Outcome("S02", mode, f"{t} colluding", "every escrowed message exposed",
                count == total, {"exposed_total": count, "min_coalition": minimum,
                                 "detectable": "none"},
                {"archived": total, "threshold": t, "parties": n,
                 "min_coalition_needs": "the archive too"}),
        Outcome("S02", mode, "nothing notices", "archive and sessions unchanged, users see "
                "no failure", untouched and failures == 0,
                {"state_unchanged": untouched, "detectable": "none"},
                {"receive_failures_after": failures}),
    ]


# -- S03 -----------------------------------------------------------------------------------

@scenario("S03", "key-theft", "t custodian keys and the archive stolen, decrypted offline",
          ("none", *ESCROW_MODES))
def key_theft(params: Params, mode: str) -> list[Outcome]:
    world = standard_world(mode, talks(params))
    total = len(world.entries())
    archive_copy = list(world.entries())  # offline from here on: the relay is not asked again
    identities = {f"{u}:1": world.identity_of(f"{u}:1") for u in world.devices}
    offline = ListArchive(archive_copy, identities)
    if mode == "leaf16":
        # the agents' unit-key stores and the family key (what the chip's maker holds)
        deployment = world.deployment
        thief = Issuer("thief")
        releasers = [party(deployment, i, thief.verifier(), world.clock) for i in range(2)]
        count = sum(read_with(deployment, offline, Window(c, 0.0, 1e12), thief, releasers,
                              world.clock).messages_recovered for c in world.conversations)
        return [_theft_outcome(mode, count, total, world, archive_copy, {"stolen": "both "
                               "agents' unit-key stores and the family key"})]
    if mode == "none":
        # the same theft of a custodian deployment's keys, against an archive with no escrow
        custodians = deploy("threshold")
        stolen = _steal(custodians.custodians)
        count = 0
        for entry in archive_copy:
            for custodian in stolen:
                try:
                    open_own_share(custodian, custodians.custodian_set, entry.envelope)
                except ReleaseRefusedError:
                    continue
                count += 1
        records = sum(entry.record != b"" for entry in archive_copy)
        return [Outcome("S03", mode, f"{THRESHOLD} keystores stolen",
                        "0 past messages (forward secrecy)", count == 0 and records == 0,
                        {"exposed_total": count, "detectable": "none"},
                        {"archived": total, "records_in_archive": records})]
    deployment = world.deployment
    stolen = _steal(deployment.custodians)
    thief = Issuer("thief")
    releasers = [stolen_custodian(c, deployment.custodian_set) for c in stolen]
    count = sum(read_with(deployment, offline, Window(c, 0.0, 1e12), thief, releasers,
                          world.clock).messages_recovered for c in world.conversations)
    wrong = _store_alone(deployment.custodians[0])
    return [_theft_outcome(mode, count, total, world, archive_copy,
                           {"stolen": f"{len(stolen)} keystores and their passphrases"}),
            Outcome("S03", mode, "store without passphrase", "a stolen file alone opens nothing",
                    wrong == {"passphrase", "file"}, {"exposed_total": 0},
                    {"refused": sorted(wrong)})]


def _theft_outcome(mode, count, total, world, archive_copy, details) -> Outcome:
    untouched = [e.envelope for e in world.entries()] == [e.envelope for e in archive_copy]
    return Outcome("S03", mode, "keys and archive stolen", "the whole archive, offline",
                   count == total and untouched,
                   {"exposed_total": count, "detectable": "none", "state_unchanged": untouched},
                   {"archived": total, **details})


def _steal(custodians) -> list:
    """The custodians' stores written to disk; the thief copies t of them and opens them
    with their passphrases (the real keystore code)."""
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for custodian in custodians[:THRESHOLD]:
            path = Path(tmp) / f"{custodian.custodian_id}.json"
            keystore.save(path, custodian, PASSPHRASE, keystore.FAST_KDF)
            copies.append(path.read_bytes())
    return [keystore.open_keystore(copy, PASSPHRASE) for copy in copies]


def _store_alone(custodian) -> set[str]:
    """Which of a guessed passphrase and an edited file the keystore refuses."""
    refused = set()
    sealed = keystore.seal(custodian, PASSPHRASE, keystore.FAST_KDF)
    edited = sealed.replace(b'"name": "Custodian 1"', b'"name": "Custodian X"')
    for name, data, passphrase in (("passphrase", sealed, "guessed passphrase"),
                                   ("file", edited, PASSPHRASE)):
        try:
            keystore.open_keystore(data, passphrase)
        except KeystoreError:
            refused.add(name)
    return refused


# -- S05 -----------------------------------------------------------------------------------

BAD_SHARES = {
    "flipped": lambda value: bytes([value[0] ^ 0x80]) + value[1:],
    "random": lambda value: os.urandom(len(value)),
}


@scenario("S05", "cust-dos", "custodians refuse, go offline or return bad shares",
          CUSTODIAN_MODES)
def cust_dos(params: Params, mode: str) -> list[Outcome]:
    messages = 12 if not params.full else 48
    world = standard_world(mode, [("alice", "bob", messages, 2, 4.0)])
    deployment = world.deployment
    n, t = len(deployment.parties), deployment.threshold
    conversation = world.conversations[0]
    day0 = min(e.received_at for e in world.entries())
    window = Window(conversation, day0 + DAY, day0 + 3 * DAY)
    judge = Issuer()
    out = []
    for kind, bad in sorted(BAD_SHARES.items()):
        for refusing in range(n + 1):
            for liars in range(n + 1 - refusing):
                present = list(range(refusing, n))
                lying, honest = present[:liars], present[liars:]
                releasers = [_liar(deployment, number, bad) for number in lying] + \
                    [party(deployment, number, judge.verifier(), world.clock)
                     for number in honest]
                report = read_with(deployment, world.archive, window, judge, releasers,
                                   world.clock)
                culprits = list(report.culprits)
                named = [deployment.parties[i] for i in lying]
                if len(honest) >= t:
                    holds = (report.messages_recovered == report.messages_in_scope > 0
                             and culprits == named and report.complete
                             and set(report.custodians_used) <= {deployment.parties[i]
                                                                 for i in honest})
                else:
                    outcome = NOT_RELEASED if len(present) < t else FORGED
                    holds = report.messages_recovered == 0 and all(
                        c.outcome == outcome and f"{t}" in c.reason for c in report.chains)
                out.append(Outcome(
                    "S05", mode, f"{kind}: {refusing} refuse, {liars} lie",
                    "recovered iff t good shares; every liar named",
                    holds,
                    {"recovery_success": report.messages_recovered > 0,
                     "culprit_identified": culprits == named,
                     "exposed_total": report.messages_recovered},
                    {"kind": kind, "refusing": refusing, "lying": liars, "good": len(honest),
                     "threshold": t, "culprits": culprits,
                     "in_scope": report.messages_in_scope}))
    out.append(_altered_in_transit(mode, deployment, world, window, judge))
    return out


def _liar(deployment, number: int, bad):
    """Custodian ``number`` signing, with its own key, a wrong share of every record."""
    custodian, cset = deployment.custodians[number], deployment.custodian_set

    def releaser(authorisation, scoped):
        out = []
        for item in scoped:
            digest, index, value = open_own_share(custodian, cset, item.envelope)
            context = RecordContext.of_envelope(parse_envelope(item.envelope))
            out.append(seal_release(custodian, cset, authorisation, digest, index, bad(value),
                                    context))
        return out
    return releaser


def _altered_in_transit(mode, deployment, world, window, judge) -> Outcome:
    """One release's sealed share edited on the way: ignored, nobody blamed."""
    t = deployment.threshold

    def altered(releaser):
        def edit(authorisation, scoped):
            releases = releaser(authorisation, scoped)
            first = releases[0]
            sealed = dataclasses.replace(first.sealed, ciphertext=bytes(
                [first.sealed.ciphertext[0] ^ 1]) + first.sealed.ciphertext[1:])
            return [dataclasses.replace(first, sealed=sealed)] + releases[1:]
        return edit

    releasers = [party(deployment, i, judge.verifier(), world.clock) for i in range(t + 1)]
    releasers[0] = altered(releasers[0])
    report = read_with(deployment, world.archive, window, judge, releasers, world.clock)
    holds = (report.ignored_releases == 1 and report.culprits == ()
             and report.messages_recovered == report.messages_in_scope)
    return Outcome("S05", mode, "altered in transit", "ignored, not blamed", holds,
                   {"recovery_success": report.messages_recovered > 0,
                    "culprit_identified": bool(report.culprits)},
                   {"ignored_releases": report.ignored_releases,
                    "culprits": list(report.culprits)})
