"""What ``escrowlab attacks --full`` runs: the proposal's whole parameter range
(docs/scenarios.md, S15 and S22), in parallel processes where the work is large, and a
run estimate that says so before it starts."""

from __future__ import annotations

import os

from escrow.leaf16.leaf import CHECKSUM_WIDTHS
from escrow.modes import MAX_REGISTRY_PUZZLE_BITS
from escrowlab.report import results
from escrowlab.scenarios import crumple_cost, leaf
from escrowlab.scenarios.registry import Params, get


def test_full_crumple_reaches_the_proposals_top_k_with_parallel_workers():
    sizes = crumple_cost.sizes(Params(full=True))
    assert max(k for k, _, _ in sizes) == MAX_REGISTRY_PUZZLE_BITS == 28
    assert {k for k, _, _ in sizes} >= {16, 20, 24, 28}
    big = [workers for k, _, workers in sizes if k >= 16]
    assert all(w == min(4, os.cpu_count() or 1) for w in big)
    assert max(k for k, _, _ in crumple_cost.sizes(Params())) < 16  # quick stays quick


def test_full_leaf_search_forges_the_16_and_24_bit_checksums():
    full, quick = leaf.forgeries(Params(full=True)), leaf.forgeries(Params())
    assert set(full) == {8, 16, 24} <= set(CHECKSUM_WIDTHS) and full[24] >= 2
    assert 24 not in quick
    assert max(full) >= leaf.PARALLEL_WIDTH  # searched in parallel processes


def test_the_estimate_of_a_full_run_counts_the_long_searches():
    chosen = [get("S15"), get("S22")]
    quick = results.estimate(chosen, ("leaf16", "crumple"), full=False)
    full = results.estimate(chosen, ("leaf16", "crumple"), full=True)
    assert quick < 60 and full >= 20 * 60
