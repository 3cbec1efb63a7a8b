"""S07 judge-key (docs/scenarios.md): a stolen or rogue judge key signs a baseless warrant;
k-of-m judges; the key without the log.

Expected: with one judge required, one key opens the warrant's window and the log names
the judge's approval and every release; without a logged approval the key opens nothing;
with 2 of 3 required, one key is refused by the portal and every node, and two keys are
the fewest that open anything.
"""

import pytest

from escrowlab.scenarios.registry import Params, get


@pytest.fixture(scope="module")
def outcomes():
    return {o.variant: o for o in get("S07").run("threshold", Params(seed=0, full=False))}


def test_one_stolen_key_opens_the_window_and_the_log_shows_it(outcomes):
    o = outcomes["one-of-m"]
    assert o.holds and o.metrics["exposed_total"] > 0 and o.metrics["min_coalition"] == 1
    assert o.metrics["detectable"] == "log"
    assert o.details["logged"][:3] == ["warrant.draft", "warrant.filed", "warrant.approved"]
    assert o.details["logged"].count("custodian.released") == 3


def test_the_key_without_a_logged_approval_opens_nothing(outcomes):
    o = outcomes["one-of-m-without-the-log"]
    assert o.holds and o.metrics["exposed_total"] == 0
    assert all("another warrant" in r for r in o.details["nodes"].values())


def test_k_of_m_needs_k_keys(outcomes):
    one, two = outcomes["k-of-m-one-key"], outcomes["k-of-m-two-keys"]
    assert one.holds and one.metrics["exposed_total"] == 0
    assert "2 are required" in one.details["portal"]
    assert two.holds and two.metrics["exposed_total"] > 0
    assert one.metrics["min_coalition"] == two.metrics["min_coalition"] == 2
