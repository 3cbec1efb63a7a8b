"""The common fixture of the attack scenarios (docs/scenarios.md, "The standard cast").

Everything here runs the real code: devices talking through a real in-process relay that
keeps its archive, deployments built by the mode registry (:mod:`escrow.modes`), lawful
access (or a coalition acting without it) through the workflow (:mod:`escrow.workflow`),
witnessed audit logs, and sessions built by the messaging core's own handshake.

- :func:`relay_world`: users Alice, Bob, Carol and Dave (``user:1``) on one relay, under one
  deployment; :meth:`World.talk` runs a conversation over simulated days (injected clock)
  with a DH ratchet step every ``ratchet_every`` messages.
- :func:`deploy`: the registry's deployment of a mode, with the scenario's parameters.
- :func:`coalition_read`: parties of a deployment acting together under an authorisation
  of their own (no judge), through the real release and recovery code.
- :class:`Issuer`: a judge's signing key and the authorisations it issues;
  :func:`reference_window`: the reference warrant's window (C1, days 3 to 5).
- :func:`session_pair`: two sessions (Alice opens to Bob, Bob answers), no relay.
- :func:`audit_world`: a log with a signed head, three witnesses and a 2-of-3 quorum.
- :func:`rng`: the run's seeded random source for a named purpose (``Params.seed``).
"""

from __future__ import annotations

import os
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.rfc9162 import hash_children, hash_leaf
from audit.witness import Witness
from escrow.authorisation import SignedAuthorisation, TrustedIssuers
from escrow.context import RecordContext
from escrow.custodian import Custodian
from escrow.custodian_set import CustodianSet
from escrow.leaf16.deployment import EesDeployment
from escrow.leaf16.module import LeafModule
from escrow.leaf16.recovery import LeafDecryptor
from escrow.leaf16.unit import program_unit
from escrow.modes import Deployment, get_mode
from escrow.recovery import WindowReport
from escrow.release import open_own_share, seal_release
from escrow.scope import Window
from escrow.workflow import LawfulAccess
from messaging.addresses import direct_conversation_id
from messaging.client import Device
from messaging.clock import ManualClock
from messaging.hooks import PROTOCOL_VERSION, ChainContext, NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport
from messaging.session import Session
from messaging.wire import parse_envelope

DAY = 86_400.0
USERS = ("alice", "bob", "carol", "dave")
CONVERSATIONS = (("alice", "bob"), ("alice", "carol"), ("carol", "dave"))  # C1, C2, C3
CUSTODIANS, THRESHOLD = 5, 3
QUICK_PUZZLE_BITS = 8  # crumple's lock at CI size: the mechanism is the same, 2^7 tries a chain
EVERYTHING = (0.0, 1e12)
REFERENCE_WINDOW_DAYS = (3, 5)  # the reference warrant: C1, [day 3, day 5), expires day 10
REFERENCE_EXPIRY_DAY = 10


def rng(seed: int, purpose: str) -> random.Random:
    """The run's random source for ``purpose``: the same seed gives the same choices."""
    return random.Random(f"{seed}/{purpose}")


def deploy(mode: str, **given: int) -> Deployment:
    """The registry's in-memory deployment of ``mode``; custodian modes default to 3-of-5
    and crumple to :data:`QUICK_PUZZLE_BITS` unless ``given`` says otherwise."""
    spec = get_mode(mode)
    names = {p.name for p in spec.parameters}
    defaults = {"custodians": CUSTODIANS, "threshold": THRESHOLD,
                "puzzle_bits": QUICK_PUZZLE_BITS}
    values = {k: v for k, v in defaults.items() if k in names}
    values.update(given)
    return spec.deployment(**values)


