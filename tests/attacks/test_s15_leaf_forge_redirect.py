"""S15 variant, LEAF redirection: a sender edits its LEAF so that it names a third party's
unit, grinds the checksum against its own module, and hopes the escrow agents release that
third party's unit key under this case (which opens all of the third party's chains).

The LEAF body is one tweakable wide-block permutation under the family key
(``escrow.leaf16.leaf``): editing any byte scrambles the whole body, so the
edited LEAF names a random unit, as a random LEAF does, and redirecting costs
what forging a LEAF for a chosen unit costs (2^w checksum trials times 2^32).
Even a LEAF that does name the third party's unit (made here with the family
key) releases nothing: the agents release a unit key only for a LEAF that
unwraps under it (RFC 3394's integrity check).
"""

import os
import random

import pytest

from escrow.leaf16.errors import LeafRecoveryError
from escrow.leaf16.forgery import extract_family_key
from escrow.leaf16.leaf import IV_LENGTH, parse_leaf, seal_leaf
from escrow.leaf16.recovery import recover_chain_key
from tests.builders import chain_context
from tests.escrow.leaf16.helpers import ees_world

ALICE_UNIT = 0xA11CE001
BOB_UNIT = 0x0B0B0002
WIDTH = 8  # the grind is 2^w per pass: 8 bits keeps the test fast, the mechanism is the same
BUDGET = 64 << WIDTH  # queries to the sender's own module; expected passes: 64
UNIT_OFFSET = 2 + IV_LENGTH  # the body starts after version, width and IV


def _xor(data: bytes, at: int, mask: bytes) -> bytes:
    edited = bytearray(data)
    for i, byte in enumerate(mask):
        edited[at + i] ^= byte
    return bytes(edited)


def _redirect_and_grind(module, leaf: bytes, context, rng: random.Random) -> list[bytes]:
    """Every edited LEAF that passes the sender's own module within the budget: the unit id
    difference XORed into the bytes that precede the body (the IV, which CBC would turn
    into a redirected unit id), then random flips of the rest of the IV to pass the
    checksum."""
    delta = (ALICE_UNIT ^ BOB_UNIT).to_bytes(4, "big")
    redirected = _xor(leaf, 2, delta)
    passing = []
    for _ in range(BUDGET):
        candidate = _xor(redirected, 2 + 4, rng.randbytes(IV_LENGTH - 4))
        if module.validate_leaf(candidate, context):
            passing.append(candidate)
    return passing


def test_an_edited_leaf_names_no_chosen_unit_and_releases_nothing_of_the_third_party():
    world = ees_world(WIDTH)
    alice = world.module(ALICE_UNIT)
    world.module(BOB_UNIT)  # the third party, programmed with both agents
    decryptor = world.decryptor()
    context = chain_context()
    leaf = alice.make_leaf(context)
    assert decryptor.read(leaf).unit_id == ALICE_UNIT

    passing = _redirect_and_grind(alice, leaf, context, random.Random(7))
    assert passing, "the grind passes the 8-bit checksum about 64 times in this budget"
    units = [decryptor.read(candidate).unit_id for candidate in passing]
    assert BOB_UNIT not in units and ALICE_UNIT not in units  # random unit ids
    for candidate in passing:
        with pytest.raises(LeafRecoveryError):
            recover_chain_key(decryptor, candidate, world.agents, "W-redirect")
    assert all(r.unit_id != BOB_UNIT for agent in world.agents for r in agent.releases)


def test_editing_any_byte_of_the_body_scrambles_the_unit_id():
    world = ees_world(16)
    decryptor = world.decryptor()
    leaf = world.module(ALICE_UNIT).make_leaf(chain_context())
    for position in range(2, len(leaf)):
        edited = _xor(leaf, position, b"\x01")
        assert decryptor.read(edited).unit_id != ALICE_UNIT, position


def test_a_leaf_that_names_the_third_party_with_someone_elses_escrowed_key_releases_nothing():
    world = ees_world(16)
    alice = world.module(ALICE_UNIT)
    world.module(BOB_UNIT)
    family_key = extract_family_key(alice)
    context = chain_context()
    genuine = world.decryptor().read(alice.make_leaf(context))
    redirected = seal_leaf(family_key, context, 16, os.urandom(IV_LENGTH), BOB_UNIT,
                           genuine.wrapped_chain_key)
    assert parse_leaf(redirected).width == 16
    assert alice.validate_leaf(redirected, context)  # the checksum is right: family key
    with pytest.raises(LeafRecoveryError, match="does not unwrap"):
        recover_chain_key(world.decryptor(), redirected, world.agents, "W-redirect")
    assert all(agent.releases == [] for agent in world.agents)
