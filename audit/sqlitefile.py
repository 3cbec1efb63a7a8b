"""Opening the SQLite files ``audit`` owns (a log, a witness's state), never anyone else's.

Each file carries ``meta(key, value)`` with a ``format`` row naming its layout.

- A new file is made only when asked (``create``) and only where nothing exists yet: the
  schema and format row are written to a temporary file beside it, which is fsynced and
  then linked into place (``link`` never replaces a file), so the path never holds a
  half-made or empty database, even after a crash.
- An existing file is first read without writing anything (SQLite's ``immutable`` URI
  mode when no ``-wal`` file is beside it, so not even ``-shm``/``-wal`` files appear;
  ``mode=ro`` otherwise). An empty file, a file with no ``meta`` table or another
  ``format`` (a relay database, another kind of ours), or something that is not SQLite
  at all is refused with :class:`StorageError`, the file and its directory unchanged.
  Trust on first use makes this matter: a witness that took an empty file for a new
  state would cosign a fork.

Both kinds run in WAL mode (https://sqlite.org/wal.html) with the ``synchronous`` level
the caller chooses (https://sqlite.org/pragma.html#pragma_synchronous): ``FULL`` syncs
the WAL at every commit (survives power loss on a disk that honours flushes);
``NORMAL`` syncs only at WAL checkpoints (a commit survives a process crash, and an OS
crash or power loss may drop the last commits but never tears one).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path

from audit.errors import StorageError


@contextlib.contextmanager
def sqlite_errors(what: str) -> Iterator[None]:
    """Turn any ``sqlite3.Error``, and text that is not UTF-8 (SQLite returns TEXT values
    as ``str``), into a :class:`StorageError` naming ``what``."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(f"{what}: database error ({exc})") from None
    except UnicodeDecodeError:
        raise StorageError(f"{what}: a stored text value is not UTF-8") from None


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync the directory holding ``path``, so a rename or link into it is durable."""
    fd = os.open(os.path.dirname(os.path.abspath(path)) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_owned(path: str, fmt: str, *, what: str) -> None:
    """Refuse ``path`` unless it is an existing ``fmt`` database; never writes anything."""
    if not Path(path).exists():
        raise StorageError(f"no {what} at {path}")
    if Path(path).is_dir():
        raise StorageError(f"{what} {path} is a directory")
    if Path(path).stat().st_size == 0:
        raise StorageError(f"{path} is an empty file, not an escrowlab {what}; refusing to "
                           "use it (nothing was written)")
    mode = "ro" if Path(path + "-wal").exists() else "ro&immutable=1"
    uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode={mode}"
    with sqlite_errors(f"{what} {path}"):
        probe = sqlite3.connect(uri, uri=True)
        try:
            tables = {row[0] for row in
                      probe.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            row = (probe.execute("SELECT value FROM meta WHERE key='format'").fetchone()
                   if "meta" in tables else None)
        finally:
            probe.close()
    if row is None or row[0] != fmt:
        found = "no format" if row is None else f"format {row[0]!r}"
        kind = "has no tables" if not tables else f"is another database ({found})"
        raise StorageError(f"{path} {kind}: not an escrowlab {what}; refusing to use it "
                           "(nothing was written)")


def _create(path: str, fmt: str, schema: str, what: str) -> None:
    """Make the ``fmt`` database at ``path`` all at once (temporary file, fsync, link)."""
    tmp = f"{path}.creating-{os.getpid()}"
    for suffix in ("", "-journal"):
        Path(tmp + suffix).unlink(missing_ok=True)
    try:
        with sqlite_errors(f"{what} {path}"):
            db = sqlite3.connect(tmp, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=DELETE").fetchone()
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(
                    "BEGIN IMMEDIATE;CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                    f"{schema}INSERT INTO meta VALUES('format', '{fmt}');COMMIT;")
                db.execute("PRAGMA journal_mode=WAL").fetchone()
            finally:
                db.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise StorageError(f"{path} appeared while creating the {what}") from None
        except OSError as exc:
            raise StorageError(f"cannot create {what} {path}: {exc.strerror}") from None
        fsync_dir(path)
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(tmp + suffix).unlink(missing_ok=True)


def open_owned(path: str, fmt: str, schema: str, *, what: str, create: bool,
               pragmas: Mapping[str, str | int]) -> sqlite3.Connection:
    """Open the ``fmt`` database at ``path`` (autocommit mode), or make it.

    With ``create``, a path where nothing exists gets a new database; an existing path
    must hold a ``fmt`` database either way. ``schema`` creates every table but
    ``meta``; ``what`` names the file in errors.
    """
    memory = path == ":memory:"
    if memory:
        with sqlite_errors(what):
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.executescript(
                "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                f"{schema}INSERT INTO meta VALUES('format', '{fmt}');")
        return db
    if create and not os.path.lexists(path):
        _create(path, fmt, schema, what)
    check_owned(path, fmt, what=what)
    with sqlite_errors(f"{what} {path}"):
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        with sqlite_errors(f"{what} {path}"):
            db.execute("PRAGMA journal_mode=WAL").fetchone()
            for name, value in pragmas.items():
                db.execute(f"PRAGMA {name}={value}")
            row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if row is None or row[0] != fmt:  # replaced between the check and the open
                raise StorageError(f"{path} is not an escrowlab {what}")
    except BaseException:
        db.close()
        raise
    return db
