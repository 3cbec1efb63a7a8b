"""The suite's one set of session builders: Alice opens a session to Bob (PQXDH, the
first message answered; docs/architecture.md, "Data flow"), and the chain context a hook
is given when it is tested on its own (:class:`messaging.hooks.ChainContext`).

The per-package helpers build on these (``tests/messaging/helpers.py``'s ``make_pair``,
``tests/escrow/helpers.py``'s ``conversation``) rather than repeating the handshake.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from messaging.clock import ManualClock
from messaging.hooks import PROTOCOL_VERSION, ChainContext, NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session


@dataclass
class Pair:
    """Two started sessions, the identities and Bob's prekeys behind them, the first envelope
    and the clock both sides read."""

    alice: Session
    bob: Session
    alice_identity: IdentityKeyPair
    bob_identity: IdentityKeyPair
    bob_prekeys: DevicePrekeys
    first_envelope: bytes
    clock: ManualClock


def session_pair(alice_hook=None, bob_hook=None, first: bytes = b"hello", clock=None, *,
                 conversation_id: str = "C1", one_time: int = 2, kem: int = 2) -> Pair:
    """Alice (``alice:1``, ``alice_hook``) opens ``conversation_id`` to Bob (``bob:1``,
    ``bob_hook``, by default the same hook object) from a bundle of Bob's prekeys
    (``one_time`` X25519 and ``kem`` ML-KEM one-time prekeys, under Bob's hook's mode); Bob
    answers her first message, ``first``. ``alice_hook`` defaults to ``none``."""
    alice_hook = NoEscrow() if alice_hook is None else alice_hook
    bob_hook = alice_hook if bob_hook is None else bob_hook
    clock = clock or ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, bob_hook.mode, one_time, kem)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    alice_session = Session.initiate(alice, "alice:1", bundle, "bob:1", conversation_id,
                                     alice_hook, clock)
    envelope = alice_session.encrypt(first)
    bob_session, plaintext = Session.respond(bob, prekeys, "bob:1", envelope, bob_hook, clock)
    assert plaintext == first
    return Pair(alice_session, bob_session, alice, bob, prekeys, envelope, clock)


def chain_context(mode: str = "leaf16", chain_number: int = 0, **changes) -> ChainContext:
    """A chain context from ``alice:1`` to ``bob:1`` in ``C1`` with a random chain key and
    ratchet key; ``changes`` replace any field."""
    fields = dict(
        protocol_version=PROTOCOL_VERSION,
        mode=mode,
        conversation_id="C1",
        sender="alice:1",
        recipient="bob:1",
        chain_number=chain_number,
        chain_key=os.urandom(32),
        ratchet_public_key=os.urandom(32),
        time=1_700_000_000,
    )
    fields.update(changes)
    return ChainContext(**fields)
