"""The relay archive's read API: what a lawful-access order would be served on
(docs/architecture.md, 4).

The relay keeps every envelope it accepted with its receipt time (the relay's
own clock, not the sender's claim), sender, recipient, conversation id, the
envelope bytes and the escrow record carried in its header (and, in a version-2
envelope, the safety voucher beside it: :attr:`ArchiveEntry.voucher`). Escrow recovery
and the warrant portal read it through :class:`RelayArchive` only; the archive
is read-only from here. :meth:`RelayArchive.open` opens a relay database by URL
read-only (SQLite in ``mode=ro``) and refuses one that is not a relay database
(:class:`~messaging.relay.errors.RelayDatabaseError`), without creating or
changing anything (docs/relay.md, "Storage").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from messaging.identity import IdentityPublic
from messaging.relay import schema
from messaging.relay.errors import not_found
from messaging.wire import Envelope, parse_envelope, read_voucher


@dataclass(frozen=True)
class ArchiveEntry:
    """One archived envelope as the provider holds it."""

    id: int
    received_at: float
    sender: str
    recipient: str
    conversation_id: str
    envelope: bytes
    record: bytes

    def parsed(self) -> Envelope:
        """The envelope parsed (it parsed when the relay accepted it)."""
        return parse_envelope(self.envelope)

    @property
    def voucher(self) -> bytes | None:
        """The safety voucher the envelope carries outside its ciphertext (``None``: none),
        what a client-side-scanning provider matches (:func:`messaging.wire.read_voucher`,
        docs/css.md)."""
        return read_voucher(self.envelope)


class RelayArchive:
    """Read access to a relay's archive (any engine the relay writes to)."""

    def __init__(self, engine: Engine, lock: AbstractContextManager | None = None) -> None:
        """Read the archive of ``engine``'s database; ``RelayDatabaseError`` if it holds no
        relay schema or cannot be connected to (a foreign database is read from, never
        written to)."""
        self.engine = engine
        self._lock = lock or nullcontext()
        try:
            with self._connect() as conn:
                schema.check_schema(conn)
        except schema.OPEN_ERRORS as exc:
            raise schema.open_error(engine.url, exc) from exc

    @classmethod
    def open(cls, url: str) -> RelayArchive:
        """The archive of the relay database at ``url``, opened read-only."""
        return cls(schema.open_engine(url, read_only=True))

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        # The relay's own lock, when given, keeps reads of an in-memory SQLite
        # database (one shared connection) out of the relay's open transactions.
        with self._lock, self.engine.connect() as conn:
            yield conn

    def entries(
        self,
        conversation_id: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[ArchiveEntry]:
        """Entries ordered by receipt time, optionally of one conversation, in ``[start, end)``."""
        return list(self.iter_entries(conversation_id, start, end))

    def iter_entries(
        self,
        conversation_id: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> Iterator[ArchiveEntry]:
        table = schema.archive
        query = select(table).order_by(table.c.received_at, table.c.id)
        if conversation_id is not None:
            query = query.where(table.c.conversation_id == conversation_id)
        if start is not None:
            query = query.where(table.c.received_at >= start)
        if end is not None:
            query = query.where(table.c.received_at < end)
        with self._connect() as conn:
            rows = conn.execute(query).all()
        for r in rows:
            yield ArchiveEntry(r.id, r.received_at, r.sender, r.recipient, r.conversation_id,
                               bytes(r.envelope), bytes(r.record))

    def entry(self, entry_id: int) -> ArchiveEntry:
        """One entry by id; raises a 404 ``RelayError`` if there is none."""
        with self._connect() as conn:
            r = conn.execute(select(schema.archive)
                             .where(schema.archive.c.id == entry_id)).first()
        if r is None:
            raise not_found(f"no archive entry {entry_id}")
        return ArchiveEntry(r.id, r.received_at, r.sender, r.recipient, r.conversation_id,
                            bytes(r.envelope), bytes(r.record))

    def conversations(self) -> list[str]:
        """Every conversation id the archive holds, sorted."""
        with self._connect() as conn:
            rows = conn.execute(select(schema.archive.c.conversation_id).distinct()).all()
        return sorted(r.conversation_id for r in rows)

    def identity(self, address: str) -> IdentityPublic:
        """The identity key the relay registered for ``address`` (removed devices included)."""
        with self._connect() as conn:
            row = conn.execute(select(schema.devices.c.identity)
                               .where(schema.devices.c.address == address)).first()
        if row is None:
            raise not_found(f"unknown device {address}")
        return IdentityPublic.decode(bytes(row.identity))
