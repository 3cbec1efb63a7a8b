"""The detection orders a device accepted, kept in a small SQLite file so that they survive a
restart (docs/detection_orders.md, "Across a restart").

A :class:`OrderStore` belongs to one user's device. It keeps, per accepted order, its id,
the device's time of acceptance and the exact bytes the device's
:class:`~escrow.css.orders.OrderVerifier` accepted (signed, or logged with the approval's
receipt). It stores no judgement of its own: the content hook re-verifies every stored
order when it is built (:class:`escrow.css.hook.CssContentHook`), so a row that was altered,
or inserted without a judge's signature, makes the whole store refused, and the
verifier's replay memory is rebuilt from the same rows.

The file is recognised by its SQLite ``application_id`` (:data:`APPLICATION_ID`), its
``user_version`` (:data:`FORMAT`), its exact tables and the user it names. Anything else
(not SQLite, corrupt, another application's database, another user's store) is refused
with an :class:`OrderStoreError` that says which, and opening never writes to a file it
refuses. Nothing in it is secret from the device's owner, who can read the orders from the
device's memory as well; it is not encrypted.
"""

from __future__ import annotations

import math
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from escrow.css.errors import CssError
from messaging.errors import WireFormatError
from messaging.wire import validate_id

APPLICATION_ID = 0x454C4F53  # "ELOS": escrowlab order store
FORMAT = 1
MAX_STORED_ORDER_BYTES = 1 << 20  # the portal's bound on an order's bytes
MAX_STORED_ORDERS = 10_000
_TABLES = {"meta", "orders"}
_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE orders (order_id TEXT PRIMARY KEY, accepted_at REAL NOT NULL, "
    "encoded BLOB NOT NULL)",
)


class OrderStoreError(CssError):
    """An order store that cannot be opened, read or written: not one, corrupt, foreign,
    another user's, or holding an order that does not verify."""


@dataclass(frozen=True)
class StoredOrder:
    """One accepted order as stored: its id, when it was accepted, its bytes."""

    order_id: str
    accepted_at: float
    encoded: bytes


def _user(user: object) -> str:
    try:
        return validate_id(user) if isinstance(user, str) else validate_id("")
    except WireFormatError as exc:
        raise OrderStoreError(f"an order store's user: {exc}") from None


class OrderStore:
    """One device's accepted orders in the SQLite file at ``path`` (module docstring). Use
    :meth:`open`; close with :meth:`close`."""

    def __init__(self, connection: sqlite3.Connection, path: Path, user: str) -> None:
        self._db = connection
        self.path = path
        self.user = user

    def __repr__(self) -> str:
        return f"OrderStore({str(self.path)!r}, user={self.user!r})"

    @classmethod
    def open(cls, path: str | os.PathLike, user: str) -> OrderStore:
        """The store of ``user``'s device at ``path``, created empty if no file is there."""
        user, path = _user(user), Path(path)
        if not path.exists():
            return cls._create(path, user)
        if not path.is_file():
            raise OrderStoreError(f"{path} is not a file, so not an order store")
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                                 isolation_level=None)
        except sqlite3.Error as exc:
            raise OrderStoreError(f"cannot open the order store at {path}: {exc}") from None
        try:
            _check(db, path, user)
        except BaseException:
            db.close()
            raise
        return cls(db, path, user)

    @classmethod
    def _create(cls, path: Path, user: str) -> OrderStore:
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rwc", uri=True,
                                 isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {FORMAT}")
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute("INSERT INTO meta (name, value) VALUES ('user', ?)", (user,))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            path.unlink(missing_ok=True)
            raise OrderStoreError(f"cannot create an order store at {path}: {exc}") from None
        return cls(db, path, user)

    def close(self) -> None:
        self._db.close()

    def load(self) -> list[StoredOrder]:
        """Every stored order, by id; a row that is not well formed is refused."""
        try:
            rows = self._db.execute(
                "SELECT order_id, accepted_at, encoded FROM orders ORDER BY order_id "
                f"LIMIT {MAX_STORED_ORDERS + 1}").fetchall()
        except sqlite3.Error as exc:
            raise OrderStoreError(f"cannot read the order store at {self.path}: {exc}") \
                from None
        if len(rows) > MAX_STORED_ORDERS:
            raise OrderStoreError(f"the order store at {self.path} holds more than "
                                  f"{MAX_STORED_ORDERS} orders")
        return [self._row(*row) for row in rows]

    def _row(self, order_id: object, accepted_at: object, encoded: object) -> StoredOrder:
        bad = f"the order store at {self.path} holds a malformed row"
        if not isinstance(order_id, str) or not order_id or not order_id.isprintable():
            raise OrderStoreError(f"{bad}: its order id is not printable text")
        if not isinstance(accepted_at, float) or not math.isfinite(accepted_at) \
                or accepted_at < 0:
            raise OrderStoreError(f"{bad} (order {order_id!r}): its time is not a finite, "
                                  "non-negative number")
        if not isinstance(encoded, bytes) or not 1 <= len(encoded) <= MAX_STORED_ORDER_BYTES:
            raise OrderStoreError(f"{bad} (order {order_id!r}): its bytes are not "
                                  f"1..{MAX_STORED_ORDER_BYTES} bytes")
        return StoredOrder(order_id, accepted_at, encoded)

    def add(self, order: StoredOrder) -> None:
        """Store one newly accepted order (at most :data:`MAX_STORED_ORDERS` in all);
        durable once this returns."""
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                (held,) = self._db.execute("SELECT count(*) FROM orders").fetchone()
                if held >= MAX_STORED_ORDERS:
                    raise OrderStoreError(f"the order store at {self.path} is full "
                                          f"({MAX_STORED_ORDERS} orders)")
                self._db.execute("INSERT INTO orders (order_id, accepted_at, encoded) "
                                 "VALUES (?, ?, ?)",
                                 (order.order_id, float(order.accepted_at), order.encoded))
        except sqlite3.Error as exc:
            raise OrderStoreError(f"cannot store order {order.order_id} in {self.path}: "
                                  f"{exc}") from None


def _check(db: sqlite3.Connection, path: Path, user: str) -> None:
    """Raise :class:`OrderStoreError` unless ``db`` is ``user``'s order store; read only."""
    foreign = f"{path} is not an escrowlab detection-order store"
    try:
        application_id = db.execute("PRAGMA application_id").fetchone()[0]
        if application_id != APPLICATION_ID:
            raise OrderStoreError(f"{foreign} (its SQLite application id is "
                                  f"{application_id:#x})")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != FORMAT:
            raise OrderStoreError(f"{path} is an order store of format {version}; this "
                                  f"version reads format {FORMAT}")
        tables = {name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables != _TABLES:
            raise OrderStoreError(f"{foreign}: its tables are not the store's")
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise OrderStoreError(f"the order store at {path} is corrupt")
        meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
    except sqlite3.Error as exc:
        raise OrderStoreError(f"{foreign} (not SQLite, or corrupt: {exc})") from None
    if set(meta) != {"user"}:
        raise OrderStoreError(f"{foreign}: its metadata is not the store's")
    if meta["user"] != user:
        raise OrderStoreError(f"the order store at {path} belongs to {meta['user']!r}'s "
                              f"device, not {user!r}'s")
