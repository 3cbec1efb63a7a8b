"""S19 provider-compromise (docs/scenarios.md; docs/ghost.md, "A compromised provider").

The attacker has full control of the relay, under every mode. Each variant runs the real
relay, clients, escrow hooks and (where the variant says so) key transparency:

- ``read-archive``: search every archived envelope and record for the plaintexts, and run
  the mode's recovery with no party's release (the workflow, :mod:`escrow.workflow`);
- ``substitute-bundle``: serve Alice another device's prekey bundle for bob:1;
- ``substitute-identity``: serve Alice a device list with another identity for bob:1, once
  without key transparency (the safety number changes) and once with it;
- ``add-device``: add a device to Bob's list and count what it reads, without and with
  key transparency (Bob's device monitors its entry);
- ``drop-envelope``: acknowledge one envelope on Bob's behalf so it is never delivered;
- ``replay-envelope``: queue an envelope Bob already read once more (the provider writes
  its own queue; the relay's send path would answer a resent envelope as the first time);
- ``record-metadata``: count the fields of an archived entry readable without any key.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import insert

from escrow.errors import EscrowError
from escrow.modes import get_mode
from escrow.record import parse_record
from escrow.scope import Window
from escrowlab.demo.warrant import issue
from escrowlab.keytrans.attacks import (
    RewritingTransport,
    substitute_bundle,
    substitute_identity,
)
from escrowlab.keytrans.ghost import inject
from escrowlab.keytrans.world import build
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.addresses import direct_conversation_id
from messaging.directory import DirectoryRefusedError
from messaging.errors import HandshakeError
from messaging.identity import IdentityKeyPair
from messaging.relay import schema
from messaging.trust import IdentityChanged
from messaging.wire import Header, parse_envelope

MODES = ("none", "threshold", "leaf16", "crumple", "ghost")
SMALL = {"crumple": {"puzzle_bits": 4}, "leaf16": {"leaf_width": 8}}
ENTRY_FIELDS = ("received_at", "sender", "recipient", "conversation_id", "envelope size")


def _world(mode: str, kt: bool = False):
    deployment = get_mode(mode).deployment(**SMALL.get(mode, {}))
    world = build(hook_for=deployment.hook_for, quorum=2)
    alice = world.device("alice", 1, verify=kt)
    bob = world.device("bob", 1, verify=kt)
    return deployment, world, alice, bob


def _chat(world, alice, bob, messages: int) -> list[str]:
    texts = []
    for i in range(messages):
        world.clock.advance(600)
        sender, peer = (alice, "bob") if i % 2 == 0 else (bob, "alice")
        text = f"S19 secret {i} from {sender.user}"
        sender.send_text(peer, text)
        texts.append(text)
        alice.receive_all()
        bob.receive_all()
    return texts


def read_archive(mode: str, messages: int) -> Outcome:
    deployment, world, alice, bob = _world(mode)
    try:
        texts = _chat(world, alice, bob, messages)
        entries = world.relay.archive.entries()
        hits = sum(1 for e in entries for t in texts
                   if t.encode() in e.envelope or t.encode() in e.record)
        recovered = 0
        if deployment.threshold:
            conversation = direct_conversation_id("alice", "bob")
            window = Window(conversation, entries[0].received_at, entries[-1].received_at + 1)
            report = issue(deployment, world.relay.archive, window, "S19", world.clock) \
                .attempt.recover()
            recovered = report.messages_recovered
        return Outcome("S19", mode, "read-archive",
                       "0 messages exposed without custodians", hits + recovered == 0,
                       {"exposed_total": hits + recovered, "recovery_success": recovered > 0,
                        "min_coalition": deployment.threshold},
                       {"archived": len(entries), "plaintext_hits": hits,
                        "recovered_without_releases": recovered})
    finally:
        world.close()


def substitute_bundle_variant(mode: str) -> Outcome:
    deployment, world, alice, bob = _world(mode)
    try:
        world.device("mallory", 1, verify=False)
        with world.relay.transaction() as conn:
            bundle = world.relay.fetch_bundle(conn, "mallory:1", "mallory:1")
        alice.relay.transport = RewritingTransport(world.transport,
                                                   substitute_bundle("bob:1", bundle))
        refused = False
        try:
            alice.send_text("bob", "to the wrong key?")
        except HandshakeError:
            refused = True
        session = alice.session_with(direct_conversation_id("alice", "bob"), "bob:1")
        return Outcome("S19", mode, "substitute-bundle",
                       "the sender refuses a bundle not signed by the listed identity",
                       refused and session is None,
                       {"forged_accepted": not refused, "detectable": "user-ui" if refused
                        else "none", "state_unchanged": session is None})
    finally:
        world.close()


def substitute_identity_variant(mode: str, kt: bool) -> Outcome:
    deployment, world, alice, bob = _world(mode, kt=kt)
    try:
        alice.send_text("bob", "first contact")
        bob.receive_all()
        mallory = IdentityKeyPair.generate()
        alice.relay.transport = RewritingTransport(
            world.transport, substitute_identity("bob:1", mallory.public))
        alice.drain_events()
        refused = False
        try:
            alice.refresh_devices("bob")
        except DirectoryRefusedError:
            refused = True
        changed = [e for e in alice.drain_events() if isinstance(e, IdentityChanged)]
        kept = alice.known_devices("bob")["bob:1"].encode() == bob.identity.public.encode()
        detector = "kt-monitor" if refused else ("user-ui" if changed else "none")
        variant = "substitute-identity/" + ("kt" if kt else "no-kt")
        expected = ("refused by the KT verifier, nothing changed" if kt else
                    "accepted, shown as a safety-number change")
        return Outcome("S19", mode, variant, expected,
                       (refused and kept) if kt else bool(changed),
                       {"forged_accepted": not refused, "detectable": detector,
                        "state_unchanged": kept},
                       {"safety_number_changes": len(changed)})
    finally:
        world.close()


def add_device_variant(mode: str, kt: bool) -> Outcome:
    deployment, world, alice, bob = _world(mode, kt=kt)
    try:
        watch = world.watch(bob, kt=kt)
        alice.send_text("bob", "before")
        bob.receive_all()
        watch.kt_alarm()
        alice.drain_events()
        ghost = inject(world.relay, world.transport, "bob", deployment.hook_for("bob:99"),
                       world.clock)
        world.clock.advance(600)
        alice.send_text("bob", "after")
        read = len(ghost.receive_all())
        peer_notices = [e for e in alice.drain_events() if "bob:99" in getattr(e, "added", ())]
        alerts = watch.kt_alarm()
        detectors = (["kt-monitor"] if alerts else []) + (["user-ui"] if peer_notices else [])
        return Outcome("S19", mode, "add-device/" + ("kt" if kt else "no-kt"),
                       "the added device reads what follows; shown to the peer"
                       + (" and to the owner's KT monitor" if kt else ""),
                       bool(peer_notices) and (bool(alerts) == kt),
                       {"exposed_total": read, "detectable": detectors or "none"},
                       {"kt_alerts": len(alerts)})
    finally:
        world.close()


def drop_envelope(mode: str) -> Outcome:
    deployment, world, alice, bob = _world(mode)
    try:
        alice.send_text("bob", "kept 1")
        bob.receive_all()
        alice.send_text("bob", "dropped")
        with world.relay.transaction() as conn:
            queued = world.relay.fetch_queue(conn, "bob:1", 10)["messages"]
            world.relay.acknowledge(conn, "bob:1", [e["id"] for e in queued])
        alice.send_text("bob", "kept 2")
        bob.drain_events()
        got = [m.body for m in bob.receive_all()]
        noticed = [e for e in bob.drain_events() if type(e).__name__ == "ReceiveFailed"]
        return Outcome("S19", mode, "drop-envelope",
                       "the dropped message is lost; nothing tells the recipient",
                       got == ["kept 2"] and not noticed,
                       {"detectable": "recipient" if noticed else "none"},
                       {"dropped": len(queued), "delivered_after": len(got)})
    finally:
        world.close()


def replay_envelope(mode: str) -> Outcome:
    deployment, world, alice, bob = _world(mode)
    try:
        ids = alice.send_text("bob", "only once")
        first = [m.body for m in bob.receive_all()]
        entry = next(world.relay.archive.entry(i) for i in ids
                     if world.relay.archive.entry(i).recipient == "bob:1")
        with world.relay.transaction() as conn:  # the provider queues it again itself
            conn.execute(insert(schema.queue).values(recipient="bob:1", archive_id=entry.id))
        again = bob.receive_all()
        return Outcome("S19", mode, "replay-envelope", "the replayed envelope is refused",
                       first == ["only once"] and again == [] and bob.duplicates == 1,
                       {"forged_accepted": bool(again), "detectable": "recipient"
                        if bob.duplicates else "none", "state_unchanged": not again},
                       {"duplicates_recognised": bob.duplicates})
    finally:
        world.close()


def record_metadata(mode: str) -> Outcome:
    deployment, world, alice, bob = _world(mode)
    try:
        alice.send_text("bob", "metadata")
        entry = world.relay.archive.entries()[-1]
        header = parse_envelope(entry.envelope).header
        header_fields = [f.name for f in dataclasses.fields(Header) if f.name != "record"]
        record_fields: list[str] = []
        if entry.record:
            try:
                record_fields = [f.name for f in dataclasses.fields(parse_record(entry.record))]
            except EscrowError:
                record_fields = ["opaque record"]
        count = len(ENTRY_FIELDS) + len(header_fields) + len(record_fields)
        return Outcome("S19", mode, "record-metadata", "metadata fields counted per mode",
                       header.mode == deployment.mode,
                       {"metadata_fields": count},
                       {"entry_fields": list(ENTRY_FIELDS), "header_fields": header_fields,
                        "record_fields": record_fields})
    finally:
        world.close()


@scenario("S19", "provider-compromise",
          "full control of the relay: archive, prekeys, devices, drops, replays, metadata",
          MODES)
def run(params: Params, mode: str) -> list[Outcome]:
    messages = 12 if params.full else 4
    return [read_archive(mode, messages), substitute_bundle_variant(mode),
            substitute_identity_variant(mode, kt=False),
            substitute_identity_variant(mode, kt=True),
            add_device_variant(mode, kt=False), add_device_variant(mode, kt=True),
            drop_envelope(mode), replay_envelope(mode), record_metadata(mode)]
