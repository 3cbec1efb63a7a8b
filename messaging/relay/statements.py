"""The relay's hot-path statements: SQLAlchemy Core, run on SQLite's own cursor.

Every relay request runs a handful of statements (device identity, nonce,
then the operation's). Through ``Connection.execute`` each costs about 70 µs of
SQLAlchemy bookkeeping (cache key, execution context, result proxy) against
about 10 µs for sqlite3 itself. :class:`HotStatement` keeps the statement as
Core (one definition for every database), compiles it once for SQLite and runs
it on the driver's cursor of the connection already in the request's
transaction; on any other database it goes through ``Connection.execute``.
Rows come back as tuples either way (index them; no attribute access).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

INTEGRITY_ERRORS = (IntegrityError, sqlite3.IntegrityError)
"""What a violated constraint raises, through SQLAlchemy or straight from sqlite3."""


class HotStatement:
    """One Core statement with named bind parameters (no expanding ``IN`` lists)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._sqlite: tuple[str, tuple[tuple[str, bool, object], ...]] | None = None

    def run(self, conn: Connection, params: dict):
        """Execute with ``params``; return a cursor-like result (``fetchone``, ``fetchall``,
        ``rowcount``)."""
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, params)
        if self._sqlite is None:
            compiled = self.statement.compile(dialect=conn.dialect)
            # (name, required, value): a required bind comes from ``params``, any other
            # (e.g. the OFFSET 0 SQLite adds to a LIMIT) keeps the value Core gave it.
            self._sqlite = (compiled.string, tuple(
                (name, compiled.binds[name].required, compiled.binds[name].value)
                for name in compiled.positiontup or ()))
        sql, binds = self._sqlite
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute(sql, tuple(params[name] if required else value
                                  for name, required, value in binds))
        return cursor

    def insert(self, conn: Connection, params: dict) -> int:
        """Run an ``INSERT`` and return the new row's integer primary key."""
        result = self.run(conn, params)
        if isinstance(result, sqlite3.Cursor):
            return result.lastrowid
        return result.inserted_primary_key[0]
