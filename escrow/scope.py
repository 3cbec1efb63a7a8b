"""Which escrow records a time window of one conversation touches (issue 5, "Time windows are
judged by the relay's receipt time in the archive, never by a time the sender claims").

:func:`records_in_scope` turns the relay's archive entries into the list an
authorisation names: one :class:`~escrow.authorisation.RecordRef` per chain
with at least one message received in ``[start, end)``, with one archived
envelope of that chain for the custodians to release from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from escrow.authorisation import RecordRef
from escrow.errors import RecoveryError
from escrow.record import record_digest
from escrow.recovery import ArchivedEnvelope
from messaging.errors import WireFormatError
from messaging.wire import parse_envelope


@dataclass(frozen=True)
class ScopedRecord:
    ref: RecordRef
    envelope: bytes


def records_in_scope(entries: Iterable[ArchivedEnvelope], conversation_id: str, start: float,
                     end: float) -> list[ScopedRecord]:
    """The chains of ``conversation_id`` with a message received in ``[start, end)``."""
    if not start < end:
        raise RecoveryError("the window [start, end) is empty")
    found: dict[bytes, ScopedRecord] = {}
    for entry in entries:
        if not start <= entry.received_at < end:
            continue
        try:
            envelope = parse_envelope(entry.envelope)
        except WireFormatError as exc:
            raise RecoveryError(f"archive entry at {entry.received_at} does not parse: {exc}") \
                from None
        if envelope.conversation_id != conversation_id or not envelope.header.record:
            continue
        digest = record_digest(envelope.header.record)
        if digest not in found:
            found[digest] = ScopedRecord(
                RecordRef(envelope.conversation_id, envelope.sender, envelope.recipient,
                          envelope.header.chain_number, digest),
                entry.envelope,
            )
    return list(found.values())
