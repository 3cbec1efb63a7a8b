"""S14 record-strip under ``threshold``, ``crumple`` and ``none`` (docs/scenarios.md): a modified
sender sends chains whose record is missing, zeroed, truncated, random, or valid but made for
another context (``escrowlab.scenarios.records``).

Expected: ``threshold`` and ``crumple``: every variant refused by the honest
recipient with its session (or, for a first message, its prekeys) unchanged;
``none``: a chain without a record is accepted, by design.
"""

import pytest

from escrowlab.scenarios.records import FIRST_MESSAGE_VARIANTS, threshold_variants
from tests.attacks.records import outcome

MODES = ["threshold", "crumple"]
VARIANTS = sorted(threshold_variants(None))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_modified_record_is_refused_and_changes_nothing(mode, variant):
    record = outcome("S14", mode, variant)
    assert "HookRefusedError" in record.details["error_types"]
    assert record.metrics["forged_accepted"] == 0
    assert record.metrics["state_unchanged"] is True
    assert record.holds


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", FIRST_MESSAGE_VARIANTS)
def test_a_modified_first_message_is_refused_and_keeps_the_prekeys(mode, variant):
    record = outcome("S14", mode, f"first message: {variant}")
    assert "HookRefusedError" in record.details["error_types"]
    assert record.metrics["forged_accepted"] == 0
    assert record.metrics["state_unchanged"] is True  # the prekeys, byte for byte


@pytest.mark.parametrize("mode", MODES)
def test_a_record_swapped_in_the_middle_of_an_accepted_chain_is_refused(mode):
    record = outcome("S14", mode, "swapped mid-chain")
    assert "differs from the one accepted" in record.details["message"]
    assert record.metrics["state_unchanged"] is True
    assert record.details["original_read"] is True


def test_none_accepts_chains_without_a_record_by_design():
    record = outcome("S14", "none", "no record")
    assert record.metrics["forged_accepted"] == record.details["chains"] == 4
