"""The relay's storage schema (SQLAlchemy 2 Core) and engine set-up.

SQLite is the default (embedded, nothing to start); any SQLAlchemy URL works
(PostgreSQL for a real deployment, whose own settings then decide durability).
For SQLite the relay uses WAL journaling and ``BEGIN IMMEDIATE`` transactions,
so concurrent requests serialise on the write lock instead of failing with
``SQLITE_BUSY`` half-way. Durability of an acknowledged write (docs/architecture.md:
"Writes that are acknowledged are durable") is SQLite's ``synchronous``:

``FULL`` (the default)  the WAL is fsynced before every commit returns, so an
                        acknowledged request survives the relay process being
                        killed *and* an operating-system crash or power loss
                        (as far as the disk honours fsync).
``NORMAL`` (opt-in)     the WAL is fsynced only at checkpoints: an acknowledged
                        request survives the relay process being killed, but
                        the last commits before an OS crash or power loss may
                        be rolled back (the database stays consistent). Saves
                        one fsync per request.

An in-memory database (``sqlite://``) survives nothing; it is for tests and the demo.

Which database the relay opens (docs/relay.md, "Storage"): :func:`open_engine`
creates the schema only in a database that is new (a SQLite file that does not
exist yet, or ``sqlite://``) or, when told to (``init=True``, ``relay serve
--init``), in an existing *empty* one (a 0-byte SQLite file, a server database
without tables). Any other database must already hold the relay's schema,
recognised by its ``relay_schema`` row: an empty one without ``init``, one
holding other tables (an audit log, a witness state file), one of another
format version and a file that is not SQLite at all are refused with
:class:`~messaging.relay.errors.RelayDatabaseError`, and are not written to
(SQLite files are inspected through a read-only connection first).
``read_only=True`` (the archive's reader) opens SQLite read-only and never
creates anything.

Identifiers the relay hands out are never reused, on any backend: ``queue``
and ``archive`` ids are SQLite ``AUTOINCREMENT`` keys (plain rowids are reused
once the highest rows are deleted) and sequences elsewhere (PostgreSQL
``SERIAL``), so an acknowledgement replayed after its answer was lost can only
name the entries it first named.

Tables:

``devices``            address, user, identity (128-byte ``IdentityPublic``), times, linking device
``signed_prekeys``     per device: mode, signed X25519 prekey, last-resort ML-KEM prekey,
                       SHA-256 of the last accepted upload (a resent upload is a no-op)
``one_time_prekeys``   one-time X25519 prekeys, deleted as they are handed out
``kem_prekeys``        signed one-time ML-KEM prekeys, deleted as they are handed out
``archive``            every accepted envelope: receipt time, sender, recipient,
                       conversation id, envelope bytes, escrow record bytes, and
                       the SHA-256 of the envelope (unique: a resent envelope is
                       not stored twice)
``queue``              undelivered envelopes per recipient device (points into ``archive``)
``nonces``             (address, nonce) of recent signed requests, for replay refusal
``bundle_fetches``     recent bundle fetches per requester, for the fetch-rate limit
``relay_schema``       one row: the schema's format name and version
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool, StaticPool

from messaging.limits import MAX_ID_LENGTH, MAX_MODE_ID_LENGTH, MAX_USER_LENGTH
from messaging.relay.errors import RelayDatabaseError

# Width of every address column: the format's since version 1, wider than the longest
# address (MAX_ADDRESS_LENGTH, 75), which is what the relay checks before storing one.
ADDRESS_WIDTH = 80

SCHEMA_FORMAT = "escrowlab-relay"
SCHEMA_VERSION = 2
"""Version 2: never-reused queue and archive ids, envelope and upload digests."""

metadata = MetaData()

devices = Table(
    "devices",
    metadata,
    Column("address", String(ADDRESS_WIDTH), primary_key=True),
    Column("user", String(MAX_USER_LENGTH), nullable=False, index=True),
    Column("device_id", Integer, nullable=False),
    Column("identity", LargeBinary(128), nullable=False),
    Column("registered_at", Float, nullable=False),
    Column("removed_at", Float, nullable=True),
    Column("linked_by", String(ADDRESS_WIDTH), nullable=True),
)

signed_prekeys = Table(
    "signed_prekeys",
    metadata,
    Column("address", String(ADDRESS_WIDTH), ForeignKey("devices.address"), primary_key=True),
    Column("mode", String(MAX_MODE_ID_LENGTH), nullable=False),
    Column("upload", LargeBinary, nullable=False),
    Column("uploaded_at", Float, nullable=False),
    Column("upload_digest", LargeBinary(32), nullable=False),
)

def _one_time_prekey_table(name: str, *extra: Column) -> Table:
    """One-time prekeys of one kind, a row each, deleted as they are handed out."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("address", String(ADDRESS_WIDTH), ForeignKey("devices.address"), nullable=False),
        Column("key_id", Integer, nullable=False),
        Column("public_key", LargeBinary, nullable=False),
        *extra,
        UniqueConstraint("address", "key_id"),
    )


