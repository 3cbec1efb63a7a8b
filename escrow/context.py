"""The public context of an escrowed chain and its canonical encoding (docs/architecture.md,
"Bind the
whole context").

:class:`RecordContext` is a :class:`messaging.hooks.ChainContext` without the
chain key: what the sender, the recipient, a custodian and the recovery all
agree on about one chain. It is built from the hook's context on the client
side and from the archived envelope's header on the custodian and recovery
side. :meth:`RecordContext.encode` is a length-prefixed, unambiguous encoding
used as HKDF info and AEAD associated data.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from messaging.hooks import PROTOCOL_VERSION, ChainContext
from messaging.wire import Envelope

_DIGEST_LABEL = b"escrowlab record context v1\x00"
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def _field(data: bytes) -> bytes:
    return _U32.pack(len(data)) + data


@dataclass(frozen=True)
class RecordContext:
    """Who made a chain, for whom, where and when (the sender's claim of ``time``)."""

    protocol_version: int
    mode: str
    conversation_id: str
    sender: str
    recipient: str
    chain_number: int
    time: int
    ratchet_public_key: bytes

    @classmethod
    def of_chain(cls, context: ChainContext) -> RecordContext:
        return cls(context.protocol_version, context.mode, context.conversation_id,
                   context.sender, context.recipient, context.chain_number, context.time,
                   context.ratchet_public_key)

    @classmethod
    def of_envelope(cls, envelope: Envelope) -> RecordContext:
        """The context an archived envelope claims (its header), under this build's
        protocol version: a record only verifies under the context it was made for."""
        header = envelope.header
        return cls(PROTOCOL_VERSION, header.mode, envelope.conversation_id, envelope.sender,
                   envelope.recipient, header.chain_number, header.chain_time,
                   header.ratchet_key)

    def with_chain_key(self, chain_key: bytes) -> ChainContext:
        return ChainContext(self.protocol_version, self.mode, self.conversation_id,
                            self.sender, self.recipient, self.chain_number, chain_key,
                            self.ratchet_public_key, self.time)

    def encode(self) -> bytes:
        return b"".join((
            _U32.pack(self.protocol_version),
            _field(self.mode.encode("ascii")),
            _field(self.conversation_id.encode("utf-8")),
            _field(self.sender.encode("utf-8")),
            _field(self.recipient.encode("utf-8")),
            _U32.pack(self.chain_number),
            _U64.pack(self.time),
            _field(self.ratchet_public_key),
        ))

    def digest(self) -> bytes:
        """SHA-256 of the labelled encoding: how a release names the context it was made for."""
        return hashlib.sha256(_DIGEST_LABEL + self.encode()).digest()

    def describe(self) -> str:
        return (f"{self.conversation_id} {self.sender}->{self.recipient} "
                f"chain {self.chain_number}")
