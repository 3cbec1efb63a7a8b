"""S25 log-split-view (docs/scenarios.md): the log shows custodians one view and auditors
another, sweeping the number of witnesses, the quorum and how many witnesses collude.

Colluding witnesses keep one state per audience (two state databases behind one key);
honest witnesses keep one. The log signs both views with its real key.

Expected outcome: the split view gets a quorum in both audiences exactly when the
colluders alone reach the quorum (some quorum holds no honest witness); otherwise the
honest witnesses refuse the second view as inconsistent. When it does succeed, the two
audiences are each satisfied, and only comparing checkpoints reveals it: the verifier
then writes a proof of misbehaviour.
"""

from __future__ import annotations

import json

import pytest

from audit.errors import QuorumError, VerificationError
from audit.log import AuditLog
from audit.note import SIG_TYPE_COSIGNATURE_V1, Signer, parse_note
from audit.quorum import WitnessQuorum, verify_checkpoint
from audit.storage import LogStore
from audit.verifier import check_misbehaviour_evidence, verify_log
from audit.witness import Witness

PREFIX = 10
SWEEP = [(n, t, c) for n in (3, 5) for t in range(1, n + 1) for c in range(n + 1)]


class FixedClock:
    def now(self) -> float:
        return 1_700_000_000.0


def _view(signer, suffix, count):
    log = AuditLog(LogStore(":memory:", create=True), signer)
    log.append_batch([b"common %d" % i for i in range(PREFIX)])
    log.append_batch([suffix + b" %d" % i for i in range(count)])
    return log


def split_view(n, threshold, colluding):
    clock = FixedClock()
    log_key = Signer.generate("split.test/log")
    signers = [Signer.generate(f"w{i}.test", SIG_TYPE_COSIGNATURE_V1, clock.now)
               for i in range(n)]
    honest = {s.name: Witness(s, [log_key.verifier], clock=clock) for s in signers[colluding:]}

    def witnesses_for():
        # a fresh state per audience: a colluder never remembers the other view
        colluders = [Witness(s, [log_key.verifier], clock=clock) for s in signers[:colluding]]
        return colluders + list(honest.values())

    custodians = _view(log_key, b"release", 5)   # what custodians are shown
    auditors = _view(log_key, b"nothing to see", 6)  # what auditors are shown
    results = {}
    for name, view in (("custodians", custodians), ("auditors", auditors)):
        quorum = WitnessQuorum(witnesses_for(), threshold)
        try:
            results[name] = quorum.cosign(view.sign_checkpoint().encode(),
                                          view.store.consistency_proof)
        except QuorumError as exc:
            results[name] = exc
    return log_key, signers, set(honest), custodians, auditors, results


@pytest.mark.parametrize("n,threshold,colluding", SWEEP,
                         ids=[f"n{n}-t{t}-c{c}" for n, t, c in SWEEP])
def test_split_view_succeeds_only_when_a_quorum_has_no_honest_witness(
        tmp_path, n, threshold, colluding):
    log_key, signers, honest, custodians, auditors, results = split_view(
        n, threshold, colluding)
    keys = [s.verifier for s in signers]
    first = results["custodians"]
    verify_checkpoint(first.encode(), log_key.verifier, keys, threshold)  # always accepted
    second = results["auditors"]
    if colluding < threshold:  # detected: the honest witnesses refuse the second view
        assert isinstance(second, QuorumError)
        assert set(second.refusals) == honest
        assert all("Inconsistency" in why for why in second.refusals.values())
        return
    # Reported: both audiences hold a quorum-signed checkpoint of different histories ...
    verify_checkpoint(second.encode(), log_key.verifier, keys, threshold)
    cosigners = {s.name for s in parse_note(second.encode()).signatures[1:]}
    assert not cosigners & honest
    # ... and only comparing them exposes the log, with a proof anyone can check.
    evidence = tmp_path / "split.json"
    with pytest.raises(VerificationError, match="inconsistent with the trusted checkpoint"):
        verify_log(auditors.store, log_key.verifier, trusted_checkpoint=first.encode(),
                   evidence_path=evidence)
    assert "the log signed size 15" in check_misbehaviour_evidence(
        json.loads(evidence.read_text()), log_key.verifier)


def test_default_two_of_three_with_one_colluder_stops_the_split_view():
    *_, results = split_view(3, 2, 1)
    assert isinstance(results["auditors"], QuorumError)
