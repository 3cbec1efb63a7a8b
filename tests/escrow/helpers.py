"""Builders for the escrow tests: custodians, a pinned set, a recorded conversation between
two real sessions under the threshold hook, an issuer and its authorisations, and the
lawful-access workflow over them (:mod:`escrow.workflow`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import SignedAuthorisation
from escrow.context import RecordContext
from escrow.crumple.deployment import CrumpleDeployment
from escrow.crumple.hook import CrumpleEscrow
from escrow.custodian import Custodian
from escrow.custodian_set import CustodianSet
from escrow.modes import MODES, Mode
from escrow.release import open_own_share, release_share, seal_release
from escrow.scope import ListArchive, Window
from escrow.threshold import recovery as threshold_recovery
from escrow.threshold.deployment import CustodianDeployment, custodian_deploy
from escrow.threshold.hook import ThresholdEscrow
from escrow.threshold.recovery import recover
from escrow.workflow import Attempt, LawfulAccess
from escrowlab.scenarios.fixture import Issuer
from messaging.addresses import direct_conversation_id
from messaging.client import Device
from messaging.clock import ManualClock
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport
from messaging.session import Session
from messaging.wire import parse_envelope
from tests.builders import session_pair

DAY = 86_400.0


def make_custodians(n: int, prefix: str = "K") -> list[Custodian]:
    return [Custodian.generate(f"{prefix}{i + 1}", f"Custodian {i + 1}", "JA")
            for i in range(n)]


def make_set(custodians: list[Custodian], threshold: int, epoch: int = 1) -> CustodianSet:
    return CustodianSet(epoch, threshold, tuple(c.public for c in custodians))


@dataclass
class Entry:
    """An archive entry as the relay keeps it: envelope bytes and receipt time."""

    envelope: bytes
    received_at: float


@dataclass
class Conversation:
    """Alice and Bob talking through real sessions; every envelope archived on the way."""

    alice: Session
    bob: Session
    clock: ManualClock
    identities: dict
    archive: list[Entry] = field(default_factory=list)
    relay_delay: float = 1.0
    identity_keys: dict = field(default_factory=dict, repr=False)

    def send(self, sender: str, text: bytes) -> bytes:
        source, sink = (self.alice, self.bob) if sender == "alice" else (self.bob, self.alice)
        envelope = source.encrypt(text)
        self.archive.append(Entry(envelope, self.clock.now() + self.relay_delay))
        assert sink.decrypt(envelope) == text
        return envelope

    def identity_of(self, address: str):
        return self.identities[address]

    def relay_archive(self, extra=()) -> ListArchive:
        """The archive as the relay's read API serves it (plus ``extra`` injected entries)."""
        return ListArchive([*self.archive, *extra], self.identities)


def conversation(hook, bob_hook=None, clock=None, conversation_id: str = "C1") -> Conversation:
    """A started conversation (:func:`tests.builders.session_pair`); the first message
    (Alice's prekey message) is archived."""
    pair = session_pair(hook, bob_hook or hook, clock=clock, conversation_id=conversation_id,
                        one_time=1, kem=1)
    alice, bob = pair.alice_identity, pair.bob_identity
    conv = Conversation(pair.alice, pair.bob, pair.clock,
                        {"alice:1": alice.public, "bob:1": bob.public},
                        identity_keys={"alice:1": alice, "bob:1": bob})
    conv.archive.append(Entry(pair.first_envelope, pair.clock.now() + conv.relay_delay))
    return conv


