"""The portal's database: SQLAlchemy 2, SQLite by default, any SQLAlchemy URL (PostgreSQL)
otherwise (docs/portal.md, "Storage").

SQLite enforces foreign keys only when asked, and the separation-of-duties rules of
:mod:`authority_portal.app.models` are foreign keys and checks, so every SQLite
connection turns ``PRAGMA foreign_keys`` on. A database file runs in WAL mode
(https://sqlite.org/wal.html) with ``synchronous=FULL`` (every commit fsynced, as in the
default mode): requests read while another writes, and a writer waits up to
:data:`SQLITE_BUSY_SECONDS` for the one before it instead of failing.
"""

from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_SECONDS = 30.0
MEMORY_URLS = ("sqlite://", "sqlite:///:memory:")


class Base(DeclarativeBase):
    """The declarative base of every portal table."""


def make_engine(url: str) -> Engine:
    """An engine for ``url``; an in-memory SQLite database is shared by every thread."""
    if url.startswith("sqlite"):
        extra = {"connect_args": {"check_same_thread": False,
                                  "timeout": SQLITE_BUSY_SECONDS}}
        if url in MEMORY_URLS:
            extra["poolclass"] = StaticPool
        engine = create_engine(url, **extra)
        event.listen(engine, "connect", _sqlite_pragmas)
        if url not in MEMORY_URLS:
            event.listen(engine, "connect", _sqlite_wal)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_wal(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def make_session(engine: Engine) -> scoped_session:
    """A thread-local session factory bound to ``engine`` (one session per request)."""
    return scoped_session(sessionmaker(bind=engine, expire_on_commit=False))
