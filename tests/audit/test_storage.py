"""The SQLite log store: roots and proofs from stored nodes, atomic appends, restart,
corrupt files."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import AuditError, StorageError
from audit.proof import verify_consistency, verify_inclusion
from audit.rfc9162 import EMPTY_ROOT, hash_leaf, root_from_leaf_hashes
from audit.storage import LogStore


@pytest.fixture
def store(tmp_path):
    s = LogStore(tmp_path / "log.db", create=True)
    yield s
    s.close()


def test_roots_and_proofs_match_an_in_memory_tree(store):
    data = [f"entry {i}".encode() for i in range(70)]
    assert store.root() == EMPTY_ROOT
    for i, d in enumerate(data[:10]):
        assert store.append(d) == i
    assert store.append_batch(data[10:]) == 10
    hashes = [hash_leaf(d) for d in data]
    for n in range(1, 71):
        root = root_from_leaf_hashes(hashes[:n])
        assert store.root(n) == root
        for i in range(0, n, 7):
            verify_inclusion(i, n, hashes[i], store.inclusion_proof(i, n), root)
        for m in range(1, n + 1, 5):
            verify_consistency(m, n, store.consistency_proof(m, n),
                               root_from_leaf_hashes(hashes[:m]), root)
    assert store.root() == root_from_leaf_hashes(hashes)
    assert store.leaves(3, 6) == data[3:6]


def test_every_complete_node_is_stored_once(store):
    store.append_batch([bytes([i]) for i in range(37)])
    with sqlite3.connect(store.path) as db:
        counts = dict(db.execute("SELECT level, count(*) FROM nodes GROUP BY level"))
    assert counts == {level: 37 >> level for level in range(1, 6)}


def test_restart_reads_only_the_right_edge(tmp_path):
    path = tmp_path / "log.db"
    with LogStore(path, create=True) as s:
        s.append_batch([bytes([i % 256]) * 3 for i in range(1000)])
        root = s.root()
    with sqlite3.connect(path) as db:  # leaves are not read on restart: wipe their bytes
        db.execute("UPDATE leaves SET data = x''")
    with LogStore(path) as s:
        assert (s.size, s.root()) == (1000, root)


def test_a_failed_batch_changes_nothing(store):
    store.append_batch([b"a", b"b", b"c"])
    root = store.root()
    with pytest.raises(StorageError):
        store.append_batch([b"d", "not bytes"])  # type: ignore[list-item]
    with sqlite3.connect(store.path) as db:  # a conflicting row makes the insert fail midway
        db.execute("INSERT INTO nodes VALUES(1, 1, x'00')")
    with pytest.raises(StorageError):
        store.append(b"d")
    assert (store.size, store.root()) == (3, root)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT count(*) FROM leaves").fetchone() == (3,)


def test_two_handles_on_one_file_stay_consistent(tmp_path):
    path = tmp_path / "log.db"
    with LogStore(path, create=True) as a, LogStore(path) as b:
        a.append(b"1")
        b.append(b"2")
        a.append(b"3")
        assert a.root() == b.root(3) == root_from_leaf_hashes([hash_leaf(x) for x in
                                                               (b"1", b"2", b"3")])


def test_oversized_or_out_of_range_requests_are_refused(store):
    store.append(b"x")
    with pytest.raises(AuditError):
        store.inclusion_proof(1, 1)
    with pytest.raises(AuditError):
        store.root(2)
    with pytest.raises(AuditError):
        store.leaves(0, 2)
    with pytest.raises(StorageError):
        store.append(b"x" * (1 << 21))


def test_missing_file_is_not_created_unless_asked(tmp_path):
    with pytest.raises(StorageError, match="no audit log"):
        LogStore(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


def _make(tmp_path, n=300):
    path = tmp_path / "log.db"
    with LogStore(path, create=True) as s:
        s.append_batch([b"entry %d" % i for i in range(n)])
    return path


@pytest.mark.parametrize("damage", ["garbage", "truncate", "zero_middle", "text", "empty",
                                    "other_sqlite", "drop_frontier", "bad_format"])
def test_corrupt_files_give_a_clear_storage_error(tmp_path, damage):
    path = _make(tmp_path)
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x13" * 8192)
    elif damage == "truncate":
        path.write_bytes(raw[: len(raw) // 3])
    elif damage == "zero_middle":
        path.write_bytes(raw[:100] + bytes(len(raw) - 100))
    elif damage == "text":
        path.write_text("hello, I am not a database\n")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "other_sqlite":
        path.unlink()
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t(x)")
    elif damage == "drop_frontier":
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM nodes WHERE level=8")
    elif damage == "bad_format":
        with sqlite3.connect(path) as db:
            db.execute("UPDATE meta SET value='something-else/9' WHERE key='format'")
    with pytest.raises(StorageError) as info:
        s = LogStore(path)
        s.inclusion_proof(5)
        s.leaves(0, 300)
        s.close()
    assert str(path) in str(info.value)


def test_a_foreign_database_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t(x)")
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not an escrowlab audit log"):
        LogStore(path)
    assert path.read_bytes() == before
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=12))
def test_any_split_into_batches_gives_the_same_tree(batches):
    data = [b"leaf %d" % i for i in range(sum(batches))]
    with LogStore(":memory:", create=True) as s:
        start = 0
        for size in batches:
            assert s.append_batch(data[start:start + size]) == start
            start += size
        hashes = [hash_leaf(d) for d in data]
        assert s.root() == root_from_leaf_hashes(hashes)
        for n in {1, len(data) // 2 or 1, len(data)}:
            assert s.root(n) == root_from_leaf_hashes(hashes[:n])


def test_acknowledged_appends_are_fsynced_by_default(tmp_path):
    """docs/architecture.md: "Writes that are acknowledged are durable": the default commits with
    synchronous=FULL (the WAL is fsynced before an append returns)."""
    from audit.log import AuditLog
    from audit.note import Signer

    full = 2
    with LogStore(tmp_path / "a.db", create=True) as store:
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == full
    log = AuditLog.open(tmp_path / "b.db", Signer.generate("o.test/log"))
    assert log.store._db.execute("PRAGMA synchronous").fetchone()[0] == full
    log.close()
    with LogStore(tmp_path / "a.db", durability="process") as store:
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1
