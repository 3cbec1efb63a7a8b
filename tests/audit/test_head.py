"""The signed head beside the database: a rolled-back or damaged database (an old copy
restored, a bit flip in a leftover WAL, a damaged node on the right edge) never makes the
log sign a checkpoint inconsistent with one it signed, nor append on top of it."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from audit.errors import LogSigningError, QuorumError
from audit.log import AuditLog
from audit.storage import LogStore
from audit.verifier import verify_log
from escrowlab.cli import main


def _files(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _key_file(tmp_path, signer):
    path = tmp_path / "log.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(signer.skey + "\n")
    return str(path)


def _cli_append(log_path, key):
    return main(["audit", "append", "--log", str(log_path), "--key-file", key, "--type",
                 "a.b", "--actor", "x"])


def test_an_old_copy_of_the_database_restored_is_refused(tmp_path, log_signer, capsys):
    live, backup = tmp_path / "live", tmp_path / "backup"
    live.mkdir()
    backup.mkdir()
    log = AuditLog.open(live / "a.db", log_signer)
    for i in range(5):
        log.append_event("a.b", f"x:{i}", {})
    log.close()
    shutil.copy(live / "a.db", backup / "a.db")  # the database at size 5
    log = AuditLog.open(live / "a.db", log_signer)
    for i in range(5, 12):
        log.append_event("a.b", f"x:{i}", {})
    log.close()
    shutil.copy(backup / "a.db", live / "a.db")  # restored: the head file says 12
    log = AuditLog.open(live / "a.db", log_signer)
    assert log.size == 5 and log.store.latest_checkpoint()[0] == 5
    assert log.store.signed_head()[0] == 12
    with pytest.raises(LogSigningError, match="already signed size 12"):
        log.sign_checkpoint()
    log.append_batch([b"regrown %d" % i for i in range(9)])  # past 12, another history
    with pytest.raises(LogSigningError, match="no longer gives the root"):
        log.sign_checkpoint()
    with pytest.raises(LogSigningError):
        log.append_event("a.b", "y", {})
    assert log.size == 14 and log.store.latest_checkpoint()[0] == 5
    log.close()

    shutil.copy(backup / "a.db", live / "a.db")
    before = _files(live)
    key = _key_file(tmp_path, log_signer)
    assert _cli_append(live / "a.db", key) == 2
    assert "already signed size 12" in capsys.readouterr().err
    assert _files(live) == before  # nothing appended, nothing signed
    assert main(["audit", "verify", "--log", str(live / "a.db")]) == 1
    assert "rolled back" in capsys.readouterr().err


def test_a_bit_flip_in_a_leftover_wal_cannot_make_the_log_sign_an_older_tree(tmp_path,
                                                                            log_signer, capsys):
    """A crash leaves the WAL behind; a flipped bit in one of its frames makes SQLite's
    recovery stop there (https://sqlite.org/wal.html), dropping the later commits and the
    checkpoints they recorded. The head file, written apart, still holds the latest."""
    log = AuditLog.open(tmp_path / "a.db", log_signer)
    for i in range(8):
        log.append_event("a.b", f"x:{i}", {"n": i})
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("a.db", "a.db-wal", "a.db.head"):  # the files as a kill -9 leaves them
        shutil.copy(tmp_path / name, crashed / name)
    log.close()
    wal = bytearray((crashed / "a.db-wal").read_bytes())
    assert len(wal) > 4096
    wal[len(wal) // 2] ^= 0x10
    (crashed / "a.db-wal").write_bytes(bytes(wal))

    damaged = AuditLog.open(crashed / "a.db", log_signer)
    assert damaged.size < 8  # SQLite recovered an older state, checkpoints included
    assert damaged.store.latest_checkpoint()[0] < 8
    with pytest.raises(LogSigningError, match="already signed size 8"):
        damaged.sign_checkpoint()
    size = damaged.size
    with pytest.raises(LogSigningError, match="rolled back"):
        damaged.append_event("a.b", "after the crash", {})
    assert damaged.size == size
    damaged.close()
    assert main(["audit", "verify", "--log", str(crashed / "a.db")]) == 1
    assert "rolled back" in capsys.readouterr().err


@pytest.mark.parametrize("damage", [
    "UPDATE nodes SET hash=zeroblob(32) WHERE level=3 AND idx=0",  # the edge, under the root
    "UPDATE leaves SET hash=zeroblob(32) WHERE idx=8",             # the last leaf's hash
    "UPDATE leaves SET data=X'00' WHERE idx=8",                    # the last leaf's bytes
])
def test_a_damaged_right_edge_is_noticed_before_anything_is_written(tmp_path, log_signer,
                                                                    damage, capsys):
    path = tmp_path / "a.db"
    log = AuditLog.open(path, log_signer)
    for i in range(9):  # 9 = 8 + 1: the right edge is nodes (3, 0) and leaf 8
        log.append_event("a.b", f"x:{i}", {})
    log.close()
    db = sqlite3.connect(path)
    with db:
        db.execute(damage)
    db.close()
    before = _files(tmp_path)
    key = _key_file(tmp_path, log_signer)
    assert _cli_append(path, key) == 2
    assert "nothing was appended" in capsys.readouterr().err
    assert _files(tmp_path) == {**before, "log.key": (tmp_path / "log.key").read_bytes()}
    log = AuditLog.open(path, log_signer)
    with pytest.raises(LogSigningError):
        log.append_event("a.b", "y", {})
    assert log.size == 9
    log.close()


def test_a_damaged_head_file_stops_signing(tmp_path, log_signer):
    log = AuditLog.open(tmp_path / "a.db", log_signer)
    log.append_event("a.b", "x", {})
    head = tmp_path / "a.db.head"
    head.write_bytes(head.read_bytes().replace(b"\n1\n", b"\n7\n"))
    with pytest.raises(LogSigningError, match="signed head is damaged|invalid signature"):
        log.append_event("a.b", "y", {})
    head.write_bytes(b"\xff garbage")
    with pytest.raises(Exception, match="damaged"):
        log.sign_checkpoint()
    assert log.size == 1
    log.close()


def test_without_a_head_file_the_database_record_still_counts(tmp_path, log_signer):
    log = AuditLog.open(tmp_path / "a.db", log_signer)
    log.append_event("a.b", "x", {})
    log.close()
    os.unlink(tmp_path / "a.db.head")
    log = AuditLog.open(tmp_path / "a.db", log_signer)
    assert log.store.signed_head()[0] == 1
    log.append_event("a.b", "y", {})
    assert (tmp_path / "a.db.head").exists()
    assert verify_log(log.store, log_signer.verifier).latest_checkpoint_size == 2
    log.close()


def test_append_without_witnesses_on_a_log_with_a_quorum_is_refused_before_writing(
        tmp_path, log, log_signer, quorum, capsys):
    log.append_event("a.b", "x", {})  # cosigned 2 of 3: the log records the quorum
    path = log.store.path
    log.close()
    before = _files(tmp_path)
    bare = AuditLog.open(path, log_signer)
    with pytest.raises(QuorumError, match="records a quorum of 2"):
        bare.append_event("a.b", "y", {})
    bare.close()
    key = _key_file(tmp_path, log_signer)
    assert _cli_append(path, key) == 2
    err = capsys.readouterr().err
    assert "quorum of 2" in err and "nothing was appended" in err and "--witness-url" in err
    after = _files(tmp_path)
    after.pop("log.key")
    assert after == before
    assert main(["audit", "verify", "--log", path]) == 0


def test_the_head_file_is_replaced_atomically(tmp_path, log_signer):
    log = AuditLog.open(tmp_path / "a.db", log_signer)
    for i in range(3):
        log.append_event("a.b", f"x:{i}", {})
    assert sorted(p.name for p in tmp_path.iterdir()
                  if "head" in p.name) == ["a.db.head"]  # no temporary file left
    with LogStore(tmp_path / "a.db") as store:
        assert store.head_file()[2] == store.latest_checkpoint()[2]
    log.close()


def test_stored_checkpoints_are_named_size_root_note(tmp_path, log_signer):
    log = AuditLog.open(str(tmp_path / "n.db"), log_signer)
    log.append(b"one")
    note = log.sign_checkpoint().encode()
    for signed in (log.store.latest_checkpoint(), log.store.head_file(), log.store.signed_head(),
                   log.store.checkpoints()[-1]):
        assert (signed.size, signed.root, signed.note) == (1, log.store.root(), note)
    log.close()
