"""Real objects to seed the fuzzer with, made by running the system itself.

For each escrow mode (``none``, ``threshold``, ``leaf16``, ``crumple``) the narrated
demo's world is built (:func:`escrowlab.demo.demo_chats`: four devices, a 1:1 chat
and a group chat over the relay, with that mode's hook on every device), and from
it the harness takes the archived envelopes and records, the devices' stored
sessions, trust records and prekeys, and the relay's bundles and uploads. Per mode
a live session pair (as in the messaging tests) gives envelopes not yet delivered
(the last of them carries a safety voucher: a version-2 envelope) and the chain
contexts the hook saw. Threshold and crumple add a signed
authorisation, the custodians' releases, the custodian set and a keystore; leaf16
adds its family key and escrow agents. An audit log with three witnesses gives
signed checkpoints with cosignatures, receipts, entries, add-checkpoint requests
and a proof-of-misbehaviour file.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from messaging.clock import ManualClock
from messaging.hooks import ChainContext, NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session

MODES = ("none", "threshold", "leaf16", "crumple")
START = 1_767_261_600.0
CUSTODIANS = 3
THRESHOLD = 2
KEYSTORE_PASSPHRASE = "fuzz keystore passphrase"  # noqa: S105 (a throwaway keystore)
ORIGIN = "audit.escrowlab.fuzz/log"  # the seed audit log's origin line (C2SP tlog-checkpoint)


class CapturingHook:
    """Wraps a mode's hook and keeps every (context, record) it made for a sending chain."""

    def __init__(self, hook) -> None:
        self.inner = hook
        self.mode = hook.mode
        self.made: list[tuple[ChainContext, bytes]] = []

    def record_for_chain(self, context: ChainContext) -> bytes:
        record = self.inner.record_for_chain(context)
        self.made.append((context, record))
        return record

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        self.inner.check_chain(context, record)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class LivePair:
    """Alice's and Bob's sessions of one mode, and envelopes Alice made that Bob has not
    seen (the first of them is a prekey message for Bob's responder side)."""

    mode: str
    alice_hook: Any
    bob_hook: Any
    bob: Session
    bob_state: bytes
    clock: ManualClock
    pending: list[bytes]
    first_message: bytes
    bob_identity: IdentityKeyPair
    bob_prekeys_state: bytes
    contexts: list[tuple[ChainContext, bytes]]


@dataclass
class ModeWorld:
    mode: str
    hook_for: Any
    entries: list  # the relay archive's entries
    identity_of: Any
    devices: dict
    relay: Any
    clock: ManualClock
    pair: LivePair
    extras: dict = field(default_factory=dict)


@dataclass
class AuditWorld:
    log_signer: Any
    witness_signers: list
    witness_verifiers: list
    notes: list[str]
    checkpoints: list[str]
    receipts: list[dict]
    entries: list[bytes]
    requests: list[bytes]
    base_note: str
    evidence: dict
    clock: Any


@dataclass
class World:
    modes: dict[str, ModeWorld]
    audit: AuditWorld
    tmp: tempfile.TemporaryDirectory

    def close(self) -> None:
        self.tmp.cleanup()


def _crumple_bits() -> int:
    from escrow.crumple.puzzle import MIN_PUZZLE_BITS
    return MIN_PUZZLE_BITS


def _hooks(mode: str, extras: dict):
    """A function from device address to that device's hook for ``mode``; threshold and
    crumple come from the mode registry's deployment (:mod:`escrow.modes`)."""
    if mode == "none":
        return lambda address: NoEscrow()
    if mode in ("threshold", "crumple"):
        from escrow.modes import get_mode
        given = {"custodians": CUSTODIANS, "threshold": THRESHOLD}
        if mode == "crumple":
            given.update(puzzle_bits=_crumple_bits(), puzzle_workers=1)
        deployment = get_mode(mode).deployment(**given)
        extras.update(deployment=deployment, custodians=list(deployment.custodians),
                      custodian_set=deployment.custodian_set, hook=deployment.hook)
        return deployment.hook_for
    from escrow.leaf16.hook import Leaf16Escrow
    from escrow.leaf16.leaf import FamilyKey
    from escrow.leaf16.module import LeafModule
    from escrow.leaf16.unit import EscrowAgent, program_unit
    family = FamilyKey.generate()
    agents = (EscrowAgent("agent-1"), EscrowAgent("agent-2"))
    extras.update(family_key=family, agents=agents, units={})

    def hook_for(address: str):
        unit = program_unit(agents)
        extras["units"][address] = unit.unit_id
        return Leaf16Escrow(LeafModule(family, unit, 16))

    return hook_for


def _live_pair(mode: str, hook_for, clock: ManualClock) -> LivePair:
    alice_hook = CapturingHook(hook_for("alice:9"))
    bob_hook = CapturingHook(hook_for("bob:9"))
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, alice_hook.mode, 3, 2)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    alice_session = Session.initiate(alice, "alice:9", bundle, "bob:9", "dm:alice:bob",
                                     alice_hook, clock)
    prekeys_state = prekeys.serialize()
    first = alice_session.encrypt(b'{"v":1}')
    bob_session, _ = Session.respond(bob, prekeys, "bob:9", first, bob_hook, clock)
    second_prekey_message = alice_session.encrypt(b"still a prekey message")
    clock.advance(60)
    alice_session.decrypt(bob_session.encrypt(b"reply"))  # Alice ratchets: a new chain
    pending = [second_prekey_message]
    pending += [alice_session.encrypt(b"m%d" % i) for i in range(3)]
    pending.append(alice_session.encrypt(b"m3", b"a safety voucher"))  # a version-2 envelope
    return LivePair(mode, alice_hook, bob_hook, bob_session, bob_session.serialize(), clock,
                    pending, first, bob, prekeys_state, alice_hook.made + bob_hook.made)


