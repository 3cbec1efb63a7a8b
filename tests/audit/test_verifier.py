"""The offline verifier and the ``escrowlab audit`` commands."""

from __future__ import annotations

import json
import sqlite3

import pytest

from audit.errors import VerificationError
from audit.log import AuditLog
from audit.note import SIG_TYPE_COSIGNATURE_V1, Signer, parse_note
from audit.storage import LogStore
from audit.verifier import check_misbehaviour_evidence, verify_log
from escrowlab.cli import main
from tests.audit.tamper import read_leaves, rewrite_tree


@pytest.fixture
def filled(log):
    for i in range(3):
        log.append_events([("warrant.filed", f"officer:{i}", {"k": i * 10 + j})
                           for j in range(7)])
    return log


def _verify(log, quorum, **kw):
    with LogStore(log.store.path) as store:
        return verify_log(store, log.signer.verifier, quorum.verifiers, 2, **kw)


def test_an_honest_log_verifies(filled, quorum):
    report = _verify(filled, quorum, check_entries=True)
    assert (report.size, report.latest_checkpoint_size, report.checkpoints_checked) == (21, 21, 3)
    assert report.nodes_checked == 10 + 5 + 2 + 1  # complete interior nodes of 21 leaves
    assert len(report.cosigners) == 3


@pytest.mark.parametrize("sql,expect", [
    ("UPDATE nodes SET hash=zeroblob(32) WHERE level=2 AND idx=1", "node (2, 1)"),
    ("DELETE FROM nodes WHERE level=1 AND idx=3", "node (1, 3) is missing"),
    ("INSERT INTO nodes VALUES(1, 10, zeroblob(32))", "level 1 stores 11"),
    ("INSERT INTO nodes VALUES(0, 0, zeroblob(32))", "invalid level"),
    ("UPDATE leaves SET hash=zeroblob(32) WHERE idx=4", "leaf 4"),
    ("UPDATE leaves SET data=CAST('x' AS TEXT) WHERE idx=5", "leaf 5"),
    ("DELETE FROM leaves WHERE idx=6", "leaf 6 is missing"),
    ("UPDATE checkpoints SET note=replace(note, 'audit', 'Audit') WHERE size=14",
     "checkpoint of size 14"),
])
def test_every_stored_value_is_checked(filled, quorum, sql, expect):
    with sqlite3.connect(filled.store.path) as db:
        db.execute(sql)
    with pytest.raises(VerificationError, match=expect.replace("(", r"\(").replace(")", r"\)")):
        _verify(filled, quorum)


def test_strict_entry_parsing_is_optional_and_catches_non_canonical_entries(tmp_path,
                                                                            log_signer):
    log = AuditLog.open(tmp_path / "raw.db", log_signer)
    log.append_event("a.b", "x", {})
    log.append(b'{"v":1,"type":"a.b","actor":"x","time":1,"payload":{}}')  # not canonical
    log.sign_checkpoint()
    assert verify_log(log.store, log_signer.verifier).size == 2
    with pytest.raises(VerificationError, match="leaf 1: entry is not in canonical"):
        verify_log(log.store, log_signer.verifier, check_entries=True)
    log.close()


def test_missing_quorum_on_the_latest_checkpoint_fails(filled, quorum):
    stranger = Signer.generate("w.stranger", SIG_TYPE_COSIGNATURE_V1, lambda: 0.0).verifier
    with LogStore(filled.store.path) as store, pytest.raises(VerificationError, match="quorum"):
        verify_log(store, filled.signer.verifier, [*quorum.verifiers[:1], stranger], 2)


def test_inconsistency_with_a_trusted_checkpoint_writes_checkable_evidence(
        tmp_path, filled, quorum, log_signer):
    trusted = filled.store.latest_checkpoint()[2]
    forged = read_leaves(filled.store.path)
    forged[3] = forged[3].replace(b"officer:0", b"officer:9")
    rewrite_tree(filled.store.path, forged, drop_checkpoints_above=-1)
    with LogStore(filled.store.path) as store:  # the log now signs the forged history
        forger = AuditLog(store, log_signer)
        forger.append_batch([b"later 1", b"later 2"])
        forger.sign_checkpoint()
        evidence = tmp_path / "evidence.json"
        with pytest.raises(VerificationError, match="proof of misbehaviour written"):
            verify_log(store, log_signer.verifier, trusted_checkpoint=trusted,
                       evidence_path=evidence)
    proof = json.loads(evidence.read_text())
    assert "extends a tree whose size-21 root" in check_misbehaviour_evidence(
        proof, log_signer.verifier)
    assert parse_note(proof["old_checkpoint"]).encode() == trusted
    assert len(proof["consistency_proof"]) > 0
    honest = dict(proof, implied_old_root=trusted.split("\n")[2])
    with pytest.raises(VerificationError):  # evidence that proves nothing is rejected
        check_misbehaviour_evidence(honest, log_signer.verifier)
    with pytest.raises(VerificationError):
        check_misbehaviour_evidence(dict(proof, consistency_proof=[]), log_signer.verifier)


