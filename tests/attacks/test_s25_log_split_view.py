"""S25 log-split-view (docs/scenarios.md): the log shows custodians one view and auditors
another, sweeping the number of witnesses, the quorum and how many witnesses collude
(``escrowlab.scenarios.auditlog``).

Colluding witnesses keep one state per audience (two state databases behind one key);
honest witnesses keep one. The log signs both views with its real key.

Expected outcome: the split view gets a quorum in both audiences exactly when the
colluders alone reach the quorum (some quorum holds no honest witness); otherwise the
honest witnesses refuse the second view as inconsistent. When it does succeed, the two
audiences are each satisfied, and only comparing checkpoints reveals it: the verifier
then writes a proof of misbehaviour.
"""

from __future__ import annotations

import pytest

from tests.attacks.records import outcome

SWEEP = [(n, t, c) for n in (3, 5) for t in range(1, n + 1) for c in range(n + 1)]


@pytest.mark.parametrize("n,threshold,colluding", SWEEP,
                         ids=[f"n{n}-t{t}-c{c}" for n, t, c in SWEEP])
def test_split_view_succeeds_only_when_a_quorum_has_no_honest_witness(
        n, threshold, colluding):
    record = outcome("S25", "threshold", f"n={n} t={threshold} c={colluding}")
    d = record.details
    if colluding < threshold:  # detected: the honest witnesses refuse the second view
        assert record.metrics["forged_accepted"] == 0
        assert d["refused_by_honest"] is True and d["inconsistency"] is True
        return
    # Reported: both audiences hold a quorum-signed checkpoint of different histories ...
    assert record.metrics["forged_accepted"] == 1
    assert d["honest_cosigners"] == 0
    # ... and only comparing them exposes the log, with a proof anyone can check.
    assert d["detected_on_comparison"] is True
    assert "the log signed size 15" in d["evidence"]


def test_default_two_of_three_with_one_colluder_stops_the_split_view():
    assert outcome("S25", "threshold", "n=3 t=2 c=1").metrics["forged_accepted"] == 0


@pytest.mark.parametrize("mode", ["leaf16", "crumple"])
def test_every_escrow_mode_shares_the_log_and_its_outcome(mode):
    record = outcome("S25", mode, "n=3 t=2 c=2")
    assert record.metrics["forged_accepted"] == 1 and record.holds
