"""S23 log-tamper (docs/scenarios.md): edit, delete-and-recompute and reorder log entries
(``escrowlab.scenarios.auditlog``).

Expected outcome: every variant is detected by the offline verifier against witnessed
checkpoints, and the witnesses refuse to cosign a rewritten history, so the log
operator cannot obtain a new quorum-signed checkpoint for it either.
"""

from __future__ import annotations

import re

import pytest

from escrowlab.scenarios.auditlog import LOG_MODES, REWRITES, TAMPER_ENTRIES
from tests.attacks.records import outcome


@pytest.mark.parametrize("mode", LOG_MODES)
def test_the_untampered_log_verifies(mode):
    assert outcome("S23", mode, "untampered").details["size"] == TAMPER_ENTRIES


@pytest.mark.parametrize("mode", LOG_MODES)
def test_editing_one_entry_in_place_is_detected(mode):
    record = outcome("S23", mode, "edit in place")
    assert record.holds and "leaf 5: stored hash does not match" in record.details["message"]


@pytest.mark.parametrize("mode", LOG_MODES)
def test_editing_an_entry_and_its_leaf_hash_is_detected(mode):
    record = outcome("S23", mode, "edit with its leaf hash")
    assert record.holds and "stored node (1, 2)" in record.details["message"]


@pytest.mark.parametrize("mode", LOG_MODES)
@pytest.mark.parametrize("variant", REWRITES)
def test_recomputed_tree_is_caught_by_the_signed_checkpoints(mode, variant):
    record = outcome("S23", mode, f"recomputed tree: {variant}")
    assert record.holds and re.search("log tampered|rolled back", record.details["message"])


@pytest.mark.parametrize("mode", LOG_MODES)
@pytest.mark.parametrize("variant", REWRITES)
def test_recomputed_and_resigned_tree_is_refused_by_witnesses_and_caught_by_auditors(
        mode, variant):
    record = outcome("S23", mode, f"recomputed and re-signed: {variant}")
    assert record.details["witness_refusals"] == 3
    assert "inconsistent with the trusted checkpoint" in record.details["message"]
    assert "the log signed" in record.details["evidence"]
    assert record.holds
