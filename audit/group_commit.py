"""Group commit: concurrent appenders share one transaction and one fsync.

The leader/follower scheme of database write-ahead logs (PostgreSQL's ``commit_delay``
group flush, SQLite's documentation on batching transactions in WAL mode): an appender
queues its leaf; if no commit is in flight it becomes the leader, takes every leaf queued
so far (up to ``max_batch``) and commits them in one durable transaction; the others wait
for the commit that carries their leaf. Each append returns only after the transaction
holding its leaf has committed, so "acknowledged means durable" holds exactly as for a
lone append (docs/architecture.md, "Conventions"); a single appender pays one commit per
leaf, as before, and concurrent ones pay one per batch.

A batch that fails to commit fails every append in it, and none of them is acknowledged:
the leader sees the storage error itself, the followers a :class:`StorageError` naming it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from audit.errors import StorageError

DEFAULT_MAX_BATCH = 4096


class _Waiter:
    __slots__ = ("data", "index", "error", "lead", "wake")

    def __init__(self, data: bytes, lock: threading.Lock) -> None:
        self.data = data
        self.index: int | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.wake = threading.Condition(lock)


class GroupCommit:
    """Shares commits among concurrent callers of :meth:`append` (module docstring).

    ``commit_batch(items)`` appends ``items`` in one atomic, durable transaction and
    returns the index of the first. A finished commit wakes only the appenders it carried
    and the next leader (the oldest queued appender), not every waiting thread.
    """

    def __init__(self, commit_batch: Callable[[Sequence[bytes]], int],
                 max_batch: int = DEFAULT_MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError("a group commit carries at least one leaf")
        self._commit_batch = commit_batch
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Waiter] = []
        self._committing = False
        self.commits = 0  # transactions made, for the benchmark's leaves-per-commit figure

    def append(self, data: bytes) -> int:
        """Append ``data`` in the next group commit; its index, once durable."""
        with self._lock:
            waiter = _Waiter(data, self._lock)
            self._queue.append(waiter)
            if self._committing:
                while not waiter.lead and waiter.index is None and waiter.error is None:
                    waiter.wake.wait()
            else:
                waiter.lead = self._committing = True
            while waiter.lead:
                waiter.lead = False
                batch = self._queue[:self._max_batch]
                del self._queue[:self._max_batch]
                self._lock.release()
                try:
                    self._commit(batch, waiter)
                finally:
                    self._lock.acquire()
                    self._hand_over(batch, waiter)
        if waiter.error is not None:
            raise waiter.error
        return waiter.index  # type: ignore[return-value]

    def _hand_over(self, batch: list[_Waiter], leader: _Waiter) -> None:
        """Under the lock: wake the appenders ``batch`` carried, and pass the lead on to the
        oldest queued appender (the leader itself if it is still queued)."""
        for waiter in batch:
            if waiter is not leader:
                waiter.wake.notify()
        if not self._queue:
            self._committing = False
            return
        following = self._queue[0]
        following.lead = True
        if following is not leader:
            following.wake.notify()

    def _commit(self, batch: list[_Waiter], leader: _Waiter) -> None:
        """Commit ``batch`` and hand each waiter its index or the failure (the leader's own
        append raises the storage error itself)."""
        try:
            first = self._commit_batch([w.data for w in batch])
        except BaseException as exc:
            for waiter in batch:
                waiter.error = exc if waiter is leader else StorageError(
                    f"the group commit carrying this append failed and acknowledged none of "
                    f"it: {exc}")
            return
        self.commits += 1
        for offset, waiter in enumerate(batch):
            waiter.index = first + offset
