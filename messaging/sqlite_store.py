"""The device store (:mod:`messaging.store`) on an encrypted SQLite file.

At rest (docs/architecture.md, "Storage" and "Bind the whole context"):

* A 32-byte store secret is derived from the passphrase with Argon2id
  (RFC 9106, argon2-cffi ``hash_secret_raw``) under a random 16-byte salt;
  the salt and the cost parameters are stored in the ``meta`` table. HKDF-SHA256
  (RFC 5869) splits the secret into a data key and an index key.
* Every value is sealed with AES-256-GCM (NIST SP 800-38D) under the data key
  and a fresh 96-bit random nonce; the associated data is the record's table
  (its ``kind``) and its row key, so a sealed value moved to another row, or to
  another kind, fails authentication.
* Row keys are blinded: a row is found by ``HMAC-SHA256(index key, kind ||
  key)``, and the clear key (conversation id, peer address) travels inside the
  sealed value. The file therefore shows neither whom the device talks to nor
  any secret.
* A sealed key check in ``meta`` tells a wrong passphrase apart before anything
  is read; a wrong passphrase, a tampered or swapped row, a corrupt or foreign
  file all raise :class:`messaging.errors.StateError` and write nothing.

Durability: WAL journal with ``synchronous=FULL``, so a write that returned
survives a crash or power loss. For forward secrecy, replaced records (older
ratchet states) should not linger: ``secure_delete`` overwrites freed pages and
:meth:`SqliteDeviceStore.close` checkpoints and truncates the WAL.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from hmac import compare_digest
from pathlib import Path

from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import strictjson
from messaging.errors import StateError
from messaging.store import check_id, check_value

STORE_FORMAT_VERSION = 1
SALT_LENGTH = 16
NONCE_LENGTH = 12
KEY_CHECK_PLAINTEXT = b"escrowlab device store key check"
_AD_PREFIX = b"escrowlab-store-v1\x00"
_DATA_KEY_INFO = b"escrowlab store v1 data key"
_INDEX_KEY_INFO = b"escrowlab store v1 index key"

KIND_SESSION = "session"
KIND_PEER_IDENTITY = "peer_identity"
KIND_LOCAL_IDENTITY = "local_identity"
KIND_PREKEYS = "prekeys"

_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value ANY NOT NULL) STRICT",
    "CREATE TABLE records (kind TEXT NOT NULL, row_id BLOB NOT NULL, value BLOB NOT NULL,"
    " PRIMARY KEY (kind, row_id)) STRICT",
)


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters. The defaults are RFC 9106's second recommended option
    (t=3, 64 MiB, p=4); tests pass cheaper ones. Bounds keep a tampered ``meta`` from
    turning an open into a denial of service."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4

    MAX_TIME_COST = 16
    MAX_MEMORY_KIB = 1024 * 1024
    MAX_PARALLELISM = 16

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("time_cost", self.time_cost, 1, self.MAX_TIME_COST),
            ("parallelism", self.parallelism, 1, self.MAX_PARALLELISM),
            ("memory_cost_kib", self.memory_cost_kib, 8 * max(1, self.parallelism),
             self.MAX_MEMORY_KIB),
        ):
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"argon2id {name} must be an integer in {low}..{high}")

    def to_json(self) -> str:
        return json.dumps({
            "algorithm": "argon2id", "version": ARGON2_VERSION, "time_cost": self.time_cost,
            "memory_cost_kib": self.memory_cost_kib, "parallelism": self.parallelism,
        }, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Argon2Params:
        """Parse the ``kdf`` meta value strictly (:func:`strictjson.loads`, exact fields and
        types, ``version`` the integer 19 of RFC 9106), else ``StateError``."""
        what = "the store's key derivation parameters"
        data = strictjson.fields(
            strictjson.loads(text, what=what, error=StateError),
            {"algorithm": str, "version": int, "time_cost": int, "memory_cost_kib": int,
             "parallelism": int}, what=what, error=StateError)
        if data["algorithm"] != "argon2id" or data["version"] != ARGON2_VERSION:
            raise StateError(f"{what}: unsupported key derivation")
        try:
            return cls(data["time_cost"], data["memory_cost_kib"], data["parallelism"])
        except ValueError as exc:
            raise StateError(f"{what}: {exc}") from None


def _encode_parts(parts: tuple[str, ...]) -> bytes:
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(2, "big") + raw
    return bytes(out)


def _decode_parts(data: bytes, count: int) -> tuple[tuple[str, ...], bytes]:
    parts = []
    offset = 0
    for _ in range(count):
        if len(data) < offset + 2:
            raise ValueError("truncated row key")
        length = int.from_bytes(data[offset:offset + 2], "big")
        offset += 2
        if len(data) < offset + length:
            raise ValueError("truncated row key")
        parts.append(data[offset:offset + length].decode("utf-8"))
        offset += length
    return tuple(parts), data[offset:]


class SqliteDeviceStore:
    """A :class:`messaging.store.DeviceStore` in an encrypted SQLite file.

    Use :meth:`create` for a new file and :meth:`open` for an existing one; close
    it with :meth:`close` (or use it as a context manager).
    """

    def __init__(self, connection: sqlite3.Connection, path: Path, secret: bytes) -> None:
        self._db = connection
        self._path = path
        self._aead = AESGCM(_hkdf(secret, _DATA_KEY_INFO))
        self._index_key = _hkdf(secret, _INDEX_KEY_INFO)

    def __repr__(self) -> str:
        return f"SqliteDeviceStore(path={str(self._path)!r})"

    # ------------------------------------------------------------ open / create

    @classmethod
    def create(
        cls, path: str | os.PathLike, passphrase: str | bytes, params: Argon2Params | None = None
    ) -> SqliteDeviceStore:
        """Create a new store at ``path`` (which must not exist yet) under ``passphrase``."""
        path = Path(path)
        secret_input = _passphrase_bytes(passphrase)
        params = params or Argon2Params()
        if path.exists():
            raise StateError(f"{path} already exists; open it instead of creating a store there")
        salt = os.urandom(SALT_LENGTH)
        secret = _derive(secret_input, salt, params)
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rwc", uri=True,
                                 isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(f"cannot create a store at {path}: {exc}") from None
        try:
            _configure(db)
            store = cls(db, path, secret)
            key_check = store._seal("meta", b"key_check", KEY_CHECK_PLAINTEXT)
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                db.execute(statement)
            db.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", [
                ("format_version", str(STORE_FORMAT_VERSION)),
                ("kdf", params.to_json()),
                ("salt", salt),
                ("key_check", key_check),
            ])
            db.execute("COMMIT")
        except (sqlite3.Error, StateError) as exc:
            db.close()
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
            raise StateError(f"cannot create a store at {path}: {exc}") from None
        return store

    @classmethod
    def open(cls, path: str | os.PathLike, passphrase: str | bytes) -> SqliteDeviceStore:
        """Open the existing store at ``path``; a wrong passphrase raises ``StateError``."""
        path = Path(path)
        secret_input = _passphrase_bytes(passphrase)
        if not path.is_file():
            raise StateError(f"no store at {path}")
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                                 isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the store at {path}: {exc}") from None
        try:
            salt, params, key_check = _read_meta(db, path)
            store = cls(db, path, _derive(secret_input, salt, params))
            try:
                store._open_sealed("meta", b"key_check", key_check)
            except InvalidTag:
                raise StateError(
                    f"wrong passphrase for the store at {path} (or its key check was altered)"
                ) from None
            _configure(db)
        except BaseException:
            db.close()
            raise
        return store

    def close(self) -> None:
        """Checkpoint the WAL into the file (so superseded sealed records do not linger in
        it, as far as no other connection still reads them) and close."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()

    def __enter__(self) -> SqliteDeviceStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------ sessions

    def load_session(self, conversation_id: str, peer_address: str) -> bytes | None:
        parts = (check_id(conversation_id, "conversation id"), check_id(peer_address, "address"))
        return self._load(KIND_SESSION, parts)

    def store_session(self, conversation_id: str, peer_address: str, data: bytes) -> None:
        parts = (check_id(conversation_id, "conversation id"), check_id(peer_address, "address"))
        self._store(KIND_SESSION, parts, check_value(data, "session data"))

    def delete_session(self, conversation_id: str, peer_address: str) -> bool:
        parts = (check_id(conversation_id, "conversation id"), check_id(peer_address, "address"))
        return self._delete(KIND_SESSION, parts)

    def list_sessions(self) -> list[tuple[str, str]]:
        return sorted(self._list(KIND_SESSION, 2))

    # ---------------------------------------------------------------- identities

    def load_local_identity(self) -> bytes | None:
        return self._load(KIND_LOCAL_IDENTITY, ())

    def store_local_identity(self, private_bytes: bytes) -> None:
        self._store(KIND_LOCAL_IDENTITY, (), check_value(private_bytes, "identity private bytes"))

    def load_peer_identity(self, address: str) -> bytes | None:
        return self._load(KIND_PEER_IDENTITY, (check_id(address, "address"),))

    def store_peer_identity(self, address: str, record: bytes) -> None:
        parts = (check_id(address, "address"),)
        self._store(KIND_PEER_IDENTITY, parts, check_value(record, "identity record"))

    def list_peer_identities(self) -> list[str]:
        return sorted(address for (address,) in self._list(KIND_PEER_IDENTITY, 1))

    # ------------------------------------------------------------------- prekeys

    def load_prekeys(self) -> bytes | None:
        return self._load(KIND_PREKEYS, ())

    def store_prekeys(self, data: bytes) -> None:
        self._store(KIND_PREKEYS, (), check_value(data, "prekey data"))

    # ------------------------------------------------------------------ internals

    def _row_id(self, kind: str, parts: tuple[str, ...]) -> bytes:
        mac = hmac.HMAC(self._index_key, hashes.SHA256())
        mac.update(kind.encode("ascii") + b"\x00" + _encode_parts(parts))
        return mac.finalize()

    def _seal(self, kind: str, row_id: bytes, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_LENGTH)
        return nonce + self._aead.encrypt(nonce, plaintext, _associated_data(kind, row_id))

    def _open_sealed(self, kind: str, row_id: bytes, sealed: bytes) -> bytes:
        if not isinstance(sealed, bytes) or len(sealed) < NONCE_LENGTH + 16:
            raise InvalidTag
        nonce, body = sealed[:NONCE_LENGTH], sealed[NONCE_LENGTH:]
        return self._aead.decrypt(nonce, body, _associated_data(kind, row_id))

    def _unseal_row(self, kind: str, row_id: bytes, sealed: bytes, count: int):
        """Open one row; return ``(key parts, value)`` or raise ``StateError``."""
        try:
            plaintext = self._open_sealed(kind, row_id, sealed)
            parts, value = _decode_parts(plaintext, count)
        except (InvalidTag, ValueError):
            raise StateError(
                f"a stored {kind} record in {self._path} failed authentication: "
                "the file was altered, a row was moved, or it is corrupt"
            ) from None
        if not compare_digest(self._row_id(kind, parts), row_id):
            raise StateError(f"a stored {kind} record in {self._path} is filed under the wrong key")
        return parts, value

    def _load(self, kind: str, parts: tuple[str, ...]) -> bytes | None:
        row_id = self._row_id(kind, parts)
        rows = self._query(
            "SELECT value FROM records WHERE kind = ? AND row_id = ?", (kind, row_id)
        )
        if not rows:
            return None
        found, value = self._unseal_row(kind, row_id, rows[0][0], len(parts))
        if found != parts:
            raise StateError(f"a stored {kind} record in {self._path} is filed under the wrong key")
        return value

    def _store(self, kind: str, parts: tuple[str, ...], value: bytes) -> None:
        row_id = self._row_id(kind, parts)
        sealed = self._seal(kind, row_id, _encode_parts(parts) + value)
        self._query(
            "INSERT INTO records (kind, row_id, value) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, row_id) DO UPDATE SET value = excluded.value",
            (kind, row_id, sealed),
        )

    def _delete(self, kind: str, parts: tuple[str, ...]) -> bool:
        row_id = self._row_id(kind, parts)
        try:
            cursor = self._db.execute(
                "DELETE FROM records WHERE kind = ? AND row_id = ?", (kind, row_id)
            )
        except sqlite3.Error as exc:
            raise StateError(f"the store at {self._path} failed: {exc}") from None
        return cursor.rowcount > 0

    def _list(self, kind: str, count: int) -> list[tuple[str, ...]]:
        rows = self._query("SELECT row_id, value FROM records WHERE kind = ?", (kind,))
        return [self._unseal_row(kind, row_id, sealed, count)[0] for row_id, sealed in rows]

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StateError(f"the store at {self._path} failed: {exc}") from None


