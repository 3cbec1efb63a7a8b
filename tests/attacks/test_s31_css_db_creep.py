"""S31 css-db-creep (docs/scenarios.md, docs/css_matcher.md): a political stand-in hash put
into the matcher for one user, three ways, against five defences, measured by
escrowlab.scenarios.css_db_creep.

Expected outcome: without published roots nobody notices and Dana's t political images open;
a root check without witnesses does not stop a split view (the provider signs a fork); with
the witnessed root Dana's device refuses a split-view table and the witnesses refuse the
fork; a global insertion is seen only by an auditor of the database list, and a spare-slot
one only by an auditor who rebuilds the table with the provider's secret."""

from __future__ import annotations

import pytest

from escrowlab.scenarios.css_db_creep import DEFENCES, INSERTIONS, THRESHOLD
from escrowlab.scenarios.registry import get
from tests.attacks.records import outcome, run


def test_the_scenario_applies_to_css_only_and_every_variant_holds():
    assert get("S31").modes == ("css",)
    assert len(run("S31", "css")) == len(INSERTIONS) * len(DEFENCES)
    assert [o.variant for o in run("S31", "css") if not o.holds] == []


@pytest.mark.parametrize("insertion", INSERTIONS)
def test_without_a_published_root_every_insertion_works_unseen(insertion):
    for defence in ("none", "root-unwitnessed") if insertion == "split-view" else ("none",):
        record = outcome("S31", "css", f"{insertion}/{defence}")
        assert record.metrics == {"exposed_total": THRESHOLD, "detectable": "none"}


def test_a_witnessed_root_stops_the_split_view():
    record = outcome("S31", "css", "split-view/root-witnessed")
    assert record.metrics == {"exposed_total": 0, "detectable": ["user-ui", "witness"]}
    assert record.details["dana_accepted_table"] is False


def test_a_global_insertion_passes_the_root_check_and_fails_the_list_audit():
    assert outcome("S31", "css", "global/root-witnessed").metrics["detectable"] == "none"
    assert outcome("S31", "css", "global/list-audit").metrics["detectable"] == ["log"]


def test_spare_slots_hide_the_insertion_from_all_but_a_table_audit():
    for defence in ("root-witnessed", "list-audit"):
        record = outcome("S31", "css", f"spare-slot/{defence}")
        assert record.metrics == {"exposed_total": THRESHOLD, "detectable": "none"}
        assert record.details["others_table_changed"] is True
    assert outcome("S31", "css", "spare-slot/table-audit").metrics["detectable"] == ["log"]
