"""Builders shared by the escrow-mode tests: an EES world and a session between two hooks."""

from __future__ import annotations

import os
from dataclasses import dataclass

from escrow.leaf16.hook import Leaf16Escrow
from escrow.leaf16.leaf import FamilyKey
from escrow.leaf16.module import LeafModule
from escrow.leaf16.recovery import LeafDecryptor
from escrow.leaf16.unit import EscrowAgent, program_unit
from messaging.clock import ManualClock
from messaging.hooks import PROTOCOL_VERSION, ChainContext
from messaging.identity import IdentityKeyPair
from messaging.pqxdh import DevicePrekeys
from messaging.session import Session


@dataclass
class EesWorld:
    """One EES family: the family key, the two agents and a module per named device."""

    family_key: FamilyKey
    agents: tuple[EscrowAgent, EscrowAgent]
    width: int

    def module(self, unit_id: int | None = None) -> LeafModule:
        return LeafModule(self.family_key, program_unit(self.agents, unit_id), self.width)

    def hook(self, unit_id: int | None = None) -> Leaf16Escrow:
        return Leaf16Escrow(self.module(unit_id))

    def decryptor(self) -> LeafDecryptor:
        return LeafDecryptor(self.family_key)


def ees_world(width: int = 16) -> EesWorld:
    return EesWorld(FamilyKey.generate(), (EscrowAgent("NIST"), EscrowAgent("Treasury")), width)


def chain_context(mode: str = "leaf16", chain_number: int = 0, **changes) -> ChainContext:
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


@dataclass
class Pair:
    alice: Session
    bob: Session
    alice_identity: IdentityKeyPair
    bob_identity: IdentityKeyPair
    first_envelope: bytes
    clock: ManualClock


def session_pair(alice_hook, bob_hook, first: bytes = b"hello", clock=None) -> Pair:
    """Alice (``alice_hook``) opens a session to Bob (``bob_hook``); Bob reads the first message."""
    clock = clock or ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, bob_hook.mode, 2, 2)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    alice_session = Session.initiate(alice, "alice:1", bundle, "bob:1", "C1", alice_hook, clock)
    envelope = alice_session.encrypt(first)
    bob_session, plaintext = Session.respond(bob, prekeys, "bob:1", envelope, bob_hook, clock)
    assert plaintext == first
    return Pair(alice_session, bob_session, alice, bob, envelope, clock)
