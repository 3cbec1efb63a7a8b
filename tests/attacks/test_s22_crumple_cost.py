"""S22 crumple-cost (docs/scenarios.md): what a crumple-zone recovery costs, per chain and in bulk
(``escrowlab.scenarios.crumple_cost``).

Measured with the real lock (:class:`CrumpleEscrow`), the real solver and the
real recovery: the mean work per chain is about 2^(k-1) (checked within five
standard errors of the uniform answer distribution), and recovering the whole
archive costs the warrant's work times chains-in-archive / chains-in-scope. The
command line (``escrowlab attacks --full``, ``escrowlab bench escrow-modes``)
measures larger k.
"""

import math
import statistics

import pytest

from tests.attacks.records import outcome


@pytest.mark.parametrize("bits, chains", [(8, 300), (10, 120), (12, 40)])
def test_mean_work_per_chain_is_about_2_to_the_k_minus_1(bits, chains):
    record = outcome("S22", "crumple", f"work per chain, k={bits}")
    work = record.details["work"]
    assert len(work) == chains
    assert all(1 <= w <= 1 << bits for w in work)
    expected = ((1 << bits) + 1) / 2
    standard_error = (1 << bits) / math.sqrt(12 * chains)
    assert abs(statistics.mean(work) - expected) <= 5 * standard_error


def test_parallel_workers_find_the_same_keys_with_bounded_extra_work():
    record = outcome("S22", "crumple", "two workers")
    assert record.details["same_key"] == record.details["chains"] == 4
    # chunks already in flight when the answer turns up still cost work, at most
    # 2 x workers chunks (and a resumed one) beyond the sequential search
    assert record.details["bounded"] == 4
    assert all(extra <= 5 * record.details["chunk"] for extra in record.details["extra_work"])


def test_whole_archive_costs_the_warrant_times_the_chain_ratio():
    d = outcome("S22", "crumple", "mass vs targeted").details
    assert d["chains_archived"] > d["chains_in_scope"] >= 12
    assert outcome("S22", "crumple", "mass vs targeted").metrics["exposed_total"] == d["archived"]
    assert d["chain_ratio"] / 3 <= d["work_ratio"] <= d["chain_ratio"] * 3
