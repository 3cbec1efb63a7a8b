"""S06 warrant-forged (docs/scenarios.md): unsigned, officer-signed, signed over other bytes,
edited after signing, non-canonical and unknown-key warrants, sent to the portal and
straight to each custodian node.

Expected: every node refuses every variant with a clear error, no share leaves, each
refusal is in the audit log, no node's database changes; the portal refuses them too. The
genuine request, sent last, is released by every node (the checks are not refusing
everything).
"""

import pytest

from escrowlab.scenarios.registry import Params, get

VARIANTS = ("unsigned", "officer-signed", "signature-over-other-bytes",
            "edited-after-signing", "non-canonical-encoding", "unknown-key-id")


@pytest.fixture(scope="module")
def outcomes():
    return {o.variant: o for o in get("S06").run("threshold", Params(seed=0, full=False))}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_node_refuses_and_releases_nothing(outcomes, variant):
    o = outcomes[variant]
    assert o.holds
    assert o.metrics["forged_accepted"] == 0 and o.metrics["exposed_total"] == 0
    assert o.details["shares_released"] == 0
    assert o.metrics["state_unchanged"] is True


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_refusal_is_logged_with_its_reason(outcomes, variant):
    o = outcomes[variant]
    assert o.details["refusals_logged"] == o.details["nodes"] == 5
    assert o.metrics["detectable"] == "log"
    assert all(reason != "released" and reason for reason in o.details["reasons"].values())


@pytest.mark.parametrize("variant, reason", [
    ("unsigned", "signatures"), ("officer-signed", "not a judge this registry knows"),
    ("signature-over-other-bytes", "does not verify"),
    ("edited-after-signing", "does not verify"), ("non-canonical-encoding", "canonical"),
    ("unknown-key-id", "not a judge this registry knows"),
])
def test_the_reason_names_the_failed_check_at_nodes_and_portal(outcomes, variant, reason):
    o = outcomes[variant]
    assert all(reason in r for r in o.details["reasons"].values())
    assert o.details["portal"] != "accepted"


def test_the_genuine_request_is_released_by_every_node(outcomes):
    o = outcomes["genuine-control"]
    assert o.holds and o.details["released_by"] == ["K1", "K2", "K3", "K4", "K5"]
    assert o.metrics["exposed_total"] > 0