def _associated_data(kind: str, row_id: bytes) -> bytes:
    return _AD_PREFIX + kind.encode("ascii") + b"\x00" + row_id


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(secret)


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    if not isinstance(passphrase, bytes) or not passphrase:
        raise ValueError("the store passphrase must be a non-empty str or bytes")
    return passphrase


def _derive(passphrase: bytes, salt: bytes, params: Argon2Params) -> bytes:
    return hash_secret_raw(
        passphrase, salt, params.time_cost, params.memory_cost_kib, params.parallelism, 32,
        Type.ID, ARGON2_VERSION,
    )


def _configure(db: sqlite3.Connection) -> None:
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StateError(f"the store needs WAL journaling, SQLite chose {mode!r}")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA secure_delete=ON")


def _read_meta(db: sqlite3.Connection, path: Path) -> tuple[bytes, Argon2Params, bytes]:
    not_a_store = f"{path} is not an escrowlab device store (not SQLite, corrupt, or foreign)"
    try:
        rows = dict(db.execute("SELECT name, value FROM meta").fetchall())
    except sqlite3.Error:
        raise StateError(not_a_store) from None
    if set(rows) != {"format_version", "kdf", "salt", "key_check"}:
        raise StateError(not_a_store)
    if rows["format_version"] != str(STORE_FORMAT_VERSION):
        raise StateError(f"{path} has store format {rows['format_version']!r}; "
                         f"this version reads format {STORE_FORMAT_VERSION}")
    salt, kdf, key_check = rows["salt"], rows["kdf"], rows["key_check"]
    if not isinstance(salt, bytes) or len(salt) != SALT_LENGTH or not isinstance(kdf, str):
        raise StateError(not_a_store)
    try:
        params = Argon2Params.from_json(kdf)
    except StateError as exc:
        raise StateError(f"{path} has invalid key derivation parameters ({exc})") from None
    return salt, params, key_check