@dataclass
class World:
    """Real devices talking through a real in-process relay that keeps its archive."""

    deployment: Deployment
    relay: RelayService
    clock: ManualClock
    devices: dict[str, Device]
    conversations: list[str] = field(default_factory=list)

    @property
    def archive(self):
        return self.relay.archive

    def entries(self, conversation_id: str | None = None):
        return self.relay.archive.entries(conversation_id)

    def identity_of(self, address: str):
        return self.relay.archive.identity(address)

    def talk(self, first: str, second: str, messages: int, ratchet_every: int,
             days: float = 1.0) -> str:
        """``messages`` texts between two users over ``days`` simulated days, the sender
        switching (a DH ratchet step, a new chain) every ``ratchet_every`` messages."""
        step = days * DAY / max(messages, 1)
        for i in range(messages):
            sender, receiver = (first, second) if (i // ratchet_every) % 2 == 0 \
                else (second, first)
            self.clock.advance(step)
            self.devices[sender].send_text(receiver, f"{sender} to {receiver} #{i}")
            self.devices[receiver].receive_all()
        conversation = direct_conversation_id(first, second)
        if conversation not in self.conversations:
            self.conversations.append(conversation)
        return conversation


def relay_world(deployment: Deployment, users=USERS) -> World:
    """Devices ``user:1`` through one relay, each running ``deployment.hook_for(address)``."""
    clock = ManualClock()
    relay = RelayService("sqlite://", clock=clock)
    transport = InProcessTransport(relay)
    devices = {user: Device.create(user, 1, transport, hook=deployment.hook_for(f"{user}:1"),
                                   clock=clock, one_time_prekeys=4, kem_prekeys=2)
               for user in users}
    return World(deployment, relay, clock, devices)


def reference_window(world: World, conversation_id: str | None = None) -> Window:
    """The reference warrant's window over ``conversation_id`` (default the world's first
    conversation, C1): days 3 to 5 after its first archived message."""
    conversation_id = conversation_id or world.conversations[0]
    day0 = min(e.received_at for e in world.entries(conversation_id))
    start, end = REFERENCE_WINDOW_DAYS
    return Window(conversation_id, day0 + start * DAY, day0 + end * DAY)


def standard_world(mode: str, talks, **given: int) -> World:
    """:func:`relay_world` of :func:`deploy` ``(mode)`` and the conversations ``talks``
    names, each ``(first, second, messages, ratchet_every)``."""
    world = relay_world(deploy(mode, **given))
    for talk in talks:
        world.talk(*talk)
    return world


@dataclass
class Issuer:
    """Whoever signs authorisations (a judge; or a coalition, for itself)."""

    name: str = "judge-1"
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def verifier(self) -> TrustedIssuers:
        return TrustedIssuers({self.name: self.key.public_key().public_bytes_raw()})

    def authorise(self, scoped, recovery_key: X25519PrivateKey, not_after: float,
                  authorisation_id: str = "A-1") -> SignedAuthorisation:
        return SignedAuthorisation.issue(
            self.name, self.key, authorisation_id, tuple(s.ref for s in scoped),
            recovery_key.public_key().public_bytes_raw(), not_after)


def party(deployment: Deployment, number: int, verifier, clock):
    """Party ``number`` of an in-memory deployment as a releaser: its own checks of the
    authorisation under ``verifier``, then its releases (``Deployment.release``)."""
    return lambda authorisation, scoped: deployment.release(number, authorisation, verifier,
                                                            scoped, clock)


def stolen_custodian(custodian: Custodian, custodian_set: CustodianSet):
    """A releaser made of a custodian's stolen keys: the thief opens the custodian's share
    of every record and seals it under any authorisation, checking nothing."""
    def releaser(authorisation, scoped):
        out = []
        for item in scoped:
            digest, index, value = open_own_share(custodian, custodian_set, item.envelope)
            context = RecordContext.of_envelope(parse_envelope(item.envelope))
            out.append(seal_release(custodian, custodian_set, authorisation, digest, index,
                                    value, context))
        return out
    return releaser


def read_with(deployment: Deployment, archive, window: Window, issuer: Issuer, releasers,
              clock, authorisation_id: str = "A-1") -> WindowReport:
    """The workflow end to end: scope ``window``, ``issuer`` authorises it, each releaser
    submits its releases, and the mode's recovery reports every chain."""
    access = LawfulAccess(deployment, archive)
    scoped = access.scope(window)
    recovery_key = X25519PrivateKey.generate()
    authorisation = issuer.authorise(scoped, recovery_key, clock.now() + 10 * DAY,
                                     authorisation_id)
    attempt = access.open(window, authorisation, recovery_key)
    for releaser in releasers:
        attempt.submit(attempt.nonce, releaser(authorisation, scoped))
    return attempt.recover()


def coalition_read(deployment: Deployment, parties, archive, conversation_id: str,
                   clock) -> WindowReport:
    """Parties (numbers) acting on their own, no judge: they sign an authorisation for the
    whole conversation to their own key, trust only that key, release through the real
    release code and recover (below the threshold, every chain is reported not released)."""
    own = Issuer("coalition")
    releasers = [party(deployment, number, own.verifier(), clock) for number in parties]
    return read_with(deployment, archive, Window(conversation_id, *EVERYTHING), own, releasers,
                     clock, "no-warrant")


def exposed(deployment: Deployment, parties, world: World) -> int:
    """Messages of every conversation of ``world`` that ``parties`` read together."""
    return sum(coalition_read(deployment, parties, world.archive, c, world.clock)
               .messages_recovered for c in world.conversations)


def make_custodians(n: int, prefix: str = "K") -> list[Custodian]:
    return [Custodian.generate(f"{prefix}{i + 1}", f"Custodian {i + 1}", "JA")
            for i in range(n)]


def make_set(custodians: list[Custodian], threshold: int, epoch: int = 1) -> CustodianSet:
    return CustodianSet(epoch, threshold, tuple(c.public for c in custodians))


@dataclass
class Pair:
    """Two started sessions (Alice opened to Bob, Bob answered), their identities, Bob's
    prekeys, every envelope sent so far and the clock both read."""

    alice: Session
    bob: Session
    alice_identity: IdentityKeyPair
    bob_identity: IdentityKeyPair
    bob_prekeys: DevicePrekeys
    first_envelope: bytes
    clock: ManualClock
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def send(self, sender: str, text: bytes) -> bytes:
        """``sender`` (``alice`` or ``bob``) sends ``text``; the other side reads it."""
        source, sink = (self.alice, self.bob) if sender == "alice" else (self.bob, self.alice)
        envelope = source.encrypt(text)
        if sink.decrypt(envelope) != text:
            raise AssertionError("a session pair read back another text")
        self.sent.append((sender, envelope))
        return envelope

    def identity_of(self, address: str):
        return {"alice:1": self.alice_identity.public, "bob:1": self.bob_identity.public}[address]


def session_pair(alice_hook=None, bob_hook=None, first: bytes = b"hello",
                 conversation_id: str = "C1") -> Pair:
    """Alice (``alice:1``, ``alice_hook``, default ``none``) opens ``conversation_id`` to Bob
    (``bob:1``, ``bob_hook``, default the same hook) from a bundle of his prekeys under his
    hook's mode; Bob reads her first message ``first``."""
    alice_hook = NoEscrow() if alice_hook is None else alice_hook
    bob_hook = alice_hook if bob_hook is None else bob_hook
    clock = ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, bob_hook.mode, 1, 1)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    session = Session.initiate(alice, "alice:1", bundle, "bob:1", conversation_id, alice_hook,
                               clock)
    envelope = session.encrypt(first)
    bob_session, plaintext = Session.respond(bob, prekeys, "bob:1", envelope, bob_hook, clock)
    if plaintext != first:
        raise AssertionError("Bob read another first message")
    return Pair(session, bob_session, alice, bob, prekeys, envelope, clock,
                [("alice", envelope)])


