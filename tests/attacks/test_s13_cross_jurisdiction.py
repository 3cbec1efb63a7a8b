"""S13 cross-jurisdiction (docs/scenarios.md): custodians in JA and JB, users in JA, each
node trusting only its own jurisdiction's judges.

Expected: only the nodes of the warrant's jurisdiction release; a foreign jurisdiction
that holds t custodians reads a JA user's messages without JA (and, where its nodes set no
limits, over any window), while JA alone cannot; with the foreign share below t, it reads
nothing and JA can.
"""

import pytest

from escrowlab.scenarios.registry import Params, get


@pytest.fixture(scope="module")
def outcomes():
    return {o.variant: o for o in get("S13").run("threshold", Params(seed=0, full=False))}


def test_only_the_warrants_jurisdiction_releases(outcomes):
    assert all(o.holds for o in outcomes.values())
    for o in outcomes.values():
        assert all("not a judge this registry knows" in r for r in o.details["reasons"].values())


def test_a_foreign_jurisdiction_holding_t_reads_home_users_without_home(outcomes):
    o = outcomes["JB-holds-t:foreign-warrant"]
    assert o.details["released_by"] == ["K3", "K4", "K5"] and o.metrics["exposed_total"] > 0
    assert o.details["reads_ja_users_without_ja"] and o.metrics["min_coalition"] == 3
    wide = outcomes["JB-holds-t:foreign-wide-window"]
    assert wide.metrics["exposed_total"] > o.metrics["exposed_total"]
    assert outcomes["JB-holds-t:home-warrant"].metrics["exposed_total"] == 0


def test_below_t_the_foreign_jurisdiction_reads_nothing(outcomes):
    assert outcomes["JB-below-t:foreign-warrant"].metrics["exposed_total"] == 0
    assert outcomes["JB-below-t:foreign-wide-window"].metrics["exposed_total"] == 0
    home = outcomes["JB-below-t:home-warrant"]
    assert home.details["released_by"] == ["K1", "K2", "K3"]
    assert home.metrics["exposed_total"] > 0
