"""The SQLite device store: durable, encrypted at rest, and strict about what it reads."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from messaging.errors import StateError
from messaging.sqlite_store import Argon2Params, SqliteDeviceStore

CHEAP = Argon2Params(time_cost=1, memory_cost_kib=64, parallelism=1)
SECRET = bytes.fromhex("5ec7e7") * 20  # stands in for identity private key bytes
SESSION = b"ROOT-KEY-AND-CHAIN-KEYS-" + bytes(range(40))


@pytest.fixture
def path(tmp_path):
    return tmp_path / "device.db"


@pytest.fixture
def filled(path):
    with SqliteDeviceStore.create(path, "correct horse", CHEAP) as store:
        store.store_local_identity(SECRET)
        store.store_session("conversation-alpha", "bob:1", SESSION)
        store.store_session("conversation-alpha", "carol:3", b"carol session")
        store.store_peer_identity("bob:1", b"bob identity record")
        store.store_prekeys(b"PREKEY-PRIVATE-" + SECRET)
    return path


def _all_bytes(path):
    data = b""
    for suffix in ("", "-wal", "-shm"):
        file = path.with_name(path.name + suffix)
        if file.exists():
            data += file.read_bytes()
    return data


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _raw(path):
    return sqlite3.connect(path, isolation_level=None)


def test_values_survive_close_and_reopen(filled):
    with SqliteDeviceStore.open(filled, "correct horse") as store:
        assert store.load_local_identity() == SECRET
        assert store.load_session("conversation-alpha", "bob:1") == SESSION
        assert store.list_sessions() == [
            ("conversation-alpha", "bob:1"), ("conversation-alpha", "carol:3")
        ]
        assert store.list_peer_identities() == ["bob:1"]
        assert store.load_prekeys() == b"PREKEY-PRIVATE-" + SECRET


def test_the_file_is_in_wal_mode(filled):
    assert _raw(filled).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_no_secret_or_address_is_in_the_file_bytes(filled):
    with SqliteDeviceStore.open(filled, "correct horse") as store:
        store.store_session("conversation-alpha", "bob:1", SESSION)  # also leave a WAL frame
        data = _all_bytes(filled)
        for needle in (SECRET, SECRET[:16], SESSION[:16], b"PREKEY-PRIVATE", b"bob identity",
                       b"conversation-alpha", b"bob:1", b"carol:3", b"correct horse"):
            assert needle not in data


def test_wrong_passphrase_is_a_clear_error_and_changes_nothing(filled):
    before = _digest(filled)
    with pytest.raises(StateError, match="wrong passphrase"):
        SqliteDeviceStore.open(filled, "incorrect horse")
    assert _digest(filled) == before
    with SqliteDeviceStore.open(filled, "correct horse") as store:
        assert store.load_local_identity() == SECRET


def test_a_value_swapped_between_rows_fails_authentication(filled):
    db = _raw(filled)
    rows = db.execute("SELECT row_id, value FROM records WHERE kind = 'session'").fetchall()
    (id_a, value_a), (id_b, value_b) = rows
    db.execute("UPDATE records SET value = ? WHERE row_id = ?", (value_b, id_a))
    db.execute("UPDATE records SET value = ? WHERE row_id = ?", (value_a, id_b))
    db.close()
    with SqliteDeviceStore.open(filled, "correct horse") as store:
        with pytest.raises(StateError, match="failed authentication"):
            store.load_session("conversation-alpha", "bob:1")
        with pytest.raises(StateError, match="failed authentication"):
            store.list_sessions()


def test_a_value_moved_to_another_kind_fails_authentication(filled):
    db = _raw(filled)
    (prekeys,) = db.execute("SELECT value FROM records WHERE kind = 'prekeys'").fetchone()
    db.execute("UPDATE records SET value = ? WHERE kind = 'local_identity'", (prekeys,))
    db.close()
    with SqliteDeviceStore.open(filled, "correct horse") as store:
        with pytest.raises(StateError, match="failed authentication"):
            store.load_local_identity()
        assert store.load_prekeys() == b"PREKEY-PRIVATE-" + SECRET


@pytest.mark.parametrize("position", [0, 12, -1])
def test_a_tampered_value_is_rejected_and_changes_nothing(filled, position):
    db = _raw(filled)
    (value,) = db.execute("SELECT value FROM records WHERE kind = 'local_identity'").fetchone()
    tampered = bytearray(value)
    tampered[position] ^= 0x01
    db.execute("UPDATE records SET value = ? WHERE kind = 'local_identity'", (bytes(tampered),))
    db.close()
    before = _digest(filled)
    with SqliteDeviceStore.open(filled, "correct horse") as store:
        with pytest.raises(StateError, match="local_identity record .* failed authentication"):
            store.load_local_identity()
        assert store.load_session("conversation-alpha", "bob:1") == SESSION
    assert _digest(filled) == before


def test_a_truncated_value_is_rejected(filled):
    db = _raw(filled)
    db.execute("UPDATE records SET value = x'00' WHERE kind = 'prekeys'")
    db.close()
    with SqliteDeviceStore.open(filled, "correct horse") as store, pytest.raises(
        StateError, match="failed authentication"
    ):
        store.load_prekeys()


def test_a_tampered_key_check_reads_as_wrong_passphrase(filled):
    db = _raw(filled)
    (check,) = db.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
    db.execute("UPDATE meta SET value = ? WHERE name = 'key_check'", (check[:-1] + b"\x00",))
    db.close()
    with pytest.raises(StateError, match="wrong passphrase"):
        SqliteDeviceStore.open(filled, "correct horse")


def test_altered_kdf_parameters_read_as_wrong_passphrase(filled):
    db = _raw(filled)
    (salt,) = db.execute("SELECT value FROM meta WHERE name = 'salt'").fetchone()
    db.execute("UPDATE meta SET value = ? WHERE name = 'salt'", (bytes(16),))
    db.close()
    assert salt != bytes(16)
    with pytest.raises(StateError, match="wrong passphrase"):
        SqliteDeviceStore.open(filled, "correct horse")


def test_absurd_kdf_parameters_are_refused_before_deriving(filled):
    db = _raw(filled)
    db.execute(
        "UPDATE meta SET value = ? WHERE name = 'kdf'",
        ('{"algorithm": "argon2id", "memory_cost_kib": 1099511627776, "parallelism": 1,'
         ' "time_cost": 1, "version": 19}',),
    )
    db.close()
    with pytest.raises(StateError, match="invalid key derivation parameters"):
        SqliteDeviceStore.open(filled, "correct horse")


def test_unknown_format_version_is_refused(filled):
    db = _raw(filled)
    db.execute("UPDATE meta SET value = '99' WHERE name = 'format_version'")
    db.close()
    with pytest.raises(StateError, match="store format '99'"):
        SqliteDeviceStore.open(filled, "correct horse")


def test_a_corrupt_file_is_a_clear_error(path):
    path.write_bytes(b"this is not a database at all" * 100)
    before = _digest(path)
    with pytest.raises(StateError, match="not an escrowlab device store"):
        SqliteDeviceStore.open(path, "correct horse")
    assert _digest(path) == before


def test_a_foreign_sqlite_file_is_a_clear_error(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="not an escrowlab device store"):
        SqliteDeviceStore.open(path, "correct horse")


def test_a_truncated_file_is_a_clear_error(filled):
    data = filled.read_bytes()
    filled.write_bytes(data[: len(data) // 3])
    for suffix in ("-wal", "-shm"):
        filled.with_name(filled.name + suffix).unlink(missing_ok=True)
    with pytest.raises(StateError), SqliteDeviceStore.open(filled, "correct horse") as store:
        store.list_sessions()
        store.load_prekeys()


def test_open_of_a_missing_file_creates_nothing(path):
    with pytest.raises(StateError, match="no store"):
        SqliteDeviceStore.open(path, "correct horse")
    assert not path.exists()


def test_create_refuses_an_existing_file(filled):
    before = _digest(filled)
    with pytest.raises(StateError, match="already exists"):
        SqliteDeviceStore.create(filled, "other", CHEAP)
    assert _digest(filled) == before


def test_each_write_is_visible_to_another_connection_at_once(path):
    with SqliteDeviceStore.create(path, "pw", CHEAP) as writer:
        writer.store_session("c", "bob:1", b"acknowledged")
        with SqliteDeviceStore.open(path, "pw") as reader:
            assert reader.load_session("c", "bob:1") == b"acknowledged"
            assert reader._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_the_same_value_seals_differently_each_time(path):
    with SqliteDeviceStore.create(path, "pw", CHEAP) as store:
        store.store_prekeys(b"same")
        first = _raw(path).execute("SELECT value FROM records").fetchone()[0]
        store.store_prekeys(b"same")
        second = _raw(path).execute("SELECT value FROM records").fetchone()[0]
    assert first != second


@pytest.mark.parametrize("passphrase", ["", b"", None])
def test_empty_passphrase_is_refused(path, passphrase):
    with pytest.raises(ValueError):
        SqliteDeviceStore.create(path, passphrase, CHEAP)
    assert not path.exists()


@pytest.mark.parametrize(
    "kwargs",
    [{"time_cost": 0}, {"memory_cost_kib": 4}, {"parallelism": 0}, {"time_cost": True}],
)
def test_out_of_range_argon2_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        Argon2Params(**{"time_cost": 1, "memory_cost_kib": 64, "parallelism": 1, **kwargs})


def test_repr_names_the_path_only(filled):
    with SqliteDeviceStore.open(filled, "correct horse") as store:
        assert repr(store) == f"SqliteDeviceStore(path={str(filled)!r})"


def test_deleted_and_replaced_records_do_not_linger_in_the_files_after_close(path):
    store = SqliteDeviceStore.create(path, "pw", CHEAP)
    store.store_session("c", "bob:1", b"ratchet state 1" * 400)
    store.store_session("c", "carol:1", b"other state" * 400)
    raw = _raw(path)
    old = [value for (value,) in raw.execute("SELECT value FROM records")]
    raw.close()
    assert all(value[100:200] in _all_bytes(path) for value in old)
    store.store_session("c", "bob:1", b"ratchet state 2" * 400)
    store.delete_session("c", "carol:1")
    store.close()
    data = _all_bytes(path)
    assert not any(value[100:200] in data for value in old)
