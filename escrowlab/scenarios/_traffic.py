"""Conversations over simulated days through a real relay, and a coalition's reading of its
archive: the part of docs/scenarios.md's "standard cast" that the forward-secrecy,
scope-creep and endpoint-collusion families (S04, S10, S17) share.

- :func:`build_world`: Alice, Bob, Carol and Dave, one device each, registered with an
  in-process relay (SQLite in memory, every request signed and checked as over HTTP) that
  keeps its archive; a :class:`~messaging.clock.ManualClock` shared by the devices and the
  relay; each device runs the hook its deployment gives it.
- :func:`run_days`: C1 (Alice-Bob), C2 (Alice-Carol) and C3 (Carol-Dave) exchange
  ``per_day`` messages a day each, the sender switching every ``ratchet_every`` messages
  (each switch is a DH ratchet step: a new sending chain, a new escrow record).
- :func:`read_conversation`: whoever holds ``releases`` (a thief's stolen keys, an officer's
  released material) runs the mode's real recovery (:mod:`escrow.workflow`) over a window,
  under an authorisation it signs itself and a verifier that trusts it.

This module starts with ``_``: :func:`escrowlab.scenarios.registry.load_all` skips it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import AuthorisationVerifier, SignedAuthorisation, TrustedIssuers
from escrow.modes import Deployment
from escrow.recovery import RecoveredMessage, WindowReport
from escrow.scope import ScopedRecord, Window
from escrow.workflow import LawfulAccess
from messaging.addresses import direct_conversation_id
from messaging.client import Device
from messaging.clock import ManualClock
from messaging.content import Message
from messaging.hooks import EscrowHook
from messaging.relay import RelayService
from messaging.relay.archive import ArchiveEntry
from messaging.relay.inprocess import InProcessTransport

DAY = 86_400.0
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
USERS = ("alice", "bob", "carol", "dave")
PAIRS = {"C1": ("alice", "bob"), "C2": ("alice", "carol"), "C3": ("carol", "dave")}
FAR_FUTURE = START + 10_000 * DAY

MessageKey = tuple[str, str, str, int, int]
"""(conversation id, sender, recipient, chain number, message number): one archived message."""


@dataclass
class World:
    """Devices talking through one relay, the clock they share, and the conversation ids."""

    relay: RelayService
    clock: ManualClock
    devices: dict[str, Device]
    start: float = START
    sent: dict[str, int] = field(default_factory=dict)
    inbox: dict[str, list[Message]] = field(default_factory=dict)
    """What each user's device delivered (every decrypted message, in order)."""

    @property
    def archive(self):
        return self.relay.archive

    def conversation(self, name: str) -> str:
        """The relay's id of conversation ``name`` (C1, C2, C3)."""
        return direct_conversation_id(*PAIRS[name])

    def day(self, number: float) -> float:
        return self.start + number * DAY

    def entries(self, name: str | None = None) -> list[ArchiveEntry]:
        return self.archive.entries(None if name is None else self.conversation(name))

    def send(self, sender: str, receiver: str, text: str) -> None:
        """``sender`` sends ``text``; ``receiver`` drains its queue into its inbox."""
        self.devices[sender].send_text(receiver, text)
        self.inbox.setdefault(receiver, []).extend(self.devices[receiver].receive_all())


def build_world(hook_for: Callable[[str], EscrowHook], users: Sequence[str] = USERS) -> World:
    """Register one device per user with a fresh relay (module docstring)."""
    clock = ManualClock(START)
    relay = RelayService("sqlite://", clock=clock)
    transport = InProcessTransport(relay)
    devices = {user: Device.create(user, 1, transport, hook=hook_for(f"{user}:1"), clock=clock,
                                   one_time_prekeys=4, kem_prekeys=2) for user in users}
    return World(relay, clock, devices)


def run_days(world: World, days: int, per_day: int, ratchet_every: int,
             pairs: Iterable[str] = tuple(PAIRS),
             at: Callable[[float], None] | None = None,
             text: Callable[[str, str, int], str] | None = None) -> None:
    """``days`` days of ``per_day`` messages in each of ``pairs``, evenly spaced; before each
    time slot ``at(now)`` runs (a snapshot, a rotation); ``text(name, sender, i)`` is the
    i-th message of conversation ``name`` (by default a line naming it)."""
    names = tuple(pairs)
    step = DAY / per_day
    for _ in range(days * per_day):
        if at is not None:
            at(world.clock.now())
        for name in names:
            first, second = PAIRS[name]
            i = world.sent.get(name, 0)
            sender, receiver = (first, second) if (i // ratchet_every) % 2 == 0 \
                else (second, first)
            body = text(name, sender, i) if text else f"{name} #{i}: {sender} to {receiver}"
            world.send(sender, receiver, body)
            world.sent[name] = i + 1
        world.clock.advance(step)


def message_key(conversation_id: str, message: RecoveredMessage) -> MessageKey:
    return (conversation_id, message.sender, message.recipient, message.chain_number,
            message.message_number)


def entry_key(entry: ArchiveEntry) -> MessageKey:
    header = entry.parsed().header
    return (entry.conversation_id, entry.sender, entry.recipient, header.chain_number,
            header.message_number)


Releaser = Callable[[SignedAuthorisation, AuthorisationVerifier, Sequence[ScopedRecord]], list]
"""``releaser(authorisation, verifier, scoped)``: the releases whoever holds the keys makes."""


def read_conversation(deployment: Deployment, archive, window: Window, releaser: Releaser,
                      holder: str = "coalition") -> WindowReport | None:
    """The mode's real recovery of ``window`` with what ``releaser`` makes, under an
    authorisation ``holder`` signs itself (so its own verifier trusts it); ``None`` when the
    window names no escrowed chain (nothing to release: ``none``, or nothing of this set)."""
    access = LawfulAccess(deployment, archive)
    scoped = access.scope(window)
    if not scoped:
        return None
    key = Ed25519PrivateKey.generate()
    recovery_key = X25519PrivateKey.generate()
    authorisation = SignedAuthorisation.issue(
        holder, key, f"{holder}:{window.conversation_id}", tuple(s.ref for s in scoped),
        recovery_key.public_key().public_bytes_raw(), FAR_FUTURE)
    verifier = TrustedIssuers({holder: key.public_key().public_bytes_raw()})
    attempt = access.open(window, authorisation, recovery_key)
    attempt.submit(attempt.nonce, releaser(authorisation, verifier, scoped))
    return attempt.recover()
