"""The wire format parser is strict: versions, types, lengths, truncation, trailing bytes; a
version-2 envelope carries a safety voucher whose digest is in the associated data."""

import struct
from dataclasses import replace

import pytest

from messaging.errors import DecryptionError, WireFormatError
from messaging.limits import MAX_RECORD_LENGTH, MAX_VOUCHER_LENGTH
from messaging.wire import (
    WIRE_VERSION,
    WIRE_VERSION_VOUCHER,
    Header,
    envelope_version,
    parse_envelope,
    read_voucher,
)
from tests.messaging.helpers import RecordingHook, make_pair


@pytest.fixture(scope="module")
def envelopes():
    alice, bob, _, _ = make_pair(hook=RecordingHook())
    prekey_message = alice.encrypt(b"p" * 100)
    bob.decrypt(prekey_message)
    alice.decrypt(bob.encrypt(b"reply"))
    return prekey_message, alice.encrypt(b"m" * 100), alice.encrypt(b"v" * 50, b"voucher")


def test_round_trip(envelopes):
    for raw in envelopes:
        assert parse_envelope(raw).encode() == raw


def test_prekey_and_normal_types(envelopes):
    prekey_message, message, _ = envelopes
    assert parse_envelope(prekey_message).prekey is not None
    assert parse_envelope(message).prekey is None


def test_only_an_envelope_with_a_voucher_is_version_2(envelopes):
    prekey_message, message, with_voucher = envelopes
    assert [raw[0] for raw in envelopes] == [WIRE_VERSION, WIRE_VERSION, WIRE_VERSION_VOUCHER]
    assert [read_voucher(raw) for raw in envelopes] == [None, None, b"voucher"]
    assert parse_envelope(with_voucher).voucher == b"voucher"


def test_a_voucher_field_in_a_version_1_envelope_or_none_in_version_2_is_refused(envelopes):
    _, message, with_voucher = envelopes
    with pytest.raises(WireFormatError):  # version 2 read as 1: the voucher is trailing junk
        parse_envelope(bytes([WIRE_VERSION]) + with_voucher[1:])
    with pytest.raises(WireFormatError):  # version 1 read as 2: the ciphertext is no voucher
        parse_envelope(bytes([WIRE_VERSION_VOUCHER]) + message[1:])
    env = parse_envelope(with_voucher)
    for bad in (replace(env, version=WIRE_VERSION), replace(env, voucher=None),
                replace(env, voucher=b""), replace(env, voucher=b"v" * (MAX_VOUCHER_LENGTH + 1))):
        with pytest.raises(WireFormatError):
            bad.encode()


@pytest.mark.parametrize("length", [0, MAX_VOUCHER_LENGTH + 1, 2**32 - 1])
def test_voucher_length_outside_its_bounds_is_refused(envelopes, length):
    raw = envelopes[2]
    marker = struct.pack(">I", len(b"voucher")) + b"voucher"
    bad = raw.replace(marker, struct.pack(">I", length) + b"voucher")
    with pytest.raises(WireFormatError, match="voucher"):
        parse_envelope(bad)


def test_envelope_version_bounds_the_voucher():
    assert envelope_version(None) == WIRE_VERSION
    assert envelope_version(b"v" * MAX_VOUCHER_LENGTH) == WIRE_VERSION_VOUCHER
    for bad in (b"", b"v" * (MAX_VOUCHER_LENGTH + 1), "text", bytearray(b"v")):
        with pytest.raises(WireFormatError):
            envelope_version(bad)


def test_a_voucher_stripped_swapped_or_added_in_transit_fails_as_a_bad_tag():
    alice, bob, _, _ = make_pair()
    bob.decrypt(alice.encrypt(b"start"))
    alice.decrypt(bob.encrypt(b"reply"))
    with_voucher, without = alice.encrypt(b"image", b"voucher-1"), alice.encrypt(b"text")
    env = parse_envelope(with_voucher)
    stripped = replace(env, version=WIRE_VERSION, voucher=None).encode()
    swapped = replace(env, voucher=b"voucher-2").encode()
    added = replace(parse_envelope(without), version=WIRE_VERSION_VOUCHER, voucher=b"v").encode()
    for altered in (stripped, swapped, added):
        before = bob.serialize()
        with pytest.raises(DecryptionError):
            bob.decrypt(altered)
        assert bob.serialize() == before
    assert bob.decrypt(with_voucher) == b"image"
    assert bob.decrypt(without) == b"text"


@pytest.mark.parametrize("version", [0, 3, 255])
def test_unknown_version(envelopes, version):
    with pytest.raises(WireFormatError, match="version"):
        parse_envelope(bytes([version]) + envelopes[1][1:])


def test_unknown_type(envelopes):
    raw = envelopes[1]
    with pytest.raises(WireFormatError, match="type"):
        parse_envelope(raw[:1] + b"\x07" + raw[2:])


def test_every_truncation_is_rejected(envelopes):
    for raw in envelopes:
        for cut in range(len(raw)):
            with pytest.raises(WireFormatError):
                parse_envelope(raw[:cut])


def test_trailing_bytes_rejected(envelopes):
    for raw in envelopes:
        with pytest.raises(WireFormatError, match="trailing"):
            parse_envelope(raw + b"\x00")


def test_oversized_record_length_rejected(envelopes):
    envelope = parse_envelope(envelopes[1])
    header = envelope.header
    encoded = replace(envelope, header=replace(header, record=b"r")).encode()
    marker = struct.pack(">I", 1) + b"r"
    bad = encoded.replace(marker, struct.pack(">I", MAX_RECORD_LENGTH + 1) + b"r")
    with pytest.raises(WireFormatError, match="record"):
        parse_envelope(bad)


def test_empty_ids_rejected(envelopes):
    raw = envelopes[1]
    with pytest.raises(WireFormatError):
        parse_envelope(raw[:2] + b"\x00" + raw[3:])


def test_non_bytes_rejected():
    with pytest.raises(WireFormatError):
        parse_envelope("not bytes")


def test_header_authenticated_bytes_hide_the_record_but_bind_it():
    header = Header("threshold", 1, 2, b"k" * 32, 3, 4, b"record")
    other = replace(header, record=b"record2")
    assert header.authenticated_bytes() != other.authenticated_bytes()
    assert b"record" not in header.authenticated_bytes()
