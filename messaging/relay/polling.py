"""Long polling of a device's queue (docs/relay.md, "Endpoints": ``GET /v1/messages?wait=S``
and ``POST /v1/messages/sync``).

A fetch that finds its queue empty may wait for an envelope instead of
answering at once. Each relay process keeps, per device address, a version
counter that moves whenever one of its transactions queues an envelope for
that device, and the fetches waiting on it. The envelopes a transaction queues
are collected while it runs (:meth:`LongPolling.queued`) and published only
once it committed (:meth:`LongPolling.publish`), so a waiter never sees an
envelope that was rolled back. Envelopes queued by other relay processes on the
same database do not wake a waiter; its fetch then times out.
"""

from __future__ import annotations

import threading

QueuedItem = tuple[int, bytes, float]
"""A queued envelope: (queue id, envelope bytes, receipt time)."""


class LongPolling:
    """Per-device queue versions and the fetches waiting on them. Thread-safe."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._waiters: dict[str, list[_Waiter]] = {}

    def begin(self) -> None:
        """Start collecting what this thread's transaction queues."""
        self._local.queued = {}

    def queued(self, recipient: str, item: QueuedItem) -> None:
        """Note an envelope the current transaction queued for ``recipient``."""
        self._local.queued.setdefault(recipient, []).append(item)

    def publish(self) -> None:
        """The current transaction committed: wake the fetches waiting for what it queued."""
        queued = self._local.queued
        if not queued:
            return
        with self._lock:
            for address, items in queued.items():
                self._versions[address] = self._versions.get(address, 0) + 1
                for waiter in self._waiters.pop(address, ()):
                    waiter.items.extend(items)
                    waiter.event.set()

    def pending(self) -> list[str]:
        """The recipients the current thread's transaction queued envelopes for."""
        return list(getattr(self._local, "queued", {}))

    def wake(self, address: str) -> None:
        """Another relay process committed an envelope for ``address``: move its version and
        wake its waiters, which fetch again."""
        with self._lock:
            self._versions[address] = self._versions.get(address, 0) + 1
            for waiter in self._waiters.pop(address, ()):
                waiter.event.set()

    def version(self, address: str) -> int:
        """A counter that moves whenever this process queues an envelope for ``address``."""
        with self._lock:
            return self._versions.get(address, 0)

    def wait(self, address: str, version: int, timeout: float) -> list[dict] | None:
        """Wait until this process commits an envelope for ``address`` or ``timeout`` passes.

        Call it after a fetch that found the queue empty, with the
        :meth:`version` read before that fetch. Returns the queue entries
        committed since (the fetch's JSON form, oldest first), ``[]`` if
        something may have been queued before the wait began (fetch again), or
        ``None`` on timeout.
        """
        waiter = _Waiter()
        with self._lock:
            if self._versions.get(address, 0) != version:
                return []
            self._waiters.setdefault(address, []).append(waiter)
        try:
            if not waiter.event.wait(timeout):
                return None
            return [{"id": queue_id, "envelope": envelope.hex(), "received_at": received_at}
                    for queue_id, envelope, received_at in waiter.items]
        finally:
            with self._lock:
                waiting = self._waiters.get(address, [])
                if waiter in waiting:
                    waiting.remove(waiter)
                if not waiting:
                    self._waiters.pop(address, None)


class _Waiter:
    """A fetch waiting for its device's queue."""

    __slots__ = ("event", "items")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.items: list[QueuedItem] = []
