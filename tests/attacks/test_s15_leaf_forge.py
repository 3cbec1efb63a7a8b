"""S15 leaf-forge (docs/scenarios.md): Blaze's 1994 search against the real module and sessions
(``escrowlab.scenarios.leaf``).

A rogue sender with only oracle access to its own module queries random LEAFs
until one validates, sends with it, the honest recipient accepts, and lawful
recovery of that chain then fails. The measured mean is checked against
Blaze's 2^w within a two-sided interval that a correct implementation leaves
with probability 1e-6. ``escrowlab attacks --full`` and ``escrowlab bench
escrow-modes`` run more forgeries.
"""

import statistics

import pytest

from escrow.leaf16.forgery import mean_queries_interval
from tests.attacks.records import outcome


@pytest.mark.parametrize("width, forgeries", [(8, 300), (16, 10)])
def test_random_search_forges_a_leaf_in_about_2_to_the_width_queries(width, forgeries):
    record = outcome("S15", "leaf16", f"random search, {width}-bit checksum")
    counts = record.details["queries"]
    assert len(counts) == record.details["trials"] == forgeries
    assert record.metrics["forged_accepted"] == forgeries  # another chip validates each one
    low, high = mean_queries_interval(width, forgeries)
    assert low <= statistics.mean(counts) <= high, (counts, 1 << width)
    assert record.details["expected"] == 1 << width


def test_a_wider_checksum_resists_the_budget_that_forges_16_bits_several_times():
    record = outcome("S15", "leaf16", "24-bit checksum, 2^17 queries")
    assert record.details["budget"] == 1 << 17
    assert record.metrics["forged_accepted"] <= 2  # P(>= 3 passes) < 1e-7 at 24 bits


def test_the_honest_recipient_accepts_the_forged_chain_and_lawful_recovery_fails():
    record = outcome("S15", "leaf16", "forged chain")
    assert record.details["oracle_queries_per_chain"][0] > 0
    assert record.metrics["forged_accepted"] == 4  # the first message and three more
    assert record.metrics["recovery_success"] is False


def test_after_a_dh_step_the_rogue_forges_again_and_is_still_accepted():
    record = outcome("S15", "leaf16", "forged again after a DH step (8-bit)")
    assert len(record.details["oracle_queries_per_chain"]) == 2
    assert record.metrics["forged_accepted"] == 1
    assert record.metrics["recovery_success"] is False


def test_with_the_family_key_extracted_forgery_costs_one_computation():
    record = outcome("S15", "leaf16", "family key extracted")
    assert record.details["oracle_queries_per_chain"] == [0]
    assert record.metrics["forged_accepted"] == 2
    assert record.metrics["recovery_success"] is False


@pytest.mark.parametrize("mode", ["threshold", "crumple"])
def test_the_same_search_never_succeeds_against_threshold_and_crumple(mode):
    record = outcome("S15", mode, "random search")
    assert record.details["genuine_accepted"] is True
    assert record.details["random_records"] == 1 << 16
    assert record.details["random_tails"] == 1 << 11
    assert record.metrics["forged_accepted"] == 0
