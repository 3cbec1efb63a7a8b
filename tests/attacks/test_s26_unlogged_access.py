"""S26 unlogged-access (docs/scenarios.md): every path to plaintext without a log entry.

Expected: an approval from another log or without a valid inclusion proof is refused by
every node; a node that dies between writing its decision and receiving the
acknowledgement releases nothing, and the entry is there; every release a node made names
its own log entry; only t custodians using their keys directly read without a log entry
(S02), and nothing shows it.
"""

import pytest

from escrowlab.scenarios.registry import Params, get


@pytest.fixture(scope="module")
def outcomes():
    return {o.variant: o for o in get("S26").run("threshold", Params(seed=0, full=False))}


@pytest.mark.parametrize("variant, reason", [
    ("approval-from-another-log", "not signed by the log"),
    ("approval-without-proof", "root mismatch"),
])
def test_an_approval_not_proven_in_the_trusted_log_opens_nothing(outcomes, variant, reason):
    o = outcomes[variant]
    assert o.holds and o.metrics["exposed_total"] == 0 and o.details["released_by"] == []
    assert all(reason in r for r in o.details["reasons"].values())
    assert o.details["log_entries_added"] == 5  # each node's refusal


def test_a_crash_between_log_append_and_release_releases_nothing(outcomes):
    o = outcomes["crash-before-ack"]
    assert o.holds and o.details["entries"] == ["custodian.released"]
    assert o.metrics["exposed_total"] == 0


def test_every_release_names_its_log_entry(outcomes):
    o = outcomes["every-release-has-its-entry"]
    assert o.holds and o.details["rows_without_entry"] == 0 and o.details["release_rows"] == 3


def test_only_t_custodians_bypassing_the_nodes_read_without_a_log_entry(outcomes):
    o = outcomes["custodians-bypass-nodes"]
    assert o.holds and o.metrics["min_coalition"] == 3 and o.metrics["detectable"] == "none"
    assert o.metrics["exposed_total"] == o.details["archived_messages"]
    assert o.details["log_entries_added"] == 0


def test_t_minus_1_custodians_bypassing_the_nodes_open_nothing(outcomes):
    o = outcomes["custodians-bypass-nodes"]
    assert o.details["opened_by_t_minus_1"] == 0
