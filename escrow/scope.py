"""Which archived envelopes a window of one conversation touches, and what each chain is:
the one definition that :func:`records_in_scope` (what an authorisation names) and every
mode's recovery (:mod:`escrow.recovery`, :mod:`escrow.leaf16.recovery`) share
(docs/architecture.md, "Data flow" 5-6). This is the one module that walks the archive:
:func:`scan_window` a window of one conversation, :func:`walk_archive` the whole of it (what
over-collection across conversations is measured on).

The relay archives any envelope under any conversation id its sender names, so
the archive of a conversation may hold envelopes that are not evidence of it.
:func:`scan_window` reads the *whole* archived conversation from the relay's
archive read API (:class:`Archive`; ``messaging.relay.archive.RelayArchive``
is one), judges the window ``[start, end)`` by the relay's receipt time only
(never by a time the sender claims), and groups the envelopes into chains: one
chain per (record SHA-256, context SHA-256), the context being what the
envelope's header claims (:meth:`escrow.context.RecordContext.of_envelope`).
So a genuine record copied into an envelope with another header is another
chain, and an envelope with the genuine header but a bogus body stays in the
genuine chain and is reported as a message that does not decrypt.

Every chain with a message in the window is settled, before any key is
touched, as one of:

- :data:`NOT_PARTICIPANT`: its sender or recipient is not a participant of the
  conversation (:func:`participants`); never returned as evidence of it;
- :data:`NOT_ESCROWED`: it carries no record;
- :data:`FORGED`: the deployment's recipients would refuse its record whatever
  the chain key (the mode's ``screen``: malformed, another mode, set, epoch or
  puzzle size);

or left for recovery, which settles it as :data:`RECOVERED`,
:data:`NOT_RELEASED` or :data:`FORGED` (records that do not recompute). Archive
entries that do not parse are counted, never raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import strictjson
from escrow.authorisation import RecordRef
from escrow.context import RecordContext
from escrow.errors import EscrowError, RecoveryError
from escrow.record import record_digest
from messaging.errors import WireFormatError
from messaging.wire import Envelope, parse_envelope, validate_id

RECOVERED = "recovered"
NOT_ESCROWED = "not_escrowed"
NOT_RELEASED = "not_released"
FORGED = "forged_or_undecryptable"
NOT_PARTICIPANT = "not_participant"
OUTCOMES = (RECOVERED, NOT_ESCROWED, NOT_RELEASED, FORGED, NOT_PARTICIPANT)
DIRECT_PREFIX = "dm:"


class ArchivedEnvelope(Protocol):
    """What recovery reads of one relay archive entry."""

    envelope: bytes
    received_at: float


class Archive(Protocol):
    """The relay archive's read API as escrow uses it (``RelayArchive`` has this shape)."""

    def entries(self, conversation_id: str | None = None) -> Iterable[ArchivedEnvelope]:
        """Every archived entry (of ``conversation_id`` when given), by receipt time."""
        ...

    def identity(self, address: str) -> Any:
        """The ``IdentityPublic`` the relay registered for a device."""
        ...


@dataclass(frozen=True)
class Window:
    """What a lawful-access request targets: the messages of ``conversation_id`` the relay
    received in ``[start, end)`` (receipt time, never a time the sender claims); checked by
    :func:`scan_window`."""

    conversation_id: str
    start: float
    end: float


class ListArchive:
    """An :class:`Archive` over entries held in memory (tests, benchmarks, exported archives);
    ``identities`` maps each address to its ``IdentityPublic`` (a mapping, or a function
    such as ``RelayArchive.identity``)."""

    def __init__(self, entries: Iterable[ArchivedEnvelope],
                 identities: Mapping[str, Any] | Callable[[str], Any]) -> None:
        self._entries = list(entries)
        self._identities = identities

    def __repr__(self) -> str:
        return f"ListArchive({len(self._entries)} entries)"

    def entries(self, conversation_id: str | None = None) -> list[ArchivedEnvelope]:
        if conversation_id is None:
            return list(self._entries)
        return [e for e in self._entries if _conversation_of(e.envelope) == conversation_id]

    def identity(self, address: str) -> Any:
        if callable(self._identities):
            return self._identities(address)
        try:
            return self._identities[address]
        except KeyError:
            raise RecoveryError(f"unknown device {address}") from None


def _conversation_of(envelope: bytes) -> str | None:
    try:
        return parse_envelope(envelope).conversation_id
    except WireFormatError:
        return None


def user_of(address: str) -> str:
    """The user of a ``user:device`` address (``messaging.addresses``)."""
    return address.split(":", 1)[0]


def participants(conversation_id: str, envelopes: Iterable[Envelope]) -> frozenset[str]:
    """The users taking part in ``conversation_id``, as far as the archive can show.

    A direct chat ``dm:<a>:<b>`` (``messaging.addresses.direct_conversation_id``)
    has exactly the two users it names. Any other conversation (a group's
    ``group:<id>``) has the users the archive shows *receiving* its messages
    from another user: group messages are fanned out to every member, so a
    member receives, while a stranger who only posts into the conversation
    does not. The membership itself is end-to-end encrypted, so two strangers
    who send to each other under a group's id are shown as members, and a
    member who never received anything is not.
    """
    if conversation_id.startswith(DIRECT_PREFIX):
        users = conversation_id[len(DIRECT_PREFIX):].split(":")
        return frozenset(users) if len(users) == 2 and all(users) else frozenset()
    return frozenset(user_of(e.recipient) for e in envelopes
                     if user_of(e.sender) != user_of(e.recipient))