def chain_context(mode: str, chain_number: int = 0, **changes) -> ChainContext:
    """A chain context from ``alice:1`` to ``bob:1`` in ``C1`` with a random chain key."""
    fields = dict(protocol_version=PROTOCOL_VERSION, mode=mode, conversation_id="C1",
                  sender="alice:1", recipient="bob:1", chain_number=chain_number,
                  chain_key=os.urandom(32), ratchet_public_key=os.urandom(32),
                  time=1_700_000_000)
    fields.update(changes)
    return ChainContext(**fields)


class Ees:
    """One EES family of the registry's ``leaf16`` deployment, with direct access to what
    the Blaze scenarios need: a chip module per unit, the agents, the family-key reader."""

    def __init__(self, width: int = 16) -> None:
        self.deployment: EesDeployment = deploy("leaf16", leaf_width=width)
        self.width = width

    @property
    def agents(self):
        return self.deployment.agents

    def module(self, unit_id: int | None = None) -> LeafModule:
        return LeafModule(self.deployment.family_key,
                          program_unit(self.deployment.agents, unit_id), self.width)

    def hook(self):
        return self.deployment.hook_for(f"device-{len(self.deployment.units)}:1")

    def decryptor(self) -> LeafDecryptor:
        return LeafDecryptor(self.deployment.family_key)


