"""S24 log-truncate (docs/scenarios.md): roll back the last k entries and sign the smaller
tree; or fork (roll back, then regrow different entries past the old size)
(``escrowlab.scenarios.auditlog``).

Expected outcome: the witnesses refuse (rollback and inconsistency, distinct errors),
so no quorum-signed checkpoint exists for the rewritten log; and whoever holds the newer
checkpoint (an auditor, or a custodian with a receipt) detects it offline, with a proof
of misbehaviour for the fork.
"""

from __future__ import annotations

import re

import pytest

from escrowlab.scenarios.auditlog import LOG_MODES, ROLLBACKS, TRUNCATE_ENTRIES
from tests.attacks.records import outcome

N = TRUNCATE_ENTRIES


@pytest.mark.parametrize("mode", LOG_MODES)
@pytest.mark.parametrize("k", ROLLBACKS)
def test_rollback_is_refused_by_every_witness_and_detected_by_receipt_holders(mode, k):
    d = outcome("S24", mode, f"rollback k={k}").details
    assert d["size_after"] == N - k  # the log key signs the smaller tree ...
    assert d["witnesses_refusing"] == 3  # ... but no witness goes backwards
    assert d["quorum_refusals"] and all("Rollback" in why for why in d["quorum_refusals"])
    assert d["receipt_verifies"] is True  # the newest receipt still verifies ...
    assert re.search(f"rolled back: .*size {N} .*holds {N - k}", d["message"])


@pytest.mark.parametrize("mode", LOG_MODES)
@pytest.mark.parametrize("k", ROLLBACKS)
def test_fork_and_regrow_is_refused_and_proven(mode, k):
    record = outcome("S24", mode, f"fork and regrow k={k}")
    assert record.details["witnesses_refusing"] == 3
    assert f"inconsistent with the trusted checkpoint of size {N}" in record.details["message"]
    assert f"the log signed size {N}" in record.details["evidence"]
    assert record.holds


@pytest.mark.parametrize("mode", LOG_MODES)
def test_witness_state_is_unchanged_after_refusals(mode):
    record = outcome("S24", mode, "witness state after refusals")
    assert record.details["refused"] is True
    assert record.metrics["state_unchanged"] is True
    assert record.details["log_size"] == 10
