"""S18 downgrade (docs/scenarios.md): a relay strips or flips the escrow mode or the protocol
version in bundles and headers; a rogue client marks its chains "no escrow"
(``escrowlab.scenarios.records``).

Expected, under a policy that requires ``threshold`` (or ``crumple``): fail
closed, 0 messages accepted below the policy, and the honest side's state
unchanged.
"""

import pytest

from tests.attacks.records import outcome, run

MODES = ["threshold", "crumple"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", ["bundle mode -> none", "bundle mode -> leaf16",
                                     "bundle mode stripped", "flipped bundle object"])
def test_a_relay_that_edits_the_mode_of_a_bundle_is_caught(mode, variant):
    record = outcome("S18", mode, variant)
    assert "HandshakeError" in record.details["error_types"]
    assert record.metrics["forged_accepted"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_genuine_no_escrow_peer_is_refused_under_the_policy(mode):
    record = outcome("S18", mode, "genuine no-escrow peer")
    assert "ModeMismatchError" in record.details["error_types"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", ["header mode -> none", "header mode -> none, record "
                                     "stripped", "header mode -> leaf16",
                                     "header record stripped"])
def test_a_relay_that_flips_or_strips_a_header_is_refused_mid_conversation(mode, variant):
    # A flipped mode is a mode mismatch; a stripped record no longer matches the hash the
    # sender bound into the associated data, so the tag fails before the hook is asked.
    record = outcome("S18", mode, variant)
    assert "DecryptionError" in record.details["error_types"]
    assert record.metrics["state_unchanged"] is True and record.holds
    assert record.details["original_read"] is True  # the original still goes through


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", ["first message mode -> none",
                                     "first message mode -> none, record stripped"])
def test_a_relay_that_flips_the_first_message_is_refused(mode, variant):
    record = outcome("S18", mode, variant)
    assert "ModeMismatchError" in record.details["error_types"]
    assert record.metrics["state_unchanged"] is True  # Bob's prekeys


@pytest.mark.parametrize("mode", MODES)
def test_a_relay_that_flips_the_protocol_version_is_refused(mode):
    record = outcome("S18", mode, "protocol version flipped")
    assert "WireFormatError" in record.details["error_types"]
    assert "version" in record.details["message"]
    assert record.metrics["forged_accepted"] == 0 and record.metrics["state_unchanged"] is True


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rogue", ["RogueNoEscrow", "RogueGarbage"])
def test_a_rogue_client_that_skips_escrow_gets_no_message_accepted(mode, rogue):
    record = outcome("S18", mode, f"rogue client: {rogue}")
    assert record.metrics["forged_accepted"] == 0 and record.details["attempts"] == 3


@pytest.mark.parametrize("mode", MODES)
def test_a_rogue_client_that_stops_escrowing_later_is_refused_from_that_chain_on(mode):
    record = outcome("S18", mode, "rogue client stops escrowing later")
    assert "HookRefusedError" in record.details["error_types"]
    assert record.metrics["state_unchanged"] is True


@pytest.mark.parametrize("mode", MODES)
def test_nothing_below_policy_is_ever_accepted(mode):
    assert sum(o.metrics["forged_accepted"] for o in run("S18", mode)) == 0