@dataclass
class ArchivedChain:
    """One chain of the conversation: its archived record, context and envelopes, and (once
    settled) its outcome and the reason."""

    context: RecordContext
    record: bytes
    first_envelope: bytes
    in_window: list[tuple[float, Envelope]] = field(default_factory=list)
    outside: list[Envelope] = field(default_factory=list)
    outcome: str | None = None
    reason: str = ""

    @property
    def record_digest(self) -> bytes:
        return record_digest(self.record)

    @property
    def key(self) -> tuple[bytes, bytes]:
        """(record SHA-256, context SHA-256): what a release names."""
        return self.record_digest, self.context.digest()

    def settle(self, outcome: str, reason: str) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown chain outcome {outcome!r}")
        self.outcome, self.reason = outcome, reason

    def ref(self) -> RecordRef:
        c = self.context
        return RecordRef(c.conversation_id, c.sender, c.recipient, c.chain_number,
                         self.record_digest, c.digest())


Screen = Callable[[bytes], object]
"""A mode's check of a record alone (no chain key): raise an :class:`EscrowError` with the
reason when the deployment's recipients would refuse it whatever the chain key."""


@dataclass
class WindowScan:
    """The chains of one conversation with a message in ``[start, end)``."""

    conversation_id: str
    start: float
    end: float
    chains: list[ArchivedChain]
    participants: frozenset[str]
    archived_envelopes: int
    unreadable_entries: int
    messages_in_scope: int

    def open_chains(self) -> list[ArchivedChain]:
        """The chains the scan did not settle: what an authorisation names and recovery
        tries."""
        return [c for c in self.chains if c.outcome is None]


def scan_window(archive: Archive, conversation_id: str, start: float, end: float,
                screen: Screen) -> WindowScan:
    """Read the whole archived conversation and settle what needs no key (module docstring)."""
    strictjson.text(conversation_id, what="conversation id", error=RecoveryError)
    try:
        validate_id(conversation_id)
    except WireFormatError as exc:
        raise RecoveryError(f"conversation id: {exc}") from None
    if not start < end:
        raise RecoveryError("the window [start, end) is empty")
    chains: dict[tuple[bytes, bytes], ArchivedChain] = {}
    envelopes: list[Envelope] = []
    unreadable = in_scope = 0
    for entry in archive.entries(conversation_id):
        try:
            envelope = parse_envelope(entry.envelope)
        except WireFormatError:
            unreadable += 1
            continue
        if envelope.conversation_id != conversation_id:
            continue
        envelopes.append(envelope)
        context = RecordContext.of_envelope(envelope)
        key = (record_digest(envelope.header.record), context.digest())
        chain = chains.setdefault(key, ArchivedChain(context, envelope.header.record,
                                                     entry.envelope))
        if start <= entry.received_at < end:
            chain.in_window.append((entry.received_at, envelope))
            in_scope += 1
        else:
            chain.outside.append(envelope)
    members = participants(conversation_id, envelopes)
    found = [c for c in chains.values() if c.in_window]
    for chain in found:
        _screen(chain, members, screen)
    return WindowScan(conversation_id, start, end, found, members, len(envelopes), unreadable,
                      in_scope)


def walk_archive(archive: Archive) -> tuple[list[Envelope], int]:
    """(every archived envelope that parses, of every conversation; entries read): the whole
    archive, for measures that reach beyond one conversation (a LEAF's unit key)."""
    envelopes: list[Envelope] = []
    read = 0
    for entry in archive.entries():
        read += 1
        try:
            envelopes.append(parse_envelope(entry.envelope))
        except WireFormatError:
            continue
    return envelopes, read


def _screen(chain: ArchivedChain, members: frozenset[str], screen: Screen) -> None:
    context = chain.context
    strangers = [a for a in (context.sender, context.recipient) if user_of(a) not in members]
    if strangers:
        chain.settle(NOT_PARTICIPANT, f"{', '.join(strangers)} not a participant of "
                                      f"{context.conversation_id} (participants: "
                                      f"{', '.join(sorted(members)) or 'none'})")
    elif not chain.record:
        chain.settle(NOT_ESCROWED, "the chain carries no escrow record")
    else:
        try:
            screen(chain.record)
        except EscrowError as exc:
            chain.settle(FORGED, f"the record would be refused by this deployment's "
                                 f"recipients: {exc}")


@dataclass(frozen=True)
class ScopedRecord:
    ref: RecordRef
    envelope: bytes


def records_in_scope(screen: Screen, archive: Archive, conversation_id: str, start: float,
                     end: float) -> list[ScopedRecord]:
    """The chains recovery of this window would try (:meth:`WindowScan.open_chains`), each
    with its reference and one archived envelope for the custodians to release from.
    ``screen`` is the mode's (``ThresholdEscrow.check_record``)."""
    scan = scan_window(archive, conversation_id, start, end, screen)
    return [ScopedRecord(c.ref(), c.first_envelope) for c in scan.open_chains()]
