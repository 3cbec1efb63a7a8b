# ruff: noqa: F811 - the shared audit fixtures are imported by name
"""S23 log-tamper (docs/scenarios.md): edit, delete-and-recompute and reorder log entries.

Expected outcome: every variant is detected by the offline verifier against witnessed
checkpoints, and the witnesses refuse to cosign a rewritten history, so the log
operator cannot obtain a new quorum-signed checkpoint for it either.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from audit.errors import QuorumError, VerificationError
from audit.log import AuditLog
from audit.rfc9162 import hash_leaf
from audit.storage import LogStore
from audit.verifier import check_misbehaviour_evidence, verify_log
from tests.audit.tamper import read_leaves, rewrite_tree

N = 30


@pytest.fixture
def witnessed(log):
    """A log of N events, each appended with a receipt; the auditor keeps the last one."""
    receipts = [log.append_event("warrant.filed", f"officer:{i % 4}", {"warrant": i})
                for i in range(N)]
    return log, receipts[-1].checkpoint


def _verify(log, quorum, trusted, evidence=None):
    with LogStore(log.store.path) as store:
        return verify_log(store, log.signer.verifier, quorum.verifiers, 2,
                          trusted_checkpoint=trusted, evidence_path=evidence)


def test_the_untampered_log_verifies(witnessed, quorum):
    log, trusted = witnessed
    assert _verify(log, quorum, trusted).size == N


def test_editing_one_entry_in_place_is_detected(witnessed, quorum):
    log, trusted = witnessed
    forged = read_leaves(log.store.path)[5].replace(b"officer:1", b"officer:3")
    with sqlite3.connect(log.store.path) as db:
        db.execute("UPDATE leaves SET data=? WHERE idx=5", (forged,))
    with pytest.raises(VerificationError, match="leaf 5: stored hash does not match"):
        _verify(log, quorum, trusted)


def test_editing_an_entry_and_its_leaf_hash_is_detected(witnessed, quorum):
    log, trusted = witnessed
    forged = read_leaves(log.store.path)[5].replace(b"officer:1", b"officer:3")
    with sqlite3.connect(log.store.path) as db:
        db.execute("UPDATE leaves SET data=?, hash=? WHERE idx=5", (forged, hash_leaf(forged)))
    with pytest.raises(VerificationError, match=r"stored node \(1, 2\)"):
        _verify(log, quorum, trusted)


def _edit(leaves):
    leaves[5] = leaves[5].replace(b"officer:1", b"officer:3")
    return leaves


def _delete(leaves):
    return leaves[:7] + leaves[8:]


def _reorder(leaves):
    leaves[3], leaves[4] = leaves[4], leaves[3]
    return leaves


VARIANTS = {"edit": _edit, "delete": _delete, "reorder": _reorder}


@pytest.mark.parametrize("variant", VARIANTS)
def test_recomputed_tree_is_caught_by_the_signed_checkpoints(witnessed, quorum, variant):
    log, trusted = witnessed
    rewrite_tree(log.store.path, VARIANTS[variant](read_leaves(log.store.path)))
    with pytest.raises(VerificationError, match="log tampered|rolled back"):
        _verify(log, quorum, trusted)


@pytest.mark.parametrize("variant", VARIANTS)
def test_recomputed_and_resigned_tree_is_refused_by_witnesses_and_caught_by_auditors(
        tmp_path, witnessed, quorum, log_signer, clock, variant):
    log, trusted = witnessed
    log.close()
    leaves = VARIANTS[variant](read_leaves(log.store.path))
    # The operator also erases its signed checkpoints, so its own log will sign again.
    rewrite_tree(log.store.path, leaves + [b"cover-up entry"], drop_checkpoints_above=-1)
    forger = AuditLog.open(log.store.path, log_signer, clock=clock, quorum=quorum)
    with pytest.raises(QuorumError) as info:
        forger.checkpoint()
    assert len(info.value.refusals) == 3
    evidence = tmp_path / "evidence.json"
    with pytest.raises(VerificationError, match="inconsistent with the trusted checkpoint"):
        _verify(forger, quorum, trusted, evidence)
    assert "the log signed" in check_misbehaviour_evidence(
        json.loads(evidence.read_text()), log_signer.verifier)
    forger.close()
