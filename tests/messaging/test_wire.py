"""The wire format parser is strict: versions, types, lengths, truncation, trailing bytes."""

import struct
from dataclasses import replace

import pytest

from messaging.errors import WireFormatError
from messaging.limits import MAX_RECORD_LENGTH
from messaging.wire import Header, parse_envelope
from tests.messaging.helpers import RecordingHook, make_pair


@pytest.fixture(scope="module")
def envelopes():
    alice, bob, _, _ = make_pair(hook=RecordingHook())
    prekey_message = alice.encrypt(b"p" * 100)
    bob.decrypt(prekey_message)
    alice.decrypt(bob.encrypt(b"reply"))
    return prekey_message, alice.encrypt(b"m" * 100)


def test_round_trip(envelopes):
    for raw in envelopes:
        assert parse_envelope(raw).encode() == raw


def test_prekey_and_normal_types(envelopes):
    prekey_message, message = envelopes
    assert parse_envelope(prekey_message).prekey is not None
    assert parse_envelope(message).prekey is None


@pytest.mark.parametrize("version", [0, 2, 255])
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
    with pytest.raises(WireFormatError, match="trailing"):
        parse_envelope(envelopes[1] + b"\x00")


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
