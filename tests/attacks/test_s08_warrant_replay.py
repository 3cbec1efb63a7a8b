"""S08 warrant-replay (docs/scenarios.md): expired warrants, replayed requests, resubmission
to another custodian subset, skewed clocks.

Expected: 0 releases after expiry whatever the portal's clock says; a replayed request is
refused and logged; a node releases one target of one warrant once, so a second attempt
reaches only the n - t nodes that had not released and opens nothing; one node with a
slow clock releases alone, below t.
"""

import pytest

from escrowlab.scenarios.registry import Params, get


@pytest.fixture(scope="module")
def outcomes():
    return {o.variant: o for o in get("S08").run("threshold", Params(seed=0, full=False))}


def test_no_release_after_expiry_whatever_the_portals_clock(outcomes):
    o = outcomes["expired-skewed-portal-clock"]
    assert o.holds and o.metrics["exposed_total"] == 0 and o.metrics["state_unchanged"]
    assert all("expired" in r and "this custodian's clock" in r
               for r in o.details["reasons"].values())


def test_a_replayed_request_is_refused_and_logged(outcomes):
    o = outcomes["replayed-request"]
    assert o.holds and o.details["shares_released"] == 0
    assert "replayed" in o.details["reason"] and o.metrics["state_unchanged"]


def test_a_second_attempt_reaches_only_the_nodes_that_had_not_released(outcomes):
    o = outcomes["other-subset"]
    assert o.holds
    assert o.details["first_attempt"] == ["K1", "K2", "K3"]
    assert o.details["second_attempt"] == ["K4", "K5"]
    assert o.details["refused_second"] == ["K1", "K2", "K3"]
    assert o.metrics["exposed_total"] == 0 and o.metrics["recovery_success"] is False
    assert o.details["first_attempt_messages"] > 0
    assert (o.details["refusals_logged"], o.details["releases_logged"]) == (3, 2)


def test_one_slow_node_releases_alone_below_t(outcomes):
    o = outcomes["one-skewed-node"]
    assert o.holds and o.details["released_by"] == ["K1"]
    assert o.details["shares_released"] > 0 and o.metrics["exposed_total"] == 0
