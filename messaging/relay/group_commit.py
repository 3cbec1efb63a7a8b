"""Group commit for the relay's SQLite writer: several requests' writes in one transaction
and one fsync, each request answered only after the commit that carries it (docs/relay.md,
"Storage"). Server databases (PostgreSQL) keep one transaction per request.

SQLite has one writer, and with ``synchronous=FULL`` every commit waits for an fsync; one
commit per request makes the fsync the relay's throughput limit and makes requests queue
behind each other's fsyncs. Here the relay's one connection keeps a transaction open across
requests: each request runs in its own savepoint (``SAVEPOINT``/``RELEASE``), so a refused
request rolls back only its own writes, and the transaction is committed

- when no other request is waiting to run its unit (the usual case under light load: the
  commit follows the request at once, as before),
- or when it carries :data:`~messaging.relay.limits.MAX_GROUP_COMMIT_REQUESTS` requests,
  or has been open :data:`~messaging.relay.limits.MAX_GROUP_COMMIT_DELAY` seconds
  (so a steady stream of requests cannot postpone a commit without bound).

A request whose unit is done waits for that commit; only then does its caller answer it.
If the commit fails, every request it carried fails (none of them was acknowledged) and the
transaction is rolled back: "acknowledged means durable" holds exactly as with one commit
per request (docs/architecture.md, "Conventions").

The units are serialised by one lock (the one writer); the lock is released while a request
waits for the commit, so the next request can run its unit meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from messaging.relay.errors import storage_unavailable
from messaging.relay.limits import MAX_GROUP_COMMIT_DELAY, MAX_GROUP_COMMIT_REQUESTS

SAVEPOINT = "relay_request"


class GroupCommit:
    """The relay's writer: :meth:`unit` runs one request's writes (module docstring).

    ``max_batch=1`` commits every unit before the writer is released: one transaction per
    request (the relay uses it for an in-memory database, whose one connection is shared by
    every reader).
    """

    def __init__(self, connection: Callable[[], Connection], *,
                 max_batch: int = MAX_GROUP_COMMIT_REQUESTS,
                 max_delay: float = MAX_GROUP_COMMIT_DELAY) -> None:
        if max_batch < 1:
            raise ValueError("a group commit carries at least one request")
        self._connection = connection
        self._max_batch = max_batch
        self._max_delay = max_delay
        self.lock = threading.Lock()  # the one writer; readers of a shared connection take it
        self._committed = threading.Condition(self.lock)
        self._arrivals = threading.Lock()
        self._arriving = 0  # threads that asked for the writer and do not hold it yet
        self._batch = 0  # number of the transaction now open (or next to open)
        self._pending = 0  # units done in the open transaction
        self._opened_at = 0.0
        self._failures: dict[int, list] = {}  # batch -> [exception, units not yet told]
        self.commits = 0

    @contextmanager
    def unit(self, while_waiting: Callable[[], object] | None = None,
             after_waiting: Callable[[], object] | None = None) -> Iterator[Connection]:
        """One request's writes, committed (durably) before the ``with`` block is left; a
        failed commit raises a 503 ``storage-unavailable`` :class:`RelayError`.

        ``while_waiting`` and ``after_waiting`` are called around a wait for the commit
        (the relay gives up its admission slot meanwhile, as a long-polling fetch does).
        """
        with self._arrivals:
            self._arriving += 1
        self.lock.acquire()
        with self._arrivals:
            self._arriving -= 1
        try:
            conn = self._connection()
            if not conn.in_transaction():
                conn.begin()
                self._opened_at = time.monotonic()
            # Straight to the driver, as the hot-path statements (messaging/relay/statements.py).
            driver = conn.connection.driver_connection
            driver.execute(f"SAVEPOINT {SAVEPOINT}")
            try:
                yield conn
            except BaseException:
                self._undo(conn, driver)
                raise
            driver.execute(f"RELEASE {SAVEPOINT}")
            batch = self._batch
            self._pending += 1
            if not self._commit_if_due(conn, force=False):
                self._wait_for(batch, while_waiting, after_waiting)
            self._raise_if_failed(batch)
        finally:
            self.lock.release()

    def _undo(self, conn: Connection, driver) -> None:
        """A unit raised: roll back its savepoint (or, if that fails, the whole transaction,
        failing the units it carried), then commit the others if due."""
        try:
            driver.execute(f"ROLLBACK TO {SAVEPOINT}")
            driver.execute(f"RELEASE {SAVEPOINT}")
        except Exception as exc:  # the transaction is unusable: fail what it carried
            self._finish(conn, exc)
            return
        self._commit_if_due(conn, force=False)

    def _commit_if_due(self, conn: Connection, *, force: bool) -> bool:
        """Under the lock: commit the open transaction if the module docstring's rule (or
        ``force``) says so; whether it was ended."""
        if not self._pending:
            with self._arrivals:
                idle = not self._arriving
            if idle and conn.in_transaction():
                conn.rollback()  # only refused units ran: nothing to keep
            return False
        if not force and self._pending < self._max_batch and \
                time.monotonic() - self._opened_at < self._max_delay:
            with self._arrivals:
                if self._arriving:
                    return False
        try:
            conn.commit()
        except Exception as exc:
            self._finish(conn, exc)
        else:
            self.commits += 1
            self._finish(conn, None)
        return True

    def _finish(self, conn: Connection, failure: Exception | None) -> None:
        """End the open transaction (``failure``: it did not commit) and wake its units."""
        if failure is not None:
            if self._pending:
                self._failures[self._batch] = [failure, self._pending]
            try:
                if conn.in_transaction():
                    conn.rollback()
            except Exception:  # noqa: S110 - the connection is reset on its next use
                pass
        self._batch += 1
        self._pending = 0
        self._committed.notify_all()

    def _wait_for(self, batch: int, while_waiting, after_waiting) -> None:
        """Under the lock, released meanwhile: wait until transaction ``batch`` ended. A
        wait that outlasts ``max_delay`` commits it itself (the request counted as arriving
        may have failed before taking the writer)."""
        if while_waiting is not None:
            while_waiting()
        while self._batch == batch:
            if not self._committed.wait(self._max_delay) and self._batch == batch:
                self._commit_if_due(self._connection(), force=True)
        if after_waiting is not None:
            self.lock.release()
            try:
                after_waiting()
            finally:
                self.lock.acquire()

    def _raise_if_failed(self, batch: int) -> None:
        failed = self._failures.get(batch)
        if failed is None:
            return
        failed[1] -= 1
        if failed[1] == 0:
            del self._failures[batch]
        raise storage_unavailable("the relay could not store this request and kept nothing "
                                  f"of it; retry it ({type(failed[0]).__name__})") from failed[0]
