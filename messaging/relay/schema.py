"""The relay's storage schema (SQLAlchemy 2 Core) and engine set-up.

SQLite is the default (embedded, nothing to start); any SQLAlchemy URL works
(PostgreSQL for a real deployment, whose own settings then decide durability).
For SQLite the relay uses WAL journaling and ``BEGIN IMMEDIATE`` transactions,
so concurrent requests serialise on the write lock instead of failing with
``SQLITE_BUSY`` half-way. Durability of an acknowledged write (DESIGN.md:
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

Tables:

``devices``            address, user, identity (128-byte ``IdentityPublic``), times, linking device
``signed_prekeys``     per device: mode, signed X25519 prekey, last-resort ML-KEM prekey
``one_time_prekeys``   one-time X25519 prekeys, deleted as they are handed out
``kem_prekeys``        signed one-time ML-KEM prekeys, deleted as they are handed out
``archive``            every accepted envelope: receipt time, sender, recipient,
                       conversation id, envelope bytes, escrow record bytes
``queue``              undelivered envelopes per recipient device (points into ``archive``)
``nonces``             (address, nonce) of recent signed requests, for replay refusal
``bundle_fetches``     recent bundle fetches per requester, for the fetch-rate limit
"""

from __future__ import annotations

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
)
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

metadata = MetaData()

devices = Table(
    "devices",
    metadata,
    Column("address", String(80), primary_key=True),
    Column("user", String(64), nullable=False, index=True),
    Column("device_id", Integer, nullable=False),
    Column("identity", LargeBinary(128), nullable=False),
    Column("registered_at", Float, nullable=False),
    Column("removed_at", Float, nullable=True),
    Column("linked_by", String(80), nullable=True),
)

signed_prekeys = Table(
    "signed_prekeys",
    metadata,
    Column("address", String(80), ForeignKey("devices.address"), primary_key=True),
    Column("mode", String(32), nullable=False),
    Column("upload", LargeBinary, nullable=False),
    Column("uploaded_at", Float, nullable=False),
)

def _one_time_prekey_table(name: str, *extra: Column) -> Table:
    """One-time prekeys of one kind, a row each, deleted as they are handed out."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("address", String(80), ForeignKey("devices.address"), nullable=False),
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
    Column("sender", String(80), nullable=False),
    Column("recipient", String(80), nullable=False),
    Column("conversation_id", String(255), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("record", LargeBinary, nullable=False),
    Index("archive_by_conversation", "conversation_id", "received_at"),
    Index("archive_by_time", "received_at"),
)

queue = Table(
    "queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(80), nullable=False),
    Column("archive_id", Integer, ForeignKey("archive.id"), nullable=False),
    Index("queue_by_recipient", "recipient", "id"),
)

nonces = Table(
    "nonces",
    metadata,
    Column("address", String(80), primary_key=True),
    Column("nonce", String(32), primary_key=True),
    Column("seen_at", Float, nullable=False, index=True),
)

bundle_fetches = Table(
    "bundle_fetches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("requester", String(80), nullable=False),
    Column("fetched_at", Float, nullable=False),
    Index("fetches_by_requester", "requester", "fetched_at"),
)

DEFAULT_URL = "sqlite://"
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
DEFAULT_SYNCHRONOUS = "FULL"


def open_engine(
    url: str = DEFAULT_URL, *, sqlite_synchronous: str = DEFAULT_SYNCHRONOUS
) -> Engine:
    """Create the engine for ``url`` and the schema if missing.

    ``sqlite://`` (the default) is a private in-memory database shared by the
    threads of this process. ``sqlite_synchronous`` is SQLite's durability
    setting (see the module docstring); other databases ignore it.
    """
    if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite_synchronous is one of {', '.join(SQLITE_SYNCHRONOUS)}")
    is_sqlite = url.startswith("sqlite")
    in_memory = url in ("sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://")
    kwargs: dict = {}
    if in_memory:
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    elif is_sqlite:
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    engine = create_engine(url, **kwargs)
    if is_sqlite:
        _configure_sqlite(engine, sqlite_synchronous, in_memory)
    metadata.create_all(engine)
    return engine


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
