"""S21 kci-forgery (docs/scenarios.md): whoever holds a recovered chain key forges a message "from
Alice" that Bob accepts (``escrowlab.scenarios.chainkeys``).

Expected: the forgery is accepted under ``threshold`` and ``leaf16`` (chain-key
escrow loses message authentication for the chain: the truth this test shows),
and identity and signing keys are never escrowed, so the forger cannot go
beyond the chains it recovered. The forger is t custodians (or the family-key
holder with both agents): they recover the archived chain key with the real
code and seal a message with the messaging core's own functions.
"""

import pytest

from escrowlab.scenarios.chainkeys import CONTEXT_FIELDS
from tests.attacks.records import outcome

ESCROW = ["threshold", "leaf16"]


@pytest.mark.parametrize("mode", ESCROW)
def test_a_recovered_chain_key_forges_a_message_bob_accepts(mode):
    record = outcome("S21", mode, "recovered chain key")
    assert record.metrics["forged_accepted"] == 1
    # Alice's genuine message with that number is now refused as a replay
    assert record.details["alice_genuine_message"] == "refused as a replay"


@pytest.mark.parametrize("mode", ESCROW)
def test_the_forgery_needs_the_real_chain_key(mode):
    record = outcome("S21", mode, "wrong chain key")
    assert "DecryptionError" in record.details["error_types"]
    assert record.metrics["forged_accepted"] == 0 and record.metrics["state_unchanged"] is True


@pytest.mark.parametrize("mode", ESCROW)
def test_identity_and_signing_keys_are_never_escrowed(mode):
    record = outcome("S21", mode, "identity keys")
    assert record.metrics["exposed_total"] == 0 and record.details["escrowed_secrets_checked"] > 1
    # the hook is never even given an identity key: the chain context has none
    assert set(record.details["chain_context_fields"]) == CONTEXT_FIELDS
    assert not any("identity" in name for name in CONTEXT_FIELDS)


@pytest.mark.parametrize("mode", ESCROW)
def test_the_forgery_reaches_no_further_than_the_recovered_chain(mode):
    record = outcome("S21", mode, "next chain")
    assert record.metrics["forged_accepted"] == 0 and record.metrics["state_unchanged"] is True


def test_without_escrow_there_is_no_key_to_forge_with():
    record = outcome("S21", "none", "no key to recover")
    assert record.metrics["forged_accepted"] == 0 and record.metrics["state_unchanged"] is True
