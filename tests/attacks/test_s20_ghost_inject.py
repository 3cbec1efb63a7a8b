"""S20 ghost-inject (docs/scenarios.md, docs/ghost.md): exposure before detection and the
detection latency of each channel, per variant, measured by escrowlab.scenarios.ghost."""

import pytest

from escrowlab.scenarios.ghost import CHECK_INTERVAL, MESSAGE_INTERVAL
from escrowlab.scenarios.registry import Params, get


@pytest.fixture(scope="module")
def outcomes():
    return {o.variant: o for o in get("S20").run("ghost", Params(0))}


def test_the_scenario_applies_to_ghost_only():
    assert get("S20").modes == ("ghost",)


def test_every_variant_and_channel_holds(outcomes):
    assert len(outcomes) == 15 + 4
    assert [v for v, o in outcomes.items() if not o.holds] == []


def test_without_a_defence_the_ghost_reads_everything_undetected(outcomes):
    for variant in ("honest", "suppressed-ui", "split-view"):
        outcome = outcomes[f"{variant}/none"]
        assert outcome.metrics["detectable"] == "none"
        assert outcome.metrics["exposed_total"] == outcome.details["messages_sent"]


def test_honest_clients_show_the_new_device_to_the_peer_at_the_first_message(outcomes):
    outcome = outcomes["honest/safety-numbers"]
    assert outcome.metrics == {"exposed_total": 1, "detectable": "user-ui",
                               "detection_latency": MESSAGE_INTERVAL}


def test_the_owner_sees_it_at_its_next_check(outcomes):
    for channel, detector in (("device-list", "user-ui"), ("kt-monitor", "kt-monitor")):
        outcome = outcomes[f"honest/{channel}"]
        assert outcome.metrics["detectable"] == detector
        assert outcome.metrics["detection_latency"] == CHECK_INTERVAL
        assert outcome.metrics["exposed_total"] == CHECK_INTERVAL // MESSAGE_INTERVAL
        assert outcome.details["detection_epochs"] == 2  # the ghost's epoch, one periodic


def test_a_split_view_still_shows_the_contact_a_new_device(outcomes):
    outcome = outcomes["split-view/safety-numbers"]
    assert outcome.metrics["exposed_total"] == 1
    assert outcome.metrics["detection_latency"] == MESSAGE_INTERVAL


def test_suppressed_notices_leave_only_the_kt_self_monitor(outcomes):
    detected = {v.split("/")[1] for v, o in outcomes.items()
                if v.startswith("suppressed-ui/") and o.metrics["detectable"] != "none"}
    assert detected == {"kt-monitor"}


def test_a_split_view_defeats_the_owners_checks_but_not_the_witnesses(outcomes):
    for channel in ("device-list", "kt-monitor"):
        assert outcomes[f"split-view/{channel}"].metrics["detectable"] == "none"
    witness = outcomes["split-view/witness"]
    assert witness.metrics["detectable"] == "witness"
    assert witness.metrics["detection_latency"] == CHECK_INTERVAL
    assert witness.details["detection_epochs"] == 0  # Bob's view could not advance
    assert outcomes["honest/witness"].metrics["detectable"] == "none"


def test_legitimate_churn_raises_peer_notices_only(outcomes):
    peer = outcomes["churn/safety-numbers"]
    assert peer.details["legitimate_changes"] == 2
    assert peer.details["false_alarms"] == 2  # a contact cannot tell a new phone from a ghost
    for channel in ("device-list", "kt-monitor", "witness"):
        assert outcomes[f"churn/{channel}"].details["false_alarms"] == 0
