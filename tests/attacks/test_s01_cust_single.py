"""S01 cust-single (docs/scenarios.md): one custodian's key and store stolen; also t-1 custodians.

Expected: 0 messages exposed below t; t = 1 configurations refused. The thief
runs the real code with the stolen keys (``escrowlab.scenarios.custodians``): it
opens its shares of every archived record and hands them to the real recovery.
"""

import pytest

from escrow.scope import NOT_RELEASED
from tests.attacks.records import modes, outcome, run


@pytest.mark.parametrize("mode", modes("S01"))
def test_fewer_than_t_stolen_custodians_expose_nothing(mode):
    below = [o for o in run("S01", mode) if "stolen" in o.variant
             and o.details["stolen"] < o.details["threshold"]]
    assert below and all(o.metrics["exposed_total"] == 0 and o.holds for o in below)


@pytest.mark.parametrize("mode", ["threshold", "crumple"])
def test_a_stolen_share_is_not_the_chain_key(mode):
    one = outcome("S01", mode, "one share alone")
    assert one.details["share_index"] == 0 and one.details["share_length"] == 32
    # the thief has its share, yet the real recovery with it alone reads nothing
    assert one.metrics["exposed_total"] == 0
    assert one.details["outcomes"] == [NOT_RELEASED]
    assert all("1 authentic release" in reason for reason in one.details["reasons"])
    assert one.holds


@pytest.mark.parametrize("mode", modes("S01"))
def test_the_threshold_is_exactly_t(mode):
    at_t = [o for o in run("S01", mode) if "stolen" in o.variant
            and o.details["stolen"] == o.details["threshold"]]
    assert len(at_t) == 1
    assert at_t[0].metrics["exposed_total"] == at_t[0].details["archived"] > 0


@pytest.mark.parametrize("mode", ["threshold", "crumple"])
def test_t_equal_one_is_refused_everywhere(mode):
    refused = outcome("S01", mode, "t=1 configuration")
    assert "t=1 refused" in refused.details["errors"]["custodian_set"]
    assert "t=1 refused" in refused.details["errors"]["ceremony"]
    assert refused.metrics["state_unchanged"] is True  # the ceremony wrote nothing
