"""The audit log API: events in, receipts out, verified offline under a witnessed
checkpoint; the log never signs two inconsistent checkpoints."""

from __future__ import annotations

import json
import sqlite3

import pytest

from audit.entries import Entry
from audit.errors import (
    AuditError,
    EntryError,
    LogSigningError,
    ProofError,
    QuorumError,
    StorageError,
)
from audit.log import AuditLog
from audit.note import SignedNote, Signer, parse_note
from audit.receipt import Receipt, verify_receipt
from audit.rfc9162 import hash_children, hash_leaf


def test_append_event_returns_a_receipt_verifiable_under_the_quorum(log, log_signer, quorum,
                                                                    clock):
    receipts = []
    for i in range(5):
        clock.advance(1.5)
        receipts.append(log.append_event("warrant.filed", "officer:7", {"warrant": i}))
    for i, r in enumerate(receipts):
        cp = verify_receipt(r, log_signer.verifier, quorum.verifiers, 2)
        assert (r.index, cp.size) == (i, i + 1)
        entry = r.event()
        assert (entry.type, entry.payload, entry.time) == (
            "warrant.filed", {"warrant": i}, int((1_700_000_000 + 1.5 * (i + 1)) * 1000))
    # receipts travel as JSON
    again = Receipt.from_json(json.loads(json.dumps(receipts[2].to_json())))
    assert verify_receipt(again, log_signer.verifier, quorum.verifiers, 2).size == 3


def test_batched_events_share_one_checkpoint(log, log_signer, quorum):
    receipts = log.append_events([("share.released", f"custodian:{i}", {"n": i})
                                  for i in range(4)])
    assert {r.checkpoint for r in receipts} == {receipts[0].checkpoint}
    for r in receipts:
        verify_receipt(r, log_signer.verifier, quorum.verifiers, 2)


def test_old_receipts_can_be_reissued_under_the_latest_checkpoint(log, log_signer, quorum):
    log.append_event("a.b", "x", {})
    log.append_events([("a.c", "y", {})] * 3)
    r = log.receipt(0)
    assert verify_receipt(r, log_signer.verifier, quorum.verifiers, 2).size == 4


@pytest.mark.parametrize("tamper", ["entry", "proof", "index", "checkpoint", "quorum"])
def test_a_tampered_receipt_fails(log, log_signer, quorum, tamper):
    log.append_events([("a.b", "x", {"i": i}) for i in range(6)])
    r = log.receipt(2)
    if tamper == "entry":
        r = Receipt(r.index, r.entry.replace(b'"i":2', b'"i":3'), r.proof, r.checkpoint)
    elif tamper == "proof":
        r = Receipt(r.index, r.entry, (r.proof[0][::-1],) + r.proof[1:], r.checkpoint)
    elif tamper == "index":
        r = Receipt(3, r.entry, r.proof, r.checkpoint)
    elif tamper == "checkpoint":
        r = Receipt(r.index, r.entry, r.proof, r.checkpoint.replace("\n6\n", "\n7\n"))
    elif tamper == "quorum":  # the log's signature and a single cosignature
        note = parse_note(r.checkpoint)
        r = Receipt(r.index, r.entry, r.proof, SignedNote(note.text, note.signatures[:2]).encode())
    with pytest.raises(AuditError):
        verify_receipt(r, log_signer.verifier, quorum.verifiers, 2)


def test_cosignatures_from_unknown_witnesses_do_not_count(log, log_signer, quorum):
    r = log.append_event("a.b", "x", {})
    wrong = Signer.generate("w.other", 0x04, lambda: 0.0).verifier
    with pytest.raises(QuorumError):
        verify_receipt(r, log_signer.verifier, [wrong, *quorum.verifiers[:1]], 2)


def test_receipt_json_is_parsed_strictly():
    for bad in [{}, {"index": -1, "entry": "", "proof": [], "checkpoint": ""},
                {"index": 0, "entry": "!!", "proof": [], "checkpoint": ""},
                {"index": 0, "entry": "", "proof": "x", "checkpoint": ""},
                {"index": True, "entry": "", "proof": [], "checkpoint": ""}]:
        with pytest.raises(AuditError):
            Receipt.from_json(bad)


def test_bad_events_change_nothing(log):
    log.append_event("a.b", "x", {})
    with pytest.raises(EntryError):
        log.append_events([("a.b", "x", {}), ("a.b", "x", {"secret": "s"})])
    assert log.size == 1


def test_the_log_refuses_to_sign_after_a_rollback(tmp_path, log_signer):
    path = tmp_path / "r.db"
    log = AuditLog.open(path, log_signer)
    log.append_batch([b"%d" % i for i in range(10)])
    log.sign_checkpoint()
    log.close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM leaves WHERE idx >= 8")
        db.execute("DELETE FROM nodes WHERE level=1 AND idx>=4")
    log = AuditLog.open(path, log_signer)
    assert log.size == 8
    with pytest.raises(LogSigningError, match="already signed size 10"):
        log.sign_checkpoint()
    log.close()


def test_the_log_refuses_to_sign_a_fork(tmp_path, log_signer):
    path = tmp_path / "f.db"
    log = AuditLog.open(path, log_signer)
    log.append_batch([b"%d" % i for i in range(8)])
    signed = log.sign_checkpoint()
    with sqlite3.connect(path) as db:  # rewrite history consistently (hashes recomputed)
        leaves = [b"forged %d" % i for i in range(8)]
        level = [hash_leaf(x) for x in leaves]
        db.executemany("UPDATE leaves SET data=?, hash=? WHERE idx=?",
                       [(d, h, i) for i, (d, h) in enumerate(zip(leaves, level, strict=True))])
        lv = 1
        while len(level) > 1:
            level = [hash_children(level[i], level[i + 1]) for i in range(0, len(level), 2)]
            db.executemany("UPDATE nodes SET hash=? WHERE level=? AND idx=?",
                           [(h, lv, i) for i, h in enumerate(level)])
            lv += 1
    log.close()
    log = AuditLog.open(path, log_signer)
    log.append(b"more")
    with pytest.raises(LogSigningError, match="no longer gives the root"):
        log.sign_checkpoint()
    assert log.store.latest_checkpoint()[2] == signed.encode()
    log.close()


def test_a_log_opened_with_another_key_is_refused(tmp_path, log_signer):
    AuditLog.open(tmp_path / "k.db", log_signer).close()
    with pytest.raises(StorageError):
        AuditLog.open(tmp_path / "k.db", Signer.generate(log_signer.name))


def test_a_quorum_failure_leaves_the_entry_logged_but_unreceipted(tmp_path, log_signer, clock,
                                                                  witnesses, quorum):
    log = AuditLog.open(tmp_path / "q.db", log_signer, clock=clock, quorum=quorum)
    for w in witnesses[:2]:
        w.close()
    with pytest.raises(AuditError):
        log.append_event("a.b", "x", {})
    assert log.size == 1
    assert Entry.decode(log.store.leaf(0)).type == "a.b"
    log.close()


def test_proof_errors_are_audit_errors():
    assert issubclass(ProofError, AuditError)
