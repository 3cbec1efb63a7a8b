"""The portal's side of the audit log: every step appended, the auditor's views, and the
offline verifier run on demand (docs/portal.md, "The audit trail").

:class:`PortalLog` wraps one :class:`audit.log.AuditLog` (with its witness quorum) and
the keys an auditor pins: the log's key and the witnesses' keys with the quorum. The
verification it offers is :func:`audit.verifier.verify_log` on the log's own store, which
trusts nothing in the database and recomputes every hash.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from audit.checkpoint import Checkpoint
from audit.entries import Entry
from audit.errors import AuditError
from audit.log import AuditLog
from audit.note import SignedNote, Verifier, b64, parse_note
from audit.receipt import Receipt
from audit.storage import LogStore
from audit.verifier import verify_log

ON_BEHALF_OF = "on_behalf_of"

MAX_PAGE = 500


@dataclass(frozen=True)
class LoggedEntry:
    index: int
    entry: Entry

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, **self.entry.to_json()}


class Appender(Protocol):
    """A writer of a served log under one name (:class:`audit.http.log_client.HttpLog`)."""

    actor: str

    def append_event(self, type: str, actor: str, payload: Mapping[str, Any]) -> Receipt: ...


class PortalLog:
    """Appends portal events to ``log`` and reads them back for the auditor."""

    def __init__(self, log: AuditLog, witness_keys: Sequence[Verifier] = (),
                 threshold: int = 0) -> None:
        self._setup(log.store, log.signer.verifier, witness_keys, threshold)
        self.log: AuditLog | None = log
        self._appender: Appender | None = None

    @classmethod
    def served(cls, store: LogStore, appender: Appender, log_key: Verifier,
               witness_keys: Sequence[Verifier], threshold: int) -> PortalLog:
        """A log served by another process: appended to through ``appender`` (as its one
        name), read from ``store`` (module docstring)."""
        portal_log = cls.__new__(cls)
        portal_log._setup(store, log_key, witness_keys, threshold)
        portal_log.log = None
        portal_log._appender = appender
        return portal_log

    def _setup(self, store: LogStore, log_key: Verifier, witness_keys: Sequence[Verifier],
               threshold: int) -> None:
        self._store = store
        self.log_key = log_key
        self.witness_keys = tuple(witness_keys)
        self.threshold = threshold
        self._lock = threading.Lock()
        self._witnessed: tuple[SignedNote, int] | None = None

    @property
    def store(self) -> LogStore:
        """The store read from: the in-process log's current one, or the served log's file."""
        return self._store if self.log is None else self.log.store

    def append(self, type: str, actor: str, payload: Mapping[str, Any]) -> Receipt:
        """Append one event durably and return its witnessed receipt ("log, then act").

        A served log: the portal appends as its own appender, naming the account that acted
        in the payload (``on_behalf_of``); each append is its own HTTP request.

        Concurrent appends share commits and checkpoints, as the log's own append endpoint
        does (docs/audit_log.md, "Appending over HTTP"): the entry is committed by the
        store's group commit, then, one at a time, it takes its receipt under the last
        checkpoint this handle had cosigned by the quorum if that one covers it, or under a
        new one, signed and cosigned, that covers every entry committed so far.
        """
        if self.log is None:  # served: each append is its own HTTP request
            if ON_BEHALF_OF in payload:
                raise AuditError(f"a portal event's payload must not carry {ON_BEHALF_OF!r}")
            return self._appender.append_event(type, self._appender.actor,
                                               {**payload, ON_BEHALF_OF: actor})
        entry = self.log.event(type, actor, payload).encode()
        self.log.check_appendable()
        index = self.log.append(entry)
        with self._lock:
            if self._witnessed is None or self._witnessed[1] <= index:
                note = self.log.checkpoint()
                self._witnessed = (note, Checkpoint.parse(note.text).size)
            note, size = self._witnessed
            return self.log.receipt(index, note, size)

    def append_event(self, type: str, actor: str, payload: Mapping[str, Any]) -> Receipt:
        """:meth:`append`, under the name the warrant cases and custodian nodes call."""
        return self.append(type, actor, payload)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """The RFC 9162 consistency proof between two sizes (what a node asks the log)."""
        with self._lock:
            self.store.refresh()
            return self.store.consistency_proof(size1, size2)

    @property
    def size(self) -> int:
        with self._lock:
            return self.store.refresh()

    def entries(self, start: int = 0, limit: int = MAX_PAGE) -> list[LoggedEntry]:
        """Entries ``start`` .. ``start + limit`` (those that no longer decode are shown as
        such by :meth:`verify`, not here)."""
        with self._lock:
            size = self.store.refresh()
            end = min(size, start + min(limit, MAX_PAGE))
            leaves = self.store.leaves(start, end) if start < end else []
        found = []
        for offset, data in enumerate(leaves):
            try:
                found.append(LoggedEntry(start + offset, Entry.decode(data)))
            except AuditError:
                continue
        return found

    def trail(self, reference: str) -> list[LoggedEntry]:
        """Every entry whose payload names warrant or detection order ``reference``
        (``warrant``, ``warrant_id`` or ``detection_order_id``), in log order."""
        trail = []
        start, size = 0, self.size
        while start < size:
            page = self.entries(start, MAX_PAGE)
            trail.extend(e for e in page if reference in (
                e.entry.payload.get("warrant"), e.entry.payload.get("warrant_id"),
                e.entry.payload.get("detection_order_id")))
            start += MAX_PAGE
        return trail

    def checkpoints(self) -> list[dict[str, Any]]:
        """Every signed checkpoint, newest first, with the witnesses whose cosignature on it
        verifies."""
        with self._lock:
            stored = self.store.checkpoints()
        shown = []
        for size, root, note in reversed(stored):
            signed = parse_note(note)
            try:
                verified = signed.verify(list(self.witness_keys))
            except AuditError:
                verified = {}
            cosigners = sorted(w.name for w in self.witness_keys if w.vkey in verified)
            shown.append({"size": size, "root": b64(root), "cosigners": cosigners,
                          "note": note})
        return shown

    def verify(self) -> dict[str, Any]:
        """Run the offline verifier over the whole log; ``ok`` and its report or error."""
        with self._lock:
            try:
                self.store.refresh()  # a served log's store is written by another process
                report = verify_log(self.store, self.log_key, self.witness_keys,
                                    self.threshold, check_entries=True)
            except AuditError as exc:
                return {"ok": False, "error": str(exc)}
        return {"ok": True, "report": report.to_json()}
