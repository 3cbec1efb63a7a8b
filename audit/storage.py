"""SQLite storage for the log: leaves and every complete interior node, by (level, index).

Layout (format ``escrowlab-audit-log/1``)::

    meta(key, value)                      format, origin, key material that is public
    leaves(idx PRIMARY KEY, data, hash)   leaf ``idx``: entry bytes and RFC 9162 leaf hash
    nodes(level, idx, hash)               complete subtree of 2**level leaves starting at
                                          leaf idx * 2**level (level >= 1), WITHOUT ROWID
    checkpoints(size PRIMARY KEY, root, note)   every checkpoint the log signed

Interior nodes are written in the same transaction as the leaf that completes them, so
a root or proof is O(log n) reads (:mod:`audit.proof`) and a restart reads only the
O(log n) nodes of the right edge (:mod:`audit.compact`), never the leaves.

Durability, precisely. The database runs in WAL mode. An append is acknowledged when
its transaction has committed; it is atomic (leaf and nodes together or not at all).
``durability="power"`` (the default, ``synchronous=FULL``): the WAL is fsync'ed at every
commit before the append returns, so an acknowledged append survives a process kill, an
OS crash and power loss, on a disk that honours flushes (docs/architecture.md: "writes that are
acknowledged are durable").
``durability="process"`` (``synchronous=NORMAL``, opt-in, several times faster): a
committed append has been handed to the OS (written to the WAL) but not fsync'ed, so it
survives the process being killed at any instant (SIGKILL included), while an OS crash
or power loss may lose the commits since the last WAL checkpoint; the log is never torn
or inconsistent, it may only end shorter.

The signed head, beside the database. Every checkpoint the log signs is also written to
``<log>.head`` (the signed note, nothing else) before the database records it: to a
temporary file, fsynced, renamed over the old head, and the directory fsynced
(``durability="process"``: no fsyncs). A damaged or lost WAL can make SQLite recover
the database to an older state, checkpoints table included (a bit flip in a WAL frame
ends recovery at that frame: https://sqlite.org/wal.html, "WAL File Format"); the
head file is a separate file that recovery does not touch, so the log still knows what
it signed. :meth:`LogStore.signed_head` is the larger of the two records, and
:class:`audit.log.AuditLog` refuses to sign or append when the tree does not extend it.
A missing head file (a log from before it existed, or one the operator deleted) falls
back to the database's own record: deleting it is an operator's tamper, which the
witnesses and auditors' copies catch as they catch any other (``tests/audit/tamper.py``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence

from audit import compact, proof
from audit.checkpoint import Checkpoint, SignedCheckpoint
from audit.errors import AuditError, LogSigningError, ProofShapeError, StorageError
from audit.group_commit import GroupCommit
from audit.note import MAX_NOTE_BYTES, parse_note
from audit.rfc9162 import EMPTY_ROOT, HASH_SIZE, hash_children, hash_leaf
from audit.sqlitefile import fsync_dir, open_owned, sqlite_errors

FORMAT = "escrowlab-audit-log/1"
HEAD_SUFFIX = ".head"
MAX_HEAD_BYTES = 2 * MAX_NOTE_BYTES
MAX_LEAF_BYTES = 1 << 20
DURABILITY = {"process": "NORMAL", "power": "FULL"}
DEFAULT_DURABILITY = "power"
WAL_AUTOCHECKPOINT_PAGES = 4000  # fewer, larger WAL checkpoints: less write amplification
CACHE_KIB = 32 * 1024
_ZERO = bytes(HASH_SIZE)

_SCHEMA = """
CREATE TABLE leaves(idx INTEGER PRIMARY KEY, data BLOB NOT NULL, hash BLOB NOT NULL);
CREATE TABLE nodes(level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
                   PRIMARY KEY(level, idx)) WITHOUT ROWID;
CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL);
"""


def _sqlite_errors(path: str) -> contextlib.AbstractContextManager[None]:
    return sqlite_errors(f"audit log {path}")


def _check_leaf(data: object) -> None:
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_LEAF_BYTES:
        raise StorageError(f"a leaf is bytes of at most {MAX_LEAF_BYTES} bytes")


def _subtree_list(node: proof.NodeGetter, size: int) -> list[bytes]:
    return [proof.subtree_hash(node, 0, size)]


class LogStore:
    """A Merkle log in one SQLite file. Thread-safe; one writer at a time per file."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False,
                 durability: str = DEFAULT_DURABILITY) -> None:
        if durability not in DURABILITY:
            raise StorageError(f"durability must be one of {sorted(DURABILITY)}")
        self.path = str(path)
        self.durability = durability
        self._lock = threading.RLock()
        self._group = GroupCommit(self.append_batch)
        self._db = open_owned(self.path, FORMAT, _SCHEMA, what="audit log", create=create,
                              pragmas={"synchronous": DURABILITY[durability],
                                       "wal_autocheckpoint": WAL_AUTOCHECKPOINT_PAGES,
                                       "cache_size": -CACHE_KIB})
        try:
            with _sqlite_errors(self.path):
                self._load()
        except BaseException:
            self._db.close()
            raise

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load(self) -> None:
        """Read the tree size and its right-edge nodes (O(log n) reads)."""
        (last,) = self._db.execute("SELECT max(idx) FROM leaves").fetchone()
        size = 0 if last is None else last + 1
        frontier = []
        for level, index in compact.frontier_positions(size):
            value = self._node(level, index)
            if not isinstance(value, bytes) or len(value) != HASH_SIZE:
                raise StorageError(
                    f"audit log {self.path} is corrupt: missing node ({level}, {index}) "
                    f"of a tree of size {size}"
                )
            frontier.append((level, value))
        self._size = size
        self._frontier = frontier

    # -- meta --------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock, _sqlite_errors(self.path):
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        if row is not None and not isinstance(row[0], str):
            raise StorageError(f"audit log {self.path} is corrupt: meta {key!r} is not text")
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, _sqlite_errors(self.path):
            self._db.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))

    # -- appends -----------------------------------------------------------

    @property
    def size(self) -> int:
        """The tree size as of this handle's last append, open or :meth:`refresh`."""
        return self._size

    @property
    def group_commits(self) -> int:
        """Transactions :meth:`append` has made on this handle (several leaves each when
        appenders were concurrent)."""
        return self._group.commits

    def append(self, data: bytes) -> int:
        """Append one leaf durably and atomically; return its index. Concurrent callers
        share transactions and fsyncs (:mod:`audit.group_commit`); each returns only once
        the transaction holding its leaf has committed."""
        _check_leaf(data)
        return self._group.append(bytes(data))

    def append_batch(self, items: Sequence[bytes]) -> int:
        """Append leaves in one atomic, durable transaction; return the first index."""
        for data in items:
            _check_leaf(data)
        with self._lock, _sqlite_errors(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._sync_size()
                first = self._size
                frontier = list(self._frontier)
                leaves: list[tuple[int, bytes, bytes]] = []
                nodes: list[tuple[int, int, bytes]] = []
                index = first
                for data in items:
                    value = hash_leaf(data)
                    leaves.append((index, bytes(data), value))
                    compact.append(frontier, index, value, nodes.append)
                    index += 1
                if len(leaves) == 1:
                    self._db.execute("INSERT INTO leaves VALUES(?, ?, ?)", leaves[0])
                else:
                    self._db.executemany("INSERT INTO leaves VALUES(?, ?, ?)", leaves)
                if len(nodes) == 1:
                    self._db.execute("INSERT INTO nodes VALUES(?, ?, ?)", nodes[0])
                elif nodes:
                    self._db.executemany("INSERT INTO nodes VALUES(?, ?, ?)", nodes)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._size, self._frontier = index, frontier
            return first

    def _sync_size(self) -> None:
        """Reload the right edge if another connection appended since we last looked."""
        (last,) = self._db.execute("SELECT max(idx) FROM leaves").fetchone()
        if (0 if last is None else last + 1) != self._size:
            self._load()

    def check_right_edge(self) -> None:
        """Recompute each right-edge node from the nodes (or the leaf bytes) below it.

        O(log n) reads. Raises :class:`StorageError` naming the first damaged position:
        a stored hash that its children, or its leaf's bytes, do not give.
        """
        with self._lock, _sqlite_errors(self.path):
            self._sync_size()
            for level, index in compact.frontier_positions(self._size):
                stored = self._node(level, index)
                if level == 0:
                    row = self._db.execute(
                        "SELECT data FROM leaves WHERE idx=?", (index,)).fetchone()
                    data = row[0] if row is not None else None
                    ok = isinstance(data, bytes) and hash_leaf(data) == stored
                else:
                    left, right = (self._node(level - 1, 2 * index),
                                   self._node(level - 1, 2 * index + 1))
                    ok = (isinstance(left, bytes) and isinstance(right, bytes)
                          and hash_children(left, right) == stored)
                if not ok:
                    raise StorageError(f"audit log {self.path} is damaged: the stored node "
                                       f"({level}, {index}) on the tree's right edge does not "
                                       "match what it covers")

    # -- reads -------------------------------------------------------------

    def _node(self, level: int, index: int) -> bytes | None:
        if level == 0:
            row = self._db.execute("SELECT hash FROM leaves WHERE idx=?", (index,)).fetchone()
        else:
            row = self._db.execute(
                "SELECT hash FROM nodes WHERE level=? AND idx=?", (level, index)
            ).fetchone()
        return None if row is None else row[0]

    def refresh(self) -> int:
        """Pick up appends made through another connection; return the size."""
        with self._lock, _sqlite_errors(self.path):
            self._sync_size()
        return self._size

    def _check_size(self, size: int) -> None:
        if isinstance(size, int) and size > self._size:
            self.refresh()
        if not isinstance(size, int) or not 0 <= size <= self._size:
            raise ProofShapeError(f"tree size {size} is not in [0, {self._size}]")

    def root(self, size: int | None = None) -> bytes:
        """RFC 9162 root of the first ``size`` leaves (default: all of them)."""
        if size is None or size == self._size:
            return compact.root(self._frontier)
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._prove(_subtree_list, size)[0]

    def _nodes(self, positions: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Fetch many nodes in (at most) two statements of indexed point lookups."""
        leaves = [i for level, i in positions if level == 0]
        inner = [(level, i) for level, i in positions if level]
        found: dict[tuple[int, int], bytes] = {}
        with self._lock, _sqlite_errors(self.path):
            if leaves:
                marks = ",".join("?" * len(leaves))
                for i, value in self._db.execute(
                    f"SELECT idx, hash FROM leaves WHERE idx IN ({marks})", leaves
                ):
                    found[(0, i)] = value
            if inner:
                query = " UNION ALL ".join(
                    ["SELECT level, idx, hash FROM nodes WHERE level=? AND idx=?"] * len(inner)
                )
                for level, i, value in self._db.execute(query, [x for p in inner for x in p]):
                    found[(level, i)] = value
        for position in positions:
            value = found.get(position)
            if not isinstance(value, bytes) or len(value) != HASH_SIZE:
                raise StorageError(f"audit log {self.path} is corrupt: node {position}")
        return found

    def _prove(self, generate, *args: int) -> list[bytes]:
        """Run a proof generator twice: once to learn its nodes, once on one batched read."""
        wanted: list[tuple[int, int]] = []
        generate(lambda level, index: wanted.append((level, index)) or _ZERO, *args)
        found = self._nodes(wanted)
        return generate(lambda level, index: found[(level, index)], *args)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self._size if size is None else size
        self._check_size(size)
        return self._prove(proof.inclusion_proof, index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        size2 = self._size if size2 is None else size2
        self._check_size(size2)
        return self._prove(proof.consistency_proof, size1, size2)

    def leaf(self, index: int) -> bytes:
        if isinstance(index, int) and index >= self._size:
            self.refresh()
        if not isinstance(index, int) or not 0 <= index < self._size:
            raise StorageError(f"leaf index {index} is not in [0, {self._size})")
        with self._lock, _sqlite_errors(self.path):
            row = self._db.execute("SELECT data FROM leaves WHERE idx=?", (index,)).fetchone()
        if row is None or not isinstance(row[0], bytes):
            raise StorageError(f"audit log {self.path} is corrupt: leaf {index}")
        return row[0]

    def leaves(self, start: int, end: int) -> list[bytes]:
        """Leaves ``[start, end)``; requires ``0 <= start <= end <= size``."""
        if end > self._size:
            self.refresh()
        if not 0 <= start <= end <= self._size:
            raise StorageError(f"leaf range [{start}, {end}) is not within [0, {self._size})")
        with self._lock, _sqlite_errors(self.path):
            rows = self._db.execute(
                "SELECT idx, data FROM leaves WHERE idx>=? AND idx<? ORDER BY idx", (start, end)
            ).fetchall()
        if [row[0] for row in rows] != list(range(start, end)) or not all(
            isinstance(row[1], bytes) for row in rows
        ):
            raise StorageError(f"audit log {self.path} is corrupt: leaves [{start}, {end})")
        return [row[1] for row in rows]

    # -- full scans (the verifier) -------------------------------------------

    def scan_leaves(self, batch: int = 65536) -> Iterator[tuple[int, bytes, bytes]]:
        """Every stored leaf row (idx, data, hash) in index order, read in batches."""
        last = -1
        while True:
            with self._lock, _sqlite_errors(self.path):
                rows = self._db.execute(
                    "SELECT idx, data, hash FROM leaves WHERE idx>? ORDER BY idx LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def scan_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        """Every stored interior node (level, idx, hash) ordered by level then index."""
        with self._lock, _sqlite_errors(self.path):
            cursor = self._db.execute("SELECT level, idx, hash FROM nodes ORDER BY level, idx")
            while rows := cursor.fetchmany(65536):
                yield from rows

    # -- signed checkpoints --------------------------------------------------

    @property
    def head_path(self) -> str | None:
        """``<log>.head``, the latest signed checkpoint kept outside the database."""
        return None if self.path == ":memory:" else self.path + HEAD_SUFFIX

    def head_file(self) -> SignedCheckpoint | None:
        """The checkpoint in the head file, None if there is none; damage is an error."""
        path = self.head_path
        if path is None:
            return None
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_HEAD_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read the signed head {path}: {exc.strerror}") from None
        try:
            if len(data) > MAX_HEAD_BYTES:
                raise StorageError("too long")
            note = data.decode("utf-8")
            cp = Checkpoint.parse(parse_note(note).text)
        except (AuditError, UnicodeDecodeError) as exc:
            raise StorageError(f"the signed head {path} is damaged ({exc}); the log will not "
                               "sign until it is restored") from None
        return SignedCheckpoint(cp.size, cp.root, note)

    def signed_head(self) -> SignedCheckpoint | None:
        """The latest checkpoint the log signed: the larger of the head file and the
        database's checkpoints table (a damaged WAL can roll back only the latter)."""
        recorded, kept = self.latest_checkpoint(), self.head_file()
        if kept is None or recorded is not None and recorded.size > kept.size:
            return recorded
        if recorded is not None and recorded.size == kept.size and recorded.root != kept.root:
            raise StorageError(f"audit log {self.path}: the database and {self.head_path} "
                               f"hold different signed checkpoints of size {kept.size}")
        return kept

    def _write_head(self, note: str) -> None:
        """Replace the head file atomically (temporary file, fsync, rename, fsync dir)."""
        path = self.head_path
        if path is None:
            return
        tmp = path + ".tmp"
        synced = self.durability == "power"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, note.encode("utf-8"))
                if synced:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            if synced:
                fsync_dir(path)
        except OSError as exc:
            raise StorageError(f"cannot write the signed head {path}: {exc.strerror}") from None

    def save_checkpoint(self, size: int, root: bytes, note: str) -> None:
        """Record (or replace the note of) the checkpoint the log signed at ``size``.

        The head file is written first (when ``size`` is at least its size), inside the
        database's write transaction so that concurrent writers take turns; a crash
        between the two leaves the larger record in the file recovery cannot roll back.
        """
        with self._lock, _sqlite_errors(self.path):
            self._db.execute("BEGIN IMMEDIATE")  # one writer: head file and row agree
            try:
                row = self._db.execute(
                    "SELECT root FROM checkpoints WHERE size=?", (size,)).fetchone()
                kept = self.head_file()
                if row is not None and row[0] != root or (
                        kept is not None and kept.size == size and kept.root != root):
                    raise LogSigningError(f"a different checkpoint of size {size} is already "
                                          "recorded")
                if kept is None or size >= kept.size:
                    self._write_head(note)
                self._db.execute(
                    "INSERT INTO checkpoints VALUES(?, ?, ?) ON CONFLICT(size) DO UPDATE "
                    "SET note=excluded.note", (size, root, note))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """The largest checkpoint recorded in the database, None if it holds none."""
        with self._lock, _sqlite_errors(self.path):
            row = self._db.execute(
                "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone()
        if row is not None and not (type(row[0]) is int and isinstance(row[1], bytes)
                                    and isinstance(row[2], str)):
            raise StorageError(f"audit log {self.path} is corrupt: checkpoints table")
        return None if row is None else SignedCheckpoint(row[0], row[1], row[2])

    def checkpoints(self) -> list[SignedCheckpoint]:
        """Every checkpoint recorded in the database, smallest first."""
        with self._lock, _sqlite_errors(self.path):
            rows = self._db.execute("SELECT size, root, note FROM checkpoints ORDER BY size")
            out = rows.fetchall()
        if not all(type(r[0]) is int and isinstance(r[1], bytes) and isinstance(r[2], str)
                   for r in out):
            raise StorageError(f"audit log {self.path} is corrupt: checkpoints table")
        return [SignedCheckpoint(r[0], r[1], r[2]) for r in out]
