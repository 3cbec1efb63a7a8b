"""S14 record-strip under ``leaf16`` (docs/scenarios.md): what a modified sender's records achieve
(``escrowlab.scenarios.records``).

The expected outcome: every stripped, zeroed, truncated or mismatched record
is refused by the honest recipient with its session unchanged, except random
fields that happen to pass the checksum, which a 16-bit check lets through
once in 2^16 (scenario S15 finds them on purpose).
"""

import pytest

from escrowlab.scenarios.records import LEAF_MALFORMED
from tests.attacks.records import outcome


@pytest.mark.parametrize("variant", sorted(LEAF_MALFORMED))
def test_malformed_records_are_refused_and_the_session_is_unchanged(variant):
    record = outcome("S14", "leaf16", variant)
    assert "HookRefusedError" in record.details["error_types"]
    assert record.metrics["state_unchanged"] is True and record.metrics["forged_accepted"] == 0


def test_a_valid_leaf_of_another_chain_is_refused():
    record = outcome("S14", "leaf16", "valid LEAF of another chain (32-bit check)")
    assert "HookRefusedError" in record.details["error_types"]
    assert "checksum" in record.details["message"]
    assert record.metrics["state_unchanged"] is True


def test_a_valid_leaf_that_does_not_match_the_associated_data_is_refused():
    record = outcome("S14", "leaf16", "valid LEAF not matching the associated data")
    assert "DecryptionError" in record.details["error_types"]
    assert record.metrics["state_unchanged"] is True
    assert record.details["original_read"] is True


def test_random_fields_are_refused_unless_they_pass_the_checksum():
    record = outcome("S14", "leaf16", "random fields")
    # accepted exactly when the module's own check passes (probability 2^-16 each);
    # every other one refused for its checksum with the session unchanged
    assert record.metrics["forged_accepted"] == record.details["passed_checksum"]
    assert record.details["refused_unchanged"] == (record.details["trials"]
                                                   - record.details["passed_checksum"])
    assert record.holds


def test_a_random_field_that_passes_the_checksum_is_accepted():
    record = outcome("S14", "leaf16", "searched field (8-bit check)")
    assert record.metrics["forged_accepted"] == 1
