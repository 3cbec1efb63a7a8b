"""Small builders shared by the messaging tests: two devices and a started session."""

from __future__ import annotations

from dataclasses import dataclass, field

from messaging.clock import ManualClock
from messaging.errors import HookRefusedError
from messaging.hooks import ChainContext, NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session


@dataclass
class RecordingHook:
    """A test double: makes a record from the context, records calls, refuses on demand."""

    mode: str = "recording"
    created: list = field(default_factory=list)
    checked: list = field(default_factory=list)
    refuse: bool = False

    @staticmethod
    def expected_record(context: ChainContext) -> bytes:
        return (f"{context.conversation_id}|{context.sender}|{context.recipient}|"
                f"{context.chain_number}|{context.time}|").encode() + context.chain_key[:4]

    def record_for_chain(self, context: ChainContext) -> bytes:
        self.created.append(context)
        return self.expected_record(context)

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        self.checked.append((context, record))
        if self.refuse:
            raise HookRefusedError("test double refuses every chain")
        if record != self.expected_record(context):
            raise HookRefusedError("record does not match the recomputed context")


def make_pair(hook=None, clock=None, one_time: int = 2):
    """Alice and Bob with a session started by Alice and answered by Bob.

    Returns (alice_session, bob_session, clock, bob_prekeys)."""
    hook = hook or NoEscrow()
    clock = clock or ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, hook.mode, one_time, 2)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    alice_session = Session.initiate(alice, "alice:1", bundle, "bob:1", "C1", hook, clock)
    first = alice_session.encrypt(b"hello")
    bob_session, plaintext = Session.respond(bob, prekeys, "bob:1", first, hook, clock)
    assert plaintext == b"hello"
    return alice_session, bob_session, clock, prekeys