def chatter(conv: Conversation, days: int, per_day: int, ratchet_every: int) -> None:
    """``per_day`` messages a day for ``days`` days, switching sender every
    ``ratchet_every`` messages (each switch is a DH ratchet step: a new chain)."""
    count = 0
    for day in range(days):
        for i in range(per_day):
            sender = "alice" if (count // ratchet_every) % 2 == 0 else "bob"
            conv.send(sender, f"day {day} message {i} from {sender}".encode())
            count += 1
            conv.clock.advance(DAY / per_day)


def deployment_of(hook: ThresholdEscrow, custodians=()) -> CustodianDeployment:
    """The deployment of a threshold-record ``hook`` and its custodians."""
    if isinstance(hook, CrumpleEscrow):
        return CrumpleDeployment(hook, custodians)
    return CustodianDeployment(hook, custodians)


def mode_of(hook: ThresholdEscrow) -> Mode:
    """The registered mode of ``hook``, or, for a subclass the tests define, the one registry
    entry such a mode would add."""
    return MODES.get(hook.mode) or Mode(hook.mode, "a threshold-record mode of the tests",
                                        custodian_deploy(type(hook)),
                                        threshold_recovery.recover_window)


@dataclass
class Case:
    """A recorded conversation, its scope, an authorisation and the recovery key."""

    conv: Conversation
    hook: ThresholdEscrow
    custodians: list[Custodian]
    issuer: Issuer
    scoped: list
    recovery_key: X25519PrivateKey
    authorisation: SignedAuthorisation
    start: float
    end: float

    @property
    def archive(self) -> ListArchive:
        return self.conv.relay_archive()

    @property
    def window(self) -> Window:
        return Window("C1", self.start, self.end)

    @property
    def deployment(self) -> CustodianDeployment:
        return deployment_of(self.hook, self.custodians)

    def attempt(self, custodians=None) -> Attempt:
        """A new attempt of this case's authorisation, with the releases of ``custodians``
        (numbers; all of them by default) submitted to it."""
        deployment = self.deployment
        access = LawfulAccess(deployment, self.archive, mode_of(self.hook))
        attempt = access.open(self.window, self.authorisation, self.recovery_key)
        for party in range(len(self.custodians)) if custodians is None else custodians:
            attempt.submit(attempt.nonce, deployment.release(
                party, self.authorisation, self.issuer.verifier(), self.scoped, self.conv.clock))
        return attempt

    def recover(self, releases=None, archive=None, **changes):
        """The real recovery of this case's window (its authorisation, its recovery key):
        through the workflow with every custodian's releases; given ``releases`` (or other
        terms), the recovery entry point itself on exactly those."""
        if releases is None and archive is None and not changes:
            return self.attempt().recover()
        terms = dict(start=self.start, end=self.end, recovery_key=self.recovery_key,
                     authorisation=self.authorisation, conversation_id="C1")
        terms.update(changes)
        return recover(self.hook, archive or self.archive, terms["conversation_id"],
                       terms["start"], terms["end"],
                       self.releases() if releases is None else releases,
                       terms["recovery_key"], authorisation=terms["authorisation"])

    def releases(self, custodians=None):
        out = []
        for custodian in self.custodians if custodians is None else custodians:
            for scoped in self.scoped:
                out.append(release_share(custodian, self.hook.custodian_set,
                                         self.authorisation, self.issuer.verifier(),
                                         scoped.envelope, self.conv.clock))
        return out


def case(n: int = 5, t: int = 3, days: int = 6, per_day: int = 4, ratchet_every: int = 3,
         window: tuple[int, int] = (3, 5), hook_class=ThresholdEscrow) -> Case:
    custodians = make_custodians(n)
    hook = hook_class(make_set(custodians, t))
    conv = conversation(hook)
    day0 = conv.clock.now()
    chatter(conv, days, per_day, ratchet_every)
    start, end = day0 + window[0] * DAY, day0 + window[1] * DAY
    access = LawfulAccess(deployment_of(hook, custodians), conv.relay_archive(), mode_of(hook))
    scoped = list(access.scope(Window("C1", start, end)))
    issuer = Issuer()
    recovery_key = X25519PrivateKey.generate()
    authorisation = issuer.authorise(scoped, recovery_key, conv.clock.now() + 10 * DAY)
    return Case(conv, hook, custodians, issuer, scoped, recovery_key, authorisation, start, end)


# -- the relay-backed world of the attack scenarios (docs/scenarios.md, "Common fixture") --------

@dataclass
class RelayWorld:
    """Real devices talking through a real (in-process) relay that keeps its archive."""

    relay: object
    clock: ManualClock
    devices: dict

    @property
    def archive(self):
        return self.relay.archive

    def entries(self, conversation_id: str | None = None):
        return self.relay.archive.entries(conversation_id)

    def identity_of(self, address: str):
        return self.relay.archive.identity(address)

    def talk(self, first: str, second: str, messages: int, ratchet_every: int,
             seconds_between: float = 600.0) -> str:
        """``messages`` texts between two users, switching sender every ``ratchet_every``."""
        for i in range(messages):
            sender, receiver = (first, second) if (i // ratchet_every) % 2 == 0 \
                else (second, first)
            self.clock.advance(seconds_between)
            self.devices[sender].send_text(receiver, f"{sender} to {receiver} #{i}")
            self.devices[receiver].receive_all()
        return direct_conversation_id(first, second)


def relay_world(hook, users=("alice", "bob", "carol", "dave")) -> RelayWorld:
    """Devices ``user:1`` through one relay; ``hook`` is every device's hook, or a function
    from an address to that device's (a deployment's ``hook_for``)."""
    clock = ManualClock()
    relay = RelayService("sqlite://", clock=clock)
    transport = InProcessTransport(relay)
    hook_for = hook if callable(hook) else (lambda address: hook)
    devices = {user: Device.create(user, 1, transport, hook=hook_for(f"{user}:1"), clock=clock,
                                   one_time_prekeys=4, kem_prekeys=2) for user in users}
    return RelayWorld(relay, clock, devices)


def custodian_world(n: int, t: int, talks):
    """A t-of-n threshold deployment on a relay, and the conversations ``talks`` names
    (``(first, second, messages, ratchet_every)`` each): hook, custodians, world, ids."""
    custodians = make_custodians(n)
    hook = ThresholdEscrow(make_set(custodians, t))
    w = relay_world(hook)
    return hook, custodians, w, [w.talk(*talk) for talk in talks]


def coalition_read(hook: ThresholdEscrow, custodians: list[Custodian], archive,
                   conversation_id: str):
    """Custodians acting on their own, no warrant: each opens its share of every archived
    record with its key, signs a release to the coalition's own key, and the workflow's real
    recovery combines them (below t, every chain is reported not released)."""
    window = Window(conversation_id, 0.0, 1e12)
    access = LawfulAccess(deployment_of(hook), archive)
    scoped = access.scope(window)
    recovery_key = X25519PrivateKey.generate()
    own = Issuer("coalition").authorise(scoped, recovery_key, 1e12, "no-warrant")
    attempt = access.open(window, own, recovery_key)
    for custodian in custodians:
        releases = []
        for item in scoped:
            digest, index, value = open_own_share(custodian, hook.custodian_set, item.envelope)
            context = RecordContext.of_envelope(parse_envelope(item.envelope))
            releases.append(seal_release(custodian, hook.custodian_set, own, digest, index,
                                         value, context))
        attempt.submit(attempt.nonce, releases)
    return attempt.recover()


def forge_envelope(envelope: bytes, **changes) -> bytes:
    """``envelope`` edited as its sender may: header fields (``header_<name>``) and envelope
    fields (``<name>``), re-encoded; the AEAD is not redone, so a genuine key fails on it."""
    parsed = parse_envelope(envelope)
    header = dataclasses.replace(parsed.header, **{k[7:]: v for k, v in changes.items()
                                                   if k.startswith("header_")})
    rest = {k: v for k, v in changes.items() if not k.startswith("header_")}
    return dataclasses.replace(parsed, header=header, **rest).encode()
