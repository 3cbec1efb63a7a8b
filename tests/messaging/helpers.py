"""Small builders shared by the messaging tests: a recording hook and a started session."""

from __future__ import annotations

from dataclasses import dataclass, field

from messaging.errors import HookRefusedError
from messaging.hooks import ChainContext, NoEscrow
from tests.builders import session_pair


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
    """Alice and Bob with a session started by Alice and answered by Bob, both under ``hook``
    (:func:`tests.builders.session_pair`).

    Returns (alice_session, bob_session, clock, bob_prekeys)."""
    pair = session_pair(hook or NoEscrow(), clock=clock, one_time=one_time)
    return pair.alice, pair.bob, pair.clock, pair.bob_prekeys
