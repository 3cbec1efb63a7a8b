"""S10 scope-creep (docs/scenarios.md): the reference warrant's released material used
outside its window, on C2 and C3, after expiry; the custodians asked for C2 under it.

Pinned: under ``threshold`` and ``crumple`` the material opens exactly the out-of-window
messages of the chains that overlap the window (none at r = 1, more as r grows) and nothing
of any other conversation; custodians refuse C2's records and refuse everything after
expiry, while what they released before still opens what it opened. Under ``leaf16`` the
agents' consent is to the authorisation, not to records: the unit keys open all of C1 and
C2 and C3 too, and only the agents' own log shows the extra units.
"""

import functools

import pytest

from escrowlab.scenarios.registry import Params, get

PER_RECORD = ("threshold", "crumple")


@functools.cache
def outcomes(mode: str) -> dict:
    return {o.variant: o for o in get("S10").run(mode, Params(seed=0))}


@pytest.mark.parametrize("mode", PER_RECORD)
def test_released_chains_open_whole_and_the_overreach_grows_with_r(mode):
    outside = outcomes(mode)["outside-window"]
    assert outside.holds
    for point in outside.details["by_r"]:
        assert point["in_window"] == point["messages_in_window"] > 0
        assert point["exposed_out_of_scope"] == point["overlapping_chains_outside"]
        assert point["library_out_of_scope_recoverable"] == point["exposed_out_of_scope"]
    curve = dict((r, exposed) for r, exposed in outside.details["curve"])
    assert curve[1] == 0
    assert curve[1] <= curve[2] <= curve[4] <= curve[8] and curve[8] > 0


@pytest.mark.parametrize("mode", PER_RECORD)
def test_no_other_conversation_opens_and_custodians_refuse_c2(mode):
    result = outcomes(mode)
    assert result["other-conversations"].holds
    assert result["other-conversations"].metrics["exposed_out_of_scope"] == 0
    c2 = result["asked-for-c2"]
    assert c2.holds
    for point in c2.details["by_r"]:
        assert point["granted"] == point["opened"] == 0
        assert len(point["refusals"]) == point["asked"]
        assert all("not named by authorisation W-REF" in why for why in point["refusals"])


@pytest.mark.parametrize("mode", ("threshold", "leaf16", "crumple"))
def test_after_expiry_custodians_refuse_but_released_material_still_opens(mode):
    expiry = outcomes(mode)["after-expiry"]
    assert expiry.holds
    for point in expiry.details["by_r"]:
        assert point["asked"]["granted"] == 0
        assert all("expired" in why for why in point["asked"]["refusals"])
        assert point["reused_after_expiry"] > 0


def test_leaf16_consent_reaches_every_conversation_and_only_the_agents_log_shows_it():
    result = outcomes("leaf16")
    assert all(o.holds for o in result.values())
    outside = result["outside-window"]
    for point in outside.details["by_r"]:
        assert point["in_window"] + point["exposed_out_of_scope"] == point["archived_c1"]
    assert outside.metrics["detectable"] == "none"  # the same two units as the warrant's
    others = result["other-conversations"]
    assert others.metrics["exposed_out_of_scope"] > 0
    assert others.metrics["detectable"] == "log"
    assert result["asked-for-c2"].metrics["exposed_out_of_scope"] > 0
