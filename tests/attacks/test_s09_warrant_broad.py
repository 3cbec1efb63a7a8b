"""S09 warrant-broad (docs/scenarios.md): wildcard, every chat of a user, a ten-year window,
1,000 targets; with the particularity limits and without.

Expected: with limits, the portal refuses to file and every node refuses on its own, with
the limit named, and nothing opens; a wildcard matches no record even without limits;
without limits the exposure ceiling is what the targets and window reach in the archive.
Listing a user's few chats by name stays within the limits: the policy counts targets.
"""

import pytest

from escrowlab.scenarios.registry import Params, get


@pytest.fixture(scope="module")
def outcomes():
    return {o.variant: o for o in get("S09").run("threshold", Params(seed=0, full=False))}


@pytest.mark.parametrize("variant, limit", [
    ("wildcard", "wildcard"), ("user-prefix", "prefix"),
    ("ten-year-window", "window of 3650 days"), ("thousand-targets", "1000 targets"),
])
def test_the_limits_refuse_at_the_portal_and_at_every_node(outcomes, variant, limit):
    o = outcomes[f"{variant}-limited"]
    assert o.holds and o.metrics["exposed_total"] == 0 and o.details["released_by"] == []
    assert limit in o.details["portal"]
    for reason in o.details["nodes"].values():
        assert limit in reason or "no archived record matches" in reason


def test_without_limits_a_wildcard_still_names_no_record(outcomes):
    for variant in ("wildcard", "user-prefix"):
        o = outcomes[f"{variant}-unlimited"]
        assert o.metrics["exposed_total"] == 0 and o.details["targets_with_records"] == 0


def test_without_limits_the_ceiling_is_what_the_archive_holds_in_reach(outcomes):
    ten_years = outcomes["ten-year-window-unlimited"]
    archived = ten_years.details["archived_messages"]
    assert ten_years.metrics["exposed_total"] == archived["dm:alice:bob"]
    assert ten_years.metrics["exposed_total"] > ten_years.details["reference_warrant_messages"]
    thousand = outcomes["thousand-targets-unlimited"]
    assert thousand.details["targets_with_records"] == 3
    assert thousand.metrics["exposed_total"] == 3 * thousand.details[
        "reference_warrant_messages"]


def test_every_chat_listed_by_name_passes_the_limits(outcomes):
    o = outcomes["every-chat-listed-limited"]
    assert o.holds and o.details["portal"] == "accepted"
    assert len(o.details["released_by"]) == 5 and o.metrics["exposed_total"] > 0
    assert outcomes["every-chat-listed-unlimited"].metrics["exposed_total"] == \
        2 * outcomes["every-chat-listed-unlimited"].details["reference_warrant_messages"]
