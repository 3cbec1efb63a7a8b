"""Queue wake-ups across relay processes on PostgreSQL: ``LISTEN``/``NOTIFY`` (docs/relay.md,
"Several relay processes").

Each relay process keeps its own long-polling waiters (:mod:`messaging.relay.polling`). When
several processes serve one PostgreSQL database, an envelope queued through one of them must
wake a fetch waiting in another. A transaction that queues envelopes also runs
``pg_notify(CHANNEL, recipient)`` for each recipient; PostgreSQL delivers a notification only
if, and when, that transaction commits (PostgreSQL documentation, "NOTIFY"), so a waiter is
never woken by an envelope that was rolled back. Every process listens on the channel on a
connection of its own and wakes the waiters of each address it is told about; they fetch
again from the database.

A listener that loses its connection reconnects; notifications sent meanwhile are lost, so
a fetch waiting then sees its envelope at its next fetch (at the latest when its wait ends),
as with no wake-ups at all: they only make delivery prompt, never correct.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

CHANNEL = "escrowlab_relay_queue"
POLL_SECONDS = 0.5  # how often the listener looks up from waiting to see if it should stop
RECONNECT_SECONDS = 1.0

_NOTIFY = text("SELECT pg_notify(:channel, :address)")
_log = logging.getLogger(__name__)


class ServerWakeups:
    """Notify the other processes of queued envelopes, and listen for theirs."""

    def __init__(self, engine: Engine, on_wake: Callable[[str], object]) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("cross-process wake-ups use PostgreSQL's LISTEN/NOTIFY")
        self._engine = engine
        self._on_wake = on_wake
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="relay-wakeups", daemon=True)
        self._thread.start()

    def notify(self, conn: Connection, addresses: Iterable[str]) -> None:
        """In the transaction that queued envelopes for ``addresses``: tell every listener
        once it commits."""
        for address in sorted(set(addresses)):
            conn.execute(_NOTIFY, {"channel": CHANNEL, "address": address})

    def close(self) -> None:
        """Stop listening (within :data:`POLL_SECONDS`)."""
        self._stop.set()
        self._thread.join(POLL_SECONDS * 4)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen_once()
            except Exception as exc:  # a lost connection: wake-ups pause, delivery goes on
                self.listening.clear()
                _log.warning("relay wake-ups: listener connection lost (%s); reconnecting",
                             type(exc).__name__)
                self._stop.wait(RECONNECT_SECONDS)

    def _listen_once(self) -> None:
        raw = self._engine.raw_connection()
        try:
            driver = raw.driver_connection
            driver.rollback()
            driver.autocommit = True
            driver.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            while not self._stop.is_set():
                for note in driver.notifies(timeout=POLL_SECONDS):
                    self._on_wake(note.payload)
        finally:
            self.listening.clear()
            raw.invalidate()  # never hand a LISTENing, autocommit connection back to the pool
            raw.close()