class FixedClock:
    """A clock that reads one instant (witnesses and checkpoints of the log scenarios)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


@dataclass
class AuditWorld:
    """A log on disk with its signer, three witnesses with their own state and a 2-of-3
    quorum (docs/scenarios.md, "The standard cast": witnesses W1..Wm with quorum q)."""

    directory: Path
    signer: Signer
    clock: FixedClock
    witnesses: list[Witness]
    quorum: WitnessQuorum
    log: AuditLog

    def reopen(self) -> AuditLog:
        return AuditLog.open(self.directory / "audit.db", self.signer, clock=self.clock,
                             quorum=self.quorum)

    def close(self) -> None:
        self.log.close()
        for witness in self.witnesses:
            witness.close()


def audit_world(directory: Path, witnesses: int = 3, quorum: int = 2) -> AuditWorld:
    clock = FixedClock()
    signer = Signer.generate("audit.escrowlab.scenario/log")
    ws = [Witness.generate(f"witness-{i}.test", [signer.verifier],
                           directory / f"witness-{i}.db", clock) for i in range(witnesses)]
    q = WitnessQuorum(ws, quorum)
    log = AuditLog.open(directory / "audit.db", signer, clock=clock, quorum=q)
    return AuditWorld(directory, signer, clock, ws, q, log)


def read_leaves(path: Path) -> list[bytes]:
    """The leaf bytes the log's database stores, in order (the operator's view of its files)."""
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT data FROM leaves ORDER BY idx")]


def rewrite_tree(path: Path, leaves: list[bytes], *, drop_checkpoints_above=None) -> None:
    """What an attacker with write access to the log's database does: replace the stored
    leaves and interior nodes by a fully consistent RFC 9162 tree over other leaves, and
    (with ``drop_checkpoints_above``) delete the signed checkpoints above that size and the
    signed head beside the database, so the log would sign the rewritten tree."""
    level = [hash_leaf(x) for x in leaves]
    rows = []
    height = 1
    while len(level) > 1:
        level = [hash_children(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        rows += [(height, i, h) for i, h in enumerate(level)]
        height += 1
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM leaves")
        db.execute("DELETE FROM nodes")
        db.executemany("INSERT INTO leaves VALUES(?, ?, ?)",
                       [(i, x, hash_leaf(x)) for i, x in enumerate(leaves)])
        db.executemany("INSERT INTO nodes VALUES(?, ?, ?)", rows)
        if drop_checkpoints_above is not None:
            db.execute("DELETE FROM checkpoints WHERE size > ?", (drop_checkpoints_above,))
    if drop_checkpoints_above is not None:
        Path(str(path) + ".head").unlink(missing_ok=True)
