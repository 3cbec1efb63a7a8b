"""The threshold hook: deterministic records bound to the whole context, checked byte for byte
by the recipient; the extension point for modes that escrow a transformed secret."""

import dataclasses
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escrow import sealing
from escrow.context import RecordContext
from escrow.errors import ModeError, RecordRefusedError, ShareError
from escrow.record import parse_record
from escrow.release import release_share
from escrow.threshold.hook import SHARE_LABEL, ThresholdEscrow, share_associated_data
from messaging.errors import HookRefusedError
from messaging.hooks import ChainContext, EscrowHook
from messaging.wire import parse_envelope
from tests.escrow.helpers import case, make_custodians, make_set

CUSTODIANS = make_custodians(3)


@pytest.fixture(scope="module")
def custodians():
    return make_custodians(5)


@pytest.fixture(scope="module")
def hook(custodians):
    return ThresholdEscrow(make_set(custodians, 3))


@pytest.fixture
def context():
    return ChainContext(1, "threshold", "C1", "alice:1", "bob:1", 4, os.urandom(32),
                        os.urandom(32), 1_700_000_000)


def test_the_hook_implements_the_protocol(hook):
    assert isinstance(hook, EscrowHook)
    assert hook.mode == "threshold"
    assert "chain_key" not in repr(hook)


def test_the_record_is_a_deterministic_function_of_chain_key_and_context(hook, context):
    assert hook.record_for_chain(context) == hook.record_for_chain(context)
    hook.check_chain(context, hook.record_for_chain(context))


@pytest.mark.parametrize("field,value", [
    ("protocol_version", 2), ("conversation_id", "C2"), ("sender", "mallory:1"),
    ("recipient", "carol:1"), ("chain_number", 5), ("chain_key", bytes(32)),
    ("ratchet_public_key", bytes(32)), ("time", 1_700_000_001),
])
def test_a_record_made_for_another_context_is_refused(hook, context, field, value):
    other = dataclasses.replace(context, **{field: value})
    assert hook.record_for_chain(other) != hook.record_for_chain(context)
    with pytest.raises(RecordRefusedError, match="does not match"):
        hook.check_chain(context, hook.record_for_chain(other))


def test_a_record_for_another_set_is_refused_with_both_sets_named(custodians, hook, context):
    other = ThresholdEscrow(make_set(custodians, 3, epoch=2))
    with pytest.raises(RecordRefusedError, match=r"epoch 2\).*pins epoch 1"):
        hook.check_chain(context, other.record_for_chain(context))


def test_a_chain_of_another_mode_is_refused(hook, context):
    with pytest.raises(HookRefusedError, match="mode 'none'"):
        hook.check_chain(dataclasses.replace(context, mode="none"), b"")


def test_every_single_bit_flip_is_refused(hook, context):
    record = hook.record_for_chain(context)
    for position in range(0, len(record), 7):
        flipped = bytearray(record)
        flipped[position] ^= 0x01
        with pytest.raises(RecordRefusedError):
            hook.check_chain(context, bytes(flipped))


def test_each_share_is_sealed_to_its_own_custodian_only():
    c = case(days=2, window=(0, 2))
    envelope = c.scoped[0].envelope
    for index, custodian in enumerate(c.custodians):
        release = release_share(custodian, c.hook.custodian_set, c.authorisation,
                                c.issuer.verifier(), envelope, c.conv.clock)
        assert release.custodian_index == index
    parsed_envelope = parse_envelope(envelope)
    parsed = parse_record(parsed_envelope.header.record)
    context = RecordContext.of_envelope(parsed_envelope)
    for index, share in enumerate(parsed.shares):
        for other_index, other in enumerate(c.custodians):
            for claimed in range(len(c.custodians)):  # under any index and its binding
                aad = share_associated_data(parsed, context, claimed)
                opened = sealing.open_for(claimed, parsed.ephemeral_public, share,
                                          other.keys.exchange, other.public.share_key, aad,
                                          SHARE_LABEL)
                assert (opened is not None) == (other_index == index == claimed)


class MaskedEscrow(ThresholdEscrow):
    """A mode that escrows a transformed chain key (the shape crumple uses)."""

    mode = "masked"

    @staticmethod
    def _mask(record_context: RecordContext) -> bytes:
        return (record_context.conversation_id.encode() * 32)[:32]

    def escrowed_secret(self, context):
        mask = self._mask(RecordContext.of_chain(context))
        return bytes(a ^ b for a, b in zip(context.chain_key, mask, strict=True))

    def chain_key_from_secret(self, secret, record_context):
        return bytes(a ^ b for a, b in zip(secret, self._mask(record_context), strict=True))


def test_a_subclass_escrowing_another_secret_recovers_through_the_same_code():
    c = case(days=3, window=(1, 2), hook_class=MaskedEscrow)
    record = parse_record(parse_envelope(c.scoped[0].envelope).header.record)
    assert record.mode == "masked"
    report = c.recover(c.releases(c.custodians[:3]))
    assert report.messages_recovered == report.messages_in_scope > 0


def test_a_record_of_one_mode_is_refused_by_another(custodians, context):
    masked = MaskedEscrow(make_set(custodians, 3))
    plain = ThresholdEscrow(make_set(custodians, 3))
    with pytest.raises(RecordRefusedError, match="mode 'masked'"):
        plain.check_chain(context, masked.record_for_chain(
            dataclasses.replace(context, mode="masked")))


@settings(max_examples=20, deadline=None)
@given(conversation_id=st.text(min_size=1, max_size=20).filter(str.isprintable),
       chain_number=st.integers(0, 2**32 - 1), time=st.integers(0, 2**40),
       chain_key=st.binary(min_size=32, max_size=32))
def test_any_context_round_trips_through_the_recipients_check(conversation_id, chain_number,
                                                              time, chain_key):
    hook = ThresholdEscrow(make_set(CUSTODIANS, 2))
    context = ChainContext(1, "threshold", conversation_id, "alice:1", "bob:1", chain_number,
                           chain_key, bytes(32), time)
    record = hook.record_for_chain(context)
    assert parse_record(record).encode() == record
    hook.check_chain(context, record)


def test_a_chain_key_that_cannot_be_shared_is_refused_not_crashed(hook, context):
    record = hook.record_for_chain(context)
    odd = dataclasses.replace(context, chain_key=bytes(33))
    with pytest.raises(RecordRefusedError, match="cannot recompute"):
        hook.check_chain(odd, record)
    with pytest.raises(ShareError):
        hook.record_for_chain(odd)


def test_a_threshold_mode_with_a_malformed_mode_id_is_an_escrow_error():
    class Spaced(ThresholdEscrow):
        mode = "two words"

    with pytest.raises(ModeError, match="Spaced: an escrow mode id is printable ASCII"):
        Spaced(make_set(CUSTODIANS, 2))
