"""Opening the SQLite files ``audit`` owns (a log, a witness's state), never anyone else's.

Each file carries ``meta(key, value)`` with a ``format`` row naming its layout. A file
is created (schema and format row in one ``BEGIN IMMEDIATE`` transaction, so a crash
leaves either nothing or the whole schema) only when it holds no table at all; a file
with other tables, or another format, is refused with :class:`StorageError` before
anything is written, so a wrong path never converts someone else's database.

Both kinds run in WAL mode (https://sqlite.org/wal.html) with the ``synchronous`` level
the caller chooses (https://sqlite.org/pragma.html#pragma_synchronous): ``FULL`` syncs
the WAL at every commit (survives power loss on a disk that honours flushes);
``NORMAL`` syncs only at WAL checkpoints (a commit survives a process crash, and an OS
crash or power loss may drop the last commits but never tears one).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

from audit.errors import StorageError


@contextlib.contextmanager
def sqlite_errors(what: str) -> Iterator[None]:
    """Turn any ``sqlite3.Error`` into a :class:`StorageError` naming ``what``."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(f"{what}: database error ({exc})") from None


def open_owned(path: str, fmt: str, schema: str, *, what: str, create: bool,
               pragmas: Mapping[str, str | int]) -> sqlite3.Connection:
    """Open (or, with ``create``, make) the ``fmt`` database at ``path``; autocommit mode.

    ``schema`` creates every table but ``meta``; ``what`` names the file in errors.
    """
    memory = path == ":memory:"
    if not memory and not Path(path).exists() and not create:
        raise StorageError(f"no {what} at {path}")
    if not memory and Path(path).is_dir():
        raise StorageError(f"{what} {path} is a directory")
    with sqlite_errors(f"{what} {path}"):
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        with sqlite_errors(f"{what} {path}"):
            tables = {row[0] for row in
                      db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables and not create or tables and "meta" not in tables:
                raise StorageError(f"{path} is not an escrowlab {what}")
            if tables:
                row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
                if row is None or row[0] != fmt:
                    found = "none" if row is None else repr(row[0])
                    raise StorageError(f"{path} is not an escrowlab {what} (format {found})")
            db.execute("PRAGMA journal_mode=WAL").fetchone()
            for name, value in pragmas.items():
                db.execute(f"PRAGMA {name}={value}")
            if not tables:
                db.executescript(
                    "BEGIN IMMEDIATE;CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                    f"{schema}INSERT INTO meta VALUES('format', '{fmt}');COMMIT;")
    except BaseException:
        db.close()
        raise
    return db
