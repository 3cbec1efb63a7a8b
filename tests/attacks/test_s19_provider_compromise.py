"""S19 provider-compromise (docs/scenarios.md, docs/ghost.md): the relay's full control, under
every mode, measured by escrowlab.scenarios.provider."""

import pytest

from escrowlab.scenarios.registry import Params, get

MODES = get("S19").modes


@pytest.fixture(scope="module")
def outcomes():
    scenario = get("S19")
    return {(mode, o.variant): o for mode in MODES for o in scenario.run(mode, Params(0))}


def test_every_variant_holds_under_every_mode(outcomes):
    assert {m for m, _ in outcomes} == {"none", "threshold", "leaf16", "crumple", "ghost"}
    assert [key for key, o in outcomes.items() if not o.holds] == []


@pytest.mark.parametrize("mode", MODES)
def test_the_archive_exposes_no_content_without_custodians(outcomes, mode):
    outcome = outcomes[(mode, "read-archive")]
    assert outcome.metrics["exposed_total"] == 0
    assert outcome.metrics["recovery_success"] is False


@pytest.mark.parametrize("mode", MODES)
def test_prekey_substitution_is_caught_by_safety_numbers_and_refused_by_kt(outcomes, mode):
    assert outcomes[(mode, "substitute-bundle")].metrics["forged_accepted"] is False
    no_kt = outcomes[(mode, "substitute-identity/no-kt")]
    assert no_kt.metrics["detectable"] == "user-ui"
    assert no_kt.details["safety_number_changes"] == 1
    kt = outcomes[(mode, "substitute-identity/kt")]
    assert kt.metrics == {"forged_accepted": False, "detectable": "kt-monitor",
                          "state_unchanged": True}


@pytest.mark.parametrize("mode", MODES)
def test_an_added_device_reads_what_follows_and_kt_shows_it_to_the_owner(outcomes, mode):
    assert outcomes[(mode, "add-device/no-kt")].metrics["detectable"] == ["user-ui"]
    kt = outcomes[(mode, "add-device/kt")]
    assert kt.metrics["exposed_total"] == 1
    assert "kt-monitor" in kt.metrics["detectable"]


@pytest.mark.parametrize("mode", MODES)
def test_replays_are_refused_and_drops_go_unnoticed(outcomes, mode):
    replay = outcomes[(mode, "replay-envelope")]
    assert replay.metrics["forged_accepted"] is False
    assert replay.details["duplicates_recognised"] == 1
    assert outcomes[(mode, "drop-envelope")].metrics["detectable"] == "none"


def test_metadata_fields_are_counted_per_mode(outcomes):
    counts = {mode: outcomes[(mode, "record-metadata")].metrics["metadata_fields"]
              for mode in MODES}
    assert counts["none"] == counts["ghost"] < counts["leaf16"] < counts["threshold"]
    assert counts["threshold"] == counts["crumple"]
