"""The relay's operations on its storage: the untrusted provider of docs/architecture.md, "Data
flow" 1 and 5, behind one facade along the route groups of docs/relay.md, "Endpoints".

:class:`RelayService` opens the database, runs every request in one
transaction that also records the request's nonce (:mod:`messaging.relay.api`)
and hands the operation to the module of its route group:

- :mod:`messaging.relay.devices`: ``/v1/devices``, ``/v1/users/<user>/devices``
- :mod:`messaging.relay.prekeys`: ``/v1/keys``
- :mod:`messaging.relay.queue`: ``/v1/messages`` (send, fetch, acknowledge, archive)
- :mod:`messaging.relay.polling`: a fetch's ``wait`` (long polling)

Any :class:`RelayError` raised in a transaction rolls it back, so a refused
request changes nothing. Every write is safe to repeat (docs/relay.md, "Retries").
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from messaging.clock import Clock, SystemClock
from messaging.identity import IdentityPublic
from messaging.prekey_records import PrekeyUpload
from messaging.relay import schema
from messaging.relay.archive import RelayArchive
from messaging.relay.devices import Devices
from messaging.relay.directory import DevicePublisher
from messaging.relay.group_commit import GroupCommit
from messaging.relay.limits import MAX_GROUP_COMMIT_REQUESTS, RelayLimits
from messaging.relay.polling import LongPolling
from messaging.relay.prekeys import Prekeys
from messaging.relay.queue import Queue
from messaging.relay.statements import INTEGRITY_ERRORS, HotStatement
from messaging.relay.wakeups import ServerWakeups
from messaging.relay_protocol import RelayError

PURGE_EVERY = 512

_INSERT_NONCE = HotStatement(insert(schema.nonces).values(
    address=bindparam("address"), nonce=bindparam("nonce"), seen_at=bindparam("seen_at")))


class RelayService:
    """The relay's state and operations. Thread-safe; one instance per process and database."""

    def __init__(
        self,
        url: str = schema.DEFAULT_URL,
        *,
        clock: Clock | None = None,
        limits: RelayLimits | None = None,
        sqlite_synchronous: str = schema.DEFAULT_SYNCHRONOUS,
        engine: Engine | None = None,
        concurrency: int = 2,
        init: bool = False,
        publisher: DevicePublisher | None = None,
    ) -> None:
        """Open the relay database at ``url`` (see :func:`messaging.relay.schema.open_engine`:
        ``init`` creates the schema in an existing empty database; a foreign one, or one
        that cannot be opened, raises :class:`~messaging.relay.errors.RelayDatabaseError`).
        ``publisher`` is told every new device list (:mod:`messaging.relay.directory`)."""
        self.engine = engine or schema.open_engine(url, sqlite_synchronous=sqlite_synchronous,
                                                   init=init)
        self.clock = clock or SystemClock()
        self.limits = limits or RelayLimits()
        # SQLite has one writer at a time: requests take the writer of a group commit
        # (messaging.relay.group_commit) instead of waiting in BEGIN IMMEDIATE, and their
        # writes share transactions and fsyncs. One transaction is open at a time, so SQLite
        # keeps one connection for them all (no pool checkout, reset and checkin per
        # request). An in-memory database's one connection is shared with its readers, so
        # there every request commits before the next runs.
        is_sqlite = self.engine.dialect.name == "sqlite"
        self._connection = _first_connection(self.engine) if is_sqlite else None
        self._writer = GroupCommit(
            self._sqlite_connection,
            max_batch=1 if isinstance(self.engine.pool, StaticPool) else MAX_GROUP_COMMIT_REQUESTS,
        ) if is_sqlite else None
        self._lock = self._writer.lock if self._writer is not None else nullcontext()
        # Admission: at most ``concurrency`` requests are processed at once (a
        # long-polling fetch leaves while it waits). Under the GIL more threads
        # add no throughput, and a thread holding the database lock would wait
        # for the interpreter behind all of them (a lock convoy).
        self.admission = threading.BoundedSemaphore(concurrency)
        self._requests = 0
        self.purge_every = PURGE_EVERY
        self.polling = LongPolling()
        self.devices = Devices(self.clock, self.limits, publisher)
        self.prekeys = Prekeys(self.clock, self.limits, self.devices)
        self.queue = Queue(self.clock, self.limits, self.devices, self.polling.queued)
        # Several relay processes on one PostgreSQL database wake each other's long polls.
        self._wakeups = (ServerWakeups(self.engine, self.polling.wake)
                         if self.engine.dialect.name == "postgresql" else None)

    def close(self) -> None:
        """Stop listening for other processes' wake-ups and close the database connections."""
        if self._wakeups is not None:
            self._wakeups.close()
        if self._connection is not None:
            self._connection.close()
        self.engine.dispose()

    @property
    def archive(self) -> RelayArchive:
        """Read access to everything this relay archived."""
        return RelayArchive(self.engine, self._lock)

    @contextmanager
    def transaction(self, admitted: bool = False) -> Iterator[Connection]:
        """One atomic unit of work: durable when the ``with`` block is left, rolled back on
        any exception. Fetches waiting for an envelope it queued are woken once it
        committed. ``admitted``: the caller holds an :attr:`admission` slot, which it gives
        up while its writes wait for a group commit."""
        self.polling.begin()
        if self._writer is None:
            with self.engine.connect() as conn, conn.begin():
                yield conn
                self._count_request(conn)
                if self._wakeups is not None:
                    self._wakeups.notify(conn, self.polling.pending())
        else:
            release, acquire = ((self.admission.release, self.admission.acquire) if admitted
                                else (None, None))
            with self._writer.unit(release, acquire) as conn:
                yield conn
                self._count_request(conn)
        self.polling.publish()

    def _count_request(self, conn: Connection) -> None:
        self._requests += 1
        if self._requests % self.purge_every == 0:
            self._purge(conn)

    def _sqlite_connection(self) -> Connection:
        """The relay's one SQLite connection (reconnected if it was lost)."""
        if self._connection.closed or self._connection.invalidated:
            self._connection = self.engine.connect()
        return self._connection

    def _purge(self, conn: Connection) -> None:
        """Forget nonces older than twice the clock skew and fetches outside the rate window."""
        now = self.clock.now()
        conn.execute(delete(schema.nonces).where(
            schema.nonces.c.seen_at < now - 2 * self.limits.clock_skew))
        self.prekeys.purge(conn, now)

    def remember_nonce(self, conn: Connection, address: str, nonce: str) -> None:
        """Record a request nonce; a second use raises a 401 ``RelayError`` (replay)."""
        try:
            _INSERT_NONCE.run(conn, {"address": address, "nonce": nonce,
                                     "seen_at": self.clock.now()})
        except INTEGRITY_ERRORS as exc:
            raise RelayError(401, "replayed",
                             "replayed request: this nonce was already used") from exc

    # -- long polling (messaging.relay.polling) ---------------------------------------------

    def queue_version(self, address: str) -> int:
        """See :meth:`messaging.relay.polling.LongPolling.version`."""
        return self.polling.version(address)

    def wait_for_queue(self, address: str, version: int, timeout: float) -> list[dict] | None:
        """See :meth:`messaging.relay.polling.LongPolling.wait`."""
        return self.polling.wait(address, version, timeout)

    # -- devices (messaging.relay.devices) --------------------------------------------------

    def device_identity(self, conn: Connection, address: str) -> IdentityPublic | None:
        """The identity of an *active* device, or ``None``."""
        return self.devices.identity(conn, address)

    def register_device(
        self, conn: Connection, address: str, identity: IdentityPublic,
        linked_by: str | None, link_signature: bytes | None,
    ) -> dict:
        """See :meth:`messaging.relay.devices.Devices.register`."""
        return self.devices.register(conn, address, identity, linked_by, link_signature)

    def provider_add_device(self, address: str, identity: IdentityPublic) -> None:
        """Add a device to a user's list with no link signature, in its own transaction: the
        provider's own power (GCHQ's "ghost" proposal, scenarios S19 and S20). Clients
        cannot call this."""
        with self.transaction() as conn:
            self.devices.provider_add(conn, address, identity)

    def list_devices(self, conn: Connection, user: str) -> dict:
        """See :meth:`messaging.relay.devices.Devices.listing`."""
        return self.devices.listing(conn, user)

    def remove_device(self, conn: Connection, caller: str, address: str) -> dict:
        """See :meth:`messaging.relay.devices.Devices.remove`."""
        return self.devices.remove(conn, caller, address)

    # -- prekeys (messaging.relay.prekeys) --------------------------------------------------

    def upload_prekeys(self, conn: Connection, caller: str, upload: PrekeyUpload) -> dict:
        """See :meth:`messaging.relay.prekeys.Prekeys.upload`."""
        return self.prekeys.upload(conn, caller, upload)

    def prekey_counts(self, conn: Connection, caller: str) -> dict:
        """See :meth:`messaging.relay.prekeys.Prekeys.counts`."""
        return self.prekeys.counts(conn, caller)

    def fetch_bundle(self, conn: Connection, caller: str, address: str) -> dict:
        """See :meth:`messaging.relay.prekeys.Prekeys.fetch_bundle`."""
        return self.prekeys.fetch_bundle(conn, caller, address)

    # -- envelopes (messaging.relay.queue) --------------------------------------------------

    def send(
        self, conn: Connection, caller: str, envelopes: list[bytes], require_complete: bool
    ) -> dict:
        """See :meth:`messaging.relay.queue.Queue.send`."""
        return self.queue.send(conn, caller, envelopes, require_complete)

    def fetch_queue(self, conn: Connection, caller: str, limit: int) -> dict:
        """See :meth:`messaging.relay.queue.Queue.fetch`."""
        return self.queue.fetch(conn, caller, limit)

    def acknowledge(self, conn: Connection, caller: str, ids: list[int]) -> dict:
        """See :meth:`messaging.relay.queue.Queue.acknowledge`."""
        return self.queue.acknowledge(conn, caller, ids)



def _first_connection(engine: Engine) -> Connection:
    """The relay's one SQLite connection; failing to connect is a ``RelayDatabaseError``."""
    try:
        return engine.connect()
    except schema.OPEN_ERRORS as exc:
        raise schema.open_error(engine.url, exc) from exc
