"""S05 cust-dos (docs/scenarios.md): k custodians refuse or are offline; m return bad shares
(flipped bits, random well-formed values), signed with their own keys.

Expected: recovery succeeds exactly when n - k - m >= t good shares exist; every
bad share is detected and its custodian named (``escrowlab.scenarios.custodians``).
"""

import pytest

from tests.attacks.records import outcome, run

N, T = 5, 3
MODES = ["threshold", "crumple"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["flipped", "random"])
@pytest.mark.parametrize("refusing,bad", [(k, m) for k in range(N + 1) for m in range(N + 1 - k)])
def test_recovery_succeeds_iff_t_good_shares_and_names_the_culprits(mode, kind, refusing, bad):
    record = outcome("S05", mode, f"{kind}: {refusing} refuse, {bad} lie")
    good = N - refusing - bad
    assert record.details["good"] == good and record.details["threshold"] == T
    assert record.metrics["recovery_success"] is (good >= T)
    if good >= T:
        assert record.metrics["exposed_total"] == record.details["in_scope"] > 0
        assert record.details["culprits"] == [f"K{refusing + i + 1}" for i in range(bad)]
        assert record.metrics["culprit_identified"] is True
    else:
        assert record.metrics["exposed_total"] == 0
    assert record.holds  # per chain: not released (< t present) or forged, naming t


@pytest.mark.parametrize("mode", MODES)
def test_a_release_altered_in_transit_is_ignored_not_blamed(mode):
    record = outcome("S05", mode, "altered in transit")
    assert record.details["ignored_releases"] == 1
    assert record.details["culprits"] == []
    assert record.metrics["recovery_success"] is True and record.holds


def test_every_combination_is_measured():
    assert len(run("S05", "threshold")) == 2 * 21 + 1