def build_mode(mode: str, messages: int = 2) -> ModeWorld:
    from escrowlab.demo import Narrator, demo_chats
    extras: dict = {}
    hook_for = _hooks(mode, extras)
    args = argparse.Namespace(escrow=mode, messages=messages, http=False, json=True)
    narrator = Narrator(enabled=False)
    with demo_chats(args, narrator, hook_for) as chats:
        world = chats.world
        entries = world.relay.archive.entries()
        identity_of = world.relay.archive.identity
    clock = ManualClock(START + 86_400)
    pair = _live_pair(mode, hook_for, clock)
    mw = ModeWorld(mode, hook_for, entries, identity_of, world.devices, world.relay,
                   world.clock, pair, extras)
    if mode in ("threshold", "crumple"):
        _escrow_artefacts(mw)
    return mw


def _escrow_artefacts(mw: ModeWorld) -> None:
    """A signed authorisation for the 1:1 chat and the releases of t custodians, made by the
    lawful-access workflow (:mod:`escrowlab.demo.warrant` over :mod:`escrow.workflow`), and a
    keystore."""
    from escrow import keystore
    from escrow.scope import Window
    from escrowlab.demo.warrant import issue, release
    extras = mw.extras
    conversation = "dm:alice:bob"
    times = [e.received_at for e in mw.entries if e.conversation_id == conversation]
    window = Window(conversation, min(times), max(times) + 1)
    warrant = issue(extras["deployment"], mw.relay.archive, window, "W-fuzz", mw.clock)
    release(warrant, range(THRESHOLD), mw.clock)
    extras.update(
        window=(window.start, window.end), scoped=warrant.scoped,
        recovery_key=warrant.recovery_key, authorisation=warrant.authorisation,
        verifier=warrant.verifier, releases=warrant.releases,
        keystore=keystore.seal(extras["custodians"][0], KEYSTORE_PASSPHRASE,
                               keystore.FAST_KDF))


class FixedClock:
    """A clock that stands still at ``t`` (the audit world's signers and witnesses)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


def build_audit(tmp: Path) -> AuditWorld:
    """A log of 6 events with a 2-of-3 witness quorum, and a forked copy's evidence."""
    from audit.checkpoint import Checkpoint
    from audit.errors import VerificationError
    from audit.log import AuditLog
    from audit.note import SIG_TYPE_COSIGNATURE_V1, Signer, b64, parse_note
    from audit.quorum import WitnessQuorum
    from audit.storage import LogStore
    from audit.verifier import verify_log
    from audit.witness import Witness

    clock = FixedClock(START)
    log_signer = Signer.generate(ORIGIN, now=clock.now)
    witness_signers = [Signer.generate(f"witness-{i}.fuzz", SIG_TYPE_COSIGNATURE_V1, clock.now)
                       for i in range(3)]
    witnesses = [Witness(s, [log_signer.verifier], tmp / f"witness-{i}.db", clock, create=True)
                 for i, s in enumerate(witness_signers)]
    log = AuditLog.open(tmp / "audit.db", log_signer, clock=clock,
                        quorum=WitnessQuorum(witnesses, 2))
    receipts = []
    notes = []
    for i in range(6):
        receipt = log.append_event("warrant.filed", f"officer-{i}",
                                   {"case": f"C-{i}", "n": i, "ok": True, "tags": ["a", "b"]})
        receipts.append(receipt.to_json())
        notes.append(receipt.checkpoint)
    entries = [log.store.leaf(i) for i in range(log.size)]
    base_note = notes[2]
    base_size = Checkpoint.parse(parse_note(base_note).text).size
    requests = []
    for note in (notes[-1], notes[3]):
        size = Checkpoint.parse(parse_note(note).text).size
        proof = log.store.consistency_proof(base_size, size)
        requests.append((f"old {base_size}\n" + "".join(b64(p) + "\n" for p in proof)
                         + "\n" + note).encode())
    requests.append(("old 0\n\n" + base_note).encode())
    log.close()
    for w in witnesses:
        w.close()
    # a forked log under the same key: its signed checkpoint is inconsistent with ours
    fork = AuditLog.open(tmp / "fork.db", log_signer, clock=clock)
    for i in range(8):
        fork.append_event("warrant.filed", "mallory", {"case": f"F-{i}"})
    fork.close()
    evidence_path = tmp / "evidence.json"
    store = LogStore(tmp / "fork.db", create=False)
    try:
        verify_log(store, log_signer.verifier, trusted_checkpoint=notes[3],
                   evidence_path=evidence_path)
    except VerificationError:
        pass
    finally:
        store.close()
    evidence = json.loads(evidence_path.read_text(encoding="utf-8"))
    checkpoints = [parse_note(n).text for n in notes]
    return AuditWorld(log_signer, witness_signers, [s.verifier for s in witness_signers],
                      notes, checkpoints, receipts, entries, requests, base_note, evidence, clock)


def build_world(modes: tuple[str, ...] = MODES, messages: int = 2) -> World:
    tmp = tempfile.TemporaryDirectory(prefix="escrowlab-fuzz-")
    worlds = {mode: build_mode(mode, messages) for mode in modes}
    return World(worlds, build_audit(Path(tmp.name)), tmp)
