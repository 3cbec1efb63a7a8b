"""S14 record-strip under ``leaf16`` (docs/scenarios.md): what a modified sender's records achieve.

The expected outcome: every stripped, zeroed, truncated or mismatched record
is refused by the honest recipient with its session unchanged, except random
fields that happen to pass the checksum, which a 16-bit check lets through
once in 2^16 (scenario S15 finds them on purpose).
"""

import random
from dataclasses import dataclass, replace

import pytest

from escrow.leaf16.forgery import random_leaf, search_forgery
from escrow.leaf16.hook import MODE, Leaf16Escrow
from messaging.errors import DecryptionError, HookRefusedError
from messaging.wire import Envelope, Header, parse_envelope
from tests.builders import session_pair
from tests.escrow.leaf16.helpers import ees_world


@dataclass
class ModifiedSender:
    """The real hook, then a tampering step on every record once ``tamper`` is set."""

    inner: Leaf16Escrow
    tamper: object = None
    mode: str = MODE

    def record_for_chain(self, context):
        record = self.inner.record_for_chain(context)
        return self.tamper(record, context) if self.tamper else record

    def check_chain(self, context, record):
        self.inner.check_chain(context, record)


def new_chain_with(tamper, width=16):
    """An honest session, then Alice's next chain carries ``tamper(record, context)``."""
    world = ees_world(width)
    sender = ModifiedSender(world.hook())
    pair = session_pair(sender, world.hook())
    assert pair.alice.decrypt(pair.bob.encrypt(b"reply")) == b"reply"
    sender.tamper = tamper
    return world, pair, pair.alice.encrypt(b"next chain")


VARIANTS = {
    "missing": lambda record, context: b"",
    "zeroed": lambda record, context: bytes(len(record)),
    "truncated": lambda record, context: record[:-5],
    "extended": lambda record, context: record + b"\0",
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_malformed_records_are_refused_and_the_session_is_unchanged(variant):
    _, pair, envelope = new_chain_with(VARIANTS[variant])
    before = pair.bob.serialize()
    with pytest.raises(HookRefusedError):
        pair.bob.decrypt(envelope)
    assert pair.bob.serialize() == before


def test_a_valid_leaf_of_another_chain_is_refused():
    world = ees_world(32)
    other = {}

    def from_another_chain(record, context):
        other["leaf"] = world.module().make_leaf(replace(context, chain_key=bytes(32)))
        return other["leaf"]

    _, pair, envelope = new_chain_with(from_another_chain, width=32)
    before = pair.bob.serialize()
    with pytest.raises(HookRefusedError, match="checksum"):
        pair.bob.decrypt(envelope)
    assert pair.bob.serialize() == before


def test_a_valid_leaf_that_does_not_match_the_associated_data_is_refused():
    captured = {}

    def keep(record, context):
        captured["context"] = context
        return record

    world, pair, envelope = new_chain_with(keep)
    parsed = parse_envelope(envelope)
    context = captured["context"]
    # A second LEAF, valid for this very chain (fresh IV), swapped in after encryption.
    other = world.module().make_leaf(context)
    world.hook().check_chain(context, other)
    h = parsed.header
    swapped = Envelope(parsed.version, parsed.conversation_id, parsed.sender, parsed.recipient,
                       parsed.prekey, Header(h.mode, h.chain_number, h.chain_time, h.ratchet_key,
                                             h.previous_chain_length, h.message_number, other),
                       parsed.ciphertext)
    before = pair.bob.serialize()
    with pytest.raises(DecryptionError):
        pair.bob.decrypt(swapped.encode())
    assert pair.bob.serialize() == before
    assert pair.bob.decrypt(envelope) == b"next chain"


def test_random_fields_are_refused_unless_they_pass_the_checksum():
    rng = random.Random()
    world = ees_world(16)
    oracle = world.module()
    seen = {}

    def random_field(record, context):
        seen["record"] = random_leaf(16, rng)
        seen["passes"] = oracle.validate_leaf(seen["record"], context)
        return seen["record"]

    _, pair, envelope = new_chain_with(random_field)
    before = pair.bob.serialize()
    if seen["passes"]:  # probability 2^-16
        assert pair.bob.decrypt(envelope) == b"next chain"
    else:
        with pytest.raises(HookRefusedError, match="checksum"):
            pair.bob.decrypt(envelope)
        assert pair.bob.serialize() == before


def test_a_random_field_that_passes_the_checksum_is_accepted():
    oracle_holder = {}

    def searched_field(record, context):
        return search_forgery(oracle_holder["module"], context).record

    world = ees_world(8)
    oracle_holder["module"] = world.module()
    sender = ModifiedSender(world.hook())
    pair = session_pair(sender, world.hook())
    assert pair.alice.decrypt(pair.bob.encrypt(b"reply")) == b"reply"
    sender.tamper = searched_field
    assert pair.bob.decrypt(pair.alice.encrypt(b"accepted")) == b"accepted"