one_time_prekeys = _one_time_prekey_table("one_time_prekeys")
kem_prekeys = _one_time_prekey_table(
    "kem_prekeys", Column("signature", LargeBinary, nullable=False))

archive = Table(
    "archive",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", Float, nullable=False),
    Column("sender", String(ADDRESS_WIDTH), nullable=False),
    Column("recipient", String(ADDRESS_WIDTH), nullable=False),
    Column("conversation_id", String(MAX_ID_LENGTH), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("record", LargeBinary, nullable=False),
    Column("digest", LargeBinary(32), nullable=False),
    Index("archive_by_conversation", "conversation_id", "received_at"),
    Index("archive_by_time", "received_at"),
    Index("archive_by_digest", "digest", unique=True),
    sqlite_autoincrement=True,
)

queue = Table(
    "queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(ADDRESS_WIDTH), nullable=False),
    Column("archive_id", Integer, ForeignKey("archive.id"), nullable=False),
    Index("queue_by_recipient", "recipient", "id"),
    sqlite_autoincrement=True,
)

nonces = Table(
    "nonces",
    metadata,
    Column("address", String(ADDRESS_WIDTH), primary_key=True),
    Column("nonce", String(32), primary_key=True),
    Column("seen_at", Float, nullable=False, index=True),
)

bundle_fetches = Table(
    "bundle_fetches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("requester", String(ADDRESS_WIDTH), nullable=False),
    Column("fetched_at", Float, nullable=False),
    Index("fetches_by_requester", "requester", "fetched_at"),
)

relay_schema = Table(
    "relay_schema",
    metadata,
    Column("format", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
)

DEFAULT_URL = "sqlite://"
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
DEFAULT_SYNCHRONOUS = "FULL"


OPEN_ERRORS = (SQLAlchemyError, sqlite3.Error, OSError, ImportError, ValueError)
"""What opening or first connecting to a database raises below the relay: SQLAlchemy's
errors (an unknown dialect, a refused connection), sqlite3's, the operating system's (a
path too long), a database driver that is not installed, a path SQLite cannot take (a NUL
byte). The relay translates each into :class:`~messaging.relay.errors.RelayDatabaseError`
(:func:`open_error`)."""


def open_error(url: object, exc: BaseException) -> RelayDatabaseError:
    """The ``RelayDatabaseError`` for ``exc`` (one of :data:`OPEN_ERRORS`) raised opening the
    database at ``url``; the URL is shown without its password."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = "(unparsable URL)"
    reason = getattr(exc, "orig", None) or exc  # the driver's own message, without SQLAlchemy's
    if isinstance(exc, ImportError):
        reason = f"its database driver is not installed ({exc})"
    return RelayDatabaseError(f"cannot open the relay database {shown!r}: {reason}")


def open_engine(
    url: str = DEFAULT_URL, *, sqlite_synchronous: str = DEFAULT_SYNCHRONOUS,
    init: bool = False, read_only: bool = False,
) -> Engine:
    """The engine for the relay database at ``url``, which must be a relay database.

    The schema is created only in a new database (``sqlite://``, or a SQLite
    file that does not exist yet) or, with ``init``, in an existing empty one;
    anything else without the relay's schema raises
    :class:`~messaging.relay.errors.RelayDatabaseError` and is left untouched
    (see the module docstring), and so does a database that cannot be opened at
    all (:data:`OPEN_ERRORS`). With ``read_only`` nothing is ever created and
    SQLite files are opened read-only. ``sqlite_synchronous`` is SQLite's
    durability setting; other databases ignore it.
    """
    if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite_synchronous is one of {', '.join(SQLITE_SYNCHRONOUS)}")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise RelayDatabaseError(f"cannot parse the database URL {url!r}") from exc
    try:
        return _open(parsed, sqlite_synchronous=sqlite_synchronous, init=init,
                     read_only=read_only)
    except OPEN_ERRORS as exc:
        raise open_error(parsed, exc) from exc


def _open(parsed: URL, *, sqlite_synchronous: str, init: bool, read_only: bool) -> Engine:
    if parsed.get_backend_name() != "sqlite":
        return _open_server_database(parsed, init=init, read_only=read_only)
    database = parsed.database or ""
    if database in ("", ":memory:"):
        if read_only:
            raise RelayDatabaseError("an in-memory database holds no relay archive")
        engine = create_engine(parsed, poolclass=StaticPool,
                               connect_args={"check_same_thread": False})
        _configure_sqlite(engine, sqlite_synchronous, in_memory=True)
        _create_schema(engine)
        return engine
    path = Path(database)
    state = _sqlite_file_state(path)
    if state == "relay" and read_only:
        return _read_only_sqlite(path)
    if read_only:
        raise RelayDatabaseError(f"no relay database at {path}" if state == "missing"
                                 else _refusal(path, state))
    if state not in ("relay", "missing") and not (state == "empty" and init):
        raise RelayDatabaseError(_refusal(path, state))
    if state == "missing" and not path.parent.is_dir():
        raise RelayDatabaseError(f"cannot create the relay database {path}: there is no "
                                 f"directory {path.parent}")
    engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
    _configure_sqlite(engine, sqlite_synchronous, in_memory=False)
    if state != "relay":
        _create_schema(engine)
    return engine


def _refusal(where: object, state: str) -> str:
    """Why the database at ``where`` is refused, for its ``state`` (see :func:`_state`)."""
    if state == "empty":
        return (f"{where} exists but is empty, not a relay database; pass --init "
                "(init=True) to create the relay's schema in it")
    if state.startswith("version "):
        return (f"{where} is a relay database of format {state}; this relay reads "
                f"version {SCHEMA_VERSION}")
    if state.startswith("not "):
        return f"{where} is {state}"
    return (f"{where} is not a relay database (it holds {state}); the relay never "
            "writes into another database")


def _state(tables: set[str], marker: tuple[str, int] | None) -> str:
    """``"relay"``, ``"empty"``, ``"version N"``, ``"not ..."`` (a damaged one) or a
    description of a foreign database's tables."""
    if marker == (SCHEMA_FORMAT, SCHEMA_VERSION):
        missing = sorted(set(metadata.tables) - tables)
        return f"not a complete relay database (it lacks {', '.join(missing)})" if missing \
            else "relay"
    if marker is not None and marker[0] == SCHEMA_FORMAT:
        return f"version {marker[1]}"
    if marker is None and tables >= set(metadata.tables) - {relay_schema.name}:
        return "version 1"  # the relay's tables before relay_schema existed
    if not tables:
        return "empty"
    shown = sorted(tables)
    listed = ", ".join(shown[:5]) + (", ..." if len(shown) > 5 else "")
    return f"the tables {listed}"


def _sqlite_file_state(path: Path) -> str:
    """Inspect an SQLite file through a read-only connection that creates no file.

    Without a ``-wal`` file beside it the database file holds everything, and it
    is read ``immutable`` (a read-only connection to a WAL-mode file would create
    ``-wal`` and ``-shm`` files next to it); with one, read-only, so that what
    the WAL holds counts (https://sqlite.org/uri.html, https://sqlite.org/wal.html).
    """
    if not path.exists():
        return "missing"
    if not path.is_file():
        return "not a file"
    wal = path.with_name(path.name + "-wal")
    flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?{flags}", uri=True)
        try:
            tables = {name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%'")}
            marker = None
            if relay_schema.name in tables:
                marker = conn.execute("SELECT format, version FROM relay_schema").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"not a readable SQLite database ({exc})"
    return _state(tables, tuple(marker) if marker else None)


def _read_only_sqlite(path: Path) -> Engine:
    """Read-only connections (``mode=ro``): nothing is written to the database or its WAL."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(
        uri, uri=True, check_same_thread=False))


def _open_server_database(url: URL, *, init: bool, read_only: bool) -> Engine:
    """A server database (PostgreSQL, ...): it always exists, so it is new only if empty."""
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    marker = None
    if relay_schema.name in tables:
        with engine.connect() as conn:
            marker = conn.execute(select(relay_schema.c.format,
                                         relay_schema.c.version)).first()
    where = f"the database {engine.url.render_as_string(hide_password=True)}"
    state = _state(tables, tuple(marker) if marker else None)
    if state == "relay":
        if read_only and engine.dialect.name == "postgresql":
            return engine.execution_options(postgresql_readonly=True)
        return engine
    if state == "empty" and init and not read_only:
        _create_schema(engine)
        return engine
    engine.dispose()
    raise RelayDatabaseError(_refusal(where, state))


def _create_schema(engine: Engine) -> None:
    """Create every table and the ``relay_schema`` row, in one transaction."""
    with engine.begin() as conn:
        metadata.create_all(conn)
        if conn.execute(select(relay_schema.c.format)).first() is None:
            conn.execute(relay_schema.insert().values(format=SCHEMA_FORMAT,
                                                      version=SCHEMA_VERSION))


def check_schema(conn) -> None:
    """Raise ``RelayDatabaseError`` unless ``conn``'s database holds the relay's schema."""
    tables = set(inspect(conn).get_table_names())
    marker = None
    if relay_schema.name in tables:
        marker = conn.execute(select(relay_schema.c.format, relay_schema.c.version)).first()
    state = _state(tables, tuple(marker) if marker else None)
    if state != "relay":
        raise RelayDatabaseError(_refusal("this database", state))


def _configure_sqlite(engine: Engine, synchronous: str, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # Straight to the driver: the statement needs none of SQLAlchemy's execution machinery.
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE")
