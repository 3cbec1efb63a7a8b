"""S15 variant, LEAF redirection (``escrowlab.scenarios.leaf``): a sender edits its LEAF so that
it names a third party's unit, grinds the checksum against its own module, and hopes the
escrow agents release that third party's unit key under this case (which opens all of the
third party's chains).

The LEAF body is one tweakable wide-block permutation under the family key
(``escrow.leaf16.leaf``): editing any byte scrambles the whole body, so the
edited LEAF names a random unit, as a random LEAF does, and redirecting costs
what forging a LEAF for a chosen unit costs (2^w checksum trials times 2^32).
Even a LEAF that does name the third party's unit (made here with the family
key) releases nothing: the agents release a unit key only for a LEAF that
unwraps under it (RFC 3394's integrity check).
"""

from tests.attacks.records import outcome


def test_an_edited_leaf_names_no_chosen_unit_and_releases_nothing_of_the_third_party():
    record = outcome("S15", "leaf16", "redirect: edit and grind")
    assert record.details["own_unit_read"] is True
    # the grind passes the 8-bit checksum about 64 times in this budget
    assert record.details["budget"] == 64 << 8 and record.details["passing"] > 0
    assert record.details["chosen_units_hit"] == 0  # random unit ids, neither Alice's nor Bob's
    assert record.metrics["recovery_success"] is False
    assert record.metrics["exposed_out_of_scope"] == 0  # nothing of the third party's released


def test_editing_any_byte_of_the_body_scrambles_the_unit_id():
    record = outcome("S15", "leaf16", "redirect: any byte edited")
    assert record.details["scrambled"] == record.details["positions"] > 0


def test_a_leaf_that_names_the_third_party_with_someone_elses_escrowed_key_releases_nothing():
    record = outcome("S15", "leaf16", "redirect: third party named with the family key")
    assert record.metrics["forged_accepted"] == 1  # the checksum is right: family key
    assert "does not unwrap" in record.details["error"]
    assert record.details["agent_releases"] == 0
