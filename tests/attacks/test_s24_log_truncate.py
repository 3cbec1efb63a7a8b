# ruff: noqa: F811 - the shared audit fixtures are imported by name
"""S24 log-truncate (docs/scenarios.md): roll back the last k entries and sign the smaller
tree; or fork (roll back, then regrow different entries past the old size).

Expected outcome: the witnesses refuse (rollback and inconsistency, distinct errors),
so no quorum-signed checkpoint exists for the rewritten log; and whoever holds the newer
checkpoint (an auditor, or a custodian with a receipt) detects it offline, with a proof
of misbehaviour for the fork.
"""

from __future__ import annotations

import json

import pytest

from audit.errors import (
    QuorumError,
    VerificationError,
    WitnessInconsistencyError,
    WitnessRollbackError,
)
from audit.log import AuditLog
from audit.receipt import verify_receipt
from audit.storage import LogStore
from audit.verifier import check_misbehaviour_evidence, verify_log
from tests.audit.tamper import read_leaves, rewrite_tree

N = 24


@pytest.fixture
def history(log):
    receipts = [log.append_event("share.released", f"custodian:{i % 3}", {"warrant": i})
                for i in range(N)]
    path = log.store.path
    log.close()
    return path, receipts


def _reopen(path, log_signer, clock, quorum):
    return AuditLog.open(path, log_signer, clock=clock, quorum=quorum)


@pytest.mark.parametrize("k", [1, 5, 12])
def test_rollback_is_refused_by_every_witness_and_detected_by_receipt_holders(
        history, log_signer, clock, quorum, witnesses, k):
    path, receipts = history
    leaves = read_leaves(path)
    rewrite_tree(path, leaves[: N - k], drop_checkpoints_above=N - k)
    rolled = _reopen(path, log_signer, clock, quorum)
    assert rolled.size == N - k
    note = rolled.sign_checkpoint()  # the log key signs the smaller tree ...
    for w in witnesses:  # ... but no witness goes backwards
        with pytest.raises(WitnessRollbackError):
            w.add_checkpoint(N, [], note.encode())
    with pytest.raises(QuorumError) as info:
        rolled.checkpoint()
    assert all("Rollback" in why for why in info.value.refusals.values())

    newest = receipts[-1]  # a custodian's receipt for the last entry still verifies ...
    verify_receipt(newest, log_signer.verifier, quorum.verifiers, 2)
    with pytest.raises(VerificationError, match=f"rolled back: .*size {N} .*holds {N - k}"):
        verify_log(rolled.store, log_signer.verifier, trusted_checkpoint=newest.checkpoint)
    rolled.close()


@pytest.mark.parametrize("k", [1, 5, 12])
def test_fork_and_regrow_is_refused_and_proven(tmp_path, history, log_signer, clock, quorum,
                                               witnesses, k):
    path, receipts = history
    leaves = read_leaves(path)
    regrown = leaves[: N - k] + [b"replacement %d" % i for i in range(k + 3)]
    rewrite_tree(path, regrown, drop_checkpoints_above=-1)
    forked = _reopen(path, log_signer, clock, quorum)
    note = forked.sign_checkpoint()
    for w in witnesses:
        with pytest.raises(WitnessInconsistencyError):
            w.add_checkpoint(N, forked.store.consistency_proof(N), note.encode())
    with pytest.raises(QuorumError):
        forked.checkpoint()

    evidence = tmp_path / "fork.json"
    with pytest.raises(VerificationError, match=f"inconsistent with the trusted checkpoint of "
                                                f"size {N}"):
        verify_log(forked.store, log_signer.verifier, quorum.verifiers, 2,
                   trusted_checkpoint=receipts[-1].checkpoint, evidence_path=evidence)
    proof = json.loads(evidence.read_text())
    assert f"the log signed size {N}" in check_misbehaviour_evidence(proof, log_signer.verifier)
    forked.close()


def test_witness_state_is_unchanged_after_refusals(history, log_signer, clock, quorum,
                                                   witnesses):
    path, _ = history
    before = [w.latest(log_signer.name) for w in witnesses]
    rewrite_tree(path, read_leaves(path)[:10], drop_checkpoints_above=10)
    rolled = _reopen(path, log_signer, clock, quorum)
    with pytest.raises(QuorumError):
        rolled.checkpoint()
    assert [w.latest(log_signer.name) for w in witnesses] == before
    with LogStore(path) as store:
        assert store.size == 10
    rolled.close()
