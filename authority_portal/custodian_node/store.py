"""The node's own database (SQLite, :mod:`sqlite3`; docs/custodian_node.md, "State").

Three things:

- ``pending``: the attempt a node has begun to release to, written before its decision is
  appended to the log and removed when the release is recorded or has failed cleanly: the
  attempt's nonce, the warrant's hash and the conversation (unique together), the
  authorisation digest and the time. A row left here by a node that died between the two
  (docs/custodian_node.md, "State") keeps the target reserved for that attempt alone, so a
  restarted node resumes it when the same request comes again and refuses any other;
- ``released``: one row per release the node made, written only after its decision was
  logged and its shares made: the attempt's nonce (unique: a nonce is used once), the
  warrant's hash and the conversation (unique together: a node releases for one target of
  one warrant once), the authorisation digest, how many records, the log index of the
  node's decision entry and the time;
- ``seen``: the newest checkpoint the node has verified (its size and root), against which
  the next one must be consistent.

Refusals are written to the audit log, not here, so a refused request leaves this database
exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator

from audit.checkpoint import Checkpoint
from authority_portal.custodian_node.errors import NodeError

SCHEMA = """
CREATE TABLE IF NOT EXISTS node_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS released (
    nonce TEXT PRIMARY KEY,
    warrant_sha256 TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    authorisation_sha256 TEXT NOT NULL,
    records INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    decided_at REAL NOT NULL,
    UNIQUE (warrant_sha256, conversation_id)
);
CREATE TABLE IF NOT EXISTS pending (
    nonce TEXT PRIMARY KEY,
    warrant_sha256 TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    authorisation_sha256 TEXT NOT NULL,
    started_at REAL NOT NULL,
    UNIQUE (warrant_sha256, conversation_id)
);
"""
KIND = "escrowlab-custodian-node-v1"


class NodeStore:
    """A node's database at ``path`` (``":memory:"`` for a throw-away one)."""

    def __init__(self, path: str | os.PathLike[str], node_id: str) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            with self._db:
                self._db.executescript(SCHEMA)
                row = self._db.execute("SELECT value FROM node_meta WHERE name = 'kind'"
                                       ).fetchone()
                if row is None:
                    self._db.execute("INSERT INTO node_meta VALUES ('kind', ?), ('node', ?)",
                                     (KIND, node_id))
        except sqlite3.DatabaseError as exc:
            raise NodeError(f"{self.path} is not a custodian node database: {exc}") from None
        owner = self._meta("node")
        if self._meta("kind") != KIND or owner != node_id:
            raise NodeError(f"{self.path} is the database of node {owner!r}, not {node_id!r}")

    def close(self) -> None:
        self._db.close()

    def _meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM node_meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One request at a time: the checks and the write happen without a race."""
        with self._lock:
            yield

    def seen(self) -> Checkpoint | None:
        body = self._meta("seen")
        return None if body is None else Checkpoint.parse(body)

    def nonce_used(self, nonce: str) -> bool:
        return self._db.execute("SELECT 1 FROM released WHERE nonce = ?", (nonce,)
                                ).fetchone() is not None

    def released_for(self, warrant_sha256: bytes, conversation_id: str) -> str | None:
        """The nonce of the attempt this node released this target of this warrant to."""
        row = self._db.execute("SELECT nonce FROM released WHERE warrant_sha256 = ? AND "
                               "conversation_id = ?", (warrant_sha256.hex(), conversation_id)
                               ).fetchone()
        return None if row is None else row[0]

    def pending_for(self, warrant_sha256: bytes, conversation_id: str
                    ) -> tuple[str, bytes] | None:
        """The nonce and authorisation digest of the attempt whose release of this target
        of this warrant was begun and not finished, if any."""
        row = self._db.execute("SELECT nonce, authorisation_sha256 FROM pending WHERE "
                               "warrant_sha256 = ? AND conversation_id = ?",
                               (warrant_sha256.hex(), conversation_id)).fetchone()
        return None if row is None else (row[0], bytes.fromhex(row[1]))

    def pending_nonce(self, nonce: str) -> tuple[bytes, str, bytes] | None:
        """The warrant hash, conversation and authorisation digest of the unfinished release
        begun for attempt ``nonce``, if any."""
        row = self._db.execute("SELECT warrant_sha256, conversation_id, authorisation_sha256 "
                               "FROM pending WHERE nonce = ?", (nonce,)).fetchone()
        return None if row is None else (bytes.fromhex(row[0]), row[1], bytes.fromhex(row[2]))

    def begin_release(self, nonce: str, warrant_sha256: bytes, conversation_id: str,
                      authorisation_sha256: bytes, started_at: float) -> None:
        """Reserve the target for attempt ``nonce`` (durably, before the decision is logged);
        a reservation this attempt already holds is kept as it is."""
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO pending VALUES (?, ?, ?, ?, ?)",
                             (nonce, warrant_sha256.hex(), conversation_id,
                              authorisation_sha256.hex(), started_at))

    def abandon_release(self, nonce: str) -> None:
        """Drop attempt ``nonce``'s reservation: nothing was released to it."""
        with self._db:
            self._db.execute("DELETE FROM pending WHERE nonce = ?", (nonce,))

    def pending(self) -> list[tuple]:
        return self._db.execute("SELECT nonce, warrant_sha256, conversation_id, started_at "
                                "FROM pending ORDER BY started_at").fetchall()

    def record_release(self, nonce: str, warrant_sha256: bytes, conversation_id: str,
                       authorisation_sha256: bytes, records: int, log_index: int,
                       decided_at: float, seen: Checkpoint) -> None:
        """Record the release made to attempt ``nonce`` and drop its reservation, in one
        transaction."""
        with self._db:
            self._db.execute("DELETE FROM pending WHERE nonce = ?", (nonce,))
            self._db.execute("INSERT INTO released VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (nonce, warrant_sha256.hex(), conversation_id,
                              authorisation_sha256.hex(), records, log_index, decided_at))
            self._db.execute("INSERT OR REPLACE INTO node_meta VALUES ('seen', ?)",
                             (seen.body(),))

    def releases(self) -> list[tuple]:
        return self._db.execute("SELECT nonce, warrant_sha256, conversation_id, records, "
                                "log_index FROM released ORDER BY decided_at").fetchall()