def test_two_signed_trees_of_the_same_size_are_evidence(tmp_path, filled, log_signer):
    trusted = filled.store.latest_checkpoint()[2]
    forged = read_leaves(filled.store.path)[::-1]
    rewrite_tree(filled.store.path, forged, drop_checkpoints_above=-1)
    with LogStore(filled.store.path) as store:
        AuditLog(store, log_signer).sign_checkpoint()
        with pytest.raises(VerificationError):
            verify_log(store, log_signer.verifier, trusted_checkpoint=trusted,
                       evidence_path=tmp_path / "e.json")
    proof = json.loads((tmp_path / "e.json").read_text())
    assert "two different trees of size 21" in check_misbehaviour_evidence(
        proof, log_signer.verifier)


def test_cli_verify_show_prove(tmp_path, filled, quorum, capsys):
    path = filled.store.path
    assert main(["audit", "verify", "--log", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["size"] == 21 and out["quorum"] == 2
    assert main(["audit", "verify", "--log", path, "--log-key", filled.signer.vkey,
                 *sum((["--witness-key", v.vkey] for v in quorum.verifiers), [])]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["audit", "show", "--log", path, "--count", "3", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["index"] for e in shown["entries"]] == [18, 19, 20]
    assert main(["audit", "prove", "--log", path, "--index", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["size"] == 21
    assert main(["audit", "prove", "--log", path, "--old", "7"]) == 0
    assert "consistency from size 7" in capsys.readouterr().out
    assert main(["audit", "prove", "--log", path, "--index", "21"]) == 2


def test_cli_verify_fails_with_a_precise_message_and_evidence(tmp_path, filled, capsys):
    trusted = tmp_path / "trusted.note"
    trusted.write_text(filled.store.latest_checkpoint()[2])
    leaves = read_leaves(filled.store.path)
    rewrite_tree(filled.store.path, leaves[:5] + leaves[6:] + [leaves[5]],
                 drop_checkpoints_above=-1)
    with LogStore(filled.store.path) as store:
        AuditLog(store, filled.signer).sign_checkpoint()
    evidence = tmp_path / "ev.json"
    rc = main(["audit", "verify", "--log", filled.store.path, "--quorum", "0",
               "--checkpoint", str(trusted), "--evidence", str(evidence)])
    err = capsys.readouterr().err
    assert rc == 1 and "inconsistent with the trusted checkpoint of size 21" in err
    assert evidence.exists()


@pytest.mark.parametrize("content", [b"", b"not a database at all", b"SQLite format 3\x00" +
                                     b"\xff" * 200])
def test_cli_on_a_corrupt_file_is_an_error_not_a_traceback(tmp_path, capsys, content):
    """verify: a file that is no valid audit log fails verification (1, as its help
    says); the other commands refuse it as bad input (2). None changes the file."""
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    for action, code in ((["verify"], 1), (["show"], 2), (["prove", "--index", "0"], 2)):
        assert main(["audit", *action[:1], "--log", str(path), *action[1:]]) == code
        err = capsys.readouterr().err
        assert err.startswith("escrowlab: ") and "Traceback" not in err
    assert path.read_bytes() == content and [p.name for p in tmp_path.iterdir()] == ["bad.db"]


def test_cli_init_and_append(tmp_path, capsys):
    log, key = tmp_path / "new.db", tmp_path / "new.key"
    assert main(["audit", "init", "--log", str(log), "--origin", "cli.test/log",
                 "--key-file", str(key), "--json"]) == 0
    vkey = json.loads(capsys.readouterr().out)["log_key"]
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert main(["audit", "append", "--log", str(log), "--key-file", str(key), "--type",
                 "warrant.filed", "--actor", "officer:1", "--payload", '{"n": 1}',
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["index"] == 0
    assert main(["audit", "append", "--log", str(log), "--key-file", str(key), "--type",
                 "x.y", "--actor", "a", "--payload", '{"password": 1}']) == 2
    assert main(["audit", "verify", "--log", str(log), "--log-key", vkey]) == 0
    assert main(["audit", "init", "--log", str(log), "--origin", "o", "--key-file",
                 str(tmp_path / "k2")]) == 2
